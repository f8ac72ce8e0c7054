//! Renders `charts/velero-hooks` with the real `helm` binary and gives the
//! tests typed access to the manifests.
//!
//! Every manifest is checked against the Kubernetes API types of
//! `k8s-openapi` (or, for cert-manager and Prometheus Operator resources, the
//! small strict types in [`crd`]): it is deserialised into the type,
//! serialised back, and must come out identical, so a misspelt or misplaced
//! field (which the type would silently drop) fails the test.

pub mod cel_eval;
pub mod crd;
pub mod fake_api;
pub mod readme;
pub mod registered;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Root of the Cargo workspace (the repository).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/chart sits two levels below the repository root")
        .to_path_buf()
}

/// The chart under test.
pub fn chart_dir() -> PathBuf {
    repo_root().join("charts/velero-hooks")
}

/// The `helm` binary: `$HELM`, else `.tools/bin/helm` (installed by
/// `scripts/install-tools.sh`), else `helm` on PATH. Panics with a clear
/// message when there is none: a chart test must not pass without helm.
pub fn helm_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("HELM") {
        return PathBuf::from(path);
    }
    let tools = repo_root().join(".tools/bin/helm");
    if tools.is_file() {
        return tools;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("helm");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "helm not found: run `scripts/install-tools.sh` (installs it into .tools/bin), \
         put helm on PATH, or set HELM=/path/to/helm"
    );
}

/// Output of a helm command.
#[derive(Debug)]
pub struct HelmOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs helm with the given arguments (never through a shell).
pub fn helm(args: &[&str]) -> HelmOutput {
    let helm = helm_binary();
    let out = Command::new(&helm)
        .args(args)
        // Keep helm away from the user's own config, cache and cluster.
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("chart-tests-helm/config"),
        )
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("chart-tests-helm/cache"),
        )
        .env(
            "HELM_DATA_HOME",
            std::env::temp_dir().join("chart-tests-helm/data"),
        )
        .env("KUBECONFIG", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", helm.display()));
    HelmOutput {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Release name and namespace every test renders with.
pub const RELEASE: &str = "hooks";
pub const NAMESPACE: &str = "velero-hooks-system";
/// `fullname` for [`RELEASE`] (the release name lacks the chart name).
pub const FULLNAME: &str = "hooks-velero-hooks";

/// Arguments of `helm template` for [`RELEASE`] in [`NAMESPACE`] with
/// `--set`-style overrides.
pub fn template_args(sets: &[&str]) -> Vec<String> {
    let mut args = vec![
        "template".to_string(),
        RELEASE.to_string(),
        chart_dir().display().to_string(),
        "--namespace".to_string(),
        NAMESPACE.to_string(),
    ];
    for set in sets {
        args.push("--set".to_string());
        args.push((*set).to_string());
    }
    args
}

/// `helm template` with overrides; Err carries helm's stderr.
pub fn try_render(sets: &[&str]) -> Result<Rendered, String> {
    let args = template_args(sets);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = helm(&refs);
    if !out.success {
        return Err(out.stderr);
    }
    Rendered::parse(&out.stdout).map_err(|e| format!("{e:#}"))
}

/// `helm template` with overrides; panics with helm's error on failure.
pub fn render(sets: &[&str]) -> Rendered {
    try_render(sets).unwrap_or_else(|e| panic!("helm template {sets:?} failed:\n{e}"))
}

/// One rendered document.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub value: Value,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or("")
    }
    pub fn api_version(&self) -> &str {
        self.value["apiVersion"].as_str().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or("")
    }
    pub fn is_test_hook(&self) -> bool {
        self.value["metadata"]["annotations"]["helm.sh/hook"] == "test"
    }
    /// Deserialises into `T` and checks that nothing was lost on the way.
    pub fn typed<T: DeserializeOwned + Serialize>(&self) -> Result<T> {
        strict_from_value(&self.value)
            .with_context(|| format!("{} {}/{}", self.api_version(), self.kind(), self.name()))
    }
}

/// Deserialises `value` into `T`, serialises it back and requires the two to
/// be equal: a field `T` does not know would be dropped and show up here.
pub fn strict_from_value<T: DeserializeOwned + Serialize>(value: &Value) -> Result<T> {
    let typed: T = serde_json::from_value(value.clone()).context("does not match the API type")?;
    let back = serde_json::to_value(&typed)?;
    let mut diffs = Vec::new();
    diff_values("", value, &back, &mut diffs);
    if !diffs.is_empty() {
        bail!(
            "fields not in the API type, or of the wrong shape:\n  {}",
            diffs.join("\n  ")
        );
    }
    Ok(typed)
}

