//! Every check, each with a stable code, a severity, and a message that says what Velero
//! would actually do. One table entry per rule; one function per family of checks.

use serde::Serialize;

use crate::checks::{
    OnErrorOf, Source, abbreviate, check_argv_elements, check_exec_command, check_exec_timeout,
    check_on_error, check_wait_for_ready_supported, check_wait_timeout, check_wait_timeout_unset,
    command_shape_finding,
};
use crate::hook::{
    BackupHook, InitHook, PodHooks, RestoreExecHook, parse_go_bool, parse_hooks, pre_family,
};
use crate::keys::{self, Family, Field};
use crate::pod::{AnnotationValue, PodView};
use crate::spec::rules as spec;
use crate::version::{NATIVE_SIDECAR_HOOKS, VeleroVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

const fn rule(
    code: &'static str,
    name: &'static str,
    severity: Severity,
    summary: &'static str,
) -> Rule {
    Rule {
        code,
        name,
        severity,
        summary,
    }
}

use Severity::{Error, Warning};

pub const COMMAND_NOT_JSON_ARRAY: Rule = rule(
    "HV001",
    "command-not-json-array",
    Error,
    "command meant as a JSON array is not one (quotes, `\\`, a bracket): run as one program name",
);
pub const COMMAND_EMPTY_ARRAY: Rule =
    rule("HV002", "command-empty", Error, "command is an empty array");
pub const COMMAND_PLAIN_WITH_SPACES: Rule = rule(
    "HV003",
    "command-plain-string-with-spaces",
    Error,
    "command is a plain string with whitespace, run as one program name",
);
pub const COMMAND_EMPTY_PROGRAM: Rule = rule(
    "HV004",
    "command-empty-program",
    Error,
    "command's program name is empty",
);
pub const COMMAND_EMPTY_ARGUMENT: Rule = rule(
    "HV005",
    "command-empty-argument",
    Warning,
    "command passes an empty or null argument",
);
pub const COMMAND_SHELL_WITHOUT_SCRIPT: Rule = rule(
    "HV006",
    "command-shell-without-script",
    Error,
    "command ends with a shell's -c: the shell has no command string and exits with an error",
);
pub const ON_ERROR_INVALID: Rule = rule(
    "HV010",
    "on-error-invalid",
    Error,
    "on-error is not exactly Fail or Continue",
);
pub const ON_ERROR_UNSET: Rule = rule(
    "HV011",
    "on-error-unset",
    Warning,
    "on-error is unset, which behaves like Continue",
);
pub const TIMEOUT_INVALID: Rule = rule(
    "HV020",
    "timeout-invalid",
    Error,
    "timeout is not a Go duration",
);
pub const TIMEOUT_ZERO: Rule = rule(
    "HV021",
    "timeout-zero",
    Warning,
    "timeout is zero, which means the default",
);
pub const TIMEOUT_NEGATIVE: Rule = rule("HV022", "timeout-negative", Error, "timeout is negative");
pub const TIMEOUT_OVER_CAP: Rule = rule(
    "HV023",
    "timeout-over-4h",
    Warning,
    "timeout is over 4h, capped by newer Velero",
);
pub const TIMEOUT_UNDER_A_SECOND: Rule = rule(
    "HV026",
    "timeout-under-a-second",
    Warning,
    "timeout is under a second: the hook times out before most commands can even start",
);
pub const WAIT_TIMEOUT_UNLIMITED: Rule = rule(
    "HV024",
    "wait-timeout-unlimited",
    Warning,
    "restore exec hook without a wait-timeout (unset or zero): the restore can wait without limit",
);
pub const WAIT_TIMEOUT_NEGATIVE: Rule = rule(
    "HV025",
    "wait-timeout-negative",
    Error,
    "wait-timeout is negative: the hook always fails",
);
pub const FIELDS_WITHOUT_TRIGGER: Rule = rule(
    "HV030",
    "hook-without-command",
    Error,
    "hook fields set without the key that turns the hook on",
);
pub const CONTAINER_NOT_FOUND: Rule = rule(
    "HV031",
    "container-not-found",
    Error,
    "backup hook container is not a container of the pod",
);
pub const POD_WITHOUT_CONTAINERS: Rule = rule(
    "HV032",
    "pod-without-containers",
    Error,
    "pod has no containers to run hooks in",
);
pub const LEGACY_SHADOWED: Rule = rule(
    "HV040",
    "legacy-keys-shadowed",
    Warning,
    "legacy keys are ignored because a pre. command is set",
);
pub const PRE_FIELDS_IGNORED: Rule = rule(
    "HV041",
    "pre-fields-ignored-by-legacy",
    Error,
    "pre. fields are ignored because the legacy command is used",
);
pub const LEGACY_IN_USE: Rule = rule(
    "HV042",
    "legacy-keys",
    Warning,
    "un-prefixed legacy keys are used",
);
pub const UNKNOWN_KEY: Rule = rule(
    "HV050",
    "unknown-key",
    Error,
    "key under a Velero hook prefix that Velero does not read",
);
pub const VALUE_NOT_STRING: Rule = rule(
    "HV051",
    "value-not-string",
    Error,
    "annotation value is not a string",
);
pub const KEY_NEVER_READ: Rule = rule(
    "HV052",
    "key-never-read",
    Warning,
    "key Velero declares but never reads",
);
/// Heptio Ark's keys: Velero 1.0 dropped them (`changelogs/CHANGELOG-1.0.md`, "remove support
/// for hook.backup.ark.heptio.com/... annotations") and reads only the `velero.io` keys of
/// `internal/hook/item_hook_handler.go`.
pub const ARK_KEY: Rule = rule(
    "HV053",
    "ark-prefix-key",
    Error,
    "key with the obsolete Heptio Ark prefix (ark.heptio.com) that Velero ignores",
);
pub const WORKLOAD_METADATA: Rule = rule(
    "HV060",
    "hooks-on-workload-metadata",
    Error,
    "hook annotations on a workload's own metadata, not its pod template",
);
pub const INIT_IMAGE_WITHOUT_COMMAND: Rule = rule(
    "HV070",
    "init-image-without-command",
    Error,
    "init hook has an image but no command",
);
pub const INIT_NAME_INVALID: Rule = rule(
    "HV072",
    "init-name-invalid",
    Error,
    "init container name is not a valid DNS-1123 label",
);
pub const INIT_NAME_DUPLICATE: Rule = rule(
    "HV073",
    "init-name-duplicate",
    Error,
    "init container name clashes with a container of the pod",
);
pub const RESTORE_CONTAINER_NOT_REGULAR: Rule = rule(
    "HV080",
    "restore-container-not-found",
    Error,
    "restore hook container is not a regular container: the restore hangs",
);
pub const WAIT_FOR_READY_INVALID: Rule = rule(
    "HV081",
    "wait-for-ready-invalid",
    Error,
    "wait-for-ready is not a Go boolean",
);
pub const WAIT_FOR_READY_UNSUPPORTED: Rule = rule(
    "HV082",
    "wait-for-ready-unsupported",
    Warning,
    "wait-for-ready is not read by the Velero release predicted: the hook runs before the container is ready",
);
/// `pkg/backup/item_backupper.go` and `pkg/backup/backup.go` of Velero 1.14.0-1.15.0 (see
/// [`crate::version::post_hooks_race_fs_backups`]).
pub const POST_HOOK_BEFORE_FS_BACKUP: Rule = rule(
    "HV090",
    "post-hook-before-fs-backup",
    Warning,
    "on Velero 1.14.0-1.15.0 a post hook runs before the pod's file-system backups finish",
);

/// Every rule, whatever the hook source, for documentation and for tools that list codes.
pub const RULES: &[Rule] = &[
    COMMAND_NOT_JSON_ARRAY,
    COMMAND_EMPTY_ARRAY,
    COMMAND_PLAIN_WITH_SPACES,
    COMMAND_EMPTY_PROGRAM,
    COMMAND_EMPTY_ARGUMENT,
    COMMAND_SHELL_WITHOUT_SCRIPT,
    ON_ERROR_INVALID,
    ON_ERROR_UNSET,
    TIMEOUT_INVALID,
    TIMEOUT_ZERO,
    TIMEOUT_NEGATIVE,
    TIMEOUT_OVER_CAP,
    WAIT_TIMEOUT_UNLIMITED,
    WAIT_TIMEOUT_NEGATIVE,
    TIMEOUT_UNDER_A_SECOND,
    FIELDS_WITHOUT_TRIGGER,
    CONTAINER_NOT_FOUND,
    POD_WITHOUT_CONTAINERS,
    LEGACY_SHADOWED,
    PRE_FIELDS_IGNORED,
    LEGACY_IN_USE,
    UNKNOWN_KEY,
    VALUE_NOT_STRING,
    KEY_NEVER_READ,
    ARK_KEY,
    WORKLOAD_METADATA,
    INIT_IMAGE_WITHOUT_COMMAND,
    INIT_NAME_INVALID,
    INIT_NAME_DUPLICATE,
    RESTORE_CONTAINER_NOT_REGULAR,
    WAIT_FOR_READY_INVALID,
    WAIT_FOR_READY_UNSUPPORTED,
    POST_HOOK_BEFORE_FS_BACKUP,
    // Velero objects' spec hooks and run-time facts (crate::spec::rules).
    spec::SPEC_UNDECODABLE,
    spec::SPEC_NAME_EMPTY,
    spec::SPEC_WITHOUT_EXEC,
    spec::SPEC_COMMAND_EMPTY,
    spec::SPEC_COMMAND_ONE_STRING,
    spec::SPEC_ON_ERROR_INVALID,
    spec::SPEC_ON_ERROR_UNSET,
    spec::SPEC_TIMEOUT_INVALID,
    spec::SPEC_TIMEOUT_NEGATIVE,
    spec::SPEC_SELECTOR_INVALID,
    spec::SPEC_PATTERN_INVALID,
    spec::SPEC_PATTERN_MAY_PANIC,
    spec::RESTORE_HOOK_RESOURCES_IGNORED,
    spec::RESTORE_HOOK_EMPTY,
    spec::INIT_CONTAINER_INVALID,
    spec::INIT_TIMEOUT_UNUSED,
    spec::SPEC_FIELD_UNKNOWN,
    spec::RESTORE_HOOK_NAMESPACE_MAPPED_AWAY,
    spec::HOOKS_ON_NO_PODS,
    spec::HOOK_ENTRY_EMPTY,
    spec::POD_FINISHED,
    spec::POD_NOT_RUNNING,
    spec::SPEC_CONTAINER_NOT_FOUND,
    spec::PRE_HOOK_FAIL,
    spec::RESTORE_HOOK_NEVER_RECORDED,
    spec::POST_HOOK_FAIL,
    spec::SPEC_PATTERN_CARET_CLASS,
    spec::BACKUP_NAMESPACE_LISTS,
    spec::BACKUP_RESOURCE_LISTS,
    spec::BACKUP_NAMESPACE_PATTERN_REFUSED,
    spec::BACKUP_NAMESPACE_PATTERN_INVALID,
    spec::BACKUP_BOTH_SELECTORS,
    spec::BACKUP_SELECTOR_INVALID,
    spec::BACKUP_INCLUDES_EXCLUDED_NAMESPACE,
    spec::BACKUP_TAKES_IN_NO_NAMESPACE,
    spec::BACKUP_NAMESPACE_PATTERN_LOOKED_UP,
    spec::BACKUP_NAMESPACE_MISSING,
    spec::RESTORE_VALIDATION,
    spec::BACKUP_STORAGE_LOCATION_UNUSABLE,
    spec::RESTORE_NAMESPACE_PATTERN_MAY_TAKE_ALL,
];

/// The rule with this code, whatever the hook source: annotation rules (HV0xx), spec and
/// run-time rules (HV1xx).
pub fn rule_by_code(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A pod (or pod template) annotation, by key.
    Annotation(String),
    /// A field of a Backup, Schedule or Restore, as a path such as
    /// `spec.hooks.resources[2].pre[0].exec.timeout` (`spec.template.hooks...` in a Schedule).
    Spec(String),
    /// A field of a pod the hooks run in, such as `status.phase` or `spec.containers`.
    Pod(String),
}

impl Subject {
    pub fn annotation(key: &str) -> Self {
        Subject::Annotation(key.to_owned())
    }

    /// The key or path, as printed.
    pub fn text(&self) -> &str {
        match self {
            Subject::Annotation(key) => key,
            Subject::Spec(path) | Subject::Pod(path) => path,
        }
    }

    /// The annotation key, for annotation findings.
    pub fn annotation_key(&self) -> Option<&str> {
        match self {
            Subject::Annotation(key) => Some(key),
            _ => None,
        }
    }

    /// Whether this is an annotation under `family`'s prefix (its keys, and misspelt keys
    /// that look like them).
    pub fn is_annotation_of(&self, family: Family) -> bool {
        self.annotation_key()
            .is_some_and(|key| key.starts_with(family.prefix()))
    }
}

/// JSON: `"key": ...` for annotations (the form scripts already read), `"path": ...` for
/// fields of Velero objects and pods.
impl Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Subject::Annotation(key) => map.serialize_entry("key", key)?,
            Subject::Spec(path) | Subject::Pod(path) => map.serialize_entry("path", path)?,
        }
        map.end()
    }
}

