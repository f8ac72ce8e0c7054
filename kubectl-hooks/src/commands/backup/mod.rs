//! `kubectl hooks backup`: create a Velero Backup after a preflight of every hook it will
//! run, follow it, report what its hooks did, and read its log.

pub mod api;
pub mod create;
pub mod describe;
pub mod download;
pub mod log;
pub mod logs;
pub mod plan;
pub mod wait;

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::cluster::{Cluster, block_on};
use crate::velero_release;

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Check every hook the backup will run, then create it (and optionally follow it)
    Create(create::CreateArgs),
    /// Report a backup: phase, times, progress, hooks attempted and failed, errors, warnings
    Describe(describe::DescribeArgs),
    /// List backups with their hook counts, or print one (-o json|yaml)
    Get(describe::GetArgs),
    /// Print a backup's log, or only what its hooks did (--hooks-only)
    Logs(logs::LogsArgs),
    /// Show, pod by pod, the hooks Velero will run for Backups, Schedules and Restores in
    /// manifests (-f, no cluster needed) or for a Schedule of the cluster (--schedule)
    Plan(plan::PlanArgs),
}

pub fn run(global: &GlobalArgs, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    if let Some(namespace) = &global.namespace {
        anyhow::bail!(
            "-n/--namespace `{namespace}` does not apply to backups: choose what a backup takes in with --include-namespaces, and where Velero runs with --velero-namespace"
        );
    }
    if let BackupCommand::Plan(plan) = &args.command
        && plan.schedule.is_none()
    {
        return plan::run_offline(global, plan);
    }
    block_on(async {
        let cluster = Cluster::connect(global).await?;
        api::ensure_velero_installed(&cluster).await?;
        let ns = global.velero_namespace.as_str();
        match &args.command {
            BackupCommand::Create(create) => {
                let global = &global.predicting(velero_release::resolve(&cluster, global).await);
                create::run(&cluster, global, ns, create).await
            }
            BackupCommand::Describe(describe) => {
                describe::run_describe(&cluster, ns, describe).await
            }
            BackupCommand::Get(get) => describe::run_get(&cluster, ns, get).await,
            BackupCommand::Logs(logs) => logs::run(&cluster, ns, logs).await,
            BackupCommand::Plan(plan) => {
                let name = plan.schedule.as_deref().unwrap_or_default();
                let global = &global.predicting(velero_release::resolve(&cluster, global).await);
                plan::run_schedule(&cluster, global, ns, name, plan.output).await
            }
        }
    })?
}
