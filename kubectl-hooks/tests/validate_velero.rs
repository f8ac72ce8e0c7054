//! `kubectl hooks validate -f` on Velero's own objects: Backups, Schedules and Restores are
//! checked like pods, their findings located at the spec field they name, their spec hooks
//! listed, and a spec hook whose container a pod of the same input lacks is reported on
//! that pod.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn hooks(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("kubectl-hooks runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// A fresh directory holding one manifest `name` with `text`.
fn manifest(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    (dir, name.to_owned())
}

const SCHEDULE: &str = "apiVersion: velero.io/v1
kind: Schedule
metadata:
  name: nightly
  namespace: velero
spec:
  schedule: 0 1 * * *
  template:
    includedNamespaces: [shop]
    hooks:
      resources:
        - name: freeze
          labelSelector:
            matchLabels: {app: db}
          pre:
            - exec:
                container: postgres
                command: [/bin/sync]
                onError: Fail
                timeout: 2m
          post:
            - exec:
                command: [/bin/true]
                onError: Continue
                timeout: 30
";

fn deployment(name: &str, app: &str, container: &str, annotations: &str) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata:
      labels: {{app: {app}}}
      annotations: {{{annotations}}}
    spec:
      containers:
        - name: {container}
          image: postgres
"
    )
}

#[test]
fn spec_findings_point_at_the_line_and_column_of_the_field_in_every_format() {
    let (dir, file) = manifest("schedule.yaml", SCHEDULE);
    let dir = dir.path();
    let text = hooks(dir, &["validate", "-f", &file]);
    assert_eq!(text.status.code(), Some(1), "{}", stdout(&text));
    assert!(
        stdout(&text).contains(
            "schedule.yaml:25:17: schedule/nightly -n velero: error HV107: \
             spec.template.hooks.resources[0].post[0].exec.timeout: `30` is not a string"
        ),
        "{}",
        stdout(&text)
    );
    assert!(
        stdout(&text).contains("1 object checked, 1 with hooks: 1 error"),
        "{}",
        stdout(&text)
    );

    let report = json_of(&hooks(dir, &["validate", "-o", "json", "-f", &file]));
    let finding = &report["objects"][0]["findings"][0];
    assert_eq!(finding["code"], "HV107");
    assert_eq!(
        finding["path"],
        "spec.template.hooks.resources[0].post[0].exec.timeout"
    );
    assert_eq!(
        (&finding["line"], &finding["column"]),
        (&json!(25), &json!(17))
    );
    assert!(finding.get("key").is_none());

    let yaml = stdout(&hooks(dir, &["validate", "-o", "yaml", "-f", &file]));
    assert!(yaml.contains("code: HV107"), "{yaml}");
    assert!(yaml.contains("line: 25"), "{yaml}");

    let sarif = json_of(&hooks(dir, &["validate", "-o", "sarif", "-f", &file]));
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "HV107");
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "schedule.yaml");
    assert_eq!(
        location["region"],
        json!({"startLine": 25, "startColumn": 17})
    );

    let github = stdout(&hooks(dir, &["validate", "-o", "github", "-f", &file]));
    assert!(
        github.starts_with("::error file=schedule.yaml,line=25,col=17,title=HV107 "),
        "{github}"
    );
}

#[test]
fn json_lists_spec_hooks_with_their_name_source_and_effective_values() {
    let (dir, file) = manifest("schedule.yaml", SCHEDULE);
    let report = json_of(&hooks(dir.path(), &["validate", "-o", "json", "-f", &file]));
    let schedule = &report["objects"][0];
    assert_eq!(schedule["kind"], "Schedule");
    assert_eq!(schedule["apiVersion"], "velero.io/v1");
    assert_eq!(
        schedule["hooks"],
        json!([
            {"phase": "pre", "source": "spec", "hookName": "freeze", "container": "postgres",
             "command": ["/bin/sync"], "onError": "Fail", "timeout": "2m",
             "timeoutNanos": 120_000_000_000_i64},
            // No container: Velero uses each pod's first one. `30` is a number, not a
            // duration: the default 30s applies.
            {"phase": "post", "source": "spec", "hookName": "freeze", "container": null,
             "command": ["/bin/true"], "onError": "Continue", "timeout": "30",
             "timeoutNanos": 30_000_000_000_i64},
        ])
    );
    assert_eq!(report["summary"]["objects"], 1);
    assert_eq!(report["summary"]["withHooks"], 1);
}

