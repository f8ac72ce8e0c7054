//! Whatever annotations and pod shapes arrive, checking and normalising never panic, and
//! every finding names a key that is really in the object.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use velero_hooks::normalize::{Normalizations, normalize};
use velero_hooks::spec::{Inventory, VeleroObject, check, plan};
use velero_hooks::{
    VeleroVersion, check_object,
    command::{explain_json_break, parse_command},
    duration::parse_go_duration,
};

fn key() -> impl Strategy<Value = String> {
    let known: Vec<&'static str> = velero_hooks::keys::KEYS.iter().map(|k| k.name).collect();
    prop_oneof![
        proptest::sample::select(known).prop_map(str::to_owned),
        "[a-z.]{0,12}hook\\.(backup|restore)\\.velero\\.io/[a-zA-Z-]{0,14}",
        ".{0,20}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => any::<String>().prop_map(Value::String),
        2 => "[\\[\\]\" ,a-z0-9/.-]{0,30}".prop_map(Value::String),
        2 => "[-+]?[0-9.]{0,6}(ns|us|µs|ms|s|m|h|d|S)?".prop_map(Value::String),
        1 => proptest::sample::select(vec!["Fail", "Continue", "fail", "", " ", "true", "yes"]).prop_map(|s| Value::String(s.into())),
        1 => any::<i64>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
    ]
}

fn container() -> impl Strategy<Value = Value> {
    ("[a-z-]{0,8}", any::<bool>(), any::<bool>()).prop_map(|(name, named, sidecar)| {
        let mut c = Map::new();
        if named {
            c.insert("name".into(), Value::String(name));
        }
        if sidecar {
            c.insert("restartPolicy".into(), "Always".into());
        }
        Value::Object(c)
    })
}

/// Names Velero's objects use, wrong ones beside them, and anything.
fn field() -> impl Strategy<Value = String> {
    let names = vec![
        "hooks",
        "resources",
        "name",
        "pre",
        "post",
        "postHooks",
        "exec",
        "init",
        "initContainers",
        "command",
        "args",
        "image",
        "container",
        "onError",
        "timeout",
        "execTimeout",
        "waitTimeout",
        "waitForReady",
        "includedNamespaces",
        "excludedNamespaces",
        "includedResources",
        "excludedResources",
        "labelSelector",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
        "namespaceMapping",
        "template",
        "uploaderConfig",
        "label",
        "backupName",
        "orLabelSelectors",
    ];
    prop_oneof![
        4 => proptest::sample::select(names).prop_map(str::to_owned),
        1 => "[a-zA-Z.*\\[\\]]{0,8}",
    ]
}

/// Any JSON, nested a few levels, built from those names.
fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![value(), Just(json!([])), Just(json!({}))];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(field(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_velero_object_is_checked_and_planned_without_panic(
        spec in tree(),
        top in proptest::collection::btree_map(field(), tree(), 0..3),
        kind in proptest::sample::select(vec!["Backup", "Schedule", "Restore"]),
        oldest in any::<bool>(),
    ) {
        let version = if oldest { VeleroVersion::OLDEST } else { VeleroVersion::MAIN };
        let mut object = json!({"apiVersion": "velero.io/v1", "kind": kind,
            "metadata": {"name": "x", "namespace": "velero"}, "spec": spec});
        object.as_object_mut().unwrap().extend(top.into_iter().filter(|(k, _)| !["apiVersion", "kind"].contains(&k.as_str())));
        let _ = check_object(&object, version);
        if let Some(Ok(decoded)) = VeleroObject::from_json(&object) {
            let pod = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "namespace": "shop", "labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db"}]}, "status": {"phase": "Running"}});
            let _ = plan(&decoded, &Inventory::from_objects(&[pod]), version);
            for finding in check(&decoded, version) {
                prop_assert!(!finding.problem.is_empty() && !finding.fix.is_empty(), "{finding:?}");
            }
        }
    }

    #[test]
    fn checking_any_pod_never_panics(
        annotations in proptest::collection::btree_map(key(), value(), 0..12),
        containers in proptest::collection::vec(container(), 0..4),
        init in proptest::collection::vec(container(), 0..3),
        newer in any::<bool>(),
    ) {
        let version = if newer { VeleroVersion::MAIN } else { VeleroVersion::LATEST_RELEASE };
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "annotations": annotations},
            "spec": {"containers": containers, "initContainers": init}
        });
        let report = check_object(&pod, version).unwrap();
        for finding in &report.findings {
            let key = finding.subject.annotation_key().unwrap_or_default();
            prop_assert!(pod["metadata"]["annotations"].get(key).is_some()
                || finding.code == "HV011" || finding.code == "HV024" || finding.code == "HV070" || finding.code == "HV032",
                "{} names absent key {}", finding.code, key);
        }
        let all = Normalizations { pin_container: true, json_command: true, explicit_defaults: true, migrate_legacy: true };
        let ops = normalize(&pod, version, all);
        let mut patched = pod.clone();
        json_patch::patch(&mut patched, &ops).unwrap();
        prop_assert!(normalize(&patched, version, all).is_empty(), "not idempotent");
    }

    #[test]
    fn any_string_parses_without_panic(text in any::<String>()) {
        let _ = parse_go_duration(&text);
        let command = parse_command(&text);
        let _ = explain_json_break(&text);
        let _ = explain_json_break(&format!("[{text}"));
        let _ = explain_json_break(&format!("\"{text}]"));
        prop_assert!(!command.argv.is_empty() || text.starts_with('['));
    }

    #[test]
    fn odd_shapes_are_not_objects_or_are_checked(value in value(), kind in ".{0,12}") {
        let _ = check_object(&value, VeleroVersion::LATEST_RELEASE);
        let _ = check_object(&json!({"apiVersion": "apps/v1", "kind": kind, "spec": value}), VeleroVersion::LATEST_RELEASE);
        let _ = check_object(&json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": value}}), VeleroVersion::LATEST_RELEASE);
    }
}
