//! `kubectl hooks backup` against a real cluster with Velero installed: ignored unless run
//! with `--run-ignored` and `VELERO_HOOKS_E2E_KUBECONFIG` set (the emulated scenarios are in the other
//! `backup_*.rs` files, where a fake Velero decides outcomes). The pod runs the `pause`
//! image, which has no `/bin/sync`: the hook fails for real, so the backup must end
//! PartiallyFailed with one hook attempted and failed.

use scenarios::backend::{Backend, expect_exit, pod, stderr};
use serde_json::json;

#[test]
#[ignore = "needs a real cluster with Velero: set VELERO_HOOKS_E2E_KUBECONFIG and run the ignored tests"]
fn preflight_run_and_report_on_a_real_velero() {
    assert!(
        std::env::var_os(scenarios::backend::E2E_KUBECONFIG).is_some(),
        "set VELERO_HOOKS_E2E_KUBECONFIG to a kubeconfig of a cluster with Velero installed"
    );
    let backend = Backend::start("backup");
    backend.create(pod(
        "db-0",
        json!({"pre.hook.backup.velero.io/command": "[\"/bin/sync\"]",
               "pre.hook.backup.velero.io/on-error": "Continue",
               "pre.hook.backup.velero.io/timeout": "20s"}),
    ));
    let name = format!("{}-hooks", backend.namespace);
    let run = |args: &[&str]| {
        backend
            .plugin()
            .arg("--kubeconfig")
            .arg(&backend.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl-hooks")
    };
    let text = expect_exit(
        &run(&[
            "backup",
            "create",
            &name,
            "--include-namespaces",
            &backend.namespace,
            "--dry-run",
        ]),
        0,
    );
    assert!(text.contains("[\"/bin/sync\"]"), "{text}");
    assert!(text.contains("dry run"), "{text}");

    let out = run(&[
        "backup",
        "create",
        &name,
        "--include-namespaces",
        &backend.namespace,
        "--ttl",
        "1h",
        "--wait",
    ]);
    let text = expect_exit(&out, 1);
    assert!(
        text.contains("Phase:            PartiallyFailed"),
        "{text}\n{}",
        stderr(&out)
    );
    assert!(
        text.contains("Hooks:            1 attempted, 1 failed"),
        "{text}"
    );

    // Needs the storage location's URL to be reachable from here (see README).
    let cacert = std::env::var("VELERO_HOOKS_E2E_CACERT").ok();
    let mut args = vec!["backup", "logs", name.as_str(), "--hooks-only"];
    if let Some(path) = &cacert {
        args.extend(["--cacert", path.as_str()]);
    }
    let text = expect_exit(&run(&args), 0);
    assert!(
        text.contains("[/bin/sync]") && text.contains("error:"),
        "{text}"
    );
}
