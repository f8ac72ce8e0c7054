//! Backup (and Schedule) plans: which pods the backup takes in and the pre/post hooks it
//! runs on each, as Velero 1.18.2 does.
//!
//! Pods taken in (`pkg/backup/item_collector.go`, `pkg/backup/item_backupper.go`
//! `itemInclusionChecks`, `pkg/controller/backup_controller.go`):
//! 1. the resource filters take in `pods` (old `includedResources`/`excludedResources`, or
//!    `includedNamespaceScopedResources`/`excludedNamespaceScopedResources`);
//! 2. the namespace is included — namespaces labelled `velero.io/exclude-from-backup=true`
//!    are added to the exclusions by the controller, and wildcard patterns are expanded
//!    against the cluster's namespaces (1.18.0, PR #9255);
//! 3. `orLabelSelectors` (any) or else `labelSelector` match the pod's labels;
//! 4. the pod is not labelled `velero.io/exclude-from-backup=true` and not being deleted.
//!
//! Hooks per pod and phase (`internal/hook/item_hook_handler.go` `HandleHooks`): the
//! annotation hook (for pre: the `pre.` command, else the legacy one) is the only one run;
//! without it, every matching spec hook runs in `resources[]` order, then list order. A
//! spec hook matches when its namespaces, resources (must take in pods) and label selector
//! do (`ResourceHookSelector.applicableTo`).

use serde_json::Value;

use crate::hook::{
    BackupHook, BackupPhase, HookSource, OnError, effective_exec_timeout, parse_hooks,
};
use crate::keys::Family;
use crate::pod::PodView;
use crate::rules::check_pod;
use crate::version::{
    INCLUDED_NAMESPACES_LOOKED_UP, MISSING_INCLUDED_NAMESPACE_LOGGED, VeleroVersion,
};

use super::{
    HookOrigin, Inventory, LeftOut, ObjectPlan, Phase, PlannedHook, PodPlan, SkippedHook, labels,
    text,
};
use crate::spec::rules::{
    BACKUP_INCLUDES_EXCLUDED_NAMESPACE, BACKUP_NAMESPACE_MISSING, BACKUP_NAMESPACE_PATTERN_INVALID,
    BACKUP_NAMESPACE_PATTERN_REFUSED, at,
};
use crate::spec::scope::{
    NamespaceScope, backup_takes_in_pods, is_wildcard, resources_include_pods, selectors_match,
    should_include, takes_in_no_namespace,
};
use crate::spec::types::{BackupResourceHookSpec, BackupSpec};

/// `velero.io/exclude-from-backup` (`pkg/apis/velero/v1/labels_annotations.go`).
pub const EXCLUDE_FROM_BACKUP: &str = "velero.io/exclude-from-backup";

