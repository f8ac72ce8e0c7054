//! Certificate modes and optional features.

use chart_tests::{FULLNAME, NAMESPACE, Rendered, render, try_render};
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

fn ci_values(file: &str) -> Rendered {
    let path = chart_tests::chart_dir().join("ci").join(file);
    let mut args = chart_tests::template_args(&[]);
    args.push("--values".into());
    args.push(path.display().to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = chart_tests::helm(&refs);
    assert!(
        out.success,
        "helm template with ci/{file} failed:\n{}",
        out.stderr
    );
    let r = Rendered::parse(&out.stdout).unwrap();
    r.check_schemas().unwrap();
    r
}

fn ca_bundles(r: &Rendered) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let vwc: ValidatingWebhookConfiguration = r.one("ValidatingWebhookConfiguration");
    for w in vwc.webhooks.unwrap() {
        out.push(
            w.client_config
                .ca_bundle
                .map(|b| String::from_utf8(b.0).unwrap()),
        );
    }
    if r.has("MutatingWebhookConfiguration") {
        let mwc: MutatingWebhookConfiguration = r.one("MutatingWebhookConfiguration");
        for w in mwc.webhooks.unwrap() {
            out.push(
                w.client_config
                    .ca_bundle
                    .map(|b| String::from_utf8(b.0).unwrap()),
            );
        }
    }
    out
}

fn tls_secret_of_deployment(r: &Rendered) -> String {
    let d: Deployment = r.one("Deployment");
    let vols = d.spec.template.spec.unwrap().volumes.unwrap();
    vols.into_iter()
        .find(|v| v.name == "tls")
        .unwrap()
        .secret
        .unwrap()
        .secret_name
        .unwrap()
}

#[test]
fn cert_manager_mode_bootstraps_a_ca_and_serving_certificate() {
    let r = render(&[]);
    let certs = r.all("Certificate");
    let issuers = r.all("Issuer");
    assert_eq!(certs.len(), 2);
    assert_eq!(issuers.len(), 2);
    let ca: chart_tests::crd::Certificate = r
        .all("Certificate")
        .iter()
        .find(|m| m.name().ends_with("-ca"))
        .unwrap()
        .typed()
        .unwrap();
    assert_eq!(ca.spec.is_ca, Some(true));
    assert_eq!(ca.spec.issuer_ref.name, format!("{FULLNAME}-selfsigned"));
    let ca_issuer: chart_tests::crd::Issuer = issuers
        .iter()
        .find(|m| m.name() == format!("{FULLNAME}-ca"))
        .unwrap()
        .typed()
        .unwrap();
    assert_eq!(ca_issuer.spec.ca.unwrap().secret_name, ca.spec.secret_name);
    let serving: chart_tests::crd::Certificate = certs
        .iter()
        .find(|m| m.name().ends_with("-serving"))
        .unwrap()
        .typed()
        .unwrap();
    assert_eq!(serving.spec.issuer_ref.name, format!("{FULLNAME}-ca"));
    assert_eq!(serving.spec.secret_name, tls_secret_of_deployment(&r));
    let dns = serving.spec.dns_names.unwrap();
    assert!(
        dns.contains(&format!("{FULLNAME}.{NAMESPACE}.svc")),
        "{dns:?}"
    );
    assert!(ca_bundles(&r).iter().all(Option::is_none));
    assert!(!r.has("Secret"));
}

#[test]
fn cert_manager_mode_with_an_issuer_ref_creates_no_ca() {
    let r = ci_values("cert-manager-issuer-values.yaml");
    assert!(r.all("Issuer").is_empty());
    let certs = r.all("Certificate");
    assert_eq!(certs.len(), 1);
    let serving: chart_tests::crd::Certificate = certs[0].typed().unwrap();
    assert_eq!(serving.spec.issuer_ref.name, "cluster-ca");
    assert_eq!(
        serving.spec.issuer_ref.kind.as_deref(),
        Some("ClusterIssuer")
    );
    let vwc: ValidatingWebhookConfiguration = r.one("ValidatingWebhookConfiguration");
    assert_eq!(
        vwc.metadata.annotations.unwrap()["cert-manager.io/inject-ca-from"],
        format!("{NAMESPACE}/{}", certs[0].name())
    );
}

