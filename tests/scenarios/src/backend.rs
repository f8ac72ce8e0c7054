//! Where a plugin scenario runs: an emulated API server started in-process (the default),
//! or a real cluster when `VELERO_HOOKS_E2E_KUBECONFIG` names a kubeconfig. A scenario
//! seeds objects, runs the real `kubectl-hooks` binary and reads objects back through this
//! one type, so the same scenario code runs on both. On a real cluster each scenario works
//! in a fresh namespace that is deleted afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_emulator::{Emulator, EmulatorConfig, Fault, RecordedRequest, RunningEmulator};
use serde_json::{Value, json};
use velero_hooks::workload::{find_by_name, find_kind, group_of};

/// The environment variable naming a real cluster's kubeconfig.
pub const E2E_KUBECONFIG: &str = "VELERO_HOOKS_E2E_KUBECONFIG";

/// An image every real cluster can pull (pods of the scenarios never need to do anything).
pub const IMAGE: &str = "registry.k8s.io/pause:3.10";

enum Server {
    Emulated(RunningEmulator),
    Real,
}

pub struct Backend {
    server: Option<Server>,
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    /// The namespace the scenario works in (also the kubeconfig context's namespace on the
    /// emulator; on a real cluster it is passed with `-n`).
    pub namespace: String,
    /// The kubeconfig the plugin is given.
    pub kubeconfig: PathBuf,
    /// A scratch directory (HOME of the processes run, files written by the scenario).
    pub dir: tempfile::TempDir,
}

impl Backend {
    /// Starts the backend for scenario `name` (used in the real cluster's namespace name).
    pub fn start(name: &str) -> Backend {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        match std::env::var_os(E2E_KUBECONFIG) {
            Some(path) => {
                let kubeconfig = PathBuf::from(path);
                let suffix = std::process::id() % 100_000;
                let namespace = format!("vh-{}-{suffix}", name.replace('_', "-"))
                    .chars()
                    .take(63)
                    .collect::<String>()
                    .trim_end_matches('-')
                    .to_owned();
                let client = runtime.block_on(client_for(&kubeconfig));
                let backend = Backend {
                    server: Some(Server::Real),
                    runtime,
                    client,
                    namespace,
                    kubeconfig,
                    dir,
                };
                backend.create(json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": backend.namespace}}));
                backend.wait_for_default_service_account();
                backend
            }
            None => {
                let namespace = "shop".to_owned();
                let emulator = runtime
                    .block_on(Emulator::start(EmulatorConfig::default()))
                    .expect("emulator starts");
                emulator
                    .store()
                    .ensure_namespace(&namespace)
                    .expect("namespace");
                let kubeconfig = dir.path().join("kubeconfig");
                emulator
                    .write_kubeconfig(&kubeconfig, "emulator", &namespace)
                    .expect("kubeconfig written");
                let client = runtime.block_on(client_for(&kubeconfig));
                Backend {
                    server: Some(Server::Emulated(emulator)),
                    runtime,
                    client,
                    namespace,
                    kubeconfig,
                    dir,
                }
            }
        }
    }

    pub fn is_emulated(&self) -> bool {
        matches!(self.server, Some(Server::Emulated(_)))
    }

    fn emulator(&self) -> Option<&RunningEmulator> {
        match &self.server {
            Some(Server::Emulated(emulator)) => Some(emulator),
            _ => None,
        }
    }

    /// Requests the emulated server received (`None` on a real cluster).
    pub fn requests(&self) -> Option<Vec<RecordedRequest>> {
        self.emulator().map(RunningEmulator::requests)
    }

    /// Makes matching requests fail (emulator only; false on a real cluster, where the
    /// scenario must skip the part that needs it).
    pub fn inject_fault(&self, fault: Fault) -> bool {
        match self.emulator() {
            Some(emulator) => {
                emulator.inject_fault(fault);
                true
            }
            None => false,
        }
    }

    /// The emulator (for scenarios that need its kubeconfig writer or store).
    pub fn emulated(&self) -> Option<&RunningEmulator> {
        self.emulator()
    }

    /// Creates an object through the API (in the scenario's namespace when namespaced).
    pub fn create(&self, mut object: Value) -> Value {
        let (api, kind) = self.api_for(&object);
        if kind != "Namespace" {
            object["metadata"]["namespace"] = json!(self.namespace);
        }
        let object: DynamicObject = serde_json::from_value(object).expect("object");
        let created = self
            .runtime
            .block_on(api.create(&PostParams::default(), &object))
            .unwrap_or_else(|e| panic!("create {kind}: {e}"));
        serde_json::to_value(created).expect("json")
    }

    pub fn seed(&self, objects: impl IntoIterator<Item = Value>) {
        for object in objects {
            self.create(object);
        }
    }

    /// An object of the scenario's namespace by type (`deploy`, `pods`...) and name.
    pub fn get(&self, resource: &str, name: &str) -> Option<Value> {
        let kind = find_by_name(resource).expect("a workload kind");
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &api_resource(kind.api_version, kind.kind, kind.resource),
        );
        self.runtime
            .block_on(api.get_opt(name))
            .expect("get")
            .map(|o| serde_json::to_value(o).expect("json"))
    }