/// One problem, with what Velero will do about it and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub code: &'static str,
    pub rule: &'static str,
    pub severity: Severity,
    /// What the finding is about.
    #[serde(flatten)]
    pub subject: Subject,
    /// What is wrong with what was written.
    pub problem: String,
    /// What Velero will actually do with it.
    pub velero_does: String,
    /// How to fix it.
    pub fix: String,
    /// JSON Pointer to the annotation or field in the checked object, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl Finding {
    /// A finding about an annotation.
    pub(crate) fn new(
        rule: &Rule,
        key: &str,
        problem: impl Into<String>,
        velero_does: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::about(rule, Subject::annotation(key), problem, velero_does, fix)
    }

    pub fn about(
        rule: &Rule,
        subject: Subject,
        problem: impl Into<String>,
        velero_does: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            code: rule.code,
            rule: rule.name,
            severity: rule.severity,
            subject,
            problem: problem.into(),
            velero_does: velero_does.into(),
            fix: fix.into(),
            pointer: None,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `key: problem; what Velero does; fix`.
    pub fn sentence(&self) -> String {
        format!(
            "{}: {}; {}; {}",
            self.subject.text(),
            self.problem,
            self.velero_does,
            self.fix
        )
    }
}

/// The result of checking one pod's hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodCheck {
    pub hooks: PodHooks,
    pub findings: Vec<Finding>,
}

