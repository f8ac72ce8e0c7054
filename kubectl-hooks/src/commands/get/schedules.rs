//! `kubectl hooks get --schedule NAME` / `--all-schedules`: beside each pod's annotation
//! hooks, the `spec.template.hooks` a live Schedule will run on it, as the library's planner
//! decides (the same preflight `backup plan --schedule` and `backup create --dry-run` run:
//! the Schedule's namespaces, label selectors, resource filters, excluded namespaces and
//! pods, and annotation hooks replacing spec hooks of their phase).

use std::collections::HashMap;

use anyhow::Context;
use kube::api::ListParams;
use serde_json::{Value, json};
use velero_hooks::spec::plan::{HookOrigin, PlannedHook, SkippedHook};
use velero_hooks::{Finding, Subject, VeleroVersion};

use crate::cluster::Cluster;
use crate::commands::backup::{api, create};

/// A spec hook a Schedule runs (or skips) on one pod.
pub struct ScheduleHook {
    /// `schedule/NAME`.
    pub source: String,
    pub hook: Run,
    /// What will go wrong when it runs, from the planner (missing container, ...).
    pub findings: Vec<Finding>,
}

pub enum Run {
    Runs(PlannedHook),
    /// The pod's annotation hook of the same phase runs instead
    /// (`internal/hook/item_hook_handler.go`).
    Skipped(SkippedHook),
}

/// The spec hooks of the Schedules asked for, by pod (`namespace`, `name`). A Schedule that
/// Velero refuses runs nothing: it is said on stderr, with where to see why.
pub async fn by_pod(
    cluster: &Cluster,
    velero_namespace: &str,
    names: &[String],
    all: bool,
    version: VeleroVersion,
) -> anyhow::Result<HashMap<(String, String), Vec<ScheduleHook>>> {
    let schedules = api::schedules_dynamic(cluster, velero_namespace);
    let mut objects = Vec::new();
    if all {
        let list = schedules
            .list(&ListParams::default())
            .await
            .map_err(|err| {
                crate::cluster::describe_api_error(
                    err,
                    &format!("list schedules -n {velero_namespace}"),
                )
            })?;
        if list.items.is_empty() {
            eprintln!(
                "note: no Schedule in namespace {velero_namespace} (--velero-namespace names where Velero runs)"
            );
        }
        objects.extend(list.items);
    }
    for name in names {
        let schedule = schedules.get(name).await.map_err(|err| {
            crate::cluster::describe_api_error(
                err,
                &format!("get schedule {name} -n {velero_namespace}"),
            )
        })?;
        objects.push(schedule);
    }
    let mut out: HashMap<(String, String), Vec<ScheduleHook>> = HashMap::new();
    for schedule in objects {
        let name = schedule.metadata.name.clone().unwrap_or_default();
        let source = format!("schedule/{name}");
        let template = schedule
            .data
            .pointer("/spec/template")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let preflight = create::preflight(cluster, &template, velero_namespace, version)
            .await
            .with_context(|| format!("planning {source} -n {velero_namespace}"))?
            .in_schedule_template();
        if preflight.refused {
            let errors = preflight
                .spec_findings
                .iter()
                .filter(|f| f.is_error())
                .count();
            eprintln!(
                "warning: Velero refuses {source} -n {velero_namespace} ({errors} error{}): none of its hooks \
                 run; see `kubectl hooks backup plan --schedule {name}`",
                if errors == 1 { "" } else { "s" }
            );
            continue;
        }
        for pod in preflight.pods {
            let spec_findings: Vec<Finding> = pod
                .findings
                .into_iter()
                .filter(|f| matches!(f.subject, Subject::Spec(_)))
                .collect();
            let hooks = out.entry((pod.namespace, pod.name)).or_default();
            for hook in pod
                .hooks
                .into_iter()
                .filter(|h| matches!(h.origin, HookOrigin::Spec { .. }))
            {
                let prefix = item_path(&hook.origin, hook.phase.as_str());
                hooks.push(ScheduleHook {
                    source: source.clone(),
                    findings: spec_findings
                        .iter()
                        .filter(|f| {
                            prefix
                                .as_deref()
                                .is_some_and(|p| f.subject.text().contains(p))
                        })
                        .cloned()
                        .collect(),
                    hook: Run::Runs(hook),
                });
            }
            hooks.extend(pod.skipped.into_iter().map(|skipped| ScheduleHook {
                source: source.clone(),
                findings: Vec::new(),
                hook: Run::Skipped(skipped),
            }));
        }
    }
    Ok(out)
}

/// `hooks.resources[r].pre[i].` — the part of a spec path that names one hook.
fn item_path(origin: &HookOrigin, phase: &str) -> Option<String> {
    match origin {
        HookOrigin::Spec {
            resource, index, ..
        } => Some(format!("hooks.resources[{resource}].{phase}[{index}].")),
        _ => None,
    }
}

/// A schedule hook in `get -o json`: the fields of an annotation hook plus `hookName`, with
/// `source` naming the Schedule.
pub fn to_json(hook: &ScheduleHook) -> Value {
    match &hook.hook {
        Run::Runs(run) => json!({
            "phase": run.phase.as_str(),
            "source": hook.source,
            "hookName": run.origin.hook_name(),
            "container": run.effective_container,
            "command": run.command,
            "onError": run.on_error.as_str(),
            "timeoutNanos": run.timeout_nanos,
            "findings": hook.findings,
        }),
        Run::Skipped(skipped) => json!({
            "phase": skipped.phase.as_str(),
            "source": hook.source,
            "hookName": skipped.origin.hook_name(),
            "container": skipped.container,
            "command": skipped.command,
            "skipped": format!("the pod's {} annotation hook runs instead", skipped.phase.as_str()),
        }),
    }
}
