//! One check per Velero fact about a hook's values, shared by both places hooks come from:
//! pod annotations and the `spec.hooks` of Backups, Schedules and Restores. Where the two
//! sources reach Velero differently (an annotation is a free string Velero parses at run
//! time; a spec field is typed by the CRD and decoded by the API server and Velero's client)
//! the [`Source`] decides what Velero does and which code says so.

use crate::command::{
    Command, CommandForm, JsonBreak, explain_json_break, shell_without_script, split_unambiguously,
    to_json_array,
};
use crate::duration::{GoDuration, parse_go_duration};
use crate::pod::PodView;
use crate::rules::*;
use crate::spec::rules::*;
use crate::version::{
    BOUNDED_EXEC_TIMEOUTS, FS_BACKUPS_IN_BACKGROUND, HOOKS_PER_ITEM_BLOCK,
    POST_HOOKS_WAIT_FOR_FS_BACKUPS, VeleroVersion, WAIT_FOR_READY, post_hooks_race_fs_backups,
};

/// The pod annotation that opts volumes into file-system backup, a comma-separated list of
/// volume names (`VolumesToBackupAnnotation`, read by `GetVolumesToBackup` in
/// `pkg/util/podvolume/pod_volume.go`).
pub const VOLUMES_TO_BACKUP: &str = "backup.velero.io/backup-volumes";

/// Where a hook value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A pod annotation: a string Velero parses when the hook runs.
    Annotation,
    /// A Backup, Schedule or Restore field: typed by the CRD (`config/crd/v1/bases/velero.io_*.yaml`).
    Spec,
}

fn finding(
    rule: &Rule,
    subject: &Subject,
    problem: impl Into<String>,
    velero_does: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding::about(rule, subject.clone(), problem, velero_does, fix)
}

/// A `command` annotation: how Velero reads the string (`parseStringToCommand`), then the
/// argv it gets, checked like a spec hook's.
pub fn check_exec_command(
    subject: &Subject,
    raw: &str,
    command: &Command,
    findings: &mut Vec<Finding>,
) {
    if let Some(finding) = command_shape_finding(subject, raw, command) {
        findings.push(finding);
        return;
    }
    if command.form == CommandForm::JsonArray && command.argv.len() == 1 {
        check_argv(subject, &command.argv, Source::Annotation, findings);
    } else if command.form == CommandForm::JsonArray && command.argv.is_empty() {
        check_argv(subject, &[], Source::Annotation, findings);
    } else {
        check_argv_elements(subject, command, findings);
    }
}

/// Findings that apply to every command key: malformed JSON and unsplit plain strings.
pub(crate) fn command_shape_finding(
    subject: &Subject,
    raw: &str,
    command: &Command,
) -> Option<Finding> {
    // Built only when there is a finding: most commands are fine.
    let velero_runs = || {
        format!(
            "Velero runs the whole value as one program named `{}`, which fails",
            abbreviate(raw)
        )
    };
    match &command.form {
        CommandForm::MalformedJson { reason } => {
            let explained = explain_json_break(raw);
            let problem = match &explained {
                Some(b) => format!("not a JSON array of strings: {}", b.problem),
                None => format!("not a JSON array of strings ({reason})"),
            };
            Some(finding(
                &COMMAND_NOT_JSON_ARRAY,
                subject,
                problem,
                velero_runs(),
                json_fix(explained.as_ref()),
            ))
        }
        // `"/bin/sh", "-c", "x"]`: meant as an array, but only `[` makes Velero decode JSON.
        CommandForm::Plain if let Some(b) = explain_json_break(raw) => Some(finding(
            &COMMAND_NOT_JSON_ARRAY,
            subject,
            format!("not a JSON array of strings: {}", b.problem),
            velero_runs(),
            json_fix(Some(&b)),
        )),
        CommandForm::Plain if raw.trim_start().starts_with('[') => Some(finding(
            &COMMAND_NOT_JSON_ARRAY,
            subject,
            "whitespace before `[`: Velero only decodes JSON when `[` is the first character",
            velero_runs(),
            format!("remove the leading whitespace: {}", raw.trim_start()),
        )),
        CommandForm::Plain if raw == "null" => Some(finding(
            &COMMAND_NOT_JSON_ARRAY,
            subject,
            "`null` is not a JSON array",
            velero_runs(),
            "write the command as a JSON array of strings",
        )),
        CommandForm::Plain if raw.trim().is_empty() => Some(finding(
            &COMMAND_EMPTY_PROGRAM,
            subject,
            "the command is only whitespace",
            velero_runs(),
            "write the command as a JSON array of strings",
        )),
        CommandForm::Plain if raw.chars().any(char::is_whitespace) => {
            let fix = match split_unambiguously(raw) {
                Some(words) => format!("write it as {}", to_json_array(&words)),
                None => format!(
                    "write it as a JSON array, e.g. {}",
                    to_json_array(&["/bin/sh".into(), "-c".into(), raw.trim().into()])
                ),
            };
            Some(finding(
                &COMMAND_PLAIN_WITH_SPACES,
                subject,
                "a plain string with whitespace is not split into arguments",
                velero_runs(),
                fix,
            ))
        }
        _ => None,
    }
}

