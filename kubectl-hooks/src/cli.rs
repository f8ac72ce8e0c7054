//! The command line, as kubectl users type it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use velero_hooks::VeleroVersion;

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-hooks",
    bin_name = "kubectl hooks",
    version,
    about = "Write, check and exercise Velero backup hooks before Velero reads them",
    long_about = "Velero reads hook annotations silently: a bad timeout falls back to 30s, a \
                  misspelled on-error means \"continue\", a non-JSON command becomes one program \
                  name, a typo in a key is never noticed. kubectl hooks makes each of these a \
                  clear error when it is written."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// kubectl's own connection and scope flags, accepted before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace scope (default: the context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// List or check across all namespaces
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// How long to wait for one API request (e.g. 30s, 1m); 0 means no limit
    #[arg(long, global = true, value_name = "DURATION", default_value = "0")]
    pub request_timeout: String,
    /// Log verbosity (0-9, as kubectl's -v)
    #[arg(
        short = 'v',
        long = "v",
        global = true,
        value_name = "LEVEL",
        default_value_t = 0
    )]
    pub verbosity: u8,
    /// Velero release whose behaviour is predicted: 1.12 to 1.18 (a line means its latest
    /// patch; 1.14.0 names one), or main. Default: online, the release of the cluster's
    /// Velero Deployment; offline, the latest release (1.18.2)
    #[arg(long = "velero-version", global = true, value_name = "VERSION", value_parser = parse_velero_version)]
    pub velero_version_flag: Option<VeleroVersion>,
    /// The release predicted: the flag, the cluster's (online commands), or the latest.
    #[arg(skip)]
    pub velero_version: VeleroVersion,
    /// The namespace Velero runs in (its Deployment, Backups, Schedules and DownloadRequests)
    #[arg(
        long,
        global = true,
        env = "VELERO_NAMESPACE",
        default_value = "velero",
        value_name = "NAMESPACE"
    )]
    pub velero_namespace: String,
}

impl GlobalArgs {
    /// These flags predicting `version`: what an online command uses once it has asked the
    /// cluster which Velero runs there.
    pub fn predicting(&self, version: VeleroVersion) -> Self {
        Self {
            velero_version: version,
            ..self.clone()
        }
    }
}

fn parse_velero_version(text: &str) -> Result<VeleroVersion, String> {
    VeleroVersion::parse(text).ok_or_else(|| {
        format!(
            "unknown Velero version `{text}`: use one of {}",
            VeleroVersion::accepted()
        )
    })
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check hook annotations in manifests (-f) or on live pods and workloads
    Validate(ValidateArgs),
    /// Add or replace a backup hook on pods or pod templates, checked before it is written
    Annotate(crate::commands::annotate::AnnotateArgs),
    /// List the hooks of pods and workloads with what Velero will run
    Get(crate::commands::get::GetArgs),
    /// Remove hook annotations from pods or pod templates
    Remove(crate::commands::remove::RemoveArgs),
    /// Run a pod's hooks now, as Velero will, and report what Velero would conclude
    Test(crate::commands::test::TestArgs),
    /// Print a shell completion script for the kubectl-hooks binary
    Completion(crate::commands::completion::CompletionArgs),
    /// Run a Velero backup after a preflight of its hooks; report and read what they did
    Backup(crate::commands::backup::BackupArgs),
    /// List every annotation key Velero reads for hooks
    Keys,
    /// List every rule with its code and severity
    Rules,
    /// Print the plugin's version
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Yaml,
    /// SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab, Azure DevOps)
    Sarif,
    /// GitHub Actions workflow commands: findings appear inline on the pull request
    Github,
}

/// The least severe finding that makes `validate` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Warnings and errors fail the run
    Warning,
    /// Only errors fail the run; warnings are reported
    Error,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories to check (`-` reads stdin); without files, live objects are checked
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// More files to check, as with -f (the form pre-commit and xargs pass files in)
    #[arg(value_name = "FILE")]
    pub paths: Vec<PathBuf>,
    /// Read directories given with -f recursively
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: ReportFormat,
    /// Also list objects that have no findings (text output)
    #[arg(long)]
    pub show_clean: bool,
    /// Only live objects matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Exit 0 even when findings are reported (unreadable input still exits 2)
    #[arg(long)]
    pub exit_zero: bool,
    /// The least severe finding that fails the run (exit 1)
    #[arg(long, value_enum, value_name = "SEVERITY", default_value = "error")]
    pub fail_on: FailOn,
    /// Silence a rule everywhere, by code or name (repeatable; comma-separated lists)
    #[arg(
        long,
        value_name = "CODE",
        value_delimiter = ',',
        value_parser = parse_rule_code
    )]
    pub ignore: Vec<&'static str>,
}

/// A rule code (any case) or rule name, as the code the rule registry uses.
fn parse_rule_code(text: &str) -> Result<&'static str, String> {
    crate::commands::validate::silence::rule_code(text)
}