/// Parses and checks every hook annotation of one pod (or pod template).
pub fn check_pod(pod: &PodView<'_>, version: VeleroVersion) -> PodCheck {
    let hooks = parse_hooks(pod, version);
    let mut findings = Vec::new();
    check_keys(pod, &mut findings);
    check_fields_without_trigger(pod, &mut findings);
    check_legacy(pod, &mut findings);
    if !hooks.is_empty() && pod.containers.is_empty() {
        findings.push(Finding::new(
            &POD_WITHOUT_CONTAINERS,
            hooks_trigger_key(&hooks),
            "the pod has no containers",
            "Velero cannot run exec hooks in it (`need at least 1 container`)",
            "add the hooks to a pod that has containers",
        ));
    }
    for hook in hooks.backup() {
        check_backup_hook(pod, hook, version, &mut findings);
    }
    if let Some(hook) = hooks.backup().find(|h| h.family == Family::BackupPost) {
        crate::checks::check_post_hook_before_fs_backup(
            &Subject::annotation(keys::name(hook.family, Field::Command)),
            pod,
            version,
            &mut findings,
        );
    }
    if let Some(hook) = &hooks.restore_post {
        check_restore_exec_hook(pod, hook, version, &mut findings);
    }
    if let Some(hook) = &hooks.restore_init {
        check_init_hook(pod, hook, &mut findings);
    }
    PodCheck { hooks, findings }
}