    /// The pod annotations of an object (the template's for workloads).
    pub fn hook_annotations(&self, resource: &str, name: &str) -> Value {
        let object = self.get(resource, name).expect("object exists");
        let kind = find_by_name(resource).expect("kind");
        object
            .pointer(&format!("{}/metadata/annotations", kind.template_pointer))
            .cloned()
            .unwrap_or_else(|| json!({}))
    }

    /// A Deployment `name` with one pod managed through a ReplicaSet, as a cluster makes
    /// them; returns the pod's name. The emulator runs no controllers, so there the
    /// ReplicaSet and the pod are created as the controllers would.
    pub fn deployment_with_pod(&self, name: &str) -> String {
        let mut deployment = deployment(name, json!({}));
        deployment["spec"]["replicas"] = json!(1);
        let created = self.create(deployment);
        if !self.is_emulated() {
            let api: Api<DynamicObject> = Api::namespaced_with(
                self.client.clone(),
                &self.namespace,
                &api_resource("v1", "Pod", "pods"),
            );
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let pods = self
                    .runtime
                    .block_on(api.list(&ListParams::default().labels(&format!("app={name}"))))
                    .expect("list pods");
                if let Some(pod) = pods.items.first() {
                    return pod.metadata.name.clone().expect("pod name");
                }
                assert!(Instant::now() < deadline, "no pod for deployment/{name}");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        let rs_name = format!("{name}-7d9f8c6b5");
        let mut rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "labels": {"app": name},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                    "uid": created["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                "template": created["spec"]["template"].clone()},
        });
        rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = json!("7d9f8c6b5");
        let rs = self.create(rs);
        let pod_name = format!("{rs_name}-x2k4p");
        let mut pod = pod(&pod_name, json!({}));
        pod["metadata"]["labels"] = json!({"app": name});
        pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": rs_name, "uid": rs["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]);
        self.create(pod);
        pod_name
    }

    /// `kubectl-hooks` with a clean environment (no KUBECONFIG, HOME in the scratch dir).
    pub fn plugin(&self) -> Command {
        let mut command = Command::new(plugin_binary());
        command
            .env_remove("KUBECONFIG")
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1");
        command
    }

    /// Runs `kubectl-hooks --kubeconfig K -n NS ARGS...`.
    pub fn hooks(&self, args: &[&str]) -> Output {
        self.plugin()
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["-n", &self.namespace])
            .args(args)
            .output()
            .expect("run kubectl-hooks")
    }

    /// Runs the real `kubectl --kubeconfig K -n NS ARGS...`.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(kubectl_binary())
            .env_remove("KUBECONFIG")
            .env("HOME", self.dir.path())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["-n", &self.namespace])
            .args(args)
            .output()
            .expect("run kubectl")
    }

    fn api_for(&self, object: &Value) -> (Api<DynamicObject>, String) {
        let api_version = object["apiVersion"].as_str().expect("apiVersion");
        let kind = object["kind"].as_str().expect("kind").to_owned();
        if kind == "Namespace" {
            let resource = api_resource("v1", "Namespace", "namespaces");
            return (Api::all_with(self.client.clone(), &resource), kind);
        }
        let workload = find_kind(group_of(api_version), &kind)
            .unwrap_or_else(|| panic!("scenarios seed pods and workloads, not {kind}"));
        let resource = api_resource(workload.api_version, workload.kind, workload.resource);
        (
            Api::namespaced_with(self.client.clone(), &self.namespace, &resource),
            kind,
        )
    }

    /// A new namespace on a real cluster gets its `default` ServiceAccount a moment later;
    /// pods are refused until then.
    fn wait_for_default_service_account(&self) {
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &api_resource("v1", "ServiceAccount", "serviceaccounts"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while self
            .runtime
            .block_on(api.get_opt("default"))
            .ok()
            .flatten()
            .is_none()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        match self.server.take() {
            Some(Server::Emulated(emulator)) => self.runtime.block_on(emulator.shutdown()),
            Some(Server::Real) => {
                let api: Api<DynamicObject> = Api::all_with(
                    self.client.clone(),
                    &api_resource("v1", "Namespace", "namespaces"),
                );
                let _ = self
                    .runtime
                    .block_on(api.delete(&self.namespace, &DeleteParams::background()));
            }
            None => {}
        }
    }
}

