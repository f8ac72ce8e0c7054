//! `kubectl hooks test`: run the hooks Velero would run on pods, now, through `pods/exec`,
//! with Velero's timeout and on-error, and report what Velero would have concluded.
//! `--check` only asks each container whether the hook's program can be started.

mod exec;
mod report;
mod targets;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use serde_json::Value;
use tokio::sync::watch;
use velero_hooks::VeleroVersion;
use velero_hooks::hook::OnError;
use velero_hooks::pod::PodView;
use velero_hooks::spec::plan::{Phase, PlannedHook, container_runnable};
use velero_hooks::version::FINISHED_PODS_SKIPPED;

use crate::cli::GlobalArgs;
use crate::cluster::{Cluster, block_on};
use crate::commands::{EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK};
use report::{HookReport, Verdict};
use targets::PodHooks;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// POD, TYPE/NAME (a workload means its Running pods), or TYPE with -l
    #[arg(value_name = "TARGET")]
    pub resources: Vec<String>,
    /// Pods (or objects of TYPE) matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Only the hooks of this phase (pre and post normally run as a pair)
    #[arg(long, value_enum)]
    pub phase: Option<PhaseArg>,
    /// The spec hooks of this Backup, Schedule or Restore manifest, as Velero plans them
    #[arg(long, value_name = "PATH", conflicts_with = "schedule")]
    pub from_file: Option<PathBuf>,
    /// The spec hooks of this Schedule of the cluster
    #[arg(long, value_name = "NAME")]
    pub schedule: Option<String>,
    /// Print what would run, where and with which timeout; run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not run the hooks: only ask each container whether the hook's program can start
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,
    /// How many pods are tested at the same time
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Do not ask before running hooks on more than one pod
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: TestFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    Pre,
    Post,
    Restore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    Text,
    Json,
    Yaml,
}

/// What to do with each hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    DryRun,
    Check,
}

pub fn run(global: &GlobalArgs, args: &TestArgs) -> anyhow::Result<ExitCode> {
    block_on(run_live(global, args))?
}

async fn run_live(global: &GlobalArgs, args: &TestArgs) -> anyhow::Result<ExitCode> {
    let cluster = Cluster::connect(global).await?;
    let global = &global.predicting(crate::velero_release::resolve(&cluster, global).await);
    let plans = match targets::plans(&cluster, global, args).await {
        Ok(plans) => plans,
        Err(targets::TargetError::Unusable(err)) => {
            eprintln!("error: {err:#}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        Err(targets::TargetError::Api(err)) => return Err(err),
    };
    let wanted = |h: &PlannedHook| match args.phase {
        None => h.phase != Phase::Restore,
        Some(PhaseArg::Pre) => h.phase == Phase::Pre,
        Some(PhaseArg::Post) => h.phase == Phase::Post,
        Some(PhaseArg::Restore) => h.phase == Phase::Restore,
    };
    // Restore hooks run only when asked: say so when they are all there is.
    let restore_only = args.phase.is_none()
        && plans.iter().any(|p| !p.hooks.is_empty())
        && plans
            .iter()
            .all(|p| p.hooks.iter().all(|h| h.phase == Phase::Restore));
    let pods: Vec<targets::PodHooks> = plans
        .into_iter()
        .map(|mut p| {
            p.hooks.retain(wanted);
            p
        })
        .filter(|p| !p.hooks.is_empty())
        .collect();
    if pods.is_empty() {
        if restore_only {
            eprintln!(
                "No backup hooks to test on the selected pods; they have restore hooks, which run only with --phase restore."
            );
        } else {
            eprintln!("No hooks to test on the selected pods.");
        }
        return Ok(ExitCode::from(EXIT_OK));
    }
    let mode = if args.dry_run {
        Mode::DryRun
    } else if args.check {
        Mode::Check
    } else {
        Mode::Run
    };
    if mode == Mode::Run {
        if matches!(args.phase, Some(PhaseArg::Pre | PhaseArg::Post)) {
            eprintln!(
                "warning: --phase runs {} hooks only: nothing will undo what they do (a pre hook's freeze or lock stays until its post hook runs)",
                if args.phase == Some(PhaseArg::Pre) {
                    "pre"
                } else {
                    "post"
                }
            );
        }
        let hooks: usize = pods.iter().map(|p| p.hooks.len()).sum();
        if pods.len() > 1 && !args.yes && !confirm(pods.len(), hooks)? {
            eprintln!("Nothing was run.");
            return Ok(ExitCode::from(EXIT_FAILURE));
        }
    }

    // Ctrl-C: no new pod starts; a pod whose pre hooks ran still gets its post hooks.
    let (stop_tx, stop_rx) = watch::channel(false);
    let signal = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "Interrupted: running the post hooks of pods whose pre hooks ran, then stopping."
            );
            let _ = stop_tx.send(true);
        }
    });
    let pairs = args.phase.is_none();
    let results: Vec<Vec<HookReport>> = futures::stream::iter(pods.iter())
        .map(|pod| {
            let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &pod.namespace);
            let stop = stop_rx.clone();
            let version = global.velero_version;
            async move { test_pod(&api, pod, mode, pairs, stop, version).await }
        })
        .buffered(usize::from(args.parallel))
        .collect()
        .await;
    signal.abort();
    let reports: Vec<HookReport> = results.into_iter().flatten().collect();
    report::print(&reports, mode, args.output)?;
    let all_ok = reports.iter().all(|r| r.verdict.is_ok());
    Ok(ExitCode::from(if all_ok { EXIT_OK } else { EXIT_FAILURE }))
}

