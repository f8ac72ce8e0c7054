//! Every rule about Velero objects (HV1xx): one table row per case, each citing the Velero
//! 1.18.2 source it follows. Findings are (code, path).

use serde_json::{Value, json};
use velero_hooks::rules::{RULES, rule_by_code};
use velero_hooks::spec::{Inventory, VeleroObject, check, plan};
use velero_hooks::{Subject, VeleroVersion};

fn object(kind: &str, spec: Value) -> VeleroObject {
    let spec = if kind == "Schedule" {
        json!({"schedule": "@daily", "template": spec})
    } else {
        spec
    };
    let document = json!({"apiVersion": "velero.io/v1", "kind": kind, "metadata": {"name": "x", "namespace": "velero"}, "spec": spec});
    VeleroObject::from_json(&document)
        .expect("a Velero object")
        .expect("decodable")
}

fn findings(kind: &str, spec: Value) -> Vec<(&'static str, String)> {
    check(&object(kind, spec), VeleroVersion::LATEST_RELEASE)
        .into_iter()
        .map(|f| (f.code, f.subject.text().to_owned()))
        .collect()
}

fn backup_hook(hook: Value) -> Value {
    json!({"hooks": {"resources": [hook]}})
}

fn exec(exec: Value) -> Value {
    backup_hook(json!({"name": "h", "pre": [{"exec": exec}]}))
}

fn restore(spec: Value) -> Value {
    let mut base = json!({"backupName": "b"});
    base.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    base
}

const E: &str = "spec.hooks.resources[0].pre[0].exec";

