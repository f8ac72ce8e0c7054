//! Which pods `kubectl hooks test` reaches, and the hooks Velero would run on each: the
//! library's planner over the live pods, for a Backup without spec hooks (annotation hooks
//! only), or the Backup, Schedule or Restore of `--from-file` / `--schedule`.

use anyhow::{Context, anyhow};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};
use velero_hooks::spec::plan::PlannedHook;
use velero_hooks::spec::{Inventory, VeleroObject, plan};

use super::{TestArgs, name_of};
use crate::cli::GlobalArgs;
use crate::cluster::Cluster;
use crate::selection::{Selection, parse_kind, read_documents};

/// A selected pod and its effective hooks, in Velero's run order.
pub struct PodHooks {
    pub namespace: String,
    pub name: String,
    /// `status.phase`.
    pub phase: String,
    pub hooks: Vec<PlannedHook>,
    /// The pod as read, for what Velero checks before it execs (its containers).
    pub pod: Value,
}

pub enum TargetError {
    /// Exit 2: the flags or the input cannot be used.
    Unusable(anyhow::Error),
    /// The cluster answered with an error.
    Api(anyhow::Error),
}

pub async fn plans(
    cluster: &Cluster,
    global: &GlobalArgs,
    args: &TestArgs,
) -> Result<Vec<PodHooks>, TargetError> {
    let velero = velero_objects(cluster, global, args).await?;
    let pods = selected_pods(cluster, args).await?;
    let mut inventory = Inventory::new();
    for pod in &pods {
        inventory.add_pod(pod);
    }
    let mut out: Vec<PodHooks> = pods
        .iter()
        .map(|p| PodHooks {
            namespace: p
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            name: name_of(p).to_owned(),
            phase: p
                .pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            hooks: Vec::new(),
            pod: p.clone(),
        })
        .collect();
    for object in &velero {
        let planned = plan(object, &inventory, global.velero_version);
        if planned.refused {
            let why: Vec<String> = planned.findings.iter().map(|f| f.problem.clone()).collect();
            return Err(TargetError::Unusable(anyhow!(
                "Velero refuses {} {}, so it runs no hook: {}",
                object.kind.as_str(),
                object.name,
                why.join("; ")
            )));
        }
        for pod_plan in planned.pods {
            if let Some(target) = out
                .iter_mut()
                .find(|t| t.namespace == pod_plan.namespace && t.name == pod_plan.name)
            {
                target.hooks.extend(pod_plan.hooks);
            }
        }
    }
    Ok(out)
}

/// The Backup/Schedule/Restore whose hooks are tested; without one, a Backup and a
/// Restore with no spec hooks, so only the pods' annotation hooks are planned.
async fn velero_objects(
    cluster: &Cluster,
    global: &GlobalArgs,
    args: &TestArgs,
) -> Result<Vec<VeleroObject>, TargetError> {
    let documents: Vec<(String, Value)> = if let Some(path) = &args.from_file {
        read_documents(std::slice::from_ref(path))
            .map_err(TargetError::Unusable)?
            .into_iter()
            .map(|d| (format!("{}:{}", d.source, d.line), d.object))
            .collect()
    } else if let Some(name) = &args.schedule {
        let schedules =
            crate::commands::backup::api::schedules_dynamic(cluster, &global.velero_namespace);
        let schedule = schedules.get(name).await.map_err(|err| {
            TargetError::Api(crate::cluster::describe_api_error(
                err,
                &format!("get schedule {name} -n {}", global.velero_namespace),
            ))
        })?;
        let value = serde_json::to_value(&schedule).map_err(|e| TargetError::Api(e.into()))?;
        vec![(format!("schedule/{name}"), value)]
    } else {
        let meta = json!({"name": "kubectl-hooks-test", "namespace": global.velero_namespace});
        vec![
            (
                "annotations".to_owned(),
                json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": meta, "spec": {}}),
            ),
            (
                "annotations".to_owned(),
                json!({"apiVersion": "velero.io/v1", "kind": "Restore", "metadata": meta, "spec": {"backupName": "kubectl-hooks-test"}}),
            ),
        ]
    };
    let mut objects = Vec::new();
    for (origin, value) in documents {
        match VeleroObject::from_json(&value) {
            Some(Ok(object)) => objects.push(object),
            Some(Err(finding)) => {
                return Err(TargetError::Unusable(anyhow!(
                    "{origin}: {} (fix: {})",
                    finding.problem,
                    finding.fix
                )));
            }
            None => {}
        }
    }
    if objects.is_empty() {
        return Err(TargetError::Unusable(anyhow!(
            "{}: no Backup, Schedule or Restore (velero.io/v1) in the file: nothing whose hooks to test",
            args.from_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )));
    }
    Ok(objects)
}

/// The pods named, selected, or run by the workloads named (only their Running pods).
async fn selected_pods(cluster: &Cluster, args: &TestArgs) -> Result<Vec<Value>, TargetError> {
    let resources: Vec<String> = match (args.resources.as_slice(), &args.selector) {
        ([], Some(_)) => vec!["pods".to_owned()],
        // `test db-0 db-1`: pod names, as the usage says (`TYPE NAME...` starts with a kind).
        (names @ [first, ..], None)
            if !names.iter().any(|n| n.contains('/')) && parse_kind(first).is_err() =>
        {
            names.iter().map(|n| format!("pod/{n}")).collect()
        }
        (r, _) => r.to_vec(),
    };
    let selection = Selection::parse(&resources, args.selector.as_deref(), &[])
        .map_err(TargetError::Unusable)?;
    let objects = selection.fetch(cluster).await.map_err(TargetError::Api)?;
    let mut pods = Vec::new();
    for object in objects {
        if object.get("kind").and_then(Value::as_str) == Some("Pod") {
            pods.push(object);
            continue;
        }
        pods.extend(running_pods_of(cluster, &object).await?);
    }
    // A pod named and also run by a workload named is tested once: its hooks freeze and
    // thaw, and running them twice is not what a backup does.
    let mut seen = std::collections::HashSet::new();
    pods.retain(|pod| {
        seen.insert((
            pod.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_owned),
            name_of(pod).to_owned(),
        ))
    });
    Ok(pods)
}

/// A workload's Running pods: those its `spec.selector.matchLabels` selects.
async fn running_pods_of(cluster: &Cluster, workload: &Value) -> Result<Vec<Value>, TargetError> {
    let namespace = workload
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(&cluster.namespace);
    let kind = workload.get("kind").and_then(Value::as_str).unwrap_or("");
    let labels = workload
        .pointer("/spec/selector/matchLabels")
        .or_else(|| workload.pointer("/spec/jobTemplate/spec/selector/matchLabels"))
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            TargetError::Unusable(anyhow!(
                "{}/{}: no spec.selector.matchLabels to find its pods by; name its pods instead (kubectl hooks test POD)",
                kind.to_lowercase(),
                name_of(workload)
            ))
        })?;
    let selector: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(&selector.join(",")))
        .await
        .with_context(|| {
            format!(
                "list the pods of {}/{}",
                kind.to_lowercase(),
                name_of(workload)
            )
        })
        .map_err(TargetError::Api)?;
    Ok(list
        .items
        .into_iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .filter_map(|p| {
            let mut v = serde_json::to_value(p).ok()?;
            v["apiVersion"] = json!("v1");
            v["kind"] = json!("Pod");
            Some(v)
        })
        .collect())
}
