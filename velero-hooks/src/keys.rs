//! The catalogue of every annotation key Velero reads for hooks (and the few it declares
//! but never reads). One table serves parsing, "unknown key, did you mean" and the docs.

/// The hook families, each with its own key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `pre.hook.backup.velero.io/*`: exec hook before the pod is backed up.
    BackupPre,
    /// `post.hook.backup.velero.io/*`: exec hook after the pod is backed up.
    BackupPost,
    /// `hook.backup.velero.io/*`: the un-prefixed legacy spelling, read for the pre phase only.
    BackupLegacy,
    /// `init.hook.restore.velero.io/*`: an init container injected into the restored pod.
    RestoreInit,
    /// `post.hook.restore.velero.io/*`: exec hook once the restored pod runs.
    RestorePost,
}

impl Family {
    pub const ALL: [Family; 5] = [
        Family::BackupPre,
        Family::BackupPost,
        Family::BackupLegacy,
        Family::RestoreInit,
        Family::RestorePost,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Family::BackupPre => "pre.hook.backup.velero.io/",
            Family::BackupPost => "post.hook.backup.velero.io/",
            Family::BackupLegacy => "hook.backup.velero.io/",
            Family::RestoreInit => "init.hook.restore.velero.io/",
            Family::RestorePost => "post.hook.restore.velero.io/",
        }
    }
}

/// What a key configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Container,
    Command,
    OnError,
    /// Backup exec timeout (`timeout`).
    Timeout,
    /// Restore exec timeout (`exec-timeout`).
    ExecTimeout,
    WaitTimeout,
    WaitForReady,
    ContainerImage,
    ContainerName,
    /// `init.hook.restore.velero.io/timeout`: declared by Velero, never read.
    InitTimeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub family: Family,
    pub field: Field,
    /// False for keys Velero declares but never reads.
    pub read_by_velero: bool,
    pub summary: &'static str,
}

const fn key(name: &'static str, family: Family, field: Field, summary: &'static str) -> Key {
    Key {
        name,
        family,
        field,
        read_by_velero: true,
        summary,
    }
}

pub const KEYS: &[Key] = &[
    key(
        "pre.hook.backup.velero.io/container",
        Family::BackupPre,
        Field::Container,
        "container to run the pre-backup command in (default: the first container)",
    ),
    key(
        "pre.hook.backup.velero.io/command",
        Family::BackupPre,
        Field::Command,
        "pre-backup command, a JSON array of strings; turns the hook on",
    ),
    key(
        "pre.hook.backup.velero.io/on-error",
        Family::BackupPre,
        Field::OnError,
        "Fail or Continue (unset behaves like Continue)",
    ),
    key(
        "pre.hook.backup.velero.io/timeout",
        Family::BackupPre,
        Field::Timeout,
        "Go duration (default 30s)",
    ),
    key(
        "post.hook.backup.velero.io/container",
        Family::BackupPost,
        Field::Container,
        "container to run the post-backup command in (default: the first container)",
    ),
    key(
        "post.hook.backup.velero.io/command",
        Family::BackupPost,
        Field::Command,
        "post-backup command, a JSON array of strings; turns the hook on",
    ),
    key(
        "post.hook.backup.velero.io/on-error",
        Family::BackupPost,
        Field::OnError,
        "Fail or Continue (unset behaves like Continue)",
    ),
    key(
        "post.hook.backup.velero.io/timeout",
        Family::BackupPost,
        Field::Timeout,
        "Go duration (default 30s)",
    ),
    key(
        "hook.backup.velero.io/container",
        Family::BackupLegacy,
        Field::Container,
        "legacy pre-backup container",
    ),
    key(
        "hook.backup.velero.io/command",
        Family::BackupLegacy,
        Field::Command,
        "legacy pre-backup command, read only when no pre.hook.backup.velero.io/command is set",
    ),
    key(
        "hook.backup.velero.io/on-error",
        Family::BackupLegacy,
        Field::OnError,
        "legacy pre-backup on-error",
    ),
    key(
        "hook.backup.velero.io/timeout",
        Family::BackupLegacy,
        Field::Timeout,
        "legacy pre-backup timeout",
    ),
    key(
        "init.hook.restore.velero.io/container-image",
        Family::RestoreInit,
        Field::ContainerImage,
        "image of the init container injected at restore; turns the hook on",
    ),
    key(
        "init.hook.restore.velero.io/container-name",
        Family::RestoreInit,
        Field::ContainerName,
        "name of the injected init container (default velero-restore-init-<random>)",
    ),
    key(
        "init.hook.restore.velero.io/command",
        Family::RestoreInit,
        Field::Command,
        "command of the injected init container, a JSON array of strings",
    ),
    Key {
        name: "init.hook.restore.velero.io/timeout",
        family: Family::RestoreInit,
        field: Field::InitTimeout,
        read_by_velero: false,
        summary: "declared by Velero but never read",
    },
    key(
        "post.hook.restore.velero.io/container",
        Family::RestorePost,
        Field::Container,
        "container to run the post-restore command in (default: the first container)",
    ),
    key(
        "post.hook.restore.velero.io/command",
        Family::RestorePost,
        Field::Command,
        "post-restore command, a JSON array of strings; turns the hook on",
    ),
    key(
        "post.hook.restore.velero.io/on-error",
        Family::RestorePost,
        Field::OnError,
        "Fail or Continue (unset behaves like Continue)",
    ),
    key(
        "post.hook.restore.velero.io/exec-timeout",
        Family::RestorePost,
        Field::ExecTimeout,
        "Go duration for the command (default 30s)",
    ),
    key(
        "post.hook.restore.velero.io/wait-timeout",
        Family::RestorePost,
        Field::WaitTimeout,
        "Go duration to wait for the container to run (default: no limit)",
    ),
    key(
        "post.hook.restore.velero.io/wait-for-ready",
        Family::RestorePost,
        Field::WaitForReady,
        "wait for Ready instead of Running (Go strconv.ParseBool)",
    ),
];

