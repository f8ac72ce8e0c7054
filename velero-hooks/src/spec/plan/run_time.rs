//! What will go wrong when planned hooks run on a pod, seen from the pod: its phase, its
//! containers, and pre hooks that can drop it from the backup.

use crate::hook::OnError;
use crate::keys::{self, Family, Field};
use crate::pod::PodView;
use crate::rules::{Finding, Subject};
use crate::spec::rules::{
    POD_FINISHED, POD_NOT_RUNNING, POST_HOOK_FAIL, PRE_HOOK_FAIL, SPEC_CONTAINER_NOT_FOUND,
};
use crate::version::{
    FINISHED_PODS_SKIPPED, HOOKS_PER_ITEM_BLOCK, NATIVE_SIDECAR_HOOKS, VeleroVersion,
};

use super::{HookOrigin, Phase, PlannedHook, PodPlan};

/// Whether Velero can exec in `container` for a backup hook: regular containers; native
/// sidecars only after 1.18 (PR #9403, `pkg/podexec/pod_command_executor.go`).
pub fn container_runnable(pod: &PodView<'_>, container: &str, version: VeleroVersion) -> bool {
    pod.containers.contains(&container)
        || (version.has(&NATIVE_SIDECAR_HOOKS)
            && pod
                .init_containers
                .iter()
                .any(|c| c.sidecar && c.name == container))
}

/// The spec path of a planned spec hook's field, or the annotation key of an annotation hook.
pub(crate) fn subject_of(
    hook: &PlannedHook,
    base: &str,
    spec_field: &str,
    annotation_field: Field,
) -> Subject {
    match &hook.origin {
        HookOrigin::Spec {
            resource, index, ..
        } => {
            let item = match hook.phase {
                Phase::Pre => "pre",
                Phase::Post => "post",
                Phase::Restore => "postHooks",
            };
            Subject::Spec(format!(
                "{base}.hooks.resources[{resource}].{item}[{index}].exec.{spec_field}"
            ))
        }
        HookOrigin::LegacyAnnotation => {
            Subject::annotation(keys::name(Family::BackupLegacy, annotation_field))
        }
        HookOrigin::Annotation => Subject::annotation(keys::name(
            match hook.phase {
                Phase::Pre => Family::BackupPre,
                Phase::Post => Family::BackupPost,
                Phase::Restore => Family::RestorePost,
            },
            annotation_field,
        )),
    }
}

/// Backup hooks on this pod: `phase` is its `status.phase`
/// (`internal/hook/item_hook_handler.go`, `pkg/podexec/pod_command_executor.go`); `None` for
/// a pod from a manifest, which has no status (it is planned as the pod it will be).
pub(super) fn backup_findings(
    plan: &PodPlan,
    pod: &PodView<'_>,
    phase: Option<Option<&str>>,
    version: VeleroVersion,
    base: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if plan.hooks.is_empty() {
        return out;
    }
    match phase {
        None => {}
        Some(Some(p @ ("Succeeded" | "Failed"))) if version.has(&FINISHED_PODS_SKIPPED) => out.push(Finding::about(&POD_FINISHED, Subject::Pod("status.phase".into()), format!("the pod is {p}"),
            format!("Velero skips its {} hook(s) (`Pod entered phase {p} before some ... exec hooks ran`) and counts them as attempted ({} try to exec and fail)", plan.hooks.len(), FINISHED_PODS_SKIPPED.before()),
            "nothing to do if that is expected; otherwise back up while the pod runs")),
        Some(Some(p @ ("Succeeded" | "Failed"))) => out.push(Finding::about(&POD_NOT_RUNNING, Subject::Pod("status.phase".into()), format!("the pod is {p}"),
            format!("Velero {version} still tries its {} hook(s): the API server refuses exec in a completed pod, and each hook fails with its on-error ({} skip such pods)", plan.hooks.len(), FINISHED_PODS_SKIPPED.since()),
            "leave finished pods out of the backup's hooks (a labelSelector), or upgrade Velero")),
        Some(Some("Running")) => {}
        Some(other) => out.push(Finding::about(&POD_NOT_RUNNING, Subject::Pod("status.phase".into()), format!("the pod is {}", other.unwrap_or("in no phase yet")),
            "the exec fails (`unable to upgrade connection: container not found`) and the backup ends PartiallyFailed",
            "wait until the pod runs, or leave it out of the backup")),
    }
    for hook in plan
        .hooks
        .iter()
        .filter(|h| matches!(h.origin, HookOrigin::Spec { .. }))
    {
        if let Some(problem) = missing_container(
            hook,
            pod,
            |c| container_runnable(pod, c, version),
            &plan.name,
        ) {
            out.push(Finding::about(&SPEC_CONTAINER_NOT_FOUND, subject_of(hook, base, "container", Field::Container), problem.0,
                format!("the hook fails with `{}` and the backup ends PartiallyFailed", problem.1),
                "narrow the hook's labelSelector so it matches only pods with that container, or fix the name"));
        }
    }
    if let Some(hook) = plan.phase(Phase::Pre).find(|h| h.on_error == OnError::Fail) {
        out.push(Finding::about(&PRE_HOOK_FAIL, subject_of(hook, base, "onError", Field::OnError), format!("the pre hook {} has onError Fail", hook.origin.describe()),
            "if it fails, Velero leaves the pod (and its file-system volume backups) out of the backup and runs no post hooks, but still snapshots the pod's PVCs",
            "make sure the command cannot fail for a harmless reason, or use Continue"));
    }
    // An annotation post hook is checked with the pod's annotations (`rules::check_pod`).
    if let Some(hook) = plan
        .phase(Phase::Post)
        .find(|h| matches!(h.origin, HookOrigin::Spec { .. }))
    {
        crate::checks::check_post_hook_before_fs_backup(
            &subject_of(hook, base, "command", Field::Command),
            pod,
            version,
            &mut out,
        );
    }
    if !version.has(&HOOKS_PER_ITEM_BLOCK)
        && let Some(hook) = plan
            .phase(Phase::Post)
            .find(|h| h.on_error == OnError::Fail)
    {
        out.push(Finding::about(
            &POST_HOOK_FAIL,
            subject_of(hook, base, "onError", Field::OnError),
            format!("the post hook {} has onError Fail", hook.origin.describe()),
            crate::outcome::hook_failed(Phase::Post, OnError::Fail, version),
            "make sure the command cannot fail for a harmless reason, or use Continue",
        ));
    }
    out
}

/// `(problem, Velero's error)` when a spec hook's container is not one Velero can use.
pub(super) fn missing_container(
    hook: &PlannedHook,
    pod: &PodView<'_>,
    usable: impl Fn(&str) -> bool,
    pod_name: &str,
) -> Option<(String, String)> {
    match (&hook.container, &hook.effective_container) {
        (_, None) => Some((
            format!("pod {pod_name} has no containers"),
            "need at least 1 container".to_owned(),
        )),
        (Some(named), _) if !usable(named) => Some((
            format!(
                "{} names container `{named}`, which pod {pod_name} does not have (it has {})",
                hook.origin.describe(),
                pod.containers.join(", ")
            ),
            format!("no such container: \"{named}\""),
        )),
        _ => None,
    }
}
