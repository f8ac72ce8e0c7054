//! Connection flags as kubectl reads them (`KUBECONFIG` with several files, `--context`,
//! `-v`) and API errors printed as kubectl prints them.

use kube::config::Kubeconfig;
use kube_emulator::{ApiError, Fault};
use scenarios::backend::{Backend, deployment, expect_exit, stderr};
use serde_json::json;

/// A second kubeconfig whose current context points at a closed port.
const ELSEWHERE: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: vh-elsewhere\n  cluster:\n    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: vh-elsewhere\n  user:\n    token: nothing\ncontexts:\n- name: vh-elsewhere\n  context:\n    cluster: vh-elsewhere\n    user: vh-elsewhere\ncurrent-context: vh-elsewhere\n";

#[test]
fn kubeconfig_files_merge_and_context_selects() {
    let backend = Backend::start("kubeconfig-merge");
    backend.seed([deployment(
        "web",
        json!({"pre.hook.backup.velero.io/command": r#"["/bin/sync"]"#}),
    )]);
    let ours = Kubeconfig::read_from(&backend.kubeconfig).unwrap();
    let our_context = ours.current_context.clone().expect("a current context");
    let elsewhere = backend.dir.path().join("elsewhere.yaml");
    std::fs::write(&elsewhere, ELSEWHERE).unwrap();
    let joined = |first: &std::path::Path, second: &std::path::Path| {
        std::env::join_paths([first, second]).unwrap()
    };
    let get = |kubeconfig_env: &std::ffi::OsStr, extra: &[&str]| {
        backend
            .plugin()
            .env("KUBECONFIG", kubeconfig_env)
            .args(["-n", &backend.namespace, "--request-timeout", "5s"])
            .args(extra)
            .args(["get", "deploy"])
            .output()
            .unwrap()
    };
    // The first file that sets current-context wins: ours.
    let out = get(&joined(&backend.kubeconfig, &elsewhere), &[]);
    assert!(expect_exit(&out, 0).contains("deployment/web"));
    // The other file first: its context is current, and its server is not there.
    let out = get(&joined(&elsewhere, &backend.kubeconfig), &[]);
    expect_exit(&out, 1);
    // Said once, with the server's address and what to check; no log lines from the client.
    let said = stderr(&out);
    assert!(
        said.contains("the API server at https://127.0.0.1:9/ cannot be reached")
            && said.contains("--context")
            && !said.contains("ERROR"),
        "{said}"
    );
    // --context picks ours from the merged files.
    let out = get(
        &joined(&elsewhere, &backend.kubeconfig),
        &["--context", &our_context],
    );
    assert!(expect_exit(&out, 0).contains("deployment/web"));
    // An unknown context is named, with the ones there are: unusable input, exit 2.
    let out = get(
        &joined(&elsewhere, &backend.kubeconfig),
        &["--context", "nope"],
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("context \"nope\" does not exist")
            && stderr(&out).contains(&our_context),
        "{}",
        stderr(&out)
    );
}

#[test]
fn api_errors_read_like_kubectls() {
    let backend = Backend::start("api-errors");
    backend.seed([deployment("web", json!({}))]);
    let out = backend.hooks(&[
        "annotate",
        "deploy/nope",
        "--phase",
        "pre",
        "--",
        "/bin/sync",
    ]);
    expect_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): deployments.apps \"nope\" not found\n"
    );

    let namespace = backend.namespace.clone();
    let forbidden = ApiError::new(
        403,
        "Forbidden",
        format!(
            "deployments.apps is forbidden: User \"dev\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"{namespace}\""
        ),
    );
    if !backend.inject_fault(
        Fault::new(
            &format!("/namespaces/{namespace}/deployments"),
            1,
            forbidden,
        )
        .method("GET"),
    ) {
        eprintln!("skipped the rest on a real cluster: needs the emulator's fault injection");
        return;
    }
    let out = backend.hooks(&["get", "deploy"]);
    expect_exit(&out, 1);
    // After the line naming the Velero release predicted, kubectl's own words.
    assert_eq!(
        stderr(&out)
            .lines()
            .last()
            .map(|l| format!("{l}\n"))
            .unwrap_or_default(),
        format!(
            "Error from server (Forbidden): deployments.apps is forbidden: User \"dev\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"{namespace}\"\n"
        )
    );

    let denied = ApiError::new(
        403,
        "Forbidden",
        "admission webhook \"validate.velero-hooks.io\" denied the request: deployment/web: error HV020: ...",
    );
    backend.inject_fault(Fault::new("/deployments/web", 1, denied).method("PATCH"));
    let out = backend.hooks(&[
        "annotate",
        "deploy/web",
        "--phase",
        "pre",
        "--on-error",
        "Fail",
        "--",
        "/bin/sync",
    ]);
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("Error from server (Forbidden): admission webhook \"validate.velero-hooks.io\" denied the request"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verbosity_four_logs_the_http_requests() {
    let backend = Backend::start("verbosity");
    let quiet = backend.hooks(&["get", "deploy"]);
    assert!(!stderr(&quiet).contains("requesting"), "{}", stderr(&quiet));
    let loud = backend.hooks(&["get", "deploy", "-v", "4"]);
    let err = stderr(&loud);
    assert!(
        err.contains("DEBUG") && err.contains("/deployments?"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no colours when stderr is not a terminal"
    );
}

#[test]
fn a_name_across_all_namespaces_is_refused_as_kubectl_refuses_it() {
    let backend = Backend::start("names-across");
    backend.seed([deployment("web", json!({}))]);
    let out = backend.hooks(&[
        "-A",
        "annotate",
        "deploy/web",
        "--phase",
        "pre",
        "--",
        "/bin/sync",
    ]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("cannot be retrieved by name across all namespaces"),
        "{}",
        stderr(&out)
    );
}
