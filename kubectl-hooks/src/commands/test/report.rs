//! One line of `kubectl hooks test`'s report per hook: what ran, where, what it did, and
//! the verdict Velero would reach (`pkg/podexec/pod_command_executor.go`,
//! `internal/hook/item_hook_handler.go`), in the words of `velero_hooks::outcome` for the
//! release predicted.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use serde::Serialize;
use velero_hooks::VeleroVersion;
use velero_hooks::hook::OnError;
use velero_hooks::outcome::{exec_timed_out, hook_failed, restore_container_missing};
use velero_hooks::spec::plan::{Phase, PlannedHook};

use super::exec::{self, ExecOutcome};
use super::targets::PodHooks;
use super::{Mode, TestFormat};

/// How many lines of stdout and stderr the report keeps.
const FIRST_LINES: usize = 5;
/// How long `--check` waits for the container's shell.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Verdict {
    Ok,
    /// Failed; `onError` says what Velero does next.
    Failed,
    TimedOut,
    Interrupted,
    NotRun {
        reason: String,
    },
    /// Velero skips the hook and does not count it as failed.
    Skipped {
        reason: String,
    },
    WouldRun,
    /// `--check`: the program can be started.
    CanStart,
    /// `--check`: the container cannot start it.
    CannotStart,
    /// `--check`: the container offers no way to tell (no shell).
    CannotTell,
}