/// The repaired array when the repair is certain, else what to write.
fn json_fix(explained: Option<&JsonBreak>) -> String {
    match explained.and_then(|b| b.corrected.as_deref()) {
        Some(corrected) => format!("write it as {corrected}"),
        None => r#"write a JSON array of strings, e.g. ["/bin/sh","-c","..."]"#.to_owned(),
    }
}

/// The argv as Velero will exec it, whatever its source: an empty list, an empty program,
/// one element holding a whole command line, empty arguments.
pub fn check_argv(subject: &Subject, argv: &[String], source: Source, findings: &mut Vec<Finding>) {
    match argv {
        [] => findings.push(match source {
            Source::Annotation => finding(
                &COMMAND_EMPTY_ARRAY,
                subject,
                "the command is an empty array",
                "the hook still exists and fails with `command is required`",
                r#"give the program and its arguments, e.g. ["/sbin/fsfreeze","--freeze","/data"]"#,
            ),
            // CRD: `command` has `minItems: 1`.
            Source::Spec => finding(
                &SPEC_COMMAND_EMPTY,
                subject,
                "the command is empty",
                format!("the API server rejects the object: `{}: Invalid value: 0: {} in body should have at least 1 items`", subject.text(), subject.text()),
                r#"list the program and its arguments, e.g. ["/sbin/fsfreeze", "--freeze", "/data"]"#,
            ),
        }),
        [only] if only.contains(char::is_whitespace) && !only.trim().is_empty() => {
            let fix = match split_unambiguously(only) {
                Some(words) => format!("split it into elements: {}", to_json_array(&words)),
                None => format!(
                    "split it into elements, or run a shell: {}",
                    to_json_array(&["/bin/sh".into(), "-c".into(), only.trim().into()])
                ),
            };
            findings.push(finding(
                match source {
                    Source::Annotation => &COMMAND_PLAIN_WITH_SPACES,
                    Source::Spec => &SPEC_COMMAND_ONE_STRING,
                },
                subject,
                format!("`{}` is one element", abbreviate(only)),
                "Velero execs it as one program name, with no shell: the hook fails (exit code 126/127 or `executable file not found`)",
                fix,
            ));
        }
        _ => {
            let command = Command {
                argv: argv.to_vec(),
                form: CommandForm::JsonArray,
                null_elements: Vec::new(),
            };
            check_argv_elements(subject, &command, findings);
        }
    }
}

pub(crate) fn check_argv_elements(
    subject: &Subject,
    command: &Command,
    findings: &mut Vec<Finding>,
) {
    if command.argv.first().is_some_and(String::is_empty) {
        findings.push(finding(
            &COMMAND_EMPTY_PROGRAM,
            subject,
            "the program name (first element) is empty or null",
            "the exec fails in the container runtime",
            "put the program's path first",
        ));
        return;
    }
    if let Some(i) = command
        .argv
        .iter()
        .skip(1)
        .position(String::is_empty)
        .map(|i| i + 1)
    {
        let what = if command.null_elements.contains(&i) {
            "null"
        } else {
            "empty"
        };
        findings.push(finding(
            &COMMAND_EMPTY_ARGUMENT,
            subject,
            format!("element {i} is {what}"),
            "Velero passes an empty string argument to the program",
            "remove the element or give it a value",
        ));
    }
    if shell_without_script(&command.argv) {
        findings.push(shell_without_script_finding(subject, &command.argv));
    }
}