#[test]
fn existing_secret_mode_uses_the_given_secret_and_ca_bundle() {
    let r = ci_values("existing-secret-values.yaml");
    assert!(!r.has("Certificate") && !r.has("Issuer") && !r.has("Secret"));
    assert_eq!(tls_secret_of_deployment(&r), "my-webhook-tls");
    let bundles = ca_bundles(&r);
    assert!(
        bundles.iter().all(|b| b
            .as_deref()
            .is_some_and(|b| b.starts_with("-----BEGIN CERTIFICATE-----"))),
        "{bundles:?}"
    );
    let vwc: ValidatingWebhookConfiguration = r.one("ValidatingWebhookConfiguration");
    assert!(
        vwc.metadata.annotations.is_none(),
        "no cert-manager injection outside certManager mode"
    );
}

#[test]
fn existing_secret_mode_requires_name_and_ca_bundle() {
    let err = try_render(&[
        "certificates.mode=existingSecret",
        "certificates.existingSecret.caBundle=Zm9v",
    ])
    .unwrap_err();
    assert!(
        err.contains("certificates.existingSecret.name is required"),
        "{err}"
    );
    let err = try_render(&[
        "certificates.mode=existingSecret",
        "certificates.existingSecret.name=x",
    ])
    .unwrap_err();
    assert!(
        err.contains("certificates.existingSecret.caBundle"),
        "{err}"
    );
}

