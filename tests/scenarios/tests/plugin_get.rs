//! `kubectl hooks get` and `kubectl hooks validate` on live objects.

use scenarios::backend::{Backend, cronjob, deployment, expect_exit, pod, stderr};
use serde_json::{Value, json};

const FREEZE: &str = r#"["/sbin/fsfreeze","--freeze","/var/log/nginx"]"#;

fn seed(backend: &Backend) {
    backend.seed([
        deployment(
            "web",
            json!({
                "pre.hook.backup.velero.io/command": FREEZE,
                "pre.hook.backup.velero.io/container": "fsfreeze",
                "pre.hook.backup.velero.io/on-error": "Fail",
                "pre.hook.backup.velero.io/timeout": "1m",
                "post.hook.backup.velero.io/command": r#"["/sbin/fsfreeze","--unfreeze","/var/log/nginx"]"#,
                "post.hook.backup.velero.io/container": "fsfreeze",
                "post.hook.backup.velero.io/on-error": "Continue",
            }),
        ),
        pod(
            "db",
            json!({
                "pre.hook.backup.velero.io/command": r#"["/bin/sh","-c","pg_dump -U postgres shop > /backup/shop.sql && sync"]"#,
                "pre.hook.backup.velero.io/timeout": "300",
                "pre.hook.backup.velero.io/on-error": "fail",
            }),
        ),
        pod("cache", json!({"hook.backup.velero.io/command": r#"["/bin/sync"]"#})),
        pod("plain", json!({})),
        cronjob("report"),
    ]);
}

/// A real cluster's Deployment controller makes a ReplicaSet (with a generated name and the
/// same pod template, so the same hooks) even for zero replicas; the emulator runs no
/// controllers. The rows of those ReplicaSets are left out of the snapshot.
fn without_replicasets(backend: &Backend, table: &str) -> String {
    if backend.is_emulated() {
        return table.to_owned();
    }
    // Drop them and lay the columns out again (cells are separated by 3 spaces or more).
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|line| !line.starts_with("replicaset/"))
        .map(|line| {
            line.split("   ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .collect()
        })
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn lists_hooks_as_a_kubectl_table() {
    let backend = Backend::start("get-table");
    seed(&backend);
    let out = backend.hooks(&["get"]);
    insta::assert_snapshot!(
        "get_table",
        without_replicasets(&backend, &expect_exit(&out, 0))
    );

    let out = backend.hooks(&["get", "-o", "wide", "pods"]);
    insta::assert_snapshot!("get_wide_pods", expect_exit(&out, 0));

    let out = backend.hooks(&["get", "deploy/web"]);
    let text = expect_exit(&out, 0);
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn all_namespaces_adds_the_namespace_column() {
    let backend = Backend::start("get-all-namespaces");
    seed(&backend);
    let out = backend.hooks(&["get", "-A", "deploy"]);
    let text = expect_exit(&out, 0);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[..3], ["NAMESPACE", "OBJECT", "PHASE"]);
    let ns = &backend.namespace;
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{ns} ")))
        .collect();
    assert_eq!(ours.len(), 2, "{text}");
    assert!(
        ours[0].contains("deployment/web") && ours[0].contains(" pre "),
        "{text}"
    );
}

#[test]
fn json_output_is_the_librarys_summary() {
    let backend = Backend::start("get-json");
    seed(&backend);
    let out = backend.hooks(&["get", "pods", "-o", "json"]);
    let report: Value = serde_json::from_str(&expect_exit(&out, 0)).unwrap();
    let objects = report["objects"].as_array().unwrap();
    let names: Vec<&str> = objects
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cache", "db"], "objects without hooks are left out");
    let db = &objects[1];
    assert_eq!(db["kind"], "Pod");
    assert_eq!(db["namespace"], json!(backend.namespace));
    assert_eq!(db["hooks"][0]["phase"], "pre");
    assert_eq!(db["hooks"][0]["onError"], "Continue");
    assert_eq!(db["hooks"][0]["timeoutNanos"], 30_000_000_000u64);
    let codes: Vec<&str> = db["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"HV010") && codes.contains(&"HV020"),
        "{codes:?}"
    );
    assert_eq!(objects[0]["hooks"][0]["source"], "legacyAnnotation");

    let out = backend.hooks(&["get", "pods", "-o", "yaml"]);
    assert!(expect_exit(&out, 0).contains("legacyAnnotation"));
}

#[test]
fn an_empty_namespace_says_so_like_kubectl() {
    let backend = Backend::start("get-empty");
    backend.seed([pod("plain", json!({}))]);
    let out = backend.hooks(&["get"]);
    assert_eq!(expect_exit(&out, 0), "");
    // After the line naming the Velero release predicted, kubectl's own words.
    let err = stderr(&out);
    assert!(err.starts_with("Predicting Velero "), "{err}");
    assert!(
        err.ends_with(&format!(
            "\nNo resources found in {} namespace.\n",
            backend.namespace
        )),
        "{err}"
    );
}

#[test]
fn validate_on_live_objects_exits_with_the_verdict() {
    let backend = Backend::start("validate-live");
    seed(&backend);
    let out = backend.hooks(&["validate"]);
    let text = expect_exit(&out, 1);
    assert!(text.contains("pod/db -n "), "{text}");
    assert!(
        text.contains("error HV020: pre.hook.backup.velero.io/timeout"),
        "{text}"
    );

    let out = backend.hooks(&["validate", "-l", "app=web"]);
    expect_exit(&out, 0);

    let out = backend.hooks(&["remove", "pod/db"]);
    expect_exit(&out, 0);
    let out = backend.hooks(&["validate"]);
    expect_exit(&out, 0);
}
