//! What differs between Velero releases: each test takes one change in Velero's history
//! (`velero_hooks::version`), the same input, and the releases on each side of it, and
//! asserts what a user of each release is told.

use serde_json::{Value, json};
use velero_hooks::VeleroVersion;
use velero_hooks::pod::PodView;
use velero_hooks::rules::{Finding, check_pod};
use velero_hooks::spec::{Inventory, VeleroObject, check, plan};

fn v(text: &str) -> VeleroVersion {
    VeleroVersion::parse(text).unwrap()
}

fn object(kind: &str, spec: Value) -> VeleroObject {
    let document = json!({"apiVersion": "velero.io/v1", "kind": kind, "metadata": {"name": "x", "namespace": "velero"}, "spec": spec});
    VeleroObject::from_json(&document).unwrap().unwrap()
}

fn pod(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "shop", "labels": {"app": "db"}, "annotations": annotations},
           "spec": {"containers": [{"name": "db"}, {"name": "exporter"}]}, "status": {"phase": "Running"}})
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

fn find<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(findings)))
}

/// Findings of every pod the object's plan takes in, with the object's own.
fn planned(kind: &str, spec: Value, pods: &[Value], version: VeleroVersion) -> Vec<Finding> {
    let planned = plan(&object(kind, spec), &Inventory::from_objects(pods), version);
    let mut out = planned.findings;
    out.extend(planned.pods.into_iter().flat_map(|p| p.findings));
    out
}

fn annotation_findings(annotations: Value, version: VeleroVersion) -> Vec<Finding> {
    let pod = pod("p", annotations);
    check_pod(
        &PodView::from_json(pod.get("metadata"), pod.get("spec")),
        version,
    )
    .findings
}

#[test]
fn wait_for_ready_is_read_only_since_1_13() {
    let annotations = json!({
        "post.hook.restore.velero.io/command": "[\"/bin/true\"]",
        "post.hook.restore.velero.io/wait-timeout": "5m",
        "post.hook.restore.velero.io/wait-for-ready": "true",
    });
    let old = annotation_findings(annotations.clone(), v("1.12.4"));
    let finding = find(&old, "HV082");
    assert!(
        finding
            .problem
            .contains("Velero 1.12.4 does not read this key")
    );
    assert!(
        finding
            .velero_does
            .contains("Velero 1.13.0 and later (PR #6918)")
    );
    assert!(!codes(&annotation_findings(annotations, v("1.13.0"))).contains(&"HV082"));

    let spec = json!({"backupName": "b", "hooks": {"resources": [{"name": "r", "postHooks": [
        {"exec": {"command": ["/bin/true"], "waitTimeout": "5m", "waitForReady": true}}]}]}});
    let old = check(&object("Restore", spec.clone()), v("1.12.0"));
    assert_eq!(
        find(&old, "HV082").subject.text(),
        "spec.hooks.resources[0].postHooks[0].exec.waitForReady"
    );
    assert!(!codes(&check(&object("Restore", spec), v("1.13.0"))).contains(&"HV082"));
}

#[test]
fn a_missing_restore_container_is_harmless_before_1_14_and_hangs_the_restore_after() {
    let annotations = json!({
        "post.hook.restore.velero.io/container": "dbb",
        "post.hook.restore.velero.io/command": "[\"/bin/true\"]",
        "post.hook.restore.velero.io/wait-timeout": "5m",
    });
    let outcome = |version: &str| {
        find(
            &annotation_findings(annotations.clone(), v(version)),
            "HV080",
        )
        .velero_does
        .clone()
    };
    assert!(outcome("1.13.2").starts_with("Velero drops the hook with a warning"));
    assert!(outcome("1.14.0").contains("the restore stays in Finalizing for ever"));
    assert!(outcome("1.18.2").contains("the restore stays in Finalizing for ever"));
    assert!(outcome("main").contains("until the server's --resource-timeout"));
}

