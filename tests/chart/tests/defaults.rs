//! The chart rendered with its default values.

use chart_tests::{FULLNAME, NAMESPACE, render};
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingWebhook, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

fn webhook_container(d: &Deployment) -> Container {
    let spec = &d.spec.template.spec.as_ref().unwrap();
    assert_eq!(spec.containers.len(), 1);
    spec.containers[0].clone()
}

#[test]
fn every_manifest_matches_its_api_type() {
    render(&[]).check_schemas().unwrap();
}

#[test]
fn default_inventory() {
    let r = render(&[]);
    let kinds: Vec<_> = r
        .manifests
        .iter()
        .filter(|m| !m.is_test_hook())
        .map(|m| m.kind())
        .collect();
    let mut kinds_sorted = kinds.clone();
    kinds_sorted.sort();
    assert_eq!(
        kinds_sorted,
        [
            "Certificate",
            "Certificate",
            "ConfigMap",
            "Deployment",
            "Issuer",
            "Issuer",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
            "ValidatingWebhookConfiguration"
        ],
        "MutatingWebhookConfiguration, NetworkPolicy, ServiceMonitor and a Secret are off by default"
    );
    for m in r
        .manifests
        .iter()
        .filter(|m| !m.is_test_hook() && m.value["metadata"].get("namespace").is_some())
    {
        assert_eq!(
            m.value["metadata"]["namespace"],
            NAMESPACE,
            "{}/{}",
            m.kind(),
            m.name()
        );
    }
}

#[test]
fn deployment_is_highly_available_and_spread() {
    let d: Deployment = render(&[]).one("Deployment");
    let spec = &d.spec;
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.as_ref().unwrap();
    let tsc = pod
        .topology_spread_constraints
        .as_ref()
        .expect("topologySpreadConstraints");
    let keys: Vec<_> = tsc.iter().map(|c| c.topology_key.as_str()).collect();
    assert_eq!(
        keys,
        ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    );
    let selector = spec.selector.match_labels.as_ref().unwrap();
    for c in tsc {
        assert_eq!(c.max_skew, 1);
        assert_eq!(
            c.label_selector.as_ref().unwrap().match_labels.as_ref(),
            Some(selector)
        );
    }
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    for (k, v) in selector {
        assert_eq!(
            template_labels.get(k),
            Some(v),
            "pod template lacks selector label {k}"
        );
    }
    assert_eq!(
        pod.priority_class_name, None,
        "no priority class by default (failurePolicy Ignore)"
    );
}

#[test]
fn pdb_keeps_one_pod() {
    let r = render(&[]);
    let pdb: PodDisruptionBudget = r.one("PodDisruptionBudget");
    let d: Deployment = r.one("Deployment");
    let spec = pdb.spec.unwrap();
    assert_eq!(spec.min_available, Some(IntOrString::Int(1)));
    assert_eq!(
        spec.selector.unwrap().match_labels,
        d.spec.selector.match_labels
    );
}

#[test]
fn pod_is_locked_down() {
    let d: Deployment = render(&[]).one("Deployment");
    let pod = &d.spec.template.spec.clone().unwrap();
    assert_eq!(pod.automount_service_account_token, Some(false));
    let psc = pod.security_context.as_ref().unwrap();
    assert_eq!(psc.run_as_non_root, Some(true));
    assert_eq!(psc.run_as_user, Some(65532));
    assert_eq!(
        psc.seccomp_profile.as_ref().unwrap().type_,
        "RuntimeDefault"
    );
    let c = webhook_container(&d);
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(sc.run_as_user, Some(65532));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.privileged, None);
    assert_eq!(
        sc.capabilities.as_ref().unwrap().drop.as_deref(),
        Some(&["ALL".to_string()][..])
    );
    assert_eq!(sc.capabilities.as_ref().unwrap().add, None);
    assert_eq!(sc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
    let res = c.resources.as_ref().unwrap();
    for key in ["cpu", "memory"] {
        assert!(
            res.requests.as_ref().unwrap().contains_key(key),
            "request {key}"
        );
        assert!(
            res.limits.as_ref().unwrap().contains_key(key),
            "limit {key}"
        );
    }
    assert_eq!(res.limits.as_ref().unwrap()["memory"].0, "64Mi");
}

