//! The `helm test` hook and the install notes.

use chart_tests::{NAMESPACE, RELEASE, chart_dir, helm, render};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};

#[test]
fn test_hook_dry_runs_a_broken_pod_and_expects_a_denial() {
    let r = render(&[]);
    let hooks: Vec<_> = r.manifests.iter().filter(|m| m.is_test_hook()).collect();
    let mut kinds: Vec<_> = hooks.iter().map(|m| m.kind()).collect();
    kinds.sort();
    assert_eq!(kinds, ["Pod", "Role", "RoleBinding", "ServiceAccount"]);
    let get = |kind: &str| hooks.iter().find(|m| m.kind() == kind).unwrap();

    let role: Role = get("Role").typed().unwrap();
    assert_eq!(role.metadata.namespace.as_deref(), Some("default"));
    let rules = role.rules.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].resources.as_deref().unwrap(), ["pods"]);
    assert_eq!(rules[0].verbs, ["create"]);

    let sa: ServiceAccount = get("ServiceAccount").typed().unwrap();
    let binding: RoleBinding = get("RoleBinding").typed().unwrap();
    assert_eq!(binding.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(binding.role_ref.name, role.metadata.name.clone().unwrap());
    let subject = &binding.subjects.unwrap()[0];
    assert_eq!(
        (subject.kind.as_str(), subject.name.as_str()),
        ("ServiceAccount", sa.metadata.name.as_deref().unwrap())
    );
    assert_eq!(subject.namespace.as_deref(), Some(NAMESPACE));

    let pod: Pod = get("Pod").typed().unwrap();
    assert_eq!(pod.metadata.namespace.as_deref(), Some(NAMESPACE));
    let spec = pod.spec.unwrap();
    assert_eq!(spec.service_account_name, sa.metadata.name);
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(spec.security_context.unwrap().run_as_non_root, Some(true));
    let c = &spec.containers[0];
    let script = c.args.as_ref().unwrap().join("\n");
    for needle in [
        "--dry-run=server",
        "pre.hook.backup.velero.io/container=$1",
        "dry_run no-such-container",
        "denied the request",
        "dry_run velero-hooks-test",
        "exit 1",
    ] {
        assert!(
            script.contains(needle),
            "test script lacks {needle:?}:\n{script}"
        );
    }
    let env = c.env.as_ref().unwrap();
    assert!(
        env.iter()
            .any(|e| e.name == "TARGET_NAMESPACE" && e.value.as_deref() == Some("default"))
    );
    assert_eq!(
        c.security_context
            .as_ref()
            .unwrap()
            .read_only_root_filesystem,
        Some(true)
    );
    for m in &hooks {
        assert_eq!(
            m.value["metadata"]["annotations"]["helm.sh/hook-delete-policy"],
            "before-hook-creation,hook-succeeded"
        );
    }
}

#[test]
fn test_namespace_is_configurable() {
    let r = render(&["test.namespace=shop"]);
    for kind in ["Role", "RoleBinding"] {
        let m = r
            .manifests
            .iter()
            .find(|m| m.kind() == kind && m.is_test_hook())
            .unwrap();
        assert_eq!(m.value["metadata"]["namespace"], "shop");
    }
}

#[test]
fn install_notes_explain_how_to_check_the_webhook() {
    let chart = chart_dir().display().to_string();
    let out = helm(&[
        "install",
        RELEASE,
        &chart,
        "--namespace",
        NAMESPACE,
        "--dry-run=client",
    ]);
    assert!(out.success, "{}", out.stderr);
    let notes = out.stdout.split("NOTES:").nth(1).expect("NOTES rendered");
    for needle in [
        "kubectl run velero-hooks-check -n default",
        "--dry-run=server",
        "pre.hook.backup.velero.io/container=no-such-container",
        "denied the request",
        &format!("helm test {RELEASE} -n {NAMESPACE}"),
        &format!("every namespace except\n{NAMESPACE}, kube-system."),
        "failurePolicy is Ignore",
    ] {
        assert!(notes.contains(needle), "NOTES lack {needle:?}:\n{notes}");
    }
    let fail = helm(&[
        "install",
        RELEASE,
        &chart,
        "-n",
        NAMESPACE,
        "--dry-run=client",
        "--set",
        "webhook.failurePolicy=Fail",
    ]);
    assert!(!fail.stdout.contains("failurePolicy is Ignore"));
}
