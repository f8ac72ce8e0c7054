//! Backups, Schedules and Restores in `validate -f`: their own findings (located at the spec
//! path they name), the hooks their `spec.hooks` declare, and — once every document is read —
//! the hooks that would fail on a pod or workload of the same input because the container
//! they name is not there (reported on that pod, naming both objects).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Value, json};
use velero_hooks::hook::{Limit, OnError, effective_exec_timeout};
use velero_hooks::spec::rules::{RESTORE_HOOK_NEVER_RECORDED, SPEC_CONTAINER_NOT_FOUND};
use velero_hooks::spec::types::{ExecHook, ExecRestoreHook};
use velero_hooks::spec::{Inventory, VeleroKind, VeleroObject, VeleroSpec, plan};
use velero_hooks::{ObjectReport, PodHooks, VeleroVersion, WorkloadKind, locate};

use super::Checked;
use crate::manifest::Spot;

/// How a checked object's kind is named in reports. Velero's objects are not workloads:
/// they have no pod template (empty pointer), and their hooks are listed apart.
static BACKUP: WorkloadKind = velero_kind("Backup", "backups");
static SCHEDULE: WorkloadKind = velero_kind("Schedule", "schedules");
static RESTORE: WorkloadKind = velero_kind("Restore", "restores");

const fn velero_kind(kind: &'static str, resource: &'static str) -> WorkloadKind {
    WorkloadKind {
        kind,
        groups: &["velero.io"],
        api_version: "velero.io/v1",
        resource,
        short_names: &[],
        template_pointer: "",
    }
}

fn kind_of(kind: VeleroKind) -> &'static WorkloadKind {
    match kind {
        VeleroKind::Backup => &BACKUP,
        VeleroKind::Schedule => &SCHEDULE,
        VeleroKind::Restore => &RESTORE,
    }
}

/// One hook a Backup, Schedule or Restore declares, with the fields of an annotation hook
/// in `-o json` plus its `hookName`; `container` is `null` when Velero uses the first
/// container of each pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecHook {
    pub phase: &'static str,
    pub source: &'static str,
    pub hook_name: String,
    pub container: Option<String>,
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_nanos: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_timeout_nanos: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_ready: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_container_name: Option<String>,
}

/// What a document lends to the cross-check once the whole input is read.
pub enum ForPlanning {
    Velero(Box<VeleroObject>),
    /// A Pod, or the pod a workload's template will create, as the planner reads it.
    Pod(PodStandIn),
    Namespace(Value),
}

/// The report of a Velero object, or `None` for any other object.
pub fn check(
    object: &Value,
    version: VeleroVersion,
) -> Option<(ObjectReport, Vec<SpecHook>, Option<VeleroObject>)> {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let kind = match text("/kind").as_deref() {
        Some("Schedule") => VeleroKind::Schedule,
        Some("Restore") => VeleroKind::Restore,
        _ => VeleroKind::Backup,
    };
    let (findings, hooks, decoded) = match VeleroObject::from_json(object)? {
        Ok(decoded) => (
            velero_hooks::spec::check(&decoded, version),
            spec_hooks(&decoded, version),
            Some(decoded),
        ),
        Err(finding) => (vec![finding], Vec::new(), None),
    };
    let report = ObjectReport {
        kind: kind_of(kind),
        name: text("/metadata/name")
            .or_else(|| text("/metadata/generateName"))
            .unwrap_or_default(),
        namespace: text("/metadata/namespace"),
        hooks: PodHooks::default(),
        findings,
    };
    Some((report, hooks, decoded))
}

/// The hooks `spec.hooks` declares, in `resources[]` order then list order, with the values
/// Velero applies (the same as the planner's, `internal/hook/item_hook_handler.go`).
pub fn spec_hooks(object: &VeleroObject, version: VeleroVersion) -> Vec<SpecHook> {
    let mut out = Vec::new();
    match &object.spec {
        VeleroSpec::Backup(spec) => {
            for resource in &spec.hooks.resources {
                for (phase, list) in [("pre", &resource.pre), ("post", &resource.post)] {
                    for exec in list.iter().filter_map(|h| h.exec.as_ref()) {
                        out.push(backup_hook(phase, resource.name(), exec, version));
                    }
                }
            }
        }
        VeleroSpec::Restore(spec) => {
            for resource in &spec.hooks.resources {
                for hook in &resource.post_hooks {
                    if let Some(init) = &hook.init {
                        out.extend(
                            init.init_containers
                                .iter()
                                .map(|c| init_hook(resource.name(), c)),
                        );
                    }
                    if let Some(exec) = &hook.exec {
                        out.push(restore_hook(resource.name(), exec, version));
                    }
                }
            }
        }
    }
    out
}