#[test]
fn service_account_token_is_not_mounted() {
    let r = render(&[]);
    let sa: ServiceAccount = r.one("ServiceAccount");
    assert_eq!(sa.automount_service_account_token, Some(false));
    let d: Deployment = r.one("Deployment");
    assert_eq!(
        d.spec
            .template
            .spec
            .unwrap()
            .service_account_name
            .as_deref(),
        sa.metadata.name.as_deref()
    );
}

#[test]
fn container_args_ports_probes_and_mounts_follow_the_server_contract() {
    let d: Deployment = render(&[]).one("Deployment");
    let c = webhook_container(&d);
    assert_eq!(
        c.image.as_deref(),
        Some("ghcr.io/velero-hooks/velero-hooks-webhook:0.1.0")
    );
    assert_eq!(c.command, None, "the image's entrypoint is the server");
    let args = c.args.clone().unwrap();
    for expected in [
        "--listen=0.0.0.0:8443",
        "--metrics-listen=0.0.0.0:9090",
        "--tls-cert-file=/etc/velero-hooks/tls/tls.crt",
        "--tls-key-file=/etc/velero-hooks/tls/tls.key",
        "--config=/etc/velero-hooks/config/config.yaml",
        "--velero-version=1.18",
        "--log-format=json",
        "--log-level=info",
        // The memory budget and shutdown sequence (webhook/src/limits.rs, README).
        "--shutdown-delay=5s",
        "--shutdown-grace=20s",
        "--max-connections=256",
        "--max-requests-in-flight=64",
        "--max-body-bytes-in-flight=16777216",
        "--body-allowance-bytes=65536",
        "--queue-wait=1s",
        "--header-read-timeout=10s",
        "--body-timeout=10s",
        "--write-timeout=10s",
        "--http2-max-concurrent-streams=32",
        "--max-unknown-keys=64",
        "--max-findings=50",
        "--max-denial-bytes=8192",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "missing {expected} in {args:?}"
        );
    }
    // A renewed certificate must name the Service the API server calls.
    let dns_name = format!("--dns-name={FULLNAME}.{NAMESPACE}.svc");
    assert!(args.contains(&dns_name), "missing {dns_name} in {args:?}");
    // The pod outlives the shutdown delay and grace (5 s + 20 s).
    let grace = d.spec.template.spec.as_ref().unwrap();
    assert!(grace.termination_grace_period_seconds.unwrap() > 25);
    let ports: Vec<_> = c
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| (p.name.clone().unwrap(), p.container_port))
        .collect();
    assert_eq!(
        ports,
        [("https".to_string(), 8443), ("metrics".to_string(), 9090)]
    );
    let live = c
        .liveness_probe
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(live.path.as_deref(), Some("/healthz"));
    assert_eq!(live.port, IntOrString::String("metrics".into()));
    let ready = c
        .readiness_probe
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(ready.path.as_deref(), Some("/readyz"));
    assert_eq!(ready.port, IntOrString::String("https".into()));
    assert_eq!(ready.scheme.as_deref(), Some("HTTPS"));
    // Directory mounts without subPath, so rotated Secrets reach the container.
    let mounts = c.volume_mounts.clone().unwrap();
    assert!(
        mounts
            .iter()
            .all(|m| m.sub_path.is_none() && m.read_only == Some(true))
    );
    let tls = mounts
        .iter()
        .find(|m| m.mount_path == "/etc/velero-hooks/tls")
        .expect("tls mount");
    let pod = d.spec.template.spec.unwrap();
    let vol = pod
        .volumes
        .unwrap()
        .into_iter()
        .find(|v| v.name == tls.name)
        .unwrap();
    assert_eq!(
        vol.secret.unwrap().secret_name.as_deref(),
        Some(format!("{FULLNAME}-tls").as_str())
    );
}

