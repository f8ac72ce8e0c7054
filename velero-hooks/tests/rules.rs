//! Annotations in, findings out: one or more rows per rule, and rows that must stay clean.

use serde_json::{Value, json};
use velero_hooks::rules::RULES;
use velero_hooks::{VeleroVersion, check_object};

const FSFREEZE: &str = r#"["/sbin/fsfreeze","--freeze","/var/log/nginx"]"#;

/// A pod with regular containers `app` and `fsfreeze`, an init container `setup` and a
/// native sidecar `proxy`.
fn pod(annotations: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
        "spec": {
            "initContainers": [{"name": "setup"}, {"name": "proxy", "restartPolicy": "Always"}],
            "containers": [{"name": "app"}, {"name": "fsfreeze"}]
        }
    })
}

fn codes(object: &Value, version: VeleroVersion) -> Vec<&'static str> {
    let report = check_object(object, version).expect("a pod");
    let mut codes: Vec<_> = report.findings.iter().map(|f| f.code).collect();
    codes.sort();
    codes
}

/// (annotations, expected codes on 1.18) — every hook explicitly Fail-or-Continue so that
/// HV011 (on-error unset) shows only where a row is about it.
fn table() -> Vec<(Value, Vec<&'static str>)> {
    vec![
        // Clean hooks.
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec![],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "/usr/bin/foo", "pre.hook.backup.velero.io/on-error": "Continue", "pre.hook.backup.velero.io/container": "fsfreeze", "pre.hook.backup.velero.io/timeout": "1h30m"}),
            vec![],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/wait-timeout": "5m", "post.hook.restore.velero.io/wait-for-ready": "True", "post.hook.restore.velero.io/exec-timeout": "45s"}),
            vec![],
        ),
        (
            json!({"init.hook.restore.velero.io/container-image": "busybox", "init.hook.restore.velero.io/command": "[]", "init.hook.restore.velero.io/container-name": "restore-data"}),
            vec![],
        ),
        (
            json!({"app.kubernetes.io/name": "web", "backup.velero.io/backup-volumes": "data"}),
            vec![],
        ),
        // HV001 command not a JSON array of strings.
        (
            json!({"pre.hook.backup.velero.io/command": "[blarg", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "['/bin/x', '--y']", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": " [\"/bin/ls\"]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[\"a\",1]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[[\"a\"]]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[\"a\"]x", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "null", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        // HV001 for the typical ways an intended array breaks: typographic quotes, a shell
        // line continuation (kept by a block scalar, folded to a space by a quoted one) and a
        // lost bracket at either end.
        (
            json!({"pre.hook.backup.velero.io/command": "[\u{201c}/bin/sh\u{201d}, \u{201c}-c\u{201d}, \u{201c}sync\u{201d}]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/sh\", \"-c\", \"pg_dump \\\n  -U app\"]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/sh\", \"-c\", \"x\"", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "\"/bin/sh\", \"-c\", \"x\"]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV001"],
        ),
        // HV002 empty array.
        (
            json!({"post.hook.backup.velero.io/command": "[ ]", "post.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV002"],
        ),
        // HV003 plain string with whitespace (including a YAML block scalar's newline).
        (
            json!({"pre.hook.backup.velero.io/command": "/sbin/fsfreeze --freeze /x", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV003"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "/bin/ls\n", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV003"],
        ),
        // HV004 empty program name; HV005 empty argument.
        (
            json!({"pre.hook.backup.velero.io/command": "[\"\"]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV004"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[null]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV004"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": " ", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV004"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[\"a\", null]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV005"],
        ),
        // HV006: a shell's -c with nothing after it (`sh: -c: option requires an argument`).
        (
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/sh\", \"-c\"]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV006"],
        ),
        (
            json!({"post.hook.backup.velero.io/command": "[\"busybox\", \"sh\", \"-ec\"]", "post.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV006"],
        ),
        (
            json!({"init.hook.restore.velero.io/container-image": "alpine:3.20", "init.hook.restore.velero.io/command": "[\"/bin/ash\", \"-c\"]"}),
            vec!["HV006"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/bash\", \"-ec\", \"sync\"]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec![],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[\"/usr/bin/python3\", \"-c\"]", "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec![],
        ),
        // HV010 on-error not exactly Fail/Continue; HV011 unset.
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "fail"}),
            vec!["HV010"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail "}),
            vec!["HV010"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE}),
            vec!["HV011"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/on-error": "CONTINUE", "post.hook.restore.velero.io/wait-timeout": "10m"}),
            vec!["HV010"],
        ),
        // HV020-HV023 timeouts.
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": "30"}),
            vec!["HV020"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": "1d"}),
            vec!["HV020"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": "0"}),
            vec!["HV021"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": "-5s"}),
            vec!["HV022"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": "5h"}),
            vec!["HV023"],
        ),
        // A unit of a second or a minute mistyped: `30ms`, `1ns`.
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": "30ms"}),
            vec!["HV026"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/exec-timeout": "2 m", "post.hook.restore.velero.io/wait-timeout": "10m"}),
            vec!["HV020"],
        ),
        // HV024/HV025 restore wait-timeout; invalid wait-timeout is HV020.
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE}),
            vec!["HV024"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/wait-timeout": ""}),
            vec!["HV024"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/wait-timeout": "0s"}),
            vec!["HV024"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/wait-timeout": "-1m"}),
            vec!["HV025"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/wait-timeout": "10"}),
            vec!["HV020"],
        ),
        // HV030 fields without the key that turns the hook on.
        (
            json!({"pre.hook.backup.velero.io/container": "app", "pre.hook.backup.velero.io/timeout": "1m"}),
            vec!["HV030", "HV030"],
        ),
        (
            json!({"post.hook.backup.velero.io/command": "", "post.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV030"],
        ),
        (
            json!({"init.hook.restore.velero.io/command": "[\"/restore\"]"}),
            vec!["HV030"],
        ),
        (
            json!({"post.hook.restore.velero.io/container": "app"}),
            vec!["HV030"],
        ),
        // HV031 container not found (init container never counts; sidecar only after 1.18).
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/container": "fsfreze"}),
            vec!["HV031"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/container": "setup"}),
            vec!["HV031"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/container": "proxy"}),
            vec!["HV031"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/container": " app"}),
            vec!["HV031"],
        ),
        // HV040-HV042 legacy keys.
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "hook.backup.velero.io/command": "/bin/true"}),
            vec!["HV040"],
        ),
        (
            json!({"hook.backup.velero.io/command": FSFREEZE, "hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": "1m"}),
            vec!["HV041", "HV042"],
        ),
        (
            json!({"hook.backup.velero.io/command": FSFREEZE, "hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV042"],
        ),
        // HV050-HV052 keys.
        (
            json!({"pre.hook.backup.velero.io/comand": FSFREEZE}),
            vec!["HV050"],
        ),
        (
            json!({"Pre.hook.backup.velero.io/command": FSFREEZE}),
            vec!["HV050"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/timeout": "5m", "post.hook.restore.velero.io/wait-timeout": "10m"}),
            vec!["HV050"],
        ),
        (
            json!({"pre.hook.restore.velero.io/command": FSFREEZE}),
            vec!["HV050"],
        ),
        // HV053 Heptio Ark's prefix, whatever the phase.
        (
            json!({"pre.hook.backup.ark.heptio.com/command": FSFREEZE, "pre.hook.backup.ark.heptio.com/on-error": "Fail"}),
            vec!["HV053", "HV053"],
        ),
        (
            json!({"hook.backup.ark.heptio.com/command": FSFREEZE}),
            vec!["HV053"],
        ),
        (
            json!({"post.hook.restore.ark.heptio.com/command": FSFREEZE}),
            vec!["HV053"],
        ),
        (
            json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": 30}),
            vec!["HV051"],
        ),
        // A command written as a YAML list is HV051 alone: the keys beside it are not also
        // told that the command is missing.
        (
            json!({"pre.hook.backup.velero.io/command": ["/bin/sync"], "pre.hook.backup.velero.io/on-error": "Fail"}),
            vec!["HV051"],
        ),
        (
            json!({"init.hook.restore.velero.io/container-image": "busybox", "init.hook.restore.velero.io/command": "[\"/x\"]", "init.hook.restore.velero.io/timeout": "1m"}),
            vec!["HV052"],
        ),
        // HV070-HV073 init hooks.
        (
            json!({"init.hook.restore.velero.io/container-image": "busybox"}),
            vec!["HV070"],
        ),
        (
            json!({"init.hook.restore.velero.io/container-image": "busybox", "init.hook.restore.velero.io/command": ""}),
            vec!["HV070"],
        ),
        (
            json!({"init.hook.restore.velero.io/container-image": "busybox", "init.hook.restore.velero.io/command": "/restore --all"}),
            vec!["HV003"],
        ),
        (
            json!({"init.hook.restore.velero.io/container-image": "busybox", "init.hook.restore.velero.io/command": "[]", "init.hook.restore.velero.io/container-name": "Restore_Data"}),
            vec!["HV072"],
        ),
        (
            json!({"init.hook.restore.velero.io/container-image": "busybox", "init.hook.restore.velero.io/command": "[]", "init.hook.restore.velero.io/container-name": "setup"}),
            vec!["HV073"],
        ),
        (
            json!({"init.hook.restore.velero.io/container-image": "busybox", "init.hook.restore.velero.io/command": "[]", "init.hook.restore.velero.io/container-name": "restore-wait"}),
            vec!["HV073"],
        ),
        // HV080/HV081 restore exec hooks.
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/container": "proxy", "post.hook.restore.velero.io/wait-timeout": "10m"}),
            vec!["HV080"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/container": "nope", "post.hook.restore.velero.io/wait-timeout": "10m"}),
            vec!["HV080"],
        ),
        (
            json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/wait-for-ready": "yes", "post.hook.restore.velero.io/wait-timeout": "10m"}),
            vec!["HV081"],
        ),
    ]
}

#[test]
fn every_row_gives_exactly_its_codes() {
    for (annotations, expected) in table() {
        let object = pod(annotations.clone());
        assert_eq!(
            codes(&object, VeleroVersion::LATEST_RELEASE),
            expected,
            "{annotations}"
        );
    }
}

#[test]
fn every_rule_has_a_row() {
    let rows = table();
    let mut covered: Vec<&str> = rows.iter().flat_map(|(_, c)| c.iter().copied()).collect();
    covered.extend(["HV032", "HV060"]); // need other object shapes: see their own tests
    covered.push("HV082"); // only on Velero 1.12: tests/releases.rs
    covered.push("HV090"); // only on Velero 1.14.0-1.15.0: tests/releases.rs
    // Velero objects' rules (HV1xx) have their own table: tests/spec_rules.rs.
    for rule in RULES.iter().filter(|r| r.code.starts_with("HV0")) {
        assert!(
            covered.contains(&rule.code),
            "{} ({}) has no row",
            rule.code,
            rule.name
        );
    }
}

#[test]
fn newer_velero_accepts_sidecars_and_reads_timeouts_differently() {
    let sidecar = pod(
        json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/container": "proxy"}),
    );
    assert_eq!(codes(&sidecar, VeleroVersion::MAIN), Vec::<&str>::new());
    let negative = pod(
        json!({"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail", "pre.hook.backup.velero.io/timeout": "-1s"}),
    );
    let report = check_object(&negative, VeleroVersion::MAIN).unwrap();
    assert!(
        report.findings[0].velero_does.contains("30s"),
        "{:?}",
        report.findings
    );
    let report = check_object(&negative, VeleroVersion::LATEST_RELEASE).unwrap();
    assert!(
        report.findings[0].velero_does.contains("no time limit"),
        "{:?}",
        report.findings
    );
}

#[test]
fn pod_without_containers() {
    let object = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "annotations": {"pre.hook.backup.velero.io/command": FSFREEZE, "pre.hook.backup.velero.io/on-error": "Fail"}}, "spec": {"containers": []}});
    assert_eq!(codes(&object, VeleroVersion::LATEST_RELEASE), ["HV032"]);
}

#[test]
fn hooks_on_workload_metadata_are_reported_with_where_they_belong() {
    let object = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "dump", "namespace": "db", "annotations": {"pre.hook.backup.velero.io/command": FSFREEZE}},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "pg"}]}}}}}
    });
    let report = check_object(&object, VeleroVersion::LATEST_RELEASE).unwrap();
    assert_eq!(report.display_name(), "cronjob/dump -n db");
    assert_eq!(report.findings.len(), 1);
    let finding = &report.findings[0];
    assert_eq!(finding.code, "HV060");
    assert!(
        finding
            .fix
            .contains("spec.jobTemplate.spec.template.metadata.annotations"),
        "{}",
        finding.fix
    );
    assert_eq!(
        finding.pointer.as_deref(),
        Some("/metadata/annotations/pre.hook.backup.velero.io~1command")
    );
}

