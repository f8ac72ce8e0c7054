//! An emulated Kubernetes API server (see README): the real REST API over
//! TLS on loopback, backed by an in-memory store, so that kube-rs clients and
//! the real `kubectl` can be tested without a cluster.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use kube_emulator::{Emulator, EmulatorConfig};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! emu.store().ensure_namespace("shop")?;
//! emu.write_kubeconfig("/tmp/kubeconfig", "emulator", "shop")?;
//! // ... run kubectl or a kube::Client against it ...
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admission;
pub mod crd;
mod defaults;
pub mod discovery;
pub mod error;
pub mod exec;
mod meta;
mod openapi;
pub mod patch;
pub mod resources;
mod rest;
pub mod seed;
pub mod selectors;
mod server;
pub mod store;
pub mod table;
pub mod tls;
pub mod velero;
mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use admission::{FailurePolicy, Operation, UserInfo, WebhookConfig, WebhookKind, WebhookRule};
pub use error::{ApiError, FieldCause};
pub use resources::{Registry, ResourceType};
pub use server::{Fault, RecordedRequest};
pub use store::{EventType, Store, StoreEvent, StoreWatch};
pub use table::{Cell, PrinterColumn};

type Controller = Box<dyn FnOnce(Store) -> BoxFuture<'static, ()> + Send>;

/// How to start an emulator. `EmulatorConfig::default()` listens on
/// `127.0.0.1:0`, serves the built-in types, creates the `default`,
/// `kube-system` and `kube-public` namespaces, and accepts one random token.
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    /// Bearer token of the default user (`kubernetes-admin`).
    pub token: String,
    /// More tokens and the users they authenticate as (seen by webhooks).
    pub extra_users: HashMap<String, UserInfo>,
    /// Types served in addition to the built-in ones (CRD-like).
    pub extra_types: Vec<ResourceType>,
    pub webhooks: Vec<WebhookConfig>,
    /// Objects created at start (namespaces they need are created too).
    pub seed: Vec<Value>,
    pub default_namespaces: bool,
    /// How many change events are kept for watches resuming from a resourceVersion.
    pub history_limit: usize,
    controllers: Vec<Controller>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: format!("emulator-{}", meta::new_uid()),
            extra_users: HashMap::new(),
            extra_types: vec![],
            webhooks: vec![],
            seed: vec![],
            default_namespaces: true,
            history_limit: 10_000,
            controllers: vec![],
        }
    }
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("extra_types", &self.extra_types.len())
            .field("webhooks", &self.webhooks)
            .field("seed", &self.seed.len())
            .field("controllers", &self.controllers.len())
            .finish()
    }
}

impl EmulatorConfig {
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    pub fn token(mut self, token: &str) -> Self {
        self.token = token.into();
        self
    }

    /// Accept `token` as `user` too.
    pub fn user(mut self, token: &str, user: UserInfo) -> Self {
        self.extra_users.insert(token.into(), user);
        self
    }

    /// Serve one more resource type (e.g. `velero.io/v1` `backups`).
    pub fn resource_type(mut self, rt: ResourceType) -> Self {
        self.extra_types.push(rt);
        self
    }

    pub fn webhook(mut self, webhook: WebhookConfig) -> Self {
        self.webhooks.push(webhook);
        self
    }

    pub fn seed(mut self, objects: impl IntoIterator<Item = Value>) -> Self {
        self.seed.extend(objects);
        self
    }

    pub fn history_limit(mut self, n: usize) -> Self {
        self.history_limit = n;
        self
    }

    /// Run `controller(store)` as a task for the emulator's lifetime (aborted
    /// at shutdown). It reads and writes the store directly (no HTTP, no
    /// admission) and can follow changes with [`Store::watch`].
    pub fn controller<F, Fut>(mut self, controller: F) -> Self
    where
        F: FnOnce(Store) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.controllers
            .push(Box::new(move |store| Box::pin(controller(store))));
        self
    }
}

/// Starts emulators.
pub struct Emulator;

impl Emulator {
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<RunningEmulator> {
        let mut types = Registry::builtin();
        for extra in config.extra_types {
            if types.iter().any(|t| {
                t.group == extra.group && t.version == extra.version && t.plural == extra.plural
            }) {
                anyhow::bail!(
                    "resource type {}/{} is registered twice",
                    extra.api_version(),
                    extra.plural
                );
            }
            types.push(extra);
        }
        let store = Store::new(Registry::new(types), config.history_limit);
        if config.default_namespaces {
            for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                store
                    .ensure_namespace(ns)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        // Namespaces first, so that seeds may list them in any order.
        let (namespaces, others): (Vec<Value>, Vec<Value>) = config
            .seed
            .into_iter()
            .partition(|o| o.get("kind").and_then(Value::as_str) == Some("Namespace"));
        for ns in namespaces {
            match store.create(ns) {
                Ok(_) => {}
                Err(e) if e.reason == "AlreadyExists" => {}
                Err(e) => anyhow::bail!("seeding a namespace: {e}"),
            }
        }
        store
            .seed(others)
            .map_err(|e| anyhow::anyhow!("seeding objects: {e}"))?;

        let cert =
            tls::generate(&["127.0.0.1", "localhost"]).context("generate serving certificate")?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls::server_config(&cert)?));
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("bind {}", config.listen))?;
        let addr = listener.local_addr()?;

        let mut tokens = config.extra_users;
        tokens.insert(config.token.clone(), UserInfo::admin());
        let state = Arc::new(server::ServerState {
            store: store.clone(),
            admission: admission::AdmissionChain::new(config.webhooks)?,
            tokens,
            faults: Mutex::new(vec![]),
            requests: Mutex::new(Default::default()),
            server_address: server::server_address(addr),
        });
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let server_task = tokio::spawn(server::serve(
            listener,
            acceptor,
            state.clone(),
            shutdown_rx,
        ));
        let controller_tasks = config
            .controllers
            .into_iter()
            .map(|c| tokio::spawn(c(store.clone())))
            .collect();
        Ok(RunningEmulator {
            addr,
            ca_pem: cert.ca_pem,
            token: config.token,
            state,
            shutdown_tx,
            server_task,
            controller_tasks,
        })
    }
}

/// A started emulator. Dropping it without [`RunningEmulator::shutdown`]
/// leaves the server running until the runtime stops.
pub struct RunningEmulator {
    addr: SocketAddr,
    ca_pem: String,
    token: String,
    state: Arc<server::ServerState>,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
    server_task: JoinHandle<()>,
    controller_tasks: Vec<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `https://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA that signed the serving certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The default user's bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    /// A kubeconfig (YAML) with one cluster, user and context named `context`.
    pub fn kubeconfig_yaml(&self, context: &str, namespace: &str) -> String {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\nusers:\n- name: {context}\n  user:\n    token: {token}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: {namespace}\ncurrent-context: {context}\npreferences: {{}}\n",
            url = self.url(),
            token = self.token,
        )
    }

    pub fn write_kubeconfig(
        &self,
        path: impl AsRef<Path>,
        context: &str,
        namespace: &str,
    ) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml(context, namespace))
    }

    /// Make matching requests fail with the fault's Status.
    pub fn inject_fault(&self, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
    }

    /// Requests received so far (the last 10 000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn clear_requests(&self) {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Stop accepting, close open connections (ending watches) and stop controllers.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let _ = self.server_task.await;
        for t in &self.controller_tasks {
            t.abort();
        }
    }
}
