//! `kubectl hooks backup plan`: what Velero will run, pod by pod, for Backups, Schedules and
//! Restores: offline from manifests (`-f`), or for a Schedule of the cluster over the
//! cluster's pods (`--schedule`). Both ask the library's one planner.
//!
//! Offline, the pods are the input's Pods, plus one pod per workload standing for the pods
//! its template will create (named `deployment/web`, taken as Running). Namespaces in the
//! input lend their labels (`velero.io/exclude-from-backup`); objects without a namespace
//! are read as in `default`, as `kubectl apply` without `-n` places them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use velero_hooks::spec::plan::{Phase, PodPlan};
use velero_hooks::spec::{Inventory, ObjectPlan, VeleroObject, plan};
use velero_hooks::{Finding, VeleroVersion, locate};

use super::create::argv;
use crate::cli::GlobalArgs;
use crate::cluster::Cluster;
use crate::commands::{EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK};
use crate::manifest::{self, InputError};
use crate::render::{Table, finding_block};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["files", "schedule"])))]
pub struct PlanArgs {
    /// Manifests: Backups, Schedules and Restores, and the Namespaces, Pods and workloads
    /// they reach (files, directories, `-` for stdin; repeatable)
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Read directories given with -f recursively
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Plan this Schedule of the cluster over the cluster's pods (instead of -f)
    #[arg(long, value_name = "NAME", conflicts_with = "files")]
    pub schedule: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: PlanFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Yaml,
}

/// One planned object and where it was read.
struct Planned {
    origin: Option<String>,
    plan: ObjectPlan,
}

/// `backup plan -f`: no cluster needed.
pub fn run_offline(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let version = global.velero_version;
    let (paths, mut input_errors) = manifest::expand_paths(&args.files, args.recursive);
    let read = manifest::stream::check_inputs(&paths, Some);
    input_errors.extend(read.errors);
    let mut inventory = Inventory::new();
    let mut velero = Vec::new();
    for doc in &read.objects {
        let origin = format!("{}:{}", doc.source, doc.line);
        match VeleroObject::from_json(&doc.object) {
            Some(Ok(object)) => velero.push((origin, Ok(object))),
            Some(Err(finding)) => velero.push((origin, Err((doc.object.clone(), finding)))),
            None => add_to_inventory(&mut inventory, &doc.object),
        }
    }
    if velero.is_empty() && input_errors.is_empty() {
        input_errors.push(InputError {
            source: args
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            line: None,
            message: "no Backup, Schedule or Restore (velero.io/v1) in the input: nothing to plan"
                .to_owned(),
        });
    }
    let planned: Vec<Planned> = velero
        .into_iter()
        .map(|(origin, object)| Planned {
            origin: Some(origin),
            plan: match object {
                Ok(object) => plan(&object, &inventory, version),
                Err((value, finding)) => undecodable(&value, finding),
            },
        })
        .collect();
    print(&planned, &input_errors, args.output, version)
}

/// `backup plan --schedule NAME`: the Schedule as the cluster holds it, over the cluster's
/// pods, with the same preflight `backup create --dry-run` runs.
pub async fn run_schedule(
    cluster: &Cluster,
    global: &GlobalArgs,
    velero_namespace: &str,
    name: &str,
    output: PlanFormat,
) -> anyhow::Result<ExitCode> {
    let schedules = super::api::schedules_dynamic(cluster, velero_namespace);
    let schedule = schedules.get(name).await.map_err(|err| {
        crate::cluster::describe_api_error(
            err,
            &format!("get schedule {name} -n {velero_namespace}"),
        )
    })?;
    let template = schedule
        .data
        .pointer("/spec/template")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let preflight =
        super::create::preflight(cluster, &template, velero_namespace, global.velero_version)
            .await?
            .in_schedule_template();
    let planned = Planned {
        origin: Some(format!("schedule/{name} -n {velero_namespace}")),
        plan: preflight.into_plan(velero_hooks::spec::VeleroKind::Schedule, name),
    };
    print(&[planned], &[], output, global.velero_version)
}

