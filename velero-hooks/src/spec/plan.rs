//! The plan: given a Backup (or Schedule, or Restore) and a set of pods, which hooks Velero
//! runs on each pod, in order, with the values it applies — and, when Velero would refuse
//! the object, the reasons and no hooks. `backup plan`, `backup create`'s preflight,
//! `get --schedule` and the test scenarios all call [`plan`].
//!
//! What cannot be seen offline is said in [`ObjectPlan::limits`]: pods pulled into a
//! backup through a PVC they share with a selected pod (`pkg/itemblock/actions`) are
//! backed up, with their hooks, without the Backup's label selector; restore exec hooks
//! run only on pods the restore creates, not on pods that already exist.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::hook::{Limit, OnError};
use crate::rules::Finding;
use crate::version::VeleroVersion;

use super::{VeleroKind, VeleroObject, VeleroSpec};

mod backup;
mod restore;
pub(crate) mod restore_tracker;
mod run_time;

pub use backup::EXCLUDE_FROM_BACKUP;
pub use run_time::container_runnable;

/// The pods a plan looks at, and the labels of their namespaces.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pods: Vec<Value>,
    namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Every namespace of the cluster was added (listed from the API server), so a name
    /// missing from [`Inventory::namespaces`] does not exist.
    every_namespace: bool,
    /// Plans keep each pod's findings only, not its hooks ([`Inventory::findings_only`]).
    findings_only: bool,
}

impl Inventory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Plans over this inventory keep of each pod its findings, and drop the hooks once
    /// they are checked: a caller that wants only findings (`validate` of a cluster dump
    /// against Schedules: pods × resource hooks) holds no hook list per pod.
    pub fn findings_only(&mut self) {
        self.findings_only = true;
    }

    /// A pod's plan as this inventory's plans keep it.
    fn kept(&self, mut pod: PodPlan) -> PodPlan {
        if self.findings_only {
            pod.hooks = Vec::new();
            pod.skipped = Vec::new();
            pod.init_containers = Vec::new();
        }
        pod
    }

    /// Every Pod and Namespace among `objects` (anything else is ignored).
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut inventory = Self::new();
        for object in objects {
            inventory.add(object);
        }
        inventory
    }

    /// Adds a Pod or a Namespace; `false` for any other object.
    pub fn add(&mut self, object: &Value) -> bool {
        match object.get("kind").and_then(Value::as_str) {
            Some("Pod") => self.pods.push(object.clone()),
            Some("Namespace") => {
                let name = text(object, "/metadata/name")
                    .unwrap_or_default()
                    .to_owned();
                self.namespace_labels.insert(name, labels(object));
            }
            _ => return false,
        }
        true
    }

    /// Adds a pod whatever its `kind` says (objects listed from the pods endpoint may lack it).
    pub fn add_pod(&mut self, pod: &Value) {
        self.pods.push(pod.clone());
    }

    pub fn pods(&self) -> &[Value] {
        &self.pods
    }

    /// The cluster's namespaces as far as the inventory knows: Namespace objects and the
    /// namespaces of pods.
    pub fn namespaces(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.namespace_labels.keys().cloned().collect();
        names.extend(
            self.pods
                .iter()
                .filter_map(|p| text(p, "/metadata/namespace"))
                .map(str::to_owned),
        );
        names.into_iter().collect()
    }

    /// Says that every namespace of the cluster has been added.
    pub fn holds_every_namespace(&mut self) {
        self.every_namespace = true;
    }

    pub fn knows_every_namespace(&self) -> bool {
        self.every_namespace
    }

    pub fn namespace_labels(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.namespace_labels.get(namespace)
    }
}

pub(crate) fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

pub(crate) fn labels(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// When a hook runs: backup `pre`/`post`, or after a restore creates the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Pre,
    Post,
    Restore,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pre => "pre",
            Phase::Post => "post",
            Phase::Restore => "restore",
        }
    }
}

/// Where a planned hook comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum HookOrigin {
    /// `pre.`/`post.` (or restore) annotations.
    Annotation,
    /// The un-prefixed legacy `hook.backup.velero.io/*` annotations.
    LegacyAnnotation,
    /// `spec.hooks.resources[resource]`, its `pre`/`post`/`postHooks` item `index`.
    Spec {
        name: String,
        resource: usize,
        index: usize,
    },
}

impl HookOrigin {
    /// The `hookName` Velero logs.
    pub fn hook_name(&self) -> &str {
        match self {
            HookOrigin::Spec { name, .. } => name,
            _ => "<from-annotation>",
        }
    }

    /// The `hookSource` Velero logs.
    pub fn log_source(&self) -> &'static str {
        match self {
            HookOrigin::Spec { .. } => "spec",
            _ => "annotation",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            HookOrigin::Annotation => "annotation".to_owned(),
            HookOrigin::LegacyAnnotation => "legacy annotation".to_owned(),
            HookOrigin::Spec { name, .. } => format!("spec hook {name:?}"),
        }
    }
}

/// An exec hook Velero will run on one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedHook {
    pub phase: Phase,
    pub origin: HookOrigin,
    /// The container the hook names (`None`: the pod's first container).
    pub container: Option<String>,
    /// The container Velero execs in; `None` when the pod has no containers.
    pub effective_container: Option<String>,
    pub command: Vec<String>,
    /// As Velero acts: only an exact `Fail` fails.
    pub on_error: OnError,
    /// The exec timeout Velero applies, in nanoseconds; `None` means no limit.
    pub timeout_nanos: Option<i64>,
    #[serde(skip)]
    pub timeout: Limit,
    /// Restore exec hooks: how long Velero waits for the container (`None`: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_timeout_nanos: Option<Option<i64>>,
    /// Restore exec hooks: wait for Ready rather than Running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_ready: Option<bool>,
}

