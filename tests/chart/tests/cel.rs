//! The matchConditions select exactly the objects that carry Velero
//! annotations, evaluated with a CEL interpreter on sample objects.

use chart_tests::cel_eval::{all_match, evaluate};
use chart_tests::render;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use serde_json::{Value, json};

/// The conditions of the entries for pods and workloads (Velero's own objects have their
/// own entries, tested in `cel_velero.rs`).
fn conditions(sets: &[&str]) -> Vec<String> {
    let vwc: ValidatingWebhookConfiguration = render(sets).one("ValidatingWebhookConfiguration");
    let hooks: Vec<_> = vwc
        .webhooks
        .unwrap()
        .into_iter()
        .filter(|w| !w.name.contains("velero-objects"))
        .collect();
    assert_eq!(hooks.len(), 2);
    let first: Vec<String> = hooks[0]
        .match_conditions
        .clone()
        .unwrap()
        .into_iter()
        .map(|c| c.expression)
        .collect();
    for w in &hooks {
        let these: Vec<String> = w
            .match_conditions
            .clone()
            .unwrap()
            .into_iter()
            .map(|c| c.expression)
            .collect();
        assert_eq!(these, first, "every webhook entry uses the same conditions");
    }
    first
}

const HOOKS: &[(&str, &str)] = &[
    ("pre.hook.backup.velero.io/container", "app"),
    (
        "pre.hook.backup.velero.io/command",
        "[\"/sbin/fsfreeze\", \"--freeze\", \"/data\"]",
    ),
];

fn annotations(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

fn pod_spec() -> Value {
    json!({"containers": [{"name": "app", "image": "nginx"}]})
}

fn pod(ann: Option<Value>) -> Value {
    let mut meta = json!({"name": "p", "namespace": "shop"});
    if let Some(a) = ann {
        meta["annotations"] = a;
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec()})
}

fn template(ann: Option<Value>) -> Value {
    let mut meta = json!({"labels": {"app": "web"}});
    if let Some(a) = ann {
        meta["annotations"] = a;
    }
    json!({"metadata": meta, "spec": pod_spec()})
}

fn workload(api_version: &str, kind: &str, own: Option<Value>, tmpl: Option<Value>) -> Value {
    let mut meta = json!({"name": "w", "namespace": "shop"});
    if let Some(a) = own {
        meta["annotations"] = a;
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": meta,
           "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(tmpl)}})
}

fn cronjob(tmpl: Option<Value>) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "shop"},
           "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template(tmpl)}}}})
}

fn matches(conds: &[String], object: &Value) -> bool {
    all_match(conds, object).unwrap_or_else(|e| panic!("evaluation failed on {object}: {e:#}"))
}

const TEMPLATE_KINDS: &[(&str, &str)] = &[
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "ReplicaSet"),
    ("v1", "ReplicationController"),
    ("batch/v1", "Job"),
];

#[test]
fn pods_with_hooks_match_and_other_pods_do_not() {
    let c = conditions(&[]);
    assert!(matches(&c, &pod(Some(annotations(HOOKS)))));
    assert!(matches(
        &c,
        &pod(Some(annotations(&[(
            "post.hook.restore.velero.io/command",
            "[\"true\"]"
        )])))
    ));
    assert!(
        matches(
            &c,
            &pod(Some(annotations(&[(
                "hook.backup.velero.io/command",
                "sync"
            )])))
        ),
        "legacy key"
    );
    assert!(!matches(&c, &pod(None)), "no annotations");
    assert!(!matches(&c, &pod(Some(json!({})))), "empty annotations");
    assert!(!matches(
        &c,
        &pod(Some(annotations(&[("prometheus.io/scrape", "true")])))
    ));
}

#[test]
fn workloads_match_on_template_or_own_annotations() {
    let c = conditions(&[]);
    for (api_version, kind) in TEMPLATE_KINDS {
        assert!(
            matches(
                &c,
                &workload(api_version, kind, None, Some(annotations(HOOKS)))
            ),
            "{kind}: template hooks"
        );
        assert!(
            matches(
                &c,
                &workload(api_version, kind, Some(annotations(HOOKS)), None)
            ),
            "{kind}: hooks misplaced on the workload"
        );
        assert!(
            !matches(&c, &workload(api_version, kind, None, None)),
            "{kind}: no annotations"
        );
        assert!(
            !matches(
                &c,
                &workload(
                    api_version,
                    kind,
                    Some(annotations(&[("deployment.kubernetes.io/revision", "3")])),
                    Some(json!({"a": "b"}))
                )
            ),
            "{kind}: unrelated annotations"
        );
    }
}

