//! The connection to the cluster, configured the way kubectl configures it: `--kubeconfig`,
//! then `KUBECONFIG` (several files, merged), then `~/.kube/config`; `--context`; the
//! context's namespace unless `-n` is given; `--request-timeout`.

use std::path::Path;

use anyhow::Context as _;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};
use velero_hooks::duration::parse_go_duration;

use crate::cli::GlobalArgs;
use crate::commands::unusable;

/// A client and the namespace the command works in.
pub struct Cluster {
    pub client: Client,
    /// `-n`, else the context's namespace, else `default`.
    pub namespace: String,
    /// `-A` was given.
    pub all_namespaces: bool,
}

impl Cluster {
    pub async fn connect(global: &GlobalArgs) -> anyhow::Result<Self> {
        let kubeconfig = read_kubeconfig(global.kubeconfig.as_deref())?;
        if let Some(context) = &global.context
            && !kubeconfig.contexts.iter().any(|c| &c.name == context)
        {
            let known: Vec<&str> = kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(unusable(anyhow::anyhow!(
                "context \"{context}\" does not exist in the kubeconfig (its contexts: {}; `kubectl config get-contexts` lists them)",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
        let options = KubeConfigOptions {
            context: global.context.clone(),
            ..KubeConfigOptions::default()
        };
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .context("invalid kubeconfig")?;
        if let Some(timeout) = request_timeout(&global.request_timeout).map_err(unusable)? {
            config.connect_timeout = Some(timeout);
            config.read_timeout = Some(timeout);
            config.write_timeout = Some(timeout);
            config.reset_reader_on_write = true;
        }
        let _ = SERVER.set(config.cluster_url.to_string());
        let namespace = global
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client =
            Client::try_from(config).context("cannot build a client from the kubeconfig")?;
        Ok(Cluster {
            client,
            namespace,
            all_namespaces: global.all_namespaces,
        })
    }
}

/// No usable kubeconfig: the command never reached a cluster. Every online command exits
/// with the same status for it (2, unusable input), whatever its own verdicts mean.
#[derive(Debug, thiserror::Error)]
#[error(
    "{problem}\n  to point at a cluster: --kubeconfig PATH, the KUBECONFIG environment variable, \
     or ~/.kube/config (no cluster at hand? the README's \"Try it without a cluster\" starts one)"
)]
pub struct NoKubeconfig {
    problem: String,
}

/// Reads the kubeconfig as kubectl finds it: `--kubeconfig`, else `KUBECONFIG` (several
/// files, merged), else `~/.kube/config`. kube's own error repeats its cause and quotes the
/// path twice; this one names the file once and says how to fix it.
pub fn read_kubeconfig(explicit: Option<&Path>) -> Result<Kubeconfig, NoKubeconfig> {
    let read = match explicit {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    };
    read.map_err(|err| {
        let problem = match err {
            KubeconfigError::ReadConfig(cause, path) => {
                format!("cannot read kubeconfig '{}': {cause}", path.display())
            }
            KubeconfigError::FindPath => {
                "no kubeconfig: KUBECONFIG is not set and the home directory is unknown".to_owned()
            }
            // Every other variant says all in its own message, without a repeated source.
            other => format!("invalid kubeconfig: {other}"),
        };
        NoKubeconfig { problem }
    })
}

/// kubectl's `--request-timeout`: a Go duration, or a bare number of seconds; 0 means none.
fn request_timeout(text: &str) -> anyhow::Result<Option<std::time::Duration>> {
    let nanos = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>()
            .ok()
            .and_then(|s| s.checked_mul(1_000_000_000))
            .context("--request-timeout is too large")?
    } else {
        parse_go_duration(text).map_err(|e| {
            anyhow::anyhow!("invalid --request-timeout `{text}`: {e} (use e.g. 30s or 1m)")
        })?
    };
    if nanos < 0 {
        anyhow::bail!("invalid --request-timeout `{text}`: it must not be negative");
    }
    Ok((nanos > 0).then(|| std::time::Duration::from_nanos(nanos as u64)))
}

/// Runs a cluster command on a single-threaded runtime: the plugin waits on the network,
/// it does not need a thread pool.
pub fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

/// The dynamic API handle for a workload kind, in the command's namespace scope.
pub fn workload_api(
    cluster: &Cluster,
    kind: &velero_hooks::WorkloadKind,
    namespace: Option<&str>,
) -> kube::Api<kube::api::DynamicObject> {
    let resource = api_resource(kind);
    match namespace {
        Some(ns) => kube::Api::namespaced_with(cluster.client.clone(), ns, &resource),
        None => kube::Api::all_with(cluster.client.clone(), &resource),
    }
}

pub fn api_resource(kind: &velero_hooks::WorkloadKind) -> kube::api::ApiResource {
    kube::api::ApiResource {
        group: kind.group().to_owned(),
        version: kind.version().to_owned(),
        api_version: kind.api_version.to_owned(),
        kind: kind.kind.to_owned(),
        plural: kind.resource.to_owned(),
    }
}

/// Lists every object of `kind` in scope, page by page (500 per request, as kubectl does),
/// as JSON with `apiVersion` and `kind` filled in (list items come without them).
pub async fn list_objects(
    cluster: &Cluster,
    kind: &velero_hooks::WorkloadKind,
    selector: Option<&str>,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let namespace = (!cluster.all_namespaces).then_some(cluster.namespace.as_str());
    let api = workload_api(cluster, kind, namespace);
    let mut params = kube::api::ListParams::default().limit(500);
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    let mut objects = Vec::new();
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|e| describe_api_error(e, &format!("list {}", kind.resource)))?;
        for item in page.items {
            let mut value = serde_json::to_value(&item)?;
            value["apiVersion"] = kind.api_version.into();
            value["kind"] = kind.kind.into();
            objects.push(value);
        }
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    Ok(objects)
}