/// HV006, for an exec hook's or an init container's command.
pub(crate) fn shell_without_script_finding(subject: &Subject, argv: &[String]) -> Finding {
    let mut fixed = argv.to_vec();
    fixed.push("...".to_owned());
    finding(
        &COMMAND_SHELL_WITHOUT_SCRIPT,
        subject,
        format!(
            "`{}` ends the command: the shell gets no command string",
            abbreviate(&argv.join(" "))
        ),
        "the shell stops at once (`-c: option requires an argument`, exit status 2) and runs nothing: an exec hook fails every time, an init container keeps the restored pod from starting",
        format!(
            "put the command line to run as the next element: {}",
            to_json_array(&fixed)
        ),
    )
}

/// The value as a reader should see it: control characters made visible, long values cut.
pub fn abbreviate(raw: &str) -> String {
    let visible: String = raw
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if visible.chars().count() > 60 {
        let head: String = visible.chars().take(57).collect();
        format!("{head}...")
    } else {
        visible
    }
}

/// Which hook an on-error belongs to: what Fail would change, and so what an unset one
/// costs, depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnErrorOf {
    BackupPre,
    BackupPost(VeleroVersion),
    /// Restore hooks: unset is not reported (Velero's restore docs default it to Continue).
    Restore,
}

impl OnErrorOf {
    /// The fix for an unset on-error: what Fail would do instead (`HandleHooks` in
    /// internal/hook/item_hook_handler.go stops the pod's later hooks; `pkg/backup/backup.go`
    /// decides what happens to the pod). Built only when reported.
    fn unset_fix(self) -> String {
        match self {
            OnErrorOf::BackupPre => {
                "set Fail to keep the pod out of the backup when the command fails, or Continue to say so explicitly".to_owned()
            }
            OnErrorOf::BackupPost(version) if version.has(&HOOKS_PER_ITEM_BLOCK) => {
                "set Fail to skip the pod's later post hooks when the command fails (the pod is backed up either way), or Continue to say so explicitly".to_owned()
            }
            OnErrorOf::BackupPost(_) => format!(
                "set Fail to keep the pod out of the backup when the command fails ({}; {} back the pod up either way), or Continue to say so explicitly",
                HOOKS_PER_ITEM_BLOCK.before(),
                HOOKS_PER_ITEM_BLOCK.since()
            ),
            OnErrorOf::Restore => String::new(),
        }
    }
}

/// `onError`: only the exact `Fail` stops anything (`internal/hook/item_hook_handler.go`
/// compares the original field with `HookErrorModeFail`; PR #4661 made the default a copy).
/// Unset is reported for backup hooks only (Velero's docs promise Fail there, Continue for
/// restores).
pub fn check_on_error(
    subject: &Subject,
    raw: Option<&str>,
    source: Source,
    of: OnErrorOf,
    findings: &mut Vec<Finding>,
) {
    match raw {
        Some("Fail" | "Continue") => {}
        None if of != OnErrorOf::Restore => findings.push(finding(
            match source {
                Source::Annotation => &ON_ERROR_UNSET,
                Source::Spec => &SPEC_ON_ERROR_UNSET,
            },
            subject,
            "not set",
            "a failing command does not stop anything: Velero only fails on an explicit Fail (its docs and its `hookOnError=Fail` log line say otherwise); the backup ends PartiallyFailed",
            of.unset_fix(),
        )),
        None => {}
        Some(value) => {
            let fix = match value.trim().to_ascii_lowercase().as_str() {
                "fail" => "did you mean `Fail`?".to_owned(),
                "continue" => "did you mean `Continue`?".to_owned(),
                _ => "use exactly Fail or Continue".to_owned(),
            };
            let (rule, velero_does) = match source {
                Source::Annotation => (
                    &ON_ERROR_INVALID,
                    "Velero silently drops it, so a failing command behaves like Continue".to_owned(),
                ),
                // CRD: `onError` is `enum: [Continue, Fail]`.
                Source::Spec => (
                    &SPEC_ON_ERROR_INVALID,
                    format!(
                        "the API server rejects the object: `{}: Unsupported value: \"{}\": supported values: \"Continue\", \"Fail\"`",
                        subject.text(),
                        abbreviate(value)
                    ),
                ),
            };
            findings.push(finding(
                rule,
                subject,
                format!("`{}` is not exactly Fail or Continue", abbreviate(value)),
                velero_does,
                fix,
            ));
        }
    }
}

