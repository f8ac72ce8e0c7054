//! What Velero does with hooks while it backs up pods: which hooks run on which pod, how
//! they are counted, how they end and what the log says, with nothing exec'd.
//!
//! Hook commands decide the outcome: `/bin/false` exits 1, `/bin/echo ARGS` prints ARGS,
//! `/bin/sleep` times out, anything else succeeds silently. A missing container, an empty
//! command or an unnamed spec hook fail as in Velero; a pod that is not Running fails the
//! exec; a Succeeded or Failed pod is skipped.

use serde_json::{Value, json};
use velero_hooks::PodView;
use velero_hooks::VeleroVersion;
use velero_hooks::hook::OnError;
use velero_hooks::spec::plan::{HookOrigin, Phase as BackupPhase, PlannedHook};
use velero_hooks::spec::{Inventory, VeleroObject, plan};

/// One line of Velero's log, before formatting.
#[derive(Debug, Clone)]
pub struct Line {
    pub level: &'static str,
    pub msg: String,
    pub fields: Vec<(&'static str, FieldValue)>,
    pub source: &'static str,
}

#[derive(Debug, Clone)]
pub enum FieldValue {
    Text(String),
    List(Vec<String>),
    /// `metav1.Duration`: `{30s}` in text, `"30s"` in JSON.
    Duration(String),
}

/// What the backup did, as far as hooks go.
#[derive(Debug, Default)]
pub struct BackupRun {
    pub attempted: i64,
    pub failed: i64,
    pub items: i64,
    pub items_backed_up: i64,
    pub lines: Vec<Line>,
    /// A fatal error: the backup ends `Failed`.
    pub failure: Option<String>,
    /// What Velero's controller refuses: the backup ends `FailedValidation`, nothing runs.
    pub validation_errors: Vec<String>,
}

/// Decides, for every pod the backup takes in, which hooks run and how they end, with
/// Velero's counting (§ hooks attempted/failed) and log lines.
pub fn run_backup(backup: &Value, pods: &[Value], version: VeleroVersion) -> BackupRun {
    let spec = backup.get("spec").cloned().unwrap_or(json!({}));
    let mut run = BackupRun::default();
    let document = json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "run"}, "spec": spec});
    let Some(Ok(object)) = VeleroObject::from_json(&document) else {
        run.failure = Some("the Backup's spec cannot be decoded".into());
        return run;
    };
    let mut inventory = Inventory::new();
    pods.iter().for_each(|pod| inventory.add_pod(pod));
    let planned = plan(&object, &inventory, version);
    if planned.findings.iter().any(|f| f.code == "HV109") {
        run.failure = Some("error getting hooks: invalid label selector".into());
        return run;
    }
    if planned.refused {
        run.validation_errors = planned
            .findings
            .iter()
            .filter(|f| f.is_error())
            .map(|f| format!("{}: {}", f.subject.text(), f.problem))
            .collect();
        return run;
    }
    let mut namespaces = std::collections::BTreeSet::new();
    for pod in pods {
        let namespace = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(plan) = planned
            .pods
            .iter()
            .find(|p| p.namespace == namespace && p.name == name)
        else {
            continue;
        };
        namespaces.insert(namespace.to_owned());
        run.items += 1;
        let view = PodView::from_json(pod.get("metadata"), pod.get("spec"));
        let phase = pod
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        // Annotation timeouts Velero cannot parse: a warning each.
        let annotation_hooks = velero_hooks::hook::parse_hooks(&view, version);
        for hook in annotation_hooks.backup() {
            if let Some(text) = hook.timeout_raw.as_deref().filter(|t| !t.is_empty())
                && let Err(err) = velero_hooks::duration::parse_go_duration(text)
            {
                run.lines.push(Line {
                    level: "warning",
                    msg: format!("Unable to parse provided timeout {text}, using default: {err}"),
                    fields: vec![],
                    source: "internal/hook/item_hook_handler.go:357",
                });
            }
        }
        let mut pod_backed_up = true;
        for hook_phase in [BackupPhase::Pre, BackupPhase::Post] {
            if hook_phase == BackupPhase::Post && !pod_backed_up {
                break; // no post hooks after a pre hook failed with Fail
            }
            let mut stopped = false;
            for hook in plan.phase(hook_phase) {
                run.attempted += 1;
                if stopped {
                    continue;
                }
                let hook_fields = vec![
                    ("hookPhase", FieldValue::Text(hook_phase.as_str().into())),
                    (
                        "hookSource",
                        FieldValue::Text(hook.origin.log_source().into()),
                    ),
                    ("hookType", FieldValue::Text("exec".into())),
                ];
                if matches!(phase, "Succeeded" | "Failed") {
                    run.lines.push(Line {
                        level: "info",
                        msg: format!(
                            "Pod entered phase {phase} before some post-backup exec hooks ran"
                        ),
                        fields: hook_fields,
                        source: "internal/hook/item_hook_handler.go:228",
                    });
                    continue;
                }
                let result = exec(&mut run.lines, &view, phase, hook, &hook_fields);
                if let Err(error) = result {
                    run.failed += 1;
                    let mut fields = vec![("error", FieldValue::Text(error))];
                    fields.extend(hook_fields.clone());
                    run.lines.push(Line {
                        level: "error",
                        msg: "Error executing hook".into(),
                        fields,
                        source: "internal/hook/item_hook_handler.go:246",
                    });
                    if hook.on_error == OnError::Fail {
                        stopped = true;
                    }
                }
            }
            if stopped {
                run.lines.push(Line {
                    level: "error",
                    msg: format!("Error running {} hooks for pod", hook_phase.as_str()),
                    fields: vec![
                        (
                            "error",
                            FieldValue::Text("hook failed with onError Fail".into()),
                        ),
                        ("name", FieldValue::Text(name.into())),
                        ("namespace", FieldValue::Text(namespace.into())),
                    ],
                    source: "pkg/backup/backup.go:866",
                });
                if hook_phase == BackupPhase::Pre {
                    pod_backed_up = false;
                }
            }
        }
        if pod_backed_up {
            run.items_backed_up += 1;
        }
    }
    run.items += namespaces.len() as i64;
    run.items_backed_up += namespaces.len() as i64;
    run
}

