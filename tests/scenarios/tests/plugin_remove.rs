//! `kubectl hooks remove`: which keys each phase removes, dry runs, errors.

use scenarios::backend::{Backend, deployment, expect_exit, pod, stderr};
use serde_json::json;

fn all_families() -> serde_json::Value {
    json!({
        "pre.hook.backup.velero.io/command": r#"["/bin/a"]"#,
        "pre.hook.backup.velero.io/timout": "1m",
        "hook.backup.velero.io/command": r#"["/bin/legacy"]"#,
        "post.hook.backup.velero.io/command": r#"["/bin/b"]"#,
        "post.hook.restore.velero.io/command": r#"["/bin/c"]"#,
        "init.hook.restore.velero.io/container-image": "busybox",
        "init.hook.restore.velero.io/command": r#"["/bin/d"]"#,
        "team": "payments",
    })
}

#[test]
fn removes_backup_hooks_by_default_and_restore_hooks_on_request() {
    let backend = Backend::start("remove-phases");
    backend.seed([deployment("web", all_families()), pod("db", all_families())]);

    let out = backend.hooks(&["remove", "deploy/web"]);
    assert_eq!(
        expect_exit(&out, 0),
        "deployment.apps/web: 4 hook annotations removed\n"
    );
    // pre, its misspelt key and the legacy keys (read as pre once pre. is gone), and post.
    assert_eq!(
        backend.hook_annotations("deploy", "web"),
        json!({
            "post.hook.restore.velero.io/command": r#"["/bin/c"]"#,
            "init.hook.restore.velero.io/container-image": "busybox",
            "init.hook.restore.velero.io/command": r#"["/bin/d"]"#,
            "team": "payments",
        })
    );
    let out = backend.hooks(&["remove", "deploy/web", "--phase", "restore"]);
    assert_eq!(
        expect_exit(&out, 0),
        "deployment.apps/web: 3 hook annotations removed\n"
    );
    assert_eq!(
        backend.hook_annotations("deploy", "web"),
        json!({"team": "payments"})
    );
    let out = backend.hooks(&["remove", "deploy/web"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("no backup hook annotations to remove"),
        "{}",
        stderr(&out)
    );

    let out = backend.hooks(&["remove", "pod/db", "--phase", "post"]);
    assert_eq!(expect_exit(&out, 0), "pod/db: 1 hook annotation removed\n");
    let out = backend.hooks(&["remove", "pod/db", "--phase", "all"]);
    assert_eq!(expect_exit(&out, 0), "pod/db: 6 hook annotations removed\n");
    assert_eq!(
        backend.hook_annotations("pod", "db"),
        json!({"team": "payments"})
    );
}

#[test]
fn remove_dry_run_server_stores_nothing() {
    let backend = Backend::start("remove-dry-run");
    backend.seed([deployment("web", all_families())]);
    let out = backend.hooks(&["remove", "deploy/web", "--phase", "all", "--dry-run=server"]);
    assert_eq!(
        expect_exit(&out, 0),
        "deployment.apps/web: 7 hook annotations removed (server dry run)\n"
    );
    assert_eq!(backend.hook_annotations("deploy", "web"), all_families());
    if let Some(requests) = backend.requests() {
        let patch = requests.iter().find(|r| r.method == "PATCH").unwrap();
        assert!(patch.query.contains("dryRun=All"));
    }
}

#[test]
fn a_missing_object_is_reported_like_kubectl() {
    let backend = Backend::start("remove-not-found");
    let out = backend.hooks(&["remove", "deploy/nope"]);
    expect_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): deployments.apps \"nope\" not found\n"
    );
}