fn api_resource(api_version: &str, kind: &str, plural: &str) -> kube::api::ApiResource {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    kube::api::ApiResource {
        group: group.to_owned(),
        version: version.to_owned(),
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        plural: plural.to_owned(),
    }
}

async fn client_for(path: &Path) -> kube::Client {
    let kubeconfig = Kubeconfig::read_from(path).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

/// The `kubectl-hooks` binary of this build: next to the test executable's directory
/// (`target/<profile>/`), built first with cargo (once per test process) so it is never stale.
pub fn plugin_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| cargo_build("kubectl-hooks", "kubectl-hooks"))
        .clone()
}

/// The `kube-emulator` binary of this build (as `cargo run -p kube-emulator` runs it), built
/// the same way as [`plugin_binary`].
pub fn emulator_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| cargo_build("kube-emulator", "kube-emulator"))
        .clone()
}

/// Builds the binaries of `package` in this test executable's profile; returns `binary`'s path.
fn cargo_build(package: &str, binary: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned();
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build.args(["build", "--quiet", "-p", package, "--bins"]);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("run cargo build -p {package}: {e}"));
    assert!(status.success(), "cargo build -p {package} failed");
    let path = profile_dir.join(format!("{binary}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The real kubectl: `$KUBECTL`, else the repository's pinned `.tools/bin/kubectl`, else
/// `kubectl` on PATH.
pub fn kubectl_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return path.into();
    }
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/bin/kubectl");
    if pinned.is_file() {
        return pinned;
    }
    "kubectl".into()
}

/// A Deployment (no replicas, so a real cluster runs nothing) with two containers and
/// these pod-template annotations.
pub fn deployment(name: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {"containers": [{"name": "app", "image": IMAGE}, {"name": "fsfreeze", "image": IMAGE}]}}}
    })
}

/// A StatefulSet with no replicas and one container `db`.
pub fn statefulset(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": 0, "serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "db", "image": IMAGE}]}}}
    })
}

/// A suspended CronJob with one container `dump`.
pub fn cronjob(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"schedule": "0 3 * * *", "suspend": true, "jobTemplate": {"spec": {"template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "dump", "image": IMAGE}]}}}}}
    })
}

/// A bare pod with one container `app`, labels `app=<name>` and `tier=backend`.
pub fn pod(name: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name, "tier": "backend"}, "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": IMAGE}]}
    })
}

/// stdout of a run, with stderr shown when the assertion fails.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit status and returns stdout.
#[track_caller]
pub fn expect_exit(output: &Output, code: i32) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
    stdout(output)
}
