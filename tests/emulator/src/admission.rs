//! Calling admission webhooks the way kube-apiserver does: an
//! `admission.k8s.io/v1` AdmissionReview POSTed over HTTPS, mutating webhooks
//! first (their JSON patches applied in order), then validating webhooks.

use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::selectors::LabelSelector;
use crate::store::Store;

/// CREATE, UPDATE, DELETE (CONNECT is never sent: no connect subresources are served).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }

    fn options_kind(self) -> &'static str {
        match self {
            Operation::Create => "CreateOptions",
            Operation::Update => "UpdateOptions",
            Operation::Delete => "DeleteOptions",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    Fail,
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    Mutating,
    Validating,
}

/// One rule of a webhook configuration (`admissionregistration.k8s.io/v1` RuleWithOperations).
#[derive(Debug, Clone)]
pub struct WebhookRule {
    /// `CREATE`, `UPDATE`, `DELETE` or `*`.
    pub operations: Vec<String>,
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    /// `pods`, `deployments/scale`, `*`, `*/status`, `*/*`.
    pub resources: Vec<String>,
    /// `*` (default), `Namespaced` or `Cluster`.
    pub scope: String,
}

impl WebhookRule {
    pub fn new(
        operations: &[&str],
        api_groups: &[&str],
        api_versions: &[&str],
        resources: &[&str],
    ) -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        WebhookRule {
            operations: v(operations),
            api_groups: v(api_groups),
            api_versions: v(api_versions),
            resources: v(resources),
            scope: "*".into(),
        }
    }

    fn matches(&self, op: Operation, rt: &ResourceType, subresource: &str) -> bool {
        let any = |list: &[String], value: &str| list.iter().any(|x| x == "*" || x == value);
        let resource_ok = self.resources.iter().any(|r| {
            let (res, sub) = r.split_once('/').unwrap_or((r.as_str(), ""));
            let res_ok = res == "*" || res == rt.plural;
            let sub_ok =
                sub == subresource || (sub == "*" && !subresource.is_empty()) || (r == "*/*");
            res_ok && (sub_ok || (r == "*" && subresource.is_empty()))
        });
        let scope_ok = match self.scope.as_str() {
            "Namespaced" => rt.namespaced,
            "Cluster" => !rt.namespaced,
            _ => true,
        };
        any(&self.operations, op.as_str())
            && any(&self.api_groups, &rt.group)
            && any(&self.api_versions, &rt.version)
            && resource_ok
            && scope_ok
    }
}

/// A webhook the emulated API server calls.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub name: String,
    pub kind: WebhookKind,
    /// `https://127.0.0.1:port/validate`
    pub url: String,
    /// PEM bundle trusted for the webhook's serving certificate (`caBundle`).
    pub ca_pem: String,
    pub rules: Vec<WebhookRule>,
    /// Matched against the labels of the object's namespace (namespaces: their own labels).
    pub namespace_selector: Value,
    /// Matched against the labels of the object (new object, or old one for DELETE).
    pub object_selector: Value,
    pub failure_policy: FailurePolicy,
    pub timeout: Duration,
}

impl WebhookConfig {
    /// A webhook with failurePolicy Fail, 10 s timeout, no selectors.
    pub fn new(
        kind: WebhookKind,
        name: &str,
        url: &str,
        ca_pem: &str,
        rules: Vec<WebhookRule>,
    ) -> Self {
        WebhookConfig {
            name: name.into(),
            kind,
            url: url.into(),
            ca_pem: ca_pem.into(),
            rules,
            namespace_selector: Value::Null,
            object_selector: Value::Null,
            failure_policy: FailurePolicy::Fail,
            timeout: Duration::from_secs(10),
        }
    }

    pub fn validating(name: &str, url: &str, ca_pem: &str, rules: Vec<WebhookRule>) -> Self {
        Self::new(WebhookKind::Validating, name, url, ca_pem, rules)
    }

    pub fn mutating(name: &str, url: &str, ca_pem: &str, rules: Vec<WebhookRule>) -> Self {
        Self::new(WebhookKind::Mutating, name, url, ca_pem, rules)
    }