/// A Go duration someone probably meant by `raw`, if it parses.
fn suggest_duration(raw: &str) -> Option<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let candidate = if !compact.is_empty() && compact.bytes().all(|b| b.is_ascii_digit()) {
        format!("{compact}s")
    } else {
        let lower = compact.to_ascii_lowercase();
        let split = lower
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(lower.len());
        let (number, unit) = lower.split_at(split);
        let unit = match unit {
            "sec" | "secs" | "second" | "seconds" => "s",
            "min" | "mins" | "minute" | "minutes" => "m",
            "hr" | "hrs" | "hour" | "hours" => "h",
            "d" | "day" | "days" => {
                let days: f64 = number.parse().ok()?;
                return Some(format!("{}h", days * 24.0));
            }
            other => other,
        };
        format!("{number}{unit}")
    };
    (candidate != raw && parse_go_duration(&candidate).is_ok()).then_some(candidate)
}

/// An exec timeout (`timeout`, `execTimeout`, the `timeout`/`exec-timeout` annotations) as
/// `pkg/podexec/pod_command_executor.go` applies it: 0 → 30s; negative → no limit up to
/// 1.18, 30s after (PR #10125); over 4h → capped after 1.18.
pub fn check_exec_timeout(
    subject: &Subject,
    raw: &str,
    source: Source,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    let parsed = match parse_go_duration(raw) {
        Ok(n) => n,
        Err(err) => {
            let fix = match suggest_duration(raw) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "write a Go duration such as 30s, 5m or 1h30m".to_owned(),
            };
            findings.push(finding(
                invalid_duration_rule(source),
                subject,
                format!("`{}` is not a Go duration ({err})", abbreviate(raw)),
                match source {
                    Source::Annotation => "Velero logs a warning and silently uses the default 30s",
                    Source::Spec => SPEC_DURATION_UNDECODABLE,
                },
                fix,
            ));
            return;
        }
    };
    if parsed == 0 {
        findings.push(finding(
            &TIMEOUT_ZERO,
            subject,
            format!("`{raw}` is zero"),
            "Velero uses the default 30s",
            "write 30s to say so, or the time the command needs",
        ));
    } else if parsed < 0 {
        let change = &BOUNDED_EXEC_TIMEOUTS;
        let velero_does = if version.has(change) {
            format!(
                "Velero {version} uses the default 30s ({} applied no limit at all)",
                change.before()
            )
        } else {
            format!(
                "Velero {version} applies no time limit at all, so a hung command blocks the backup ({} uses 30s)",
                change.since()
            )
        };
        findings.push(finding(
            match source {
                Source::Annotation => &TIMEOUT_NEGATIVE,
                Source::Spec => &SPEC_TIMEOUT_NEGATIVE,
            },
            subject,
            format!("`{raw}` is negative"),
            velero_does,
            "write a positive duration such as 5m",
        ));
    } else if parsed < 1_000_000_000 {
        // `30ms` for `30s`, `5ms` for `5m`: the unit of a second or a minute mistyped.
        let number =
            raw.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == 'µ' || c == 'μ');
        findings.push(finding(
            &TIMEOUT_UNDER_A_SECOND,
            subject,
            format!("`{raw}` is under a second"),
            "Velero gives up on the hook when the timeout passes (`timed out after ...`), and starting a command through the API server and the kubelet alone takes longer than that for most commands: the hook fails",
            format!("did you mean `{number}s` or `{number}m`?"),
        ));
    } else if parsed > crate::hook::NEWER_VELERO_TIMEOUT_CAP {
        let change = &BOUNDED_EXEC_TIMEOUTS;
        let velero_does = if version.has(change) {
            format!(
                "Velero {version} caps it at 4h ({} uses it as given)",
                change.before()
            )
        } else {
            format!(
                "Velero {version} uses it as given, but {} caps it at 4h",
                change.since()
            )
        };
        findings.push(finding(
            &TIMEOUT_OVER_CAP,
            subject,
            format!("`{raw}` ({}) is over 4h", GoDuration(parsed)),
            velero_does,
            "keep hooks under 4h",
        ));
    }
}

