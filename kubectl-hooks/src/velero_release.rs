//! Which Velero release an online command predicts: `--velero-version` when given, else the
//! release in the image tag of the Velero Deployment in `--velero-namespace`, else the
//! latest release. The choice is always said on stderr, so a user reading a verdict knows
//! which Velero it is about.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::ListParams;
use velero_hooks::VeleroVersion;

use crate::cli::GlobalArgs;
use crate::cluster::Cluster;

/// The release to predict for the cluster, and a line saying how it was chosen.
pub async fn resolve(cluster: &Cluster, global: &GlobalArgs) -> VeleroVersion {
    if let Some(version) = global.velero_version_flag {
        return version;
    }
    let namespace = &global.velero_namespace;
    let (version, reason) = match velero_image(cluster, namespace).await {
        Ok(Some((deployment, image))) => {
            let tag = image_tag(&image).unwrap_or_default();
            match VeleroVersion::from_image_tag(tag) {
                Some(version) => {
                    let mut reason = format!("deployment {deployment} -n {namespace} runs {image}");
                    // A release this build does not know: say that the prediction is the closest.
                    if let Some(named) = VeleroVersion::release_in_tag(tag)
                        && version != VeleroVersion::MAIN
                        && named != version.to_string()
                    {
                        reason.push_str(&format!(
                            ", Velero {named}, which this build does not know ({}): the closest is predicted",
                            VeleroVersion::accepted()
                        ));
                    }
                    (version, reason)
                }
                None => (
                    VeleroVersion::LATEST_RELEASE,
                    format!(
                        "the latest release: the image of deployment {deployment} -n {namespace} ({image}) names no release"
                    ),
                ),
            }
        }
        Ok(None) => (
            VeleroVersion::LATEST_RELEASE,
            format!("the latest release: no Velero deployment in namespace {namespace}"),
        ),
        Err(error) => (
            VeleroVersion::LATEST_RELEASE,
            format!(
                "the latest release: cannot list deployments in namespace {namespace} ({})",
                short_error(error)
            ),
        ),
    };
    eprintln!(
        "Predicting Velero {version}, {reason} (--velero-version chooses another, --velero-namespace where Velero runs)"
    );
    version
}

/// The Velero server's Deployment and image: the one with a container named `velero`
/// (what `velero install` and Velero's Helm chart both create), `velero` itself first.
async fn velero_image(
    cluster: &Cluster,
    namespace: &str,
) -> Result<Option<(String, String)>, kube::Error> {
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), namespace);
    let mut list = deployments.list(&ListParams::default()).await?.items;
    list.sort_by_key(|d| d.metadata.name.as_deref() != Some("velero"));
    Ok(list.into_iter().find_map(|deployment| {
        let image = deployment
            .spec
            .template
            .spec?
            .containers
            .into_iter()
            .find(|c| c.name == "velero")?
            .image?;
        Some((deployment.metadata.name.unwrap_or_default(), image))
    }))
}

/// The tag of an image reference: `velero/velero:v1.14.1@sha256:…` gives `v1.14.1`; a
/// registry port (`registry:5000/velero`) is not a tag.
fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last_part = name.rsplit('/').next().unwrap_or(name);
    last_part.split_once(':').map(|(_, tag)| tag)
}

fn short_error(error: kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags_are_read_like_references() {
        assert_eq!(image_tag("velero/velero:v1.14.1"), Some("v1.14.1"));
        assert_eq!(
            image_tag("registry:5000/velero/velero:v1.15.0@sha256:abcd"),
            Some("v1.15.0")
        );
        assert_eq!(image_tag("registry:5000/velero/velero"), None);
        assert_eq!(image_tag("velero/velero@sha256:abcd"), None);
    }
}
