//! certificates.mode=helm keeps its certificate across upgrades: with a
//! cluster to look in (a fake API server here, reached by
//! `helm template --dry-run=server`), the chart reuses the Secret it finds.

use chart_tests::fake_api::FakeApiServer;
use chart_tests::{FULLNAME, NAMESPACE, Rendered, helm, template_args};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

fn render_against(server: &FakeApiServer) -> Rendered {
    let mut args = template_args(&["certificates.mode=helm"]);
    let kubeconfig = server.kubeconfig().display().to_string();
    args.extend(
        [
            "--dry-run=server",
            "--disable-openapi-validation",
            "--kubeconfig",
            kubeconfig.as_str(),
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = helm(&refs);
    assert!(
        out.success,
        "helm template --dry-run=server failed:\n{}",
        out.stderr
    );
    Rendered::parse(&out.stdout).unwrap()
}

fn secret_and_bundles(r: &Rendered) -> (Value, Vec<String>) {
    let m = r.all("Secret");
    assert_eq!(m.len(), 1);
    let _typed: Secret = m[0].typed().unwrap();
    let vwc: ValidatingWebhookConfiguration = r.one("ValidatingWebhookConfiguration");
    let bundles = vwc
        .webhooks
        .unwrap()
        .into_iter()
        .map(|w| String::from_utf8(w.client_config.ca_bundle.unwrap().0).unwrap())
        .collect();
    (m[0].value.clone(), bundles)
}

/// The Secret as an earlier `helm install` left it in the cluster.
fn installed(rendered: &Value) -> Value {
    let mut stored = rendered.clone();
    stored["metadata"]["namespace"] = Value::String(NAMESPACE.into());
    stored["metadata"]["annotations"] = serde_json::json!({
        "meta.helm.sh/release-name": chart_tests::RELEASE,
        "meta.helm.sh/release-namespace": NAMESPACE,
    });
    stored
}

fn pem(secret: &Value, key: &str) -> String {
    use std::str::from_utf8;
    let b64 = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key}"));
    let bytes: k8s_openapi::ByteString =
        serde_json::from_value(Value::String(b64.to_string())).unwrap();
    from_utf8(&bytes.0).unwrap().to_string()
}

#[test]
fn first_install_generates_and_looks_up_the_secret() {
    let server = FakeApiServer::start();
    let (secret, bundles) = secret_and_bundles(&render_against(&server));
    let secret_path = format!("/api/v1/namespaces/{NAMESPACE}/secrets/{FULLNAME}-tls");
    assert!(
        server.requests().contains(&secret_path),
        "chart did not look up {secret_path}: {:?}",
        server.requests()
    );
    assert!(pem(&secret, "ca.crt").starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(bundles.iter().all(|b| *b == pem(&secret, "ca.crt")));
}

#[test]
fn upgrade_reuses_the_existing_secret_and_its_ca() {
    let server = FakeApiServer::start();
    let (first, _) = secret_and_bundles(&render_against(&server));
    let stored = installed(&first);
    server.put_core("secrets", stored);
    let (second, bundles) = secret_and_bundles(&render_against(&server));
    for key in ["tls.crt", "tls.key", "ca.crt"] {
        assert_eq!(
            pem(&second, key),
            pem(&first, key),
            "{key} changed on upgrade"
        );
    }
    assert!(
        bundles.iter().all(|b| *b == pem(&first, "ca.crt")),
        "caBundle must stay the stored CA"
    );
}

#[test]
fn an_incomplete_secret_is_replaced() {
    let server = FakeApiServer::start();
    let (first, _) = secret_and_bundles(&render_against(&server));
    let mut stored = installed(&first);
    stored["data"].as_object_mut().unwrap().remove("ca.crt");
    server.put_core("secrets", stored);
    let (second, bundles) = secret_and_bundles(&render_against(&server));
    assert_ne!(
        pem(&second, "tls.crt"),
        pem(&first, "tls.crt"),
        "without ca.crt the caBundle cannot be rebuilt: regenerate"
    );
    assert!(bundles.iter().all(|b| *b == pem(&second, "ca.crt")));
}