#[test]
fn an_unlimited_restore_wait_holds_the_restore_in_progress_before_1_14() {
    let annotations = json!({"post.hook.restore.velero.io/command": "[\"/bin/true\"]"});
    let wait = |version: &str| {
        find(
            &annotation_findings(annotations.clone(), v(version)),
            "HV024",
        )
        .velero_does
        .clone()
    };
    assert!(
        wait("1.13.0").contains("the restore stays InProgress for ever"),
        "{}",
        wait("1.13.0")
    );
    assert!(wait("1.17.0").contains("the restore stays in Finalizing for ever"));
}

/// Velero 1.16.2-1.17.2 count each restore exec hook under its `postHooks` index and
/// record it under its position among its container's hooks.
#[test]
fn restore_hooks_whose_index_differs_from_their_position_hang_1_16_2_to_1_17_2() {
    let spec = json!({"backupName": "b", "hooks": {"resources": [
        {"name": "one-entry-two-containers", "postHooks": [
            {"exec": {"container": "db", "command": ["/bin/a"], "waitTimeout": "5m"}},
            {"exec": {"container": "exporter", "command": ["/bin/b"], "waitTimeout": "5m"}}]},
    ]}});
    let pods = [pod("p", json!({}))];
    let on = |version: &str| planned("Restore", spec.clone(), &pods, v(version));
    let stuck = on("1.17.2");
    let finding = find(&stuck, "HV124");
    assert_eq!(
        finding.subject.text(),
        "spec.hooks.resources[0].postHooks[1].exec.container"
    );
    assert!(
        finding.problem.contains("postHooks index 1"),
        "{}",
        finding.problem
    );
    assert!(
        finding
            .problem
            .contains("position 0 among the hooks of container `exporter`")
    );
    assert!(
        finding
            .fix
            .contains("upgrade to Velero 1.18.0 and later (PR #9366)")
    );
    assert_eq!(codes(&stuck).iter().filter(|c| **c == "HV124").count(), 1);
    assert!(codes(&on("1.16.2")).contains(&"HV124"));
    for unaffected in ["1.16.1", "1.18.0", "main"] {
        assert!(!codes(&on(unaffected)).contains(&"HV124"), "{unaffected}");
    }

    // An init hook before the exec hook shifts its index but not its position.
    let init_first = json!({"backupName": "b", "hooks": {"resources": [{"name": "r", "postHooks": [
        {"init": {"initContainers": [{"name": "i", "image": "busybox", "command": ["true"]}]}},
        {"exec": {"command": ["/bin/a"], "waitTimeout": "5m"}}]}]}});
    assert!(codes(&planned("Restore", init_first, &pods, v("1.17.0"))).contains(&"HV124"));

    // Each container's hooks in an entry of their own, first: positions and indexes agree.
    let safe = json!({"backupName": "b", "hooks": {"resources": [
        {"name": "db", "postHooks": [
            {"exec": {"container": "db", "command": ["/bin/a"], "waitTimeout": "5m"}},
            {"exec": {"container": "db", "command": ["/bin/b"], "waitTimeout": "5m"}}]},
        {"name": "exporter", "postHooks": [
            {"exec": {"container": "exporter", "command": ["/bin/c"], "waitTimeout": "5m"}}]},
    ]}});
    assert!(!codes(&planned("Restore", safe, &pods, v("1.17.0"))).contains(&"HV124"));

    // An annotation hook replaces the spec exec hooks: nothing is mis-recorded.
    let annotated = [pod(
        "p",
        json!({"post.hook.restore.velero.io/command": "[\"/bin/true\"]", "post.hook.restore.velero.io/wait-timeout": "5m"}),
    )];
    assert!(!codes(&planned("Restore", spec, &annotated, v("1.17.0"))).contains(&"HV124"));
}