#[test]
fn restore_hooks_list_exec_values_and_init_containers() {
    let restore = "apiVersion: velero.io/v1
kind: Restore
metadata: {name: r, namespace: velero}
spec:
  backupName: b
  hooks:
    resources:
      - name: warm
        postHooks:
          - init:
              initContainers:
                - {name: seed, image: busybox, command: [/bin/seed]}
          - exec:
              command: [/bin/warm]
              onError: Fail
              waitForReady: true
";
    let (dir, file) = manifest("restore.yaml", restore);
    let output = hooks(dir.path(), &["validate", "-o", "json", "-f", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let hooks = &json_of(&output)["objects"][0]["hooks"];
    assert_eq!(
        hooks,
        &json!([
            {"phase": "restore-init", "source": "spec", "hookName": "warm", "container": null,
             "command": ["/bin/seed"], "image": "busybox", "initContainerName": "seed"},
            // execTimeout unset: 30s; waitTimeout unset: no limit (null).
            {"phase": "restore", "source": "spec", "hookName": "warm", "container": null,
             "command": ["/bin/warm"], "onError": "Fail", "timeoutNanos": 30_000_000_000_i64,
             "waitTimeoutNanos": null, "waitForReady": true},
        ])
    );
}

/// The findings of the object named `name` in a JSON report.
fn findings_of<'a>(report: &'a Value, name: &str) -> &'a Vec<Value> {
    report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))["findings"]
        .as_array()
        .unwrap()
}

#[test]
fn a_spec_hook_whose_container_a_selected_pod_lacks_is_reported_on_that_pod() {
    let cases = [
        // (deployment, its app label, its container, its annotations, expect HV122)
        ("db", "db", "pg", "", true),
        // The hook's container is there.
        ("db", "db", "postgres", "", false),
        // The hook's labelSelector does not select the pod.
        ("web", "web", "nginx", "", false),
        // The pod's pre annotation hook replaces every spec pre hook (item_hook_handler.go).
        (
            "db",
            "db",
            "pg",
            "pre.hook.backup.velero.io/command: '[\"/bin/true\"]'",
            false,
        ),
    ];
    for (name, app, container, annotations, expected) in cases {
        let text = format!(
            "{SCHEDULE}{}",
            deployment(name, app, container, annotations)
        );
        let text = text.replace("timeout: 30\n", "timeout: 30s\n");
        let (dir, file) = manifest("all.yaml", &text);
        let report = json_of(&hooks(dir.path(), &["validate", "-o", "json", "-f", &file]));
        let on_pod: Vec<&Value> = findings_of(&report, name)
            .iter()
            .filter(|f| f["code"] == "HV122")
            .collect();
        assert_eq!(
            on_pod.len(),
            usize::from(expected),
            "{name} {container} {annotations}: {report}"
        );
        if expected {
            let finding = on_pod[0];
            assert_eq!(
                finding["path"],
                "spec.template.hooks.resources[0].pre[0].exec.container"
            );
            let problem = finding["problem"].as_str().unwrap();
            assert!(problem.contains("schedule/nightly"), "{problem}");
            assert!(problem.contains("deployment/db"), "{problem}");
            assert!(problem.contains("`postgres`"), "{problem}");
            // Located at the workload.
            assert_eq!(finding["line"], 27, "{report}");
        }
        assert!(
            findings_of(&report, "nightly")
                .iter()
                .all(|f| f["code"] != "HV122")
        );
    }
}

#[test]
fn an_excluded_namespace_keeps_its_pods_out_of_the_cross_check() {
    let text = format!(
        "{SCHEDULE}{}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    velero.io/exclude-from-backup: \"true\"\n",
        deployment("db", "db", "pg", "")
    )
    .replace("timeout: 30\n", "timeout: 30s\n");
    let (dir, file) = manifest("all.yaml", &text);
    let output = hooks(dir.path(), &["validate", "-o", "json", "-f", &file]);
    let report = json_of(&output);
    assert!(findings_of(&report, "db").is_empty(), "{report}");
    // The Namespace itself is not a checked object.
    assert_eq!(report["summary"]["objects"], 2);
}

