//! `kubectl hooks get`: a kubectl-style table of the hooks of pods and workloads, with the
//! values Velero will actually use (defaults applied) and the rules' verdict per hook.

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, ValueEnum};
use serde_json::Value;
use velero_hooks::workload::WORKLOAD_KINDS;
use velero_hooks::{ObjectReport, VeleroVersion, WorkloadKind, check_object};

use super::EXIT_OK;
use crate::cli::GlobalArgs;
use crate::cluster::{Cluster, block_on};
use crate::lean;
use crate::selection::{get_object, parse_kind};

mod schedules;
mod table;

use schedules::ScheduleHook;
use table::table;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  kubectl hooks get                      # pods and every workload kind in the namespace
  kubectl hooks get deploy -A            # every Deployment's hooks, all namespaces
  kubectl hooks get pod/db-0 -o json     # the library's summary of one pod
  kubectl hooks get pods --schedule nightly   # and the spec hooks Schedule nightly runs on each")]
pub struct GetArgs {
    /// TYPE, TYPE/NAME or TYPE NAME (default: pods and every workload kind)
    #[arg(value_name = "TYPE[/NAME]", num_args = 0..=2)]
    pub resources: Vec<String>,
    /// Only objects matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Output format: wide adds the hook source and the values as written
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<GetFormat>,
    /// Also show the spec hooks this Schedule will run on each listed pod (repeatable)
    #[arg(long = "schedule", value_name = "NAME")]
    pub schedules: Vec<String>,
    /// Also show the spec hooks of every Schedule in --velero-namespace
    #[arg(long, conflicts_with = "schedules")]
    pub all_schedules: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetFormat {
    Wide,
    Json,
    Yaml,
}

pub fn run(global: &GlobalArgs, args: &GetArgs) -> anyhow::Result<ExitCode> {
    let (kinds, name) = match args.resources.as_slice() {
        [] => (WORKLOAD_KINDS.iter().collect::<Vec<_>>(), None),
        [one] => match one.split_once('/') {
            Some((kind, name)) if !name.is_empty() => {
                (vec![parse_kind(kind)?], Some(name.to_owned()))
            }
            Some(_) => bail!("`{one}`: give TYPE/NAME, e.g. deployment/web"),
            None => (vec![parse_kind(one)?], None),
        },
        [kind, name] => (vec![parse_kind(kind)?], Some(name.clone())),
        _ => bail!("give at most TYPE and NAME"),
    };
    if name.is_some() && args.selector.is_some() {
        bail!("a name and -l cannot be combined");
    }
    block_on(run_live(global, args, kinds, name))?
}

/// One checked object, kept only while it has hooks or findings.
struct Listed {
    kind: &'static WorkloadKind,
    report: ObjectReport,
    /// For pods, with `--schedule`: the spec hooks the Schedules run on it.
    schedule_hooks: Vec<ScheduleHook>,
}

async fn run_live(
    global: &GlobalArgs,
    args: &GetArgs,
    kinds: Vec<&'static WorkloadKind>,
    name: Option<String>,
) -> anyhow::Result<ExitCode> {
    let cluster = Cluster::connect(global).await?;
    let version = crate::velero_release::resolve(&cluster, global).await;
    let namespace = (!cluster.all_namespaces).then_some(cluster.namespace.as_str());
    let mut listed: Vec<Listed> = Vec::new();
    // With --schedule, every listed pod is kept until the Schedules' hooks are known.
    let schedules_wanted = !args.schedules.is_empty() || args.all_schedules;
    if let Some(name) = &name {
        let kind = kinds[0];
        let object = get_object(&cluster, kind, &cluster.namespace, name).await?;
        keep(&mut listed, kind, &object, version, true);
    } else {
        let selector = args.selector.as_deref();
        let lists = kinds.iter().map(|&kind| {
            let mut found = Vec::new();
            let cluster = &cluster;
            async move {
                let always = schedules_wanted && kind.kind == "Pod";
                lean::for_each(cluster, kind, namespace, selector, |object| {
                    keep(&mut found, kind, &object, version, always);
                })
                .await
                .map(|()| found)
            }
        });
        for found in futures::future::join_all(lists).await {
            listed.extend(found?);
        }
    }
    if schedules_wanted {
        let mut by_pod = schedules::by_pod(
            &cluster,
            &global.velero_namespace,
            &args.schedules,
            args.all_schedules,
            version,
        )
        .await?;
        for item in listed.iter_mut().filter(|l| l.kind.kind == "Pod") {
            let id = (
                item.report.namespace.clone().unwrap_or_default(),
                item.report.name.clone(),
            );
            item.schedule_hooks = by_pod.remove(&id).unwrap_or_default();
        }
        let named = name.is_some();
        listed.retain(|l| {
            named
                || !l.report.hooks.is_empty()
                || !l.report.findings.is_empty()
                || !l.schedule_hooks.is_empty()
        });
    }
    match args.output {
        Some(GetFormat::Json) => println!("{}", serde_json::to_string_pretty(&summaries(&listed))?),
        Some(GetFormat::Yaml) => print!("{}", serde_saphyr::to_string(&summaries(&listed))?),
        format => {
            if listed.is_empty() {
                match namespace {
                    Some(ns) => eprintln!("No resources found in {ns} namespace."),
                    None => eprintln!("No resources found"),
                }
            } else {
                print!(
                    "{}",
                    table(
                        &listed,
                        namespace.is_none(),
                        format == Some(GetFormat::Wide)
                    )
                );
            }
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// Checks an object and keeps its report when it has hooks or findings (or `always`).
fn keep(
    listed: &mut Vec<Listed>,
    kind: &'static WorkloadKind,
    object: &Value,
    version: VeleroVersion,
    always: bool,
) {
    if let Some(report) = check_object(object, version)
        && (always || !report.hooks.is_empty() || !report.findings.is_empty())
    {
        listed.push(Listed {
            kind,
            report,
            schedule_hooks: Vec::new(),
        });
    }
}

fn summaries(listed: &[Listed]) -> Value {
    let objects: Vec<Value> = listed
        .iter()
        .map(|l| {
            let mut summary = serde_json::to_value(l.report.summary()).unwrap_or(Value::Null);
            if let Some(hooks) = summary.get_mut("hooks").and_then(Value::as_array_mut) {
                hooks.extend(l.schedule_hooks.iter().map(schedules::to_json));
            }
            summary
        })
        .collect();
    serde_json::json!({ "objects": objects })
}

#[cfg(test)]
mod tests {
    use super::table::truncate;
    use super::*;
    use serde_json::json;

    fn listed(object: Value) -> Vec<Listed> {
        let mut out = Vec::new();
        let kind = velero_hooks::locate(&object).unwrap().kind;
        keep(&mut out, kind, &object, VeleroVersion::default(), false);
        out
    }

    #[test]
    fn one_row_per_hook_with_its_own_status() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "db", "namespace": "shop", "annotations": {
                "pre.hook.backup.velero.io/command": "[\"/bin/sh\",\"-c\",\"pg_dump > /backup/db.sql\"]",
                "pre.hook.backup.velero.io/on-error": "Fail",
                "pre.hook.backup.velero.io/timeout": "2m",
                "post.hook.backup.velero.io/command": "[\"/bin/true\"]",
                "post.hook.backup.velero.io/timeout": "300",
                "post.hook.backup.velero.io/on-error": "Continue"}},
            "spec": {"containers": [{"name": "postgres"}]}});
        let text = table(&listed(pod), true, false).to_string();
        assert_eq!(
            text,
            "NAMESPACE   OBJECT   PHASE   CONTAINER   COMMAND                                 ON-ERROR   TIMEOUT   STATUS\n\
             shop        pod/db   pre     postgres    /bin/sh -c 'pg_dump > /backup/db.sql'   Fail       2m0s      ok\n\
             shop        pod/db   post    postgres    /bin/true                               Continue   30s       1 error\n"
        );
    }

    #[test]
    fn objects_without_hooks_are_left_out_but_stray_keys_are_shown() {
        let clean = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "c"}]}});
        assert!(listed(clean).is_empty());
        let stray = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "annotations": {
            "pre.hook.backup.velero.io/timeout": "30s"}}, "spec": {"containers": [{"name": "c"}]}});
        let text = table(&listed(stray), false, false).to_string();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            row,
            [
                "pod/a", "pre", "-", "<no", "command>", "-", "-", "1", "error"
            ],
            "{text}"
        );
    }

    #[test]
    fn long_commands_are_cut_in_the_narrow_table() {
        assert_eq!(truncate("abcdef", 5), "ab...");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
