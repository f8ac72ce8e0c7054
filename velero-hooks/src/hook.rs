//! Hooks as Velero will actually run them: defaults applied exactly as Velero applies
//! them (not as its docs describe them), and the keys each value came from.

use serde::Serialize;

use crate::command::{Command, parse_command};
use crate::duration::{GoDuration, NANOS_PER_SECOND, Nanos, parse_go_duration};
use crate::keys::{self, Family, Field};
use crate::pod::PodView;
use crate::version::BOUNDED_EXEC_TIMEOUTS;
use crate::version::VeleroVersion;

pub const DEFAULT_EXEC_TIMEOUT: Nanos = 30 * NANOS_PER_SECOND;
pub const NEWER_VELERO_TIMEOUT_CAP: Nanos = 4 * 3_600 * NANOS_PER_SECOND;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupPhase {
    Pre,
    Post,
}

impl BackupPhase {
    pub fn family(self) -> Family {
        match self {
            BackupPhase::Pre => Family::BackupPre,
            BackupPhase::Post => Family::BackupPost,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BackupPhase::Pre => "pre",
            BackupPhase::Post => "post",
        }
    }
}

/// Where a hook's fields were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum HookSource {
    /// `pre.`/`post.` prefixed annotation keys.
    Annotation,
    /// The un-prefixed `hook.backup.velero.io/*` keys.
    LegacyAnnotation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OnError {
    Fail,
    Continue,
}

impl OnError {
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::Fail => "Fail",
            OnError::Continue => "Continue",
        }
    }

    /// Velero keeps only the exact strings; anything else becomes "" which never fails.
    pub fn effective(raw: Option<&str>) -> Self {
        match raw {
            Some("Fail") => OnError::Fail,
            _ => OnError::Continue,
        }
    }
}

/// How long Velero lets a command (or a wait) run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    After(Nanos),
    Unlimited,
}

impl Limit {
    pub fn nanos(self) -> Option<Nanos> {
        match self {
            Limit::After(n) => Some(n),
            Limit::Unlimited => None,
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::After(n) => GoDuration(*n).fmt(f),
            Limit::Unlimited => f.write_str("none"),
        }
    }
}

/// The exec timeout Velero applies for a parsed value (`0` when absent or unparseable).
pub fn effective_exec_timeout(parsed: Nanos, version: VeleroVersion) -> Limit {
    let bounded = version.has(&BOUNDED_EXEC_TIMEOUTS);
    match parsed {
        0 => Limit::After(DEFAULT_EXEC_TIMEOUT),
        n if n < 0 && bounded => Limit::After(DEFAULT_EXEC_TIMEOUT),
        n if n < 0 => Limit::Unlimited,
        n if n > NEWER_VELERO_TIMEOUT_CAP && bounded => Limit::After(NEWER_VELERO_TIMEOUT_CAP),
        n => Limit::After(n),
    }
}

/// A duration annotation as written and as Velero reads it (`0` on a parse error).
fn parsed_or_zero(raw: Option<&str>) -> Nanos {
    match raw {
        None | Some("") => 0,
        Some(text) => parse_go_duration(text).unwrap_or(0),
    }
}

/// A backup exec hook as Velero will run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupHook {
    pub phase: BackupPhase,
    pub source: HookSource,
    /// The family whose keys the fields were read from.
    pub family: Family,
    pub container: Option<String>,
    /// The named container, or the pod's first container; `None` when the pod has none.
    pub effective_container: Option<String>,
    pub command_raw: String,
    pub command: Command,
    pub on_error_raw: Option<String>,
    pub on_error: OnError,
    pub timeout_raw: Option<String>,
    pub timeout: Limit,
}

/// A post-restore exec hook as Velero will run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreExecHook {
    pub container: Option<String>,
    pub effective_container: Option<String>,
    pub command_raw: String,
    pub command: Command,
    pub on_error_raw: Option<String>,
    pub on_error: OnError,
    pub exec_timeout_raw: Option<String>,
    pub exec_timeout: Limit,
    pub wait_timeout_raw: Option<String>,
    /// `0`, negative or unparseable: Velero waits without a limit.
    pub wait_timeout: Limit,
    pub wait_for_ready_raw: Option<String>,
    pub wait_for_ready: bool,
}

