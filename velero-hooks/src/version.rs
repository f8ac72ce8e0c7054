//! The Velero releases whose hook handling is predicted, and every change between them.
//!
//! Each difference between releases is one [`Change`] constant below, with the first release
//! that has it and the Velero pull request that made it. Rules ask `version.has(&CHANGE)`
//! and word their messages with [`Change::before`] and [`Change::since`], so a user who runs
//! an older Velero is told what their release does and where newer ones differ.

use std::fmt;

/// A Velero release (1.12.0 to the latest patch of 1.18), or `main`: the development line
/// after the latest release. Ordered by age, `main` last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VeleroVersion {
    Release { minor: u8, patch: u8 },
    Main,
}

/// The latest patch of each release line this build knows, oldest first (Velero's tags
/// `v1.12.0` … `v1.18.2`).
const RELEASE_LINES: [(u8, u8); 7] = [
    (12, 4),
    (13, 2),
    (14, 1),
    (15, 2),
    (16, 2),
    (17, 2),
    (18, 2),
];

impl VeleroVersion {
    pub const OLDEST: Self = Self::Release {
        minor: 12,
        patch: 0,
    };
    pub const LATEST_RELEASE: Self = Self::Release {
        minor: 18,
        patch: 2,
    };
    pub const MAIN: Self = Self::Main;

    const fn release(minor: u8, patch: u8) -> Self {
        Self::Release { minor, patch }
    }

    /// Reads `1.14`, `1.14.1`, `v1.14.1` or `main`. A release line without a patch means
    /// its latest patch. `1.19` is read as `main`, the line that will become 1.19.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text == "main" {
            return Some(Self::Main);
        }
        let (minor, patch) = split_release(text.strip_prefix('v').unwrap_or(text))?;
        if minor == 19 && patch.is_none() {
            return Some(Self::Main);
        }
        let latest = latest_patch(minor)?;
        match patch {
            None => Some(Self::release(minor, latest)),
            Some(patch) if patch <= latest => Some(Self::release(minor, patch)),
            Some(_) => None,
        }
    }

    /// The release predicted for a Velero image tag (`v1.14.1`, `1.15.2-debian-12-r3`,
    /// `v1.16.0-rc.1`, `main`). A patch newer than this build knows is predicted as the
    /// latest known patch of its line, a release line newer than 1.18 as `main`, a release
    /// older than 1.12 as 1.12.0 (the closest); `None` when the tag names no release
    /// (`latest`, a digest). [`Self::release_in_tag`] says what the tag named.
    pub fn from_image_tag(tag: &str) -> Option<Self> {
        if tag == "main" {
            return Some(Self::Main);
        }
        let text = tag.strip_prefix('v').unwrap_or(tag);
        let end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (minor, patch) = split_release(text[..end].trim_end_matches('.'))?;
        if minor > RELEASE_LINES[RELEASE_LINES.len() - 1].0 {
            return Some(Self::Main);
        }
        if minor < RELEASE_LINES[0].0 {
            return Some(Self::OLDEST);
        }
        let latest = latest_patch(minor)?;
        Some(Self::release(minor, patch.unwrap_or(latest).min(latest)))
    }

    /// The `1.MINOR.PATCH` an image tag names, when it names one: compared with
    /// [`Self::from_image_tag`], it tells when the prediction is only the closest release.
    pub fn release_in_tag(tag: &str) -> Option<&str> {
        let text = tag.strip_prefix('v').unwrap_or(tag);
        let end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let release = text[..end].trim_end_matches('.');
        (release.split('.').count() == 3 && split_release(release).is_some()).then_some(release)
    }

    /// Every release this build knows, oldest first, then `main`.
    pub fn all() -> impl Iterator<Item = Self> {
        RELEASE_LINES
            .iter()
            .flat_map(|&(minor, latest)| (0..=latest).map(move |patch| Self::release(minor, patch)))
            .chain([Self::Main])
    }

    /// Whether this release includes `change`.
    pub fn has(self, change: &Change) -> bool {
        self >= change.since
    }

    /// Whether this release has `since` but not yet `until`: the releases a behaviour that
    /// one change brought and a later one undid is found in.
    pub fn between(self, since: &Change, until: &Change) -> bool {
        self.has(since) && !self.has(until)
    }

    /// Every value `--velero-version` accepts, for help and error messages.
    pub fn accepted() -> String {
        let lines: Vec<String> = RELEASE_LINES
            .iter()
            .map(|&(minor, latest)| format!("1.{minor} (1.{minor}.0-1.{minor}.{latest})"))
            .collect();
        format!("{}, main (after 1.18)", lines.join(", "))
    }

    /// The release just before this one, for "Velero 1.12.0-1.17.2" ranges.
    fn previous(self) -> Option<Self> {
        match self {
            Self::Main => Some(Self::LATEST_RELEASE),
            Self::Release { patch: 0, minor } => {
                let previous_minor = minor.checked_sub(1)?;
                Some(Self::release(previous_minor, latest_patch(previous_minor)?))
            }
            Self::Release { minor, patch } => Some(Self::release(minor, patch - 1)),
        }
    }
}

