//! What Velero concludes when a hook fails, times out or never runs, release by release.
//! Rules and `kubectl hooks test` word their "what Velero does" with these, so a user on an
//! older Velero reads what their release does, and where newer ones differ.

use crate::hook::OnError;
use crate::spec::plan::Phase;
use crate::version::{
    BOUNDED_EXEC_TIMEOUTS, BOUNDED_FINALIZER_WAIT, HOOKS_PER_ITEM_BLOCK,
    RESTORE_HOOK_FAILURES_COUNTED, RESTORE_HOOKS_AWAITED_IN_FINALIZING, VeleroVersion,
};

/// A hook that ran and failed (non-zero exit, exec error, or timeout), with its on-error.
/// Backup: `HandleHooks` in `internal/hook/item_hook_handler.go` returns the error only for
/// Fail; `pkg/backup/item_backupper.go` then drops the item for a pre hook, and, before
/// item blocks, for a post hook too. Restore: `HandleHooks` in
/// `internal/hook/wait_exec_hook_handler.go` and `hooksWaitExecutor` in `pkg/restore`.
pub fn hook_failed(phase: Phase, on_error: OnError, version: VeleroVersion) -> String {
    match (phase, on_error) {
        (Phase::Pre, OnError::Fail) => "on-error Fail: the pod is not backed up (nor its file-system volume backups), no later hook of this pod runs, and Velero runs no post hook for it; the backup ends PartiallyFailed".to_owned(),
        (Phase::Post, OnError::Fail) if version.has(&HOOKS_PER_ITEM_BLOCK) => format!(
            "on-error Fail: later hooks of this pod do not run; the backup ends PartiallyFailed ({} also leaves the pod itself out of the backup)",
            HOOKS_PER_ITEM_BLOCK.before()
        ),
        (Phase::Post, OnError::Fail) => format!(
            "on-error Fail: later hooks of this pod do not run and the pod itself is left out of the backup; the backup ends PartiallyFailed ({} keep the pod)",
            HOOKS_PER_ITEM_BLOCK.since()
        ),
        (Phase::Pre | Phase::Post, OnError::Continue) => {
            "Velero logs the error and goes on: the backup ends PartiallyFailed".to_owned()
        }
        (Phase::Restore, OnError::Fail) => "on-error Fail: the pod's later restore hooks do not run, hooks still waiting for their containers in other pods are abandoned, and the restore ends PartiallyFailed".to_owned(),
        (Phase::Restore, OnError::Continue) if version.has(&RESTORE_HOOK_FAILURES_COUNTED) => format!(
            "the pod's later restore hooks still run, but hooks still waiting for their containers in other pods are abandoned, and the restore ends PartiallyFailed ({} only log a failing Continue hook)",
            RESTORE_HOOK_FAILURES_COUNTED.before()
        ),
        (Phase::Restore, OnError::Continue) => format!(
            "Velero only logs it: the restore ends Completed ({} make it PartiallyFailed)",
            RESTORE_HOOK_FAILURES_COUNTED.since()
        ),
    }
}

/// An exec that outlived its timeout (`pkg/podexec/pod_command_executor.go`): up to the
/// latest release the executor stops waiting but streams with `context.Background()`, so
/// its stream stays open and the command runs on; main cancels the stream.
pub fn exec_timed_out(after: &str, version: VeleroVersion) -> String {
    if version.has(&BOUNDED_EXEC_TIMEOUTS) {
        format!(
            "Velero {version} gives up after {after} and cancels its exec stream ({} leave the stream open and the command runs on to its end)",
            BOUNDED_EXEC_TIMEOUTS.before()
        )
    } else {
        format!(
            "Velero {version} gives up after {after} but leaves its exec stream open: the command runs on to its end ({} cancels the stream)",
            BOUNDED_EXEC_TIMEOUTS.since()
        )
    }
}

