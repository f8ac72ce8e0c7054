//! Listing many objects cheaply: pages of 500 (as kubectl pages), each decoded into only
//! what the hook rules read (names, hook-like annotations, container names), checked, and
//! dropped before the next page is requested.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use velero_hooks::WorkloadKind;
use velero_hooks::keys::looks_like_hook_key;

use crate::cluster::{Cluster, describe_api_error, workload_api};

/// Objects per page, as kubectl requests them.
pub const PAGE_SIZE: u32 = 500;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default)]
    items: Vec<LeanObject>,
}

#[derive(Default, Deserialize)]
struct PageMeta {
    #[serde(rename = "continue", default)]
    continue_token: Option<String>,
}

/// A pod or workload reduced to what the rules read.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeanObject {
    #[serde(default)]
    pub metadata: LeanMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spec: Option<Box<LeanSpec>>,
    /// PodTemplate keeps its pod template at the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    template: Option<Box<LeanTemplate>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct LeanMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only the annotations that look like hook keys (the rest is never read).
    #[serde(
        default,
        deserialize_with = "hook_annotations",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct LeanSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    containers: Vec<LeanContainer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    init_containers: Vec<LeanContainer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    template: Option<LeanTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job_template: Option<LeanJobTemplate>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct LeanTemplate {
    #[serde(default)]
    metadata: LeanMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spec: Option<Box<LeanSpec>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct LeanJobTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spec: Option<Box<LeanSpec>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct LeanContainer {
    #[serde(default)]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restart_policy: Option<String>,
}

/// Keeps only hook-looking annotations while decoding, without allocating the others.
fn hook_annotations<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Value>, D::Error> {
    struct Keep;
    impl<'de> Visitor<'de> for Keep {
        type Value = BTreeMap<String, Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of annotations")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut kept = BTreeMap::new();
            while let Some(key) = map.next_key_seed(HookKey)? {
                match key {
                    Some(key) => {
                        kept.insert(key, map.next_value::<Value>()?);
                    }
                    None => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
            }
            Ok(kept)
        }
    }
    deserializer.deserialize_any(Keep)
}

/// An annotation key, copied only when it looks like a hook key.
struct HookKey;

impl<'de> serde::de::DeserializeSeed<'de> for HookKey {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for HookKey {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an annotation key")
    }
    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(looks_like_hook_key(key).then(|| key.to_owned()))
    }
}

impl LeanObject {
    /// The reduced object as JSON the rules library reads, with `apiVersion` and `kind`.
    pub fn into_json(self, kind: &WorkloadKind) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(map) = value.as_object_mut() {
            map.insert("apiVersion".into(), kind.api_version.into());
            map.insert("kind".into(), kind.kind.into());
        }
        value
    }
}

/// Calls `each` with every object of `kind` in scope (`namespace`, or all when `None`),
/// one page in memory at a time.
pub async fn for_each(
    cluster: &Cluster,
    kind: &WorkloadKind,
    namespace: Option<&str>,
    selector: Option<&str>,
    mut each: impl FnMut(LeanObject),
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
        for item in page.items {
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
    use velero_hooks::workload::find_by_name;

    #[test]
    fn keeps_what_the_rules_read_and_gives_the_same_verdict() {
        let cronjob = json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "dump", "namespace": "shop", "labels": {"a": "b"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}",
                    "pre.hook.backup.velero.io/command": "[\"/bin/a\"]"}},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {
                "metadata": {"annotations": {"pre.hook.backup.velero.io/command": "pg_dump -f x",
                    "pre.hook.backup.velero.io/timout": "1m", "other": "x"}},
                "spec": {"containers": [{"name": "db", "image": "postgres", "env": [{"name": "A", "value": "1"}]}],
                    "initContainers": [{"name": "side", "restartPolicy": "Always"}]}}}}}
        });
        let lean: LeanObject = serde_json::from_value(cronjob.clone()).unwrap();
        let kind = find_by_name("cronjob").unwrap();
        let reduced = lean.into_json(kind);
        assert!(
            reduced
                .pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
                .is_none()
        );
        assert!(
            reduced
                .pointer("/spec/jobTemplate/spec/template/metadata/annotations/other")
                .is_none()
        );
        assert!(
            reduced
                .pointer("/spec/jobTemplate/spec/template/spec/containers/0/env")
                .is_none()
        );
        let version = velero_hooks::VeleroVersion::default();
        let full = velero_hooks::check_object(&cronjob, version).unwrap();
        let lean = velero_hooks::check_object(&reduced, version).unwrap();
        assert_eq!(full.findings, lean.findings);
        assert_eq!(
            velero_hooks::report::hook_summaries(&full.hooks),
            velero_hooks::report::hook_summaries(&lean.hooks)
        );
        assert!(!full.findings.is_empty());
    }

    #[test]
    fn null_annotations_are_no_annotations() {
        let lean: LeanObject =
            serde_json::from_value(json!({"metadata": {"name": "p", "annotations": null}}))
                .unwrap();
        assert!(lean.metadata.annotations.is_empty());
    }
}
