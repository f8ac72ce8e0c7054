//! Reading Velero's backup log for what the hooks did.
//!
//! Velero logs with logrus, in text (`key=value`, values quoted when needed) or JSON (one
//! object per line), with the same field names. A hook run is the `running exec hook` line
//! (fields `hookSource`, `hookPhase`, `hookName`, `hookContainer`, `hookCommand`,
//! `hookOnError`, `hookTimeout`), then `stdout: ...` and `stderr: ...` when the command
//! ended, or `Error executing hook` (field `error`). Hooks on pods that already ended are
//! skipped with `Pod entered phase <p> before some ... exec hooks ran`. Velero 1.14 and
//! earlier also put the pod's `namespace` and `name` on every hook line; later releases only
//! name the pod on `Error running <phase> hooks for pod`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// One log line: level, message and the other fields as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub level: String,
    pub msg: String,
    pub fields: BTreeMap<String, String>,
    /// `hookCommand` as a list, when the JSON format gave one.
    pub command: Option<Vec<String>>,
}

impl Entry {
    fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// Reads one line in either format; `None` for lines that are neither (blank, truncated).
pub fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim_start().starts_with('{') {
        parse_json_line(line)
    } else {
        parse_text_line(line)
    }
}

fn parse_json_line(line: &str) -> Option<Entry> {
    let Value::Object(map) = serde_json::from_str::<Value>(line).ok()? else {
        return None;
    };
    let mut entry = Entry::default();
    for (key, value) in map {
        let text = match &value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        match key.as_str() {
            "level" => entry.level = text,
            "msg" => entry.msg = text,
            "hookCommand" => {
                if let Value::Array(items) = &value {
                    entry.command = Some(
                        items
                            .iter()
                            .map(|i| {
                                i.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| i.to_string())
                            })
                            .collect(),
                    );
                }
                entry.fields.insert(key, text);
            }
            _ => {
                entry.fields.insert(key, text);
            }
        }
    }
    (!entry.msg.is_empty() || !entry.level.is_empty()).then_some(entry)
}

/// logrus' text format: `key=value` pairs separated by spaces; a value is quoted (Go
/// `%q`) when it has spaces, quotes or other special characters.
fn parse_text_line(line: &str) -> Option<Entry> {
    let mut entry = Entry::default();
    let mut rest = line.trim_start();
    let mut any = false;
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = &rest[..eq];
        if key.is_empty() || key.contains(char::is_whitespace) {
            return None;
        }
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let (text, used) = unquote(quoted)?;
            value = text;
            rest = &quoted[used..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            value = rest[..end].to_owned();
            rest = &rest[end..];
        }
        rest = rest.trim_start();
        any = true;
        match key {
            "level" => entry.level = value,
            "msg" => entry.msg = value,
            _ => {
                entry.fields.insert(key.to_owned(), value);
            }
        }
    }
    any.then_some(entry)
}

/// Decodes a Go-quoted string (after its opening quote); returns the text and the bytes
/// used, closing quote included.
fn unquote(text: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'x' => {
                        let hex: String = (0..2)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
                    }
                    'u' | 'U' => {
                        let n = if escaped == 'u' { 4 } else { 8 };
                        let hex: String = (0..n)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// How a hook run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status", content = "message")]
pub enum Outcome {
    Ok,
    Failed(String),
    /// The pod had already ended (`Succeeded`/`Failed`): Velero did not exec.
    Skipped(String),
    /// The log ends before the hook did.
    Unknown,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Failed(message) => write!(f, "error: {message}"),
            Outcome::Skipped(message) => write!(f, "skipped: {message}"),
            Outcome::Unknown => f.write_str("no result in the log"),
        }
    }
}

