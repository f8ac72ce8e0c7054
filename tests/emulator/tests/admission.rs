//! The emulator calling admission webhooks like kube-apiserver: a tiny HTTPS
//! webhook records the AdmissionReviews it gets and answers by path.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube_emulator::{EmulatorConfig, FailurePolicy, WebhookConfig, WebhookRule, tls};
use serde_json::{Value, json};

/// A webhook server on loopback. `/validate` denies objects annotated
/// `deny: "true"` (403) and always warns; `/mutate` adds label `mutated=yes`;
/// `/slow` answers after 3 s.
struct TestWebhook {
    url: String,
    ca_pem: String,
    reviews: Arc<Mutex<Vec<(String, Value)>>>,
}

impl TestWebhook {
    async fn start() -> Self {
        let cert = tls::generate(&["127.0.0.1", "localhost"]).unwrap();
        let acceptor =
            tokio_rustls::TlsAcceptor::from(Arc::new(tls::server_config(&cert).unwrap()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let reviews: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let seen = reviews.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let seen = seen.clone();
                            async move {
                                let path = req.uri().path().to_string();
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                let review: Value = serde_json::from_slice(&body).unwrap();
                                seen.lock().unwrap().push((path.clone(), review.clone()));
                                let response = answer(&path, &review["request"]).await;
                                let out = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response});
                                Ok::<_, Infallible>(
                                    hyper::Response::builder()
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(out.to_string())))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TestWebhook {
            url: format!("https://127.0.0.1:{}", addr.port()),
            ca_pem: cert.ca_pem,
            reviews,
        }
    }

    fn reviews(&self, path: &str) -> Vec<Value> {
        self.reviews
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, r)| r["request"].clone())
            .collect()
    }
}

async fn answer(path: &str, request: &Value) -> Value {
    let uid = request["uid"].clone();
    let object = &request["object"];
    match path {
        "/validate" => {
            let mut r =
                json!({"uid": uid, "allowed": true, "warnings": ["pre hook timeout has no unit"]});
            if object.pointer("/metadata/annotations/deny") == Some(&json!("true")) {
                r["allowed"] = json!(false);
                r["status"] =
                    json!({"code": 403, "reason": "Forbidden", "message": "hook says no"});
            }
            r
        }
        "/mutate" => {
            let op = if object.pointer("/metadata/labels").is_some() {
                json!([{"op": "add", "path": "/metadata/labels/mutated", "value": "yes"}])
            } else {
                json!([{"op": "add", "path": "/metadata/labels", "value": {"mutated": "yes"}}])
            };
            let patch = base64::engine::general_purpose::STANDARD.encode(op.to_string());
            json!({"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": patch})
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json!({"uid": uid, "allowed": true})
        }
        _ => json!({"uid": uid, "allowed": false, "status": {"message": "unknown path"}}),
    }
}

fn pods_rule() -> Vec<WebhookRule> {
    vec![WebhookRule::new(
        &["CREATE", "UPDATE"],
        &[""],
        &["v1"],
        &["pods"],
    )]
}

fn pod(name: &str, deny: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": {"deny": deny.to_string()}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }))
    .unwrap()
}