impl Default for VeleroVersion {
    /// The latest release: what most clusters run.
    fn default() -> Self {
        Self::LATEST_RELEASE
    }
}

impl fmt::Display for VeleroVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Release { minor, patch } => write!(f, "1.{minor}.{patch}"),
            Self::Main => f.write_str("main"),
        }
    }
}

impl serde::Serialize for VeleroVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn split_release(text: &str) -> Option<(u8, Option<u8>)> {
    let mut parts = text.split('.');
    if parts.next()? != "1" {
        return None;
    }
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        None => None,
        Some(patch) => Some(patch.parse().ok()?),
    };
    parts.next().is_none().then_some((minor, patch))
}

fn latest_patch(minor: u8) -> Option<u8> {
    RELEASE_LINES
        .iter()
        .find(|&&(line, _)| line == minor)
        .map(|&(_, latest)| latest)
}

/// One change in how Velero handles hooks.
#[derive(Debug)]
pub struct Change {
    /// The first release that has it.
    pub since: VeleroVersion,
    /// The Velero pull request that made it.
    pub pr: u32,
    /// What changed, in a few words.
    pub what: &'static str,
}

impl Change {
    /// The releases without the change, as a user reads them: `Velero 1.12.0-1.17.2`.
    pub fn before(&self) -> String {
        match self.since.previous() {
            Some(last) if last == VeleroVersion::OLDEST => format!("Velero {last}"),
            Some(last) => format!("Velero {}-{last}", VeleroVersion::OLDEST),
            None => "no Velero release".to_owned(),
        }
    }

    /// The releases with the change: `Velero 1.18.0 and later`, or `Velero main`.
    pub fn since(&self) -> String {
        match self.since {
            VeleroVersion::Main => "the unreleased Velero main".to_owned(),
            since => format!("Velero {since} and later (PR #{})", self.pr),
        }
    }
}

/// A negative exec timeout means 30s instead of no limit, a timeout over 4h is cut to 4h,
/// and the exec stream is cancelled when the timeout passes
/// (`pkg/podexec/pod_command_executor.go`).
pub const BOUNDED_EXEC_TIMEOUTS: Change = Change {
    since: VeleroVersion::MAIN,
    pr: 10125,
    what: "negative exec timeouts mean 30s, timeouts over 4h are cut to 4h",
};

/// Backup exec hooks may target native sidecars: init containers with
/// `restartPolicy: Always` (`ensureContainerExists` in `pkg/podexec/pod_command_executor.go`).
pub const NATIVE_SIDECAR_HOOKS: Change = Change {
    since: VeleroVersion::MAIN,
    pr: 9403,
    what: "exec hooks may run in native sidecars",
};

/// The restore finalizer stops waiting for unfinished restore exec hooks after the server's
/// `--resource-timeout` (`pkg/controller/restore_finalizer_controller.go`).
pub const BOUNDED_FINALIZER_WAIT: Change = Change {
    since: VeleroVersion::MAIN,
    pr: 10280,
    what: "the restore finalizer's wait for hooks ends at --resource-timeout",
};

/// A backup whose BackupStorageLocation is not `Available` fails validation
/// (`BSLIsAvailable`, `prepareBackupRequest` in `pkg/controller/backup_controller.go`).
pub const STORAGE_LOCATION_AVAILABILITY_CHECKED: Change = Change {
    since: VeleroVersion::release(17, 0),
    pr: 8976,
    what: "a backup to an Unavailable storage location fails validation",
};

/// A post-restore exec hook may wait for its container to be ready (`waitForReady`,
/// `post.hook.restore.velero.io/wait-for-ready`); older releases read neither and the API
/// server prunes the spec field (`internal/hook/wait_exec_hook_handler.go`).
pub const WAIT_FOR_READY: Change = Change {
    since: VeleroVersion::release(13, 0),
    pr: 6918,
    what: "restore exec hooks may wait for the container to be ready",
};

