//! `kubectl hooks test`: the hooks of pods run through `pods/exec` against the emulated API
//! server (whose containers are scripted to answer as busybox would), or a real cluster
//! when `VELERO_HOOKS_E2E_KUBECONFIG` is set (busybox pods that really run the hooks).

use std::process::Output;

use scenarios::backend::{Backend, expect_exit, stderr};
use scenarios::velero::{FakeVeleroConfig, VeleroWorld, running_pod};
use serde_json::{Value, json};

const REAL: &str =
    "needs a real cluster: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests";

/// What the emulator's busybox answers; a real busybox does the same by itself.
fn busybox_script() -> Value {
    json!({
        "app": {"missing": ["pg_dump"], "run": [
            {"match": "echo frozen", "stdout": "frozen\n"},
            {"match": "echo thawed", "stdout": "thawed\n"},
            {"match": "exit 126", "exitCode": 126},
            {"match": "exit 1", "exitCode": 1, "stderr": "lock failed\n"},
            {"match": "no-such-program", "exitCode": 127, "stderr": "sh: no-such-program: not found\n"},
            {"match": "sleep 5", "delayMs": 5000}
        ]},
        "distroless": {"shell": false}
    })
}

/// A pod with a busybox container `app` and a shell-less container `distroless`, with
/// these hook annotations, Running.
fn hooked_pod(backend: &Backend, name: &str, annotations: Value) {
    let mut annotations = annotations;
    annotations[kube_emulator::exec::SCRIPT_ANNOTATION] = json!(busybox_script().to_string());
    backend.create(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}, "annotations": annotations},
        "spec": {"containers": [
            {"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"]},
            {"name": "distroless", "image": "registry.k8s.io/pause:3.10"}
        ]},
        "status": {"phase": "Running"}
    }));
    if !backend.is_emulated() {
        let out = backend.kubectl(&[
            "wait",
            "--for=jsonpath={.status.phase}=Running",
            "--timeout=120s",
            &format!("pod/{name}"),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

fn pre(command: &str) -> Value {
    json!({"pre.hook.backup.velero.io/command": command})
}

fn json_hooks(out: &Output) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    v["hooks"].as_array().expect("hooks").clone()
}

fn success(backend: &Backend) {
    hooked_pod(backend, "db", pre(r#"["/bin/sh","-c","echo frozen"]"#));
    let out = backend.hooks(&["test", "db"]);
    let text = expect_exit(&out, 0);
    assert!(
        text.contains("pre  <from-annotation> (annotation)  OK"),
        "{text}"
    );
    assert!(
        text.contains("exit 0 after") && text.contains("(timeout 30s)"),
        "{text}"
    );
    assert!(text.contains("stdout:    frozen"), "{text}");
    let hooks = json_hooks(&backend.hooks(&["test", "db", "-o", "json"]));
    assert_eq!(hooks[0]["exitCode"], 0);
    assert_eq!(hooks[0]["container"], "app");
    assert_eq!(hooks[0]["timeoutSeconds"], 30.0);
}

#[test]
fn a_hook_that_succeeds() {
    success(&Backend::start("test-success"));
}

#[test]
#[ignore = "needs a real cluster: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests"]
fn a_hook_that_succeeds_real() {
    real_only();
    success(&Backend::start("test-success"));
}

fn failures(backend: &Backend) {
    hooked_pod(
        backend,
        "one",
        json!({
        "pre.hook.backup.velero.io/command": r#"["/bin/sh","-c","exit 1"]"#,
        "pre.hook.backup.velero.io/on-error": "Continue"}),
    );
    hooked_pod(
        backend,
        "onetwentysix",
        json!({
        "pre.hook.backup.velero.io/command": r#"["/bin/sh","-c","exit 126"]"#,
        "pre.hook.backup.velero.io/on-error": "Fail"}),
    );
    hooked_pod(
        backend,
        "onetwentyseven",
        pre(r#"["/bin/sh","-c","no-such-program --now"]"#),
    );
    for (pod, code, verdict) in [
        ("one", 1, "FAILED (on-error Continue)"),
        ("onetwentysix", 126, "FAILED (on-error Fail)"),
        ("onetwentyseven", 127, "FAILED (on-error Continue)"),
    ] {
        let out = backend.hooks(&["test", pod]);
        let text = expect_exit(&out, 1);
        assert!(text.contains(verdict), "{text}");
        assert!(
            text.contains(&format!(
                "error:     command terminated with exit code {code}"
            )),
            "{text}"
        );
        assert!(text.contains(&format!("exit {code} after")), "{text}");
    }
    let text = expect_exit(&backend.hooks(&["test", "one"]), 1);
    assert!(
        text.contains("PartiallyFailed") && text.contains("stderr:    lock failed"),
        "{text}"
    );
    let text = expect_exit(&backend.hooks(&["test", "onetwentysix"]), 1);
    assert!(text.contains("the pod is not backed up"), "{text}");
}

#[test]
fn hooks_that_exit_1_126_and_127() {
    failures(&Backend::start("test-failures"));
}

#[test]
#[ignore = "needs a real cluster: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests"]
fn hooks_that_exit_1_126_and_127_real() {
    real_only();
    failures(&Backend::start("test-failures"));
}

fn timeout(backend: &Backend) {
    hooked_pod(
        backend,
        "slow",
        json!({
        "pre.hook.backup.velero.io/command": r#"["/bin/sh","-c","sleep 5"]"#,
        "pre.hook.backup.velero.io/timeout": "1s"}),
    );
    let out = backend.hooks(&["test", "slow", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let hooks = json_hooks(&out);
    assert_eq!(hooks[0]["result"], "timedOut");
    assert_eq!(hooks[0]["veleroError"], "timed out after 1s");
    let took = hooks[0]["durationSeconds"].as_f64().unwrap();
    assert!(
        (1.0..3.0).contains(&took),
        "gave up at the timeout, not at the end: {took}s"
    );
    assert!(
        hooks[0]["conclusion"]
            .as_str()
            .unwrap()
            .contains("may still be running"),
        "{hooks:?}"
    );
}

#[test]
fn a_hook_that_outlasts_its_timeout() {
    timeout(&Backend::start("test-timeout"));
}

#[test]
#[ignore = "needs a real cluster: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests"]
fn a_hook_that_outlasts_its_timeout_real() {
    real_only();
    timeout(&Backend::start("test-timeout"));
}

fn pair(backend: &Backend) {
    hooked_pod(
        backend,
        "frozen",
        json!({
        "pre.hook.backup.velero.io/command": r#"["/bin/sh","-c","exit 1"]"#,
        "pre.hook.backup.velero.io/on-error": "Fail",
        "post.hook.backup.velero.io/command": r#"["/bin/sh","-c","echo thawed"]"#}),
    );
    let out = backend.hooks(&["test", "frozen", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let hooks = json_hooks(&out);
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert_eq!(
        (hooks[0]["phase"].as_str(), hooks[0]["result"].as_str()),
        (Some("pre"), Some("failed"))
    );
    assert_eq!(
        (hooks[1]["phase"].as_str(), hooks[1]["result"].as_str()),
        (Some("post"), Some("ok"))
    );
    assert_eq!(hooks[1]["stdout"], "thawed");

    // One phase only: a warning that nothing undoes it, and the post hook does not run.
    let out = backend.hooks(&["test", "frozen", "--phase", "pre"]);
    let text = expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("nothing will undo"),
        "{}",
        stderr(&out)
    );
    assert!(
        text.contains("1 hook, 1 would fail") && !text.contains("thawed"),
        "{text}"
    );
}

#[test]
fn post_runs_when_pre_fails() {
    pair(&Backend::start("test-pair"));
}

#[test]
#[ignore = "needs a real cluster: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests"]
fn post_runs_when_pre_fails_real() {
    real_only();
    pair(&Backend::start("test-pair"));
}

fn check(backend: &Backend) {
    hooked_pod(
        backend,
        "checked",
        json!({
        "pre.hook.backup.velero.io/command": r#"["pg_dump","-Fc"]"#,
        "post.hook.backup.velero.io/command": r#"["/bin/sh","-c","echo thawed"]"#}),
    );
    hooked_pod(
        backend,
        "shell-less",
        json!({
        "pre.hook.backup.velero.io/container": "distroless",
        "pre.hook.backup.velero.io/command": r#"["/pause"]"#}),
    );
    let out = backend.hooks(&["test", "checked", "--check", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let hooks = json_hooks(&out);
    assert_eq!(hooks[0]["result"], "cannotStart", "{hooks:?}");
    assert_eq!(hooks[1]["result"], "canStart", "{hooks:?}");
    assert!(
        hooks.iter().all(|h| h["exitCode"].is_null()),
        "nothing ran: {hooks:?}"
    );

    let out = backend.hooks(&["test", "shell-less", "--check"]);
    let text = expect_exit(&out, 0);
    assert!(
        text.contains("CANNOT TELL") && text.contains("no shell"),
        "{text}"
    );
    assert!(
        text.contains("1 hook, 0 would fail, 1 could not be checked"),
        "{text}"
    );
}

#[test]
fn check_with_and_without_a_shell() {
    check(&Backend::start("test-check"));
}

#[test]
#[ignore = "needs a real cluster: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests"]
fn check_with_and_without_a_shell_real() {
    real_only();
    check(&Backend::start("test-check"));
}

#[test]
fn a_pod_that_is_not_running_fails_as_in_velero() {
    let backend = Backend::start("test-pending");
    if !backend.is_emulated() {
        return;
    }
    backend.create(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "waiting", "annotations": pre(r#"["/bin/sh","-c","echo frozen"]"#)},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
        "status": {"phase": "Pending"}
    }));
    let text = expect_exit(&backend.hooks(&["test", "waiting"]), 1);
    assert!(text.contains("container not found"), "{text}");
}

fn missing_container(backend: &Backend) {
    let mut annotations = pre(r#"["/bin/sh","-c","echo frozen"]"#);
    annotations["pre.hook.backup.velero.io/container"] = json!("ghost");
    annotations["pre.hook.backup.velero.io/on-error"] = json!("Fail");
    hooked_pod(backend, "haunted", annotations);
    let out = backend.hooks(&["test", "haunted", "-o", "json"]);
    expect_exit(&out, 1);
    let hooks = json_hooks(&out);
    // Velero's executor looks for the container before it execs, and says so in its words.
    assert_eq!(hooks[0]["result"], "failed", "{hooks:?}");
    assert_eq!(hooks[0]["veleroError"], r#"no such container: "ghost""#);
    assert!(hooks[0]["exitCode"].is_null(), "{hooks:?}");
}

#[test]
fn a_missing_container_fails_in_veleros_words() {
    missing_container(&Backend::start("test-ghost"));
}

#[test]
#[ignore = "needs a real cluster: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests"]
fn a_missing_container_fails_in_veleros_words_real() {
    real_only();
    missing_container(&Backend::start("test-ghost"));
}

#[test]
fn dry_run_runs_nothing_and_exec_refused_names_the_permission() {
    let backend = Backend::start("test-dry-run");
    hooked_pod(&backend, "db", pre(r#"["/bin/sh","-c","echo frozen"]"#));
    let text = expect_exit(&backend.hooks(&["test", "db", "--dry-run"]), 0);
    assert!(
        text.contains("WOULD RUN") && text.contains("timeout:   30s"),
        "{text}"
    );
    if let Some(requests) = backend.requests() {
        assert!(
            !requests.iter().any(|r| r.path.ends_with("/exec")),
            "dry run ran nothing"
        );
    }
    let forbidden = kube_emulator::error::ApiError::new(
        403,
        "Forbidden",
        r#"pods "db" is forbidden: User "dev" cannot create resource "pods/exec" in API group "" in the namespace "shop""#,
    );
    if backend.inject_fault(kube_emulator::Fault::new("/exec", 1, forbidden)) {
        let text = expect_exit(&backend.hooks(&["test", "db"]), 1);
        assert!(text.contains("`create` on `pods/exec`"), "{text}");
    }
}

#[test]
fn a_schedules_spec_hooks_run_on_the_pods_it_selects() {
    let world = VeleroWorld::start(
        FakeVeleroConfig::default(),
        vec![
            running_pod(
                "shop",
                "db-0",
                json!({kube_emulator::exec::SCRIPT_ANNOTATION: busybox_script().to_string()}),
            ),
            json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
            "metadata": {"name": "nightly", "namespace": "velero"},
            "spec": {"schedule": "0 1 * * *", "template": {"includedNamespaces": ["shop"],
                "hooks": {"resources": [{"name": "freeze", "labelSelector": {"matchLabels": {"app": "db-0"}},
                    "pre": [{"exec": {"container": "app", "command": ["/bin/sh", "-c", "echo frozen"], "timeout": "1m"}}],
                    "post": [{"exec": {"container": "app", "command": ["/bin/sh", "-c", "exit 1"], "onError": "Continue"}}]}]}}}}),
        ],
    );
    let out = world.hooks(&[
        "-n",
        "shop",
        "test",
        "db-0",
        "--schedule",
        "nightly",
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hooks = json_hooks(&out);
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert_eq!(hooks[0]["hookName"], "freeze");
    assert_eq!(hooks[0]["timeoutSeconds"], 60.0);
    assert_eq!(hooks[0]["result"], "ok");
    assert_eq!(hooks[1]["result"], "failed");
    assert_eq!(hooks[1]["onError"], "Continue");
}

fn real_only() {
    assert!(
        std::env::var_os(scenarios::backend::E2E_KUBECONFIG).is_some(),
        "{REAL}"
    );
}

fn ctrl_c(backend: &Backend) {
    hooked_pod(
        backend,
        "locked",
        json!({
        "pre.hook.backup.velero.io/command": r#"["/bin/sh","-c","sleep 5"]"#,
        "post.hook.backup.velero.io/command": r#"["/bin/sh","-c","echo thawed"]"#}),
    );
    let child = backend
        .plugin()
        .arg("--kubeconfig")
        .arg(&backend.kubeconfig)
        .args(["-n", &backend.namespace, "test", "locked", "-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl-hooks starts");
    // While the pre hook runs (it lasts 5s).
    std::thread::sleep(std::time::Duration::from_millis(2000));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let out = child.wait_with_output().expect("kubectl-hooks ends");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let hooks = json_hooks(&out);
    assert_eq!(hooks[0]["result"], "interrupted", "{hooks:?}");
    assert!(
        hooks[0]["durationSeconds"].as_f64().unwrap() < 4.5,
        "{hooks:?}"
    );
    assert_eq!(
        (hooks[1]["phase"].as_str(), hooks[1]["result"].as_str()),
        (Some("post"), Some("ok")),
        "{hooks:?}"
    );
    assert_eq!(hooks[1]["stdout"], "thawed");
}

#[test]
fn ctrl_c_during_pre_still_runs_post() {
    ctrl_c(&Backend::start("test-ctrl-c"));
}

#[test]
#[ignore = "needs a real cluster: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests"]
fn ctrl_c_during_pre_still_runs_post_real() {
    real_only();
    ctrl_c(&Backend::start("test-ctrl-c"));
}

#[test]
fn pods_of_a_workload_and_a_finished_pod() {
    let backend = Backend::start("test-workload");
    if !backend.is_emulated() {
        return;
    }
    let script = busybox_script().to_string();
    backend.create(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}}}}));
    for (name, phase) in [
        ("web-1", "Running"),
        ("web-2", "Running"),
        ("web-3", "Pending"),
        ("done", "Succeeded"),
    ] {
        let app = if name == "done" { "batch" } else { "web" };
        backend.create(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": app}, "annotations": {
                "pre.hook.backup.velero.io/command": r#"["/bin/sh","-c","echo frozen"]"#,
                kube_emulator::exec::SCRIPT_ANNOTATION: script}},
            "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
            "status": {"phase": phase}}));
    }
    // Two Running pods of the Deployment; stdin is not a terminal, so no question.
    let hooks = json_hooks(&backend.hooks(&["test", "deployment/web", "-o", "json"]));
    let pods: Vec<&str> = hooks.iter().map(|h| h["pod"].as_str().unwrap()).collect();
    assert_eq!(pods, ["web-1", "web-2"]);
    assert!(hooks.iter().all(|h| h["stdout"] == "frozen"), "{hooks:?}");

    let out = backend.hooks(&["test", "done"]);
    let text = expect_exit(&out, 0);
    assert!(text.contains("SKIPPED: the pod is Succeeded"), "{text}");
    // The same verdicts for scripts: skipped since 1.13, a failure Velero 1.12 would see.
    let out = backend.hooks(&["test", "done", "-o", "json"]);
    expect_exit(&out, 0);
    let hooks = json_hooks(&out);
    assert_eq!(hooks[0]["result"], "skipped", "{hooks:?}");
    assert!(hooks[0]["reason"].as_str().unwrap().contains("Succeeded"));
    let out = backend.hooks(&["test", "done", "-o", "yaml", "--velero-version", "1.12"]);
    let text = expect_exit(&out, 1);
    assert!(
        text.contains("result: notRun") && text.contains("still runs its hooks and they fail"),
        "{text}"
    );
}