#[test]
fn a_restore_from_a_schedule_alone_is_refused_by_the_crd_before_1_14() {
    let spec = json!({"scheduleName": "daily"});
    let old = check(&object("Restore", spec.clone()), v("1.13.2"));
    let finding = find(&old, "HV140");
    assert!(finding.problem.contains("Required value"));
    assert!(
        finding
            .velero_does
            .contains("refuses the Restore at `kubectl apply`")
    );
    assert!(check(&object("Restore", spec), v("1.14.0")).is_empty());
    let with_empty_name = json!({"scheduleName": "daily", "backupName": ""});
    assert!(check(&object("Restore", with_empty_name), v("1.12.0")).is_empty());
}

#[test]
fn namespace_wildcards_beyond_star_are_refused_before_1_18() {
    let spec = json!({"includedNamespaces": ["shop-?", "db-[ab]", "team-*"]});
    let old = check(&object("Backup", spec.clone()), v("1.17.2"));
    let refused: Vec<String> = old
        .iter()
        .filter(|f| f.code == "HV132")
        .map(|f| f.subject.text().to_owned())
        .collect();
    assert_eq!(
        refused,
        ["spec.includedNamespaces[0]", "spec.includedNamespaces[1]"]
    );
    assert!(find(&old, "HV132").fix.contains("Velero 1.18.0 and later"));
    assert!(check(&object("Backup", spec), v("1.18.0")).is_empty());
    // `**` passes the older check (only `*` is replaced; the name lookup then makes the
    // backup PartiallyFailed) and is refused from 1.18.0 on.
    let doubled = json!({"includedNamespaces": ["shop-**"]});
    assert_eq!(
        codes(&check(&object("Backup", doubled.clone()), v("1.15.0"))),
        ["HV138"]
    );
    assert_eq!(
        codes(&check(&object("Backup", doubled), v("1.18.0"))),
        ["HV132"]
    );
}

#[test]
fn a_failing_post_hook_with_fail_drops_its_pod_before_1_15() {
    let spec = json!({"hooks": {"resources": [{"name": "h", "post": [
        {"exec": {"container": "db", "command": ["/bin/thaw"], "onError": "Fail"}}]}]}});
    let pods = [pod("p", json!({}))];
    let old = planned("Backup", spec.clone(), &pods, v("1.14.1"));
    let finding = find(&old, "HV125");
    assert!(
        finding
            .velero_does
            .contains("the pod itself is left out of the backup")
    );
    assert!(
        finding
            .velero_does
            .contains("Velero 1.15.0 and later (PR #8102)")
    );
    assert!(!codes(&planned("Backup", spec, &pods, v("1.15.0"))).contains(&"HV125"));
}

#[test]
fn hooks_of_finished_pods_are_attempted_on_1_12_and_skipped_since_1_13() {
    let spec = json!({"hooks": {"resources": [{"name": "h", "pre": [
        {"exec": {"container": "db", "command": ["/bin/a"]}}]}]}});
    let mut done = pod("p", json!({}));
    done["status"]["phase"] = json!("Succeeded");
    let old = planned("Backup", spec.clone(), &[done.clone()], v("1.12.4"));
    assert!(!codes(&old).contains(&"HV120"));
    assert!(
        find(&old, "HV121")
            .velero_does
            .contains("Velero 1.12.4 still tries")
    );
    let new = planned("Backup", spec, &[done], v("1.13.0"));
    assert!(
        find(&new, "HV120")
            .velero_does
            .contains("Velero 1.12.0-1.12.4 try to exec")
    );
}

