//! `kube-emulator`: run the emulated API server for humans, benchmarks and kubectl.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use kube_emulator::{Emulator, EmulatorConfig, seed};

/// An emulated Kubernetes API server on loopback (TLS, bearer token).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig for the emulator here.
    #[arg(long, value_name = "PATH")]
    kubeconfig_out: Option<PathBuf>,
    /// Default namespace of the kubeconfig's context.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Context (and cluster/user) name in the kubeconfig.
    #[arg(long, default_value = "kube-emulator")]
    context: String,
    /// Multi-document YAML file of objects to create at start (repeatable).
    #[arg(long, value_name = "FILE.yaml")]
    seed: Vec<PathBuf>,
    /// Generate this many realistic pods (some with Velero hook annotations).
    #[arg(long, default_value_t = 0)]
    generate_pods: usize,
    /// Spread generated pods over this many namespaces (team-0, team-1, ...).
    #[arg(long, default_value_t = 1)]
    namespaces: usize,
    /// Use this bearer token instead of a random one.
    #[arg(long)]
    token: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "kube_emulator=info".into()),
        )
        .init();
    let args = Args::parse();
    let mut config = EmulatorConfig::default().listen(args.listen);
    if let Some(t) = &args.token {
        config = config.token(t);
    }
    for path in &args.seed {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        config = config.seed(
            seed::parse_documents(&text).with_context(|| format!("parse {}", path.display()))?,
        );
    }
    if args.generate_pods > 0 {
        config = config.seed(seed::generate_pods(args.generate_pods, args.namespaces));
    }
    let emulator = Emulator::start(config).await?;
    if let Some(path) = &args.kubeconfig_out {
        emulator
            .write_kubeconfig(path, &args.context, &args.namespace)
            .with_context(|| format!("write {}", path.display()))?;
        eprintln!("kubeconfig written to {}", path.display());
    }
    eprintln!(
        "kube-emulator serving on {} (Ctrl-C to stop)",
        emulator.url()
    );
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}