fn api_error(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn denial_mutation_and_review_shape() {
    let hook = TestWebhook::start().await;
    let config = EmulatorConfig::default()
        .webhook(WebhookConfig::mutating(
            "mutate.example.com",
            &format!("{}/mutate", hook.url),
            &hook.ca_pem,
            pods_rule(),
        ))
        .webhook(WebhookConfig::validating(
            "validate.example.com",
            &format!("{}/validate", hook.url),
            &hook.ca_pem,
            pods_rule(),
        ));
    let h = common::start(config).await;
    let pods: Api<Pod> = Api::namespaced(h.client.clone(), "default");

    let e = api_error(
        pods.create(&PostParams::default(), &pod("denied", true))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 403);
    assert_eq!(e.reason, "Forbidden");
    assert_eq!(
        e.message,
        "admission webhook \"validate.example.com\" denied the request: hook says no"
    );
    assert!(pods.get_opt("denied").await.unwrap().is_none());

    // generateName: request.name is empty, the object already has its name.
    let mut generated = pod("", false);
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("web-".into());
    let created = pods
        .create(&PostParams::default(), &generated)
        .await
        .unwrap();
    assert_eq!(
        created.metadata.labels.as_ref().unwrap()["mutated"],
        "yes",
        "mutating patch applied"
    );
    let name = created.metadata.name.clone().unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");

    let validated = hook.reviews("/validate");
    let r = validated.last().unwrap();
    assert_eq!(r["name"], "");
    assert_eq!(r["object"]["metadata"]["name"], name.as_str());
    assert_eq!(
        r["object"]["metadata"]["labels"]["mutated"], "yes",
        "validating webhooks run after mutation"
    );
    assert_eq!(r["namespace"], "default");
    assert_eq!(r["operation"], "CREATE");
    assert_eq!(
        r["kind"],
        json!({"group": "", "version": "v1", "kind": "Pod"})
    );
    assert_eq!(
        r["resource"],
        json!({"group": "", "version": "v1", "resource": "pods"})
    );
    assert_eq!(r["requestKind"], r["kind"]);
    assert_eq!(r["requestResource"], r["resource"]);
    assert_eq!(r["userInfo"]["username"], "kubernetes-admin");
    assert_eq!(r["options"]["kind"], "CreateOptions");
    assert_eq!(r["dryRun"], false);
    assert!(r["oldObject"].is_null());
    assert!(
        r["object"]["metadata"]["uid"].is_string()
            && r["object"]["metadata"]["creationTimestamp"].is_string()
    );
    assert_eq!(
        r["object"]["spec"]["containers"][0]["terminationMessagePath"], "/dev/termination-log",
        "object after defaulting"
    );
    assert_eq!(r["uid"].as_str().unwrap().len(), 36);

    // UPDATE through a patch, dry-run: oldObject, UpdateOptions, dryRun true.
    pods.patch(
        &name,
        &PatchParams::default().dry_run(),
        &Patch::Merge(json!({"metadata": {"annotations": {"x": "y"}}})),
    )
    .await
    .unwrap();
    let r = hook.reviews("/validate").last().unwrap().clone();
    assert_eq!(r["operation"], "UPDATE");
    assert_eq!(r["name"], name.as_str());
    assert_eq!(r["options"]["kind"], "UpdateOptions");
    assert_eq!(r["dryRun"], true);
    assert!(r["oldObject"]["metadata"]["annotations"].get("x").is_none());
    assert_eq!(r["object"]["metadata"]["annotations"]["x"], "y");

    // ConfigMaps are outside the rules: no call.
    let before = hook.reviews("/validate").len();
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(hook.reviews("/validate").len(), before);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn unreachable_and_slow_webhooks_follow_failure_policy() {
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let hook = TestWebhook::start().await;
    let unreachable = format!("https://127.0.0.1:{closed}/validate");
    let config = EmulatorConfig::default()
        .webhook(WebhookConfig::validating(
            "down.example.com",
            &unreachable,
            &hook.ca_pem,
            pods_rule(),
        ))
        .webhook(
            WebhookConfig::validating(
                "slow.example.com",
                &format!("{}/slow", hook.url),
                &hook.ca_pem,
                pods_rule(),
            )
            .timeout(Duration::from_secs(1))
            .namespace_selector(json!({"matchLabels": {"slow": "yes"}})),
        );
    let h = common::start(config).await;
    let pods: Api<Pod> = Api::namespaced(h.client.clone(), "default");
    let e = api_error(
        pods.create(&PostParams::default(), &pod("p", false))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 500);
    assert!(
        e.message
            .contains("failed calling webhook \"down.example.com\""),
        "{}",
        e.message
    );
    h.emu.shutdown().await;

    let config = EmulatorConfig::default()
        .webhook(
            WebhookConfig::validating("down.example.com", &unreachable, &hook.ca_pem, pods_rule())
                .failure_policy(FailurePolicy::Ignore),
        )
        .webhook(
            WebhookConfig::validating(
                "slow.example.com",
                &format!("{}/slow", hook.url),
                &hook.ca_pem,
                pods_rule(),
            )
            .timeout(Duration::from_secs(1))
            .namespace_selector(json!({"matchLabels": {"slow": "yes"}})),
        );
    let h = common::start(config).await;
    let pods: Api<Pod> = Api::namespaced(h.client.clone(), "default");
    pods.create(&PostParams::default(), &pod("p", false))
        .await
        .unwrap();

    // The slow webhook only applies in namespaces labelled slow=yes, and times out there.
    let namespaces: Api<Namespace> = Api::all(h.client.clone());
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "slow", "labels": {"slow": "yes"}}}))
            .unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let slow_pods: Api<Pod> = Api::namespaced(h.client.clone(), "slow");
    let e = api_error(
        slow_pods
            .create(&PostParams::default(), &pod("p", false))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 500);
    assert!(
        e.message
            .contains("failed calling webhook \"slow.example.com\"")
            && e.message.contains("deadline"),
        "{}",
        e.message
    );
    assert_eq!(hook.reviews("/slow").len(), 1);
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_shows_webhook_warnings_and_denials() {
    let hook = TestWebhook::start().await;
    let config = EmulatorConfig::default().webhook(WebhookConfig::validating(
        "validate.example.com",
        &format!("{}/validate", hook.url),
        &hook.ca_pem,
        pods_rule(),
    ));
    let h = common::start(config).await;
    let file = h.kubeconfig.with_file_name("pod.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: warned\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n",
    )
    .unwrap();
    let out = common::kubectl_output(&h.kubeconfig, &["apply", "-f", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Warning: pre hook timeout has no unit"),
        "{stderr}"
    );

    let out = common::kubectl_output(&h.kubeconfig, &["annotate", "pod/warned", "deny=true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "admission webhook \"validate.example.com\" denied the request: hook says no"
        ),
        "{stderr}"
    );
    h.emu.shutdown().await;
}

#[tokio::test]
async fn webhooks_from_a_configuration_object() {
    let hook = TestWebhook::start().await;
    let vwc = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "velero-hooks"},
        "webhooks": [{
            "name": "validate.velero-hooks.io",
            "clientConfig": {"service": {"name": "velero-hooks", "namespace": "velero", "path": "/validate"}},
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}]},
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 5,
        }],
    });
    let hooks =
        WebhookConfig::from_configuration(&vwc, &format!("{}/validate", hook.url), &hook.ca_pem)
            .unwrap();
    let config = hooks
        .into_iter()
        .fold(EmulatorConfig::default(), |c, w| c.webhook(w));
    let h = common::start(config).await;
    let system: Api<Pod> = Api::namespaced(h.client.clone(), "kube-system");
    system
        .create(&PostParams::default(), &pod("sys", true))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(h.client.clone(), "default");
    let e = api_error(
        pods.create(&PostParams::default(), &pod("p", true))
            .await
            .unwrap_err(),
    );
    assert!(
        e.message
            .starts_with("admission webhook \"validate.velero-hooks.io\" denied"),
        "{}",
        e.message
    );

    let mut with_cel = vwc.clone();
    with_cel["webhooks"][0]["matchConditions"] = json!([{"name": "x", "expression": "true"}]);
    assert!(WebhookConfig::from_configuration(&with_cel, &hook.url, &hook.ca_pem).is_err());
    h.emu.shutdown().await;
}