/// Velero 1.14.0 started file-system backups in the background (PR #7571) and ran post
/// hooks without waiting for them until 1.15.1 (PR #8517, the backport of PR #8509; issue
/// #8159): an unfreeze post
/// hook on a pod whose volumes are opted into file-system backup runs while they are read.
#[test]
fn post_hooks_race_file_system_backups_on_1_14_0_to_1_15_0() {
    let annotations = json!({
        "pre.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\", \"--freeze\", \"/data\"]",
        "pre.hook.backup.velero.io/on-error": "Fail",
        "post.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\", \"--unfreeze\", \"/data\"]",
        "post.hook.backup.velero.io/on-error": "Continue",
        "backup.velero.io/backup-volumes": "data",
    });
    for (release, expected) in [
        ("1.13.2", false),
        ("1.14.0", true),
        ("1.15.0", true),
        ("1.15.1", false),
        ("1.16.0", false),
        ("main", false),
    ] {
        let findings = annotation_findings(annotations.clone(), v(release));
        assert_eq!(
            codes(&findings).contains(&"HV090"),
            expected,
            "{release}: {:?}",
            codes(&findings)
        );
        if expected {
            let finding = find(&findings, "HV090");
            assert_eq!(finding.subject.text(), "post.hook.backup.velero.io/command");
            assert!(finding.problem.contains("`data`"), "{}", finding.problem);
            assert!(
                finding.velero_does.contains("PR #7571")
                    && finding
                        .velero_does
                        .contains("Velero 1.15.1 and later (PR #8517)"),
                "{}",
                finding.velero_does
            );
        }
    }
    // Without volumes opted in, nothing is backed up by file system from this annotation.
    let mut without = annotations.clone();
    without
        .as_object_mut()
        .unwrap()
        .remove("backup.velero.io/backup-volumes");
    assert!(!codes(&annotation_findings(without, v("1.14.0"))).contains(&"HV090"));

    // A spec post hook on such a pod is told the same, at the hook's command.
    let spec = json!({"hooks": {"resources": [{"name": "thaw", "post": [
        {"exec": {"container": "db", "command": ["/sbin/fsfreeze", "--unfreeze", "/data"]}}]}]}});
    let volumes = json!({"backup.velero.io/backup-volumes": "data"});
    let findings = planned(
        "Backup",
        spec.clone(),
        &[pod("p", volumes.clone())],
        v("1.15.0"),
    );
    assert_eq!(
        find(&findings, "HV090").subject.text(),
        "spec.hooks.resources[0].post[0].exec.command"
    );
    let findings = planned("Backup", spec.clone(), &[pod("p", volumes)], v("1.15.1"));
    assert!(!codes(&findings).contains(&"HV090"));

    // A Backup (or a Schedule's template) that backs up every volume by file system is
    // told so on its own, without any pod.
    let mut every_volume = spec;
    every_volume["defaultVolumesToFsBackup"] = json!(true);
    let findings = check(&object("Backup", every_volume.clone()), v("1.14.1"));
    let finding = find(&findings, "HV090");
    assert_eq!(
        finding.subject.text(),
        "spec.hooks.resources[0].post[0].exec.command"
    );
    assert!(finding.problem.contains("defaultVolumesToFsBackup"));
    let schedule = json!({"schedule": "@daily", "template": every_volume.clone()});
    assert_eq!(
        find(&check(&object("Schedule", schedule), v("1.15.0")), "HV090")
            .subject
            .text(),
        "spec.template.hooks.resources[0].post[0].exec.command"
    );
    assert!(!codes(&check(&object("Backup", every_volume), v("1.15.1"))).contains(&"HV090"));
}

