//! `validate` where CI runs it: SARIF checked by Microsoft's SARIF Multitool, GitHub
//! workflow commands, `--fail-on`/`--exit-zero`, `--ignore` and the ignore annotation.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use velero_hooks::rules::RULES;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn hooks_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("kubectl-hooks runs")
}

fn hooks(args: &[&str]) -> Output {
    hooks_in(&repo(), args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn sarif(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

/// The pinned SARIF Multitool: `$SARIF_MULTITOOL`, else the one scripts/install-tools.sh
/// puts in .tools (scripts/test.sh runs it first, so a missing tool is a broken set-up).
fn multitool() -> PathBuf {
    let path = std::env::var_os("SARIF_MULTITOOL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/bin/sarif-multitool"));
    assert!(
        path.exists(),
        "the SARIF Multitool is not installed at {}: run scripts/install-tools.sh \
         (scripts/test.sh does) or set SARIF_MULTITOOL",
        path.display()
    );
    path
}

/// Runs `sarif-multitool validate` on `log` and returns the errors and warnings it reports
/// (its exit status is 0 whatever it finds, so its own SARIF output is read instead).
fn multitool_complaints(log: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("validate.sarif");
    let report = dir.path().join("multitool.sarif");
    std::fs::write(&input, log).unwrap();
    let output = Command::new(multitool())
        .args([
            "validate",
            "--level",
            "Error;Warning;Note",
            "--log",
            "ForceOverwrite",
        ])
        .arg("-o")
        .arg(&report)
        .arg(&input)
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .expect("the SARIF Multitool starts");
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "no report from the SARIF Multitool ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let report: Value = serde_json::from_str(&text).unwrap();
    // Notes (advice such as "add versionControlProvenance") show the log was read.
    let about_input = results(&report).iter().any(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|uri| uri.ends_with("validate.sarif"))
    });
    assert!(
        about_input,
        "the Multitool reported nothing about the log: {text}"
    );
    results(&report)
        .iter()
        .filter(|r| matches!(r["level"].as_str(), Some("error" | "warning") | None))
        .map(|r| format!("{} {}", r["ruleId"], r["message"]))
        .collect()
}

const BROKEN_POD_TEMPLATE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      annotations:
        pre.hook.backup.velero.io/command: '[\"/sbin/fsfreeze\", \"--freeze\", \"/data\"]'
        pre.hook.backup.velero.io/timeout: '300'
    spec:
      containers:
        - name: web
";

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_owned()
}

#[test]
fn sarif_of_every_example_and_of_unreadable_input_passes_the_sarif_multitool() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "kind: [unclosed\n").unwrap();
    let silenced = dir.path().join("silenced.yaml");
    let annotated = BROKEN_POD_TEMPLATE.replace(
        "      annotations:\n",
        "      annotations:\n        velero-hooks.io/ignore: HV020\n",
    );
    std::fs::write(&silenced, annotated).unwrap();
    let output = hooks(&[
        "validate",
        "-o",
        "sarif",
        "--ignore",
        "HV011",
        "-R",
        "-f",
        "examples",
        "-f",
        bad.to_str().unwrap(),
        "-f",
        silenced.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "unreadable input wins");
    let log = sarif(&output);
    let all = results(&log);
    assert!(all.iter().any(|r| r["ruleId"] == "input-error"));
    assert!(
        all.iter()
            .any(|r| r["suppressions"][0]["kind"] == "inSource")
    );
    assert!(
        all.iter()
            .any(|r| r["suppressions"][0]["kind"] == "external")
    );
    let complaints = multitool_complaints(&stdout(&output));
    assert!(complaints.is_empty(), "{complaints:#?}");
}

#[test]
fn the_sarif_multitool_check_fails_on_an_invalid_log() {
    // The check above must be able to fail: a log without its tool is invalid SARIF.
    let output = hooks(&["validate", "-o", "sarif", "-f", "examples/broken"]);
    let mut log = sarif(&output);
    log["runs"][0].as_object_mut().unwrap().remove("tool");
    let complaints = multitool_complaints(&log.to_string());
    assert!(
        complaints.iter().any(|c| c.contains("tool")),
        "{complaints:#?}"
    );
}