fn hooks_trigger_key(hooks: &PodHooks) -> &'static str {
    if let Some(h) = hooks.backup().next() {
        keys::name(h.family, Field::Command)
    } else if hooks.restore_post.is_some() {
        keys::name(Family::RestorePost, Field::Command)
    } else {
        keys::name(Family::RestoreInit, Field::ContainerImage)
    }
}

// ---------------------------------------------------------------------------------------
// Keys: unknown, never read, not strings.

fn check_keys(pod: &PodView<'_>, findings: &mut Vec<Finding>) {
    for (name, value) in &pod.annotations {
        let known = keys::lookup(name);
        if known.is_none() && !keys::looks_like_hook_key(name) {
            continue;
        }
        if let AnnotationValue::NotString(v) = value {
            findings.push(value_not_string(name, v));
        }
        match known {
            Some(key) if !key.read_by_velero => findings.push(Finding::new(
                &KEY_NEVER_READ,
                name,
                "Velero declares this key but never reads it",
                "the value has no effect; init containers run until they exit",
                "remove it",
            )),
            Some(_) => {}
            None if keys::is_ark_hook_key(name) => findings.push(ark_key(name)),
            None => findings.push(unknown_key(name)),
        }
    }
}

fn ark_key(name: &str) -> Finding {
    let fix = match keys::ark_replacement(name) {
        Some(velero) => format!("rename it to `{velero}`"),
        None => {
            "rename it to the velero.io key of the same phase (`kubectl hooks keys` lists them)"
                .to_owned()
        }
    };
    Finding::new(
        &ARK_KEY,
        name,
        "Heptio Ark's key prefix, removed in Velero 1.0",
        "Velero reads only velero.io keys and ignores it silently: this hook never runs",
        fix,
    )
}