/// Velero 1.18.0 expanded an empty includedNamespaces together with wildcard exclusions
/// into no namespace at all (fixed in 1.18.1 by PR #9743): a Backup applied with kubectl
/// and only `excludedNamespaces: [kube-*]` backed up nothing and ran no hook.
#[test]
fn an_empty_include_list_with_wildcard_excludes_takes_in_nothing_on_1_18_0() {
    let hooked = json!({"hooks": {"resources": [{"name": "sync", "pre": [
        {"exec": {"container": "db", "command": ["/bin/sync"], "onError": "Continue", "timeout": "30s"}}]}]}});
    let with = |extra: Value| {
        let mut spec = hooked.clone();
        spec.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        spec
    };
    let pods = [pod("db-0", json!({}))];
    let hooks_run = |spec: Value, release: &str| {
        let planned = plan(
            &object("Backup", spec),
            &Inventory::from_objects(&pods),
            v(release),
        );
        planned.pods.iter().map(|p| p.hooks.len()).sum::<usize>()
    };
    let wildcard = with(json!({"excludedNamespaces": ["kube-*"]}));
    let findings = check(&object("Backup", wildcard.clone()), v("1.18.0"));
    let finding = find(&findings, "HV137");
    assert_eq!(finding.subject.text(), "spec.excludedNamespaces[0]");
    assert!(
        finding
            .velero_does
            .contains("Velero 1.18.1 and later (PR #9743)")
    );
    assert_eq!(hooks_run(wildcard.clone(), "1.18.0"), 0);
    for release in ["1.17.2", "1.18.1", "main"] {
        let findings = check(&object("Backup", wildcard.clone()), v(release));
        assert!(!codes(&findings).contains(&"HV137"), "{release}");
        assert_eq!(hooks_run(wildcard.clone(), release), 1, "{release}");
    }
    // `*` written out, or exclusions without a wildcard, were never affected.
    for spec in [
        with(json!({"includedNamespaces": ["*"], "excludedNamespaces": ["kube-*"]})),
        with(json!({"excludedNamespaces": ["kube-system"]})),
    ] {
        assert!(!codes(&check(&object("Backup", spec.clone()), v("1.18.0"))).contains(&"HV137"));
        assert_eq!(hooks_run(spec, "1.18.0"), 1);
    }
}

/// Before 1.18.0 expanded wildcards, each entry of includedNamespaces was looked up as a
/// namespace name: on 1.14.0 a pattern failed validation (PR #7569), on 1.14.1-1.17.2 it
/// is logged as an error and every backup ends PartiallyFailed (PR #7998).
#[test]
fn an_included_namespace_pattern_is_looked_up_by_name_from_1_14_to_1_17() {
    let spec = json!({"includedNamespaces": ["shop-*", "billing"]});
    let at_release = |release: &str| {
        let findings = check(&object("Backup", spec.clone()), v(release));
        findings
            .into_iter()
            .filter(|f| f.subject.text() == "spec.includedNamespaces[0]")
            .map(|f| (f.code, f.problem))
            .collect::<Vec<_>>()
    };
    assert_eq!(at_release("1.13.2"), vec![]);
    let refused = at_release("1.14.0");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, "HV132");
    assert!(refused[0].1.contains(r#"namespaces "shop-*" not found"#));
    for release in ["1.14.1", "1.17.2"] {
        let logged = at_release(release);
        assert_eq!(logged.len(), 1, "{release}");
        assert_eq!(logged[0].0, "HV138", "{release}");
    }
    assert_eq!(at_release("1.18.0"), vec![]);
    // The pod in a matching namespace is still planned on 1.14.1 (PartiallyFailed, not
    // refused), and nothing is planned on 1.14.0 (FailedValidation).
    let mut in_shop = pod(
        "db-0",
        json!({"pre.hook.backup.velero.io/command": "[\"/bin/sync\"]"}),
    );
    in_shop["metadata"]["namespace"] = json!("shop-eu");
    let planned = |release: &str| {
        plan(
            &object("Backup", spec.clone()),
            &Inventory::from_objects(std::slice::from_ref(&in_shop)),
            v(release),
        )
    };
    assert!(planned("1.14.0").refused);
    let later = planned("1.14.1");
    assert!(!later.refused);
    assert_eq!(later.pods.iter().map(|p| p.hooks.len()).sum::<usize>(), 1);
}

/// An included namespace the cluster does not have (known when every namespace was listed,
/// as `backup create` does): silently nothing before 1.14, FailedValidation on 1.14.0
/// (PR #7569), PartiallyFailed from 1.14.1 (PR #7998).
#[test]
fn a_missing_included_namespace_is_refused_on_1_14_0_and_partially_fails_later() {
    let spec = json!({"includedNamespaces": ["shop", "shpo"]});
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
    let db = pod(
        "db-0",
        json!({"pre.hook.backup.velero.io/command": "[\"/bin/sync\"]"}),
    );
    let mut listed = Inventory::from_objects([&namespace, &db]);
    listed.holds_every_namespace();
    let at = |release: &str, inventory: &Inventory| {
        let planned = plan(&object("Backup", spec.clone()), inventory, v(release));
        let found: Vec<(&str, String)> = planned
            .findings
            .iter()
            .filter(|f| f.subject.text() == "spec.includedNamespaces[1]")
            .map(|f| (f.code, f.velero_does.clone()))
            .collect();
        (planned.refused, found)
    };
    let (refused, found) = at("1.13.2", &listed);
    assert!(!refused);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].0 == "HV139" && found[0].1.contains("says nothing"),
        "{found:?}"
    );
    let (refused, found) = at("1.14.0", &listed);
    assert!(refused);
    assert_eq!(found[0].0, "HV132");
    for release in ["1.14.1", "1.18.2"] {
        let (refused, found) = at(release, &listed);
        assert!(!refused, "{release}");
        assert!(
            found[0].0 == "HV139" && found[0].1.contains("PartiallyFailed"),
            "{found:?}"
        );
    }
    // Offline, the input need not hold every namespace: nothing is said.
    let partial = Inventory::from_objects([&namespace, &db]);
    assert_eq!(at("1.14.1", &partial), (false, vec![]));
}