/// The key Velero reads for `field` of `family`, if it has one.
pub fn key_for(family: Family, field: Field) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.family == family && k.field == field)
}

/// Name of the key for `field` of `family`; panics only on a combination absent from `KEYS`,
/// which is a programming error caught by the tests.
pub fn name(family: Family, field: Field) -> &'static str {
    match key_for(family, field) {
        Some(k) => k.name,
        None => panic!("no {field:?} key for {family:?}"),
    }
}

pub fn lookup(name: &str) -> Option<&'static Key> {
    index_of(name).map(|i| &KEYS[i])
}

/// Position of `name` in [`KEYS`].
pub fn index_of(name: &str) -> Option<usize> {
    KEYS.iter().position(|k| k.name == name)
}

/// Whether an annotation key looks like it was meant for a Velero hook, so that a key
/// Velero would silently ignore is reported: anything under a Velero hook domain, and
/// anything within a few typos of a real key.
pub fn looks_like_hook_key(name: &str) -> bool {
    if lookup(name).is_some() {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    if lower.contains("hook.backup.velero.io") || lower.contains("hook.restore.velero.io") {
        return true;
    }
    if lower.contains("velero.io/") && lower.contains("hook") {
        return true;
    }
    if is_ark_hook_key(name) {
        return true;
    }
    // Edit distances cost microseconds per key; most annotations (kubectl's, Prometheus',
    // Argo CD's) share no word with Velero's keys and are skipped cheaply. Three typos
    // cannot remove all of these words from a real key.
    let related = ["velero", "hook", "backup", "restore"]
        .iter()
        .any(|w| lower.contains(w));
    related && closest_key(name).is_some()
}

/// Heptio Ark's annotation domain, which Velero 1.0 stopped reading.
const ARK_DOMAIN: &str = ".ark.heptio.com/";

/// Whether `name` is a hook key under Heptio Ark's prefix (`pre.hook.backup.ark.heptio.com/...`).
pub fn is_ark_hook_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains(ARK_DOMAIN) && lower.contains("hook.")
}

/// The Velero key that replaces an Ark hook key: the same phase and field under
/// `velero.io`. Ark's un-prefixed `hook.backup.ark.heptio.com/*` becomes
/// `pre.hook.backup.velero.io/*` (Velero reads its own un-prefixed spelling as a
/// deprecated pre hook). `None` when the field has no Velero key.
pub fn ark_replacement(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let (prefix, field) = lower.split_once(ARK_DOMAIN)?;
    let prefix = if prefix == "hook.backup" {
        "pre.hook.backup"
    } else {
        prefix
    };
    let velero = format!("{prefix}.velero.io/{field}");
    match lookup(&velero) {
        Some(key) if key.read_by_velero => Some(key.name),
        _ => closest_key(&velero),
    }
}

/// How many typos a suggestion may correct.
const MAX_TYPOS: usize = 3;

/// The catalogued key nearest to `name` (case slips, a few typos, a wrong prefix).
pub fn closest_key(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    KEYS.iter()
        .filter(|k| k.read_by_velero)
        .filter_map(|k| Some((levenshtein_within(&lower, k.name, MAX_TYPOS)?, k.name)))
        .filter(|&(distance, _)| distance > 0 || name != lower)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, n)| n)
}

