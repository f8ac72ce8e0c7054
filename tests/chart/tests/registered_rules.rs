//! The rendered webhook configurations register exactly the paths and kinds
//! listed in charts/velero-hooks/ci/registered-rules.json, which the webhook
//! server's tests read to check it serves the same.

use chart_tests::registered::{RegisteredRule, load_fixture, registered_rules};
use chart_tests::render;
use std::collections::BTreeSet;

#[test]
fn rendered_chart_registers_exactly_the_committed_list() {
    let rendered = registered_rules(&render(&["mutating.enabled=true"]));
    let fixture = load_fixture();
    assert_eq!(
        rendered,
        fixture,
        "rendered rules differ from ci/registered-rules.json (update one or the other):\n{}",
        serde_json::to_string_pretty(&rendered).unwrap()
    );
}

#[test]
fn committed_list_is_the_contract() {
    let fixture = load_fixture();
    let paths: BTreeSet<_> = fixture.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, BTreeSet::from(["/mutate", "/validate", "/warn"]));
    let kinds = |path: &str| -> BTreeSet<(String, String, String)> {
        fixture
            .iter()
            .filter(|r| r.path == path)
            .map(|r| (r.group.clone(), r.version.clone(), r.resource.clone()))
            .collect()
    };
    let expected: BTreeSet<_> = [
        ("", "pods"),
        ("", "podtemplates"),
        ("", "replicationcontrollers"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    ]
    .into_iter()
    .map(|(g, r)| (g.to_string(), "v1".to_string(), r.to_string()))
    .collect();
    // Velero's own objects are validated and warned about, never mutated.
    let velero: BTreeSet<_> = ["backups", "schedules", "restores"]
        .into_iter()
        .map(|r| ("velero.io".to_string(), "v1".to_string(), r.to_string()))
        .collect();
    for path in paths {
        let mut expected = expected.clone();
        if path != "/mutate" {
            expected.extend(velero.iter().cloned());
        }
        assert_eq!(kinds(path), expected, "{path}");
    }
    assert!(
        fixture
            .iter()
            .all(|r: &RegisteredRule| r.operations == ["CREATE", "UPDATE"])
    );
    let mut sorted = fixture.clone();
    sorted.sort();
    assert_eq!(sorted, fixture, "keep the file sorted");
}

#[test]
fn without_the_mutating_webhook_mutate_is_not_registered() {
    let rendered = registered_rules(&render(&[]));
    let expected: Vec<_> = load_fixture()
        .into_iter()
        .filter(|r| r.path != "/mutate")
        .collect();
    assert_eq!(rendered, expected);
}

#[test]
fn every_rule_is_namespaced_and_has_no_wildcards() {
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
    let vwc: ValidatingWebhookConfiguration = render(&[]).one("ValidatingWebhookConfiguration");
    for w in vwc.webhooks.unwrap() {
        for rule in w.rules.unwrap() {
            assert_eq!(rule.scope.as_deref(), Some("Namespaced"));
            for list in [
                &rule.api_groups,
                &rule.api_versions,
                &rule.resources,
                &rule.operations,
            ] {
                assert!(
                    !list.as_ref().unwrap().iter().any(|s| s.contains('*')),
                    "{rule:?}"
                );
            }
        }
    }
}