#[test]
fn fields_are_known_from_the_release_whose_crd_declares_them() {
    // uploaderConfig came with the CRDs of 1.13.0, volumeGroupSnapshotLabelKey with 1.17.0.
    let spec = json!({"uploaderConfig": {"parallelFilesUpload": 4}, "volumeGroupSnapshotLabelKey": "group"});
    let unknown = |version: &str| {
        check(&object("Backup", spec.clone()), v(version))
            .into_iter()
            .filter(|f| f.code == "HV116")
            .map(|f| f.subject.text().to_owned())
            .collect::<Vec<_>>()
    };
    // The field's own fields are not reported again.
    assert_eq!(
        unknown("1.12"),
        ["spec.uploaderConfig", "spec.volumeGroupSnapshotLabelKey"]
    );
    assert_eq!(unknown("1.16"), ["spec.volumeGroupSnapshotLabelKey"]);
    assert!(unknown("1.17").is_empty());
    let finding = find(&check(&object("Backup", spec.clone()), v("1.12")), "HV116").clone();
    assert!(
        finding
            .problem
            .contains("declared by the CRD of Velero 1.13.0 and later"),
        "{}",
        finding.problem
    );
    // A restore hook's waitForReady on 1.12 has its own rule (HV082), not this one.
    let restore = json!({"backupName": "b", "hooks": {"resources": [{"name": "h", "postHooks": [{"exec": {
        "command": ["/bin/true"], "onError": "Fail", "waitTimeout": "1m", "waitForReady": true}}]}]}});
    let findings = check(&object("Restore", restore), v("1.12"));
    assert_eq!(codes(&findings), ["HV082"]);

    // Fields only Velero main declares: known there, unknown to the latest release.
    let schedule = json!({"schedule": "@daily", "template": {"backupType": "Full",
        "metadata": {"annotations": {"team": "db"}}}});
    let unknown_in_schedule = |version: &str| {
        check(&object("Schedule", schedule.clone()), v(version))
            .into_iter()
            .filter(|f| f.code == "HV116")
            .map(|f| f.subject.text().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        unknown_in_schedule("1.18.2"),
        [
            "spec.template.backupType",
            "spec.template.metadata.annotations"
        ]
    );
    assert!(unknown_in_schedule("main").is_empty());
    let restore = json!({"backupName": "b", "skipDefaultResourceModifier": true});
    assert_eq!(
        codes(&check(&object("Restore", restore.clone()), v("1.18.2"))),
        ["HV116"]
    );
    assert!(check(&object("Restore", restore), v("main")).is_empty());
}

#[test]
fn an_unset_on_error_says_what_fail_would_change_for_that_phase_and_release() {
    let annotations = json!({
        "pre.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\", \"--freeze\", \"/data\"]",
        "post.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\", \"--unfreeze\", \"/data\"]",
    });
    let fixes = |version: &str| {
        annotation_findings(annotations.clone(), v(version))
            .into_iter()
            .filter(|f| f.code == "HV011")
            .map(|f| (f.subject.text().to_owned(), f.fix))
            .collect::<Vec<_>>()
    };
    // A failing pre hook with Fail keeps the pod out of the backup on every release; a
    // failing post hook with Fail does only before 1.15 (item blocks, PR #8102), after which
    // it skips the pod's later post hooks and the pod is backed up anyway.
    for (version, post) in [
        ("1.14", "keep the pod out of the backup"),
        ("1.18", "skip the pod's later post hooks"),
    ] {
        let found = fixes(version);
        assert_eq!(found.len(), 2, "{found:?}");
        for (key, fix) in found {
            let expected = if key.starts_with("pre.") {
                "keep the pod out of the backup"
            } else {
                post
            };
            assert!(fix.contains(expected), "{version} {key}: {fix}");
        }
    }
    // The same wording for a Backup's spec hooks.
    let spec = json!({"hooks": {"resources": [{"name": "h",
        "post": [{"exec": {"command": ["/sbin/fsfreeze", "--unfreeze", "/data"]}}]}]}});
    let finding = find(&check(&object("Backup", spec), v("1.18")), "HV106").clone();
    assert!(
        finding.fix.contains("skip the pod's later post hooks"),
        "{}",
        finding.fix
    );
}

#[test]
fn a_restore_alone_shows_the_index_mismatch_when_one_entry_has_exec_hooks() {
    let hooks = |resources: Value| json!({"backupName": "b", "hooks": {"resources": resources}});
    let never_recorded = |spec: &Value, version: &str| {
        check(&object("Restore", spec.clone()), v(version))
            .into_iter()
            .filter(|f| f.code == "HV124")
            .map(|f| f.subject.text().to_owned())
            .collect::<Vec<_>>()
    };
    // An init hook first: the exec hook's index is 1, its position in `db` 0.
    let init_first = hooks(json!([{"name": "r", "postHooks": [
        {"init": {"initContainers": [{"name": "i", "image": "busybox", "command": ["true"]}]}},
        {"exec": {"container": "db", "command": ["/bin/a"], "waitTimeout": "5m"}}]}]));
    assert_eq!(
        never_recorded(&init_first, "1.17.2"),
        ["spec.hooks.resources[0].postHooks[1].exec"]
    );
    assert_eq!(never_recorded(&init_first, "1.16.2").len(), 1);
    for unaffected in ["1.16.1", "1.18.0", "main"] {
        assert!(
            never_recorded(&init_first, unaffected).is_empty(),
            "{unaffected}"
        );
    }
    // Two containers interleaved: db's second hook (index 2) and the exporter's (index 1).
    let interleaved = hooks(json!([{"name": "r", "postHooks": [
        {"exec": {"container": "db", "command": ["/bin/a"], "waitTimeout": "5m"}},
        {"exec": {"container": "exporter", "command": ["/bin/b"], "waitTimeout": "5m"}},
        {"exec": {"container": "db", "command": ["/bin/c"], "waitTimeout": "5m"}}]}]));
    assert_eq!(
        never_recorded(&interleaved, "1.17.0"),
        [
            "spec.hooks.resources[0].postHooks[1].exec",
            "spec.hooks.resources[0].postHooks[2].exec"
        ]
    );
    // Not certain without pods: two entries with exec hooks, or containers named for some
    // hooks only (the others run in each pod's first container).
    let two_entries = hooks(json!([
        {"name": "a", "postHooks": [{"exec": {"container": "db", "command": ["/bin/a"], "waitTimeout": "5m"}}]},
        {"name": "b", "postHooks": [{"init": {"initContainers": [{"name": "i", "image": "busybox", "command": ["true"]}]}},
            {"exec": {"container": "db", "command": ["/bin/b"], "waitTimeout": "5m"}}]}]));
    assert!(never_recorded(&two_entries, "1.17.0").is_empty());
    let mixed = hooks(json!([{"name": "r", "postHooks": [
        {"exec": {"container": "db", "command": ["/bin/a"], "waitTimeout": "5m"}},
        {"exec": {"command": ["/bin/b"], "waitTimeout": "5m"}}]}]));
    assert!(never_recorded(&mixed, "1.17.0").is_empty());
}

/// The backup controller checks the storage location before anything runs
/// (`prepareBackupRequest`): it must exist (the one named, else the one marked default,
/// else `default`), not be read-only, and since 1.17.0 (PR #8976) be Available.
#[test]
fn the_storage_location_is_checked_as_the_backup_controller_does() {
    use velero_hooks::spec::rules::check_storage_location;
    let location = |name: &str, default: bool, mode: &str, phase: &str| {
        json!({"metadata": {"name": name}, "spec": {"default": default, "accessMode": mode},
            "status": {"phase": phase}})
    };
    let code = |named: Option<&str>, locations: &[serde_json::Value], version: &str| {
        check_storage_location(named, locations, "spec", v(version)).map(|f| f.problem)
    };
    let aws = [location("aws", true, "ReadWrite", "Available")];
    assert_eq!(code(None, &aws, "1.18"), None);
    assert_eq!(code(Some("aws"), &aws, "1.18"), None);
    assert!(
        code(Some("gcp"), &aws, "1.18")
            .unwrap()
            .contains("no BackupStorageLocation `gcp`")
    );
    // Nothing marked default: the server default `default`.
    let plain = location("aws", false, "ReadWrite", "Available");
    assert!(
        code(None, &[plain], "1.18")
            .unwrap()
            .contains("server default `default`")
    );
    let read_only = location("aws", true, "ReadOnly", "Available");
    assert!(
        code(None, &[read_only], "1.18")
            .unwrap()
            .contains("read-only")
    );
    let unavailable = [location("aws", true, "ReadWrite", "Unavailable")];
    assert_eq!(code(None, &unavailable, "1.16"), None);
    assert!(
        code(None, &unavailable, "1.17")
            .unwrap()
            .contains("not Available")
    );
}

/// Velero 1.18.0 (PR #9255) and main expand a Restore's namespace patterns against the
/// backup's namespaces into a plain include list, where empty means every namespace; 1.18.1
/// and 1.18.2 match the patterns instead (PR #9587, on the 1.18 branch only).
#[test]
fn a_restore_pattern_matching_no_backed_up_namespace_takes_in_all_on_1_18_0_and_main() {
    let spec = json!({"backupName": "b", "includedNamespaces": ["shop-*"]});
    let db = pod("db-0", json!({}));
    for (release, takes_in, warned) in [
        ("1.17.2", false, false),
        ("1.18.0", true, true),
        ("1.18.1", false, false),
        ("1.18.2", false, false),
        ("main", true, true),
    ] {
        let planned = plan(
            &object("Restore", spec.clone()),
            &Inventory::from_objects([&db]),
            v(release),
        );
        assert_eq!(planned.pods.len() == 1, takes_in, "{release}");
        assert_eq!(
            codes(&planned.findings).contains(&"HV142"),
            warned,
            "{release}"
        );
    }
    // A pattern that matches a backed-up namespace takes in that one only.
    let other = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "shop-eu"}, "spec": {"containers": [{"name": "web"}]},
        "status": {"phase": "Running"}});
    let planned = plan(
        &object("Restore", spec.clone()),
        &Inventory::from_objects([&db, &other]),
        v("main"),
    );
    let names: Vec<&str> = planned.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web-0"]);
    // What main may patch or select otherwise is named among the plan's limits.
    let modifier = |planned: &velero_hooks::spec::ObjectPlan| {
        planned
            .limits
            .iter()
            .any(|l| l.contains("default resource modifier"))
    };
    assert!(modifier(&planned));
    let on_1_18_2 = plan(
        &object("Restore", spec),
        &Inventory::from_objects([&db]),
        v("1.18.2"),
    );
    assert!(!modifier(&on_1_18_2));
}