#[test]
fn pod_templates_and_cronjobs_match_on_their_pod_metadata() {
    let c = conditions(&[]);
    let pt = |ann: Option<Value>| json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template(ann)});
    assert!(matches(&c, &pt(Some(annotations(HOOKS)))));
    assert!(!matches(&c, &pt(None)));
    assert!(matches(&c, &cronjob(Some(annotations(HOOKS)))));
    assert!(!matches(&c, &cronjob(None)));
    assert!(!matches(&c, &cronjob(Some(annotations(&[("a", "b")])))));
}

#[test]
fn missing_fields_give_false_not_errors() {
    let c = conditions(&[]);
    for object in [
        json!({"apiVersion": "v1", "kind": "Pod"}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": pod_spec()}}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {}}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {}}}}}),
        json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"ownerReferences": [{"name": "x"}]}, "spec": {}}),
    ] {
        assert!(!matches(&c, &object), "{object}");
    }
}

#[test]
fn the_interpreter_fails_on_unguarded_access_like_the_api_server() {
    // Without has() guards a pod (no spec.template) is an evaluation error, which
    // the API server would turn into the failurePolicy: the guards matter.
    let unguarded = "object.spec.template.metadata.annotations.exists(k, k.contains('velero.io/'))";
    assert!(evaluate(unguarded, &pod(Some(annotations(HOOKS))), None).is_err());
    assert!(
        evaluate(
            unguarded,
            &workload("apps/v1", "Deployment", None, Some(annotations(HOOKS))),
            None
        )
        .unwrap()
    );
}

#[test]
fn controller_owned_objects_are_skipped_by_default() {
    let owned = |controller: Option<bool>| {
        let mut p = pod(Some(annotations(HOOKS)));
        let mut r =
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8", "uid": "1"});
        if let Some(c) = controller {
            r["controller"] = json!(c);
        }
        p["metadata"]["ownerReferences"] = json!([r]);
        p
    };
    let c = conditions(&[]);
    assert!(!matches(&c, &owned(Some(true))), "made by a controller");
    assert!(
        matches(&c, &owned(Some(false))),
        "owned, but not by a controller"
    );
    assert!(matches(&c, &owned(None)));
    let all = conditions(&["webhook.skipControllerOwned=false"]);
    assert!(matches(&all, &owned(Some(true))));
}

#[test]
fn key_substrings_are_configurable() {
    let misspelt = pod(Some(annotations(&[(
        "pre.hook.backups.velero.io/command",
        "sync",
    )])));
    let volumes = pod(Some(annotations(&[(
        "backup.velero.io/backup-volumes",
        "data",
    )])));
    let default = conditions(&[]);
    assert!(
        matches(&default, &misspelt),
        "the default net catches misspelt prefixes"
    );
    assert!(matches(&default, &volumes));
    let narrow = conditions(&[
        "webhook.annotationKeyContains={hook.backup.velero.io/,hook.restore.velero.io/}",
    ]);
    assert!(matches(&narrow, &pod(Some(annotations(HOOKS)))));
    assert!(matches(
        &narrow,
        &pod(Some(annotations(&[(
            "init.hook.restore.velero.io/container-image",
            "busybox"
        )])))
    ));
    assert!(!matches(&narrow, &misspelt));
    assert!(!matches(&narrow, &volumes));
}

#[test]
fn updates_are_judged_on_the_new_object() {
    let c = conditions(&[]);
    let old = pod(Some(annotations(HOOKS)));
    let new = pod(None);
    for expression in &c {
        // Removing every hook needs no check; oldObject is not consulted.
        let with_old = evaluate(expression, &new, Some(&old)).unwrap();
        let without = evaluate(expression, &new, None).unwrap();
        assert_eq!(with_old, without);
    }
    assert!(!matches(&c, &new));
}
