//! Changing the hook annotations of live objects safely: compute the object as it will be,
//! check it with the rules library, then write one JSON merge patch per object carrying the
//! object's `metadata.resourceVersion`, so that a concurrent change is never overwritten.
//! On 409 Conflict the object is read again, the change computed and checked again, and
//! the write retried a few times.

use std::collections::BTreeMap;

use anyhow::Context as _;
use kube::api::{Patch, PatchParams};
use serde_json::{Map, Value, json};
use velero_hooks::{Finding, ObjectReport, VeleroVersion, WorkloadKind, check_object, locate};

use crate::cluster::{Cluster, describe_api_error, workload_api};
use crate::selection::{get_object, qualified_name};

/// Annotation key → new value (`None` removes the key).
pub type Changes = BTreeMap<String, Option<String>>;

/// What a command does to one object's pod annotations.
pub trait AnnotationEdit {
    /// The changes to make, given the object as it is now; an error when the object's
    /// current state forbids them (an existing hook without `--overwrite`).
    fn changes(&self, object: &Value, annotations: &Map<String, Value>) -> anyhow::Result<Changes>;

    /// The findings on the changed object that forbid writing it.
    fn blocking<'r>(&self, report: &'r ObjectReport) -> Vec<&'r Finding>;
}

/// kubectl's `--dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    /// Write the change.
    None,
    /// Compute and show the change; send nothing.
    Client,
    /// Send the change with `dryRun=All`: the server (and its admission webhooks) checks
    /// it but stores nothing.
    Server,
}

/// One object with its change computed and checked.
pub struct Plan {
    pub kind: &'static WorkloadKind,
    pub name: String,
    pub namespace: Option<String>,
    pub resource_version: Option<String>,
    pub changes: Changes,
    /// The object as it will be once changed.
    pub after: Value,
    /// The rules' verdict on `after`.
    pub report: Option<ObjectReport>,
}

impl Plan {
    /// `deployment.apps/web`.
    pub fn qualified_name(&self) -> String {
        qualified_name(self.kind, &self.name)
    }
}

/// Computes and checks the change for one object; the error names the object.
pub fn plan(
    object: Value,
    edit: &dyn AnnotationEdit,
    version: VeleroVersion,
) -> anyhow::Result<Plan> {
    let template = locate(&object).context("the object is not a pod or workload")?;
    let kind = template.kind;
    let empty = Map::new();
    let annotations = template
        .metadata
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let name = text("/metadata/name").unwrap_or_default();
    let namespace = text("/metadata/namespace");
    let describe = || {
        let mut out = qualified_name(kind, &name);
        if let Some(ns) = &namespace {
            out.push_str(" -n ");
            out.push_str(ns);
        }
        out
    };
    let changes = edit.changes(&object, annotations).with_context(describe)?;
    let after = apply_changes(&object, &changes);
    let report = check_object(&after, version);
    Ok(Plan {
        kind,
        resource_version: text("/metadata/resourceVersion"),
        name,
        namespace,
        changes,
        after,
        report,
    })
}

/// The object with `changes` made to its pod annotations (the template's, for workloads).
pub fn apply_changes(object: &Value, changes: &Changes) -> Value {
    let mut after = object.clone();
    let Some(kind) = locate(object).map(|t| t.kind) else {
        return after;
    };
    let pointer = format!("{}/metadata", kind.template_pointer);
    let Some(metadata) = ensure_object(&mut after, &pointer) else {
        return after;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    let map = annotations.as_object_mut().expect("made an object above");
    for (key, value) in changes {
        match value {
            Some(value) => {
                map.insert(key.clone(), Value::String(value.clone()));
            }
            None => {
                map.remove(key);
            }
        }
    }
    if map.is_empty() {
        metadata.remove("annotations");
    }
    after
}

/// The object at `pointer`, creating empty objects along the way.
fn ensure_object<'v>(root: &'v mut Value, pointer: &str) -> Option<&'v mut Map<String, Value>> {
    let mut current = root;
    for token in pointer.split('/').skip(1) {
        let map = current.as_object_mut()?;
        current = map
            .entry(token.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if current.is_null() {
            *current = Value::Object(Map::new());
        }
    }
    current.as_object_mut()
}

/// The JSON merge patch for `changes`, with the resourceVersion precondition.
pub fn merge_patch(
    kind: &WorkloadKind,
    changes: &Changes,
    resource_version: Option<&str>,
) -> Value {
    let annotations: Map<String, Value> = changes
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_ref().map_or(Value::Null, |v| Value::String(v.clone())),
            )
        })
        .collect();
    let mut patch = json!({"metadata": {"annotations": annotations}});
    for token in kind
        .template_pointer
        .split('/')
        .skip(1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        patch = json!({ token: patch });
    }
    if let Some(rv) = resource_version {
        let root = patch.as_object_mut().expect("built as an object");
        let metadata = root
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        metadata["resourceVersion"] = Value::String(rv.to_owned());
    }
    patch
}