/// A restore exec hook that Velero counted but that never runs (its container never starts,
/// or it can never be recorded): the restore finalizer waits for every counted hook
/// (`WaitRestoreExecHook`, `pkg/controller/restore_finalizer_controller.go`); before the
/// finalizer took over, the restore waited for its hook goroutines while InProgress.
pub fn restore_hook_never_finishes(version: VeleroVersion) -> String {
    if !version.has(&RESTORE_HOOKS_AWAITED_IN_FINALIZING) {
        format!(
            "the restore stays InProgress for ever and holds up later restores ({} wait in Finalizing instead)",
            RESTORE_HOOKS_AWAITED_IN_FINALIZING.since()
        )
    } else if version.has(&BOUNDED_FINALIZER_WAIT) {
        format!(
            "the restore stays in Finalizing until the server's --resource-timeout (default 10m) and ends PartiallyFailed ({} waits for ever)",
            BOUNDED_FINALIZER_WAIT.before()
        )
    } else {
        format!(
            "the restore stays in Finalizing for ever and holds up later restores ({} gives up after --resource-timeout, default 10m)",
            BOUNDED_FINALIZER_WAIT.since()
        )
    }
}

/// A restore exec hook whose container the pod does not have: before the hook tracker,
/// `HandleHooks` discarded such hooks with a warning; since, they are counted first and
/// never recorded (Velero issue #9749).
pub fn restore_container_missing(version: VeleroVersion) -> String {
    if version.has(&RESTORE_HOOKS_AWAITED_IN_FINALIZING) {
        format!(
            "Velero counts the hook, then drops it: {} ({} drop it with a warning and go on)",
            restore_hook_never_finishes(version),
            RESTORE_HOOKS_AWAITED_IN_FINALIZING.before()
        )
    } else {
        format!(
            "Velero drops the hook with a warning in its log and the hook never runs ({} count it first, and the restore never finishes)",
            RESTORE_HOOKS_AWAITED_IN_FINALIZING.since()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> VeleroVersion {
        VeleroVersion::parse(text).unwrap()
    }

    #[test]
    fn a_failing_post_hook_drops_its_pod_before_item_blocks() {
        let old = hook_failed(Phase::Post, OnError::Fail, v("1.14.1"));
        assert!(
            old.contains("the pod itself is left out of the backup"),
            "{old}"
        );
        assert!(
            old.contains("Velero 1.15.0 and later (PR #8102) keep the pod"),
            "{old}"
        );
        let new = hook_failed(Phase::Post, OnError::Fail, v("1.15.0"));
        assert!(!new.contains("the pod itself is left out"), "{new}");
        assert!(new.contains("Velero 1.12.0-1.14.1 also leaves"), "{new}");
    }

    #[test]
    fn a_failing_continue_restore_hook_counts_only_since_1_13() {
        assert!(
            hook_failed(Phase::Restore, OnError::Continue, v("1.12.4"))
                .starts_with("Velero only logs it: the restore ends Completed")
        );
        assert!(
            hook_failed(Phase::Restore, OnError::Continue, v("1.13.0"))
                .contains("the restore ends PartiallyFailed")
        );
    }

    #[test]
    fn a_hook_that_never_runs_holds_the_restore_differently_by_release() {
        assert!(
            restore_hook_never_finishes(v("1.13.2"))
                .starts_with("the restore stays InProgress for ever")
        );
        assert!(
            restore_hook_never_finishes(v("1.18.2"))
                .starts_with("the restore stays in Finalizing for ever")
        );
        assert!(restore_hook_never_finishes(v("main")).contains("ends PartiallyFailed"));
        assert!(
            restore_container_missing(v("1.12.0"))
                .starts_with("Velero drops the hook with a warning")
        );
        assert!(restore_container_missing(v("1.14.0")).contains("Finalizing for ever"));
    }

    #[test]
    fn timeouts_leave_the_stream_open_until_main() {
        assert!(exec_timed_out("30s", v("1.16.0")).contains("leaves its exec stream open"));
        assert!(exec_timed_out("30s", v("main")).contains("cancels its exec stream"));
    }
}
