//! Command-line flags (each also read from a `VELERO_HOOKS_*` variable) and the YAML
//! configuration file the Helm chart mounts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use serde::Deserialize;
use velero_hooks::VeleroVersion;
use velero_hooks::normalize::Normalizations;

use crate::limits::{ReviewLimits, ServerLimits};
use crate::review::Policy;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "velero-hooks-webhook",
    version,
    about = "Admission webhook that stops broken Velero hook annotations before they reach Velero"
)]
pub struct Flags {
    /// HTTPS address for admission (/validate, /warn, /mutate), /healthz and /readyz.
    #[arg(long, env = "VELERO_HOOKS_LISTEN", default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,

    /// Plain-HTTP address for /metrics, /healthz and /readyz.
    #[arg(
        long,
        env = "VELERO_HOOKS_METRICS_LISTEN",
        default_value = "0.0.0.0:9090"
    )]
    pub metrics_listen: SocketAddr,

    /// PEM certificate chain served on --listen; re-read when it changes on disk.
    #[arg(
        long,
        env = "VELERO_HOOKS_TLS_CERT_FILE",
        requires = "tls_key_file",
        required_unless_present = "self_signed"
    )]
    pub tls_cert_file: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert-file.
    #[arg(long, env = "VELERO_HOOKS_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,

    /// Generate a CA and a serving certificate in memory (for localhost, 127.0.0.1 and
    /// each --dns-name) and print the CA bundle to stdout.
    #[arg(long, env = "VELERO_HOOKS_SELF_SIGNED", conflicts_with_all = ["tls_cert_file", "tls_key_file"])]
    pub self_signed: bool,

    /// DNS name of the webhook Service (repeatable), e.g. velero-hooks.velero-hooks.svc:
    /// added to the --self-signed certificate; with --tls-cert-file, a certificate that
    /// does not name it is refused at start-up and on reload.
    #[arg(
        long = "dns-name",
        env = "VELERO_HOOKS_DNS_NAMES",
        value_delimiter = ','
    )]
    pub dns_names: Vec<String>,

    /// YAML configuration: `normalize: {pinContainer, jsonCommand, explicitDefaults,
    /// migrateLegacy}`, `veleroVersion: "1.18"`.
    #[arg(long, env = "VELERO_HOOKS_CONFIG")]
    pub config: Option<PathBuf>,

    #[arg(long, env = "VELERO_HOOKS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    #[arg(long, env = "VELERO_HOOKS_LOG_LEVEL", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Velero release whose behaviour the checks follow (1.12 to 1.18, a line meaning its
    /// latest patch, or main); overrides veleroVersion in --config.
    #[arg(long, env = "VELERO_HOOKS_VELERO_VERSION", value_parser = parse_version)]
    pub velero_version: Option<VeleroVersion>,

    /// How often the certificate files are checked for changes (Go duration).
    #[arg(long, env = "VELERO_HOOKS_TLS_RELOAD_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub tls_reload_interval: Duration,

    /// After SIGTERM, how long the server keeps accepting and answering while /readyz
    /// fails, so the endpoints controller and kube-proxy stop routing here first. HTTP/1.1
    /// answers in this time carry `Connection: close` to move clients elsewhere.
    #[arg(long, env = "VELERO_HOOKS_SHUTDOWN_DELAY", default_value = "5s", value_parser = parse_duration_or_zero)]
    pub shutdown_delay: Duration,

    /// After --shutdown-delay, how long in-flight requests may take to finish (Go duration).
    #[arg(long, env = "VELERO_HOOKS_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    #[command(flatten)]
    pub server_limits: ServerLimits,

    #[command(flatten)]
    pub review_limits: ReviewLimits,

    /// Runtime worker threads (default: the CPUs available to the process).
    #[arg(long, env = "VELERO_HOOKS_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

fn parse_version(text: &str) -> Result<VeleroVersion, String> {
    VeleroVersion::parse(text).ok_or_else(|| {
        format!(
            "unknown Velero version {text:?}: use one of {}",
            VeleroVersion::accepted()
        )
    })
}

/// The product's own Go-exact parser: one duration syntax everywhere.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_or_zero(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} must be a positive duration such as 10s"))
}