#[test]
fn metrics_are_announced_for_scraping() {
    let r = render(&[]);
    let d: Deployment = r.one("Deployment");
    let ann = d.spec.template.metadata.unwrap().annotations.unwrap();
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(ann["prometheus.io/port"], "9090");
    assert_eq!(ann["prometheus.io/path"], "/metrics");
    let svc: Service = r.one("Service");
    let ports: Vec<_> = svc
        .spec
        .unwrap()
        .ports
        .unwrap()
        .into_iter()
        .map(|p| (p.name.unwrap(), p.port, p.target_port))
        .collect();
    assert_eq!(
        ports,
        [
            (
                "https".to_string(),
                443,
                Some(IntOrString::String("https".into()))
            ),
            (
                "metrics".to_string(),
                9090,
                Some(IntOrString::String("metrics".into()))
            )
        ]
    );
}

#[test]
fn config_map_carries_the_server_config_and_its_checksum_rolls_pods() {
    let checksum = |sets: &[&str]| -> (String, serde_json::Value) {
        let r = render(sets);
        let d: Deployment = r.one("Deployment");
        let cm: ConfigMap = r.one("ConfigMap");
        let text = cm.data.unwrap()["config.yaml"].clone();
        let config: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let ann = d.spec.template.metadata.unwrap().annotations.unwrap();
        (ann["checksum/config"].clone(), config)
    };
    let (sum, config) = checksum(&[]);
    assert_eq!(
        config,
        serde_json::json!({"normalize": {"pinContainer": false, "jsonCommand": false, "explicitDefaults": false, "migrateLegacy": false}, "veleroVersion": "1.18"})
    );
    assert_eq!(sum.len(), 64);
    let (sum2, config2) = checksum(&[
        "config.normalize.jsonCommand=true",
        "config.veleroVersion=1.19",
    ]);
    assert_eq!(config2["normalize"]["jsonCommand"], true);
    assert_eq!(config2["veleroVersion"], "1.19");
    assert_ne!(sum, sum2, "a config change must change the pod template");
    let (sum3, _) = checksum(&["logLevel=debug"]);
    assert_eq!(sum, sum3, "the checksum covers the config file only");
}

fn validating(sets: &[&str]) -> ValidatingWebhookConfiguration {
    render(sets).one("ValidatingWebhookConfiguration")
}

fn entry<'a>(vwc: &'a ValidatingWebhookConfiguration, name: &str) -> &'a ValidatingWebhook {
    vwc.webhooks
        .as_ref()
        .unwrap()
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no webhook {name}"))
}

