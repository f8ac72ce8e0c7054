//! `kubectl hooks remove`: delete hook annotations from pods or pod templates, one merge
//! patch per object with the resourceVersion precondition (re-read and retried on conflict).

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, ValueEnum};
use serde_json::{Map, Value};
use velero_hooks::keys::Family;
use velero_hooks::{Finding, ObjectReport};

use super::annotate::{ObjectFormat, print_objects};
use super::{EXIT_FAILURE, EXIT_OK, unusable};
use crate::cli::GlobalArgs;
use crate::cluster::{Cluster, block_on};
use crate::edit::{self, AnnotationEdit, Changes, DryRun};
use crate::selection::Selection;

#[derive(Debug, Args)]
#[command(
    after_help = "Phases and the keys they remove (every key under the prefix, misspelt ones too):
  pre      pre.hook.backup.velero.io/* and the legacy hook.backup.velero.io/* (Velero reads
           the legacy keys as the pre hook once the pre. command is gone)
  post     post.hook.backup.velero.io/*
  backup   pre and post (the default)
  restore  post.hook.restore.velero.io/* and init.hook.restore.velero.io/*
  all      backup and restore"
)]
pub struct RemoveArgs {
    /// TYPE/NAME (several allowed), TYPE NAME..., or TYPE with -l
    #[arg(value_name = "TYPE[/NAME]")]
    pub resources: Vec<String>,
    /// Which hooks to remove
    #[arg(long, value_enum, default_value = "backup")]
    pub phase: RemovePhase,
    /// Remove from every object of TYPE matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// none: write; client: show the result only; server: let the API server check it (dryRun=All)
    #[arg(long, value_enum, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: DryRun,
    /// Print the changed objects
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<ObjectFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RemovePhase {
    Pre,
    Post,
    Backup,
    Restore,
    All,
}

impl RemovePhase {
    pub fn families(self) -> &'static [Family] {
        match self {
            RemovePhase::Pre => &[Family::BackupPre, Family::BackupLegacy],
            RemovePhase::Post => &[Family::BackupPost],
            RemovePhase::Backup => &[Family::BackupPre, Family::BackupLegacy, Family::BackupPost],
            RemovePhase::Restore => &[Family::RestorePost, Family::RestoreInit],
            RemovePhase::All => &Family::ALL,
        }
    }
}

struct RemoveEdit {
    phase: RemovePhase,
}

impl AnnotationEdit for RemoveEdit {
    fn changes(
        &self,
        _object: &Value,
        annotations: &Map<String, Value>,
    ) -> anyhow::Result<Changes> {
        Ok(annotations
            .keys()
            .filter(|key| {
                self.phase
                    .families()
                    .iter()
                    .any(|f| key.starts_with(f.prefix()))
            })
            .map(|key| (key.clone(), None))
            .collect())
    }

    /// Removing hooks never makes a kept hook wrong: nothing blocks a removal.
    fn blocking<'r>(&self, _report: &'r ObjectReport) -> Vec<&'r Finding> {
        Vec::new()
    }
}

pub fn run(global: &GlobalArgs, args: &RemoveArgs) -> anyhow::Result<ExitCode> {
    let selection =
        Selection::parse(&args.resources, args.selector.as_deref(), &[]).map_err(unusable)?;
    block_on(run_live(global, args, &selection))?
}

async fn run_live(
    global: &GlobalArgs,
    args: &RemoveArgs,
    selection: &Selection,
) -> anyhow::Result<ExitCode> {
    let cluster = Cluster::connect(global).await?;
    let objects = selection.fetch(&cluster).await?;
    // Asked after the objects, so that an error about them is the first thing said.
    let global = &global.predicting(crate::velero_release::resolve(&cluster, global).await);
    if objects.is_empty() {
        bail!("no objects passed to remove: nothing matches the selector");
    }
    let edit = RemoveEdit { phase: args.phase };
    let mut plans = Vec::new();
    for object in objects {
        plans.push(edit::plan(object, &edit, global.velero_version)?);
    }
    let mut printed = Vec::new();
    let mut failures = 0;
    for plan in plans {
        let name = plan.qualified_name();
        if plan.changes.is_empty() {
            eprintln!(
                "{name}: no {} hook annotations to remove",
                format!("{:?}", args.phase).to_ascii_lowercase()
            );
            printed.push(plan.after);
            continue;
        }
        let removed = plan.changes.len();
        let suffix = match args.dry_run {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        };
        let result = match args.dry_run {
            DryRun::Client => Ok(plan.after.clone()),
            server => edit::write(
                &cluster,
                plan,
                &edit,
                global.velero_version,
                server == DryRun::Server,
            )
            .await
            .map(|(stored, _)| stored),
        };
        match result {
            Ok(object) => {
                if args.output.is_none() {
                    println!(
                        "{name}: {removed} hook annotation{} removed{suffix}",
                        if removed == 1 { "" } else { "s" }
                    );
                }
                printed.push(object);
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                failures += 1;
            }
        }
    }
    if let Some(format) = args.output {
        print_objects(&printed, format)?;
    }
    Ok(ExitCode::from(if failures > 0 {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}
