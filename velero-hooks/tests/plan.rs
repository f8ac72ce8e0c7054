//! The planner: which pods a Backup, Schedule or Restore takes in and which hooks Velero
//! runs on each, in order. Each row cites the Velero 1.18.2 source it follows.

use serde_json::{Value, json};
use velero_hooks::VeleroVersion;
use velero_hooks::spec::plan::{ObjectPlan, Phase};
use velero_hooks::spec::{Inventory, VeleroObject, plan};

fn object(kind: &str, spec: Value) -> VeleroObject {
    let spec = if kind == "Schedule" {
        json!({"schedule": "@daily", "template": spec})
    } else {
        spec
    };
    let document = json!({"apiVersion": "velero.io/v1", "kind": kind, "metadata": {"name": "x"}, "spec": spec});
    VeleroObject::from_json(&document).unwrap().unwrap()
}

fn pod(namespace: &str, name: &str, labels: Value, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
           "spec": {"containers": [{"name": "app"}, {"name": "side"}]}, "status": {"phase": "Running"}})
}

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

fn run(kind: &str, spec: Value, objects: &[Value]) -> ObjectPlan {
    plan(
        &object(kind, spec),
        &Inventory::from_objects(objects),
        VeleroVersion::LATEST_RELEASE,
    )
}

fn taken_in(plan: &ObjectPlan) -> Vec<String> {
    plan.pods
        .iter()
        .map(|p| format!("{}/{}", p.namespace, p.name))
        .collect()
}

/// (phase, hook name, container, argv) per planned hook of the first pod.
fn hooks(plan: &ObjectPlan) -> Vec<(&'static str, String, String, String)> {
    plan.pods[0]
        .hooks
        .iter()
        .map(|h| {
            (
                h.phase.as_str(),
                h.origin.hook_name().to_owned(),
                h.effective_container.clone().unwrap_or_default(),
                h.command.join(" "),
            )
        })
        .collect()
}

#[test]
fn which_pods_a_backup_takes_in() {
    let objects = [
        namespace("shop", json!({})),
        namespace("blog", json!({})),
        namespace("secret", json!({"velero.io/exclude-from-backup": "true"})),
        pod("shop", "db", json!({"app": "db"}), json!({})),
        pod("shop", "web", json!({"app": "web"}), json!({})),
        pod(
            "shop",
            "tmp",
            json!({"app": "db", "velero.io/exclude-from-backup": "true"}),
            json!({}),
        ),
        pod("blog", "db", json!({"app": "db"}), json!({})),
        pod("secret", "db", json!({"app": "db"}), json!({})),
    ];
    let mut deleting = pod("shop", "old", json!({"app": "db"}), json!({}));
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let mut all = objects.to_vec();
    all.push(deleting);
    // (spec, pods taken in)
    let cases: Vec<(Value, Vec<&str>)> = vec![
        // item_backupper.go itemInclusionChecks: pod label, deletionTimestamp; backup_controller.go:
        // labelled namespaces are excluded.
        (json!({}), vec!["shop/db", "shop/web", "blog/db"]),
        // item_collector.go: labelSelector, else any of orLabelSelectors.
        (
            json!({"labelSelector": {"matchLabels": {"app": "db"}}}),
            vec!["shop/db", "blog/db"],
        ),
        (
            json!({"orLabelSelectors": [{"matchLabels": {"app": "web"}}, {"matchLabels": {"app": "nope"}}]}),
            vec!["shop/web"],
        ),
        // wildcard/expand.go: patterns expanded against the namespaces.
        (
            json!({"includedNamespaces": ["sh*"]}),
            vec!["shop/db", "shop/web"],
        ),
        (
            json!({"includedNamespaces": ["*"], "excludedNamespaces": ["b?og"]}),
            vec!["shop/db", "shop/web"],
        ),
        // includes_excludes.go: the first invalid pattern (sorted) ends the exclusion list (no
        // expansion with `*`), hiding `shop` and even the labelled `secret` added after it.
        (
            json!({"excludedNamespaces": ["[z-a]", "shop"]}),
            vec!["shop/db", "shop/web", "blog/db", "secret/db"],
        ),
        // GetGlobalResourceIncludesExcludes: unresolved names are globs; `po*` covers pods.
        (
            json!({"includedResources": ["po*"]}),
            vec!["shop/db", "shop/web", "blog/db"],
        ),
        (json!({"includedResources": ["deployments"]}), vec![]),
        (json!({"excludedResources": ["pods"]}), vec![]),
        // ScopeIncludesExcludes: new-style filters.
        (
            json!({"includedNamespaceScopedResources": ["pods"], "includedNamespaces": ["blog"]}),
            vec!["blog/db"],
        ),
        (
            json!({"excludedNamespaceScopedResources": ["pods"]}),
            vec![],
        ),
    ];
    for (spec, expected) in cases {
        let planned = run("Backup", spec.clone(), &all);
        assert!(!planned.refused, "{spec}: {:?}", planned.findings);
        assert_eq!(taken_in(&planned), expected, "{spec}");
    }
}