impl Verdict {
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            Verdict::Ok
                | Verdict::Skipped { .. }
                | Verdict::WouldRun
                | Verdict::CanStart
                | Verdict::CannotTell
        )
    }

    /// Whether Velero would see this hook fail (so on-error Fail stops the phase).
    pub fn stops_phase(&self) -> bool {
        matches!(
            self,
            Verdict::Failed | Verdict::TimedOut | Verdict::Interrupted | Verdict::CannotStart
        )
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookReport {
    pub namespace: String,
    pub pod: String,
    pub phase: Phase,
    pub hook_name: String,
    pub source: String,
    pub container: String,
    pub command: Vec<String>,
    pub on_error: OnError,
    /// Velero's effective timeout; `None`: no limit.
    pub timeout_seconds: Option<f64>,
    pub exit_code: Option<i32>,
    pub duration_seconds: Option<f64>,
    pub stdout: String,
    pub stderr: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What Velero would conclude, in words.
    pub conclusion: String,
    /// The error text Velero logs (`error=...`), to match with a backup log.
    pub velero_error: Option<String>,
    #[serde(skip)]
    pub note_post_runs_anyway: bool,
    /// The Velero release whose conclusions are predicted.
    #[serde(skip)]
    pub version: VeleroVersion,
}

impl HookReport {
    pub fn new(pod: &PodHooks, hook: &PlannedHook, version: VeleroVersion) -> Self {
        HookReport {
            namespace: pod.namespace.clone(),
            pod: pod.name.clone(),
            phase: hook.phase,
            hook_name: hook.origin.hook_name().to_owned(),
            source: hook.origin.describe(),
            container: hook.effective_container.clone().unwrap_or_default(),
            command: hook.command.clone(),
            on_error: hook.on_error,
            timeout_seconds: hook.timeout_nanos.map(|n| n as f64 / 1e9),
            exit_code: None,
            duration_seconds: None,
            stdout: String::new(),
            stderr: String::new(),
            verdict: Verdict::WouldRun,
            conclusion: String::new(),
            velero_error: None,
            note_post_runs_anyway: false,
            version,
        }
    }

    pub fn record(&mut self, outcome: ExecOutcome, took: Duration) {
        self.duration_seconds = Some(took.as_secs_f64());
        let failed = hook_failed(self.phase, self.on_error, self.version);
        match outcome {
            ExecOutcome::Exited {
                code,
                stdout,
                stderr,
            } => {
                self.exit_code = Some(code);
                self.stdout = first_lines(&stdout);
                self.stderr = first_lines(&stderr);
                if code == 0 {
                    self.verdict = Verdict::Ok;
                    "ok".clone_into(&mut self.conclusion);
                } else {
                    self.verdict = Verdict::Failed;
                    self.velero_error = Some(format!("command terminated with exit code {code}"));
                    self.conclusion = failed;
                }
            }
            ExecOutcome::NotStarted { message, forbidden } => {
                self.verdict = Verdict::Failed;
                self.conclusion = if forbidden {
                    format!(
                        "the API server refused exec: your user needs the RBAC permission `create` on `pods/exec` in namespace {} (check with `kubectl auth can-i create pods/exec -n {}`); Velero's own service account needs it too",
                        self.namespace, self.namespace
                    )
                } else {
                    failed
                };
                self.velero_error = Some(message);
            }
            ExecOutcome::TimedOut { stdout, stderr } => {
                self.stdout = first_lines(&stdout);
                self.stderr = first_lines(&stderr);
                self.verdict = Verdict::TimedOut;
                let after = self.timeout_seconds.map(go_duration).unwrap_or_default();
                self.velero_error = Some(format!("timed out after {after}"));
                self.conclusion = format!(
                    "{}. This test closed its stream at {after}: the command was not killed and may still be running in the container (whether a closed stream stops it depends on the container runtime). {failed}",
                    exec_timed_out(&after, self.version)
                );
            }
            ExecOutcome::Interrupted => {
                self.verdict = Verdict::Interrupted;
                "interrupted (Ctrl-C): the exec stream was closed; the command may still be running in the container".clone_into(&mut self.conclusion);
            }
        }
    }

    /// Velero would not find the hook's container: the backup executor fails the hook with
    /// its own error, the restore handler drops it (`velero_hooks::outcome`).
    pub fn container_missing(&mut self, container: String) {
        if self.phase == Phase::Restore {
            self.verdict = Verdict::NotRun {
                reason: format!(
                    "pod {} has no container `{container}`: {}",
                    self.pod,
                    restore_container_missing(self.version)
                ),
            };
            self.velero_error = Some(format!(
                "Pod {}/{} does not have container {container}: discarding post-restore exec hooks",
                self.namespace, self.pod
            ));
            return;
        }
        self.verdict = Verdict::Failed;
        self.velero_error = Some(format!("no such container: {container:?}"));
        self.conclusion = hook_failed(self.phase, self.on_error, self.version);
    }

    /// `--check`: can the container start the hook's program? Asked through the
    /// container's shell (`command -v NAME`, or `test -x PATH` for a path).
    pub async fn check(&mut self, pods: &Api<Pod>) {
        let Some(program) = self.command.first().cloned() else {
            self.verdict = Verdict::CannotStart;
            "the command is empty: Velero fails it with `command is required`"
                .clone_into(&mut self.conclusion);
            return;
        };
        let question = if program.contains('/') {
            format!("test -x {}", shell_words::quote(&program))
        } else {
            format!("command -v {}", shell_words::quote(&program))
        };
        let argv = vec!["/bin/sh".to_owned(), "-c".to_owned(), question.clone()];
        let (outcome, took) = exec::run(
            pods,
            &self.pod,
            &self.container,
            &argv,
            Some(CHECK_TIMEOUT),
            std::future::pending(),
        )
        .await;
        self.duration_seconds = Some(took.as_secs_f64());
        let is_shell = program
            .rsplit('/')
            .next()
            .is_some_and(|b| matches!(b, "sh" | "bash" | "ash" | "dash"));
        match outcome {
            ExecOutcome::Exited { code: 0, .. } => {
                self.verdict = Verdict::CanStart;
                self.conclusion = format!(
                    "`{program}` can be started in container {} (`{question}` succeeded)",
                    self.container
                );
            }
            ExecOutcome::Exited { code, .. } => {
                self.verdict = Verdict::CannotStart;
                self.conclusion = format!(
                    "`{program}` is not found in container {} (`{question}` exited {code}): Velero's exec fails with `executable file not found in $PATH` or exit 127",
                    self.container
                );
            }
            ExecOutcome::NotStarted { message, forbidden }
                if message.contains("executable file not found")
                    || message.contains("no such file or directory") =>
            {
                let _ = forbidden;
                if is_shell {
                    self.verdict = Verdict::CannotStart;
                    self.conclusion = format!(
                        "container {} has no shell, and the hook's program is a shell",
                        self.container
                    );
                } else {
                    self.verdict = Verdict::CannotTell;
                    self.conclusion = format!(
                        "cannot tell: container {} has no shell to ask (/bin/sh not found)",
                        self.container
                    );
                }
                self.velero_error = Some(message);
            }
            ExecOutcome::NotStarted { message, forbidden } => {
                self.verdict = Verdict::Failed;
                self.conclusion = if forbidden {
                    format!(
                        "the API server refused exec: your user needs the RBAC permission `create` on `pods/exec` in namespace {}",
                        self.namespace
                    )
                } else {
                    "exec failed before the question could be asked".to_owned()
                };
                self.velero_error = Some(message);
            }
            ExecOutcome::TimedOut { .. } | ExecOutcome::Interrupted => {
                self.verdict = Verdict::CannotTell;
                self.conclusion = format!(
                    "cannot tell: the container's shell did not answer within {}s",
                    CHECK_TIMEOUT.as_secs()
                );
            }
        }
    }
}

fn first_lines(text: &str) -> String {
    text.lines()
        .take(FIRST_LINES)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Go's `time.Duration` text for whole and fractional seconds (`30s`, `1m30s`, `1.5s`),
/// as Velero prints timeouts.
fn go_duration(seconds: f64) -> String {
    let total = seconds.trunc() as u64;
    let frac = seconds - seconds.trunc();
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    let secs = if frac > 0.0 {
        format!("{}", s as f64 + frac)
    } else {
        s.to_string()
    };
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// `3 hooks, 1 would fail`, and under `--check` how many could not be told, so that a gate
/// passing with nothing checked says so.
fn summary(reports: &[HookReport]) -> String {
    let failed = reports.iter().filter(|r| !r.verdict.is_ok()).count();
    let untold = reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::CannotTell))
        .count();
    let mut line = format!(
        "{} hook{}, {failed} would fail",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" }
    );
    if untold > 0 {
        line.push_str(&format!(
            ", {untold} could not be checked (no shell in the container)"
        ));
    }
    line
}

pub fn print(reports: &[HookReport], mode: Mode, format: TestFormat) -> anyhow::Result<()> {
    match format {
        TestFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"hooks": reports}))?
        ),
        TestFormat::Yaml => print!(
            "{}",
            serde_saphyr::to_string(&serde_json::json!({"hooks": reports}))?
        ),
        TestFormat::Text => {
            for r in reports {
                print_text(r, mode);
            }
            println!("{}", summary(reports));
        }
    }
    Ok(())
}

