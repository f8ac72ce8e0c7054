//! The matchConditions of the entries for Velero's own objects send exactly the Backups,
//! Schedules and Restores that have hooks, evaluated with a CEL interpreter on sample
//! objects as the API server would (missing fields give false, never an error).

use chart_tests::cel_eval::{all_match, evaluate};
use chart_tests::render;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use serde_json::{Value, json};

const ENTRIES: [&str; 2] = [
    "validate-velero-objects.velero-hooks.io",
    "warn-velero-objects.velero-hooks.io",
];

/// The conditions of both Velero entries (they must be the same).
fn conditions(sets: &[&str]) -> Vec<String> {
    let vwc: ValidatingWebhookConfiguration = render(sets).one("ValidatingWebhookConfiguration");
    let entries: Vec<Vec<String>> = vwc
        .webhooks
        .unwrap()
        .into_iter()
        .filter(|w| ENTRIES.contains(&w.name.as_str()))
        .map(|w| {
            w.match_conditions
                .unwrap()
                .into_iter()
                .map(|c| c.expression)
                .collect()
        })
        .collect();
    assert_eq!(entries.len(), 2, "both Velero entries are rendered");
    assert_eq!(entries[0], entries[1]);
    entries[0].clone()
}

fn matches(conds: &[String], object: &Value) -> bool {
    all_match(conds, object).unwrap_or_else(|e| panic!("evaluation failed on {object}: {e:#}"))
}

fn hooks() -> Value {
    json!({"resources": [{"name": "freeze", "pre": [{"exec": {"command": ["/bin/true"]}}]}]})
}

fn velero(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": kind,
        "metadata": {"name": "nightly", "namespace": "velero"}, "spec": spec})
}

#[test]
fn only_objects_with_hooks_are_sent() {
    let c = conditions(&[]);
    for kind in ["Backup", "Restore"] {
        assert!(
            matches(&c, &velero(kind, json!({"hooks": hooks()}))),
            "{kind}"
        );
        assert!(
            matches(&c, &velero(kind, json!({"hooks": {}}))),
            "{kind}: an empty hooks object is still sent (the webhook allows it)"
        );
        assert!(!matches(
            &c,
            &velero(kind, json!({"includedNamespaces": ["shop"]}))
        ));
        // A Backup's hooks are in spec.hooks, not spec.template.hooks.
        assert!(!matches(
            &c,
            &velero(kind, json!({"template": {"hooks": hooks()}}))
        ));
    }
    let schedule = |template: Value| {
        velero(
            "Schedule",
            json!({"schedule": "@daily", "template": template}),
        )
    };
    assert!(matches(&c, &schedule(json!({"hooks": hooks()}))));
    assert!(!matches(
        &c,
        &schedule(json!({"includedNamespaces": ["shop"]}))
    ));
    assert!(!matches(
        &c,
        &velero("Schedule", json!({"schedule": "@daily"}))
    ));
    assert!(
        !matches(&c, &velero("Schedule", json!({"hooks": hooks()}))),
        "a Schedule's own spec.hooks is not where Velero reads them"
    );
}

#[test]
fn missing_fields_give_false_not_errors() {
    let c = conditions(&[]);
    for object in [
        json!({"apiVersion": "velero.io/v1", "kind": "Backup"}),
        json!({"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "s"}}),
        json!({"apiVersion": "velero.io/v1", "kind": "Schedule", "spec": {}}),
        json!({"apiVersion": "velero.io/v1", "kind": "Restore", "metadata": {"labels": {}}, "spec": {}}),
    ] {
        assert!(!matches(&c, &object), "{object}");
    }
    // The guards matter: unguarded, a Schedule without a template is an error.
    let unguarded = "has(object.spec.template.hooks)";
    assert!(evaluate(unguarded, &velero("Schedule", json!({})), None).is_err());
}

#[test]
fn backups_made_by_velero_are_skipped_by_default() {
    let c = conditions(&[]);
    let mut from_schedule = velero("Backup", json!({"hooks": hooks()}));
    from_schedule["metadata"]["labels"] = json!({"velero.io/schedule-name": "nightly"});
    assert!(!matches(&c, &from_schedule), "made from a Schedule");
    let mut owned = velero("Backup", json!({"hooks": hooks()}));
    owned["metadata"]["ownerReferences"] = json!([{"apiVersion": "velero.io/v1", "kind": "Schedule", "name": "nightly", "uid": "1", "controller": true}]);
    assert!(!matches(&c, &owned), "owned by a controller");
    let mut labelled = velero("Backup", json!({"hooks": hooks()}));
    labelled["metadata"]["labels"] = json!({"team": "storage"});
    assert!(matches(&c, &labelled), "other labels do not matter");
    // The schedule-name label only means "made from a Schedule" on a Backup.
    let mut restore = velero("Restore", json!({"hooks": hooks()}));
    restore["metadata"]["labels"] = json!({"velero.io/schedule-name": "nightly"});
    assert!(matches(&c, &restore));
    let all = conditions(&["webhook.skipControllerOwned=false"]);
    assert!(matches(&all, &from_schedule));
    assert!(matches(&all, &owned));
}

#[test]
fn updates_that_remove_every_hook_are_not_sent() {
    let c = conditions(&[]);
    let old = velero("Backup", json!({"hooks": hooks()}));
    let new = velero("Backup", json!({}));
    for expression in &c {
        let with_old = evaluate(expression, &new, Some(&old)).unwrap();
        assert_eq!(with_old, evaluate(expression, &new, None).unwrap());
    }
    assert!(!matches(&c, &new));
}

#[test]
fn the_entries_can_be_turned_off() {
    let vwc: ValidatingWebhookConfiguration =
        render(&["webhook.veleroObjects.enabled=false"]).one("ValidatingWebhookConfiguration");
    let names: Vec<String> = vwc.webhooks.unwrap().into_iter().map(|w| w.name).collect();
    assert_eq!(names, ["validate.velero-hooks.io", "warn.velero-hooks.io"]);
}