/// Pods and Namespaces as they are; a workload as the pod its template will create.
fn add_to_inventory(inventory: &mut Inventory, object: &Value) {
    // A Pod written without a namespace is where `kubectl apply` without `-n` puts it.
    if object.get("kind").and_then(Value::as_str) == Some("Pod")
        && object.pointer("/metadata/namespace").is_none()
        && object.get("metadata").is_some_and(Value::is_object)
    {
        let mut placed = object.clone();
        placed["metadata"]["namespace"] = json!("default");
        inventory.add(&placed);
        return;
    }
    if inventory.add(object) {
        return;
    }
    let Some(template) = locate(object) else {
        return;
    };
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
    let name = format!(
        "{}/{}",
        template.kind.kind.to_lowercase(),
        text("/metadata/name").unwrap_or("")
    );
    let metadata = template.metadata.cloned().unwrap_or_else(|| json!({}));
    inventory.add_pod(&json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": text("/metadata/namespace").unwrap_or("default"),
            "labels": metadata.get("labels").cloned().unwrap_or_else(|| json!({})),
            "annotations": metadata.get("annotations").cloned().unwrap_or_else(|| json!({})),
        },
        "spec": template.spec.cloned().unwrap_or_else(|| json!({})),
        // The pods a workload creates are planned as they will be when Velero reaches them.
        "status": {"phase": "Running"},
    }));
}

/// A Velero object whose spec cannot be decoded: its finding, and nothing runs.
fn undecodable(object: &Value, finding: Finding) -> ObjectPlan {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
    let kind = match text("/kind") {
        Some("Schedule") => velero_hooks::spec::VeleroKind::Schedule,
        Some("Restore") => velero_hooks::spec::VeleroKind::Restore,
        _ => velero_hooks::spec::VeleroKind::Backup,
    };
    ObjectPlan {
        kind,
        name: text("/metadata/name").unwrap_or_default().to_owned(),
        findings: vec![finding],
        refused: true,
        pods: Vec::new(),
        left_out: Vec::new(),
        limits: Vec::new(),
    }
}