/// Every failed restore exec hook is a restore error (the restore ends PartiallyFailed) and
/// cancels the hooks still waiting in other pods; before, only hooks with onError Fail
/// counted and a failing Continue hook was only logged (`HandleHooks` in
/// `internal/hook/wait_exec_hook_handler.go`).
pub const RESTORE_HOOK_FAILURES_COUNTED: Change = Change {
    since: VeleroVersion::release(13, 0),
    pr: 7022,
    what: "every failed restore exec hook makes the restore PartiallyFailed",
};

/// Restore exec hooks are counted when the pod is restored and awaited in the Finalizing
/// phase (`pkg/controller/restore_finalizer_controller.go`, the hook tracker); before, the
/// restore waited for them while InProgress and a hook it could not run was only logged.
pub const RESTORE_HOOKS_AWAITED_IN_FINALIZING: Change = Change {
    since: VeleroVersion::release(14, 0),
    pr: 7619,
    what: "restore exec hooks are tracked and awaited in Finalizing",
};

/// The Restore CRD no longer requires `spec.backupName`, so a restore from `scheduleName`
/// alone is accepted by the API server (`config/crd/v1/bases/velero.io_restores.yaml`).
pub const RESTORE_BACKUP_NAME_OPTIONAL: Change = Change {
    since: VeleroVersion::release(14, 0),
    pr: 7617,
    what: "a Restore may name only a scheduleName",
};

/// Backup hooks run per item block: a post hook failing with onError Fail no longer keeps
/// the pod out of the backup (`pkg/backup/backup.go`, `pkg/backup/item_backupper.go`).
pub const HOOKS_PER_ITEM_BLOCK: Change = Change {
    since: VeleroVersion::release(15, 0),
    pr: 8102,
    what: "backup hooks run per item block; a failing post hook keeps its pod in the backup",
};

/// Backup exec hooks on a pod that is Succeeded or Failed are skipped instead of attempted
/// (`ExecutePodCommand` in `pkg/podexec/pod_command_executor.go`).
pub const FINISHED_PODS_SKIPPED: Change = Change {
    since: VeleroVersion::release(13, 0),
    pr: 5211,
    what: "backup hooks skip pods that are Succeeded or Failed",
};

/// The restore hook tracker keys spec exec hooks by their index in `postHooks`, but the
/// executor records them by their position among the container's hooks
/// (`GroupRestoreExecHooks`, `wait_exec_hook_handler.go`); shipped in 1.16.2 as PR #9060,
/// the backport of PR #9048 (1.17.0).
pub const RESTORE_HOOK_INDEX_TRACKED: Change = Change {
    since: VeleroVersion::release(16, 2),
    pr: 9060,
    what: "restore exec hooks are tracked by their postHooks index",
};

/// The executor records each restore exec hook by its own `postHooks` index, so every
/// tracked hook can finish (`wait_exec_hook_handler.go`, `hook.hookIndex`).
pub const RESTORE_HOOK_INDEX_FIXED: Change = Change {
    since: VeleroVersion::release(18, 0),
    pr: 9366,
    what: "restore exec hooks are recorded under their postHooks index",
};

/// Backup namespace lists accept `?` and `[...]` and are expanded against the cluster's
/// namespaces; before, the controller replaced only `*` before checking each entry as a
/// namespace name (`validateNamespaceName` in `pkg/util/collections/includes_excludes.go`,
/// `pkg/util/wildcard/expand.go`; PR #9255 and PR #9502).
pub const NAMESPACE_WILDCARDS: Change = Change {
    since: VeleroVersion::release(18, 0),
    pr: 9502,
    what: "backup namespace lists take `?` and `[...]` and are expanded",
};

/// Each entry of a Backup's `includedNamespaces` other than `*` is looked up as a namespace
/// name; a pattern such as `shop-*` is not one. PR #7569 (1.14.0) made a failed lookup a
/// validation error (`validateNamespaceIncludesExcludes` in
/// `pkg/controller/backup_controller.go`); PR #7998 (1.14.1) made it an error in the
/// backup log (`collectNamespaces` in `pkg/backup/item_collector.go`); PR #9255 (1.18.0)
/// looks up the names the wildcards expand to instead.
pub const INCLUDED_NAMESPACES_LOOKED_UP: Change = Change {
    since: VeleroVersion::release(14, 0),
    pr: 7569,
    what: "each included namespace must exist: the backup fails validation",
};

/// See [`INCLUDED_NAMESPACES_LOOKED_UP`].
pub const MISSING_INCLUDED_NAMESPACE_LOGGED: Change = Change {
    since: VeleroVersion::release(14, 1),
    pr: 7998,
    what: "a missing included namespace is an error in the backup log: PartiallyFailed",
};