fn print_text(r: &HookReport, mode: Mode) {
    let timeout = r
        .timeout_seconds
        .map(go_duration)
        .unwrap_or_else(|| "no limit".to_owned());
    let verdict = match &r.verdict {
        Verdict::Ok => "OK".to_owned(),
        Verdict::Failed => format!("FAILED (on-error {})", r.on_error.as_str()),
        Verdict::TimedOut => format!("TIMED OUT (on-error {})", r.on_error.as_str()),
        Verdict::Interrupted => "INTERRUPTED".to_owned(),
        Verdict::NotRun { reason } => format!("NOT RUN: {reason}"),
        Verdict::Skipped { reason } => format!("SKIPPED: {reason}"),
        Verdict::WouldRun => "WOULD RUN".to_owned(),
        Verdict::CanStart => "CAN START".to_owned(),
        Verdict::CannotStart => "CANNOT START".to_owned(),
        Verdict::CannotTell => "CANNOT TELL".to_owned(),
    };
    println!(
        "{}/{}  {}  {} ({})  {verdict}",
        r.namespace,
        r.pod,
        r.phase.as_str(),
        r.hook_name,
        r.source
    );
    println!("  container: {}", r.container);
    println!(
        "  command:   {}",
        serde_json::to_string(&r.command).unwrap_or_default()
    );
    match (mode, r.duration_seconds) {
        (Mode::Run, Some(d)) => {
            let exit = r
                .exit_code
                .map(|c| format!("exit {c}"))
                .unwrap_or_else(|| "no exit code".to_owned());
            println!("  result:    {exit} after {d:.2}s (timeout {timeout})");
        }
        _ => println!("  timeout:   {timeout}"),
    }
    if !r.conclusion.is_empty() {
        println!("  velero:    {}", r.conclusion);
    }
    if let Some(e) = &r.velero_error {
        println!("  error:     {e}");
    }
    for (label, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        for (i, line) in text.lines().enumerate() {
            println!(
                "  {}{line}",
                if i == 0 {
                    format!("{label}:    ")
                } else {
                    " ".repeat(11)
                }
            );
        }
    }
    if r.note_post_runs_anyway {
        println!(
            "  note:      this pod's post hooks run anyway, to undo what its pre hooks did (Velero would not run them)"
        );
    }
}