/// (kind, spec, expected findings) — a clean exec hook for reference: command, onError set.
/// (code, path) of a finding.
type Found = (&'static str, String);

fn table() -> Vec<(&'static str, Value, Vec<Found>)> {
    let ok = json!({"command": ["/bin/sync"], "onError": "Fail"});
    let p = |s: &str| s.to_owned();
    vec![
        ("Backup", json!({}), vec![]),
        ("Backup", exec(ok.clone()), vec![]),
        // CRD velero.io_backups.yaml: name required; "" fails at exec (pod_command_executor.go).
        (
            "Backup",
            backup_hook(json!({"pre": [{"exec": ok}]})),
            vec![("HV101", p("spec.hooks.resources[0].name"))],
        ),
        (
            "Backup",
            backup_hook(json!({"name": "", "pre": [{"exec": ok}]})),
            vec![("HV101", p("spec.hooks.resources[0].name"))],
        ),
        // CRD: exec required in pre[]/post[].
        (
            "Backup",
            backup_hook(json!({"name": "h", "post": [{}]})),
            vec![("HV102", p("spec.hooks.resources[0].post[0].exec"))],
        ),
        // CRD: command minItems 1.
        (
            "Backup",
            exec(json!({"command": [], "onError": "Fail"})),
            vec![("HV103", format!("{E}.command"))],
        ),
        // pod_command_executor.go execs argv as given: no shell.
        (
            "Backup",
            exec(json!({"command": ["/bin/sh -c sync"], "onError": "Fail"})),
            vec![("HV104", format!("{E}.command"))],
        ),
        (
            "Backup",
            exec(json!({"command": ["", "x"], "onError": "Fail"})),
            vec![("HV004", format!("{E}.command"))],
        ),
        // A shell's -c with nothing after it; an init container's args come after its command.
        (
            "Backup",
            exec(json!({"command": ["/bin/bash", "-c"], "onError": "Fail"})),
            vec![("HV006", format!("{E}.command"))],
        ),
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "postHooks": [{"init": {"initContainers": [
                    {"name": "a", "image": "alpine", "command": ["/bin/ash", "-c"]},
                    {"name": "b", "image": "alpine", "command": ["/bin/ash", "-c"], "args": ["cp -a /seed/. /data/"]}]}}]}]}}),
            ),
            vec![(
                "HV006",
                p("spec.hooks.resources[0].postHooks[0].init.initContainers[0].command"),
            )],
        ),
        // CRD: onError enum [Continue, Fail].
        (
            "Backup",
            exec(json!({"command": ["/bin/a"], "onError": "fail"})),
            vec![("HV105", format!("{E}.onError"))],
        ),
        // item_hook_handler.go: only an explicit Fail fails.
        (
            "Backup",
            exec(json!({"command": ["/bin/a"]})),
            vec![("HV106", format!("{E}.onError"))],
        ),
        // metav1.Duration: time.ParseDuration; CRD types it string.
        (
            "Backup",
            exec(json!({"command": ["/bin/a"], "onError": "Fail", "timeout": "30"})),
            vec![("HV107", format!("{E}.timeout"))],
        ),
        (
            "Backup",
            exec(json!({"command": ["/bin/a"], "onError": "Fail", "timeout": 30})),
            vec![("HV107", format!("{E}.timeout"))],
        ),
        // pod_command_executor.go: negative = no limit on 1.18.
        (
            "Backup",
            exec(json!({"command": ["/bin/a"], "onError": "Fail", "timeout": "-5s"})),
            vec![("HV108", format!("{E}.timeout"))],
        ),
        (
            "Backup",
            exec(json!({"command": ["/bin/a"], "onError": "Fail", "timeout": "0s"})),
            vec![("HV021", format!("{E}.timeout"))],
        ),
        (
            "Backup",
            exec(json!({"command": ["/bin/a"], "onError": "Fail", "timeout": "5h"})),
            vec![("HV023", format!("{E}.timeout"))],
        ),
        // backup.go getResourceHook: LabelSelectorAsSelector error fails the backup.
        (
            "Backup",
            backup_hook(
                json!({"name": "h", "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Equals"}]}, "pre": [{"exec": ok}]}),
            ),
            vec![("HV109", p("spec.hooks.resources[0].labelSelector"))],
        ),
        // includes_excludes.go globStringSet.match: sorted walk, first invalid pattern = no match.
        (
            "Backup",
            backup_hook(
                json!({"name": "h", "excludedNamespaces": ["kube-system", "[bad"], "pre": [{"exec": ok}]}),
            ),
            vec![("HV110", p("spec.hooks.resources[0].excludedNamespaces[1]"))],
        ),
        (
            "Backup",
            backup_hook(
                json!({"name": "h", "includedResources": ["[a-cx]"], "pre": [{"exec": ok}]}),
            ),
            vec![("HV110", p("spec.hooks.resources[0].includedResources[0]"))],
        ),
        // gobwas/glob v0.2.3 panics on all-empty alternations (fixtures/glob/cases.json).
        (
            "Backup",
            backup_hook(
                json!({"name": "h", "includedNamespaces": ["shop{}"], "pre": [{"exec": ok}]}),
            ),
            vec![("HV111", p("spec.hooks.resources[0].includedNamespaces[0]"))],
        ),
        // gobwas/glob negates a class with `!` only: `[^a]` matches `^` and `a`
        // (fixtures/glob/cases.json).
        (
            "Backup",
            backup_hook(
                json!({"name": "h", "excludedNamespaces": ["shop-[^p]*"], "pre": [{"exec": ok}]}),
            ),
            vec![("HV126", p("spec.hooks.resources[0].excludedNamespaces[0]"))],
        ),
        // A Schedule's hooks live in spec.template (schedule_types.go).
        (
            "Schedule",
            exec(json!({"command": ["/bin/a"], "onError": "fail"})),
            vec![(
                "HV105",
                format!("spec.template.{}.onError", E.trim_start_matches("spec.")),
            )],
        ),
        // backup_controller.go: ValidateNamespaceIncludesExcludes.
        (
            "Backup",
            json!({"includedNamespaces": ["shop"], "excludedNamespaces": ["shop"]}),
            vec![("HV130", p("spec.excludedNamespaces"))],
        ),
        (
            "Backup",
            json!({"includedNamespaces": ["*", "shop"]}),
            vec![("HV130", p("spec.excludedNamespaces"))],
        ),
        // backup_controller.go: ValidateIncludesExcludes on old-style lists.
        (
            "Backup",
            json!({"excludedResources": ["*"]}),
            vec![("HV131", p("spec.excludedResources"))],
        ),
        (
            "Backup",
            json!({"includedResources": ["pods"], "excludedNamespaceScopedResources": ["secrets"]}),
            vec![("HV131", p("spec.includedResources"))],
        ),
        (
            "Backup",
            json!({"includedNamespaceScopedResources": ["pods"], "excludedNamespaceScopedResources": ["*"]}),
            vec![("HV131", p("spec.excludedNamespaceScopedResources"))],
        ),
        // wildcard/expand.go ValidateNamespaceName, includes_excludes.go validateNamespaceName.
        (
            "Backup",
            json!({"includedNamespaces": ["shop-{eu,us}"]}),
            vec![("HV132", p("spec.includedNamespaces[0]"))],
        ),
        (
            "Backup",
            json!({"includedNamespaces": ["shop-**"]}),
            vec![("HV132", p("spec.includedNamespaces[0]"))],
        ),
        (
            "Backup",
            json!({"includedNamespaces": ["Shop"]}),
            vec![("HV132", p("spec.includedNamespaces[0]"))],
        ),
        (
            "Backup",
            json!({"excludedNamespaces": ["shop-[]"]}),
            vec![("HV132", p("spec.excludedNamespaces[0]"))],
        ),
        // Passes validation but does not compile: expansion fails (backup.go) or no match.
        (
            "Backup",
            json!({"includedNamespaces": ["shop-[a-cx]"]}),
            vec![("HV133", p("spec.includedNamespaces[0]"))],
        ),
        (
            "Backup",
            json!({"excludedNamespaces": ["[z-a]"]}),
            vec![("HV133", p("spec.excludedNamespaces[0]"))],
        ),
        // backup_controller.go: only one of labelSelector and orLabelSelectors.
        (
            "Backup",
            json!({"labelSelector": {}, "orLabelSelectors": []}),
            vec![("HV134", p("spec.orLabelSelectors"))],
        ),
        // item_collector.go: the list call with an invalid selector fails.
        (
            "Backup",
            json!({"labelSelector": {"matchLabels": {"a b": "x"}}}),
            vec![("HV135", p("spec.labelSelector"))],
        ),
        // item_hook_handler.go GetRestoreHooksFromSpec: resources forced to pods.
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "includedResources": ["deployments"], "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "1m"}}]}]}}),
            ),
            vec![("HV112", p("spec.hooks.resources[0].includedResources"))],
        ),
        // ... which is only worth a word when the list says something else than "pods".
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "includedResources": ["pods"], "excludedResources": ["deployments"], "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "1m"}}]}]}}),
            ),
            vec![],
        ),
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "excludedResources": ["pods"], "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "1m"}}]}]}}),
            ),
            vec![("HV112", p("spec.hooks.resources[0].excludedResources"))],
        ),
        (
            "Restore",
            restore(json!({"hooks": {"resources": [{"name": "h", "postHooks": [{}]}]}})),
            vec![("HV113", p("spec.hooks.resources[0].postHooks[0]"))],
        ),
        // restore_controller.go + hook.ValidateContainer.
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "postHooks": [{"init": {"initContainers": [{"name": "i", "image": "busybox"}]}}]}]}}),
            ),
            vec![(
                "HV114",
                p("spec.hooks.resources[0].postHooks[0].init.initContainers[0]"),
            )],
        ),
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "postHooks": [{"init": {"initContainers": [{"name": "i", "image": "b", "command": "x"}]}}]}]}}),
            ),
            vec![(
                "HV114",
                p("spec.hooks.resources[0].postHooks[0].init.initContainers[0]"),
            )],
        ),
        // InitRestoreHook.timeout is never read.
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "postHooks": [{"init": {"timeout": "1m", "initContainers": [{"name": "i", "image": "b", "command": ["x"]}]}}]}]}}),
            ),
            vec![(
                "HV115",
                p("spec.hooks.resources[0].postHooks[0].init.timeout"),
            )],
        ),
        // CRDs (config/crd/v1/bases): fields they do not declare are dropped by the API
        // server, or refused by kubectl's strict field validation. `post` is a Backup hook's
        // list; a Restore's is `postHooks` (restore_types.go). A Schedule's Backup fields are
        // under spec.template.
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "post": [{"exec": {"command": ["/bin/true"]}}]}]}}),
            ),
            vec![("HV116", p("spec.hooks.resources[0].post"))],
        ),
        (
            "Schedule",
            backup_hook(
                json!({"name": "h", "label": {"matchLabels": {"app": "db"}}, "pre": [{"exec": ok}]}),
            ),
            vec![("HV116", p("spec.template.hooks.resources[0].label"))],
        ),
        (
            "Backup",
            json!({"volumeSnapshotLocation": ["default"], "labelSelector": {"matchLabels": {"a": "b"}}}),
            vec![("HV116", p("spec.volumeSnapshotLocation"))],
        ),
        // item_hook_handler.go / restore.go: restore hooks see the namespace a pod is
        // restored into. `shop` is restored as `shop-copy`; `staging` also receives `qa`.
        (
            "Restore",
            restore(
                json!({"namespaceMapping": {"shop": "shop-copy", "qa": "staging", "staging": "old"},
                "hooks": {"resources": [
                    {"name": "a", "includedNamespaces": ["shop", "staging"], "excludedNamespaces": ["shop"], "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "1m"}}]},
                    {"name": "b", "includedNamespaces": ["shop", "shop-copy", "shop-*"], "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "1m"}}]}]}}),
            ),
            vec![
                ("HV117", p("spec.hooks.resources[0].includedNamespaces[0]")),
                ("HV117", p("spec.hooks.resources[0].excludedNamespaces[0]")),
            ],
        ),
        // item_hook_handler.go handleResourceHooks: an entry with no hooks runs nothing (the
        // Restore's entry above writes `post`, already reported as HV116, and is not
        // reported again).
        (
            "Backup",
            backup_hook(json!({"name": "h", "labelSelector": {"matchLabels": {"app": "db"}}})),
            vec![("HV119", p("spec.hooks.resources[0]"))],
        ),
        // backup.go backupItemBlock / restore.go: hooks run only in pods taken in.
        (
            "Backup",
            json!({"includedResources": ["persistentvolumeclaims", "persistentvolumes"],
                "hooks": {"resources": [{"name": "h", "pre": [{"exec": ok}]}]}}),
            vec![("HV118", p("spec.includedResources"))],
        ),
        (
            "Schedule",
            json!({"excludedNamespaceScopedResources": ["po"],
                "hooks": {"resources": [{"name": "h", "pre": [{"exec": ok}]}]}}),
            vec![("HV118", p("spec.template.excludedNamespaceScopedResources"))],
        ),
        (
            "Backup",
            json!({"includedResources": ["po*"], "excludedResources": ["*"],
                "hooks": {"resources": [{"name": "h", "pre": [{"exec": ok}]}]}}),
            vec![("HV131", p("spec.excludedResources"))],
        ),
        (
            "Restore",
            restore(
                json!({"excludedResources": ["pods"], "hooks": {"resources": [{"name": "h", "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "1m"}}]}]}}),
            ),
            vec![("HV118", p("spec.excludedResources"))],
        ),
        // restore_controller.go: LabelSelectorAsSelector → FailedValidation.
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}, "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "1m"}}]}]}}),
            ),
            vec![("HV109", p("spec.hooks.resources[0].labelSelector"))],
        ),
        // wait_exec_hook_handler.go: waitTimeout 0 = no limit; negative = expired. Absent
        // is a zero metav1.Duration: the same unlimited wait.
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "postHooks": [{"exec": {"command": ["/bin/a"]}}]}]}}),
            ),
            vec![(
                "HV024",
                p("spec.hooks.resources[0].postHooks[0].exec.waitTimeout"),
            )],
        ),
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "0s"}}]}]}}),
            ),
            vec![(
                "HV024",
                p("spec.hooks.resources[0].postHooks[0].exec.waitTimeout"),
            )],
        ),
        (
            "Restore",
            restore(
                json!({"hooks": {"resources": [{"name": "h", "postHooks": [{"exec": {"command": ["/bin/a"], "waitTimeout": "-1s"}}]}]}}),
            ),
            vec![(
                "HV025",
                p("spec.hooks.resources[0].postHooks[0].exec.waitTimeout"),
            )],
        ),
        // restore_controller.go validateAndComplete: backup xor schedule; lists.
        ("Restore", json!({}), vec![("HV140", p("spec.backupName"))]),
        (
            "Restore",
            restore(json!({"excludedNamespaces": ["*"]})),
            vec![("HV140", p("spec.excludedNamespaces"))],
        ),
    ]
}

