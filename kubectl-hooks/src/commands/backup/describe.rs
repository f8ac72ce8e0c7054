//! `kubectl hooks backup describe NAME` and `kubectl hooks backup get [NAME]`: what a
//! backup did, hooks first.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use kube::api::ListParams;
use serde_json::Value;

use super::api::{self, Backup, is_finished};
use crate::cluster::{Cluster, describe_api_error};
use crate::commands::EXIT_FAILURE;
use crate::render::Table;

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Name of the Backup
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectFormat {
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Name of one Backup (default: all in the Velero namespace)
    pub name: Option<String>,
    /// Print the Backup object(s) instead of a table
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ObjectFormat>,
}

/// 0 for `Completed` and for a backup still running; 1 once it ended any other way.
pub fn exit_status(backup: &Backup) -> ExitCode {
    let phase = backup.phase();
    if phase == "Completed" || !is_finished(phase) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

pub async fn run_describe(
    cluster: &Cluster,
    velero_namespace: &str,
    args: &DescribeArgs,
) -> anyhow::Result<ExitCode> {
    let backup = get(cluster, velero_namespace, &args.name).await?;
    print!("{}", report(&backup));
    Ok(exit_status(&backup))
}

async fn get(cluster: &Cluster, velero_namespace: &str, name: &str) -> anyhow::Result<Backup> {
    match api::backups(cluster, velero_namespace).get_opt(name).await {
        Ok(Some(backup)) => Ok(backup),
        Ok(None) => anyhow::bail!(
            "backup {name} not found in namespace {velero_namespace} (list them with: kubectl hooks backup get; Velero in another namespace: --velero-namespace)"
        ),
        Err(err) => Err(describe_api_error(
            err,
            &format!("get backup {name} -n {velero_namespace}"),
        )),
    }
}

/// The report a user reads once a backup ended (or while it runs).
pub fn report(backup: &Backup) -> String {
    let status = backup.status();
    let dash = || "-".to_owned();
    let mut lines: Vec<(&str, String)> = vec![
        ("Name", backup.name().to_owned()),
        (
            "Namespace",
            backup.metadata.namespace.clone().unwrap_or_default(),
        ),
        ("Phase", backup.phase().to_owned()),
    ];
    if let Some(reason) = status.failure_reason.as_ref().filter(|r| !r.is_empty()) {
        lines.push(("Failure reason", reason.clone()));
    }
    for error in &status.validation_errors {
        lines.push(("Validation error", error.clone()));
    }
    lines.extend([
        (
            "Started",
            status.start_timestamp.clone().unwrap_or_else(dash),
        ),
        (
            "Completed",
            status.completion_timestamp.clone().unwrap_or_else(dash),
        ),
        ("Expiration", status.expiration.clone().unwrap_or_else(dash)),
        (
            "Storage location",
            Some(backup.storage_location().to_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "(Velero's default)".into()),
        ),
        (
            "Progress",
            match status.progress {
                Some(p) => format!("{} of {} items backed up", p.items_backed_up, p.total_items),
                None => dash(),
            },
        ),
        (
            "Hooks",
            match status.hook_status {
                Some(h) => format!("{} attempted, {} failed", h.hooks_attempted, h.hooks_failed),
                None => "no hook status (no hooks ran, or Velero has not written it yet)".into(),
            },
        ),
        ("Errors", status.errors.to_string()),
        ("Warnings", status.warnings.to_string()),
    ]);
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (key, value) in lines {
        out.push_str(&format!("{:<width$} {value}\n", format!("{key}:")));
    }
    let failed = status.hook_status.is_some_and(|h| h.hooks_failed > 0);
    if failed || status.errors > 0 || status.warnings > 0 {
        out.push_str(&format!(
            "\nWhat the hooks did: kubectl hooks backup logs {} --hooks-only\n",
            backup.name()
        ));
    }
    out
}

pub async fn run_get(
    cluster: &Cluster,
    velero_namespace: &str,
    args: &GetArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(format) = args.output {
        let dynamic = api::backups_dynamic(cluster, velero_namespace);
        let value: Value = match &args.name {
            Some(name) => match dynamic.get_opt(name).await {
                Ok(Some(object)) => serde_json::to_value(object)?,
                Ok(None) => {
                    anyhow::bail!("backup {name} not found in namespace {velero_namespace}")
                }
                Err(err) => return Err(describe_api_error(err, &format!("get backup {name}"))),
            },
            None => {
                let list = dynamic
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| describe_api_error(e, "list backups"))?;
                let items: Vec<Value> = list
                    .items
                    .into_iter()
                    .map(|mut o| {
                        o.types = Some(kube::api::TypeMeta {
                            api_version: api::API_VERSION.into(),
                            kind: "Backup".into(),
                        });
                        serde_json::to_value(o)
                    })
                    .collect::<Result<_, _>>()?;
                serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items})
            }
        };
        match format {
            ObjectFormat::Json => println!("{}", serde_json::to_string_pretty(&value)?),
            ObjectFormat::Yaml => print!("{}", serde_saphyr::to_string(&value)?),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let backups = match &args.name {
        Some(name) => vec![get(cluster, velero_namespace, name).await?],
        None => {
            let mut items = api::backups(cluster, velero_namespace)
                .list(&ListParams::default())
                .await
                .map_err(|e| describe_api_error(e, "list backups"))?
                .items;
            // Newest first, as `velero backup get` prints them.
            items.sort_by(|a, b| {
                b.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0)
                    .cmp(&a.metadata.creation_timestamp.as_ref().map(|t| t.0))
            });
            items
        }
    };
    if backups.is_empty() {
        eprintln!("No backups found in namespace {velero_namespace}.");
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", table(&backups, jiff::Timestamp::now()));
    Ok(ExitCode::SUCCESS)
}