pub(super) fn plan(
    spec: &BackupSpec,
    base: &str,
    inventory: &Inventory,
    version: VeleroVersion,
    out: &mut ObjectPlan,
) {
    out.limits.push("pods pulled in through a PersistentVolumeClaim they share with a selected pod are backed up, with their hooks, without the Backup's label selector (pkg/itemblock/actions); they are not planned here");
    let included = spec.effective_included_namespaces();
    let mut excluded = spec.excluded_namespaces.clone();
    for namespace in inventory.namespaces() {
        let labelled = inventory
            .namespace_labels(&namespace)
            .and_then(|l| l.get(EXCLUDE_FROM_BACKUP))
            .is_some_and(|v| v == "true");
        if !labelled {
            continue;
        }
        // backup_controller.go adds labelled namespaces to the exclusions, then validates.
        if included.contains(&namespace) {
            out.refused = true;
            out.findings.push(at(&BACKUP_INCLUDES_EXCLUDED_NAMESPACE, format!("{base}.includedNamespaces"),
                format!("namespace {namespace} is labelled {EXCLUDE_FROM_BACKUP}=true, and Velero adds it to the exclusions: Invalid included/excluded namespace lists: excludes list cannot contain an item in the includes list: {namespace}"),
                "the backup ends FailedValidation", format!("remove {namespace} from includedNamespaces, or its label")));
        }
        excluded.push(namespace);
    }
    let namespaces = match NamespaceScope::new(included, excluded, &inventory.namespaces(), version)
    {
        Ok(scope) => scope,
        Err(error) => {
            // pkg/backup/backup.go: ExpandIncludesExcludes fails, the backup ends Failed.
            out.refused = true;
            if !out
                .findings
                .iter()
                .any(|f| f.code == BACKUP_NAMESPACE_PATTERN_INVALID.code)
            {
                out.findings.push(at(&BACKUP_NAMESPACE_PATTERN_INVALID, format!("{base}.includedNamespaces"), error.to_string(),
                    "the backup expands the namespace wildcards, cannot compile this pattern and ends Failed", "fix the pattern"));
            }
            return;
        }
    };
    if inventory.knows_every_namespace()
        && missing_namespaces(spec, base, &inventory.namespaces(), version, out)
    {
        return;
    }
    let no_namespace = takes_in_no_namespace(
        spec.included_namespaces.as_deref(),
        &spec.excluded_namespaces,
        version,
    );
    let pods_included = backup_takes_in_pods(spec);
    for pod in inventory.pods() {
        let namespace = text(pod, "/metadata/namespace").unwrap_or_default();
        let name = text(pod, "/metadata/name").unwrap_or_default();
        let pod_labels = labels(pod);
        let reason = if !pods_included {
            Some("the backup's resource filters leave pods out")
        } else if no_namespace {
            Some(
                "Velero 1.18.0 takes in no namespace: includedNamespaces is empty and excludedNamespaces has a wildcard",
            )
        } else if !namespaces.includes(namespace) {
            Some("its namespace is not included")
        } else if !selectors_match(
            spec.label_selector.as_ref(),
            spec.or_label_selectors.as_deref(),
            &pod_labels,
        ) {
            Some("the backup's label selector does not match it")
        } else if pod_labels
            .get(EXCLUDE_FROM_BACKUP)
            .is_some_and(|v| v == "true")
        {
            Some("it is labelled velero.io/exclude-from-backup=true")
        } else if pod
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|t| !t.is_null())
        {
            Some("it is being deleted")
        } else {
            None
        };
        match reason {
            Some(reason) => out.left_out.push(LeftOut {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                reason,
            }),
            None => {
                out.pods
                    .push(inventory.kept(plan_pod(pod, &spec.hooks.resources, base, version)))
            }
        }
    }
}

/// Whether a resource hook applies to a pod in `namespace` with `labels`.
pub(crate) fn applies(
    hook: &BackupResourceHookSpec,
    namespace: &str,
    pod_labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    should_include(
        &hook.included_namespaces,
        &hook.excluded_namespaces,
        namespace,
    ) && resources_include_pods(&hook.included_resources, &hook.excluded_resources)
        && hook
            .label_selector
            .as_ref()
            .is_none_or(|s| s.validate().is_ok() && s.matches(pod_labels))
}

/// The hooks Velero runs on one pod it backs up.
pub fn plan_pod(
    pod: &Value,
    resource_hooks: &[BackupResourceHookSpec],
    base: &str,
    version: VeleroVersion,
) -> PodPlan {
    let namespace = text(pod, "/metadata/namespace").unwrap_or_default();
    let pod_labels = labels(pod);
    let view = PodView::from_json(pod.get("metadata"), pod.get("spec"));
    let annotations = parse_hooks(&view, version);
    let mut plan = PodPlan {
        namespace: namespace.to_owned(),
        name: text(pod, "/metadata/name").unwrap_or_default().to_owned(),
        ..PodPlan::default()
    };
    for (phase, annotation) in [
        (Phase::Pre, &annotations.backup_pre),
        (Phase::Post, &annotations.backup_post),
    ] {
        for (r, hook) in resource_hooks
            .iter()
            .enumerate()
            .filter(|(_, h)| applies(h, namespace, &pod_labels))
        {
            let items = if phase == Phase::Pre {
                &hook.pre
            } else {
                &hook.post
            };
            for (index, exec) in items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| Some((i, item.exec.as_ref()?)))
            {
                let origin = HookOrigin::Spec {
                    name: hook.name().to_owned(),
                    resource: r,
                    index,
                };
                let container = Some(exec.container.clone()).filter(|c| !c.is_empty());
                if annotation.is_some() {
                    plan.skipped.push(SkippedHook {
                        phase,
                        origin,
                        container,
                        command: exec.command.clone(),
                    });
                    continue;
                }
                let parsed = match &exec.timeout {
                    Some(Value::String(t)) if !t.is_empty() => {
                        crate::duration::parse_go_duration(t).unwrap_or(0)
                    }
                    _ => 0,
                };
                let timeout = effective_exec_timeout(parsed, version);
                plan.hooks.push(PlannedHook {
                    phase,
                    origin,
                    effective_container: container
                        .clone()
                        .or_else(|| view.containers.first().map(|c| (*c).to_owned())),
                    container,
                    command: exec.command.clone(),
                    on_error: OnError::effective(exec.on_error.as_deref()),
                    timeout_nanos: timeout.nanos(),
                    timeout,
                    wait_timeout_nanos: None,
                    wait_for_ready: None,
                });
            }
        }
        if let Some(hook) = annotation {
            plan.hooks.push(from_annotation(hook));
        }
    }
    let phase = pod
        .get("status")
        .map(|status| status.get("phase").and_then(Value::as_str));
    // The pod's own annotation findings about backup hooks (restore keys do not run here).
    plan.findings = check_pod(&view, version)
        .findings
        .into_iter()
        .filter(|f| {
            [Family::BackupPre, Family::BackupPost, Family::BackupLegacy]
                .into_iter()
                .any(|fam| f.subject.is_annotation_of(fam))
        })
        .collect();
    plan.findings.extend(super::run_time::backup_findings(
        &plan, &view, phase, version, base,
    ));
    plan
}