fn backup_hook(
    phase: &'static str,
    name: &str,
    exec: &ExecHook,
    version: VeleroVersion,
) -> SpecHook {
    SpecHook {
        on_error: Some(OnError::effective(exec.on_error.as_deref()).as_str()),
        timeout: exec.timeout.as_ref().map(as_written),
        timeout_nanos: Some(effective_exec_timeout(nanos(&exec.timeout), version).nanos()),
        ..SpecHook::new(phase, name, &exec.container, &exec.command)
    }
}

fn restore_hook(name: &str, exec: &ExecRestoreHook, version: VeleroVersion) -> SpecHook {
    // Wait timeout 0 (or unparseable) means no limit (`internal/hook/wait_exec_hook_handler.go`).
    let wait = nanos(&exec.wait_timeout);
    SpecHook {
        on_error: Some(OnError::effective(exec.on_error.as_deref()).as_str()),
        timeout: exec.exec_timeout.as_ref().map(as_written),
        timeout_nanos: Some(effective_exec_timeout(nanos(&exec.exec_timeout), version).nanos()),
        wait_timeout: exec.wait_timeout.as_ref().map(as_written),
        wait_timeout_nanos: Some(
            if wait > 0 {
                Limit::After(wait)
            } else {
                Limit::Unlimited
            }
            .nanos(),
        ),
        wait_for_ready: Some(exec.wait_for_ready.unwrap_or(false)),
        ..SpecHook::new("restore", name, &exec.container, &exec.command)
    }
}