/// One hook Velero ran (or skipped), as its log tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRun {
    /// `namespace/name`, where the log names the pod.
    pub pod: Option<String>,
    pub phase: String,
    /// `annotation` or `spec` (`backupSpec` before Velero 1.13).
    pub source: String,
    /// The fields below are `null` in JSON where the log line does not give them.
    #[serde(serialize_with = "empty_as_null")]
    pub name: String,
    #[serde(serialize_with = "empty_as_null")]
    pub container: String,
    /// The argv when the log gives it as a list (JSON format); `None` from the text
    /// format, whose `[/bin/sh -c a b]` cannot tell where one argument ends.
    pub command: Option<Vec<String>>,
    /// `hookCommand` as Velero printed it (`[/bin/ls -a]` in text format).
    #[serde(serialize_with = "empty_as_null")]
    pub command_text: String,
    #[serde(serialize_with = "empty_as_null")]
    pub on_error: String,
    #[serde(serialize_with = "empty_as_null")]
    pub timeout: String,
    pub outcome: Outcome,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

fn empty_as_null<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    if text.is_empty() {
        serializer.serialize_none()
    } else {
        serializer.serialize_str(text)
    }
}

/// The pod a line names (`namespace`/`name` fields, or `pod=ns/name`).
fn pod_of(entry: &Entry) -> Option<String> {
    if let Some(pod) = entry.field("pod") {
        return Some(pod.to_owned());
    }
    let name = entry.field("name")?;
    Some(match entry.field("namespace") {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_owned(),
    })
}

