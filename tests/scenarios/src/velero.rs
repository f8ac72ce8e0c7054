//! Velero's part in the scenarios: the fake Velero of `kube_emulator::velero` (its
//! types, controller and log), and [`VeleroWorld`], an emulated cluster with Velero
//! installed that runs the real `kubectl-hooks` binary.

use std::time::Duration;

use kube_emulator::Store;
pub use kube_emulator::velero::{
    BackupRun, FakeVelero, FakeVeleroConfig, FieldValue, GROUP, Line, LogFormat, LogWriter,
    resource_types, run_backup,
};
use serde_json::{Value, json};

/// An emulated cluster with Velero's types, the fake Velero, a kubeconfig and the fake's
/// CA in a scratch directory. (Scenarios that need no Velero outcome can also run on a real
/// cluster through [`crate::backend::Backend`].)
pub struct VeleroWorld {
    runtime: tokio::runtime::Runtime,
    emulator: Option<kube_emulator::RunningEmulator>,
    pub fake: Option<FakeVelero>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: std::path::PathBuf,
    /// The fake Velero's CA (PEM), for `--cacert`.
    pub cacert: std::path::PathBuf,
}

impl VeleroWorld {
    /// Velero installed (types and fake controller), with `seed` objects created first.
    pub fn start(config: FakeVeleroConfig, seed: Vec<Value>) -> Self {
        Self::build(Some(config), seed)
    }

    /// A cluster without Velero.
    pub fn without_velero(seed: Vec<Value>) -> Self {
        Self::build(None, seed)
    }

    fn build(config: Option<FakeVeleroConfig>, mut seed: Vec<Value>) -> Self {
        // What `velero install` leaves: the default BackupStorageLocation, validated.
        if let Some(config) = &config {
            seed.insert(
                0,
                json!({"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
                    "metadata": {"name": "default", "namespace": config.namespace},
                    "spec": {"provider": "aws", "default": true, "objectStorage": {"bucket": "velero"}},
                    "status": {"phase": "Available"}}),
            );
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let (emulator, fake) = runtime.block_on(async {
            let mut emulator_config = kube_emulator::EmulatorConfig::default();
            let mut fake = None;
            if let Some(config) = config {
                let namespace = config.namespace.clone();
                let started = FakeVelero::start(config).await.expect("fake velero starts");
                for rt in resource_types() {
                    emulator_config = emulator_config.resource_type(rt);
                }
                emulator_config = emulator_config
                    .seed([json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})])
                    .controller(started.controller());
                fake = Some(started);
            }
            let emulator = kube_emulator::Emulator::start(emulator_config)
                .await
                .expect("emulator starts");
            let store = emulator.store();
            for object in seed {
                let status = object.get("status").cloned();
                let ns = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_owned();
                store.ensure_namespace(&ns).expect("namespace");
                let mut created = store.create(object).expect("seed object");
                // Status as seeded (pod phases), whatever create kept of it.
                if let Some(status) = status {
                    created["status"] = status;
                    if let Some(meta) = created["metadata"].as_object_mut() {
                        meta.remove("resourceVersion");
                    }
                    store.update(created).expect("seed status");
                }
            }
            (emulator, fake)
        });
        let kubeconfig = dir.path().join("kubeconfig");
        emulator
            .write_kubeconfig(&kubeconfig, "emulator", "default")
            .expect("kubeconfig");
        let cacert = dir.path().join("velero-ca.pem");
        std::fs::write(
            &cacert,
            fake.as_ref().map(|f| f.ca_pem.as_str()).unwrap_or(""),
        )
        .expect("ca");
        VeleroWorld {
            runtime,
            emulator: Some(emulator),
            fake,
            dir,
            kubeconfig,
            cacert,
        }
    }

    pub fn store(&self) -> Store {
        self.emulator.as_ref().expect("running").store()
    }

    /// Runs `kubectl-hooks --kubeconfig K ARGS...`.
    pub fn hooks(&self, args: &[&str]) -> std::process::Output {
        self.spawn_hooks(args)
            .wait_with_output()
            .expect("kubectl-hooks runs")
    }

    /// Starts `kubectl-hooks --kubeconfig K ARGS...` with piped output.
    pub fn spawn_hooks(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(crate::backend::plugin_binary())
            .env_remove("KUBECONFIG")
            .env_remove("VELERO_NAMESPACE")
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start kubectl-hooks")
    }

    pub fn backup(&self, name: &str) -> Option<Value> {
        self.store()
            .get(GROUP, "v1", "backups", Some("velero"), name)
            .ok()
    }

    pub fn backups(&self) -> Vec<Value> {
        self.store()
            .list(GROUP, "v1", "backups", None)
            .unwrap_or_default()
    }

    pub fn download_requests(&self) -> Vec<Value> {
        self.store()
            .list(GROUP, "v1", "downloadrequests", None)
            .unwrap_or_default()
    }

    pub fn delete_backup(&self, name: &str) {
        self.store()
            .delete(GROUP, "v1", "backups", Some("velero"), name)
            .expect("delete backup");
    }

    /// Creates a Backup directly (as another client would) and waits until it ends.
    pub fn finished_backup(&self, backup: Value) -> Value {
        let name = backup
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        self.store().create(backup).expect("create backup");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let current = self.backup(&name).expect("backup exists");
            let phase = current
                .pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("");
            if matches!(phase, "Completed" | "PartiallyFailed" | "Failed") {
                return current;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "backup {name} stays {phase}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for VeleroWorld {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

/// A Running pod in `namespace` with containers `app` and `fsfreeze`, labels `app=<name>`.
pub fn running_pod(namespace: &str, name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}, "annotations": annotations},
           "spec": {"containers": [{"name": "app", "image": "busybox"}, {"name": "fsfreeze", "image": "busybox"}]},
           "status": {"phase": "Running"}})
}