fn unknown_key(name: &str) -> Finding {
    let (velero_does, fix) = if name == "post.hook.restore.velero.io/timeout" {
        (
            "Velero ignores it and the command keeps the default 30s exec timeout".to_owned(),
            "use post.hook.restore.velero.io/exec-timeout (or wait-timeout to wait for the container)".to_owned(),
        )
    } else if name.starts_with("pre.hook.restore.velero.io/") {
        (
            "Velero has no pre-restore annotation hooks and ignores it".to_owned(),
            "use init.hook.restore.velero.io/* for work before the pod starts, or post.hook.restore.velero.io/* after".to_owned(),
        )
    } else {
        let fix = match keys::closest_key(name) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => "use one of the keys listed by `kubectl hooks keys`".to_owned(),
        };
        ("Velero ignores it silently".to_owned(), fix)
    };
    // A character no one sees (a zero-width space pasted from a web page) makes a key that
    // looks right unknown; say which and where, since "did you mean" would look the same.
    let invisible: Vec<String> = name
        .chars()
        .enumerate()
        .filter(|(_, c)| {
            c.is_control()
                || matches!(
                    c,
                    '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
                )
        })
        .map(|(i, c)| format!("U+{:04X} at character {}", u32::from(c), i + 1))
        .collect();
    let problem = if invisible.is_empty() {
        "Velero does not read this key".to_owned()
    } else {
        format!(
            "Velero does not read this key: it holds an invisible character ({})",
            invisible.join(", ")
        )
    };
    Finding::new(&UNKNOWN_KEY, name, problem, velero_does, fix)
}

/// An annotation value that is not a string, as kubectl reads unquoted YAML (YAML 1.1:
/// `yes`/`on` are booleans, `0755` is the octal number 493, `~` or nothing is null).
fn value_not_string(name: &str, v: &serde_json::Value) -> Finding {
    let is_timeout = name.ends_with("timeout");
    let (problem, velero_does, fix) = match v {
        // Go's JSON decoder gives a map entry decoded from null the zero value, so the
        // API server stores "" (encoding/json: null leaves a string untouched).
        serde_json::Value::Null => (
            "no value (`~`, `null`, or nothing after the colon)".to_owned(),
            "the API server stores an empty string, which Velero reads as if the key were not set"
                .to_owned(),
            "write the value in quotes, or remove the key".to_owned(),
        ),
        serde_json::Value::Bool(b) => (
            format!(
                "value `{b}` is a boolean: unquoted yes/no/on/off/true/false are YAML booleans"
            ),
            "the API server refuses the object: annotation values must be strings".to_owned(),
            "quote the value as you meant it, e.g. \"yes\"".to_owned(),
        ),
        serde_json::Value::Number(n) => (
            format!(
                "value `{n}` is a number: unquoted digits are a YAML number (a leading 0 makes \
                 it octal: 0755 is 493)"
            ),
            "the API server refuses the object: annotation values must be strings".to_owned(),
            if is_timeout {
                format!("quote it with a unit: \"{n}s\"")
            } else {
                format!("quote it as written, e.g. \"{n}\"")
            },
        ),
        other => (
            format!("value is a {}, not a string", json_type(other)),
            "the API server refuses the object: annotation values must be strings".to_owned(),
            "write the value as one quoted string".to_owned(),
        ),
    };
    Finding::new(&VALUE_NOT_STRING, name, problem, velero_does, fix)
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "list",
        serde_json::Value::Object(_) => "map",
    }
}