#[test]
fn an_included_namespace_labelled_for_exclusion_fails_validation() {
    // backup_controller.go appends labelled namespaces to the exclusions, then validates.
    let objects = [
        namespace("shop", json!({"velero.io/exclude-from-backup": "true"})),
        pod("shop", "db", json!({}), json!({})),
    ];
    let planned = run("Backup", json!({"includedNamespaces": ["shop"]}), &objects);
    assert!(planned.refused);
    assert_eq!(
        planned.findings.iter().map(|f| f.code).collect::<Vec<_>>(),
        ["HV136"]
    );
}

#[test]
fn a_wildcard_that_does_not_compile_fails_the_expansion() {
    // pkg/backup/backup.go: ExpandIncludesExcludes error ends the backup Failed.
    let planned = run(
        "Backup",
        json!({"includedNamespaces": ["sh[a-cx]"]}),
        &[pod("shop", "db", json!({}), json!({}))],
    );
    assert!(planned.refused);
    assert!(planned.pods.iter().all(|p| p.hooks.is_empty()));
}

fn spec_hooks() -> Value {
    json!({"hooks": {"resources": [
        {"name": "all", "pre": [{"exec": {"command": ["/bin/a"], "onError": "Fail"}}, {"exec": {"container": "side", "command": ["/bin/b"]}}],
         "post": [{"exec": {"command": ["/bin/c"], "timeout": "1m"}}]},
        {"name": "db-only", "includedNamespaces": ["shop"], "labelSelector": {"matchLabels": {"app": "db"}}, "pre": [{"exec": {"command": ["/bin/d"]}}]},
        {"name": "deployments", "includedResources": ["deployments"], "pre": [{"exec": {"command": ["/bin/never"]}}]},
        {"name": "not-shop", "excludedNamespaces": ["shop"], "pre": [{"exec": {"command": ["/bin/never"]}}]},
        {"name": "bad-list", "includedNamespaces": ["[bad", "shop"], "pre": [{"exec": {"command": ["/bin/never"]}}]}
    ]}})
}

#[test]
fn hooks_in_order_and_annotations_replace_spec_hooks_per_phase() {
    // item_hook_handler.go HandleHooks: resources[] order, then list order; an annotation hook
    // for a phase is the only hook of that phase; legacy keys only for pre.
    type Row = (&'static str, &'static str, &'static str, &'static str);
    let cases: Vec<(Value, Vec<Row>, usize)> = vec![
        (
            json!({}),
            vec![
                ("pre", "all", "app", "/bin/a"),
                ("pre", "all", "side", "/bin/b"),
                ("pre", "db-only", "app", "/bin/d"),
                ("post", "all", "app", "/bin/c"),
            ],
            0,
        ),
        (
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/freeze\"]", "pre.hook.backup.velero.io/container": "side"}),
            vec![
                ("pre", "<from-annotation>", "side", "/bin/freeze"),
                ("post", "all", "app", "/bin/c"),
            ],
            3,
        ),
        (
            json!({"hook.backup.velero.io/command": "/bin/legacy", "post.hook.backup.velero.io/command": "/bin/thaw"}),
            vec![
                ("pre", "<from-annotation>", "app", "/bin/legacy"),
                ("post", "<from-annotation>", "app", "/bin/thaw"),
            ],
            4,
        ),
    ];
    for (annotations, expected, skipped) in cases {
        let planned = run(
            "Schedule",
            spec_hooks(),
            &[pod("shop", "db", json!({"app": "db"}), annotations.clone())],
        );
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(a, b, c, d)| (a, b.to_owned(), c.to_owned(), d.to_owned()))
            .collect();
        assert_eq!(hooks(&planned), expected, "{annotations}");
        assert_eq!(planned.pods[0].skipped.len(), skipped, "{annotations}");
    }
}

#[test]
fn planned_values_as_velero_applies_them() {
    // pod_command_executor.go: 0 → 30s, negative → no limit on 1.18, 30s after; only Fail fails.
    let spec = json!({"hooks": {"resources": [{"name": "h", "pre": [
        {"exec": {"command": ["/bin/a"], "onError": "Fail", "timeout": "2m"}},
        {"exec": {"command": ["/bin/b"], "timeout": "-1s"}},
        {"exec": {"command": ["/bin/c"]}}]}]}});
    let objects = [pod("ns", "p", json!({}), json!({}))];
    let planned = run("Backup", spec.clone(), &objects);
    let got: Vec<_> = planned.pods[0]
        .hooks
        .iter()
        .map(|h| (h.on_error.as_str(), h.timeout_nanos))
        .collect();
    assert_eq!(
        got,
        [
            ("Fail", Some(120_000_000_000)),
            ("Continue", None),
            ("Continue", Some(30_000_000_000))
        ]
    );
    let newer = plan(
        &object("Backup", spec),
        &Inventory::from_objects(&objects),
        VeleroVersion::MAIN,
    );
    assert_eq!(newer.pods[0].hooks[1].timeout_nanos, Some(30_000_000_000));
}