pub fn table(backups: &[Backup], now: jiff::Timestamp) -> String {
    let mut table = Table::new([
        "NAME",
        "STATUS",
        "HOOKS ATTEMPTED/FAILED",
        "ERRORS",
        "WARNINGS",
        "CREATED",
        "EXPIRES",
        "STORAGE LOCATION",
    ]);
    for backup in backups {
        let status = backup.status();
        table.row([
            backup.name().to_owned(),
            backup.phase().to_owned(),
            status
                .hook_status
                .map(|h| format!("{}/{}", h.hooks_attempted, h.hooks_failed))
                .unwrap_or_else(|| "-".into()),
            status.errors.to_string(),
            status.warnings.to_string(),
            backup
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_else(|| "-".into()),
            status
                .expiration
                .as_deref()
                .map(|e| expires_in(e, now))
                .unwrap_or_else(|| "n/a".into()),
            Some(backup.storage_location().to_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    table.to_string()
}

/// `29d`, `5h`, `12m` until the expiration (as `velero backup get` prints it).
fn expires_in(expiration: &str, now: jiff::Timestamp) -> String {
    let Ok(at) = expiration.parse::<jiff::Timestamp>() else {
        return expiration.to_owned();
    };
    // Whole seconds of the exact remaining time, rounded down as Kubernetes' and Velero's
    // human durations are: 29d23h59m59.5s left is `29d`.
    let seconds = at.duration_since(now).as_secs();
    if seconds <= 0 {
        "expired".into()
    } else if seconds >= 86_400 {
        format!("{}d", seconds / 86_400)
    } else if seconds >= 3_600 {
        format!("{}h", seconds / 3_600)
    } else {
        format!("{}m", (seconds / 60).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn backup(value: Value) -> Backup {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn report_shows_hooks_and_counts() {
        let b = backup(json!({
            "metadata": {"name": "b1", "namespace": "velero"},
            "spec": {"storageLocation": "default"},
            "status": {"phase": "PartiallyFailed", "startTimestamp": "2025-01-01T10:00:00Z",
                       "completionTimestamp": "2025-01-01T10:01:00Z",
                       "progress": {"totalItems": 12, "itemsBackedUp": 12},
                       "hookStatus": {"hooksAttempted": 3, "hooksFailed": 1}, "errors": 2}
        }));
        let text = report(&b);
        for expected in [
            "Phase:            PartiallyFailed",
            "Hooks:            3 attempted, 1 failed",
            "Progress:         12 of 12 items backed up",
            "Errors:           2",
            "Warnings:         0",
            "kubectl hooks backup logs b1 --hooks-only",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
        assert_eq!(exit_status(&b), ExitCode::from(EXIT_FAILURE));
    }

    #[test]
    fn exit_status_follows_the_phase() {
        for (phase, ok) in [
            ("Completed", true),
            ("InProgress", true),
            ("PartiallyFailed", false),
            ("Failed", false),
            ("FailedValidation", false),
        ] {
            let b = backup(json!({"status": {"phase": phase}}));
            assert_eq!(exit_status(&b) == ExitCode::SUCCESS, ok, "{phase}");
        }
        // Junk status fields read as absent, never as a crash.
        assert!(serde_json::from_value::<Backup>(json!({"status": {"phase": 3}})).is_err());
    }

    #[test]
    fn get_table() {
        let now: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let rows = [
            backup(
                json!({"metadata": {"name": "b1", "creationTimestamp": "2024-12-31T23:00:00Z"},
                "spec": {"storageLocation": "default"},
                "status": {"phase": "Completed", "expiration": "2025-01-30T00:00:00Z",
                           "hookStatus": {"hooksAttempted": 2, "hooksFailed": 0}}}),
            ),
            backup(
                json!({"metadata": {"name": "b2"}, "status": {"phase": "InProgress", "expiration": "2025-01-01T02:30:00Z"}}),
            ),
        ];
        let text = table(&rows, now);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("NAME   STATUS       HOOKS ATTEMPTED/FAILED"),
            "{text}"
        );
        assert!(
            lines[1].contains("Completed")
                && lines[1].contains("2/0")
                && lines[1].contains("29d")
                && lines[1].ends_with("default"),
            "{text}"
        );
        assert!(
            lines[2].contains("InProgress") && lines[2].contains(" - ") && lines[2].contains("2h"),
            "{text}"
        );
    }
}