// ---------------------------------------------------------------------------------------
// Fields set without the key that turns the hook on; legacy keys.

fn check_fields_without_trigger(pod: &PodView<'_>, findings: &mut Vec<Finding>) {
    let legacy_used = pre_family(pod) == Some(Family::BackupLegacy);
    for family in Family::ALL {
        let trigger_field = if family == Family::RestoreInit {
            Field::ContainerImage
        } else {
            Field::Command
        };
        let trigger = keys::name(family, trigger_field);
        if pod.annotation(trigger).is_some_and(|v| !v.is_empty()) {
            continue;
        }
        // Written, but not as a string: HV051 says so, and the API server refuses the
        // object before anything else matters.
        if pod.has_annotation(trigger) && pod.annotation(trigger).is_none() {
            continue;
        }
        // pre. fields beside a legacy command are reported as ignored by check_legacy.
        if family == Family::BackupPre && legacy_used {
            continue;
        }
        for key in keys::KEYS
            .iter()
            .filter(|k| k.family == family && k.field != trigger_field && k.read_by_velero)
        {
            if !pod.has_annotation(key.name) {
                continue;
            }
            let absent = if pod.has_annotation(trigger) {
                "is empty"
            } else {
                "is not set"
            };
            let velero_does = match family {
                Family::RestoreInit => "Velero injects no init container and ignores these keys",
                Family::BackupPre | Family::BackupLegacy => {
                    "Velero runs no pre-backup hook from annotations and ignores these keys"
                }
                Family::BackupPost => {
                    "Velero runs no post-backup hook from annotations and ignores these keys"
                }
                Family::RestorePost => {
                    "Velero runs no post-restore hook from annotations and ignores these keys"
                }
            };
            findings.push(Finding::new(
                &FIELDS_WITHOUT_TRIGGER,
                key.name,
                format!("set, but {trigger} {absent}"),
                velero_does,
                format!("set {trigger}, or remove {}", key.name),
            ));
        }
    }
}