/// An empty `includedNamespaces` is not expanded with the wildcards of
/// `excludedNamespaces`: it means every namespace again (`ShouldExpandWildcards` in
/// `pkg/util/wildcard/expand.go`, `prepareBackupRequest` in
/// `pkg/controller/backup_controller.go`; PR #9684, released by PR #9743). In 1.18.0 it was
/// expanded to no namespace at all.
pub const EMPTY_INCLUDES_MEAN_ALL_AGAIN: Change = Change {
    since: VeleroVersion::release(18, 1),
    pr: 9743,
    what: "an empty includedNamespaces means every namespace even with wildcard excludes",
};

/// `includedNamespaces: ["*"]` no longer stops the expansion: with a wildcard in
/// `excludedNamespaces`, `*` is expanded against the cluster's namespaces like any pattern
/// (the `*` special case left `ShouldExpandWildcards`, `pkg/util/wildcard/expand.go`). Only
/// on the 1.18 branch: [`STAR_INCLUDES_NOT_EXPANDED_AGAIN`] put it back, main never lost it.
pub const STAR_INCLUDES_EXPANDED: Change = Change {
    since: VeleroVersion::release(18, 1),
    pr: 9587,
    what: "`includedNamespaces: [\"*\"]` is expanded with wildcard exclusions",
};

/// `*` alone in `includedNamespaces` means "every namespace" again without expansion
/// (`ShouldExpandWildcards`, `pkg/util/wildcard/expand.go`), undoing
/// [`STAR_INCLUDES_EXPANDED`].
pub const STAR_INCLUDES_NOT_EXPANDED_AGAIN: Change = Change {
    since: VeleroVersion::release(18, 2),
    pr: 9870,
    what: "`includedNamespaces: [\"*\"]` is not expanded",
};

/// A Restore's namespace patterns are not expanded: `ShouldExpandWildcards(.., fromBackup:
/// false)` in `pkg/restore/restore.go`. Made on the 1.18 branch only, by the same pull
/// request as [`STAR_INCLUDES_EXPANDED`]; main never got it, so main expands them as 1.18.0
/// did. See [`restore_expands_namespace_patterns`].
pub const RESTORE_PATTERNS_NOT_EXPANDED: Change = Change {
    since: VeleroVersion::release(18, 1),
    pr: 9587,
    what: "a Restore's namespace patterns are matched, not expanded",
};

/// Whether `version` expands a Restore's namespace patterns against the backup's namespaces
/// (`expandNamespaceWildcards`, `pkg/restore/restore.go`): 1.18.0 (PR #9255) and main.
pub fn restore_expands_namespace_patterns(version: VeleroVersion) -> bool {
    version.has(&NAMESPACE_WILDCARDS)
        && (!version.has(&RESTORE_PATTERNS_NOT_EXPANDED) || version == VeleroVersion::MAIN)
}

/// Whether `version` takes in no namespace when `includedNamespaces` is empty and
/// `excludedNamespaces` has a wildcard: since [`NAMESPACE_WILDCARDS`] and before
/// [`EMPTY_INCLUDES_MEAN_ALL_AGAIN`] (1.18.0 alone).
pub fn empty_includes_expand_to_nothing(version: VeleroVersion) -> bool {
    version.between(&NAMESPACE_WILDCARDS, &EMPTY_INCLUDES_MEAN_ALL_AGAIN)
}

/// File-system backups (PodVolumeBackups) run in the background: the pod's item returns
/// as soon as they are started, and its post hooks run then, before they finish
/// (`BackupPodVolumes` no longer waits, `pkg/podvolume/backupper.go`; post hooks in
/// `pkg/backup/item_backupper.go`, later `pkg/backup/backup.go`).
pub const FS_BACKUPS_IN_BACKGROUND: Change = Change {
    since: VeleroVersion::release(14, 0),
    pr: 7571,
    what: "file-system backups run in the background, post hooks do not wait for them",
};

/// Post hooks wait until the pod's PodVolumeBackups are Completed or Failed
/// (`waitUntilPVBsProcessed` in `pkg/backup/backup.go`; Velero issue #8159). Made by PR
/// #8509 for 1.16.0 and shipped first in 1.15.1 by its backport, PR #8517.
pub const POST_HOOKS_WAIT_FOR_FS_BACKUPS: Change = Change {
    since: VeleroVersion::release(15, 1),
    pr: 8517,
    what: "backup post hooks wait for the pod's file-system backups",
};

