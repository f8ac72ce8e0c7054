//! `kubectl hooks annotate`: add or replace one backup hook (pre or post) on pods or on
//! the pod template of workloads. The object is checked as it will be after the change,
//! with the same rules and the same text as `validate`; when the hook being written has
//! errors, nothing is written to any object.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use serde_json::{Map, Value};
use velero_hooks::hook::BackupPhase;
use velero_hooks::keys::{self, Family, Field};
use velero_hooks::normalize::{Normalizations, normalize};
use velero_hooks::workload::find_kind;
use velero_hooks::{Finding, ObjectReport, Severity, VeleroVersion, WorkloadKind, locate};

use super::{EXIT_FAILURE, EXIT_OK, unusable};
use crate::cli::GlobalArgs;
use crate::cluster::{Cluster, block_on};
use crate::edit::{self, AnnotationEdit, Changes, DryRun, Plan};
use crate::render::finding_block;
use crate::selection::{Selection, get_object, read_documents};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  kubectl hooks annotate deploy/web --phase pre --container fsfreeze --on-error Fail --timeout 1m \\
      --command '[\"/sbin/fsfreeze\",\"--freeze\",\"/var/log/nginx\"]'
  kubectl hooks annotate deploy/web --phase post -- /sbin/fsfreeze --unfreeze /var/log/nginx
  kubectl hooks annotate pods -l app=db --phase pre --dry-run=server -- /bin/sync
  kubectl hooks annotate --local -f deploy.yaml --phase pre -- /bin/sync > deploy.hooked.yaml")]
pub struct AnnotateArgs {
    /// TYPE/NAME (several allowed), TYPE NAME..., or TYPE with -l
    #[arg(value_name = "TYPE[/NAME]")]
    pub resources: Vec<String>,
    /// The command as Velero reads it: a JSON array of strings
    #[arg(long, value_name = "JSON", conflicts_with = "argv")]
    pub command: Option<String>,
    /// The command as separate words after `--` (stored as a JSON array)
    #[arg(last = true, value_name = "COMMAND")]
    pub argv: Vec<String>,
    /// Which backup hook: before (pre) or after (post) the pod is backed up
    #[arg(long, value_enum)]
    pub phase: Phase,
    /// Container to run the command in (default: Velero picks the first container)
    #[arg(short = 'c', long, value_name = "NAME")]
    pub container: Option<String>,
    /// Fail or Continue (Velero honours only these exact spellings)
    #[arg(long, value_name = "Fail|Continue")]
    pub on_error: Option<String>,
    /// How long Velero lets the command run, a Go duration (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Replace an existing hook (or field) of this phase
    #[arg(long)]
    pub overwrite: bool,
    /// Manifests naming the objects to annotate (with --local: the manifests to edit)
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Annotate every object of TYPE matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// none: write; client: show the result only; server: let the API server check it (dryRun=All), write nothing
    #[arg(long, value_enum, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: DryRun,
    /// Print the changed objects
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<ObjectFormat>,
    /// Edit the manifests given with -f and print them; no cluster is contacted. The
    /// output is re-serialised: comments and formatting are not kept, keys are sorted
    #[arg(long, requires = "files")]
    pub local: bool,
    /// Also pin the container Velero would pick and write the defaults Velero applies
    /// (on-error Continue, timeout 30s) explicitly
    #[arg(long)]
    pub normalize: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    Pre,
    Post,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectFormat {
    Yaml,
    Json,
}

/// The hook to write, from the flags.
pub struct HookEdit {
    phase: BackupPhase,
    command: Option<String>,
    container: Option<String>,
    on_error: Option<String>,
    timeout: Option<String>,
    overwrite: bool,
    normalize: bool,
    version: VeleroVersion,
}

impl HookEdit {
    pub fn from_args(args: &AnnotateArgs, version: VeleroVersion) -> anyhow::Result<Self> {
        let command = match (&args.command, args.argv.is_empty()) {
            (Some(_), false) => {
                bail!("give the command either with --command or after `--`, not both")
            }
            (Some(json), true) => Some(json.clone()),
            (None, false) => {
                if let [word] = args.argv.as_slice()
                    && serde_json::from_str::<Vec<String>>(word).is_ok()
                {
                    bail!(
                        "the word after `--` is a JSON array, so Velero would run a program named `{word}`: \
                         give the words themselves (`-- /bin/sync`) or the array as --command '{word}'"
                    );
                }
                Some(velero_hooks::command::to_json_array(&args.argv))
            }
            (None, true) => None,
        };
        if command.as_deref() == Some("") {
            bail!(
                "--command is empty: to remove a hook use `kubectl hooks remove --phase {}`",
                phase_name(args.phase)
            );
        }
        if command.is_none()
            && args.container.is_none()
            && args.on_error.is_none()
            && args.timeout.is_none()
            && !args.normalize
        {
            bail!(
                "nothing to write: give the command (--command '[\"/bin/sync\"]' or `-- /bin/sync`), \
                 or --container/--on-error/--timeout to change an existing hook"
            );
        }
        Ok(HookEdit {
            phase: match args.phase {
                Phase::Pre => BackupPhase::Pre,
                Phase::Post => BackupPhase::Post,
            },
            command,
            container: args.container.clone(),
            on_error: args.on_error.clone(),
            timeout: args.timeout.clone(),
            overwrite: args.overwrite,
            normalize: args.normalize,
            version,
        })
    }