/// A Go duration that may be zero (`0s`: no delay).
fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    let nanos = velero_hooks::duration::parse_go_duration(text).map_err(|e| e.to_string())?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("{text:?} must not be negative"))
}

/// The `--config` file.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub normalize: Normalizations,
    #[serde(default)]
    pub velero_version: Option<String>,
}

impl FileConfig {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        // An empty file (or one with only comments) means "all defaults".
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Ok(FileConfig::default());
        }
        Ok(serde_saphyr::from_str(text)?)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config {}", path.display()))
    }
}

impl Flags {
    /// The policy from --config, with --velero-version taking precedence.
    pub fn policy(&self) -> anyhow::Result<Policy> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let from_file = match &file.velero_version {
            Some(text) => match VeleroVersion::parse(text) {
                Some(v) => Some(v),
                None => bail!(
                    "invalid config: veleroVersion {text:?} is not a Velero release this server knows: use one of {}",
                    VeleroVersion::accepted()
                ),
            },
            None => None,
        };
        Ok(Policy {
            version: self.velero_version.or(from_file).unwrap_or_default(),
            normalize: file.normalize,
            limits: self.review_limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_chart_config() {
        let text = "normalize:\n  pinContainer: true\n  jsonCommand: false\n  explicitDefaults: true\n  migrateLegacy: false\nveleroVersion: \"1.19\"\n";
        let config = FileConfig::parse(text).unwrap();
        assert!(config.normalize.pin_container && config.normalize.explicit_defaults);
        assert!(!config.normalize.json_command);
        assert_eq!(config.velero_version.as_deref(), Some("1.19"));
        assert_eq!(
            FileConfig::parse("# nothing\n").unwrap(),
            FileConfig::default()
        );
        assert!(FileConfig::parse("normalize:\n  pinContainers: true\n").is_err());
        assert!(FileConfig::parse("veleroVersoin: \"1.18\"\n").is_err());
    }

    #[test]
    fn flag_overrides_config_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "veleroVersion: \"1.19\"\n").unwrap();
        let path = path.to_str().unwrap();
        let flags = Flags::try_parse_from(["w", "--self-signed", "--config", path]).unwrap();
        assert_eq!(flags.policy().unwrap().version, VeleroVersion::MAIN);
        let flags = Flags::try_parse_from([
            "w",
            "--self-signed",
            "--config",
            path,
            "--velero-version",
            "1.18",
        ])
        .unwrap();
        assert_eq!(
            flags.policy().unwrap().version,
            VeleroVersion::LATEST_RELEASE
        );
        std::fs::write(dir.path().join("config.yaml"), "veleroVersion: \"2.0\"\n").unwrap();
        assert!(flags.policy().is_err());
    }

    #[test]
    fn flags_need_a_certificate_source() {
        assert!(Flags::try_parse_from(["w"]).is_err());
        assert!(Flags::try_parse_from(["w", "--tls-cert-file", "c"]).is_err());
        assert!(
            Flags::try_parse_from([
                "w",
                "--self-signed",
                "--tls-cert-file",
                "c",
                "--tls-key-file",
                "k"
            ])
            .is_err()
        );
        let flags =
            Flags::try_parse_from(["w", "--tls-cert-file", "c", "--tls-key-file", "k"]).unwrap();
        assert_eq!(flags.listen.port(), 8443);
        assert_eq!(flags.metrics_listen.port(), 9090);
        assert_eq!(flags.tls_reload_interval, Duration::from_secs(5));
        assert!(Flags::try_parse_from(["w", "--self-signed", "--velero-version", "2.0"]).is_err());
        assert!(Flags::try_parse_from(["w", "--self-signed", "--shutdown-grace", "30"]).is_err());
        assert!(Flags::try_parse_from(["w", "--self-signed", "--shutdown-grace", "0s"]).is_err());
        assert_eq!(flags.shutdown_delay, Duration::from_secs(5));
        let no_delay =
            Flags::try_parse_from(["w", "--self-signed", "--shutdown-delay", "0s"]).unwrap();
        assert_eq!(no_delay.shutdown_delay, Duration::ZERO);
        assert!(Flags::try_parse_from(["w", "--self-signed", "--shutdown-delay", "-1s"]).is_err());
    }
}
