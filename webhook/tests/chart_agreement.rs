//! The Helm chart registers the webhook for paths and resources listed in
//! `charts/velero-hooks/ci/registered-rules.json` (rendered by the chart's own tests). The
//! server must serve exactly those admission paths and handle exactly those kinds.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use velero_hooks::workload::WORKLOAD_KINDS;
use velero_hooks_webhook::limits::ServerLimits;
use velero_hooks_webhook::review::{Mode, Policy};
use velero_hooks_webhook::server::{AppState, admission_router};
use velero_hooks_webhook::tls;

fn registered() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/velero-hooks/ci/registered-rules.json");
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice::<Vec<Value>>(&text).unwrap()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// Velero's own objects the chart registers for /validate and /warn (never /mutate):
/// (resource, kind).
const VELERO_RESOURCES: [(&str, &str); 3] = [
    ("backups", "Backup"),
    ("schedules", "Schedule"),
    ("restores", "Restore"),
];

/// A review of a `kind` object whose pod template (or, for Velero's objects, whose spec
/// hooks) has a broken hook.
fn review_for(group: &str, kind: &str, api_version: &str, resource: &str) -> Value {
    let annotations = json!({"pre.hook.backup.velero.io/command": "/sbin/fsfreeze --freeze /data"});
    let pod = json!({"metadata": {"annotations": annotations}, "spec": {"containers": [{"name": "app"}]}});
    let mut object = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "ns"}});
    match kind {
        "Pod" => {
            object["metadata"]["annotations"] = annotations;
            object["spec"] = pod["spec"].clone();
        }
        "PodTemplate" => object["template"] = pod,
        "CronJob" => object["spec"] = json!({"jobTemplate": {"spec": {"template": pod}}}),
        "Backup" | "Schedule" | "Restore" => {
            let exec =
                json!({"exec": {"command": ["/sbin/fsfreeze --freeze /data"], "onError": "Fail"}});
            let hooks = if kind == "Restore" {
                json!({"resources": [{"name": "h", "postHooks": [exec]}]})
            } else {
                json!({"resources": [{"name": "h", "pre": [exec]}]})
            };
            object["spec"] = if kind == "Schedule" {
                json!({"schedule": "@daily", "template": {"hooks": hooks}})
            } else {
                json!({"hooks": hooks})
            };
        }
        _ => object["spec"] = json!({"template": pod}),
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "kind": {"group": group, "version": "v1", "kind": kind},
        "resource": {"group": group, "version": "v1", "resource": resource},
        "name": "x", "namespace": "ns", "operation": "CREATE", "object": object}})
}

#[tokio::test]
async fn server_serves_exactly_the_registered_paths_and_kinds() {
    let rules = registered();
    let registered_paths: BTreeSet<&str> = rules.iter().map(|r| text(&r["path"])).collect();
    let served: BTreeSet<&str> = [Mode::Enforce, Mode::Warn, Mode::Mutate]
        .iter()
        .map(|m| m.path())
        .collect();
    assert_eq!(registered_paths, served);

    let workloads: BTreeSet<(&str, &str)> = WORKLOAD_KINDS
        .iter()
        .map(|k| (k.group(), k.resource))
        .collect();
    for path in &registered_paths {
        let mut handled = workloads.clone();
        if *path != "/mutate" {
            handled.extend(VELERO_RESOURCES.iter().map(|(r, _)| ("velero.io", *r)));
        }
        let resources: BTreeSet<(&str, &str)> = rules
            .iter()
            .filter(|r| text(&r["path"]) == *path)
            .map(|r| (text(&r["group"]), text(&r["resource"])))
            .collect();
        assert_eq!(
            resources, handled,
            "{path}: registered resources differ from handled kinds"
        );
    }
    for rule in &rules {
        assert_eq!(rule["version"], "v1", "{rule}");
        for op in rule["operations"].as_array().unwrap() {
            assert!(["CREATE", "UPDATE"].contains(&text(op)), "{rule}");
        }
    }

    // Every registered (path, resource) is answered, and judged (not passed through).
    let generated = tls::self_signed(&[]).unwrap();
    let certs = tls::certified_key(generated.cert_pem.as_bytes(), generated.key_pem.as_bytes());
    let state = Arc::new(AppState::new(
        Policy::default(),
        ServerLimits::default(),
        Arc::new(tls::CertStore::new(certs.unwrap())),
    ));
    let router = admission_router(state);
    for rule in &rules {
        let (path, group, resource) = (
            text(&rule["path"]),
            text(&rule["group"]),
            text(&rule["resource"]),
        );
        let body = match VELERO_RESOURCES.iter().find(|(r, _)| *r == resource) {
            Some((_, kind)) if group == "velero.io" => {
                review_for(group, kind, "velero.io/v1", resource)
            }
            _ => {
                let kind = WORKLOAD_KINDS
                    .iter()
                    .find(|k| k.group() == group && k.resource == resource)
                    .unwrap();
                review_for(group, kind.kind, kind.api_version, resource)
            }
        };
        let request = axum::http::Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200, "{path} {resource}");
        let reply: Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        let response = &reply["response"];
        match path {
            "/validate" => assert_eq!(response["allowed"], false, "{resource}: {reply}"),
            "/warn" => assert!(
                !response["warnings"].as_array().unwrap().is_empty(),
                "{resource}"
            ),
            _ => assert_eq!(response["allowed"], true, "{resource}"),
        }
    }
}
