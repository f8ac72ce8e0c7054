//! `kubectl hooks backup logs NAME`: what `velero backup logs` does (a DownloadRequest for
//! the BackupLog, then the signed URL), optionally reduced to one row per hook run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use futures::StreamExt as _;
use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
use velero_hooks::duration::parse_go_duration;

use super::api::{self, DownloadRequest, DownloadRequestSpec, DownloadTarget, logs_available};
use super::download::download_gunzipped;
use super::log::{HookRun, hook_runs};
use crate::cluster::{Cluster, describe_api_error};
use crate::render::Table;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogsFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Name of the Backup
    pub name: String,
    /// Show one row per hook run (pod, container, phase, command, result, output)
    #[arg(long)]
    pub hooks_only: bool,
    /// Output format of --hooks-only
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: LogsFormat,
    /// How long to wait for Velero to sign the download URL, and for the download to start
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub timeout: String,
    /// A PEM CA bundle to trust for the download, besides the system's roots
    #[arg(long, value_name = "PATH")]
    pub cacert: Option<PathBuf>,
}

pub async fn run(
    cluster: &Cluster,
    velero_namespace: &str,
    args: &LogsArgs,
) -> anyhow::Result<ExitCode> {
    let timeout = match parse_go_duration(&args.timeout) {
        Ok(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => anyhow::bail!(
            "invalid --timeout `{}`: use a positive Go duration such as 1m",
            args.timeout
        ),
    };
    let name = args.name.as_str();
    let backup = match api::backups(cluster, velero_namespace).get_opt(name).await {
        Ok(Some(backup)) => backup,
        Ok(None) => anyhow::bail!("backup {name} not found in namespace {velero_namespace}"),
        Err(err) => return Err(describe_api_error(err, &format!("get backup {name}"))),
    };
    let phase = backup.phase();
    if !logs_available(phase) {
        anyhow::bail!(
            "logs for backup {name} are not available until it's finished processing (phase {phase}); follow it with: kubectl hooks backup describe {name}"
        );
    }
    let url = signed_url(cluster, velero_namespace, name, timeout).await?;
    if args.hooks_only {
        let mut buffer = Vec::new();
        download_gunzipped(&url, args.cacert.as_deref(), timeout, &mut buffer).await?;
        let runs = hook_runs(&String::from_utf8_lossy(&buffer));
        match args.output {
            LogsFormat::Json => println!("{}", serde_json::to_string_pretty(&runs)?),
            LogsFormat::Text => print!("{}", render_runs(name, &runs)),
        }
    } else {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        download_gunzipped(&url, args.cacert.as_deref(), timeout, &mut lock).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates a DownloadRequest for the backup's log, waits for Velero to sign its URL, and
/// deletes the request (Velero would let it expire after 10 minutes).
async fn signed_url(
    cluster: &Cluster,
    velero_namespace: &str,
    backup: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let api = api::download_requests(cluster, velero_namespace);
    let request = DownloadRequest {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(format!("{backup}-{}", random_suffix())),
            namespace: Some(velero_namespace.to_owned()),
            ..Default::default()
        },
        spec: DownloadRequestSpec {
            target: DownloadTarget {
                kind: "BackupLog".into(),
                name: backup.into(),
            },
        },
        ..DownloadRequest::default()
    };
    let created = api
        .create(&PostParams::default(), &request)
        .await
        .map_err(|e| {
            describe_api_error(
                e,
                &format!("create a DownloadRequest in {velero_namespace}"),
            )
        })?;
    let name = created.metadata.name.clone().unwrap_or_default();
    let outcome = tokio::time::timeout(timeout, wait_for_url(&api, &created)).await;
    // Tidy up whatever happened; a request already gone is fine.
    let _ = api.delete(&name, &DeleteParams::default()).await;
    match outcome {
        Ok(result) => result,
        Err(_) => anyhow::bail!(
            "download request download url timeout, check velero server logs for errors. backup storage location may not be available (waited {}s for Velero to answer DownloadRequest {name} -n {velero_namespace})",
            timeout.as_secs()
        ),
    }
}

async fn wait_for_url(
    api: &Api<DownloadRequest>,
    created: &DownloadRequest,
) -> anyhow::Result<String> {
    let name = created.metadata.name.clone().unwrap_or_default();
    let mut current = created.clone();
    loop {
        if let Some(status) = &current.status {
            if let Some(url) = status.download_url.as_ref().filter(|u| !u.is_empty()) {
                return Ok(url.clone());
            }
            if status.phase.as_deref() == Some("Failed") {
                anyhow::bail!(
                    "Velero refused DownloadRequest {name}: {}",
                    status.message.as_deref().unwrap_or("no message")
                );
            }
        }
        let version = current
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        let params = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(60);
        match api.watch(&params, &version).await {
            Ok(stream) => {
                let mut stream = stream.boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(WatchEvent::Added(dr)) | Ok(WatchEvent::Modified(dr)) => {
                            current = dr;
                            break;
                        }
                        Ok(WatchEvent::Deleted(_)) => {
                            anyhow::bail!(
                                "DownloadRequest {name} was deleted before Velero answered it"
                            )
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
        // After an event, a closed stream or an error: read it again.
        match api.get_opt(&name).await {
            Ok(Some(dr)) => current = dr,
            Ok(None) => {
                anyhow::bail!("DownloadRequest {name} was deleted before Velero answered it")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// 10 hex digits from the process' random hashing keys and the clock.
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:010x}", hasher.finish() & 0xff_ffff_ffff)
}

/// A table of hook runs, then the output of those that printed something.
pub fn render_runs(backup: &str, runs: &[HookRun]) -> String {
    if runs.is_empty() {
        return format!(
            "No hook ran in backup {backup} (its log has no `running exec hook` line).\n"
        );
    }
    let mut table = Table::new([
        "#",
        "POD",
        "PHASE",
        "HOOK",
        "CONTAINER",
        "COMMAND",
        "RESULT",
    ]);
    for (i, run) in runs.iter().enumerate() {
        table.row([
            (i + 1).to_string(),
            run.pod.clone().unwrap_or_else(|| "-".into()),
            run.phase.clone(),
            if run.source == "annotation" {
                "annotation".into()
            } else {
                format!("{} {}", run.source, run.name)
            },
            Some(run.container.clone())
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "-".into()),
            Some(run.command_text.clone())
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "-".into()),
            run.outcome.to_string(),
        ]);
    }
    let mut out = table.to_string();
    if runs.iter().any(|r| r.pod.is_none()) {
        out.push_str("(POD `-`: Velero 1.15 and later name the pod only when its hooks fail)\n");
    }
    for (i, run) in runs.iter().enumerate() {
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            if let Some(text) = text.as_ref().filter(|t| !t.trim().is_empty()) {
                out.push_str(&format!("\n#{} {stream}:\n", i + 1));
                for line in text.trim_end().lines() {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
    }
    let failed = runs
        .iter()
        .filter(|r| matches!(r.outcome, super::log::Outcome::Failed(_)))
        .count();
    out.push_str(&format!(
        "\n{} hook run{}, {failed} failed\n",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_differ() {
        let a = random_suffix();
        assert_eq!(a.len(), 10);
        assert_ne!(a, random_suffix());
    }

    #[test]
    fn rendered_runs() {
        let log = r#"time="t" level=info msg="running exec hook" backup=velero/b1 hookCommand="[/bin/echo hi]" hookContainer=app hookName="<from-annotation>" hookOnError=Fail hookPhase=pre hookSource=annotation hookTimeout="{30s}" hookType=exec
time="t" level=info msg="stdout: hi\n" backup=velero/b1 hookPhase=pre hookSource=annotation
time="t" level=info msg="stderr: " backup=velero/b1 hookPhase=pre hookSource=annotation
"#;
        let text = render_runs("b1", &hook_runs(log));
        assert!(
            text.contains("1   -     pre     annotation   app         [/bin/echo hi]   ok"),
            "{text}"
        );
        assert!(text.contains("#1 stdout:\n  hi\n"), "{text}");
        assert!(text.ends_with("1 hook run, 0 failed\n"), "{text}");
        assert!(render_runs("b1", &[]).starts_with("No hook ran"));
    }
}