fn check_legacy(pod: &PodView<'_>, findings: &mut Vec<Finding>) {
    let legacy_keys = || {
        keys::KEYS
            .iter()
            .filter(|k| k.family == Family::BackupLegacy && pod.has_annotation(k.name))
    };
    match pre_family(pod) {
        Some(Family::BackupPre) => {
            for key in legacy_keys() {
                findings.push(Finding::new(
                    &LEGACY_SHADOWED,
                    key.name,
                    "pre.hook.backup.velero.io/command is also set",
                    "Velero reads only the pre. keys and ignores this legacy key",
                    "remove the legacy hook.backup.velero.io/* keys",
                ));
            }
        }
        Some(Family::BackupLegacy) => {
            for key in keys::KEYS
                .iter()
                .filter(|k| k.family == Family::BackupPre && pod.has_annotation(k.name))
            {
                if key.field == Field::Command {
                    continue; // present but empty: that is why the legacy keys are read
                }
                findings.push(Finding::new(
                    &PRE_FIELDS_IGNORED,
                    key.name,
                    "ignored: the pre-backup hook comes from the legacy hook.backup.velero.io/command",
                    "Velero reads container, on-error and timeout from the legacy keys only",
                    "move the command to pre.hook.backup.velero.io/command (`kubectl hooks annotate` can migrate)",
                ));
            }
            findings.push(Finding::new(
                &LEGACY_IN_USE,
                "hook.backup.velero.io/command",
                "un-prefixed legacy hook keys",
                "Velero runs them as the pre-backup hook, and never as a post hook",
                "rename hook.backup.velero.io/* to pre.hook.backup.velero.io/*",
            ));
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Backup exec hooks.

fn check_backup_hook(
    pod: &PodView<'_>,
    hook: &BackupHook,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    let family = hook.family;
    check_exec_command(
        &Subject::annotation(keys::name(family, Field::Command)),
        &hook.command_raw,
        &hook.command,
        findings,
    );
    check_on_error(
        &Subject::annotation(keys::name(family, Field::OnError)),
        hook.on_error_raw.as_deref(),
        Source::Annotation,
        match family {
            Family::BackupPost => OnErrorOf::BackupPost(version),
            _ => OnErrorOf::BackupPre,
        },
        findings,
    );
    if let Some(raw) = &hook.timeout_raw {
        check_exec_timeout(
            &Subject::annotation(keys::name(family, Field::Timeout)),
            raw,
            Source::Annotation,
            version,
            findings,
        );
    }
    if let Some(name) = &hook.container {
        check_backup_container(
            pod,
            keys::name(family, Field::Container),
            name,
            version,
            findings,
        );
    }
}

fn check_backup_container(
    pod: &PodView<'_>,
    key: &str,
    name: &str,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    if pod.containers.contains(&name) {
        return;
    }
    let init = pod.init_containers.iter().find(|c| c.name == name);
    let (problem, velero_does) = match init {
        Some(c) if c.sidecar => {
            if version.has(&NATIVE_SIDECAR_HOOKS) {
                return;
            }
            (
                format!(
                    "`{name}` is a native sidecar (an init container with restartPolicy: Always)"
                ),
                format!(
                    "Velero {version} fails the hook with `no such container: \"{name}\"`; only {} can exec in sidecars",
                    NATIVE_SIDECAR_HOOKS.since()
                ),
            )
        }
        Some(_) => (
            format!("`{name}` is an init container"),
            format!(
                "Velero never execs in init containers: the hook fails with `no such container: \"{name}\"`"
            ),
        ),
        None => (
            format!("the pod has no container named `{name}`"),
            format!("the hook fails at backup time with `no such container: \"{name}\"`"),
        ),
    };
    findings.push(Finding::new(
        &CONTAINER_NOT_FOUND,
        key,
        problem,
        velero_does,
        container_fix(pod, name),
    ));
}

fn container_fix(pod: &PodView<'_>, name: &str) -> String {
    let trimmed = name.trim();
    if trimmed != name && pod.containers.contains(&trimmed) {
        return format!("remove the surrounding whitespace: `{trimmed}`");
    }
    let closest = pod
        .containers
        .iter()
        .map(|c| {
            (
                strsim::levenshtein(&name.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                *c,
            )
        })
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d);
    match closest {
        Some((_, c)) => format!("did you mean `{c}`?"),
        None if pod.containers.is_empty() => "add a container to the pod".to_owned(),
        None => format!("use one of: {}", pod.containers.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------
// Restore hooks.

fn check_restore_exec_hook(
    pod: &PodView<'_>,
    hook: &RestoreExecHook,
    version: VeleroVersion,
    findings: &mut Vec<Finding>,
) {
    let family = Family::RestorePost;
    check_exec_command(
        &Subject::annotation(keys::name(family, Field::Command)),
        &hook.command_raw,
        &hook.command,
        findings,
    );
    check_on_error(
        &Subject::annotation(keys::name(family, Field::OnError)),
        hook.on_error_raw.as_deref(),
        Source::Annotation,
        OnErrorOf::Restore,
        findings,
    );
    if let Some(raw) = &hook.exec_timeout_raw {
        check_exec_timeout(
            &Subject::annotation(keys::name(family, Field::ExecTimeout)),
            raw,
            Source::Annotation,
            version,
            findings,
        );
    }
    let wait_subject = Subject::annotation(keys::name(family, Field::WaitTimeout));
    match hook.wait_timeout_raw.as_deref() {
        // Velero reads "" like an absent key.
        None | Some("") => check_wait_timeout_unset(&wait_subject, version, findings),
        Some(raw) => check_wait_timeout(&wait_subject, raw, Source::Annotation, version, findings),
    }
    if let Some(raw) = &hook.wait_for_ready_raw
        && parse_go_bool(raw).is_none()
    {
        findings.push(Finding::new(
            &WAIT_FOR_READY_INVALID,
            keys::name(family, Field::WaitForReady),
            format!("`{}` is not a Go boolean", abbreviate(raw)),
            "Velero reads it as false and waits only for Running (the warning goes to the server log only)",
            "write true or false",
        ));
    }
    check_wait_for_ready_supported(
        &Subject::annotation(keys::name(family, Field::WaitForReady)),
        hook.wait_for_ready,
        Source::Annotation,
        version,
        findings,
    );
    if let Some(name) = &hook.container
        && !pod.containers.contains(&name.as_str())
    {
        let kind = match pod.init_containers.iter().find(|c| c.name == *name) {
            Some(c) if c.sidecar => format!(
                "`{name}` is a native sidecar; restore hooks run only in regular containers"
            ),
            Some(_) => format!(
                "`{name}` is an init container; restore hooks run only in regular containers"
            ),
            None => format!("the pod has no container named `{name}`"),
        };
        findings.push(Finding::new(
            &RESTORE_CONTAINER_NOT_REGULAR,
            keys::name(family, Field::Container),
            kind,
            crate::outcome::restore_container_missing(version),
            container_fix(pod, name),
        ));
    }
}

fn check_init_hook(pod: &PodView<'_>, hook: &InitHook, findings: &mut Vec<Finding>) {
    let family = Family::RestoreInit;
    let command_key = keys::name(family, Field::Command);
    match (&hook.command, &hook.command_raw) {
        (Some(command), Some(raw)) => {
            let subject = Subject::annotation(command_key);
            if let Some(finding) = command_shape_finding(&subject, raw, command) {
                findings.push(finding);
            } else if !command.argv.is_empty() {
                // `[]` is the safe way to ask for the image's entrypoint.
                check_argv_elements(&subject, command, findings);
            }
        }
        _ => findings.push(Finding::new(
            &INIT_IMAGE_WITHOUT_COMMAND,
            command_key,
            format!(
                "{} is set but the command is {}",
                keys::name(family, Field::ContainerImage),
                if pod.has_annotation(command_key) { "empty" } else { "missing" }
            ),
            "Velero's restore plugin panics (index out of range): the pod is not restored and the restore ends PartiallyFailed",
            "set the command, or \"[]\" to run the image's entrypoint",
        )),
    }
    if let Some(name) = &hook.name {
        let key = keys::name(family, Field::ContainerName);
        if !is_dns1123_label(name) {
            findings.push(Finding::new(
                &INIT_NAME_INVALID,
                key,
                format!("`{}` is not a valid container name (lower-case letters, digits and '-', at most 63)", abbreviate(name)),
                "Velero injects it unchecked and the API server rejects the restored pod",
                format!("use a name such as `{}`", dns1123_suggestion(name)),
            ));
        }
        let clashes = name == "restore-wait"
            || pod.containers.contains(&name.as_str())
            || pod.init_containers.iter().any(|c| c.name == name);
        if clashes {
            findings.push(Finding::new(
                &INIT_NAME_DUPLICATE,
                key,
                format!("`{name}` is already the name of a container in the pod (or Velero's restore-wait)"),
                "the API server rejects the restored pod for duplicate container names",
                "choose a name no container uses, e.g. velero-restore-init",
            ));
        }
    }
}

/// Kubernetes container names: RFC 1123 labels.
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn dns1123_suggestion(name: &str) -> String {
    let lowered: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    let trimmed = lowered.trim_matches('-');
    if trimmed.is_empty() {
        "velero-restore-init".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Findings for hook annotations on a workload's own metadata, where Velero never looks.
pub fn check_workload_metadata(
    metadata: &PodView<'_>,
    kind: &str,
    template_path: &str,
) -> Vec<Finding> {
    metadata
        .annotations
        .iter()
        .filter(|(name, _)| keys::looks_like_hook_key(name))
        .map(|(name, _)| {
            Finding::new(
                &WORKLOAD_METADATA,
                name,
                format!("on the {kind}'s own metadata"),
                "Velero reads hooks from pods only, so this annotation does nothing",
                format!("move it to {template_path}.annotations"),
            )
        })
        .collect()
}