fn confirm(pods: usize, hooks: usize) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(true);
    }
    eprint!(
        "Run {hooks} hooks on {pods} pods now (hooks may freeze filesystems or lock databases)? [y/N] "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// One pod's hooks in Velero's order: pre hooks (stopping at a failure with Fail), then
/// post hooks, which run whenever a pre hook ran, even after a failure or Ctrl-C (Velero
/// would skip them after a pre failure with Fail; here they undo what the pre hook did).
async fn test_pod(
    pods: &Api<Pod>,
    pod: &targets::PodHooks,
    mode: Mode,
    pairs: bool,
    stop: watch::Receiver<bool>,
    version: VeleroVersion,
) -> Vec<HookReport> {
    let mut out = Vec::new();
    let stopped = |stop: &watch::Receiver<bool>| *stop.borrow();
    let mut pre_ran = false;
    for phase in [Phase::Pre, Phase::Post, Phase::Restore] {
        let mut stop_phase: Option<String> = None;
        for hook in pod.hooks.iter().filter(|h| h.phase == phase) {
            let mut report = HookReport::new(pod, hook, version);
            let interrupted_before = stopped(&stop) && !(phase == Phase::Post && pre_ran);
            // Since FINISHED_PODS_SKIPPED (pkg/podexec/pod_command_executor.go) Velero logs
            // "Pod entered phase <p> before some post-backup exec hooks ran" and counts the
            // hook as attempted, not failed; before, its exec fails like this test's would.
            if matches!(pod.phase.as_str(), "Succeeded" | "Failed") {
                report.verdict = if version.has(&FINISHED_PODS_SKIPPED) {
                    Verdict::Skipped {
                        reason: format!(
                            "the pod is {}: Velero skips its hooks without counting a failure",
                            pod.phase
                        ),
                    }
                } else {
                    Verdict::NotRun {
                        reason: format!(
                            "the pod is {}: Velero {version} still runs its hooks and they fail (the API server refuses exec in a completed pod); this test does not try",
                            pod.phase
                        ),
                    }
                };
            } else if let Some(reason) = &stop_phase {
                report.verdict = Verdict::NotRun {
                    reason: reason.clone(),
                };
            } else if interrupted_before {
                report.verdict = Verdict::NotRun {
                    reason: "interrupted before it started".to_owned(),
                };
            } else if let Some(missing) = missing_container(pod, hook, version) {
                report.container_missing(missing);
            } else {
                match mode {
                    Mode::DryRun => report.verdict = Verdict::WouldRun,
                    Mode::Check => report.check(pods).await,
                    Mode::Run => {
                        let mut watch_stop = stop.clone();
                        // Post hooks after pre hooks are not cut short by Ctrl-C.
                        let cancellable = !(phase == Phase::Post && pre_ran);
                        let interrupted = async move {
                            if cancellable {
                                let _ = watch_stop.wait_for(|s| *s).await;
                            } else {
                                std::future::pending::<()>().await;
                            }
                        };
                        let container = hook.effective_container.clone().unwrap_or_default();
                        let (outcome, took) = exec::run(
                            pods,
                            &pod.name,
                            &container,
                            &hook.command,
                            hook.timeout_nanos
                                .map(|n| Duration::from_nanos(n.max(0) as u64)),
                            interrupted,
                        )
                        .await;
                        report.record(outcome, took);
                        if phase == Phase::Pre {
                            pre_ran = true;
                        }
                    }
                }
                if report.verdict.stops_phase() && hook.on_error == OnError::Fail {
                    stop_phase = Some(format!(
                        "an earlier {} hook failed with on-error Fail: Velero runs no later hook of this pod",
                        phase.as_str()
                    ));
                }
                if phase == Phase::Pre && stop_phase.is_some() && pairs {
                    report.note_post_runs_anyway = true;
                }
            }
            out.push(report);
        }
    }
    out
}

/// The hook's container when Velero would not find it in the pod: the backup executor checks
/// before it execs (`ensureContainerExists`, `pkg/podexec/pod_command_executor.go`), the
/// restore handler before it waits (`podHasContainer`, `internal/hook/wait_exec_hook_handler.go`).
fn missing_container(pod: &PodHooks, hook: &PlannedHook, version: VeleroVersion) -> Option<String> {
    let container = hook.effective_container.as_deref()?;
    let view = PodView::from_json(pod.pod.get("metadata"), pod.pod.get("spec"));
    let found = match hook.phase {
        Phase::Restore => view.containers.contains(&container),
        _ => container_runnable(&view, container, version),
    };
    (!found).then(|| container.to_owned())
}

/// A Kubernetes object's `metadata.name`.
fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}
