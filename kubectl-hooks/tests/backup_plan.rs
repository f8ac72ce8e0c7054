//! `kubectl hooks backup plan -f`: the hooks Velero will run, pod by pod, from manifests,
//! without a cluster.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn hooks(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args(args)
        .current_dir(repo())
        .env_remove("KUBECONFIG")
        .env("HOME", "/nonexistent")
        .output()
        .expect("kubectl-hooks runs")
}

fn plan_json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["backup", "plan", "-o", "json"];
    all.extend(args);
    let out = hooks(&all);
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), value)
}

const SCHEDULE: &str = "examples/good/schedule-spec-hooks.yaml";
const PODS: &str = "kubectl-hooks/tests/fixtures/shop-db.yaml";

#[test]
fn a_schedule_plans_its_spec_hooks_on_pods_and_workload_templates_in_order() {
    let (code, report) = plan_json(&["-f", SCHEDULE, "-f", PODS]);
    assert_eq!(code, Some(0), "{report:#}");
    let plan = &report["plans"][0];
    assert_eq!(plan["kind"], "Schedule");
    assert_eq!(plan["name"], "nightly-db");
    let pods = plan["pods"].as_array().unwrap();
    let names: Vec<&str> = pods.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["statefulset/db", "db-legacy"]);

    let template = &pods[0]["hooks"];
    let phases: Vec<&str> = template
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["pre", "post"]);
    assert_eq!(template[0]["hookName"], "freeze-db");
    assert_eq!(template[0]["source"], "spec");
    assert_eq!(template[0]["container"], "db");
    assert_eq!(template[0]["onError"], "Fail");
    assert_eq!(template[0]["timeoutNanos"], 30_000_000_000i64);
    assert_eq!(template[0]["command"][1], "--freeze");
}

#[test]
fn an_annotation_hook_replaces_the_spec_hooks_of_its_phase_only() {
    let (_, report) = plan_json(&["-f", SCHEDULE, "-f", PODS]);
    let legacy = &report["plans"][0]["pods"][1];
    assert_eq!(legacy["hooks"][0]["phase"], "pre");
    assert_eq!(legacy["hooks"][0]["hookName"], "<from-annotation>");
    assert_eq!(legacy["hooks"][0]["source"], "annotation");
    assert_eq!(legacy["hooks"][1]["phase"], "post");
    assert_eq!(legacy["hooks"][1]["hookName"], "freeze-db");
    assert_eq!(legacy["skipped"][0]["phase"], "pre");
    // The spec post hook names a container this pod does not have: planned, with a finding.
    let codes: Vec<&str> = legacy["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"HV122"), "{codes:?}");
    assert!(
        legacy["findings"][0]["veleroDoes"].is_string(),
        "{legacy:#}"
    );
}

#[test]
fn a_schedule_velero_refuses_plans_no_hooks_and_exits_1() {
    let broken = "examples/broken/velero/schedule-on-error-lowercase.yaml";
    let (code, report) = plan_json(&["-f", broken, "-f", PODS]);
    assert_eq!(code, Some(1), "{report:#}");
    let plan = &report["plans"][0];
    assert_eq!(plan["refused"], true);
    assert!(!plan["findings"].as_array().unwrap().is_empty());
    for pod in plan["pods"].as_array().unwrap() {
        assert!(pod["hooks"].as_array().unwrap().is_empty(), "{pod:#}");
    }
}

#[test]
fn text_output_is_a_table_with_the_skipped_hook_and_the_finding() {
    let out = hooks(&["backup", "plan", "-f", SCHEDULE, "-f", PODS]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("schedule/nightly-db"), "{text}");
    assert!(text.contains("2 pods taken in, 2 with hooks"), "{text}");
    assert!(text.contains("shop/db-legacy"), "{text}");
    assert!(text.contains("SKIPPED"), "{text}");
    assert!(text.contains("HV122"), "{text}");
}

#[test]
fn input_without_velero_objects_is_an_input_error() {
    let out = hooks(&["backup", "plan", "-f", PODS]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no Backup, Schedule or Restore"));
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args(["backup", "plan", "-o", "json", "-f", SCHEDULE, "-f", PODS])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(101), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_pod_written_without_a_namespace_is_planned_in_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nons.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nons\n  annotations:\n    pre.hook.backup.velero.io/command: '[\"/bin/sync\"]'\nspec:\n  containers: [{name: app}]\n---\n\
         apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: b, namespace: velero}\nspec:\n  includedNamespaces: [default]\n",
    )
    .unwrap();
    let (code, report) = plan_json(&["-f", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report}");
    let pod = &report["plans"][0]["pods"][0];
    assert_eq!(
        (pod["namespace"].as_str(), pod["name"].as_str()),
        (Some("default"), Some("nons")),
        "{report}"
    );
}
