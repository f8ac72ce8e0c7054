//! Hooks in Velero's own objects: the `spec.hooks` of a Backup (a Schedule's
//! `spec.template.hooks`) and of a Restore, the Backup fields that decide which pods they
//! reach, what Velero refuses in them, and the plan of what runs on each pod.
//!
//! - [`types`]: the Velero object types, as written.
//! - [`glob`]: namespace and resource patterns (gobwas/glob syntax, linear matching).
//! - [`selector`]: label selectors.
//! - [`scope`]: which pods a Backup or Restore takes in, and which a hook applies to.
//! - [`rules`]: the HV1xx rules (CRD schema, controllers, hook values).
//! - [`fields`]: fields the CRD does not declare.
//! - [`plan`]: given an object and pods, the hooks Velero runs on each pod, in order.

use serde_json::Value;

use crate::rules::Finding;
use crate::version::VeleroVersion;

pub mod fields;
pub mod glob;
mod glob_syntax;
pub mod plan;
pub mod rules;
pub mod scope;
pub mod selector;
pub mod types;

pub use plan::{Inventory, ObjectPlan, PlannedHook, PodPlan, plan};
pub use types::{VeleroKind, VeleroSpec};

/// A Backup, Schedule or Restore, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeleroObject {
    pub kind: VeleroKind,
    pub name: String,
    pub namespace: Option<String>,
    pub spec: VeleroSpec,
    /// Fields written that some release's CRD does not declare.
    pub undeclared: Vec<fields::Undeclared>,
}

impl VeleroObject {
    /// Reads a `velero.io/v1` Backup, Schedule or Restore; `None` for any other object.
    /// A spec that does not have the shape of Velero's types is an HV100 finding.
    pub fn from_json(object: &Value) -> Option<Result<Self, Finding>> {
        if object.get("apiVersion").and_then(Value::as_str) != Some("velero.io/v1") {
            return None;
        }
        let kind = match object.get("kind").and_then(Value::as_str)? {
            "Backup" => VeleroKind::Backup,
            "Schedule" => VeleroKind::Schedule,
            "Restore" => VeleroKind::Restore,
            _ => return None,
        };
        let text = |field: &str| {
            object
                .pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let spec = match kind {
            VeleroKind::Schedule => object.pointer("/spec/template"),
            _ => object.get("spec"),
        }
        .filter(|s| !s.is_null())
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
        if let Some(wrong) = fields::wrong_type(kind, object) {
            return Some(Err(rules::at(
                &rules::SPEC_UNDECODABLE,
                wrong.written.clone(),
                format!(
                    "{} where the CRD declares {}",
                    article(wrong.found),
                    article(wrong.expected)
                ),
                format!(
                    "the API server refuses the object (`{path}: Invalid value: \"{found}\": {path} in body must be of type {expected}`), so Velero never sees it; nothing else in the object is checked until it has the declared shape",
                    path = wrong.written,
                    found = wrong.found,
                    expected = wrong.expected,
                ),
                "write the field as Velero's API documents it (velero.io/docs, API types)",
            )));
        }
        let decoded = match kind {
            VeleroKind::Restore => serde_path_to_error::deserialize(&spec).map(VeleroSpec::Restore),
            _ => serde_path_to_error::deserialize(&spec).map(VeleroSpec::Backup),
        };
        Some(match decoded {
            Ok(spec) => Ok(VeleroObject {
                kind,
                name: text("name")
                    .or_else(|| text("generateName"))
                    .unwrap_or_default(),
                namespace: text("namespace"),
                spec,
                undeclared: fields::undeclared(kind, object),
            }),
            Err(err) => {
                // `hooks.resources[0].pre`, or `.` for the spec itself.
                let path = match err.path().to_string().as_str() {
                    "." => kind.spec_path().to_owned(),
                    inner => format!("{}.{inner}", kind.spec_path()),
                };
                let inner = err.inner().to_string();
                // A plain `y`, `on` or `0755` is not a string to kubectl's YAML 1.1 reader.
                let fix = if inner.starts_with("invalid type: boolean")
                    || inner.starts_with("invalid type: integer")
                    || inner.starts_with("invalid type: floating point")
                {
                    "quote the value: kubectl reads a plain yes, no, on, off, y, n, true or false as a boolean and digits as a number, and this field is a string"
                } else {
                    "write the field as Velero's API documents it (velero.io/docs, API types)"
                };
                Err(rules::at(
                    &rules::SPEC_UNDECODABLE,
                    path,
                    format!(
                        "the value cannot be decoded: {}",
                        inner.replace("expected struct ", "expected a ")
                    ),
                    "the API server rejects the object (its schema types the field otherwise), so Velero never sees it; nothing else in the object is checked until it decodes",
                    fix,
                ))
            }
        })
    }

    /// `backup/NAME -n NS`, as kubectl users name objects.
    pub fn display_name(&self) -> String {
        let mut out = format!("{}/{}", self.kind.as_str().to_ascii_lowercase(), self.name);
        if let Some(ns) = &self.namespace {
            out.push_str(" -n ");
            out.push_str(ns);
        }
        out
    }
}

/// Everything wrong with the object on its own (no pods needed): what the API server and
/// Velero's controllers refuse, and the hook values.
pub fn check(object: &VeleroObject, version: VeleroVersion) -> Vec<Finding> {
    let mut findings = fields::findings(&object.undeclared, version);
    match &object.spec {
        VeleroSpec::Backup(spec) => {
            let base = object.kind.spec_path();
            findings.extend(rules::check_backup_controller(spec, base, version));
            findings.extend(rules::check_backup_hooks(spec, base, version));
        }
        VeleroSpec::Restore(spec) => {
            findings.extend(rules::check_restore_controller(spec, version));
            findings.extend(rules::check_restore_hooks(spec, version));
        }
    }
    // An entry whose hooks are written under a key the CRD lacks (HV116) is not also
    // reported as having no hooks.
    let undeclared: Vec<String> = findings
        .iter()
        .filter(|f| f.code == rules::SPEC_FIELD_UNKNOWN.code)
        .map(|f| f.subject.text().to_owned())
        .collect();
    findings.retain(|f| {
        f.code != rules::HOOK_ENTRY_EMPTY.code
            || !undeclared.iter().any(|u| {
                u.strip_prefix(f.subject.text())
                    .is_some_and(|rest| rest.starts_with('.'))
            })
    });
    findings
}

/// `an object`, `a string`, or words that need none (`a string, number or boolean`).
fn article(kind: &str) -> String {
    match kind {
        "object" | "array" => format!("an {kind}"),
        "string" | "number" | "boolean" => format!("a {kind}"),
        other => other.to_owned(),
    }
}
