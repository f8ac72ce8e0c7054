//! `kubectl hooks get --schedule NAME` / `--all-schedules` against the emulated API server
//! with Velero's types: beside each pod's annotation hooks, the spec hooks a live Schedule
//! runs on it, named `schedule/NAME`, as the library's planner selects them.

use scenarios::backend::expect_exit;
use scenarios::velero::{FakeVeleroConfig, VeleroWorld, running_pod};
use serde_json::{Value, json};

fn schedule(name: &str, container: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1", "kind": "Schedule",
        "metadata": {"name": name, "namespace": "velero"},
        "spec": {"schedule": "0 1 * * *", "template": {
            "includedNamespaces": ["shop"],
            "hooks": {"resources": [{
                "name": "freeze",
                "labelSelector": {"matchLabels": {"app": "db-0"}},
                "pre": [{"exec": {"container": container, "command": ["/sbin/fsfreeze", "--freeze", "/data"],
                                  "onError": "Fail", "timeout": "1m"}}],
                "post": [{"exec": {"command": ["/sbin/fsfreeze", "--unfreeze", "/data"], "onError": "Continue"}}],
            }]},
        }},
    })
}

fn world() -> VeleroWorld {
    VeleroWorld::start(
        FakeVeleroConfig {
            frozen: true,
            ..FakeVeleroConfig::default()
        },
        vec![
            // Selected by the Schedule's hook; its own post annotation hook replaces the
            // Schedule's post hook.
            running_pod(
                "shop",
                "db-0",
                json!({"post.hook.backup.velero.io/command": "[\"/bin/true\"]",
                       "post.hook.backup.velero.io/on-error": "Continue"}),
            ),
            // Not selected (label app=web-0).
            running_pod("shop", "web-0", json!({})),
            schedule("nightly", "fsfreeze"),
            schedule("broken-container", "postgres"),
        ],
    )
}

#[test]
fn get_shows_the_spec_hooks_a_schedule_runs_on_each_pod() {
    let world = world();
    let out = world.hooks(&[
        "-n",
        "shop",
        "get",
        "pods",
        "--schedule",
        "nightly",
        "-o",
        "wide",
    ]);
    let text = expect_exit(&out, 0);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    // OBJECT PHASE CONTAINER COMMAND ON-ERROR TIMEOUT STATUS SOURCE ...
    let row = |phase: &str, source: &str| {
        rows.iter()
            .find(|r| r[0] == "pod/db-0" && r[1] == phase && r[7] == source)
            .unwrap_or_else(|| panic!("no {phase} row from {source}:\n{text}"))
            .clone()
    };
    let pre = row("pre", "schedule/nightly");
    assert_eq!(
        pre[2..7],
        [
            "fsfreeze",
            "/sbin/fsfreeze --freeze /data",
            "Fail",
            "1m0s",
            "1 warning"
        ],
        "{text}"
    );
    let post = row("post", "schedule/nightly");
    assert_eq!(post[6], "skipped: annotation hook runs", "{text}");
    row("post", "annotation");
    assert!(
        rows.iter().all(|r| r[0] != "pod/web-0"),
        "a pod no hook selects has no row:\n{text}"
    );

    // Without --schedule, only annotation hooks.
    let plain = expect_exit(
        &world.hooks(&["-n", "shop", "get", "pods", "-o", "wide"]),
        0,
    );
    assert!(!plain.contains("schedule/"), "{plain}");
}

#[test]
fn get_json_names_the_schedule_and_reports_a_missing_container() {
    let world = world();
    let out = world.hooks(&["-n", "shop", "get", "pods", "--all-schedules", "-o", "json"]);
    let report: Value = serde_json::from_str(&expect_exit(&out, 0)).unwrap();
    let objects = report["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{report}");
    let hooks = objects[0]["hooks"].as_array().unwrap();
    let from = |source: &str, phase: &str| {
        hooks
            .iter()
            .find(|h| h["source"] == source && h["phase"] == phase)
            .unwrap_or_else(|| panic!("no {phase} hook from {source}: {report}"))
    };
    let nightly = from("schedule/nightly", "pre");
    assert_eq!(nightly["hookName"], "freeze");
    assert_eq!(nightly["container"], "fsfreeze");
    assert_eq!(nightly["onError"], "Fail");
    assert_eq!(nightly["timeoutNanos"], 60_000_000_000_u64);
    // A pre hook with onError Fail drops the pod when it fails (HV123), named at the
    // Schedule's own path.
    assert_eq!(nightly["findings"][0]["code"], "HV123", "{report}");
    assert_eq!(
        nightly["findings"][0]["path"],
        "spec.template.hooks.resources[0].pre[0].exec.onError"
    );
    let broken = from("schedule/broken-container", "pre");
    let codes: Vec<&str> = broken["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"HV122"), "{report}");
    assert!(from("schedule/nightly", "post")["skipped"].is_string());
}

#[test]
fn backup_plan_of_a_live_schedule_names_its_own_paths() {
    let world = world();
    let out = world.hooks(&["backup", "plan", "--schedule", "nightly", "-o", "json"]);
    let report: Value = serde_json::from_str(&expect_exit(&out, 0)).unwrap();
    let paths: Vec<&str> = report["plans"][0]["pods"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap())
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"spec.template.hooks.resources[0].pre[0].exec.onError"),
        "{report}"
    );
    assert!(
        paths.iter().all(|p| !p.starts_with("spec.hooks")),
        "{report}"
    );
}

#[test]
fn an_unknown_schedule_is_an_error_naming_it() {
    let world = world();
    let out = world.hooks(&["-n", "shop", "get", "--schedule", "nope"]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nope"), "{stderr}");
}