    pub fn failure_policy(mut self, p: FailurePolicy) -> Self {
        self.failure_policy = p;
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// A structured `metav1.LabelSelector` as JSON (`{"matchLabels": {...}}`).
    pub fn namespace_selector(mut self, selector: Value) -> Self {
        self.namespace_selector = selector;
        self
    }

    pub fn object_selector(mut self, selector: Value) -> Self {
        self.object_selector = selector;
        self
    }

    /// The webhooks of a `ValidatingWebhookConfiguration` or
    /// `MutatingWebhookConfiguration` object (for example one rendered from
    /// a Helm chart). `clientConfig.service` cannot be reached from here, so
    /// every webhook is sent to `url` and trusts `ca_pem`.
    /// `matchConditions` (CEL) are not evaluated: such a configuration is refused.
    pub fn from_configuration(
        config: &Value,
        url: &str,
        ca_pem: &str,
    ) -> Result<Vec<Self>, String> {
        let kind = match config.get("kind").and_then(Value::as_str) {
            Some("ValidatingWebhookConfiguration") => WebhookKind::Validating,
            Some("MutatingWebhookConfiguration") => WebhookKind::Mutating,
            other => return Err(format!("not a webhook configuration: kind {other:?}")),
        };
        let strs = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut out = vec![];
        for w in config
            .get("webhooks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            if w.get("matchConditions")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                return Err(format!(
                    "webhook {:?} has matchConditions: CEL is not evaluated by the emulator; remove them for the test",
                    w.get("name")
                ));
            }
            let rules = w
                .get("rules")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|r| WebhookRule {
                    operations: strs(r.get("operations")),
                    api_groups: strs(r.get("apiGroups")),
                    api_versions: strs(r.get("apiVersions")),
                    resources: strs(r.get("resources")),
                    scope: r
                        .get("scope")
                        .and_then(Value::as_str)
                        .unwrap_or("*")
                        .to_string(),
                })
                .collect();
            let mut hook = WebhookConfig::new(
                kind,
                w.get("name").and_then(Value::as_str).unwrap_or(""),
                url,
                ca_pem,
                rules,
            );
            hook.namespace_selector = w.get("namespaceSelector").cloned().unwrap_or(Value::Null);
            hook.object_selector = w.get("objectSelector").cloned().unwrap_or(Value::Null);
            if w.get("failurePolicy").and_then(Value::as_str) == Some("Ignore") {
                hook.failure_policy = FailurePolicy::Ignore;
            }
            if let Some(t) = w.get("timeoutSeconds").and_then(Value::as_u64) {
                hook.timeout = Duration::from_secs(t);
            }
            out.push(hook);
        }
        Ok(out)
    }
}

/// Who is making the request, as put in `request.userInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInfo {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    pub fn new(username: &str, groups: &[&str]) -> Self {
        UserInfo {
            username: username.into(),
            uid: String::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    /// The kubeadm admin identity kubectl users usually have.
    pub fn admin() -> Self {
        UserInfo::new(
            "kubernetes-admin",
            &["kubeadm:cluster-admins", "system:authenticated"],
        )
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"username": self.username, "groups": self.groups});
        if !self.uid.is_empty() {
            v["uid"] = json!(self.uid);
        }
        v
    }
}

