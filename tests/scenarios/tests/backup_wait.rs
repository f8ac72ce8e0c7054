//! `kubectl hooks backup create --wait` and `describe`/`get`: following a backup to its end
//! and reporting what its hooks did.

use std::time::{Duration, Instant};

use scenarios::backend::{expect_exit, stderr};
use scenarios::velero::{FakeVeleroConfig, VeleroWorld, running_pod};
use serde_json::json;

fn freeze_pod(name: &str, command: &str) -> serde_json::Value {
    running_pod(
        "shop",
        name,
        json!({"pre.hook.backup.velero.io/command": command,
               "pre.hook.backup.velero.io/container": "fsfreeze",
               "pre.hook.backup.velero.io/on-error": "Continue",
               "pre.hook.backup.velero.io/timeout": "30s"}),
    )
}

#[test]
fn wait_until_completed() {
    let world = VeleroWorld::start(
        FakeVeleroConfig::default(),
        vec![
            freeze_pod("db-0", "[\"/sbin/fsfreeze\",\"--freeze\",\"/data\"]"),
            freeze_pod("db-1", "[\"/bin/echo\",\"frozen\"]"),
        ],
    );
    let out = world.hooks(&[
        "backup",
        "create",
        "b1",
        "--include-namespaces",
        "shop",
        "--wait",
    ]);
    let text = expect_exit(&out, 0);
    // Not a terminal: one plain line per change, progress going up.
    let progress: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("backup b1: "))
        .collect();
    assert!(progress.len() >= 3, "{text}");
    assert!(
        progress
            .iter()
            .any(|l| l.contains("InProgress, 0 of 3 items")),
        "{text}"
    );
    assert!(progress.last().unwrap().contains("Completed"), "{text}");
    for expected in [
        "Phase:            Completed",
        "Hooks:            2 attempted, 0 failed",
        "Errors:           0",
        "Warnings:         0",
        "Progress:         3 of 3 items backed up",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    assert!(text.contains("Started:          20"), "{text}");
    assert!(text.contains("Completed:        20"), "{text}");

    // The same report later, and the table.
    let text = expect_exit(&world.hooks(&["backup", "describe", "b1"]), 0);
    assert!(
        text.contains("Hooks:            2 attempted, 0 failed"),
        "{text}"
    );
    let text = expect_exit(&world.hooks(&["backup", "get"]), 0);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0]
            .starts_with("NAME   STATUS      HOOKS ATTEMPTED/FAILED   ERRORS   WARNINGS   CREATED"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("b1     Completed   2/0                      0        0"),
        "{text}"
    );
    assert!(lines[1].contains("29d"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&expect_exit(
        &world.hooks(&["backup", "get", "b1", "-o", "json"]),
        0,
    ))
    .unwrap();
    assert_eq!(
        json["status"]["hookStatus"],
        json!({"hooksAttempted": 2, "hooksFailed": 0})
    );
    assert_eq!(json["kind"], json!("Backup"));
    let yaml = expect_exit(&world.hooks(&["backup", "get", "-o", "yaml"]), 0);
    assert!(
        yaml.contains("kind: List") && yaml.contains("hooksAttempted: 2"),
        "{yaml}"
    );
}

#[test]
fn wait_until_partially_failed() {
    let world = VeleroWorld::start(
        FakeVeleroConfig::default(),
        vec![
            freeze_pod("db-0", "[\"/bin/false\"]"),
            freeze_pod("db-1", "[\"/bin/true\"]"),
        ],
    );
    let out = world.hooks(&[
        "backup",
        "create",
        "b1",
        "--include-namespaces",
        "shop",
        "--wait",
    ]);
    let text = expect_exit(&out, 1);
    for expected in [
        "Phase:            PartiallyFailed",
        "Hooks:            2 attempted, 1 failed",
        "Errors:           1",
        "kubectl hooks backup logs b1 --hooks-only",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    expect_exit(&world.hooks(&["backup", "describe", "b1"]), 1);
}

#[test]
fn a_backup_velero_refuses_ends_failed_validation() {
    let world = VeleroWorld::start(
        FakeVeleroConfig::default(),
        vec![freeze_pod("db-0", "[\"/bin/true\"]")],
    );
    // Created against the preflight's HV141 with --force: Velero's controller refuses it.
    let out = world.hooks(&[
        "backup",
        "create",
        "b1",
        "--include-namespaces",
        "shop",
        "--storage-location",
        "nosuch",
        "--force",
        "--wait",
    ]);
    let text = expect_exit(&out, 1);
    assert!(
        text.contains("Phase:            FailedValidation"),
        "{text}"
    );
    assert!(text.contains("nosuch"), "{text}");
}

#[test]
fn a_backup_deleted_while_waiting() {
    let world = VeleroWorld::start(
        FakeVeleroConfig {
            frozen: true,
            ..FakeVeleroConfig::default()
        },
        vec![],
    );
    let child = world.spawn_hooks(&["backup", "create", "b1", "--wait"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while world.backup("b1").is_none() {
        assert!(Instant::now() < deadline, "backup never created");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the plugin reach its watch, then pull the backup away.
    std::thread::sleep(Duration::from_millis(300));
    world.delete_backup("b1");
    let out = child.wait_with_output().unwrap();
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("backup b1 -n velero was deleted while waiting for it to finish"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn describe_a_missing_backup() {
    let world = VeleroWorld::start(FakeVeleroConfig::default(), vec![]);
    let out = world.hooks(&["backup", "describe", "nope"]);
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("backup nope not found in namespace velero"),
        "{}",
        stderr(&out)
    );
    let out = world.hooks(&["backup", "get"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("No backups found"),
        "{}",
        stderr(&out)
    );
}