#[test]
fn ignore_flag_and_annotation_silence_spec_findings() {
    let (dir, file) = manifest("schedule.yaml", SCHEDULE);
    let flag = hooks(dir.path(), &["validate", "--ignore", "HV107", "-f", &file]);
    assert_eq!(flag.status.code(), Some(0), "{}", stdout(&flag));
    assert!(stdout(&flag).contains("1 ignored"), "{}", stdout(&flag));

    let annotated = SCHEDULE.replace(
        "  namespace: velero\n",
        "  namespace: velero\n  annotations:\n    velero-hooks.io/ignore: HV107\n",
    );
    let (dir, file) = manifest("schedule.yaml", &annotated);
    let output = hooks(dir.path(), &["validate", "-o", "json", "-f", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let ignored = &json_of(&output)["objects"][0]["ignored"][0];
    assert_eq!(ignored["code"], "HV107");
    assert_eq!(ignored["ignoredBy"], "annotation");
    assert_eq!(ignored["line"], 27);
}

#[test]
fn lists_locate_each_items_fields_and_undecodable_specs_are_reported() {
    let list = "apiVersion: v1
kind: List
items:
  - apiVersion: velero.io/v1
    kind: Backup
    metadata:
      name: one
    spec:
      excludedResources: ['*']
  - apiVersion: velero.io/v1
    kind: Backup
    metadata:
      name: two
    spec:
      excludedResources: ['*']
  - apiVersion: velero.io/v1
    kind: Backup
    metadata:
      name: three
    spec:
      hooks: [not, a, map]
";
    let (dir, file) = manifest("list.yaml", list);
    let report = json_of(&hooks(dir.path(), &["validate", "-o", "json", "-f", &file]));
    let line = |name: &str, code: &str| {
        findings_of(&report, name)
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("{name} has no {code}: {report}"))["line"]
            .clone()
    };
    assert_eq!(line("one", "HV131"), 9);
    assert_eq!(line("two", "HV131"), 15);
    assert_eq!(line("three", "HV100"), 21);
    assert_eq!(report["summary"]["objects"], 3);
}

#[test]
fn the_good_schedule_example_is_checked_and_clean() {
    let output = hooks(
        &repo(),
        &[
            "validate",
            "-o",
            "json",
            "-f",
            "examples/good/schedule-spec-hooks.yaml",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let report = json_of(&output);
    assert_eq!(report["summary"]["objects"], 1);
    let hooks = report["objects"][0]["hooks"].as_array().unwrap();
    assert!(hooks.iter().all(|h| h["source"] == "spec"));
    assert_eq!(hooks[0]["hookName"], "freeze-db");
}

/// A Restore that maps the pods' namespace matches its hooks against the namespace the
/// pods are restored into (`GetRestoreHooksFromSpec`, Velero issue #4720); a hook whose
/// container a restored pod lacks is reported on the input's pod, in its own namespace.
#[test]
fn a_mapped_restore_reports_a_missing_container_on_the_backed_up_pod() {
    let restore = |hook_namespace: &str| {
        format!(
            "apiVersion: velero.io/v1
kind: Restore
metadata:
  name: to-staging
  namespace: velero
spec:
  backupName: nightly
  namespaceMapping: {{shop: shop-staging}}
  hooks:
    resources:
      - name: warm
        includedNamespaces: [{hook_namespace}]
        postHooks:
          - exec:
              container: postgres
              command: [/bin/true]
              waitTimeout: 1m
"
        )
    };
    for (hook_namespace, expected) in [("shop-staging", 1), ("shop", 0)] {
        let text = format!(
            "{}{}",
            restore(hook_namespace),
            deployment("db", "db", "pg", "")
        );
        let (dir, file) = manifest("all.yaml", &text);
        let report = json_of(&hooks(dir.path(), &["validate", "-o", "json", "-f", &file]));
        let on_pod: Vec<&Value> = findings_of(&report, "db")
            .iter()
            .filter(|f| f["code"] == "HV122")
            .collect();
        assert_eq!(on_pod.len(), expected, "{hook_namespace}: {report}");
        if expected == 1 {
            let problem = on_pod[0]["problem"].as_str().unwrap();
            assert!(problem.contains("restore/to-staging"), "{problem}");
        }
        let plan = json_of(&hooks(
            dir.path(),
            &["backup", "plan", "-o", "json", "-f", &file],
        ));
        let pod = &plan["plans"][0]["pods"][0];
        assert_eq!(
            (&pod["namespace"], &pod["sourceNamespace"]),
            (&json!("shop-staging"), &json!("shop")),
            "{plan}"
        );
    }
}
