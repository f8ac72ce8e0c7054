//! The restore hook tracker of Velero 1.16.2-1.17.2 counts each spec exec hook under its
//! index in `postHooks` (`GroupRestoreExecHooks`, `internal/hook/item_hook_handler.go`) but
//! records it, once run, under its position among its container's hooks
//! (`HandleHooks`, `internal/hook/wait_exec_hook_handler.go`). A counted hook that is never
//! recorded holds the restore in Finalizing. Fixed in 1.18.0 (PR #9366).

use std::collections::{HashMap, HashSet};

use crate::keys::Field;
use crate::rules::Finding;
use crate::spec::rules::RESTORE_HOOK_NEVER_RECORDED;
use crate::version::{RESTORE_HOOK_INDEX_FIXED, VeleroVersion, has_restore_hook_index_bug};

use super::run_time::subject_of;
use super::{HookOrigin, PodPlan};

/// One exec hook as the tracker sees it: its container (`None`: the pod's first), and for a
/// spec hook its entry's name and its `postHooks` index (`None` for an annotation hook,
/// which still takes a position among its container's hooks).
pub(crate) type Tracked<'a> = (Option<&'a str>, Option<(&'a str, usize)>);

/// For each hook, in the order the executor runs them, `Some(position)` when the tracker
/// counts it but never records it: recorded under (container, name, position among the
/// container's hooks), counted under (container, name, index).
pub(crate) fn unrecorded(hooks: &[Tracked<'_>]) -> Vec<Option<usize>> {
    let mut recorded = HashSet::new();
    let mut position: HashMap<Option<&str>, usize> = HashMap::new();
    let mut positions = Vec::new();
    for &(container, spec) in hooks {
        let next = position.entry(container).or_default();
        positions.push(*next);
        if let Some((name, _)) = spec {
            recorded.insert((container, name, *next));
        }
        *next += 1;
    }
    hooks
        .iter()
        .zip(positions)
        .map(|(&(container, spec), at)| match spec {
            Some((name, index)) if !recorded.contains(&(container, name, index)) => Some(at),
            _ => None,
        })
        .collect()
}

/// The spec exec hooks of `plan` that `version` counts but never records.
pub(super) fn never_recorded(plan: &PodPlan, version: VeleroVersion) -> Vec<Finding> {
    if !has_restore_hook_index_bug(version) {
        return Vec::new();
    }
    let tracked: Vec<Tracked<'_>> = plan
        .hooks
        .iter()
        .map(|hook| {
            let spec = match &hook.origin {
                HookOrigin::Spec { name, index, .. } => Some((name.as_str(), *index)),
                _ => None,
            };
            (hook.effective_container.as_deref(), spec)
        })
        .collect();
    let mut out = Vec::new();
    for (hook, at) in plan.hooks.iter().zip(unrecorded(&tracked)) {
        let (Some(at), HookOrigin::Spec { index, .. }) = (at, &hook.origin) else {
            continue;
        };
        let container = hook.effective_container.as_deref();
        out.push(Finding::about(
            &RESTORE_HOOK_NEVER_RECORDED,
            subject_of(hook, "spec", "container", Field::Container),
            format!(
                "Velero {version} counts {} under its postHooks index {index}, but records it under its position {at} among the hooks of container `{}` in pod {}: the counted hook is never marked as run",
                hook.origin.describe(),
                container.unwrap_or_default(),
                plan.name
            ),
            crate::outcome::restore_hook_never_finishes(version),
            format!(
                "upgrade to {}, or give each container's exec hooks a resources[] entry of their own, first in its postHooks, with init hooks in another entry",
                RESTORE_HOOK_INDEX_FIXED.since()
            ),
        ));
    }
    out
}
