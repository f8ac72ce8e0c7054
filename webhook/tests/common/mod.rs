//! Set-up shared by the integration tests: an in-process server on ephemeral ports.

#![allow(dead_code)]

pub mod client;

use std::net::SocketAddr;
use std::path::Path;

use tokio::sync::oneshot;
use velero_hooks_webhook::limits::ServerLimits;
use velero_hooks_webhook::review::Policy;
use velero_hooks_webhook::server::{CertSource, Server, Settings};
use velero_hooks_webhook::tls;

pub struct Running {
    pub https: SocketAddr,
    pub metrics: SocketAddr,
    pub ca_pem: String,
    stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Asks the server to stop and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap().unwrap();
    }
}

pub async fn start(policy: Policy) -> Running {
    start_with_limits(policy, Default::default()).await
}

pub async fn start_with_limits(policy: Policy, limits: ServerLimits) -> Running {
    let generated = tls::self_signed(&[]).unwrap();
    let server = Server::bind(Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        certs: CertSource::SelfSigned(generated.clone()),
        policy,
        reload_interval: std::time::Duration::from_secs(5),
        dns_names: Vec::new(),
        shutdown_delay: std::time::Duration::ZERO,
        shutdown_grace: std::time::Duration::from_secs(5),
        limits,
    })
    .await
    .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let (https, metrics) = (server.https_addr(), server.metrics_addr());
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Running {
        https,
        metrics,
        ca_pem: generated.ca_pem,
        stop: Some(stop),
        task,
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixture_names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "json")
                .then(|| path.file_stem().unwrap().to_str().unwrap().to_owned())
        })
        .collect();
    names.sort();
    names
}