    fn family(&self) -> Family {
        self.phase.family()
    }

    /// Whether a finding concerns the hook being written.
    fn concerns(&self, finding: &Finding) -> bool {
        finding.subject.is_annotation_of(self.family())
            || (self.phase == BackupPhase::Pre
                && finding.subject.is_annotation_of(Family::BackupLegacy))
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Pre => "pre",
        Phase::Post => "post",
    }
}

impl AnnotationEdit for HookEdit {
    fn changes(&self, object: &Value, annotations: &Map<String, Value>) -> anyhow::Result<Changes> {
        let family = self.family();
        let mut changes = Changes::new();
        let mut replaced = Vec::new();
        let mut set = |key: &str, new: Option<&str>| {
            let old = annotations.get(key);
            let unchanged = match (old, new) {
                (Some(Value::String(old)), Some(new)) => old == new,
                (None, None) => true,
                _ => false,
            };
            if unchanged {
                return;
            }
            if let Some(old) = old
                && old.as_str() != Some("")
            {
                let shown = old.as_str().map_or_else(|| old.to_string(), str::to_owned);
                replaced.push(format!("{key}=`{shown}`"));
            }
            changes.insert(key.to_owned(), new.map(str::to_owned));
        };
        let fields = [
            (Field::Container, self.container.as_deref()),
            (Field::OnError, self.on_error.as_deref()),
            (Field::Timeout, self.timeout.as_deref()),
        ];
        if let Some(command) = &self.command {
            // A new command replaces the whole hook: fields not given again are removed.
            set(keys::name(family, Field::Command), Some(command));
            for (field, value) in fields {
                set(keys::name(family, field), value);
            }
            if self.phase == BackupPhase::Pre {
                // The legacy keys are the pre hook too: replacing it replaces them.
                for key in keys::KEYS
                    .iter()
                    .filter(|k| k.family == Family::BackupLegacy)
                {
                    set(key.name, None);
                }
            }
        } else {
            for (field, value) in fields {
                if let Some(value) = value {
                    set(keys::name(family, field), Some(value));
                }
            }
        }
        if !replaced.is_empty() && !self.overwrite {
            bail!(
                "already has a {} hook with other values ({}): pass --overwrite to replace it",
                self.phase.as_str(),
                replaced.join(", ")
            );
        }
        if self.normalize {
            let after = edit::apply_changes(object, &changes);
            let with = Normalizations {
                pin_container: true,
                explicit_defaults: true,
                json_command: false,
                migrate_legacy: false,
            };
            for operation in normalize(&after, self.version, with) {
                let (path, value) = match &operation {
                    json_patch::PatchOperation::Add(op) => (op.path.to_string(), Some(&op.value)),
                    json_patch::PatchOperation::Replace(op) => {
                        (op.path.to_string(), Some(&op.value))
                    }
                    json_patch::PatchOperation::Remove(op) => (op.path.to_string(), None),
                    _ => continue,
                };
                let Some((_, token)) = path.rsplit_once("/annotations/") else {
                    continue;
                };
                let key = token.replace("~1", "/").replace("~0", "~");
                if key.starts_with(family.prefix()) {
                    changes.insert(key, value.and_then(Value::as_str).map(str::to_owned));
                }
            }
        }
        Ok(changes)
    }

    fn blocking<'r>(&self, report: &'r ObjectReport) -> Vec<&'r Finding> {
        report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error && self.concerns(f))
            .collect()
    }
}

pub fn run(global: &GlobalArgs, args: &AnnotateArgs) -> anyhow::Result<ExitCode> {
    let edit = HookEdit::from_args(args, global.velero_version).map_err(unusable)?;
    if args.local {
        return run_local(global, args, &edit);
    }
    let selection = Selection::parse(&args.resources, args.selector.as_deref(), &args.files)
        .map_err(unusable)?;
    block_on(run_live(global, args, &edit, &selection))?
}