#[test]
fn every_row_gives_exactly_its_findings() {
    for (kind, spec, expected) in table() {
        assert_eq!(findings(kind, spec.clone()), expected, "{kind} {spec}");
    }
}

#[test]
fn every_spec_rule_has_a_row_and_one_registry_knows_every_code() {
    let mut covered: Vec<&str> = table()
        .into_iter()
        .flat_map(|(_, _, f)| f.into_iter().map(|(c, _)| c))
        .collect();
    // Pod-dependent rules: tests/plan.rs; HV100: its own test below.
    covered.extend(["HV100", "HV120", "HV121", "HV122", "HV123", "HV136"]);
    // Release-dependent rules: tests/releases.rs.
    covered.extend([
        "HV124", "HV125", "HV137", "HV138", "HV139", "HV141", "HV142",
    ]);
    for rule in RULES.iter().filter(|r| r.code.starts_with("HV1")) {
        assert!(
            covered.contains(&rule.code),
            "{} ({}) has no row",
            rule.code,
            rule.name
        );
        assert_eq!(rule_by_code(rule.code), Some(rule));
    }
    let mut codes: Vec<_> = RULES.iter().map(|r| r.code).collect();
    codes.sort();
    let count = codes.len();
    codes.dedup();
    assert_eq!(count, codes.len(), "duplicate codes");
}