/// Whether `version` runs a pod's post hooks before its file-system backups finish: since
/// [`FS_BACKUPS_IN_BACKGROUND`] and before [`POST_HOOKS_WAIT_FOR_FS_BACKUPS`].
pub fn post_hooks_race_fs_backups(version: VeleroVersion) -> bool {
    version.between(&FS_BACKUPS_IN_BACKGROUND, &POST_HOOKS_WAIT_FOR_FS_BACKUPS)
}

/// Whether `version` has the restore hook index mismatch: since
/// [`RESTORE_HOOK_INDEX_TRACKED`] and before [`RESTORE_HOOK_INDEX_FIXED`].
pub fn has_restore_hook_index_bug(version: VeleroVersion) -> bool {
    version.between(&RESTORE_HOOK_INDEX_TRACKED, &RESTORE_HOOK_INDEX_FIXED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_release_from_1_12_and_main() {
        assert_eq!(
            VeleroVersion::parse("1.12"),
            Some(VeleroVersion::release(12, 4))
        );
        assert_eq!(
            VeleroVersion::parse("v1.14.0"),
            Some(VeleroVersion::release(14, 0))
        );
        assert_eq!(
            VeleroVersion::parse("1.18"),
            Some(VeleroVersion::LATEST_RELEASE)
        );
        assert_eq!(VeleroVersion::parse("main"), Some(VeleroVersion::Main));
        assert_eq!(VeleroVersion::parse("1.19"), Some(VeleroVersion::Main));
        for refused in [
            "1.11", "1.11.3", "1.18.3", "2.0", "1", "1.x", "1.14.1.1", "", "latest",
        ] {
            assert_eq!(VeleroVersion::parse(refused), None, "{refused}");
        }
    }

    #[test]
    fn image_tags_name_their_release() {
        let tag = VeleroVersion::from_image_tag;
        assert_eq!(tag("v1.14.1"), Some(VeleroVersion::release(14, 1)));
        assert_eq!(
            tag("1.15.2-debian-12-r3"),
            Some(VeleroVersion::release(15, 2))
        );
        assert_eq!(tag("v1.16.0-rc.1"), Some(VeleroVersion::release(16, 0)));
        assert_eq!(tag("v1.18.7"), Some(VeleroVersion::LATEST_RELEASE));
        assert_eq!(tag("v1.20.0"), Some(VeleroVersion::Main));
        assert_eq!(tag("v1.17"), Some(VeleroVersion::release(17, 2)));
        assert_eq!(tag("main"), Some(VeleroVersion::Main));
        assert_eq!(tag("v1.11.1"), Some(VeleroVersion::OLDEST));
        assert_eq!(
            VeleroVersion::release_in_tag("v1.18.9-rc.1"),
            Some("1.18.9")
        );
        assert_eq!(VeleroVersion::release_in_tag("v1.17"), None);
        for unknown in ["latest", "sha256", ""] {
            assert_eq!(tag(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn ordered_by_age_with_main_last() {
        let versions: Vec<_> = ["1.12.0", "1.12.4", "1.13.0", "1.18.2", "main"]
            .iter()
            .map(|v| VeleroVersion::parse(v).unwrap())
            .collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn changes_name_the_releases_on_each_side() {
        assert_eq!(BOUNDED_EXEC_TIMEOUTS.before(), "Velero 1.12.0-1.18.2");
        assert_eq!(BOUNDED_EXEC_TIMEOUTS.since(), "the unreleased Velero main");
        let in_1_15 = Change {
            since: VeleroVersion::release(15, 0),
            pr: 1,
            what: "",
        };
        assert_eq!(in_1_15.before(), "Velero 1.12.0-1.14.1");
        assert_eq!(in_1_15.since(), "Velero 1.15.0 and later (PR #1)");
        assert!(VeleroVersion::release(15, 0).has(&in_1_15));
        assert!(!VeleroVersion::release(14, 1).has(&in_1_15));
    }

    #[test]
    fn the_restore_hook_index_bug_spans_1_16_2_to_1_17_2() {
        let with_bug: Vec<String> = VeleroVersion::all()
            .filter(|v| has_restore_hook_index_bug(*v))
            .map(|v| v.to_string())
            .collect();
        assert_eq!(with_bug, ["1.16.2", "1.17.0", "1.17.1", "1.17.2"]);
    }

    #[test]
    fn accepted_values_list_every_line() {
        let accepted = VeleroVersion::accepted();
        assert!(accepted.starts_with("1.12 (1.12.0-1.12.4), 1.13 (1.13.0-1.13.2)"));
        assert!(accepted.ends_with("1.18 (1.18.0-1.18.2), main (after 1.18)"));
    }
}