/// A matching spec hook Velero does not run because the pod's annotation hook for the
/// same phase replaces every spec hook (`internal/hook/item_hook_handler.go`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedHook {
    pub phase: Phase,
    pub origin: HookOrigin,
    pub container: Option<String>,
    pub command: Vec<String>,
}

/// An init container a restore injects into the pod, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedInit {
    pub origin: HookOrigin,
    /// `None`: Velero generates `velero-restore-init-<8 hex digits>`.
    pub name: Option<String>,
    pub image: String,
    /// Empty: the image's entrypoint.
    pub command: Vec<String>,
}

/// Every hook Velero will run on one pod, in run order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodPlan {
    /// The pod's namespace (for a restore: the target namespace, after namespaceMapping).
    pub namespace: String,
    /// For a restore that maps the pod's namespace: the namespace it was backed up from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
    pub name: String,
    pub hooks: Vec<PlannedHook>,
    pub skipped: Vec<SkippedHook>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<InjectedInit>,
    /// What will go wrong when these hooks run, and what is wrong with the pod's hook
    /// annotations for this kind of object.
    pub findings: Vec<Finding>,
}

impl PodPlan {
    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = &PlannedHook> {
        self.hooks.iter().filter(move |h| h.phase == phase)
    }

    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty() && self.skipped.is_empty() && self.init_containers.is_empty()
    }
}

/// A pod the object does not take in, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub namespace: String,
    pub name: String,
    pub reason: &'static str,
}

/// The plan for one Backup, Schedule or Restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectPlan {
    pub kind: VeleroKind,
    pub name: String,
    /// What is wrong with the object itself.
    pub findings: Vec<Finding>,
    /// Velero refuses the object (API server, FailedValidation, or a backup that fails
    /// before any item): no hook runs.
    pub refused: bool,
    /// Pods taken in, in inventory order, with their hooks (pods without hooks included);
    /// when the object is refused, with no hooks and only their annotation findings.
    pub pods: Vec<PodPlan>,
    pub left_out: Vec<LeftOut>,
    /// What the plan cannot know offline.
    pub limits: Vec<&'static str>,
}

impl ObjectPlan {
    pub fn errors(&self) -> usize {
        self.all_findings().filter(|f| f.is_error()).count()
    }

    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .chain(self.pods.iter().flat_map(|p| &p.findings))
    }
}

/// Plans `object` over the pods of `inventory`.
pub fn plan(object: &VeleroObject, inventory: &Inventory, version: VeleroVersion) -> ObjectPlan {
    let findings = super::check(object, version);
    let mut out = ObjectPlan {
        kind: object.kind,
        name: object.name.clone(),
        refused: findings.iter().any(refuses),
        findings,
        pods: Vec::new(),
        left_out: Vec::new(),
        limits: Vec::new(),
    };
    out.refused |= match &object.spec {
        VeleroSpec::Backup(spec) => unnamed(spec.hooks.resources.iter().map(|h| h.name.as_deref())),
        VeleroSpec::Restore(spec) => {
            unnamed(spec.hooks.resources.iter().map(|h| h.name.as_deref()))
        }
    };
    match &object.spec {
        VeleroSpec::Backup(spec) => {
            backup::plan(spec, object.kind.spec_path(), inventory, version, &mut out)
        }
        VeleroSpec::Restore(spec) => restore::plan(spec, inventory, version, &mut out),
    }
    if !out.pods.is_empty() {
        // With pods, each pod's own HV124 (restore_tracker) replaces the object's, which
        // only knows the Restore.
        let code = super::rules::RESTORE_HOOK_NEVER_RECORDED.code;
        out.findings.retain(|f| f.code != code);
    }
    if out.refused {
        // Velero runs nothing; the pods' own annotation findings still stand.
        for pod in &mut out.pods {
            pod.hooks.clear();
            pod.skipped.clear();
            pod.init_containers.clear();
            pod.findings
                .retain(|f| f.subject.annotation_key().is_some());
        }
    }
    out
}

/// Findings whose consequence is that Velero runs nothing for the object.
fn refuses(finding: &Finding) -> bool {
    use super::rules::*;
    let code = finding.code;
    [
        &SPEC_UNDECODABLE, &SPEC_WITHOUT_EXEC, &SPEC_COMMAND_EMPTY, &SPEC_ON_ERROR_INVALID, &SPEC_SELECTOR_INVALID,
        &INIT_CONTAINER_INVALID, &BACKUP_NAMESPACE_LISTS, &BACKUP_RESOURCE_LISTS, &BACKUP_NAMESPACE_PATTERN_REFUSED,
        &BACKUP_BOTH_SELECTORS, &BACKUP_INCLUDES_EXCLUDED_NAMESPACE, &RESTORE_VALIDATION,
    ]
    .iter()
    .any(|r| r.code == code)
        // Not a Go duration: Velero cannot decode the object.
        || code == SPEC_TIMEOUT_INVALID.code
}

/// A resource hook without a name: the CRD requires one, so the API server refuses it.
fn unnamed<'a>(mut names: impl Iterator<Item = Option<&'a str>>) -> bool {
    names.any(|n| n.is_none())
}