#[test]
fn undecodable_specs_are_a_finding_at_the_field_not_a_crash() {
    for (spec, path) in [
        (
            json!({"hooks": {"resources": {"name": "x"}}}),
            "spec.hooks.resources",
        ),
        (
            json!({"hooks": {"resources": [{"pre": "x"}]}}),
            "spec.hooks.resources[0].pre",
        ),
        (
            json!({"includedNamespaces": "shop"}),
            "spec.includedNamespaces",
        ),
        // A list where an object is declared: serde alone would read it positionally, as
        // the object's fields in order (container, command, onError, timeout).
        (
            json!({"hooks": {"resources": [{"name": "h", "pre": [{"exec": ["db", ["/bin/sync"], "Fail", "30s"]}]}]}}),
            "spec.hooks.resources[0].pre[0].exec",
        ),
        (json!([1]), "spec"),
        (json!({"ttl": {"hours": 1}}), "spec.ttl"),
    ] {
        let document = json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "x"}, "spec": spec});
        let finding = VeleroObject::from_json(&document).unwrap().unwrap_err();
        assert_eq!(
            (finding.code, finding.subject.clone()),
            ("HV100", Subject::Spec(path.into())),
            "{spec}"
        );
        assert!(
            finding.problem.contains(" where the CRD declares "),
            "{}",
            finding.problem
        );
        assert!(
            finding.velero_does.contains("in body must be of type"),
            "{}",
            finding.velero_does
        );
    }
    // The right JSON type, but not what Velero's Go type reads: serde says what is wrong.
    let document = json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "x"},
        "spec": {"hooks": {"resources": [{"name": 5}]}}});
    let finding = VeleroObject::from_json(&document).unwrap().unwrap_err();
    assert_eq!(finding.subject.text(), "spec.hooks.resources[0].name");
    assert!(
        finding
            .problem
            .starts_with("the value cannot be decoded: invalid type")
    );
    // `app: y` in YAML is a boolean to kubectl: the fix says to quote it.
    let document = json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "x"},
        "spec": {"hooks": {"resources": [{"name": "h", "labelSelector": {"matchLabels": {"app": true}}}]}}});
    let finding = VeleroObject::from_json(&document).unwrap().unwrap_err();
    assert_eq!(
        finding.subject.text(),
        "spec.hooks.resources[0].labelSelector.matchLabels.app"
    );
    assert!(
        finding.fix.starts_with("quote the value"),
        "{}",
        finding.fix
    );
    let spec = json!({"schedule": "@daily", "template": [["shop"]]});
    let document = json!({"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "x"}, "spec": spec});
    let finding = VeleroObject::from_json(&document).unwrap().unwrap_err();
    assert_eq!(finding.subject.text(), "spec.template");
    let spec = json!({"schedule": "@daily", "template": {"includedNamespaces": "shop"}});
    let document = json!({"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "x"}, "spec": spec});
    let finding = VeleroObject::from_json(&document).unwrap().unwrap_err();
    assert_eq!(finding.subject.text(), "spec.template.includedNamespaces");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
    assert!(VeleroObject::from_json(&pod).is_none());
}

#[test]
fn findings_serialize_key_for_annotations_and_path_for_fields() {
    let finding = check(
        &object("Backup", exec(json!({"command": ["/bin/a"]}))),
        VeleroVersion::LATEST_RELEASE,
    )
    .remove(0);
    let value = serde_json::to_value(&finding).unwrap();
    assert_eq!(value["path"], json!(format!("{E}.onError")));
    assert!(value.get("key").is_none());
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"pre.hook.backup.velero.io/command": "/bin/a"}}, "spec": {"containers": [{"name": "c"}]}});
    let report = velero_hooks::check_object(&pod, VeleroVersion::LATEST_RELEASE).unwrap();
    let value = serde_json::to_value(&report.findings[0]).unwrap();
    assert_eq!(value["key"], json!("pre.hook.backup.velero.io/on-error"));
    assert!(value.get("path").is_none());
}