#[test]
fn sarif_has_one_rule_per_code_and_results_that_point_at_each_finding() {
    let output = hooks(&["validate", "-o", "sarif", "-f", "examples/broken"]);
    assert_eq!(output.status.code(), Some(1));
    let log = sarif(&output);
    assert_eq!(log["version"], "2.1.0");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = RULES.iter().map(|r| r.code).collect();
    expected.push("input-error");
    assert_eq!(ids, expected);
    for (rule, descriptor) in RULES.iter().zip(rules) {
        assert!(
            descriptor["help"]["text"]
                .as_str()
                .unwrap()
                .contains(rule.summary)
        );
        assert_eq!(
            descriptor["defaultConfiguration"]["level"],
            rule.severity.as_str()
        );
    }

    let all = results(&log);
    let timeout = all
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "examples/broken/timeout-no-unit.yaml"
        })
        .expect("a result for timeout-no-unit.yaml");
    assert_eq!(timeout["ruleId"], "HV020");
    assert_eq!(timeout["level"], "error");
    assert_eq!(
        timeout["locations"][0]["physicalLocation"]["region"],
        json!({"startLine": 19, "startColumn": 9}),
        "the line and column of the key"
    );
    assert_eq!(
        timeout["properties"]["key"],
        "pre.hook.backup.velero.io/timeout"
    );
    let message = timeout["message"]["text"].as_str().unwrap();
    assert!(
        message
            .starts_with("deployment/timeout-no-unit -n shop: pre.hook.backup.velero.io/timeout:")
            && message.contains("Fix: did you mean `300s`?"),
        "{message}"
    );
    // A finding on a spec field points at the field: `timeout: "30"` of the first pre hook.
    let spec_log = sarif(&hooks(&[
        "validate",
        "-o",
        "sarif",
        "-f",
        "examples/broken/velero/backup-timeout-no-unit.yaml",
    ]));
    let spec = &results(&spec_log)[0];
    assert_eq!(spec["ruleId"], "HV107");
    assert_eq!(
        spec["locations"][0]["physicalLocation"]["region"],
        json!({"startLine": 20, "startColumn": 11}),
        "the line and column of spec.hooks.resources[0].pre[0].exec.timeout"
    );
    let warning = all.iter().find(|r| r["ruleId"] == "HV011").unwrap();
    assert_eq!(warning["level"], "warning");
    for result in all {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
}

