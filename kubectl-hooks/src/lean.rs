//! Listing many objects cheaply: pages of 500 (as kubectl pages), each item decoded into
//! only what the hook rules read (the library's `PrunedObject`), handed on, and dropped
//! before the next page is requested.

use serde::Deserialize;
use serde_json::Value;
use velero_hooks::WorkloadKind;
use velero_hooks::pruned::PrunedObject;

use crate::cluster::{Cluster, describe_api_error, workload_api};

/// Objects per page, as kubectl requests them.
pub const PAGE_SIZE: u32 = 500;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default)]
    items: Vec<PrunedObject>,
}

#[derive(Default, Deserialize)]
struct PageMeta {
    #[serde(rename = "continue", default)]
    continue_token: Option<String>,
}

/// Calls `each` with every object of `kind` in scope (`namespace`, or all when `None`),
/// one page in memory at a time.
pub async fn for_each(
    cluster: &Cluster,
    kind: &WorkloadKind,
    namespace: Option<&str>,
    selector: Option<&str>,
    mut each: impl FnMut(Value),
) -> anyhow::Result<()> {
    let api = workload_api(cluster, kind, namespace);
    let mut params = kube::api::ListParams::default().limit(PAGE_SIZE);
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    loop {
        let request = kube::core::Request::new(api.resource_url())
            .list(&params)
            .map_err(|e| anyhow::anyhow!("cannot build the list request: {e}"))?;
        let page: Page = cluster
            .client
            .request(request)
            .await
            .map_err(|e| describe_api_error(e, &format!("list {}", kind.resource)))?;
        for PrunedObject(mut item) in page.items {
            // List items come without apiVersion and kind; the rules need them.
            if let Some(map) = item.as_object_mut() {
                map.insert("apiVersion".into(), kind.api_version.into());
                map.insert("kind".into(), kind.kind.into());
            }
            each(item);
        }
        match page.metadata.continue_token {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_keep_what_the_rules_read_and_give_the_same_verdict() {
        let cronjob = json!({
            "metadata": {"name": "dump", "namespace": "shop", "labels": {"a": "b"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}",
                    "pre.hook.backup.velero.io/command": "[\"/bin/a\"]"}},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {
                "metadata": {"annotations": {"pre.hook.backup.velero.io/command": "pg_dump -f x",
                    "pre.hook.backup.velero.io/timout": "1m"}},
                "spec": {"containers": [{"name": "db", "image": "postgres", "env": [{"name": "A", "value": "1"}]}],
                    "initContainers": [{"name": "side", "restartPolicy": "Always"}]}}}}}
        });
        let page: Page = serde_json::from_value(
            json!({"metadata": {"continue": "next"}, "items": [cronjob.clone()]}),
        )
        .unwrap();
        assert_eq!(page.metadata.continue_token.as_deref(), Some("next"));
        let mut reduced = page.items.into_iter().next().unwrap().0;
        assert!(
            reduced
                .pointer("/spec/jobTemplate/spec/template/spec/containers/0/env")
                .is_none()
        );
        reduced["apiVersion"] = "batch/v1".into();
        reduced["kind"] = "CronJob".into();
        let mut full = cronjob;
        full["apiVersion"] = "batch/v1".into();
        full["kind"] = "CronJob".into();
        let version = velero_hooks::VeleroVersion::default();
        let full = velero_hooks::check_object(&full, version).unwrap();
        let lean = velero_hooks::check_object(&reduced, version).unwrap();
        assert!(!full.findings.is_empty());
        assert_eq!(full.findings, lean.findings);
    }
}
