//! The table of `kubectl hooks get`: one row per hook (annotation hooks, then the spec
//! hooks of the Schedules asked for), with the rules' verdict per hook.

use velero_hooks::hook::PodHooks;
use velero_hooks::keys::Family;
use velero_hooks::{Finding, Severity};

use super::Listed;
use super::schedules::{Run, ScheduleHook};
use crate::render::Table;

/// Longest command shown in the narrow table.
const COMMAND_WIDTH: usize = 48;

/// One table row: a hook, or the findings of an object not tied to any of its hooks.
struct Row {
    phase: &'static str,
    source: String,
    container: String,
    command: Vec<String>,
    on_error: String,
    timeout: String,
    written_container: Option<String>,
    written_on_error: Option<String>,
    written_timeout: Option<String>,
    /// Key prefixes whose findings belong to this row.
    families: Vec<Family>,
}

fn rows(hooks: &PodHooks) -> Vec<Row> {
    let mut rows = Vec::new();
    for hook in hooks.backup() {
        let legacy = hook.family == Family::BackupLegacy;
        rows.push(Row {
            phase: hook.phase.as_str(),
            source: if legacy {
                "legacyAnnotation"
            } else {
                "annotation"
            }
            .to_owned(),
            container: hook
                .effective_container
                .clone()
                .unwrap_or_else(|| "<none>".into()),
            command: hook.command.argv.clone(),
            on_error: hook.on_error.as_str().to_owned(),
            timeout: hook.timeout.to_string(),
            written_container: hook.container.clone(),
            written_on_error: hook.on_error_raw.clone(),
            written_timeout: hook.timeout_raw.clone(),
            families: if legacy {
                vec![Family::BackupLegacy, Family::BackupPre]
            } else {
                vec![hook.family]
            },
        });
    }
    if let Some(hook) = &hooks.restore_post {
        rows.push(Row {
            phase: "restore",
            source: "annotation".to_owned(),
            container: hook
                .effective_container
                .clone()
                .unwrap_or_else(|| "<none>".into()),
            command: hook.command.argv.clone(),
            on_error: hook.on_error.as_str().to_owned(),
            timeout: hook.exec_timeout.to_string(),
            written_container: hook.container.clone(),
            written_on_error: hook.on_error_raw.clone(),
            written_timeout: hook.exec_timeout_raw.clone(),
            families: vec![Family::RestorePost],
        });
    }
    if let Some(hook) = &hooks.restore_init {
        rows.push(Row {
            phase: "restore-init",
            source: "annotation".to_owned(),
            container: hook.name.clone().unwrap_or_else(|| "<generated>".into()),
            command: hook
                .command
                .as_ref()
                .map(|c| c.argv.clone())
                .unwrap_or_default(),
            on_error: "-".into(),
            timeout: "-".into(),
            written_container: hook.name.clone(),
            written_on_error: None,
            written_timeout: None,
            families: vec![Family::RestoreInit],
        });
    }
    rows
}