fn from_annotation(hook: &BackupHook) -> PlannedHook {
    PlannedHook {
        phase: match hook.phase {
            BackupPhase::Pre => Phase::Pre,
            BackupPhase::Post => Phase::Post,
        },
        origin: match hook.source {
            HookSource::Annotation => HookOrigin::Annotation,
            HookSource::LegacyAnnotation => HookOrigin::LegacyAnnotation,
        },
        container: hook.container.clone(),
        effective_container: hook.effective_container.clone(),
        command: hook.command.argv.clone(),
        on_error: hook.on_error,
        timeout_nanos: hook.timeout.nanos(),
        timeout: hook.timeout,
        wait_timeout_nanos: None,
        wait_for_ready: None,
    }
}

/// Included namespaces (plain names) that the cluster does not have: Velero 1.12-1.13 take
/// nothing from them and say nothing; 1.14.0 fails validation (PR #7569); later releases
/// log an error, so the backup ends PartiallyFailed (PR #7998). `true` when Velero refuses
/// the backup for it.
fn missing_namespaces(
    spec: &BackupSpec,
    base: &str,
    existing: &[String],
    version: VeleroVersion,
    out: &mut ObjectPlan,
) -> bool {
    let mut refused = false;
    let written = spec.included_namespaces.as_deref().unwrap_or_default();
    for (i, name) in written.iter().enumerate() {
        if is_wildcard(name) || existing.contains(name) {
            continue;
        }
        let path = format!("{base}.includedNamespaces[{i}]");
        let fix = "fix the name, or create the namespace first";
        if !version.has(&INCLUDED_NAMESPACES_LOOKED_UP) {
            out.findings.push(at(
                &BACKUP_NAMESPACE_MISSING,
                path,
                format!("namespace `{name}` does not exist"),
                format!(
                    "Velero {version} takes nothing from it and says nothing ({} check)",
                    INCLUDED_NAMESPACES_LOOKED_UP.since()
                ),
                fix,
            ));
        } else if !version.has(&MISSING_INCLUDED_NAMESPACE_LOGGED) {
            out.refused = true;
            refused = true;
            out.findings.push(at(&BACKUP_NAMESPACE_PATTERN_REFUSED, path, format!("Invalid included/excluded namespace lists: namespaces \"{name}\" not found"),
                format!("the controller refuses it: the backup ends FailedValidation and nothing runs (Velero {version} looks up each included namespace, PR #{})", INCLUDED_NAMESPACES_LOOKED_UP.pr), fix));
        } else {
            out.findings.push(at(&BACKUP_NAMESPACE_MISSING, path, format!("namespace `{name}` does not exist"),
                format!("Velero {version} logs `fail to get the namespace {name} specified in backup.Spec.IncludedNamespaces` as an error: the backup ends PartiallyFailed (PR #{})", MISSING_INCLUDED_NAMESPACE_LOGGED.pr), fix));
        }
    }
    refused
}