fn print(
    planned: &[Planned],
    input_errors: &[InputError],
    format: PlanFormat,
    version: VeleroVersion,
) -> anyhow::Result<ExitCode> {
    match format {
        PlanFormat::Text => {
            for item in planned {
                print!("{}", render_text(item, version));
            }
            for err in input_errors {
                println!("{err}");
            }
        }
        PlanFormat::Json | PlanFormat::Yaml => {
            let value = json!({
                "plans": planned.iter().map(plan_json).collect::<Vec<_>>(),
                "inputErrors": input_errors.iter().map(|e| json!({
                    "file": e.source,
                    "line": e.line.map(|s| s.line),
                    "column": e.line.and_then(|s| s.column),
                    "message": e.message,
                })).collect::<Vec<_>>(),
            });
            if format == PlanFormat::Json {
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", serde_saphyr::to_string(&value)?);
            }
        }
    }
    let errors: usize = planned.iter().map(|p| p.plan.errors()).sum();
    Ok(ExitCode::from(if !input_errors.is_empty() {
        EXIT_BAD_INPUT
    } else if errors > 0 {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}

/// The plan as the README documents it: per object, its findings and, per pod, the hooks
/// in the order Velero runs them.
fn plan_json(item: &Planned) -> Value {
    let plan = &item.plan;
    json!({
        "kind": plan.kind.as_str(),
        "name": plan.name,
        "origin": item.origin,
        "refused": plan.refused,
        "findings": plan.findings,
        "pods": plan.pods.iter().map(pod_json).collect::<Vec<_>>(),
        "leftOut": plan.left_out,
        "limits": plan.limits,
    })
}

fn pod_json(pod: &PodPlan) -> Value {
    let mut hooks: Vec<Value> = pod
        .init_containers
        .iter()
        .map(|init| {
            json!({
                "phase": "restore-init",
                "hookName": init.origin.hook_name(),
                "source": init.origin.log_source(),
                "name": init.name,
                "image": init.image,
                "command": init.command,
            })
        })
        .collect();
    hooks.extend(pod.hooks.iter().map(|hook| {
        let mut value = json!({
            "phase": hook.phase.as_str(),
            "hookName": hook.origin.hook_name(),
            "source": hook.origin.log_source(),
            "container": hook.effective_container,
            "command": hook.command,
            "onError": hook.on_error.as_str(),
            "timeoutNanos": hook.timeout_nanos,
        });
        if hook.phase == Phase::Restore {
            value["waitTimeoutNanos"] = json!(hook.wait_timeout_nanos.flatten());
            value["waitForReady"] = json!(hook.wait_for_ready.unwrap_or(false));
        }
        value
    }));
    let mut value = json!({
        "namespace": pod.namespace,
        "name": pod.name,
        "hooks": hooks,
        "skipped": pod.skipped.iter().map(|s| json!({
            "phase": s.phase.as_str(),
            "hookName": s.origin.hook_name(),
            "command": s.command,
            "reason": format!("the pod's {} annotation hook runs instead", s.phase.as_str()),
        })).collect::<Vec<_>>(),
        "findings": pod.findings,
    });
    if let Some(source) = &pod.source_namespace {
        value["sourceNamespace"] = json!(source);
    }
    value
}

fn render_text(item: &Planned, version: VeleroVersion) -> String {
    let plan = &item.plan;
    let title = format!("{}/{}", plan.kind.as_str().to_lowercase(), plan.name);
    let mut out = format!(
        "{title}{} (as Velero {} runs hooks): ",
        item.origin
            .as_deref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default(),
        version
    );
    if plan.refused {
        out.push_str("Velero refuses it: no hook runs\n");
    } else {
        let with_hooks = plan.pods.iter().filter(|p| !p.is_empty()).count();
        out.push_str(&format!(
            "{} pod{} taken in, {with_hooks} with hooks\n",
            plan.pods.len(),
            if plan.pods.len() == 1 { "" } else { "s" }
        ));
    }
    let mut table = Table::new([
        "POD",
        "PHASE",
        "HOOK",
        "CONTAINER",
        "COMMAND",
        "ON-ERROR",
        "TIMEOUT",
    ]);
    let mut rows = 0;
    for pod in &plan.pods {
        let id = match &pod.source_namespace {
            Some(source) => format!("{}/{} (from {source})", pod.namespace, pod.name),
            None => format!("{}/{}", pod.namespace, pod.name),
        };
        for init in &pod.init_containers {
            rows += 1;
            table.row([
                id.clone(),
                "restore-init".to_owned(),
                init.origin.hook_name().to_owned(),
                init.name
                    .clone()
                    .unwrap_or_else(|| "velero-restore-init-*".into()),
                argv(&init.command),
                "-".into(),
                format!("image {}", init.image),
            ]);
        }
        for hook in &pod.hooks {
            rows += 1;
            table.row([
                id.clone(),
                hook.phase.as_str().to_owned(),
                hook.origin.hook_name().to_owned(),
                hook.effective_container
                    .clone()
                    .unwrap_or_else(|| "(none)".into()),
                argv(&hook.command),
                hook.on_error.as_str().to_owned(),
                hook.timeout.to_string(),
            ]);
        }
        for skipped in &pod.skipped {
            rows += 1;
            table.row([
                id.clone(),
                skipped.phase.as_str().to_owned(),
                skipped.origin.hook_name().to_owned(),
                "-".into(),
                argv(&skipped.command),
                "SKIPPED".into(),
                format!(
                    "the pod's {} annotation hook runs instead",
                    skipped.phase.as_str()
                ),
            ]);
        }
    }
    if rows > 0 {
        out.push('\n');
        out.push_str(&table.to_string());
    }
    let findings: Vec<String> = plan
        .findings
        .iter()
        .map(|f| finding_block("", &title, f))
        .chain(plan.pods.iter().flat_map(|pod| {
            pod.findings
                .iter()
                .map(|f| finding_block("", &format!("pod/{} -n {}", pod.name, pod.namespace), f))
        }))
        .collect();
    if !findings.is_empty() {
        out.push('\n');
        out.extend(findings);
    }
    for limit in &plan.limits {
        out.push_str(&format!("note: {limit}\n"));
    }
    out.push('\n');
    out
}