fn diff_values(path: &str, input: &Value, back: &Value, out: &mut Vec<String>) {
    match (input, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => diff_values(&p, v, w, out),
                    None => out.push(format!("{p}: unknown field (value {v})")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: appeared on re-serialisation"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                diff_values(&format!("{path}[{i}]"), v, w, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} became {b}")),
    }
}

/// All documents of one `helm template` run.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub manifests: Vec<Manifest>,
}

impl Rendered {
    pub fn parse(yaml: &str) -> Result<Self> {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(yaml).context("helm output is not valid YAML")?;
        let manifests = docs
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|value| Manifest { value })
            .collect::<Vec<_>>();
        for m in &manifests {
            if m.kind().is_empty() || m.api_version().is_empty() || m.name().is_empty() {
                bail!("document without kind, apiVersion or name: {}", m.value);
            }
        }
        Ok(Rendered { manifests })
    }

    /// Manifests of a kind (test hooks included).
    pub fn all(&self, kind: &str) -> Vec<&Manifest> {
        self.manifests.iter().filter(|m| m.kind() == kind).collect()
    }

    /// The single non-test manifest of `kind`, typed.
    pub fn one<T: DeserializeOwned + Serialize>(&self, kind: &str) -> T {
        let found: Vec<_> = self
            .manifests
            .iter()
            .filter(|m| m.kind() == kind && !m.is_test_hook())
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected exactly one {kind}, found {}",
            found.len()
        );
        found[0].typed().unwrap_or_else(|e| panic!("{e:#}"))
    }

    pub fn has(&self, kind: &str) -> bool {
        self.manifests
            .iter()
            .any(|m| m.kind() == kind && !m.is_test_hook())
    }

    /// (kind, name) of every manifest, sorted.
    pub fn inventory(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .manifests
            .iter()
            .map(|m| (m.kind().to_string(), m.name().to_string()))
            .collect();
        v.sort();
        v
    }

    /// Checks every manifest against its API type. Unknown kinds are errors.
    pub fn check_schemas(&self) -> Result<()> {
        use k8s_openapi::api::{admissionregistration, apps, core, networking, policy, rbac};
        let mut errors = Vec::new();
        for m in &self.manifests {
            let result = match (m.api_version(), m.kind()) {
                ("v1", "ServiceAccount") => m.typed::<core::v1::ServiceAccount>().map(drop),
                ("v1", "ConfigMap") => m.typed::<core::v1::ConfigMap>().map(drop),
                ("v1", "Secret") => m.typed::<core::v1::Secret>().map(drop),
                ("v1", "Service") => m.typed::<core::v1::Service>().map(drop),
                ("v1", "Pod") => m.typed::<core::v1::Pod>().map(drop),
                ("apps/v1", "Deployment") => m.typed::<apps::v1::Deployment>().map(drop),
                ("policy/v1", "PodDisruptionBudget") => {
                    m.typed::<policy::v1::PodDisruptionBudget>().map(drop)
                }
                ("networking.k8s.io/v1", "NetworkPolicy") => {
                    m.typed::<networking::v1::NetworkPolicy>().map(drop)
                }
                ("rbac.authorization.k8s.io/v1", "Role") => m.typed::<rbac::v1::Role>().map(drop),
                ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
                    m.typed::<rbac::v1::RoleBinding>().map(drop)
                }
                ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration") => m
                    .typed::<admissionregistration::v1::ValidatingWebhookConfiguration>()
                    .map(drop),
                ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => m
                    .typed::<admissionregistration::v1::MutatingWebhookConfiguration>()
                    .map(drop),
                ("cert-manager.io/v1", "Issuer") => m.typed::<crd::Issuer>().map(drop),
                ("cert-manager.io/v1", "Certificate") => m.typed::<crd::Certificate>().map(drop),
                ("monitoring.coreos.com/v1", "ServiceMonitor") => {
                    m.typed::<crd::ServiceMonitor>().map(drop)
                }
                (v, k) => Err(anyhow!(
                    "{v} {k}/{}: no schema known to the tests",
                    m.name()
                )),
            };
            if let Err(e) = result {
                errors.push(format!("{e:#}"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("{}", errors.join("\n")))
        }
    }
}