/// A restore init-container hook as Velero will inject it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitHook {
    pub image: String,
    /// `None`: Velero generates `velero-restore-init-<random>`.
    pub name: Option<String>,
    /// `None` when absent or empty (Velero's restore plugin panics on that).
    pub command: Option<Command>,
    pub command_raw: Option<String>,
}

/// Every annotation hook of one pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodHooks {
    // Boxed: most objects of a manifest stream have no hooks, and `validate` keeps every
    // object's report until it prints them; an empty set costs 32 bytes instead of 856.
    pub backup_pre: Option<Box<BackupHook>>,
    pub backup_post: Option<Box<BackupHook>>,
    pub restore_post: Option<Box<RestoreExecHook>>,
    pub restore_init: Option<Box<InitHook>>,
}

impl PodHooks {
    pub fn is_empty(&self) -> bool {
        self.backup_pre.is_none()
            && self.backup_post.is_none()
            && self.restore_post.is_none()
            && self.restore_init.is_none()
    }

    pub fn backup(&self) -> impl Iterator<Item = &BackupHook> {
        self.backup_pre
            .iter()
            .chain(self.backup_post.iter())
            .map(|hook| &**hook)
    }
}

fn field<'a>(pod: &PodView<'a>, family: Family, field: Field) -> Option<&'a str> {
    pod.annotation(keys::name(family, field))
}

/// A field's value the way Velero's annotation reader sees it: `""` is the same as absent.
fn non_empty<'a>(pod: &PodView<'a>, family: Family, f: Field) -> Option<&'a str> {
    field(pod, family, f).filter(|v| !v.is_empty())
}

/// The family Velero reads the pre phase from: `pre.` when its command is set, else legacy.
pub fn pre_family(pod: &PodView<'_>) -> Option<Family> {
    if non_empty(pod, Family::BackupPre, Field::Command).is_some() {
        Some(Family::BackupPre)
    } else if non_empty(pod, Family::BackupLegacy, Field::Command).is_some() {
        Some(Family::BackupLegacy)
    } else {
        None
    }
}

fn first_container(pod: &PodView<'_>) -> Option<String> {
    pod.containers.first().map(|c| (*c).to_owned())
}

fn backup_hook(
    pod: &PodView<'_>,
    phase: BackupPhase,
    family: Family,
    version: VeleroVersion,
) -> Option<BackupHook> {
    let command_raw = non_empty(pod, family, Field::Command)?;
    let container = non_empty(pod, family, Field::Container).map(str::to_owned);
    let on_error_raw = field(pod, family, Field::OnError).map(str::to_owned);
    let timeout_raw = field(pod, family, Field::Timeout).map(str::to_owned);
    Some(BackupHook {
        phase,
        source: if family == Family::BackupLegacy {
            HookSource::LegacyAnnotation
        } else {
            HookSource::Annotation
        },
        family,
        effective_container: container.clone().or_else(|| first_container(pod)),
        container,
        command_raw: command_raw.to_owned(),
        command: parse_command(command_raw),
        on_error: OnError::effective(on_error_raw.as_deref()),
        on_error_raw,
        timeout: effective_exec_timeout(parsed_or_zero(timeout_raw.as_deref()), version),
        timeout_raw,
    })
}

fn restore_exec_hook(pod: &PodView<'_>, version: VeleroVersion) -> Option<RestoreExecHook> {
    let family = Family::RestorePost;
    let command_raw = non_empty(pod, family, Field::Command)?;
    let container = non_empty(pod, family, Field::Container).map(str::to_owned);
    let on_error_raw = field(pod, family, Field::OnError).map(str::to_owned);
    let exec_timeout_raw = field(pod, family, Field::ExecTimeout).map(str::to_owned);
    let wait_timeout_raw = field(pod, family, Field::WaitTimeout).map(str::to_owned);
    let wait_for_ready_raw = field(pod, family, Field::WaitForReady).map(str::to_owned);
    let wait = parsed_or_zero(wait_timeout_raw.as_deref());
    Some(RestoreExecHook {
        effective_container: container.clone().or_else(|| first_container(pod)),
        container,
        command_raw: command_raw.to_owned(),
        command: parse_command(command_raw),
        on_error: OnError::effective(on_error_raw.as_deref()),
        on_error_raw,
        exec_timeout: effective_exec_timeout(parsed_or_zero(exec_timeout_raw.as_deref()), version),
        exec_timeout_raw,
        wait_timeout: if wait > 0 {
            Limit::After(wait)
        } else {
            Limit::Unlimited
        },
        wait_timeout_raw,
        wait_for_ready: wait_for_ready_raw
            .as_deref()
            .and_then(parse_go_bool)
            .unwrap_or(false),
        wait_for_ready_raw,
    })
}

