//! `kubectl hooks annotate` against an API server (the emulator, or a real cluster when
//! VELERO_HOOKS_E2E_KUBECONFIG is set): what it writes, where, and what it refuses.

use kube_emulator::{ApiError, Fault};
use scenarios::backend::{
    Backend, cronjob, deployment, expect_exit, pod, statefulset, stderr, stdout,
};
use serde_json::{Value, json};

const PRE_COMMAND: &str = "pre.hook.backup.velero.io/command";
const FREEZE: &str = r#"["/sbin/fsfreeze","--freeze","/var/log/nginx"]"#;

fn resource_version(object: &Value) -> String {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn annotates_pods_and_pod_templates_of_every_kind_by_name() {
    let backend = Backend::start("annotate-by-name");
    backend.seed([
        deployment("web", json!({})),
        statefulset("db"),
        cronjob("dump"),
        pod("cache", json!({})),
    ]);

    // The command after `--`, as separate words, stored as a JSON array.
    let out = backend.hooks(&[
        "annotate",
        "deploy/web",
        "--phase",
        "pre",
        "--container",
        "fsfreeze",
        "--on-error",
        "Fail",
        "--timeout",
        "1m",
        "--",
        "/sbin/fsfreeze",
        "--freeze",
        "/var/log/nginx",
    ]);
    assert_eq!(expect_exit(&out, 0), "deployment.apps/web annotated\n");
    assert!(
        stderr(&out).contains("rolls out new pods"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        backend.hook_annotations("deploy", "web"),
        json!({
            PRE_COMMAND: FREEZE,
            "pre.hook.backup.velero.io/container": "fsfreeze",
            "pre.hook.backup.velero.io/on-error": "Fail",
            "pre.hook.backup.velero.io/timeout": "1m",
        })
    );
    // The Deployment's own metadata, where Velero never looks, is untouched.
    let web = backend.get("deploy", "web").unwrap();
    assert!(
        web["metadata"]
            .get("annotations")
            .is_none_or(|a| a.get(PRE_COMMAND).is_none())
    );

    // --command with a JSON array; CronJobs keep theirs under spec.jobTemplate.
    let out = backend.hooks(&[
        "annotate",
        "cronjob/dump",
        "--phase",
        "post",
        "--on-error",
        "Continue",
        "--command",
        r#"["/bin/sh","-c","rm -f /tmp/dump"]"#,
    ]);
    assert_eq!(expect_exit(&out, 0), "cronjob.batch/dump annotated\n");
    assert_eq!(
        backend.hook_annotations("cronjob", "dump")["post.hook.backup.velero.io/command"],
        r#"["/bin/sh","-c","rm -f /tmp/dump"]"#
    );

    let out = backend.hooks(&[
        "annotate",
        "sts/db",
        "--phase",
        "pre",
        "--on-error",
        "Fail",
        "--",
        "/bin/sync",
    ]);
    assert_eq!(expect_exit(&out, 0), "statefulset.apps/db annotated\n");
    assert_eq!(
        backend.hook_annotations("sts", "db")[PRE_COMMAND],
        r#"["/bin/sync"]"#
    );

    let out = backend.hooks(&[
        "annotate",
        "pod/cache",
        "--phase",
        "pre",
        "--on-error",
        "Fail",
        "--",
        "/bin/sync",
    ]);
    assert_eq!(expect_exit(&out, 0), "pod/cache annotated\n");
    assert_eq!(
        backend.hook_annotations("pod", "cache")[PRE_COMMAND],
        r#"["/bin/sync"]"#
    );
    // A bare pod has no controller: no warning about losing the annotation.
    assert!(!stderr(&out).contains("managed by"), "{}", stderr(&out));
}

#[test]
fn refuses_an_invalid_hook_with_validates_text_and_writes_nothing() {
    let backend = Backend::start("annotate-refuse");
    backend.seed([deployment("web", json!({}))]);
    let before = resource_version(&backend.get("deploy", "web").unwrap());

    let out = backend.hooks(&[
        "annotate",
        "deploy/web",
        "--phase",
        "pre",
        "--timeout",
        "300",
        "--command",
        "/sbin/fsfreeze --freeze /var/log/nginx",
    ]);
    expect_exit(&out, 1);
    let err = stderr(&out);
    for expected in [
        "deployment/web -n ",
        "error HV020: pre.hook.backup.velero.io/timeout: `300` is not a Go duration",
        "    fix:    did you mean `300s`?",
        "error HV003: pre.hook.backup.velero.io/command:",
        "nothing was written",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // The same text as `validate` gives for the same mistake in a manifest.
    let manifest = backend.dir.path().join("web.yaml");
    let mut object = deployment(
        "web",
        json!({"pre.hook.backup.velero.io/timeout": "300",
        PRE_COMMAND: FREEZE}),
    );
    object["metadata"]["namespace"] = json!(backend.namespace);
    std::fs::write(&manifest, serde_json::to_string(&object).unwrap()).unwrap();
    let validate = backend
        .plugin()
        .args(["validate", "-f"])
        .arg(&manifest)
        .output()
        .unwrap();
    let hv020 = stdout(&validate)
        .lines()
        .skip_while(|l| !l.contains("HV020"))
        .take(3)
        .map(|l| {
            l.split_once(": deployment/")
                .map_or(l.to_owned(), |(_, rest)| format!("deployment/{rest}"))
        })
        .collect::<Vec<_>>();
    assert_eq!(hv020.len(), 3, "{}", stdout(&validate));
    for line in &hv020 {
        assert!(
            err.contains(line.as_str()),
            "validate says {line:?}; annotate said:\n{err}"
        );
    }

    assert_eq!(
        resource_version(&backend.get("deploy", "web").unwrap()),
        before
    );
    assert_eq!(backend.hook_annotations("deploy", "web"), json!({}));
    if let Some(requests) = backend.requests() {
        assert!(
            !requests.iter().any(|r| r.method == "PATCH"),
            "nothing is sent"
        );
    }
}

#[test]
fn a_selector_with_one_invalid_object_writes_to_none() {
    let backend = Backend::start("annotate-selector");
    let with_sidecar = |name: &str| {
        let mut p = pod(name, json!({}));
        p["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar", "image": scenarios::backend::IMAGE}));
        p
    };
    backend.seed([
        with_sidecar("api-1"),
        with_sidecar("api-2"),
        pod("api-3", json!({})),
    ]);

    let args = [
        "annotate",
        "pods",
        "-l",
        "tier=backend",
        "--phase",
        "pre",
        "--container",
        "sidecar",
        "--on-error",
        "Fail",
        "--",
        "/bin/sync",
    ];
    let out = backend.hooks(&args);
    expect_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("pod/api-3 -n "), "{err}");
    assert!(err.contains("error HV031"), "{err}");
    assert!(err.contains("1 of 3 objects"), "{err}");
    for name in ["api-1", "api-2", "api-3"] {
        assert_eq!(
            backend.hook_annotations("pod", name),
            json!({}),
            "{name} untouched"
        );
    }

    // Once the odd pod is out of the selection, the others are written.
    let out = backend.hooks(&[
        "annotate",
        "pods",
        "-l",
        "tier=backend,app!=api-3",
        "--phase",
        "pre",
        "--container",
        "sidecar",
        "--on-error",
        "Fail",
        "--",
        "/bin/sync",
    ]);
    assert_eq!(
        expect_exit(&out, 0),
        "pod/api-1 annotated\npod/api-2 annotated\n"
    );
    assert_eq!(
        backend.hook_annotations("pod", "api-2")["pre.hook.backup.velero.io/container"],
        "sidecar"
    );
    assert_eq!(backend.hook_annotations("pod", "api-3"), json!({}));
}

