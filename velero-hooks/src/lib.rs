//! The rules Velero applies to backup and restore hook annotations.
//!
//! Pure and synchronous: bytes and clusters are the callers' business. Everything that
//! says "this hook is wrong" in the product (the plugin, the webhook, CI) comes from here,
//! so the same object gets the same verdict everywhere.
//!
//! ```
//! let pod = serde_json::json!({
//!     "apiVersion": "v1", "kind": "Pod",
//!     "metadata": {"name": "db", "annotations": {
//!         "pre.hook.backup.velero.io/command": "/sbin/fsfreeze --freeze /data",
//!         "pre.hook.backup.velero.io/timeout": "30"}},
//!     "spec": {"containers": [{"name": "db"}]}
//! });
//! let report = velero_hooks::check_object(&pod, velero_hooks::VeleroVersion::default()).unwrap();
//! let codes: Vec<_> = report.findings.iter().map(|f| f.code).collect();
//! assert_eq!(codes, ["HV003", "HV011", "HV020"]);
//! ```

pub mod checks;
pub mod command;
pub mod duration;
pub mod hook;
pub mod keys;
pub mod normalize;
pub mod outcome;
pub mod pod;
pub mod pruned;
pub mod report;
pub mod rules;
pub mod spec;
pub mod version;
pub mod workload;

use serde_json::Value;

pub use hook::PodHooks;
pub use pod::PodView;
pub use report::ObjectReport;
pub use rules::{Finding, Severity, Subject, check_pod};
pub use version::VeleroVersion;
pub use workload::{PodTemplateRef, WorkloadKind, locate};

/// Escapes one JSON Pointer token (RFC 6901): annotation keys contain `/`.
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Checks every hook of a pod or workload; `None` when the object is neither (a
/// ConfigMap, a Service, a custom resource): such objects have no hooks to check.
pub fn check_object(object: &Value, version: VeleroVersion) -> Option<ObjectReport> {
    let template = locate(object)?;
    let pod = PodView::from_json(template.metadata, template.spec);
    let checked = check_pod(&pod, version);
    let annotations_pointer = format!("{}/annotations/", template.metadata_pointer());
    let mut findings: Vec<Finding> = checked
        .findings
        .into_iter()
        .map(|mut f| {
            f.pointer = Some(format!(
                "{annotations_pointer}{}",
                pointer_token(f.subject.text())
            ));
            f
        })
        .collect();
    if let Some(own) = template.own_metadata {
        let own_view = PodView::from_json(Some(own), None);
        findings.extend(
            rules::check_workload_metadata(
                &own_view,
                template.kind.kind,
                &template.kind.template_path(),
            )
            .into_iter()
            .map(|mut f| {
                f.pointer = Some(format!(
                    "/metadata/annotations/{}",
                    pointer_token(f.subject.text())
                ));
                f
            }),
        );
    }
    let metadata = object.get("metadata");
    let text = |field: &str| {
        metadata
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(ObjectReport {
        kind: template.kind,
        name: text("name")
            .or_else(|| text("generateName"))
            .unwrap_or_default(),
        namespace: text("namespace"),
        hooks: checked.hooks,
        findings,
    })
}
