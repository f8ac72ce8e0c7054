//! `kube-emulator`: run the emulated API server for humans, benchmarks and kubectl;
//! `--demo` adds Velero's example app, Velero's CRDs and a fake Velero.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use kube_emulator::velero::{FakeVelero, FakeVeleroConfig, demo};
use kube_emulator::{Emulator, EmulatorConfig, seed};

/// An emulated Kubernetes API server on loopback (TLS, bearer token).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig for the emulator here (with --demo: default demo.kubeconfig).
    #[arg(long, value_name = "PATH")]
    kubeconfig_out: Option<PathBuf>,
    /// Default namespace of the kubeconfig's context [default: default; with --demo: nginx-example].
    #[arg(long)]
    namespace: Option<String>,
    /// Serve Velero's nginx example, Velero's CRDs and a fake Velero that runs backups
    /// (hooks included) and serves their logs, and print a walkthrough.
    #[arg(long)]
    demo: bool,
    /// With --demo: where to write the CA of the fake Velero's log server (for
    /// `backup logs --cacert`) [default: velero-ca.pem next to the kubeconfig].
    #[arg(long, value_name = "PATH", requires = "demo")]
    velero_ca_out: Option<PathBuf>,
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
    let mut velero = None;
    if args.demo {
        let fake = FakeVelero::start(FakeVeleroConfig {
            // Slow enough for --wait to show progress, quick enough for a demo.
            step: std::time::Duration::from_millis(400),
            ..FakeVeleroConfig::default()
        })
        .await
        .context("start the fake Velero's log server")?;
        config = config.controller(fake.controller());
        velero = Some(fake);
    }
    let emulator = Emulator::start(config).await?;
    if args.demo {
        demo::seed(&emulator.store())
            .map_err(|e| anyhow::anyhow!("create the demo objects: {e}"))?;
    }
    let kubeconfig = match (&args.kubeconfig_out, args.demo) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => Some(PathBuf::from("demo.kubeconfig")),
        (None, false) => None,
    };
    let namespace = match (&args.namespace, args.demo) {
        (Some(ns), _) => ns.clone(),
        (None, true) => "nginx-example".to_owned(),
        (None, false) => "default".to_owned(),
    };
    if let Some(path) = &kubeconfig {
        emulator
            .write_kubeconfig(path, &args.context, &namespace)
            .with_context(|| format!("write {}", path.display()))?;
        eprintln!("kubeconfig written to {}", path.display());
    }
    if let (Some(fake), Some(kubeconfig)) = (&velero, &kubeconfig) {
        let ca = args.velero_ca_out.clone().unwrap_or_else(|| {
            kubeconfig
                .parent()
                .unwrap_or(std::path::Path::new(""))
                .join("velero-ca.pem")
        });
        std::fs::write(&ca, &fake.ca_pem).with_context(|| format!("write {}", ca.display()))?;
        let absolute =
            |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
        println!(
            "{}",
            demo::instructions(&absolute(kubeconfig), &absolute(&ca))
        );
    }
    eprintln!(
        "kube-emulator serving on {} (Ctrl-C to stop)",
        emulator.url()
    );
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}