#[test]
fn helm_mode_generates_a_ca_signed_certificate_and_bundles_that_ca() {
    let r = ci_values("helm-certs-values.yaml");
    assert!(!r.has("Certificate") && !r.has("Issuer"));
    let secret: Secret = r.one("Secret");
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(
        secret.metadata.name.as_deref(),
        Some(tls_secret_of_deployment(&r).as_str())
    );
    let data = secret.data.unwrap();
    let pem = |k: &str| String::from_utf8(data[k].0.clone()).unwrap();
    assert!(pem("tls.crt").starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(pem("tls.key").contains("PRIVATE KEY-----"));
    assert!(pem("ca.crt").starts_with("-----BEGIN CERTIFICATE-----"));
    assert_ne!(pem("ca.crt"), pem("tls.crt"));
    let bundles = ca_bundles(&r);
    // Pods and workloads, and Velero's objects: an enforce and a warn entry each.
    assert_eq!(bundles.len(), 4);
    assert!(
        bundles
            .iter()
            .all(|b| b.as_deref() == Some(pem("ca.crt").as_str())),
        "caBundle must be the Secret's CA"
    );
    // helm template has no cluster: every run generates afresh.
    let again: Secret = ci_values("helm-certs-values.yaml").one("Secret");
    assert_ne!(again.data.unwrap()["ca.crt"].0, data["ca.crt"].0);
}

#[test]
fn mutating_webhook_is_opt_in() {
    assert!(!render(&[]).has("MutatingWebhookConfiguration"));
    let r = render(&["mutating.enabled=true"]);
    let mwc: MutatingWebhookConfiguration = r.one("MutatingWebhookConfiguration");
    let hooks = mwc.webhooks.unwrap();
    assert_eq!(hooks.len(), 1);
    let w = &hooks[0];
    assert_eq!(w.name, "mutate.velero-hooks.io");
    assert_eq!(w.reinvocation_policy.as_deref(), Some("IfNeeded"));
    assert_eq!(
        w.client_config.service.as_ref().unwrap().path.as_deref(),
        Some("/mutate")
    );
    assert_eq!(w.side_effects, "None");
    assert_eq!(w.admission_review_versions, ["v1"]);
    assert_eq!(w.failure_policy.as_deref(), Some("Ignore"));
    assert!(w.match_conditions.as_ref().is_some_and(|c| !c.is_empty()));
    let sel = w
        .namespace_selector
        .clone()
        .unwrap()
        .match_expressions
        .unwrap();
    assert_eq!(
        sel[0].values.as_deref().unwrap(),
        [NAMESPACE, "kube-system"]
    );
    assert_eq!(sel[1].operator, "NotIn");
    assert_eq!(sel[1].values.as_deref().unwrap(), ["off"]);
    assert_eq!(
        mwc.metadata.annotations.unwrap()["cert-manager.io/inject-ca-from"],
        format!("{NAMESPACE}/{FULLNAME}-serving")
    );
    let never: MutatingWebhookConfiguration =
        render(&["mutating.enabled=true", "mutating.reinvocationPolicy=Never"])
            .one("MutatingWebhookConfiguration");
    assert_eq!(
        never.webhooks.unwrap()[0].reinvocation_policy.as_deref(),
        Some("Never")
    );
}

#[test]
fn network_policy_opens_the_webhook_port_to_all_and_metrics_to_the_selector() {
    assert!(!render(&[]).has("NetworkPolicy"));
    let r = render(&["networkPolicy.enabled=true"]);
    let np: NetworkPolicy = r.one("NetworkPolicy");
    let spec = np.spec.unwrap();
    assert_eq!(spec.policy_types.unwrap(), ["Ingress", "Egress"]);
    assert_eq!(spec.egress.unwrap().len(), 0, "the server needs no egress");
    let ingress = spec.ingress.unwrap();
    assert_eq!(ingress.len(), 2);
    assert_eq!(
        ingress[0].ports.as_ref().unwrap()[0].port,
        Some(IntOrString::Int(8443))
    );
    assert!(
        ingress[0].from.is_none(),
        "8443 must be open to every source"
    );
    assert_eq!(
        ingress[1].ports.as_ref().unwrap()[0].port,
        Some(IntOrString::Int(9090))
    );
    let from = ingress[1].from.as_ref().unwrap();
    assert_eq!(
        from[0]
            .namespace_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap()["kubernetes.io/metadata.name"],
        "monitoring"
    );
    let d: Deployment = r.one("Deployment");
    assert_eq!(
        spec.pod_selector.unwrap().match_labels,
        d.spec.selector.match_labels
    );
    // No metrics peers: no rule for 9090 at all (an empty `from` would allow everyone).
    let closed: NetworkPolicy = render(&[
        "networkPolicy.enabled=true",
        "networkPolicy.metricsFrom=null",
    ])
    .one("NetworkPolicy");
    assert_eq!(closed.spec.unwrap().ingress.unwrap().len(), 1);
}

#[test]
fn service_monitor_is_opt_in() {
    assert!(!render(&[]).has("ServiceMonitor"));
    let r = render(&[
        "metrics.serviceMonitor.enabled=true",
        "metrics.serviceMonitor.labels.release=prom",
    ]);
    let sm: chart_tests::crd::ServiceMonitor = r.one("ServiceMonitor");
    assert_eq!(sm.metadata.labels.unwrap()["release"], "prom");
    assert_eq!(sm.spec.endpoints[0].port, "metrics");
    assert_eq!(sm.spec.endpoints[0].path.as_deref(), Some("/metrics"));
    assert_eq!(sm.spec.namespace_selector.unwrap().match_names, [NAMESPACE]);
}

#[test]
fn pdb_only_with_more_than_one_replica_and_when_enabled() {
    assert!(!ci_values("single-replica-values.yaml").has("PodDisruptionBudget"));
    assert!(!render(&["podDisruptionBudget.enabled=false"]).has("PodDisruptionBudget"));
    assert!(render(&["replicaCount=3"]).has("PodDisruptionBudget"));
}

#[test]
fn warn_as_default_mode_routes_unlabelled_namespaces_to_warn() {
    let vwc: ValidatingWebhookConfiguration = render(&[
        "webhook.defaultMode=warn",
        "webhook.modeLabel=example.com/mode",
    ])
    .one("ValidatingWebhookConfiguration");
    let hooks = vwc.webhooks.unwrap();
    let sel = |i: usize| {
        let e = hooks[i]
            .namespace_selector
            .clone()
            .unwrap()
            .match_expressions
            .unwrap();
        (
            e[1].key.clone(),
            e[1].operator.clone(),
            e[1].values.clone().unwrap(),
        )
    };
    assert_eq!(hooks[0].name, "validate.velero-hooks.io");
    assert_eq!(
        sel(0),
        (
            "example.com/mode".into(),
            "In".into(),
            vec!["enforce".into()]
        )
    );
    assert_eq!(
        sel(1),
        (
            "example.com/mode".into(),
            "NotIn".into(),
            vec!["enforce".into(), "off".into()]
        )
    );
    let off: ValidatingWebhookConfiguration =
        render(&["webhook.defaultMode=off"]).one("ValidatingWebhookConfiguration");
    let hooks = off.webhooks.unwrap();
    for (w, mode) in hooks.iter().zip(["enforce", "warn"]) {
        let e = w
            .namespace_selector
            .clone()
            .unwrap()
            .match_expressions
            .unwrap();
        assert_eq!(
            (e[1].operator.as_str(), e[1].values.clone().unwrap()),
            ("In", vec![mode.to_string()])
        );
    }
}

#[test]
fn extra_excluded_namespaces_and_selector_terms_are_added() {
    let vwc: ValidatingWebhookConfiguration = render(&[
        "webhook.excludeNamespaces={velero,kube-system}",
        "webhook.namespaceSelectorExpressions[0].key=team",
        "webhook.namespaceSelectorExpressions[0].operator=Exists",
    ])
    .one("ValidatingWebhookConfiguration");
    for w in vwc.webhooks.unwrap() {
        let e = w.namespace_selector.unwrap().match_expressions.unwrap();
        // The release namespace is left out for pods only (see defaults.rs).
        let excluded: &[&str] = if w.name.contains("velero-objects") {
            &["kube-system", "velero"]
        } else {
            &[NAMESPACE, "kube-system", "velero"]
        };
        assert_eq!(e[0].values.as_deref().unwrap(), excluded, "{}", w.name);
        assert_eq!(e.len(), 3);
        assert_eq!(
            (e[2].key.as_str(), e[2].operator.as_str()),
            ("team", "Exists")
        );
    }
}

#[test]
fn all_features_render_and_apply() {
    let r = ci_values("all-features-values.yaml");
    for kind in [
        "MutatingWebhookConfiguration",
        "NetworkPolicy",
        "ServiceMonitor",
        "PodDisruptionBudget",
    ] {
        assert!(r.has(kind), "{kind} missing");
    }
    let d: Deployment = r.one("Deployment");
    assert_eq!(d.spec.replicas, Some(3));
    let pod = d.spec.template.spec.unwrap();
    assert_eq!(
        pod.priority_class_name.as_deref(),
        Some("system-cluster-critical")
    );
    assert_eq!(pod.image_pull_secrets.unwrap()[0].name, "registry");
    assert_eq!(
        pod.tolerations.unwrap()[0].key.as_deref(),
        Some("dedicated")
    );
    let c = &pod.containers[0];
    assert_eq!(
        c.image.as_deref(),
        Some(
            "ghcr.io/velero-hooks/velero-hooks-webhook@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        )
    );
    assert!(
        c.args
            .as_ref()
            .unwrap()
            .contains(&"--velero-version=1.19".to_string())
    );
    let vwc: ValidatingWebhookConfiguration = r.one("ValidatingWebhookConfiguration");
    for w in vwc.webhooks.unwrap() {
        assert_eq!(w.failure_policy.as_deref(), Some("Fail"));
        assert_eq!(w.timeout_seconds, Some(3));
        let names: Vec<_> = w
            .match_conditions
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        let expected = if w.name.contains("velero-objects") {
            "has-spec-hooks"
        } else {
            "has-velero-annotations"
        };
        assert_eq!(
            names,
            [expected],
            "skipControllerOwned=false drops the ownership conditions"
        );
    }
}