/// The Levenshtein distance of `a` and `b` when it is at most `max`, else `None`. Only the
/// diagonal band `|i - j| <= max` of the edit matrix can lie on a path that cheap, so only
/// it is computed, and the walk stops as soon as a whole row of the band costs more: about
/// 7 cells per character instead of strsim's full matrix (a pod with 47,000 misspelt keys
/// spent three quarters of its 2.6 s in full matrices). Checked against strsim in the tests.
pub(crate) fn levenshtein_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > max {
        return None;
    }
    let over = max + 1;
    // prev[j]: the distance of a[..i - 1] and b[..j]; cells outside the band hold `over`.
    let mut prev: Vec<usize> = (0..=m).map(|j| j.min(over)).collect();
    let mut cur = vec![over; m + 1];
    for i in 1..=n {
        let lo = i.saturating_sub(max);
        let hi = (i + max).min(m);
        // The cell left of the band still holds a value of two rows before.
        if lo == 0 {
            cur[0] = i;
        } else {
            cur[lo - 1] = over;
        }
        for j in lo.max(1)..=hi {
            let substitute = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = substitute.min(prev[j] + 1).min(cur[j - 1] + 1).min(over);
        }
        if cur[lo..=hi].iter().all(|&d| d > max) {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[m]).filter(|&d| d <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_field_pair_named_once() {
        for (i, a) in KEYS.iter().enumerate() {
            assert!(a.name.starts_with(a.family.prefix()), "{}", a.name);
            for b in &KEYS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert!(!(a.family == b.family && a.field == b.field), "{}", a.name);
            }
        }
        assert_eq!(KEYS.len(), 22);
    }

    #[test]
    fn the_banded_distance_agrees_with_strsim() {
        // Every pair of strings of up to 6 characters over a small alphabet (with a
        // multi-byte one), then keys against keys.
        let alphabet = ['a', 'b', 'é'];
        let mut words = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = words
                .iter()
                .filter(|w| w.chars().count() == words.last().unwrap().chars().count())
                .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
        }
        let words: Vec<&str> = words.iter().map(String::as_str).step_by(7).collect();
        let keys: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        let pairs = words
            .iter()
            .flat_map(|a| words.iter().map(move |b| (*a, *b)))
            .chain(keys.iter().flat_map(|a| keys.iter().map(move |b| (*a, *b))));
        for (a, b) in pairs {
            let full = strsim::levenshtein(a, b);
            for max in 0..4 {
                let expected = (full <= max).then_some(full);
                assert_eq!(levenshtein_within(a, b, max), expected, "{a:?} {b:?} {max}");
            }
        }
    }

    #[test]
    fn typos_find_their_key() {
        assert_eq!(
            closest_key("pre.hook.backup.velero.io/comand"),
            Some("pre.hook.backup.velero.io/command")
        );
        assert_eq!(
            closest_key("pre.hook.backup.velero.io/onError"),
            Some("pre.hook.backup.velero.io/on-error")
        );
        assert_eq!(
            closest_key("Pre.Hook.Backup.Velero.io/Command"),
            Some("pre.hook.backup.velero.io/command")
        );
        assert_eq!(closest_key("app.kubernetes.io/name"), None);
        assert!(looks_like_hook_key("pre.hook.backups.velero.io/command"));
        assert!(!looks_like_hook_key("backup.velero.io/backup-volumes"));
        assert!(!looks_like_hook_key(
            "kubectl.kubernetes.io/last-applied-configuration"
        ));
    }

    #[test]
    fn ark_keys_map_to_the_velero_key_of_the_same_phase_and_field() {
        for (ark, velero) in [
            (
                "pre.hook.backup.ark.heptio.com/command",
                Some("pre.hook.backup.velero.io/command"),
            ),
            (
                "post.hook.backup.ark.heptio.com/on-error",
                Some("post.hook.backup.velero.io/on-error"),
            ),
            (
                "hook.backup.ark.heptio.com/container",
                Some("pre.hook.backup.velero.io/container"),
            ),
            (
                "post.hook.restore.ark.heptio.com/wait-timeout",
                Some("post.hook.restore.velero.io/wait-timeout"),
            ),
            ("pre.hook.backup.ark.heptio.com/frobnicate", None),
        ] {
            assert!(looks_like_hook_key(ark), "{ark}");
            assert_eq!(ark_replacement(ark), velero, "{ark}");
        }
        assert!(!is_ark_hook_key("ark.heptio.com/restore-name"));
    }
}