/// How many times a write is attempted when the object keeps changing under it.
pub const MAX_ATTEMPTS: usize = 5;

/// Writes a plan (or sends it with `dryRun=All`), re-reading, re-checking and retrying on
/// 409 Conflict. Returns the object as the server stored (or would store) it, and the plan
/// actually written (recomputed after a conflict).
pub async fn write(
    cluster: &Cluster,
    mut plan: Plan,
    edit: &dyn AnnotationEdit,
    version: VeleroVersion,
    server_dry_run: bool,
) -> anyhow::Result<(Value, Plan)> {
    let namespace = plan
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.namespace.clone());
    let api = workload_api(cluster, plan.kind, Some(namespace.as_str()));
    let params = PatchParams {
        dry_run: server_dry_run,
        ..PatchParams::default()
    };
    let mut attempt = 1;
    loop {
        let patch = merge_patch(plan.kind, &plan.changes, plan.resource_version.as_deref());
        tracing::debug!(object = %plan.qualified_name(), %patch, attempt, "patching");
        match api.patch(&plan.name, &params, &Patch::Merge(&patch)).await {
            Ok(stored) => {
                let mut value = serde_json::to_value(&stored)?;
                value["apiVersion"] = plan.kind.api_version.into();
                value["kind"] = plan.kind.kind.into();
                return Ok((value, plan));
            }
            Err(kube::Error::Api(status)) if status.code == 409 && attempt < MAX_ATTEMPTS => {
                tracing::info!(
                    object = %plan.qualified_name(),
                    attempt,
                    "the object changed since it was read; reading it again"
                );
                attempt += 1;
                let fresh = get_object(cluster, plan.kind, &namespace, &plan.name).await?;
                plan = plan_checked(fresh, edit, version)?;
                if plan.changes.is_empty() {
                    let value = plan.after.clone();
                    return Ok((value, plan));
                }
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let error = describe_api_error(kube::Error::Api(status), "patch");
                return Err(error.context(format!(
                    "{} -n {namespace} kept changing while it was being written ({MAX_ATTEMPTS} \
                     attempts, each re-read and re-checked); nothing was overwritten: run the \
                     command again",
                    plan.qualified_name()
                )));
            }
            Err(error) => {
                return Err(describe_api_error(
                    error,
                    &format!("patch {} -n {namespace}", plan.qualified_name()),
                ));
            }
        }
    }
}

/// Plans the change again on a fresh copy and refuses it if it is now wrong.
fn plan_checked(
    object: Value,
    edit: &dyn AnnotationEdit,
    version: VeleroVersion,
) -> anyhow::Result<Plan> {
    let plan = plan(object, edit, version)?;
    if let Some(report) = &plan.report {
        let blocking = edit.blocking(report);
        if !blocking.is_empty() {
            let mut text = String::new();
            for finding in blocking {
                text.push_str(&crate::render::finding_block(
                    "",
                    &report.display_name(),
                    finding,
                ));
            }
            anyhow::bail!(
                "{text}{} changed while it was being written and the change is now refused; \
                 nothing was written",
                plan.qualified_name()
            );
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use velero_hooks::workload::find_by_name;

    #[test]
    fn merge_patches_reach_the_pod_annotations_with_a_precondition() {
        let changes: Changes = [
            ("a".to_owned(), Some("1".to_owned())),
            ("b".to_owned(), None),
        ]
        .into();
        assert_eq!(
            merge_patch(find_by_name("pod").unwrap(), &changes, Some("7")),
            json!({"metadata": {"resourceVersion": "7", "annotations": {"a": "1", "b": null}}})
        );
        assert_eq!(
            merge_patch(find_by_name("cronjob").unwrap(), &changes, Some("7")),
            json!({"metadata": {"resourceVersion": "7"}, "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"annotations": {"a": "1", "b": null}}}}}}})
        );
        assert_eq!(
            merge_patch(find_by_name("deploy").unwrap(), &changes, None),
            json!({"spec": {"template": {"metadata": {"annotations": {"a": "1", "b": null}}}}})
        );
    }

    #[test]
    fn changes_apply_to_the_template_and_drop_empty_maps() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}});
        let added = apply_changes(
            &deployment,
            &[("k".to_owned(), Some("v".to_owned()))].into(),
        );
        assert_eq!(
            added["spec"]["template"]["metadata"]["annotations"]["k"],
            "v"
        );
        assert!(added["metadata"].get("annotations").is_none());
        let removed = apply_changes(&added, &[("k".to_owned(), None)].into());
        assert!(
            removed["spec"]["template"]["metadata"]
                .get("annotations")
                .is_none()
        );
    }
}