#[test]
fn messages_say_what_velero_does_and_how_to_fix() {
    let object = pod(json!({
        "pre.hook.backup.velero.io/command": "/sbin/fsfreeze --freeze /var/log/nginx",
        "pre.hook.backup.velero.io/on-error": "fail",
        "pre.hook.backup.velero.io/timeout": "30",
        "pre.hook.backup.velero.io/comand": "x",
    }));
    let report = check_object(&object, VeleroVersion::LATEST_RELEASE).unwrap();
    let by_code = |code: &str| report.findings.iter().find(|f| f.code == code).unwrap();
    assert!(
        by_code("HV003")
            .velero_does
            .contains("one program named `/sbin/fsfreeze --freeze /var/log/nginx`")
    );
    assert_eq!(
        by_code("HV003").fix,
        r#"write it as ["/sbin/fsfreeze","--freeze","/var/log/nginx"]"#
    );
    assert_eq!(by_code("HV010").fix, "did you mean `Fail`?");
    assert_eq!(by_code("HV020").fix, "did you mean `30s`?");
    assert!(by_code("HV020").velero_does.contains("default 30s"));
    assert_eq!(
        by_code("HV050").fix,
        "did you mean `pre.hook.backup.velero.io/command`?"
    );
    assert_eq!(
        by_code("HV020").pointer.as_deref(),
        Some("/metadata/annotations/pre.hook.backup.velero.io~1timeout")
    );
    for f in &report.findings {
        assert!(!f.problem.is_empty() && !f.velero_does.is_empty() && !f.fix.is_empty());
    }
}

