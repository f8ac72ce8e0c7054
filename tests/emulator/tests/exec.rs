//! `pods/exec` over WebSocket, driven by the real kubectl (the pinned one): what kubectl
//! prints and its exit status show the emulator speaks kube-apiserver's channel protocol.

mod common;

use common::kubectl_output;
use kube_emulator::EmulatorConfig;
use kube_emulator::exec::SCRIPT_ANNOTATION;
use serde_json::json;

fn pod(name: &str, phase: &str, script: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default",
            "annotations": {SCRIPT_ANNOTATION: script.to_string()}},
        "spec": {"containers": [{"name": "app", "image": "busybox"}, {"name": "distroless", "image": "gcr.io/distroless/static"}]},
        "status": {"phase": phase}
    })
}

async fn harness() -> common::Harness {
    let script = json!({
        "app": {"missing": ["pg_dump"], "run": [
            {"match": "fail", "exitCode": 3, "stdout": "partial\n", "stderr": "boom\n"},
            {"match": "greet", "stdout": "hello\n", "stderr": "note\n", "delayMs": 200}
        ]},
        "distroless": {"shell": false}
    });
    common::start(EmulatorConfig::default().seed([
        pod("db", "Running", script.clone()),
        pod("waiting", "Pending", script),
    ]))
    .await
}

fn exec(h: &common::Harness, pod: &str, container: &str, argv: &[&str]) -> (String, String, i32) {
    let mut args = vec!["exec", pod, "-c", container, "--"];
    args.extend_from_slice(argv);
    let out = kubectl_output(&h.kubeconfig, &args);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_exec_gets_stdout_stderr_and_exit_status() {
    let h = harness().await;
    let (out, err, code) = exec(&h, "db", "app", &["/bin/greet", "world"]);
    assert_eq!((out.as_str(), code), ("hello\n", 0), "stderr: {err}");
    assert!(err.contains("note"), "{err}");

    let (out, err, code) = exec(&h, "db", "app", &["sh", "-c", "fail now"]);
    assert_eq!(code, 3, "kubectl passes the exit code on: {out} {err}");
    assert_eq!(out, "partial\n");
    assert!(err.contains("boom"), "{err}");
    assert!(err.contains("command terminated with exit code 3"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_errors_are_reported_as_kubelet_does() {
    let h = harness().await;
    let (_, err, code) = exec(&h, "db", "app", &["pg_dump", "-Fc"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(r#"exec: "pg_dump": executable file not found in $PATH"#),
        "{err}"
    );

    let (_, err, code) = exec(&h, "db", "distroless", &["/bin/sh", "-c", "true"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("executable file not found"), "{err}");

    // The shell answers `command -v` for what the container has.
    let (out, _, code) = exec(&h, "db", "app", &["/bin/sh", "-c", "command -v greet"]);
    assert_eq!((out.as_str(), code), ("/usr/bin/greet\n", 0));
    let (_, _, code) = exec(&h, "db", "app", &["/bin/sh", "-c", "command -v 'pg_dump'"]);
    assert_eq!(code, 1);

    let (_, err, code) = exec(&h, "waiting", "app", &["true"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("container not found"), "{err}");
}