#[test]
fn fingerprints_stay_when_lines_move_and_differ_between_findings() {
    let dir = tempfile::tempdir().unwrap();
    let two = format!(
        "{BROKEN_POD_TEMPLATE}---\n{}",
        BROKEN_POD_TEMPLATE.replace("name: web\n", "name: api\n")
    );
    let name = write(dir.path(), "app.yaml", &two);
    let run = || {
        let log = sarif(&hooks_in(
            dir.path(),
            &["validate", "-o", "sarif", "-f", &name],
        ));
        results(&log)
            .iter()
            .map(|r| {
                (
                    r["partialFingerprints"]["veleroHooksFinding/v1"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let before = run();
    assert_eq!(before.len(), 4, "HV011 and HV020 on each Deployment");
    let mut prints: Vec<&String> = before.iter().map(|(p, _)| p).collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), 4, "every finding has its own fingerprint");

    write(dir.path(), "app.yaml", &format!("# moved\n# down\n\n{two}"));
    let after = run();
    for ((print_before, line_before), (print_after, line_after)) in before.iter().zip(&after) {
        assert_eq!(print_before, print_after);
        assert_eq!(line_before + 3, *line_after);
    }
}

#[test]
fn github_commands_annotate_file_line_and_column_with_escaped_properties() {
    let dir = tempfile::tempdir().unwrap();
    let name = write(dir.path(), "web,v2:prod.yaml", BROKEN_POD_TEMPLATE);
    let output = hooks_in(dir.path(), &["validate", "-o", "github", "-f", &name]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(
            "::warning file=web%2Cv2%3Aprod.yaml,line=10,title=HV011 on-error-unset::\
             deployment/web -n shop: pre.hook.backup.velero.io/on-error: not set%0Avelero: "
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "::error file=web%2Cv2%3Aprod.yaml,line=11,col=9,title=HV020 timeout-invalid::\
             deployment/web -n shop: pre.hook.backup.velero.io/timeout: `300` is not a Go duration"
        ) && lines[1].ends_with("%0Afix: did you mean `300s`?"),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "1 object checked, 1 with hooks: 1 error, 1 warning"
    );

    write(dir.path(), "bad.yaml", "kind: [unclosed\n");
    let output = hooks_in(dir.path(), &["validate", "-o", "github", "-f", "bad.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).starts_with("::error file=bad.yaml,line=1,col=7,title=input error::"),
        "{}",
        stdout(&output)
    );

    // From stdin there is no file to annotate: the message carries the place.
    let output = Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args(["validate", "-o", "github", "-f", "-"])
        .current_dir(repo())
        .stdin(std::fs::File::open(repo().join("examples/broken/timeout-no-unit.yaml")).unwrap())
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(
        text.starts_with(
            "::error title=HV020 timeout-invalid::<stdin>:19: deployment/timeout-no-unit"
        ),
        "{text}"
    );
}

#[test]
fn exit_status_follows_fail_on_and_exit_zero() {
    let warning_only = "examples/broken/on-error-unset.yaml";
    let error = "examples/broken/timeout-no-unit.yaml";
    let status = |args: &[&str]| {
        let mut all = vec!["validate"];
        all.extend_from_slice(args);
        hooks(&all).status.code().unwrap()
    };
    assert_eq!(status(&["-f", warning_only]), 0);
    assert_eq!(status(&["-f", warning_only, "--fail-on", "warning"]), 1);
    assert_eq!(status(&["-f", warning_only, "--fail-on", "error"]), 0);
    assert_eq!(
        status(&["-f", warning_only, "--fail-on", "warning", "--exit-zero"]),
        0
    );
    assert_eq!(status(&["-f", error]), 1);
    assert_eq!(status(&["-f", error, "--exit-zero"]), 0);
    assert_eq!(status(&["-f", error, "--ignore", "HV020"]), 0);
    assert_eq!(status(&["-f", error, "--ignore", "timeout-invalid"]), 0);
    // Unreadable input was not checked at all: no flag turns that into a pass.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "kind: [unclosed\n").unwrap();
    assert_eq!(status(&["-f", bad.to_str().unwrap(), "--exit-zero"]), 2);
}

#[test]
fn ignore_takes_comma_lists_and_refuses_unknown_codes_listing_the_valid_ones() {
    let file = "examples/broken/timeout-no-unit.yaml";
    let output = hooks(&["validate", "-f", file, "--ignore", "hv011,HV020"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output)
            .ends_with("1 object checked, 1 with hooks: 0 errors, 0 warnings, 1 ignored\n"),
        "{}",
        stdout(&output)
    );

    let output = hooks(&["validate", "-f", file, "--ignore", "HV020,HV999"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown rule `HV999`") && stderr.contains("HV001, HV002"),
        "{stderr}"
    );
}

#[test]
fn the_ignore_annotation_silences_codes_on_that_object_only() {
    let dir = tempfile::tempdir().unwrap();
    let silenced = BROKEN_POD_TEMPLATE.replace(
        "  namespace: shop\n",
        "  namespace: shop\n  annotations:\n    velero-hooks.io/ignore: \"HV011, HV020\"\n",
    );
    let other = BROKEN_POD_TEMPLATE.replace("name: web\n", "name: api\n");
    let name = write(dir.path(), "apps.yaml", &format!("{silenced}---\n{other}"));
    let output = hooks_in(dir.path(), &["validate", "-f", &name]);
    assert_eq!(output.status.code(), Some(1), "api's error still counts");
    let text = stdout(&output);
    assert!(!text.contains("deployment/web"), "{text}");
    assert!(
        text.contains("deployment/api -n shop: error HV020"),
        "{text}"
    );
    assert!(
        text.ends_with("2 objects checked, 2 with hooks: 1 error, 1 warning, 2 ignored\n"),
        "{text}"
    );

    let output = hooks_in(dir.path(), &["validate", "-o", "json", "-f", &name]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let ignored = report["objects"][0]["ignored"].as_array().unwrap();
    let codes: Vec<&str> = ignored
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["HV011", "HV020"]);
    assert!(ignored.iter().all(|f| f["ignoredBy"] == "annotation"));
    assert_eq!(report["summary"]["ignored"], 2);

    // A code that names no rule is pointed at, not silently ignored.
    let typo = BROKEN_POD_TEMPLATE.replace(
        "      annotations:\n",
        "      annotations:\n        velero-hooks.io/ignore: HV02O\n",
    );
    let name = write(dir.path(), "typo.yaml", &typo);
    let output = hooks_in(dir.path(), &["validate", "-f", &name]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).contains(
            "typo.yaml:10: deployment/web -n shop: velero-hooks.io/ignore (pod template): \
             unknown rule `HV02O`"
        ),
        "{}",
        stdout(&output)
    );
}

#[test]
fn files_named_without_f_are_read_like_f() {
    let output = hooks(&[
        "validate",
        "examples/broken/timeout-no-unit.yaml",
        "examples/good/nginx-fsfreeze.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("examples/broken/timeout-no-unit.yaml:19:"),
        "{}",
        stdout(&output)
    );
}