#[test]
fn reference_admission_fixtures_get_the_expected_verdicts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/admission");
    let cases = [
        ("pod-create-valid-fsfreeze.json", false),
        ("pod-create-timeout-no-unit.json", true),
        ("deployment-create-valid.json", false),
        ("deployment-create-bad-command.json", true),
        ("cronjob-create-valid.json", false),
    ];
    for (file, has_errors) in cases {
        let review: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{file}")).unwrap())
                .unwrap();
        let report =
            check_object(&review["request"]["object"], VeleroVersion::LATEST_RELEASE).unwrap();
        assert_eq!(
            report.errors() > 0,
            has_errors,
            "{file}: {:?}",
            report.findings
        );
    }
}

#[test]
fn values_that_are_not_strings_say_what_yaml_made_of_them() {
    let cases = [
        (
            json!(null),
            "no value",
            "empty string",
            "in quotes, or remove",
        ),
        (
            json!(493),
            "`493` is a number",
            "refuses the object",
            "\"493s\"",
        ),
        (
            json!(true),
            "`true` is a boolean",
            "refuses the object",
            "\"yes\"",
        ),
    ];
    for (value, problem, velero_does, fix) in cases {
        let object = pod(json!({
            "pre.hook.backup.velero.io/command": FSFREEZE,
            "pre.hook.backup.velero.io/on-error": "Fail",
            "pre.hook.backup.velero.io/timeout": value,
        }));
        let report = check_object(&object, VeleroVersion::default()).unwrap();
        let finding = report.findings.iter().find(|f| f.code == "HV051").unwrap();
        assert!(finding.problem.contains(problem), "{finding:?}");
        assert!(finding.velero_does.contains(velero_does), "{finding:?}");
        assert!(finding.fix.contains(fix), "{finding:?}");
    }
}

#[test]
fn an_invisible_character_in_a_key_is_named() {
    let object = pod(json!({
        "pre.hook.backup.velero.io/command": FSFREEZE,
        "pre.hook.backup.velero.io/on-error\u{200B}": "Fail",
    }));
    let report = check_object(&object, VeleroVersion::LATEST_RELEASE).unwrap();
    let unknown = report
        .findings
        .iter()
        .find(|f| f.code == "HV050")
        .expect("the key is unknown");
    assert!(
        unknown
            .problem
            .contains("invisible character (U+200B at character 35)"),
        "{}",
        unknown.problem
    );
}
