//! `kubectl hooks backup logs`: a DownloadRequest, the signed URL over HTTPS, gunzip, and
//! the hook runs read back from Velero's log in both of its formats.

use scenarios::backend::{expect_exit, stderr};
use scenarios::velero::{FakeVeleroConfig, LogFormat, VeleroWorld, running_pod};
use serde_json::{Value, json};

fn pods() -> Vec<Value> {
    vec![
        running_pod(
            "shop",
            "db-0",
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/echo\",\"frozen\",\"/data\"]",
                   "pre.hook.backup.velero.io/container": "fsfreeze",
                   "pre.hook.backup.velero.io/on-error": "Fail",
                   "post.hook.backup.velero.io/command": "[\"/bin/echo\",\"thawed\"]",
                   "post.hook.backup.velero.io/container": "fsfreeze"}),
        ),
        running_pod(
            "shop",
            "broken-0",
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/false\"]",
                   "pre.hook.backup.velero.io/on-error": "Fail",
                   "post.hook.backup.velero.io/command": "[\"/bin/echo\",\"never\"]"}),
        ),
    ]
}

fn backup(name: &str) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": "Backup",
           "metadata": {"name": name, "namespace": "velero"},
           "spec": {"includedNamespaces": ["shop"]}})
}

fn world(format: LogFormat) -> VeleroWorld {
    let world = VeleroWorld::start(
        FakeVeleroConfig {
            log_format: format,
            step: std::time::Duration::from_millis(10),
            ..FakeVeleroConfig::default()
        },
        pods(),
    );
    let done = world.finished_backup(backup("b1"));
    assert_eq!(done["status"]["phase"], json!("PartiallyFailed"));
    world
}

fn hooks_only(world: &VeleroWorld) -> String {
    let cacert = world.cacert.to_str().unwrap().to_owned();
    let out = world.hooks(&["backup", "logs", "b1", "--hooks-only", "--cacert", &cacert]);
    expect_exit(&out, 0)
}

fn assert_hook_table(text: &str) {
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && !l.contains("hook run"))
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    // db-0: pre ok with its output; post ok. broken-0: pre fails, named by Velero's
    // `Error running pre hooks for pod` line; its post hook never runs.
    assert!(
        rows.iter().any(|r| r.contains("pre")
            && r.contains("fsfreeze")
            && r.contains("[/bin/echo frozen /data]")
            && r.ends_with("ok")),
        "{text}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("post") && r.contains("[/bin/echo thawed]") && r.ends_with("ok")),
        "{text}"
    );
    assert!(
        rows.iter().any(|r| r.contains("shop/broken-0")
            && r.contains("[/bin/false]")
            && r.ends_with("error: command terminated with exit code 1")),
        "{text}"
    );
    assert!(!text.contains("never"), "{text}");
    assert!(text.contains(" stdout:\n  frozen /data\n"), "{text}");
    assert!(text.contains("3 hook runs, 1 failed"), "{text}");
}

#[test]
fn hooks_only_from_a_text_log() {
    let world = world(LogFormat::Text);
    assert_hook_table(&hooks_only(&world));
    assert!(
        world.download_requests().is_empty(),
        "the DownloadRequest is deleted afterwards"
    );
}

#[test]
fn hooks_only_from_a_json_log() {
    let world = world(LogFormat::Json);
    assert!(
        world
            .fake
            .as_ref()
            .unwrap()
            .log_of("b1")
            .unwrap()
            .starts_with('{')
    );
    assert_hook_table(&hooks_only(&world));
    let cacert = world.cacert.to_str().unwrap().to_owned();
    let out = world.hooks(&[
        "backup",
        "logs",
        "b1",
        "--hooks-only",
        "-o",
        "json",
        "--cacert",
        &cacert,
    ]);
    let runs: Value = serde_json::from_str(&expect_exit(&out, 0)).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let frozen = runs
        .iter()
        .find(|r| r["command"] == json!(["/bin/echo", "frozen", "/data"]))
        .expect("the argv as a list");
    assert_eq!(frozen["timeout"], json!("30s"));
    assert_eq!(frozen["outcome"], json!({"status": "ok"}));
    let failed = runs
        .iter()
        .find(|r| r["pod"] == json!("shop/broken-0"))
        .expect("named pod");
    assert_eq!(
        failed["outcome"],
        json!({"status": "failed", "message": "command terminated with exit code 1"})
    );
}

#[test]
fn whole_log_is_streamed_gunzipped() {
    let world = world(LogFormat::Text);
    let cacert = world.cacert.to_str().unwrap().to_owned();
    let out = world.hooks(&["backup", "logs", "b1", "--cacert", &cacert]);
    let text = expect_exit(&out, 0);
    assert_eq!(text, world.fake.as_ref().unwrap().log_of("b1").unwrap());
    assert!(text.contains("msg=\"running exec hook\""), "{text}");
}

#[test]
fn without_the_ca_the_download_is_refused_and_the_host_named() {
    let world = world(LogFormat::Text);
    let out = world.hooks(&["backup", "logs", "b1"]);
    expect_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("cannot download the backup log from localhost"),
        "{err}"
    );
    assert!(err.contains("--cacert"), "{err}");
}

#[test]
fn an_unreachable_download_url() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let world = VeleroWorld::start(
        FakeVeleroConfig {
            download_url: Some(format!(
                "http://127.0.0.1:{port}/velero/backups/b1/b1-logs.gz"
            )),
            step: std::time::Duration::from_millis(10),
            ..FakeVeleroConfig::default()
        },
        pods(),
    );
    world.finished_backup(backup("b1"));
    let out = world.hooks(&["backup", "logs", "b1", "--hooks-only", "--timeout", "5s"]);
    expect_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("cannot download the backup log from 127.0.0.1"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(err.contains("inside the cluster network"), "{err}");
    assert!(world.download_requests().is_empty());
}

#[test]
fn logs_wait_for_the_backup_to_finish_and_velero_to_answer() {
    let world = VeleroWorld::start(
        FakeVeleroConfig {
            frozen: true,
            ..FakeVeleroConfig::default()
        },
        vec![],
    );
    world.store().create(backup("b1")).unwrap();
    let out = world.hooks(&["backup", "logs", "b1"]);
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains(
            "logs for backup b1 are not available until it's finished processing (phase New)"
        ),
        "{}",
        stderr(&out)
    );
    let out = world.hooks(&["backup", "logs", "nope"]);
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("backup nope not found"),
        "{}",
        stderr(&out)
    );
}