/// A restore wait timeout (`waitTimeout`, `wait-timeout`): 0 → no limit; negative → the hook
/// is "expired before executing" (`internal/hook/wait_exec_hook_handler.go`).
pub fn check_wait_timeout(
    subject: &Subject,
    raw: &str,
    source: Source,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    match parse_go_duration(raw) {
        Err(err) => {
            let fix = match suggest_duration(raw) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "write a Go duration such as 5m".to_owned(),
            };
            findings.push(finding(
                invalid_duration_rule(source),
                subject,
                format!("`{}` is not a Go duration ({err})", abbreviate(raw)),
                match source {
                    Source::Annotation => format!(
                        "Velero drops it and waits for the container without any limit: {}",
                        unlimited_wait_outcome(version)
                    ),
                    Source::Spec => SPEC_DURATION_UNDECODABLE.to_owned(),
                },
                fix,
            ));
        }
        Ok(0) => findings.push(finding(
            &WAIT_TIMEOUT_UNLIMITED,
            subject,
            format!("`{raw}` is zero"),
            format!(
                "Velero reads zero as no limit and waits for the container for ever: {}",
                unlimited_wait_outcome(version)
            ),
            wait_timeout_fix(subject),
        )),
        Ok(n) if n < 0 => findings.push(finding(
            &WAIT_TIMEOUT_NEGATIVE,
            subject,
            format!("`{raw}` is negative"),
            "Velero waits without limit, then records the hook as failed (\"expired before executing\")",
            "write a positive duration, e.g. 10m",
        )),
        Ok(_) => {}
    }
}

/// A restore exec hook with no wait timeout at all: the most common restore hook written.
/// Velero parses an absent or empty `wait-timeout` as 0 (`internal/hook/item_hook_handler.go`,
/// `getPodExecRestoreHookFromAnnotations`), and `maxHookWait` turns any hook's 0 into no
/// deadline for the whole pod (`internal/hook/wait_exec_hook_handler.go`).
pub fn check_wait_timeout_unset(
    subject: &Subject,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    findings.push(finding(
        &WAIT_TIMEOUT_UNLIMITED,
        subject,
        "not set",
        format!(
            "Velero waits for the container to run without any limit: {}",
            unlimited_wait_outcome(version)
        ),
        wait_timeout_fix(subject),
    ));
}

/// The fix names the key or field, so that it can be pasted as it stands.
fn wait_timeout_fix(subject: &Subject) -> String {
    format!(
        "set {}: \"10m\" (or however long the restored pod may take to start)",
        subject.text()
    )
}

/// `waitForReady: true` (or the annotation `true`) on a release that reads neither: the
/// restore waits only for the container to be Running. The spec field is not in that
/// release's CRD, so the API server prunes it.
pub fn check_wait_for_ready_supported(
    subject: &Subject,
    wait_for_ready: bool,
    source: Source,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    if !wait_for_ready || version.has(&WAIT_FOR_READY) {
        return;
    }
    let dropped = match source {
        Source::Annotation => format!("Velero {version} does not read this key"),
        Source::Spec => {
            format!("Velero {version}'s Restore CRD has no such field: the API server drops it")
        }
    };
    findings.push(finding(
        &WAIT_FOR_READY_UNSUPPORTED,
        subject,
        dropped,
        format!(
            "the hook runs as soon as the container is Running, before it is ready ({} wait for readiness)",
            WAIT_FOR_READY.since()
        ),
        "make the command wait for the service itself (retry until it answers), or upgrade Velero",
    ));
}