async fn run_live(
    global: &GlobalArgs,
    args: &AnnotateArgs,
    edit: &HookEdit,
    selection: &Selection,
) -> anyhow::Result<ExitCode> {
    let cluster = Cluster::connect(global).await?;
    let objects = selection.fetch(&cluster).await?;
    // Asked after the objects, so that an error about them is the first thing said.
    let global = &global.predicting(crate::velero_release::resolve(&cluster, global).await);
    if objects.is_empty() {
        bail!("no objects passed to annotate: nothing matches the selector");
    }
    // Plan and check every object before writing any.
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for object in objects {
        match edit::plan(object, edit, global.velero_version) {
            Ok(plan) => plans.push(plan),
            Err(error) => problems.push(format!("error: {error:#}")),
        }
    }
    let refused = report_findings(&plans, edit, "");
    for problem in &problems {
        eprintln!("{problem}");
    }
    if refused > 0 || !problems.is_empty() {
        eprintln!(
            "error: refused: {} of {} object{} cannot take this hook; nothing was written",
            refused + problems.len(),
            plans.len() + problems.len(),
            if plans.len() + problems.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        return Ok(ExitCode::from(EXIT_FAILURE));
    }
    warn_about_controlled_pods(&cluster, &plans).await;
    let mut written = Vec::new();
    let mut failures = 0;
    for plan in plans {
        let name = plan.qualified_name();
        if plan.changes.is_empty() {
            println!("{name} unchanged");
            written.push(plan.after);
            continue;
        }
        match args.dry_run {
            DryRun::Client => {
                if args.output.is_none() {
                    println!("{name} annotated (dry run)");
                }
                written.push(plan.after);
            }
            DryRun::None | DryRun::Server => {
                let server = args.dry_run == DryRun::Server;
                match edit::write(&cluster, plan, edit, global.velero_version, server).await {
                    Ok((stored, plan)) => {
                        if args.output.is_none() {
                            println!(
                                "{name} annotated{}",
                                if server { " (server dry run)" } else { "" }
                            );
                        }
                        if !server {
                            note_rollout(&plan);
                        }
                        written.push(stored);
                    }
                    Err(error) => {
                        eprintln!("error: {error:#}");
                        failures += 1;
                    }
                }
            }
        }
    }
    if let Some(format) = args.output {
        print_objects(&written, format)?;
    }
    Ok(ExitCode::from(if failures > 0 {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}

/// Prints the findings about the hook being written (errors and warnings) on stderr with
/// `validate`'s text; returns how many objects are refused.
fn report_findings(plans: &[Plan], edit: &HookEdit, location: &str) -> usize {
    let mut refused = 0;
    for plan in plans {
        let Some(report) = &plan.report else { continue };
        let blocking = edit.blocking(report);
        for finding in report.findings.iter().filter(|f| edit.concerns(f)) {
            eprint!(
                "{}",
                finding_block(location, &report.display_name(), finding)
            );
        }
        if !blocking.is_empty() {
            refused += 1;
        }
    }
    refused
}

/// A pod managed by a controller loses its annotations when it is replaced: say so, and
/// name the object to annotate instead (the Deployment above a ReplicaSet, the CronJob
/// above a Job). One warning per owner, however many of its pods are annotated.
async fn warn_about_controlled_pods(cluster: &Cluster, plans: &[Plan]) {
    // (namespace, owner) → (what manages the pods, what to annotate, the pods)
    let mut owners: BTreeMap<(String, String), (String, String, Vec<&str>)> = BTreeMap::new();
    for plan in plans.iter().filter(|p| p.kind.is_pod()) {
        let Some(owner) = controller_of(&plan.after) else {
            continue;
        };
        let namespace = plan
            .namespace
            .clone()
            .unwrap_or_else(|| cluster.namespace.clone());
        let key = (namespace.clone(), owner_name(&owner));
        if !owners.contains_key(&key) {
            let mut managed = owner_name(&owner);
            let mut target = owner_name(&owner);
            if let Some(kind) = owner.0
                && let Ok(object) = get_object(cluster, kind, &namespace, &owner.1).await
                && let Some(top) = controller_of(&object)
            {
                target = owner_name(&top);
                managed = format!("{managed} (owned by {target})");
            }
            owners.insert(key.clone(), (managed, target, Vec::new()));
        }
        if let Some(entry) = owners.get_mut(&key) {
            entry.2.push(&plan.name);
        }
    }
    for ((namespace, _), (managed, target, pods)) in owners {
        let subject = match pods.as_slice() {
            [one] => format!("pod/{one} -n {namespace} is"),
            many => {
                let shown: Vec<&str> = many.iter().take(3).copied().collect();
                format!(
                    "{} pods -n {namespace} ({}{}) are",
                    many.len(),
                    shown.join(", "),
                    if many.len() > 3 { ", ..." } else { "" }
                )
            }
        };
        eprintln!(
            "Warning: {subject} managed by {managed}: the annotation is lost when the pod is \
             replaced; annotate {target} instead to keep the hook"
        );
    }
}

/// The controlling owner of an object: its kind (when it can hold hooks) and name, and the
/// kind as written.
fn controller_of(object: &Value) -> Option<(Option<&'static WorkloadKind>, String, String)> {
    let owners = object.pointer("/metadata/ownerReferences")?.as_array()?;
    let owner = owners
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))?;
    let api_version = owner.get("apiVersion")?.as_str()?;
    let kind = owner.get("kind")?.as_str()?;
    let name = owner.get("name")?.as_str()?;
    Some((
        find_kind(velero_hooks::workload::group_of(api_version), kind),
        name.to_owned(),
        kind.to_owned(),
    ))
}

fn owner_name(owner: &(Option<&'static WorkloadKind>, String, String)) -> String {
    format!("{}/{}", owner.2.to_ascii_lowercase(), owner.1)
}

/// What changing a pod template does, per kind.
fn note_rollout(plan: &Plan) {
    let name = plan.qualified_name();
    let effect = match plan.kind.kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => format!(
            "the pod template changed, so the {} rolls out new pods with the hook",
            plan.kind.kind.to_ascii_lowercase()
        ),
        "ReplicaSet" | "ReplicationController" => {
            "existing pods keep their annotations; only pods created from now on get the hook"
                .to_owned()
        }
        "CronJob" => "jobs created from now on get the hook".to_owned(),
        "Job" => "pods already created keep their annotations".to_owned(),
        "PodTemplate" => "objects created from this template from now on get the hook".to_owned(),
        _ => return,
    };
    eprintln!("Note: {name}: {effect}");
}

/// `--local -f FILE`: edits the manifests' objects and prints the whole stream.
fn run_local(
    global: &GlobalArgs,
    args: &AnnotateArgs,
    edit: &HookEdit,
) -> anyhow::Result<ExitCode> {
    if !args.resources.is_empty() || args.selector.is_some() {
        bail!("--local edits the objects of the -f manifests only: drop TYPE/NAME and -l");
    }
    if args.dry_run == DryRun::Server {
        bail!("--local contacts no server: --dry-run=server cannot be used with it");
    }
    let documents = read_documents(&args.files)?;
    let mut output = Vec::new();
    let mut refused = 0;
    let mut problems = Vec::new();
    let mut workloads = 0;
    for document in documents {
        if locate(&document.object).is_none() {
            output.push(document.object);
            continue;
        }
        workloads += 1;
        let location = format!("{}:{}", document.source, document.line);
        match edit::plan(document.object, edit, global.velero_version) {
            Ok(plan) => {
                refused += report_findings(std::slice::from_ref(&plan), edit, &location);
                output.push(plan.after);
            }
            Err(error) => problems.push(format!("{location}: error: {error:#}")),
        }
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    if workloads == 0 {
        bail!("no pod or workload in the -f manifests: nothing to annotate");
    }
    if refused > 0 || !problems.is_empty() {
        eprintln!("error: refused: nothing was printed");
        return Ok(ExitCode::from(EXIT_FAILURE));
    }
    match args.output.unwrap_or(ObjectFormat::Yaml) {
        ObjectFormat::Yaml => {
            for object in &output {
                print!("---\n{}", serde_saphyr::to_string(object)?);
            }
        }
        ObjectFormat::Json => print_objects(&output, ObjectFormat::Json)?,
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// Objects as kubectl prints them with -o: one object alone, several as a `List`.
pub fn print_objects(objects: &[Value], format: ObjectFormat) -> anyhow::Result<()> {
    let value = match objects {
        [one] => one.clone(),
        many => {
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": many, "metadata": {"resourceVersion": ""}})
        }
    };
    match format {
        ObjectFormat::Json => println!("{}", serde_json::to_string_pretty(&value)?),
        ObjectFormat::Yaml => print!(
            "{}",
            serde_saphyr::to_string(&value).context("cannot print the object as YAML")?
        ),
    }
    Ok(())
}