/// An API error as kubectl prints it: `Error from server (Forbidden): <message>`.
pub fn describe_api_error(error: kube::Error, doing: &str) -> anyhow::Error {
    match error {
        kube::Error::Api(status) => {
            // The API server's words for a resource type it does not serve at all.
            let hint = if status.code == 404
                && status.message == "the server could not find the requested resource"
            {
                format!(
                    " (to {doing}: the API server does not serve this resource type; for Velero's types, Velero and its CRDs are not installed in this cluster, check --context)"
                )
            } else {
                String::new()
            };
            anyhow::anyhow!(
                "Error from server ({}): {}{hint}",
                if status.reason.is_empty() {
                    "Unknown"
                } else {
                    status.reason.as_str()
                },
                status.message
            )
        }
        kube::Error::Service(_) | kube::Error::HyperError(_) => {
            // kube's own text repeats each layer (`client error (Connect): client error
            // (Connect): tcp connect error: ...`); the innermost cause is what happened.
            let mut cause: &dyn std::error::Error = &error;
            while let Some(source) = cause.source() {
                cause = source;
            }
            anyhow::anyhow!(
                "cannot {doing}: the API server at {} cannot be reached: {cause}\n  \
                 check that the cluster is up and that the kubeconfig points at it \
                 (--kubeconfig, --context; `kubectl cluster-info` tries the same connection)",
                SERVER.get().map_or("(unknown)", String::as_str)
            )
        }
        other => anyhow::Error::new(other).context(format!("cannot {doing}")),
    }
}

/// The API server this process talks to, for messages about reaching it.
static SERVER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeouts_read_like_kubectl() {
        assert_eq!(request_timeout("0").unwrap(), None);
        assert_eq!(
            request_timeout("5").unwrap(),
            Some(std::time::Duration::from_secs(5))
        );
        assert_eq!(
            request_timeout("1m").unwrap(),
            Some(std::time::Duration::from_secs(60))
        );
        assert!(request_timeout("soon").is_err());
        assert!(request_timeout("-1s").is_err());
    }
}