#[test]
fn validating_webhooks_registration_fields() {
    let vwc = validating(&[]);
    let names: Vec<_> = vwc
        .webhooks
        .as_ref()
        .unwrap()
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "validate.velero-hooks.io",
            "warn.velero-hooks.io",
            "validate-velero-objects.velero-hooks.io",
            "warn-velero-objects.velero-hooks.io"
        ]
    );
    for (name, path) in [
        ("validate.velero-hooks.io", "/validate"),
        ("warn.velero-hooks.io", "/warn"),
        ("validate-velero-objects.velero-hooks.io", "/validate"),
        ("warn-velero-objects.velero-hooks.io", "/warn"),
    ] {
        let w = entry(&vwc, name);
        assert_eq!(w.admission_review_versions, ["v1"]);
        assert_eq!(w.side_effects, "None");
        assert_eq!(w.timeout_seconds, Some(5));
        assert_eq!(w.failure_policy.as_deref(), Some("Ignore"));
        let svc = w.client_config.service.as_ref().unwrap();
        assert_eq!(svc.name, FULLNAME);
        assert_eq!(svc.namespace, NAMESPACE);
        assert_eq!(svc.path.as_deref(), Some(path));
        assert_eq!(svc.port, Some(443));
        assert_eq!(w.client_config.url, None);
        // certManager mode: the CA injector fills caBundle.
        assert_eq!(w.client_config.ca_bundle, None);
        let conditions = w.match_conditions.as_ref().expect("matchConditions");
        let cnames: Vec<_> = conditions.iter().map(|c| c.name.as_str()).collect();
        if name.contains("velero-objects") {
            assert_eq!(
                cnames,
                [
                    "has-spec-hooks",
                    "not-controller-owned",
                    "not-made-from-a-schedule"
                ]
            );
            let rules = w.rules.as_ref().unwrap();
            assert_eq!(rules.len(), 1);
            assert_eq!(rules[0].api_groups.as_deref().unwrap(), ["velero.io"]);
            assert_eq!(
                rules[0].resources.as_deref().unwrap(),
                ["backups", "schedules", "restores"]
            );
        } else {
            assert_eq!(cnames, ["has-velero-annotations", "not-controller-owned"]);
        }
    }
    assert_eq!(
        vwc.metadata.annotations.unwrap()["cert-manager.io/inject-ca-from"],
        format!("{NAMESPACE}/{FULLNAME}-serving")
    );
}

#[test]
fn namespace_selector_leaves_out_release_namespace_and_kube_system_and_routes_by_label() {
    let vwc = validating(&[]);
    let expressions = |name: &str| {
        let sel = entry(&vwc, name).namespace_selector.clone().unwrap();
        assert_eq!(sel.match_labels, None);
        sel.match_expressions
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.operator, e.values.unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let excluded = (
        "kubernetes.io/metadata.name".to_string(),
        "NotIn".to_string(),
        vec![NAMESPACE.to_string(), "kube-system".to_string()],
    );
    assert_eq!(
        expressions("validate.velero-hooks.io"),
        [
            excluded.clone(),
            (
                "velero-hooks.io/mode".into(),
                "NotIn".into(),
                vec!["warn".into(), "off".into()]
            )
        ]
    );
    assert_eq!(
        expressions("warn.velero-hooks.io"),
        [
            excluded,
            (
                "velero-hooks.io/mode".into(),
                "In".into(),
                vec!["warn".into()]
            )
        ]
    );
}

#[test]
fn velero_objects_are_routed_by_label_and_kept_in_the_release_namespace() {
    // Installed into Velero's own namespace, the chart must still see its Schedules.
    let vwc = validating(&["webhook.excludeNamespaces={team-sandbox}"]);
    let expressions = |name: &str| {
        entry(&vwc, name)
            .namespace_selector
            .clone()
            .unwrap()
            .match_expressions
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.operator, e.values.unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let excluded = (
        "kubernetes.io/metadata.name".to_string(),
        "NotIn".to_string(),
        vec!["kube-system".to_string(), "team-sandbox".to_string()],
    );
    assert_eq!(
        expressions("validate-velero-objects.velero-hooks.io"),
        [
            excluded.clone(),
            (
                "velero-hooks.io/mode".into(),
                "NotIn".into(),
                vec!["warn".into(), "off".into()]
            )
        ]
    );
    assert_eq!(
        expressions("warn-velero-objects.velero-hooks.io"),
        [
            excluded,
            (
                "velero-hooks.io/mode".into(),
                "In".into(),
                vec!["warn".into()]
            )
        ]
    );
}

#[test]
fn webhook_timeout_and_failure_policy_are_configurable() {
    let vwc = validating(&["webhook.timeoutSeconds=2", "webhook.failurePolicy=Fail"]);
    for w in vwc.webhooks.unwrap() {
        assert_eq!(w.timeout_seconds, Some(2));
        assert_eq!(w.failure_policy.as_deref(), Some("Fail"));
    }
}