/// Every hook run in a backup log, in order.
pub fn hook_runs(log: &str) -> Vec<HookRun> {
    let mut runs: Vec<HookRun> = Vec::new();
    // The run that later stdout/stderr/error lines belong to.
    let mut open: Option<usize> = None;
    for entry in log.lines().filter_map(parse_line) {
        let msg = entry.msg.as_str();
        if msg == "running exec hook" {
            // As Velero's text format prints it, whichever format the log is in.
            let command_text = match &entry.command {
                Some(argv) => format!("[{}]", argv.join(" ")),
                None => entry.field("hookCommand").unwrap_or_default().to_owned(),
            };
            runs.push(HookRun {
                pod: pod_of(&entry),
                phase: entry.field("hookPhase").unwrap_or_default().to_owned(),
                source: entry.field("hookSource").unwrap_or_default().to_owned(),
                name: entry.field("hookName").unwrap_or_default().to_owned(),
                container: entry.field("hookContainer").unwrap_or_default().to_owned(),
                command: entry.command.clone(),
                command_text,
                on_error: entry.field("hookOnError").unwrap_or_default().to_owned(),
                timeout: entry
                    .field("hookTimeout")
                    .unwrap_or_default()
                    .trim_start_matches('{')
                    .trim_end_matches('}')
                    .to_owned(),
                outcome: Outcome::Unknown,
                stdout: None,
                stderr: None,
            });
            open = Some(runs.len() - 1);
        } else if let Some(text) = msg.strip_prefix("stdout: ").or(msg.strip_prefix("stdout:")) {
            if let Some(run) = open.and_then(|i| runs.get_mut(i)) {
                run.stdout = Some(text.to_owned());
                if run.outcome == Outcome::Unknown {
                    run.outcome = Outcome::Ok;
                }
            }
        } else if let Some(text) = msg.strip_prefix("stderr: ").or(msg.strip_prefix("stderr:")) {
            if let Some(run) = open.and_then(|i| runs.get_mut(i)) {
                run.stderr = Some(text.to_owned());
                if run.outcome == Outcome::Unknown {
                    run.outcome = Outcome::Ok;
                }
            }
        } else if msg == "Error executing hook" {
            if let Some(run) = open.and_then(|i| runs.get_mut(i)) {
                run.outcome = Outcome::Failed(
                    entry
                        .field("error")
                        .filter(|e| !e.is_empty())
                        .unwrap_or("(no error message)")
                        .to_owned(),
                );
                if run.pod.is_none() {
                    run.pod = pod_of(&entry);
                }
            }
            open = None;
        } else if msg.starts_with("Pod entered phase ") && msg.contains("exec hooks ran") {
            let phase_name = msg
                .trim_start_matches("Pod entered phase ")
                .split_whitespace()
                .next()
                .unwrap_or_default();
            runs.push(HookRun {
                pod: pod_of(&entry),
                phase: entry.field("hookPhase").unwrap_or_default().to_owned(),
                source: entry.field("hookSource").unwrap_or_default().to_owned(),
                name: entry.field("hookName").unwrap_or_default().to_owned(),
                container: entry.field("hookContainer").unwrap_or_default().to_owned(),
                command: None,
                command_text: entry.field("hookCommand").unwrap_or_default().to_owned(),
                on_error: entry.field("hookOnError").unwrap_or_default().to_owned(),
                timeout: String::new(),
                outcome: Outcome::Skipped(format!("pod is {phase_name}")),
                stdout: None,
                stderr: None,
            });
            open = None;
        } else if let Some(phase) = msg
            .strip_prefix("Error running ")
            .and_then(|m| m.strip_suffix(" hooks for pod"))
        {
            // Names the pod whose hook just failed (Velero 1.15+ names it only here).
            let pod = pod_of(&entry);
            if let Some(run) = runs
                .iter_mut()
                .rev()
                .find(|r| r.phase == phase && matches!(r.outcome, Outcome::Failed(_)))
                && run.pod.is_none()
            {
                run.pod = pod;
            }
            open = None;
        }
    }
    // A run with no stdout, stderr or error before the log moved on: Velero prints stdout
    // and stderr only when the command ends, so without them the outcome is unknown.
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT_1_16: &str = r#"time="2025-03-01T10:00:01Z" level=info msg="Setting up backup temp file" backup=velero/b1 logSource="pkg/controller/backup_controller.go:678"
time="2025-03-01T10:00:02Z" level=info msg="running exec hook" backup=velero/b1 hookCommand="[/sbin/fsfreeze --freeze /var/log/nginx]" hookContainer=fsfreeze hookName="<from-annotation>" hookOnError=Fail hookPhase=pre hookSource=annotation hookTimeout="{30s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:133"
time="2025-03-01T10:00:02Z" level=info msg="stdout: " backup=velero/b1 hookCommand="[/sbin/fsfreeze --freeze /var/log/nginx]" hookContainer=fsfreeze hookName="<from-annotation>" hookOnError=Fail hookPhase=pre hookSource=annotation hookTimeout="{30s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:180"
time="2025-03-01T10:00:02Z" level=info msg="stderr: " backup=velero/b1 hookCommand="[/sbin/fsfreeze --freeze /var/log/nginx]" hookContainer=fsfreeze hookName="<from-annotation>" hookOnError=Fail hookPhase=pre hookSource=annotation hookTimeout="{30s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:181"
time="2025-03-01T10:00:03Z" level=info msg="running exec hook" backup=velero/b1 hookCommand="[/bin/sh -c pg_dump -f /backup/db.sql]" hookContainer=db hookName=dump hookOnError=Continue hookPhase=pre hookSource=spec hookTimeout="{5m0s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:133"
time="2025-03-01T10:00:04Z" level=info msg="stdout: dumped 3 tables\n" backup=velero/b1 hookCommand="[/bin/sh -c pg_dump -f /backup/db.sql]" hookContainer=db hookName=dump hookOnError=Continue hookPhase=pre hookSource=spec hookTimeout="{5m0s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:180"
time="2025-03-01T10:00:04Z" level=info msg="stderr: " backup=velero/b1 hookCommand="[/bin/sh -c pg_dump -f /backup/db.sql]" hookContainer=db hookName=dump hookOnError=Continue hookPhase=pre hookSource=spec hookTimeout="{5m0s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:181"
time="2025-03-01T10:00:05Z" level=info msg="running exec hook" backup=velero/b1 hookCommand="[/bin/false]" hookContainer=app hookName="<from-annotation>" hookOnError=Fail hookPhase=pre hookSource=annotation hookTimeout="{30s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:133"
time="2025-03-01T10:00:05Z" level=error msg="Error executing hook" backup=velero/b1 error="command terminated with exit code 1" hookPhase=pre hookSource=annotation hookType=exec logSource="internal/hook/item_hook_handler.go:246"
time="2025-03-01T10:00:05Z" level=error msg="Error running pre hooks for pod" backup=velero/b1 error="command terminated with exit code 1" logSource="pkg/backup/backup.go:866" name=broken-0 namespace=shop
time="2025-03-01T10:00:06Z" level=info msg="Pod entered phase Succeeded before some post-backup exec hooks ran" backup=velero/b1 hookPhase=post hookSource=annotation hookType=exec logSource="internal/hook/item_hook_handler.go:228"
time="2025-03-01T10:00:07Z" level=info msg="running exec hook" backup=velero/b1 hookCommand="[/sbin/fsfreeze --unfreeze /var/log/nginx]" hookContainer=fsfreeze hookName="<from-annotation>" hookOnError=Fail hookPhase=post hookSource=annotation hookTimeout="{30s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:133"
time="2025-03-01T10:00:37Z" level=error msg="Error executing hook" backup=velero/b1 error="timed out after 30s" hookPhase=post hookSource=annotation hookType=exec logSource="internal/hook/item_hook_handler.go:246"
"#;

    #[test]
    fn text_log_from_velero_1_15_and_later() {
        let runs = hook_runs(TEXT_1_16);
        let got: Vec<_> = runs
            .iter()
            .map(|r| {
                (
                    r.pod.as_deref().unwrap_or("?"),
                    r.phase.as_str(),
                    r.source.as_str(),
                    r.name.as_str(),
                    r.container.as_str(),
                    r.command_text.as_str(),
                    r.outcome.to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "?",
                    "pre",
                    "annotation",
                    "<from-annotation>",
                    "fsfreeze",
                    "[/sbin/fsfreeze --freeze /var/log/nginx]",
                    "ok".to_owned()
                ),
                (
                    "?",
                    "pre",
                    "spec",
                    "dump",
                    "db",
                    "[/bin/sh -c pg_dump -f /backup/db.sql]",
                    "ok".to_owned()
                ),
                (
                    "shop/broken-0",
                    "pre",
                    "annotation",
                    "<from-annotation>",
                    "app",
                    "[/bin/false]",
                    "error: command terminated with exit code 1".to_owned()
                ),
                (
                    "?",
                    "post",
                    "annotation",
                    "",
                    "",
                    "",
                    "skipped: pod is Succeeded".to_owned()
                ),
                (
                    "?",
                    "post",
                    "annotation",
                    "<from-annotation>",
                    "fsfreeze",
                    "[/sbin/fsfreeze --unfreeze /var/log/nginx]",
                    "error: timed out after 30s".to_owned()
                ),
            ]
        );
        assert_eq!(runs[1].stdout.as_deref(), Some("dumped 3 tables\n"));
        assert_eq!(runs[1].stderr.as_deref(), Some(""));
        assert_eq!(runs[1].timeout, "5m0s");
        assert_eq!(runs[0].on_error, "Fail");
    }

    #[test]
    fn text_log_from_velero_1_14_names_every_pod() {
        let log = r#"time="2024-05-01T08:00:00Z" level=info msg="running exec hook" backup=velero/old hookCommand="[/bin/ls -a]" hookContainer=c hookName=list hookOnError=Continue hookPhase=post hookSource=backupSpec hookTimeout="{30s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:125" name=web-1 namespace=blog resource=pods
time="2024-05-01T08:00:00Z" level=info msg="stdout: .\n..\n" backup=velero/old hookCommand="[/bin/ls -a]" hookContainer=c hookName=list hookOnError=Continue hookPhase=post hookSource=backupSpec hookTimeout="{30s}" hookType=exec logSource="pkg/podexec/pod_command_executor.go:172" name=web-1 namespace=blog resource=pods
time="2024-05-01T08:00:00Z" level=info msg="stderr: ls: warning \"x\"" backup=velero/old hookContainer=c hookName=list hookPhase=post name=web-1 namespace=blog resource=pods
"#;
        let runs = hook_runs(log);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].pod.as_deref(), Some("blog/web-1"));
        assert_eq!(runs[0].source, "backupSpec");
        assert_eq!(runs[0].stdout.as_deref(), Some(".\n..\n"));
        assert_eq!(runs[0].stderr.as_deref(), Some("ls: warning \"x\""));
        assert_eq!(runs[0].outcome, Outcome::Ok);
    }

    #[test]
    fn json_log() {
        let log = r#"{"backup":"velero/b2","level":"info","logSource":"pkg/controller/backup_controller.go:678","msg":"Setting up backup temp file","time":"2025-03-01T10:00:01Z"}
{"backup":"velero/b2","hookCommand":["/sbin/fsfreeze","--freeze","/data dir"],"hookContainer":"fsfreeze","hookName":"\u003cfrom-annotation\u003e","hookOnError":"Fail","hookPhase":"pre","hookSource":"annotation","hookTimeout":"30s","hookType":"exec","level":"info","logSource":"pkg/podexec/pod_command_executor.go:133","msg":"running exec hook","time":"2025-03-01T10:00:02Z"}
{"backup":"velero/b2","hookCommand":["/sbin/fsfreeze","--freeze","/data dir"],"hookContainer":"fsfreeze","hookName":"\u003cfrom-annotation\u003e","hookPhase":"pre","level":"info","msg":"stdout: ","time":"2025-03-01T10:00:02Z"}
{"backup":"velero/b2","hookCommand":["/bin/false"],"hookContainer":"app","hookName":"check","hookOnError":"Continue","hookPhase":"post","hookSource":"spec","hookTimeout":"1m0s","hookType":"exec","level":"info","msg":"running exec hook","time":"2025-03-01T10:00:03Z"}
{"backup":"velero/b2","error":"command terminated with exit code 1","hookPhase":"post","hookSource":"spec","hookType":"exec","level":"error","msg":"Error executing hook","time":"2025-03-01T10:00:03Z"}
not a log line at all
{"truncated": 
"#;
        let runs = hook_runs(log);
        assert_eq!(runs.len(), 2);
        assert_eq!(
            runs[0].command.as_deref(),
            Some(&["/sbin/fsfreeze", "--freeze", "/data dir"].map(String::from)[..])
        );
        assert_eq!(runs[0].command_text, "[/sbin/fsfreeze --freeze /data dir]");
        assert_eq!(runs[0].name, "<from-annotation>");
        assert_eq!(runs[0].timeout, "30s");
        assert_eq!(runs[0].outcome, Outcome::Ok);
        assert_eq!(runs[1].name, "check");
        assert_eq!(
            runs[1].outcome,
            Outcome::Failed("command terminated with exit code 1".into())
        );
    }

    #[test]
    fn lines_that_are_not_logs() {
        for line in [
            "",
            "   ",
            "garbage",
            "key=\"unterminated",
            "=x",
            "{]",
            "a b=c",
        ] {
            // Never panics; yields an entry only for well-formed lines.
            let _ = parse_line(line);
        }
        assert_eq!(parse_line("garbage"), None);
        assert_eq!(parse_line("key=\"unterminated"), None);
        let entry = parse_line(r#"level=info msg="a \"quoted\" \x41\u00e9 word" k=v"#).unwrap();
        assert_eq!(entry.msg, "a \"quoted\" Aé word");
        assert_eq!(entry.fields["k"], "v");
        assert_eq!(hook_runs("stdout: nothing to attach to\n"), vec![]);
    }
}