/// A post hook on a pod whose volumes are opted into file-system backup: on the releases
/// that start those backups in the background, the post hook (often the unfreeze or unlock
/// that the pre hook's freeze was for) runs while the volumes are still being read.
pub fn check_post_hook_before_fs_backup(
    subject: &Subject,
    pod: &PodView<'_>,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    let volumes = pod.annotation(VOLUMES_TO_BACKUP).map(str::trim);
    if let Some(volumes) = volumes.filter(|v| !v.is_empty()) {
        post_hook_races_fs_backups(
            subject,
            format!(
                "the pod's volumes `{volumes}` are backed up by file system ({VOLUMES_TO_BACKUP})"
            ),
            version,
            findings,
        );
    }
}

/// The same race for every post hook of a Backup that sets `defaultVolumesToFsBackup`:
/// every volume of the pods it runs in is backed up by file system, except those
/// `GetVolumesByPod` (`pkg/util/podvolume/pod_volume.go`) leaves out.
pub fn check_post_hooks_with_default_fs_backup(
    subject: &Subject,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    post_hook_races_fs_backups(
        subject,
        "the Backup sets defaultVolumesToFsBackup: every volume of the pods its post hooks run in is backed up by file system (but Secrets, ConfigMaps, projected, downward API and hostPath volumes, and those in backup.velero.io/backup-volumes-excludes)".to_owned(),
        version,
        findings,
    );
}

fn post_hook_races_fs_backups(
    subject: &Subject,
    problem: String,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    if !post_hooks_race_fs_backups(version) {
        return;
    }
    findings.push(finding(
        &POST_HOOK_BEFORE_FS_BACKUP,
        subject,
        problem,
        format!(
            "Velero {version} starts file-system backups in the background (PR #{}) and runs the post hook as soon as the pod itself is backed up: whatever the pre hook froze or locked is released while the volumes are still being read, so the backup may hold them half-written ({}, and {}, wait for the file-system backups first)",
            FS_BACKUPS_IN_BACKGROUND.pr,
            FS_BACKUPS_IN_BACKGROUND.before(),
            POST_HOOKS_WAIT_FOR_FS_BACKUPS.since()
        ),
        "upgrade Velero to 1.15.1 or later; until then, expect these volumes to be read after the post hook has run",
    ));
}

/// What an unlimited wait costs when the container never runs (image pull failure, pending
/// pod): the hook is never recorded (`crate::outcome`).
fn unlimited_wait_outcome(version: VeleroVersion) -> String {
    format!(
        "if it never runs, {}",
        crate::outcome::restore_hook_never_finishes(version)
    )
}

/// What happens to a spec duration the CRD lets through (`type: string`) but Go's
/// `time.ParseDuration` refuses: the field is a `metav1.Duration`, so Velero's typed client
/// cannot decode the object at all (inferred from the types; not covered by a Velero test).
const SPEC_DURATION_UNDECODABLE: &str = "the API server accepts it (the CRD only asks for a string), but Velero decodes the field as a Go duration and cannot read the object at all";

fn invalid_duration_rule(source: Source) -> &'static Rule {
    match source {
        Source::Annotation => &TIMEOUT_INVALID,
        Source::Spec => &SPEC_TIMEOUT_INVALID,
    }
}

/// A spec duration written as something other than a string (`timeout: 30`): the CRD
/// types it `string`, so the API server refuses the object.
pub fn check_spec_duration_value(
    subject: &Subject,
    value: &serde_json::Value,
    version: VeleroVersion,
    wait: bool,
    findings: &mut Vec<Finding>,
) {
    match value {
        serde_json::Value::String(text) if wait => {
            check_wait_timeout(subject, text, Source::Spec, version, findings)
        }
        serde_json::Value::String(text) => {
            check_exec_timeout(subject, text, Source::Spec, version, findings)
        }
        serde_json::Value::Null => {}
        other => findings.push(finding(
            &SPEC_TIMEOUT_INVALID,
            subject,
            format!("`{other}` is not a string"),
            format!(
                "the API server rejects the object: `{}: Invalid value: \"{}\": {} in body must be of type string`",
                subject.text(),
                json_type(other),
                subject.text()
            ),
            "quote a Go duration, e.g. \"30s\"",
        )),
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
        _ => "string",
    }
}