/// The fake exec: logs `running exec hook`, then stdout/stderr, and says how it ended.
fn exec(
    lines: &mut Vec<Line>,
    pod: &PodView<'_>,
    pod_phase: &str,
    hook: &PlannedHook,
    hook_fields: &[(&'static str, FieldValue)],
) -> Result<(), String> {
    let name = hook.origin.hook_name().to_owned();
    let container = hook.effective_container.clone().unwrap_or_default();
    let timeout = hook
        .timeout_nanos
        .map(velero_hooks::duration::format_go_duration)
        .unwrap_or_else(|| "0s".into());
    let mut fields = vec![
        ("hookCommand", FieldValue::List(hook.command.clone())),
        ("hookContainer", FieldValue::Text(container.clone())),
        ("hookName", FieldValue::Text(name.clone())),
        (
            "hookOnError",
            FieldValue::Text(hook.on_error.as_str().into()),
        ),
    ];
    fields.extend(hook_fields.iter().cloned());
    fields.push(("hookTimeout", FieldValue::Duration(timeout.clone())));
    fields.sort_by_key(|(k, _)| *k);
    if let HookOrigin::Spec { name, .. } = &hook.origin
        && name.is_empty()
    {
        return Err("hookName is required".into());
    }
    if container.is_empty() {
        return Err("need at least 1 container".into());
    }
    if !pod.containers.contains(&container.as_str()) {
        return Err(format!("no such container: {container:?}"));
    }
    if hook.command.is_empty() {
        return Err("command is required".into());
    }
    lines.push(Line {
        level: "info",
        msg: "running exec hook".into(),
        fields: fields.clone(),
        source: "pkg/podexec/pod_command_executor.go:133",
    });
    if pod_phase != "Running" {
        return Err(format!(
            "unable to upgrade connection: container not found ({container:?})"
        ));
    }
    let program = hook.command[0].as_str();
    if program == "/bin/sleep" {
        return Err(format!("timed out after {timeout}"));
    }
    let stdout = match program {
        "/bin/echo" => format!("{}\n", hook.command[1..].join(" ")),
        _ => String::new(),
    };
    for (stream, text) in [("stdout", stdout), ("stderr", String::new())] {
        lines.push(Line {
            level: "info",
            msg: format!("{stream}: {text}"),
            fields: fields.clone(),
            source: "pkg/podexec/pod_command_executor.go:180",
        });
    }
    match program {
        "/bin/false" => Err("command terminated with exit code 1".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::velero::log::{LogFormat, LogWriter};

    fn pod(namespace: &str, name: &str, annotations: Value, phase: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": namespace, "annotations": annotations, "labels": {"app": name}},
               "spec": {"containers": [{"name": "app"}, {"name": "fsfreeze"}]},
               "status": {"phase": phase}})
    }

    /// Velero's hook tracker cases (attempted/failed), through the fake's run.
    #[test]
    fn counts_like_velero() {
        let spec_hooks = json!({"resources": [{"name": "two", "pre": [
            {"exec": {"command": ["/bin/true"], "onError": "Continue"}},
            {"exec": {"command": ["/bin/true"], "onError": "Continue"}}]}]});
        let fail_middle = json!({"resources": [{"name": "h", "pre": [
            {"exec": {"command": ["/bin/false"], "onError": "Continue"}},
            {"exec": {"command": ["/bin/true"]}},
            {"exec": {"command": ["/bin/false"], "onError": "Fail"}},
            {"exec": {"command": ["/bin/true"]}}]}]});
        let legacy_fail = json!({"hook.backup.velero.io/command": "/bin/false", "hook.backup.velero.io/on-error": "Fail",
                                 "post.hook.backup.velero.io/command": "/bin/true"});
        // (spec.hooks, pods, attempted, failed, errors, items backed up)
        let cases = [
            (
                json!(null),
                vec![pod(
                    "a",
                    "p",
                    json!({"pre.hook.backup.velero.io/command": "/bin/true"}),
                    "Running",
                )],
                1,
                0,
                0,
                2,
            ),
            (
                spec_hooks.clone(),
                vec![pod(
                    "a",
                    "p",
                    json!({"hook.backup.velero.io/command": "/bin/ls"}),
                    "Running",
                )],
                1,
                0,
                0,
                2,
            ),
            (
                spec_hooks.clone(),
                vec![pod("a", "p", json!({}), "Running")],
                2,
                0,
                0,
                2,
            ),
            (
                fail_middle,
                vec![pod("a", "p", json!({}), "Running")],
                4,
                2,
                3,
                1,
            ),
            (
                spec_hooks.clone(),
                vec![
                    pod("a", "p", legacy_fail.clone(), "Running"),
                    pod("a", "q", json!({}), "Running"),
                ],
                3,
                1,
                2,
                2,
            ),
            (
                json!(null),
                vec![pod(
                    "a",
                    "done",
                    json!({"pre.hook.backup.velero.io/command": "/bin/false"}),
                    "Succeeded",
                )],
                1,
                0,
                0,
                2,
            ),
            (
                json!(null),
                vec![pod(
                    "a",
                    "p",
                    json!({"pre.hook.backup.velero.io/command": "/bin/true", "pre.hook.backup.velero.io/container": "nope"}),
                    "Running",
                )],
                1,
                1,
                1,
                2,
            ),
        ];
        for (hooks, pods, attempted, failed, errors, backed_up) in cases {
            let backup = json!({"spec": {"hooks": hooks}});
            let run = run_backup(&backup, &pods, VeleroVersion::LATEST_RELEASE);
            let mut log = LogWriter::new(LogFormat::Text, "velero", "b");
            for line in &run.lines {
                log.push(line);
            }
            assert_eq!(
                (run.attempted, run.failed, log.errors, run.items_backed_up),
                (attempted, failed, errors, backed_up),
                "{hooks} {pods:?}\n{}",
                log.text
            );
        }
    }

    #[test]
    fn an_invalid_spec_selector_fails_the_backup() {
        let backup = json!({"spec": {"hooks": {"resources": [{"name": "x",
            "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Equals"}]}}]}}});
        assert!(
            run_backup(&backup, &[], VeleroVersion::LATEST_RELEASE)
                .failure
                .is_some()
        );
    }
}
