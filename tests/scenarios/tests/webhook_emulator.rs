//! The emulated API server calls the real webhook binary the way kube-apiserver does:
//! creating a Deployment with broken hooks comes back as a Forbidden Status naming every
//! error; one with only warnings is created, and the warnings reach the client.

mod webhook_support;

use kube_emulator::{Emulator, EmulatorConfig, WebhookConfig, WebhookRule};
use serde_json::Value;
use webhook_support::client::{Proto, connect, tls_config};
use webhook_support::{Webhook, fixture, install_provider};

/// The object of a fixture as a user would send it (no server-set fields).
fn manifest(fixture_name: &str) -> Vec<u8> {
    let review: Value = serde_json::from_slice(&fixture(fixture_name)).unwrap();
    let mut object = review["request"]["object"].clone();
    let metadata = object["metadata"].as_object_mut().unwrap();
    for field in [
        "uid",
        "creationTimestamp",
        "managedFields",
        "resourceVersion",
        "generation",
    ] {
        metadata.remove(field);
    }
    object.as_object_mut().unwrap().remove("status");
    serde_json::to_vec(&object).unwrap()
}

#[tokio::test]
async fn emulated_apiserver_gets_denials_and_warnings() {
    install_provider();
    let webhook = Webhook::start(&["--self-signed"]);
    let ca = webhook.ca_pem.clone().unwrap();
    let url = format!("https://127.0.0.1:{}/validate", webhook.https.port());
    let rules = vec![WebhookRule::new(
        &["CREATE", "UPDATE"],
        &["apps"],
        &["v1"],
        &["deployments"],
    )];
    let emulator = Emulator::start(EmulatorConfig::default().webhook(WebhookConfig::validating(
        "validate.velero-hooks.io",
        &url,
        &ca,
        rules,
    )))
    .await
    .unwrap();
    emulator.store().ensure_namespace("shop").unwrap();
    let mut api = connect(
        emulator.addr(),
        tls_config(emulator.ca_pem(), Proto::H1),
        Proto::H1,
    )
    .await
    .unwrap();
    let token = format!("Bearer {}", emulator.token());
    let headers = [("authorization", token.as_str())];
    let path = "/apis/apps/v1/namespaces/shop/deployments";

    let denied = api
        .request("POST", path, &headers, manifest("deployment-create-denied"))
        .await
        .unwrap();
    assert_eq!(denied.status, 403, "{}", denied.text());
    let status = denied.json();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Forbidden");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "admission webhook \"validate.velero-hooks.io\" denied the request: deployment/web: pre.hook.backup.velero.io/timeout: `-5s` is negative"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "\ndeployment/web: post.hook.backup.velero.io/command: the command is an empty array"
        ),
        "{message}"
    );
    assert!(
        emulator
            .store()
            .get("apps", "v1", "deployments", Some("shop"), "web")
            .is_err()
    );

    let created = api
        .request(
            "POST",
            path,
            &headers,
            manifest("deployment-create-on-error-unset-warned"),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    let warnings: Vec<&str> = created
        .headers
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("HV011 pre.hook.backup.velero.io/on-error")),
        "{warnings:?}"
    );
    emulator.shutdown().await;
}

/// Velero's own objects through the emulated API server and the real webhook, registered
/// as the chart registers them (velero.io/v1 backups, schedules, restores; CREATE and
/// UPDATE): a Schedule with broken hooks is refused on create, naming the Schedule and the
/// spec path; a valid one is created; an update that breaks its hooks is refused, and one
/// that only pauses it goes through.
#[tokio::test]
async fn emulated_apiserver_refuses_a_schedule_with_broken_hooks() {
    install_provider();
    let webhook = Webhook::start(&["--self-signed"]);
    let ca = webhook.ca_pem.clone().unwrap();
    let url = format!("https://127.0.0.1:{}/validate", webhook.https.port());
    let rules = vec![WebhookRule::new(
        &["CREATE", "UPDATE"],
        &["velero.io"],
        &["v1"],
        &["backups", "schedules", "restores"],
    )];
    let mut config = EmulatorConfig::default().webhook(WebhookConfig::validating(
        "validate-velero-objects.velero-hooks.io",
        &url,
        &ca,
        rules,
    ));
    for rt in kube_emulator::velero::resource_types() {
        config = config.resource_type(rt);
    }
    let emulator = Emulator::start(config).await.unwrap();
    emulator.store().ensure_namespace("velero").unwrap();
    let mut api = connect(
        emulator.addr(),
        tls_config(emulator.ca_pem(), Proto::H1),
        Proto::H1,
    )
    .await
    .unwrap();
    let token = format!("Bearer {}", emulator.token());
    let headers = [("authorization", token.as_str())];
    let path = "/apis/velero.io/v1/namespaces/velero/schedules";

    let denied = api
        .request("POST", path, &headers, manifest("schedule-create-denied"))
        .await
        .unwrap();
    assert_eq!(denied.status, 403, "{}", denied.text());
    let message = denied.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(
            "admission webhook \"validate-velero-objects.velero-hooks.io\" denied the request: schedule/nightly-db: spec.template.hooks.resources[0].pre[0].exec.command:"
        ),
        "{message}"
    );
    assert!(
        message.contains("\nschedule/nightly-db: spec.template.hooks.resources[0].pre[0].exec.timeout: `30` is not a Go duration"),
        "{message}"
    );
    assert!(
        emulator
            .store()
            .get("velero.io", "v1", "schedules", Some("velero"), "nightly-db")
            .is_err()
    );

    let created = api
        .request(
            "POST",
            path,
            &headers,
            manifest("schedule-create-valid-allowed"),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    let stored = created.json();
    let item = format!("{path}/nightly-db");

    // Breaking the hooks of the stored Schedule is refused.
    let broken: Value = serde_json::from_slice(&manifest("schedule-create-denied")).unwrap();
    let mut update = stored.clone();
    update["spec"]["template"]["hooks"] = broken["spec"]["template"]["hooks"].clone();
    let refused = api
        .request("PUT", &item, &headers, serde_json::to_vec(&update).unwrap())
        .await
        .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.text());

    // Pausing it leaves the hooks alone: allowed.
    let mut paused = stored;
    paused["spec"]["paused"] = Value::Bool(true);
    let allowed = api
        .request("PUT", &item, &headers, serde_json::to_vec(&paused).unwrap())
        .await
        .unwrap();
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    emulator.shutdown().await;
}