#[test]
fn a_refused_backup_plans_no_hooks() {
    let backup = object(
        "Backup",
        json!({"excludedResources": ["*"], "hooks": {"resources": [{"name": "h", "pre": [{"exec": {"command": ["/bin/a"]}}]}]}}),
    );
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
    let planned = plan(
        &backup,
        &Inventory::from_objects([&pod]),
        VeleroVersion::LATEST_RELEASE,
    );
    assert!(planned.refused);
    assert!(planned.pods.iter().all(|p| p.hooks.is_empty()));
}

#[test]
fn a_findings_only_plan_keeps_each_pods_findings_and_drops_its_hooks() {
    let backup = object(
        "Backup",
        json!({"hooks": {"resources": [{"name": "h", "pre": [{"exec": {"container": "ghost", "command": ["/bin/a"], "onError": "Fail"}}]}]}}),
    );
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
    let mut inventory = Inventory::from_objects([&pod]);
    let whole = plan(&backup, &inventory, VeleroVersion::LATEST_RELEASE);
    inventory.findings_only();
    let lean = plan(&backup, &inventory, VeleroVersion::LATEST_RELEASE);
    assert_eq!(whole.pods[0].hooks.len(), 1);
    assert!(lean.pods[0].hooks.is_empty());
    assert_eq!(whole.pods[0].findings, lean.pods[0].findings);
    assert!(lean.pods[0].findings.iter().any(|f| f.code == "HV122"));
}