#[test]
fn run_time_findings_name_the_pod_and_the_hook() {
    let spec = json!({"hooks": {"resources": [{"name": "freeze", "pre": [{"exec": {"container": "fsfreeze", "command": ["/bin/a"], "onError": "Fail"}}]}]}});
    let mut pending = pod("ns", "p", json!({}), json!({}));
    pending["status"]["phase"] = json!("Pending");
    let mut done = pod("ns", "q", json!({}), json!({}));
    done["status"]["phase"] = json!("Succeeded");
    let planned = run("Backup", spec, &[pending, done]);
    let codes = |i: usize| {
        planned.pods[i]
            .findings
            .iter()
            .map(|f| f.code)
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(0), ["HV121", "HV122", "HV123"]);
    assert_eq!(codes(1), ["HV120", "HV122", "HV123"]);
    let missing = &planned.pods[0].findings[1];
    assert!(
        missing.problem.contains("fsfreeze") && missing.problem.contains("pod p"),
        "{}",
        missing.problem
    );
    assert_eq!(
        missing.subject.text(),
        "spec.hooks.resources[0].pre[0].exec.container"
    );
}

#[test]
fn restore_maps_namespaces_and_decides_init_and_exec_separately() {
    // item_hook_handler.go: hooks match the target namespace (issue #4720); resources are
    // always pods; init and exec annotations each replace only their own spec hooks.
    let spec = json!({"backupName": "b", "namespaceMapping": {"shop": "shop-copy"}, "hooks": {"resources": [
        {"name": "copy", "includedNamespaces": ["shop-copy"], "includedResources": ["deployments"], "postHooks": [
            {"init": {"initContainers": [{"name": "seed", "image": "busybox", "command": ["/bin/seed"]}]}},
            {"exec": {"command": ["/bin/warm"], "waitTimeout": "2m", "waitForReady": true}}]},
        {"name": "original", "includedNamespaces": ["shop"], "postHooks": [{"exec": {"command": ["/bin/never"]}}]}]}});
    let plain = run(
        "Restore",
        spec.clone(),
        &[pod("shop", "db", json!({}), json!({}))],
    );
    assert_eq!(plain.pods[0].namespace, "shop-copy");
    assert_eq!(
        plain.pods[0]
            .init_containers
            .iter()
            .map(|i| i.name.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["seed"]
    );
    assert_eq!(
        hooks(&plain),
        [(
            "restore",
            "copy".to_owned(),
            "app".to_owned(),
            "/bin/warm".to_owned()
        )]
    );
    let exec = &plain.pods[0].hooks[0];
    assert_eq!(
        (exec.wait_timeout_nanos, exec.wait_for_ready, exec.phase),
        (Some(Some(120_000_000_000)), Some(true), Phase::Restore)
    );

    let annotated = run(
        "Restore",
        spec,
        &[pod(
            "shop",
            "db",
            json!({}),
            json!({"init.hook.restore.velero.io/container-image": "alpine", "init.hook.restore.velero.io/command": "[\"/bin/x\"]"}),
        )],
    );
    assert_eq!(
        annotated.pods[0]
            .init_containers
            .iter()
            .map(|i| i.image.as_str())
            .collect::<Vec<_>>(),
        ["alpine"]
    );
    assert_eq!(hooks(&annotated).len(), 1, "exec spec hooks still run");
}

#[test]
fn a_pod_from_a_manifest_has_no_status_and_is_planned_as_it_will_run() {
    let spec = json!({"hooks": {"resources": [{"name": "sync", "pre": [{"exec": {"container": "app", "command": ["/bin/sync"], "onError": "Fail"}}]}]}});
    let mut manifest = pod("ns", "p", json!({}), json!({}));
    manifest.as_object_mut().unwrap().remove("status");
    let mut created = pod("ns", "q", json!({}), json!({}));
    created["status"] = json!({});
    let planned = run("Backup", spec, &[manifest, created]);
    let codes: Vec<Vec<&str>> = planned
        .pods
        .iter()
        .map(|p| p.findings.iter().map(|f| f.code).collect())
        .collect();
    // A live pod that has no phase yet cannot be exec'd into; a manifest says nothing of that.
    assert_eq!(codes, [vec!["HV123"], vec!["HV121", "HV123"]]);
}