/// What an admission call is about.
pub struct Attributes<'a> {
    pub rt: &'a ResourceType,
    /// `""`, `status`, `scale`
    pub subresource: &'a str,
    pub operation: Operation,
    /// Empty for a create by generateName.
    pub name: &'a str,
    pub namespace: &'a str,
    pub old_object: Option<&'a Value>,
    pub dry_run: bool,
    pub field_manager: Option<&'a str>,
    pub user: &'a UserInfo,
    /// For subresources whose objects are of another kind (`scale` → autoscaling/v1 Scale).
    pub kind_override: Option<(&'a str, &'a str, &'a str)>,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

struct Webhook {
    config: WebhookConfig,
    client: HttpsClient,
}

/// All configured webhooks, with an HTTPS client each.
pub struct AdmissionChain {
    hooks: Vec<Webhook>,
}

impl AdmissionChain {
    pub fn new(configs: Vec<WebhookConfig>) -> anyhow::Result<Self> {
        let mut hooks = vec![];
        for config in configs {
            let tls = crate::tls::client_config(&config.ca_pem)?;
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_only()
                .enable_http1()
                .enable_http2()
                .build();
            let client = Client::builder(TokioExecutor::new()).build(connector);
            hooks.push(Webhook { config, client });
        }
        Ok(AdmissionChain { hooks })
    }

    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Run mutating then validating webhooks on `object` (mutated in place).
    /// Returns the warnings collected, and the first denial or failure.
    pub async fn admit(
        &self,
        store: &Store,
        attrs: &Attributes<'_>,
        object: &mut Option<Value>,
    ) -> (Vec<String>, Result<(), ApiError>) {
        let mut warnings = vec![];
        for kind in [WebhookKind::Mutating, WebhookKind::Validating] {
            for hook in self.hooks.iter().filter(|h| h.config.kind == kind) {
                if !self.applies(store, &hook.config, attrs, object.as_ref()) {
                    continue;
                }
                match call(hook, attrs, object.as_ref()).await {
                    Ok(response) => {
                        warnings.extend(
                            response
                                .get("warnings")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(String::from),
                        );
                        if !response
                            .get("allowed")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                        {
                            return (
                                warnings,
                                Err(denial(&hook.config.name, response.get("status"))),
                            );
                        }
                        if let Some(patch) = response.get("patch").and_then(Value::as_str) {
                            if kind == WebhookKind::Validating {
                                return (
                                    warnings,
                                    Err(call_failure(
                                        &hook.config,
                                        "validating webhook may not return a patch",
                                    )),
                                );
                            }
                            if let Err(e) = apply_patch(object, patch, response.get("patchType")) {
                                return (warnings, Err(call_failure(&hook.config, &e)));
                            }
                        }
                    }
                    Err(e) if hook.config.failure_policy == FailurePolicy::Ignore => {
                        tracing::warn!(webhook = %hook.config.name, error = %e, "webhook call failed, ignored by failurePolicy");
                    }
                    Err(e) => return (warnings, Err(call_failure(&hook.config, &e))),
                }
            }
        }
        (warnings, Ok(()))
    }

    fn applies(
        &self,
        store: &Store,
        config: &WebhookConfig,
        attrs: &Attributes<'_>,
        object: Option<&Value>,
    ) -> bool {
        if !config
            .rules
            .iter()
            .any(|r| r.matches(attrs.operation, attrs.rt, attrs.subresource))
        {
            return false;
        }
        let subject = object.or(attrs.old_object).cloned().unwrap_or(Value::Null);
        let object_ok = LabelSelector::from_structured(&config.object_selector)
            .map(|s| s.matches_object(&subject))
            .unwrap_or(false);
        if !object_ok {
            return false;
        }
        let ns_selector = match LabelSelector::from_structured(&config.namespace_selector) {
            Ok(s) => s,
            Err(_) => return false,
        };
        if ns_selector.is_everything() {
            return true;
        }
        if attrs.rt.group.is_empty() && attrs.rt.plural == "namespaces" {
            return ns_selector.matches_object(&subject);
        }
        if !attrs.rt.namespaced {
            return true;
        }
        match store.get("", "v1", "namespaces", None, attrs.namespace) {
            Ok(ns) => ns_selector.matches_object(&ns),
            Err(_) => false,
        }
    }
}

/// `admission webhook "x" denied the request: ...`, with the webhook's code (at least 400).
fn denial(name: &str, status: Option<&Value>) -> ApiError {
    let status = status.cloned().unwrap_or(json!({}));
    let code = status.get("code").and_then(Value::as_u64).unwrap_or(0);
    let message = status.get("message").and_then(Value::as_str).unwrap_or("");
    let reason = status.get("reason").and_then(Value::as_str).unwrap_or("");
    let denied_by = format!("admission webhook \"{name}\" denied the request");
    let message = if !message.is_empty() {
        format!("{denied_by}: {message}")
    } else if !reason.is_empty() {
        format!("{denied_by}: {reason}")
    } else {
        format!("{denied_by} without explanation")
    };
    let mut e = ApiError::new(if code < 400 { 400 } else { code as u16 }, reason, message);
    e.details = status.get("details").cloned().unwrap_or(Value::Null);
    e
}

fn call_failure(config: &WebhookConfig, detail: &str) -> ApiError {
    ApiError::internal(format!(
        "failed calling webhook \"{}\": {detail}",
        config.name
    ))
}

fn apply_patch(
    object: &mut Option<Value>,
    patch_b64: &str,
    patch_type: Option<&Value>,
) -> Result<(), String> {
    if patch_type
        .and_then(Value::as_str)
        .is_some_and(|t| t != "JSONPatch")
    {
        return Err(format!("unsupported patch type {patch_type:?}"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(patch_b64)
        .map_err(|e| format!("invalid patch: {e}"))?;
    let patch: json_patch::Patch =
        serde_json::from_slice(&bytes).map_err(|e| format!("invalid JSON patch: {e}"))?;
    let Some(obj) = object.as_mut() else {
        return Err("cannot patch a request without object".into());
    };
    json_patch::patch(obj, &patch).map_err(|e| format!("JSON patch failed: {e}"))
}

fn review(attrs: &Attributes<'_>, object: Option<&Value>, uid: &str) -> Value {
    let rt = attrs.rt;
    let (kg, kv, kk) = attrs
        .kind_override
        .unwrap_or((&rt.group, &rt.version, &rt.kind));
    let kind = json!({"group": kg, "version": kv, "kind": kk});
    let resource = json!({"group": rt.group, "version": rt.version, "resource": rt.plural});
    let mut options =
        json!({"kind": attrs.operation.options_kind(), "apiVersion": "meta.k8s.io/v1"});
    if let Some(fm) = attrs.field_manager {
        options["fieldManager"] = json!(fm);
    }
    if attrs.dry_run {
        options["dryRun"] = json!(["All"]);
    }
    if attrs.operation == Operation::Delete {
        options["propagationPolicy"] = json!("Background");
    }
    let mut request = json!({
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": attrs.name,
        "namespace": attrs.namespace,
        "operation": attrs.operation.as_str(),
        "userInfo": attrs.user.to_json(),
        "object": object.cloned().unwrap_or(Value::Null),
        "oldObject": attrs.old_object.cloned().unwrap_or(Value::Null),
        "dryRun": attrs.dry_run,
        "options": options,
    });
    if !attrs.subresource.is_empty() {
        request["subResource"] = json!(attrs.subresource);
        request["requestSubResource"] = json!(attrs.subresource);
    }
    if !rt.namespaced {
        request.as_object_mut().expect("object").remove("namespace");
    }
    json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request})
}

/// POST the review; the `response` of a well-formed answer, or why the call failed.
async fn call(
    hook: &Webhook,
    attrs: &Attributes<'_>,
    object: Option<&Value>,
) -> Result<Value, String> {
    let uid = crate::meta::new_uid();
    let body = serde_json::to_vec(&review(attrs, object, &uid)).map_err(|e| e.to_string())?;
    let secs = hook.config.timeout.as_secs().max(1);
    // kube-apiserver tells the webhook its deadline in the URL.
    let sep = if hook.config.url.contains('?') {
        '&'
    } else {
        '?'
    };
    let url = format!("{}{sep}timeout={secs}s", hook.config.url);
    let request = hyper::Request::post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, */*")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("failed to call webhook: {e}"))?;
    let exchange = async {
        let response =
            hook.client.request(request).await.map_err(|e| {
                format!("failed to call webhook: Post {url:?}: {}", error_chain(&e))
            })?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("failed to call webhook: {e}"))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!(
                "failed to call webhook: the server responded with the status code {} but did not return more information",
                status.as_u16()
            ));
        }
        let review: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("received invalid webhook response: {e}"))?;
        let response = review
            .get("response")
            .cloned()
            .ok_or("received invalid webhook response: response is missing")?;
        let got = response.get("uid").and_then(Value::as_str).unwrap_or("");
        if got != uid {
            return Err(format!(
                "received invalid webhook response: expected response.uid=\"{uid}\", got \"{got}\""
            ));
        }
        Ok(response)
    };
    match tokio::time::timeout(hook.config.timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "failed to call webhook: Post {url:?}: context deadline exceeded"
        )),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    #[test]
    fn rule_matching() {
        let reg = Registry::new(Registry::builtin());
        let pods = reg.find("", "v1", "pods").unwrap();
        let deploy = reg.find("apps", "v1", "deployments").unwrap();
        let r = WebhookRule::new(
            &["CREATE", "UPDATE"],
            &["", "apps"],
            &["v1"],
            &["pods", "deployments"],
        );
        assert!(r.matches(Operation::Create, &pods, ""));
        assert!(!r.matches(Operation::Delete, &pods, ""));
        assert!(!r.matches(Operation::Update, &deploy, "scale"));
        let all = WebhookRule::new(&["*"], &["*"], &["*"], &["*"]);
        assert!(all.matches(Operation::Delete, &deploy, ""));
        assert!(!all.matches(Operation::Update, &deploy, "status"));
        let scale = WebhookRule::new(&["*"], &["*"], &["*"], &["*/scale"]);
        assert!(scale.matches(Operation::Update, &deploy, "scale"));
    }

    #[test]
    fn denial_messages() {
        let e = denial(
            "hooks.velero.io",
            Some(&json!({"code": 403, "message": "bad hook"})),
        );
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "admission webhook \"hooks.velero.io\" denied the request: bad hook"
        );
        let e = denial("w", None);
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                400,
                "admission webhook \"w\" denied the request without explanation"
            )
        );
    }
}
