//! Running one hook in its container through `pods/exec`, as Velero's executor does
//! (`pkg/podexec/pod_command_executor.go`, v1.18.2): the argv as parsed, no TTY, no stdin,
//! stdout and stderr captured, and the hook's timeout. Velero speaks SPDY; this speaks
//! WebSocket (`v5.channel.k8s.io`), which carries the same argv, container, streams and
//! exit status.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::AttachParams;
use tokio::io::AsyncReadExt;

/// What one exec did.
#[derive(Debug, Clone)]
pub enum ExecOutcome {
    /// The command ran to its end.
    Exited {
        code: i32,
        stdout: String,
        stderr: String,
    },
    /// The runtime or the API server refused to start it (the text client-go gives Velero).
    NotStarted { message: String, forbidden: bool },
    /// The timeout passed: the stream was closed; the process may go on running.
    TimedOut { stdout: String, stderr: String },
    /// Ctrl-C while it ran: the stream was closed.
    Interrupted,
}

/// Runs `argv` in `container` of the pod, giving up after `timeout` (`None`: no limit)
/// or when `interrupted` resolves.
pub async fn run(
    pods: &Api<Pod>,
    pod: &str,
    container: &str,
    argv: &[String],
    timeout: Option<Duration>,
    interrupted: impl std::future::Future<Output = ()>,
) -> (ExecOutcome, Duration) {
    let started = Instant::now();
    let params = AttachParams::default()
        .container(container)
        .stdin(false)
        .stdout(true)
        .stderr(true)
        .tty(false);
    let work = async {
        let mut process = match pods.exec(pod, argv.to_vec(), &params).await {
            Ok(p) => p,
            Err(err) => return not_started(err),
        };
        let mut stdout = process.stdout();
        let mut stderr = process.stderr();
        let status = process.take_status();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async {
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_end(&mut err).await;
            }
        };
        let status = async {
            match status {
                Some(s) => s.await,
                None => None,
            }
        };
        let ((), (), status) = tokio::join!(read_out, read_err, status);
        let stdout = String::from_utf8_lossy(&out).into_owned();
        let stderr = String::from_utf8_lossy(&err).into_owned();
        from_status(status, stdout, stderr)
    };
    let limit = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    // Dropping `work` closes the WebSocket: the exec stream is cancelled, as Velero's
    // executor leaves it (the process in the container is not killed).
    let outcome = tokio::select! {
        outcome = work => outcome,
        () = limit => ExecOutcome::TimedOut { stdout: String::new(), stderr: String::new() },
        () = interrupted => ExecOutcome::Interrupted,
    };
    (outcome, started.elapsed())
}

/// The final Status of channel 3: Success, or the exit code kubelet puts in
/// `details.causes[{reason: ExitCode}]`, or another failure (the runtime's own message).
fn from_status(status: Option<Status>, stdout: String, stderr: String) -> ExecOutcome {
    let Some(status) = status else {
        return ExecOutcome::Exited {
            code: 0,
            stdout,
            stderr,
        };
    };
    if status.status.as_deref() == Some("Success") {
        return ExecOutcome::Exited {
            code: 0,
            stdout,
            stderr,
        };
    }
    let code = status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message.as_deref()?.parse::<i32>().ok());
    match code {
        Some(code) => ExecOutcome::Exited {
            code,
            stdout,
            stderr,
        },
        None => ExecOutcome::NotStarted {
            message: status.message.unwrap_or_else(|| "exec failed".to_owned()),
            forbidden: false,
        },
    }
}

fn not_started(err: kube::Error) -> ExecOutcome {
    match err {
        kube::Error::Api(status) => ExecOutcome::NotStarted {
            forbidden: status.code == 403,
            message: status.message,
        },
        other => ExecOutcome::NotStarted {
            message: other.to_string(),
            forbidden: false,
        },
    }
}