#[test]
fn objects_named_by_a_manifest_file_are_annotated_live() {
    let backend = Backend::start("annotate-file");
    backend.seed([deployment("web", json!({})), cronjob("dump")]);
    let file = backend.dir.path().join("app.yaml");
    std::fs::write(
        &file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: dump\n",
    )
    .unwrap();
    let out = backend
        .plugin()
        .arg("--kubeconfig")
        .arg(&backend.kubeconfig)
        .args(["-n", &backend.namespace, "annotate", "-f"])
        .arg(&file)
        .args([
            "--phase",
            "post",
            "--on-error",
            "Continue",
            "--",
            "/bin/true",
        ])
        .output()
        .unwrap();
    assert_eq!(
        expect_exit(&out, 0),
        "deployment.apps/web annotated\ncronjob.batch/dump annotated\n"
    );
    assert_eq!(
        backend.hook_annotations("deploy", "web")["post.hook.backup.velero.io/command"],
        r#"["/bin/true"]"#
    );
    assert_eq!(
        backend.hook_annotations("cj", "dump")["post.hook.backup.velero.io/command"],
        r#"["/bin/true"]"#
    );
}

#[test]
fn replacing_a_hook_needs_overwrite() {
    let backend = Backend::start("annotate-overwrite");
    backend.seed([deployment(
        "web",
        json!({PRE_COMMAND: FREEZE,
        "pre.hook.backup.velero.io/container": "fsfreeze",
        "pre.hook.backup.velero.io/on-error": "Fail"}),
    )]);
    let args = [
        "annotate",
        "deploy/web",
        "--phase",
        "pre",
        "--on-error",
        "Continue",
        "--",
        "/bin/sync",
    ];
    let out = backend.hooks(&args);
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("already has a pre hook"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--overwrite"), "{}", stderr(&out));
    assert_eq!(
        backend.hook_annotations("deploy", "web")[PRE_COMMAND],
        FREEZE
    );

    let mut with_overwrite = args.to_vec();
    with_overwrite.insert(2, "--overwrite");
    let out = backend.hooks(&with_overwrite);
    assert_eq!(expect_exit(&out, 0), "deployment.apps/web annotated\n");
    // The hook is replaced as a whole: the old container is gone with the old command.
    assert_eq!(
        backend.hook_annotations("deploy", "web"),
        json!({PRE_COMMAND: r#"["/bin/sync"]"#, "pre.hook.backup.velero.io/on-error": "Continue"})
    );

    // Writing the same hook again is not a replacement.
    let out = backend.hooks(&args);
    assert_eq!(expect_exit(&out, 0), "deployment.apps/web unchanged\n");
}

#[test]
fn a_pod_owned_by_a_controller_names_the_owner_to_annotate() {
    let backend = Backend::start("annotate-owned-pod");
    let pod_name = backend.deployment_with_pod("web");
    let out = backend.hooks(&[
        "annotate",
        &format!("pod/{pod_name}"),
        "--phase",
        "pre",
        "--on-error",
        "Fail",
        "--",
        "/bin/sync",
    ]);
    expect_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("Warning: pod/{pod_name} -n {}", backend.namespace)),
        "{err}"
    );
    assert!(err.contains("is managed by replicaset/web-"), "{err}");
    assert!(err.contains("(owned by deployment/web)"), "{err}");
    assert!(
        err.contains("the annotation is lost when the pod is replaced"),
        "{err}"
    );
    assert!(err.contains("annotate deployment/web instead"), "{err}");
}

#[test]
fn dry_runs_show_the_result_and_store_nothing() {
    let backend = Backend::start("annotate-dry-run");
    backend.seed([deployment("web", json!({}))]);
    let before = resource_version(&backend.get("deploy", "web").unwrap());

    let out = backend.hooks(&[
        "annotate",
        "deploy/web",
        "--phase",
        "pre",
        "--on-error",
        "Fail",
        "--dry-run=client",
        "--",
        "/bin/sync",
    ]);
    assert_eq!(
        expect_exit(&out, 0),
        "deployment.apps/web annotated (dry run)\n"
    );
    if let Some(requests) = backend.requests() {
        assert!(
            !requests.iter().any(|r| r.method == "PATCH"),
            "client dry run sends nothing"
        );
    }

    let out = backend.hooks(&[
        "annotate",
        "deploy/web",
        "--phase",
        "pre",
        "--on-error",
        "Fail",
        "--dry-run=server",
        "-o",
        "json",
        "--",
        "/bin/sync",
    ]);
    let shown: Value = serde_json::from_str(&expect_exit(&out, 0)).unwrap();
    assert_eq!(
        shown["spec"]["template"]["metadata"]["annotations"][PRE_COMMAND],
        r#"["/bin/sync"]"#
    );
    if let Some(requests) = backend.requests() {
        let patch = requests
            .iter()
            .find(|r| r.method == "PATCH")
            .expect("a PATCH was sent");
        assert!(patch.query.contains("dryRun=All"), "{}", patch.query);
        assert_eq!(patch.content_type, "application/merge-patch+json");
        let body: Value = serde_json::from_slice(&patch.body).unwrap();
        assert_eq!(
            body["metadata"]["resourceVersion"],
            json!(before),
            "precondition sent"
        );
    }
    assert_eq!(
        resource_version(&backend.get("deploy", "web").unwrap()),
        before
    );
    assert_eq!(backend.hook_annotations("deploy", "web"), json!({}));
}

#[test]
fn local_edits_a_manifest_without_a_cluster() {
    let backend = Backend::start("annotate-local");
    let file = backend.dir.path().join("deploy.yaml");
    std::fs::write(
        &file,
        "# the web tier\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  \
         template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n      - name: fsfreeze\n        image: ubuntu\n",
    )
    .unwrap();
    // No kubeconfig at all: --local never connects.
    let out = backend
        .plugin()
        .args(["annotate", "--local", "-f"])
        .arg(&file)
        .args([
            "--phase",
            "pre",
            "-c",
            "fsfreeze",
            "--on-error",
            "Fail",
            "--",
            "/sbin/fsfreeze",
            "--freeze",
            "/var/log/nginx",
        ])
        .output()
        .unwrap();
    let text = expect_exit(&out, 0);
    let documents: Vec<&str> = text
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .collect();
    assert_eq!(documents.len(), 2, "{text}");
    assert!(documents[0].contains("kind: ConfigMap"), "{text}");
    let edited = &documents[1];
    assert!(
        edited.contains("pre.hook.backup.velero.io/command:"),
        "{text}"
    );
    assert!(edited.contains(r#"/sbin/fsfreeze"#), "{text}");
    assert!(
        edited.contains("pre.hook.backup.velero.io/container: fsfreeze"),
        "{text}"
    );
    // The edited stream validates clean.
    let edited_file = backend.dir.path().join("edited.yaml");
    std::fs::write(&edited_file, &text).unwrap();
    let validate = backend
        .plugin()
        .args(["validate", "-f"])
        .arg(&edited_file)
        .output()
        .unwrap();
    expect_exit(&validate, 0);

    // A broken hook: exit 1, nothing printed on stdout.
    let out = backend
        .plugin()
        .args(["annotate", "--local", "-f"])
        .arg(&file)
        .args(["--phase", "pre", "-c", "nginx-typo", "--", "/bin/sync"])
        .output()
        .unwrap();
    assert_eq!(expect_exit(&out, 1), "");
    assert!(stderr(&out).contains("error HV031"), "{}", stderr(&out));
    assert!(stderr(&out).contains("deploy.yaml:9"), "{}", stderr(&out));

    // A JSON array quoted after `--` is one word: Velero would run a program named `["/bin/sync"]`.
    let out = backend
        .plugin()
        .args(["annotate", "--local", "-f"])
        .arg(&file)
        .args(["--phase", "post", "--", r#"["/bin/sync"]"#])
        .output()
        .unwrap();
    assert_eq!(expect_exit(&out, 2), "");
    assert!(
        stderr(&out).contains(r#"--command '["/bin/sync"]'"#),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_conflict_is_retried_after_reading_again_and_reported_when_it_persists() {
    let backend = Backend::start("annotate-conflict");
    backend.seed([deployment("web", json!({}))]);
    let conflict = || ApiError::conflict("apps", "deployments", "web");
    if !backend.inject_fault(Fault::new("/deployments/web", 1, conflict()).method("PATCH")) {
        eprintln!("skipped on a real cluster: needs the emulator's fault injection");
        return;
    }
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
    assert_eq!(expect_exit(&out, 0), "deployment.apps/web annotated\n");
    let requests = backend.requests().unwrap();
    let on_web: Vec<&str> = requests
        .iter()
        .filter(|r| r.path.ends_with("/deployments/web"))
        .map(|r| r.method.as_str())
        .collect();
    assert_eq!(
        on_web,
        ["GET", "PATCH", "GET", "PATCH"],
        "read, conflict, re-read, write"
    );
    assert_eq!(
        backend.hook_annotations("deploy", "web")[PRE_COMMAND],
        r#"["/bin/sync"]"#
    );

    // A conflict on every attempt: reported kubectl-style, nothing overwritten.
    backend.inject_fault(Fault::new("/deployments/web", 100, conflict()).method("PATCH"));
    let out = backend.hooks(&[
        "annotate",
        "deploy/web",
        "--overwrite",
        "--phase",
        "pre",
        "--on-error",
        "Fail",
        "--",
        "/bin/true",
    ]);
    expect_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("kept changing while it was being written (5 attempts"),
        "{err}"
    );
    assert!(err.contains("Error from server (Conflict): Operation cannot be fulfilled on deployments.apps \"web\""), "{err}");
    assert_eq!(
        backend.hook_annotations("deploy", "web")[PRE_COMMAND],
        r#"["/bin/sync"]"#
    );
}

#[test]
fn normalize_pins_the_container_and_writes_the_defaults() {
    let backend = Backend::start("annotate-normalize");
    backend.seed([deployment("web", json!({}))]);
    let out = backend.hooks(&[
        "annotate",
        "deploy/web",
        "--phase",
        "post",
        "--normalize",
        "--",
        "/bin/true",
    ]);
    assert_eq!(expect_exit(&out, 0), "deployment.apps/web annotated\n");
    // No warning about an unset on-error: it is written explicitly.
    assert!(!stderr(&out).contains("HV011"), "{}", stderr(&out));
    assert_eq!(
        backend.hook_annotations("deploy", "web"),
        json!({
            "post.hook.backup.velero.io/command": r#"["/bin/true"]"#,
            "post.hook.backup.velero.io/container": "app",
            "post.hook.backup.velero.io/on-error": "Continue",
            "post.hook.backup.velero.io/timeout": "30s",
        })
    );
}
