use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine as _;
use clap::Parser;
use velero_hooks_webhook::config::Flags;
use velero_hooks_webhook::logging;
use velero_hooks_webhook::server::{CertSource, Server, Settings};
use velero_hooks_webhook::tls::{self, CertFiles};

/// mimalloc rather than glibc's malloc: a request allocates and frees many small strings
/// and a few buffers of kilobytes, and glibc's free/consolidate path was ≈ 17 % of the
/// CPU time of a request; mimalloc answers ≈ 25 % more requests per second (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let flags = Flags::parse();
    // One crypto provider for the process, installed before anything touches rustls.
    let _ = rustls::crypto::ring::default_provider().install_default();
    logging::init(flags.log_format, flags.log_level);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(threads) = flags.worker_threads {
        runtime.worker_threads(threads.max(1));
    }
    let result = runtime
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(flags)));
    // Decision lines still buffered reach stderr before the process ends.
    logging::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "velero-hooks-webhook failed");
            logging::flush();
            eprintln!("velero-hooks-webhook: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(flags: Flags) -> anyhow::Result<()> {
    let policy = flags.policy()?;
    let certs = match (&flags.tls_cert_file, &flags.tls_key_file) {
        (Some(cert), Some(key)) => CertSource::Files(CertFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => {
            let generated = tls::self_signed(&flags.dns_names)?;
            // A closed stdout (piped into `head`, say) must not stop the server.
            if let Err(err) = print_ca_bundle(&generated.ca_pem) {
                tracing::warn!(error = %err, "cannot print the CA bundle to stdout");
            }
            CertSource::SelfSigned(generated)
        }
    };
    let server = Server::bind(Settings {
        listen: flags.listen,
        metrics_listen: flags.metrics_listen,
        certs,
        policy,
        reload_interval: flags.tls_reload_interval,
        dns_names: flags.dns_names.clone(),
        shutdown_delay: flags.shutdown_delay,
        shutdown_grace: flags.shutdown_grace,
        limits: flags.server_limits,
    })
    .await?;
    tracing::info!(
        https = %server.https_addr(),
        metrics = %server.metrics_addr(),
        velero_version = %policy.version,
        "listening"
    );
    server.run(shutdown_signal()).await
}

/// The CA that signed the in-memory certificate, as PEM and as the base64 a webhook
/// configuration's `caBundle` takes.
fn print_ca_bundle(ca_pem: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# CA bundle of the self-signed serving certificate (PEM):"
    )?;
    write!(out, "{ca_pem}")?;
    writeln!(
        out,
        "# caBundle (base64, for a webhook configuration's clientConfig):"
    )?;
    writeln!(
        out,
        "{}",
        base64::engine::general_purpose::STANDARD.encode(ca_pem)
    )?;
    out.flush()?;
    Ok(())
}

/// SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => tracing::info!(signal = "SIGTERM", "stopping"),
                _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "stopping"),
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGTERM; stopping on SIGINT only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
