//! What the rendered webhook configurations register: one row per
//! (path, group, version, resource), the form `ci/registered-rules.json`
//! keeps for the webhook server's own tests.

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, RuleWithOperations, ValidatingWebhookConfiguration,
};
use serde::{Deserialize, Serialize};

use crate::Rendered;

/// One registered (path, group, version, resource) with its operations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredRule {
    /// URL path the API server posts the AdmissionReview to.
    pub path: String,
    /// API group; "" is the core group.
    pub group: String,
    pub version: String,
    /// Plural resource name, as in the AdmissionRequest's `resource.resource`.
    pub resource: String,
    /// Sorted, e.g. ["CREATE", "UPDATE"].
    pub operations: Vec<String>,
}

/// Path of the committed list.
pub fn fixture_path() -> std::path::PathBuf {
    crate::chart_dir().join("ci/registered-rules.json")
}

/// Reads the committed list.
pub fn load_fixture() -> Vec<RegisteredRule> {
    let text = std::fs::read_to_string(fixture_path())
        .unwrap_or_else(|e| panic!("reading {}: {e}", fixture_path().display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("parsing {}: {e}", fixture_path().display()))
}

fn expand(path: &str, rules: &[RuleWithOperations], out: &mut Vec<RegisteredRule>) {
    for rule in rules {
        let mut operations = rule.operations.clone().unwrap_or_default();
        operations.sort();
        for group in rule.api_groups.iter().flatten() {
            for version in rule.api_versions.iter().flatten() {
                for resource in rule.resources.iter().flatten() {
                    out.push(RegisteredRule {
                        path: path.to_string(),
                        group: group.clone(),
                        version: version.clone(),
                        resource: resource.clone(),
                        operations: operations.clone(),
                    });
                }
            }
        }
    }
}

/// Every (path, group, version, resource) the rendered chart registers,
/// across its validating and mutating configurations, sorted.
pub fn registered_rules(rendered: &Rendered) -> Vec<RegisteredRule> {
    let mut out = Vec::new();
    for m in rendered.all("ValidatingWebhookConfiguration") {
        let vwc: ValidatingWebhookConfiguration = m.typed().expect("valid webhook configuration");
        for w in vwc.webhooks.iter().flatten() {
            let path = w
                .client_config
                .service
                .as_ref()
                .and_then(|s| s.path.clone());
            expand(
                &path.unwrap_or_default(),
                w.rules.as_deref().unwrap_or_default(),
                &mut out,
            );
        }
    }
    for m in rendered.all("MutatingWebhookConfiguration") {
        let mwc: MutatingWebhookConfiguration = m.typed().expect("valid webhook configuration");
        for w in mwc.webhooks.iter().flatten() {
            let path = w
                .client_config
                .service
                .as_ref()
                .and_then(|s| s.path.clone());
            expand(
                &path.unwrap_or_default(),
                w.rules.as_deref().unwrap_or_default(),
                &mut out,
            );
        }
    }
    out.sort();
    out
}
