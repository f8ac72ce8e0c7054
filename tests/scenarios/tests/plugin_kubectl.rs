//! `kubectl` and `kubectl hooks` side by side on the same server: they see the same objects
//! and each other's writes.

use scenarios::backend::{Backend, deployment, expect_exit, pod};
use serde_json::json;

#[test]
fn kubectl_and_kubectl_hooks_see_the_same_objects() {
    let backend = Backend::start("kubectl-side-by-side");
    backend.seed([pod("db", json!({})), deployment("web", json!({}))]);

    // kubectl writes a hook by hand (with a mistake); kubectl hooks lists and flags it.
    let out = backend.kubectl(&[
        "annotate",
        "pod",
        "db",
        "pre.hook.backup.velero.io/command=[\"/bin/sync\"]",
        "pre.hook.backup.velero.io/timeout=90",
    ]);
    assert!(expect_exit(&out, 0).contains("pod/db annotated"));
    let out = backend.hooks(&["get", "pod/db"]);
    let table = expect_exit(&out, 0);
    assert!(
        table.contains("pod/db") && table.contains("/bin/sync") && table.contains("1 error"),
        "{table}"
    );

    // kubectl hooks writes; kubectl reads the same annotation back.
    let out = backend.hooks(&[
        "annotate",
        "deploy/web",
        "--phase",
        "post",
        "--on-error",
        "Continue",
        "--",
        "/bin/echo",
        "done",
    ]);
    expect_exit(&out, 0);
    let out = backend.kubectl(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.template.metadata.annotations.post\\.hook\\.backup\\.velero\\.io/command}",
    ]);
    assert_eq!(expect_exit(&out, 0), r#"["/bin/echo","done"]"#);

    // Both list the same pods.
    let out = backend.kubectl(&["get", "pods", "-o", "name"]);
    assert_eq!(expect_exit(&out, 0), "pod/db\n");
}