fn init_hook(pod: &PodView<'_>) -> Option<InitHook> {
    let family = Family::RestoreInit;
    let image = non_empty(pod, family, Field::ContainerImage)?;
    let command_raw = non_empty(pod, family, Field::Command);
    Some(InitHook {
        image: image.to_owned(),
        name: non_empty(pod, family, Field::ContainerName).map(str::to_owned),
        command: command_raw.map(parse_command),
        command_raw: command_raw.map(str::to_owned),
    })
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Reads every annotation hook of a pod the way Velero does.
pub fn parse_hooks(pod: &PodView<'_>, version: VeleroVersion) -> PodHooks {
    PodHooks {
        backup_pre: pre_family(pod)
            .and_then(|family| backup_hook(pod, BackupPhase::Pre, family, version))
            .map(Box::new),
        backup_post: backup_hook(pod, BackupPhase::Post, Family::BackupPost, version).map(Box::new),
        restore_post: restore_exec_hook(pod, version).map(Box::new),
        restore_init: init_hook(pod).map(Box::new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::AnnotationValue;

    fn pod<'a>(annotations: &[(&'a str, &'a str)], containers: &[&'a str]) -> PodView<'a> {
        PodView {
            annotations: annotations
                .iter()
                .map(|(k, v)| (*k, AnnotationValue::Str(v)))
                .collect(),
            containers: containers.to_vec(),
            init_containers: Vec::new(),
        }
    }

    const S: Nanos = NANOS_PER_SECOND;

    #[test]
    fn effective_timeouts_per_release() {
        const V1_18: VeleroVersion = VeleroVersion::LATEST_RELEASE;
        const V1_19: VeleroVersion = VeleroVersion::MAIN;
        let cases = [
            (0, V1_18, Limit::After(30 * S)),
            (0, V1_19, Limit::After(30 * S)),
            (-S, V1_18, Limit::Unlimited),
            (-S, V1_19, Limit::After(30 * S)),
            (5 * 3_600 * S, V1_18, Limit::After(5 * 3_600 * S)),
            (5 * 3_600 * S, V1_19, Limit::After(4 * 3_600 * S)),
            (4 * 3_600 * S, V1_19, Limit::After(4 * 3_600 * S)),
            (45 * S, V1_18, Limit::After(45 * S)),
        ];
        for (parsed, version, expected) in cases {
            assert_eq!(
                effective_exec_timeout(parsed, version),
                expected,
                "{parsed} on {version:?}"
            );
        }
    }

    #[test]
    fn backup_hook_effective_values() {
        // (annotations, containers) -> (container, argv, on_error, timeout)
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            Option<(&'a str, &'a [&'a str], OnError, Limit)>,
        );
        let cases: &[Case] = &[
            (&[], None),
            (&[("pre.hook.backup.velero.io/command", "")], None),
            (
                &[("pre.hook.backup.velero.io/command", "/usr/bin/foo")],
                Some((
                    "app",
                    &["/usr/bin/foo"],
                    OnError::Continue,
                    Limit::After(30 * S),
                )),
            ),
            (
                &[
                    ("pre.hook.backup.velero.io/command", r#"["a","b"]"#),
                    ("pre.hook.backup.velero.io/on-error", "Fail"),
                    ("pre.hook.backup.velero.io/timeout", "5m3s"),
                    ("pre.hook.backup.velero.io/container", "sidecar"),
                ],
                Some(("sidecar", &["a", "b"], OnError::Fail, Limit::After(303 * S))),
            ),
            (
                &[
                    ("pre.hook.backup.velero.io/command", "/usr/bin/foo"),
                    ("pre.hook.backup.velero.io/on-error", "fail"),
                    ("pre.hook.backup.velero.io/timeout", "invalid"),
                ],
                Some((
                    "app",
                    &["/usr/bin/foo"],
                    OnError::Continue,
                    Limit::After(30 * S),
                )),
            ),
            (
                &[
                    ("pre.hook.backup.velero.io/command", "/usr/bin/foo"),
                    ("pre.hook.backup.velero.io/timeout", "0"),
                ],
                Some((
                    "app",
                    &["/usr/bin/foo"],
                    OnError::Continue,
                    Limit::After(30 * S),
                )),
            ),
            (
                &[
                    ("pre.hook.backup.velero.io/command", "/usr/bin/foo"),
                    ("pre.hook.backup.velero.io/timeout", "-5s"),
                ],
                Some((
                    "app",
                    &["/usr/bin/foo"],
                    OnError::Continue,
                    Limit::Unlimited,
                )),
            ),
            // Legacy keys: used only without a pre command, and then for every field.
            (
                &[
                    ("hook.backup.velero.io/command", "/bin/ls"),
                    ("hook.backup.velero.io/container", "c"),
                    ("pre.hook.backup.velero.io/container", "ignored"),
                    ("pre.hook.backup.velero.io/on-error", "Fail"),
                ],
                Some(("c", &["/bin/ls"], OnError::Continue, Limit::After(30 * S))),
            ),
            (
                &[
                    ("hook.backup.velero.io/command", "/bin/ls"),
                    ("pre.hook.backup.velero.io/command", "/bin/true"),
                    ("hook.backup.velero.io/on-error", "Fail"),
                ],
                Some((
                    "app",
                    &["/bin/true"],
                    OnError::Continue,
                    Limit::After(30 * S),
                )),
            ),
        ];
        for (annotations, expected) in cases {
            let view = pod(annotations, &["app", "sidecar"]);
            let hooks = parse_hooks(&view, VeleroVersion::LATEST_RELEASE);
            let got = hooks.backup_pre.map(|h| {
                (
                    h.effective_container.unwrap(),
                    h.command.argv,
                    h.on_error,
                    h.timeout,
                )
            });
            let expected = expected.map(|(c, argv, on_error, timeout)| {
                (
                    c.to_owned(),
                    argv.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    on_error,
                    timeout,
                )
            });
            assert_eq!(got, expected, "{annotations:?}");
        }
    }

    #[test]
    fn legacy_keys_never_make_a_post_hook() {
        let view = pod(&[("hook.backup.velero.io/command", "/bin/ls")], &["app"]);
        let hooks = parse_hooks(&view, VeleroVersion::LATEST_RELEASE);
        assert!(hooks.backup_post.is_none());
        assert_eq!(
            hooks.backup_pre.unwrap().source,
            HookSource::LegacyAnnotation
        );
    }

    #[test]
    fn restore_hooks_effective_values() {
        let view = pod(
            &[
                ("post.hook.restore.velero.io/command", r#"["a"]"#),
                ("post.hook.restore.velero.io/wait-timeout", "none"),
                ("post.hook.restore.velero.io/exec-timeout", "45s"),
                ("post.hook.restore.velero.io/wait-for-ready", "T"),
                ("init.hook.restore.velero.io/container-image", "busybox"),
            ],
            &["app"],
        );
        let hooks = parse_hooks(&view, VeleroVersion::LATEST_RELEASE);
        let exec = hooks.restore_post.unwrap();
        assert_eq!(exec.effective_container.as_deref(), Some("app"));
        assert_eq!(exec.wait_timeout, Limit::Unlimited);
        assert_eq!(exec.exec_timeout, Limit::After(45 * S));
        assert!(exec.wait_for_ready);
        let init = hooks.restore_init.unwrap();
        assert_eq!(init.image, "busybox");
        assert_eq!(init.command, None);
        assert_eq!(init.name, None);
    }

    #[test]
    fn parse_bool_matches_go() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(t), Some(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(f), Some(false));
        }
        for bad in ["yes", "on", "true ", "tRUE", ""] {
            assert_eq!(parse_go_bool(bad), None);
        }
    }
}