pub(super) fn table(listed: &[Listed], all_namespaces: bool, wide: bool) -> Table {
    let mut headers = Vec::new();
    if all_namespaces {
        headers.push("NAMESPACE");
    }
    headers.extend([
        "OBJECT",
        "PHASE",
        "CONTAINER",
        "COMMAND",
        "ON-ERROR",
        "TIMEOUT",
        "STATUS",
    ]);
    if wide {
        headers.extend([
            "SOURCE",
            "CONTAINER (SET)",
            "ON-ERROR (SET)",
            "TIMEOUT (SET)",
        ]);
    }
    let mut table = Table::with_headers(&headers);
    for item in listed {
        let report = &item.report;
        let object = format!("{}/{}", item.kind.kind.to_ascii_lowercase(), report.name);
        let mut rows = rows(&report.hooks);
        let mut claimed = vec![false; report.findings.len()];
        let mut statuses = Vec::new();
        for row in &rows {
            let mut mine: Vec<&Finding> = Vec::new();
            for (i, finding) in report.findings.iter().enumerate() {
                if !claimed[i]
                    && row
                        .families
                        .iter()
                        .any(|fam| finding.subject.is_annotation_of(*fam))
                {
                    claimed[i] = true;
                    mine.push(finding);
                }
            }
            statuses.push(status(&mine));
        }
        // Findings of no hook (a field without a command, a misspelt key): one row per
        // family they belong to, then one for the rest.
        let mut leftovers: Vec<(&'static str, Vec<&Finding>)> = Vec::new();
        for (finding, _) in report.findings.iter().zip(&claimed).filter(|(_, c)| !**c) {
            let phase = Family::ALL
                .iter()
                .filter(|fam| finding.subject.is_annotation_of(**fam))
                .map(|fam| family_phase(*fam))
                .next()
                .unwrap_or("-");
            match leftovers.iter_mut().find(|(p, _)| *p == phase) {
                Some((_, list)) => list.push(finding),
                None => leftovers.push((phase, vec![finding])),
            }
        }
        for hook in &item.schedule_hooks {
            rows.push(schedule_row(hook));
            statuses.push(match &hook.hook {
                Run::Runs(_) => status(&hook.findings.iter().collect::<Vec<_>>()),
                Run::Skipped(_) => "skipped: annotation hook runs".to_owned(),
            });
        }
        if rows.is_empty() && leftovers.is_empty() {
            leftovers.push(("-", Vec::new()));
        }
        for (phase, findings) in leftovers {
            rows.push(Row {
                phase,
                source: "-".to_owned(),
                container: "-".into(),
                command: Vec::new(),
                on_error: "-".into(),
                timeout: "-".into(),
                written_container: None,
                written_on_error: None,
                written_timeout: None,
                families: Vec::new(),
            });
            statuses.push(status(&findings));
        }
        for (row, status) in rows.iter().zip(statuses) {
            let mut cells = Vec::new();
            if all_namespaces {
                cells.push(report.namespace.clone().unwrap_or_else(|| "-".into()));
            }
            let command = if row.command.is_empty() {
                if row.source == "-" {
                    "<no command>"
                } else {
                    "-"
                }
                .to_owned()
            } else {
                shell_words::join(&row.command)
            };
            cells.extend([
                object.clone(),
                row.phase.to_owned(),
                row.container.clone(),
                if wide {
                    command
                } else {
                    truncate(&command, COMMAND_WIDTH)
                },
                row.on_error.clone(),
                row.timeout.clone(),
                status,
            ]);
            if wide {
                // A Schedule's hook has no per-pod value as written.
                let from_schedule = row.source.starts_with("schedule/");
                let written = |v: &Option<String>| match v {
                    Some(v) => format!("{v:?}"),
                    None if from_schedule => "-".to_owned(),
                    None => "<unset>".to_owned(),
                };
                cells.extend([
                    row.source.clone(),
                    written(&row.written_container),
                    written(&row.written_on_error),
                    written(&row.written_timeout),
                ]);
            }
            table.push_row(cells);
        }
    }
    table
}

/// A row for a Schedule's spec hook; the values as written are not shown (`-`): they are
/// the Schedule's, not the pod's.
fn schedule_row(hook: &ScheduleHook) -> Row {
    let (phase, container, command, on_error, timeout) = match &hook.hook {
        Run::Runs(run) => (
            run.phase.as_str(),
            run.effective_container
                .clone()
                .unwrap_or_else(|| "<none>".into()),
            run.command.clone(),
            run.on_error.as_str().to_owned(),
            run.timeout.to_string(),
        ),
        Run::Skipped(skipped) => (
            skipped.phase.as_str(),
            skipped.container.clone().unwrap_or_else(|| "-".into()),
            skipped.command.clone(),
            "-".into(),
            "-".into(),
        ),
    };
    Row {
        phase,
        source: hook.source.clone(),
        container,
        command,
        on_error,
        timeout,
        written_container: None,
        written_on_error: None,
        written_timeout: None,
        families: Vec::new(),
    }
}

/// The PHASE column for a key family.
fn family_phase(family: Family) -> &'static str {
    match family {
        Family::BackupPre | Family::BackupLegacy => "pre",
        Family::BackupPost => "post",
        Family::RestorePost => "restore",
        Family::RestoreInit => "restore-init",
    }
}

/// `ok`, `2 errors`, `1 warning`, `1 error, 2 warnings`.
fn status(findings: &[&Finding]) -> String {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => "ok".to_owned(),
        (e, 0) => count(e, "error"),
        (0, w) => count(w, "warning"),
        (e, w) => format!("{}, {}", count(e, "error"), count(w, "warning")),
    }
}

pub(super) fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(width - 3).collect();
        format!("{kept}...")
    }
}