fn init_hook(name: &str, container: &Value) -> SpecHook {
    let text = |key: &str| {
        container
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let command: Vec<String> = container
        .get("command")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    SpecHook {
        image: Some(text("image").unwrap_or_default()),
        init_container_name: text("name"),
        ..SpecHook::new("restore-init", name, "", &command)
    }
}

impl SpecHook {
    fn new(phase: &'static str, name: &str, container: &str, command: &[String]) -> Self {
        SpecHook {
            phase,
            source: "spec",
            hook_name: name.to_owned(),
            container: Some(container.to_owned()).filter(|c| !c.is_empty()),
            command: command.to_vec(),
            on_error: None,
            timeout: None,
            timeout_nanos: None,
            wait_timeout: None,
            wait_timeout_nanos: None,
            wait_for_ready: None,
            image: None,
            init_container_name: None,
        }
    }
}

/// A duration as Velero reads it: a Go duration string, else 0 (the default applies).
fn nanos(value: &Option<Value>) -> i64 {
    match value {
        Some(Value::String(t)) if !t.is_empty() => {
            velero_hooks::duration::parse_go_duration(t).unwrap_or(0)
        }
        _ => 0,
    }
}

fn as_written(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// What the planner needs of a Pod, a workload (the pod its template will create, named
/// `deployment/web`, taken as Running, as `backup plan` does) or a Namespace; `None` for
/// anything else. Only names, labels, Velero's annotations and container names are kept,
/// and compactly: every pod of the input is held until the whole input is read.
pub fn for_planning(object: &Value) -> Option<ForPlanning> {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
    if text("/kind") == Some("Namespace") {
        return Some(ForPlanning::Namespace(json!({
            "kind": "Namespace",
            "metadata": {"name": text("/metadata/name"), "labels": object.pointer("/metadata/labels")},
        })));
    }
    let template = locate(object)?;
    let name = match text("/kind") {
        Some("Pod") => text("/metadata/name").unwrap_or_default().to_owned(),
        _ => format!(
            "{}/{}",
            template.kind.kind.to_lowercase(),
            text("/metadata/name").unwrap_or_default()
        ),
    };
    let pairs = |key: &str, keep: fn(&str) -> bool| -> serde_json::Map<String, Value> {
        template
            .metadata
            .and_then(|m| m.get(key))
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .filter(|(k, _)| keep(k))
                    .map(|(k, v)| {
                        let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                        (k.clone(), Value::String(text))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let containers = |key: &str| -> Vec<Value> {
        template
            .spec
            .and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|c| json!({"name": c.get("name").and_then(Value::as_str).unwrap_or_default(), "restartPolicy": c.get("restartPolicy").and_then(Value::as_str)}))
                    .collect()
            })
            .unwrap_or_default()
    };
    let kept = json!({
        "metadata": {
            "name": name,
            "namespace": text("/metadata/namespace").unwrap_or("default"),
            "labels": pairs("labels", |_| true),
            // Hook annotations (and any other velero.io key): nothing else is read.
            "annotations": pairs("annotations", |k| k.contains("velero.io/")),
        },
        "spec": {"containers": containers("containers"), "initContainers": containers("initContainers")},
    });
    Some(ForPlanning::Pod(PodStandIn(kept.to_string().into())))
}

/// A pod as the plan needs it (names, labels, Velero annotations, containers' names and
/// restart policies), kept as one compact JSON text while the rest of the input is read:
/// a stream of tens of thousands of workloads holds one allocation per pod, not dozens.
pub struct PodStandIn(Box<str>);

impl PodStandIn {
    /// The pod as the planner reads it; taken as Running (manifests state no phase).
    fn to_pod(&self) -> Value {
        // The text is this program's own serialisation: it always reads back.
        let mut pod: Value = serde_json::from_str(&self.0).unwrap_or_default();
        if let Some(fields) = pod.as_object_mut() {
            fields.insert("apiVersion".to_owned(), "v1".into());
            fields.insert("kind".to_owned(), "Pod".into());
            fields.insert("status".to_owned(), json!({"phase": "Running"}));
        }
        pod
    }
}

/// Plans every Velero object of the input over its pods and workloads, and adds to each
/// pod's report the spec hooks whose container it lacks (HV122) or that its Velero release
/// never records as run (HV124), naming the hook's object.
/// `planning[i]` belongs to `checked[i]`; `namespaces` are the input's Namespaces.
pub fn cross_check(
    checked: &mut [Checked],
    planning: Vec<Option<ForPlanning>>,
    namespaces: Vec<ForPlanning>,
    version: VeleroVersion,
) {
    if !planning
        .iter()
        .any(|p| matches!(p, Some(ForPlanning::Velero(_))))
    {
        return;
    }
    let mut inventory = Inventory::new();
    // Only the pods' findings are reported here, not the hooks each would run.
    inventory.findings_only();
    let mut objects = Vec::new();
    let mut pod_at: HashMap<(String, String), usize> = HashMap::new();
    let items = planning.into_iter().enumerate().map(|(i, p)| (Some(i), p));
    let items = items.chain(namespaces.into_iter().map(|p| (None, Some(p))));
    for (index, item) in items {
        match item {
            Some(ForPlanning::Velero(object)) => objects.push(object),
            Some(ForPlanning::Namespace(ns)) => {
                inventory.add(&ns);
            }
            Some(ForPlanning::Pod(stand_in)) => {
                let pod = stand_in.to_pod();
                let id = |p: &str| {
                    pod.pointer(p)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                if let Some(index) = index {
                    pod_at
                        .entry((id("/metadata/namespace"), id("/metadata/name")))
                        .or_insert(index);
                }
                inventory.add_pod(&pod);
            }
            None => {}
        }
    }
    if objects.is_empty() || inventory.pods().is_empty() {
        return;
    }
    for object in objects {
        let planned = plan(&object, &inventory, version);
        for pod in planned.pods {
            // The input's pod is the one backed up, in its own namespace.
            let namespace = pod.source_namespace.as_ref().unwrap_or(&pod.namespace);
            let Some(&index) = pod_at.get(&(namespace.clone(), pod.name.clone())) else {
                continue;
            };
            for mut finding in pod.findings.into_iter().filter(|f| {
                [&SPEC_CONTAINER_NOT_FOUND, &RESTORE_HOOK_NEVER_RECORDED]
                    .iter()
                    .any(|r| r.code == f.code)
            }) {
                finding.problem = format!("{}: {}", object.display_name(), finding.problem);
                checked[index].report.findings.push(finding);
                let line = checked[index].origin.line;
                checked[index].finding_lines.push(line.map(Spot::line));
            }
        }
    }
}
