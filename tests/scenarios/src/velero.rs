//! Velero's part in the scenarios: its resource types served by the emulator, and a fake
//! Velero controller that processes Backups the way Velero does as far as hooks go (which
//! hooks run on which pod, how they are counted, how the phase is chosen, what the log
//! says) and answers DownloadRequests with a signed URL on its own loopback HTTPS server.
//!
//! Hook commands decide the outcome, since nothing is exec'd: `/bin/false` exits 1,
//! `/bin/echo ARGS` prints ARGS, `/bin/sleep` times out, anything else succeeds silently.
//! A missing container, an empty command or an unnamed spec hook fail as in Velero; a pod
//! that is not Running fails the exec; a Succeeded or Failed pod is skipped.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kube_emulator::store::EventType;
use kube_emulator::{ResourceType, Store};
use serde_json::{Value, json};
use velero_hooks::PodView;
use velero_hooks::backup::{BackupScope, HookOrigin, PlannedHook, check_spec_hooks, plan_pod};
use velero_hooks::hook::{BackupPhase, OnError, VeleroVersion};

pub const GROUP: &str = "velero.io";

/// The Velero types, namespaced in `velero.io/v1`, as its CRDs define them.
pub fn resource_types() -> Vec<ResourceType> {
    [
        ("Backup", "backups"),
        ("DownloadRequest", "downloadrequests"),
        ("BackupStorageLocation", "backupstoragelocations"),
        ("Schedule", "schedules"),
        ("Restore", "restores"),
    ]
    .into_iter()
    .map(|(kind, plural)| ResourceType::new(GROUP, "v1", kind, plural).categories(&["velero"]))
    .collect()
}

/// Velero's two log formats (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How the fake Velero behaves.
#[derive(Debug, Clone)]
pub struct FakeVeleroConfig {
    pub namespace: String,
    pub log_format: LogFormat,
    /// Pause between status updates (so that `--wait` sees progress).
    pub step: Duration,
    /// Number of progress updates while InProgress.
    pub steps: i64,
    /// Sign this URL instead of one on the log server (an unreachable one, say).
    pub download_url: Option<String>,
    /// Leave Backups alone (no phase changes), e.g. to delete one while it is waited for.
    pub frozen: bool,
    pub version: VeleroVersion,
}

impl Default for FakeVeleroConfig {
    fn default() -> Self {
        FakeVeleroConfig {
            namespace: "velero".into(),
            log_format: LogFormat::Text,
            step: Duration::from_millis(150),
            steps: 3,
            download_url: None,
            frozen: false,
            version: VeleroVersion::V1_18,
        }
    }
}

/// The fake Velero's log store and HTTPS server.
#[derive(Clone)]
pub struct FakeVelero {
    config: FakeVeleroConfig,
    /// Backup name → gzipped log.
    logs: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    pub server: SocketAddr,
    pub ca_pem: String,
}

impl FakeVelero {
    /// Starts the log server (loopback HTTPS, its own CA) on the current runtime.
    pub async fn start(config: FakeVeleroConfig) -> anyhow::Result<Self> {
        let cert = kube_emulator::tls::generate(&["127.0.0.1", "localhost"])?;
        let acceptor =
            tokio_rustls::TlsAcceptor::from(Arc::new(kube_emulator::tls::server_config(&cert)?));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let server = listener.local_addr()?;
        let logs: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let served = logs.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, logs) = (acceptor.clone(), served.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let logs = logs.clone();
                        async move {
                            let name = req.uri().path().strip_prefix("/logs/").unwrap_or("");
                            let body = logs.lock().unwrap().get(name).cloned();
                            Ok::<_, std::convert::Infallible>(match body {
                                Some(gz) => Response::new(Full::new(Bytes::from(gz))),
                                None => Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Full::new(Bytes::from_static(b"NoSuchKey")))
                                    .expect("response"),
                            })
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(FakeVelero {
            config,
            logs,
            server,
            ca_pem: cert.ca_pem,
        })
    }

    /// The gunzipped log of a processed backup.
    pub fn log_of(&self, backup: &str) -> Option<String> {
        let gz = self.logs.lock().unwrap().get(backup).cloned()?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
            .ok()?;
        Some(text)
    }

    /// The controller to pass to `EmulatorConfig::controller`.
    pub fn controller(
        &self,
    ) -> impl FnOnce(Store) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static
    {
        let fake = self.clone();
        move |store: Store| {
            Box::pin(async move {
                let downloads = fake.clone();
                let download_store = store.clone();
                tokio::spawn(async move { downloads.answer_downloads(download_store).await });
                let mut watch = store.watch(GROUP, "backups", true);
                while let Some(event) = watch.next().await {
                    if event.event_type != EventType::Added
                        || event.namespace != fake.config.namespace
                        || fake.config.frozen
                    {
                        continue;
                    }
                    let phase = event
                        .object
                        .pointer("/status/phase")
                        .and_then(Value::as_str);
                    if matches!(phase, None | Some("") | Some("New")) {
                        let (fake, store, backup) =
                            (fake.clone(), store.clone(), event.object.clone());
                        tokio::spawn(async move { fake.process(store, backup).await });
                    }
                }
            })
        }
    }

    async fn answer_downloads(self, store: Store) {
        let mut watch = store.watch(GROUP, "downloadrequests", true);
        while let Some(event) = watch.next().await {
            if event.event_type != EventType::Added {
                continue;
            }
            let mut request = event.object.clone();
            let target = request.pointer("/spec/target/name").and_then(Value::as_str);
            let kind = request.pointer("/spec/target/kind").and_then(Value::as_str);
            let (Some(target), Some("BackupLog")) = (target, kind) else {
                continue;
            };
            let url = match &self.config.download_url {
                Some(url) => url.clone(),
                None => format!(
                    "https://localhost:{}/logs/{target}?X-Amz-Signature=fake",
                    self.server.port()
                ),
            };
            request["status"] = json!({
                "phase": "Processed",
                "downloadURL": url,
                "expiration": rfc3339(jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10)),
            });
            if let Some(meta) = request["metadata"].as_object_mut() {
                meta.remove("resourceVersion");
            }
            let _ = store.update(request);
        }
    }

    /// Plays Velero's backup controller for one Backup.
    async fn process(self, store: Store, backup: Value) {
        let name = backup
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let ns = self.config.namespace.clone();
        let pods = store.list("", "v1", "pods", None).unwrap_or_default();
        let run = run_backup(&backup, &pods, self.config.version);
        let mut log = LogWriter::new(self.config.log_format, &ns, &name);
        log.info(
            "Setting up backup temp file",
            &[],
            "pkg/controller/backup_controller.go:678",
        );
        let started = jiff::Timestamp::now();
        let ttl = backup
            .pointer("/spec/ttl")
            .and_then(Value::as_str)
            .and_then(|t| velero_hooks::duration::parse_go_duration(t).ok())
            .unwrap_or(720 * 3_600 * 1_000_000_000);
        let total = run.items;
        let update = |status: Value| -> bool {
            let Ok(mut current) = store.get(GROUP, "v1", "backups", Some(&ns), &name) else {
                return false; // deleted meanwhile
            };
            current["status"] = status;
            if let Some(meta) = current["metadata"].as_object_mut() {
                meta.remove("resourceVersion");
            }
            store.update(current).is_ok()
        };
        let mut status = json!({
            "phase": "InProgress",
            "version": 1,
            "startTimestamp": rfc3339(started),
            "expiration": rfc3339(started + jiff::SignedDuration::from_nanos(ttl)),
            "progress": {"totalItems": total, "itemsBackedUp": 0},
        });
        if !update(status.clone()) {
            return;
        }
        if let Some(reason) = &run.failure {
            tokio::time::sleep(self.config.step).await;
            status["phase"] = json!("Failed");
            status["failureReason"] = json!(reason);
            status["completionTimestamp"] = json!(rfc3339(jiff::Timestamp::now()));
            log.error(reason, &[], "pkg/controller/backup_controller.go:723");
            self.store_log(&name, log);
            update(status);
            return;
        }
        for step in 1..=self.config.steps {
            tokio::time::sleep(self.config.step).await;
            status["progress"]["itemsBackedUp"] = json!(total * step / self.config.steps);
            if !update(status.clone()) {
                return;
            }
        }
        for line in &run.lines {
            log.push(line);
        }
        log.info(
            &format!("Backed up a total of {} items", run.items),
            &[],
            "pkg/backup/backup.go:752",
        );
        status["phase"] = json!(if log.errors > 0 {
            "PartiallyFailed"
        } else {
            "Completed"
        });
        status["completionTimestamp"] = json!(rfc3339(jiff::Timestamp::now()));
        status["progress"]["itemsBackedUp"] = json!(run.items_backed_up);
        status["hookStatus"] = json!({"hooksAttempted": run.attempted, "hooksFailed": run.failed});
        status["errors"] = json!(log.errors);
        status["warnings"] = json!(log.warnings);
        self.store_log(&name, log);
        update(status);
    }

    fn store_log(&self, name: &str, log: LogWriter) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = gz.write_all(log.text.as_bytes());
        if let Ok(bytes) = gz.finish() {
            self.logs.lock().unwrap().insert(name.to_owned(), bytes);
        }
    }
}

fn rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One line of Velero's log, before formatting.
#[derive(Debug, Clone)]
pub struct Line {
    pub level: &'static str,
    pub msg: String,
    pub fields: Vec<(&'static str, FieldValue)>,
    pub source: &'static str,
}

#[derive(Debug, Clone)]
pub enum FieldValue {
    Text(String),
    List(Vec<String>),
    /// `metav1.Duration`: `{30s}` in text, `"30s"` in JSON.
    Duration(String),
}

/// What the backup did, as far as hooks go.
#[derive(Debug, Default)]
pub struct BackupRun {
    pub attempted: i64,
    pub failed: i64,
    pub items: i64,
    pub items_backed_up: i64,
    pub lines: Vec<Line>,
    /// A fatal error: the backup ends `Failed`.
    pub failure: Option<String>,
}

/// Decides, for every pod the backup takes in, which hooks run and how they end, with
/// Velero's counting (§ hooks attempted/failed) and log lines.
pub fn run_backup(backup: &Value, pods: &[Value], version: VeleroVersion) -> BackupRun {
    let spec = backup.get("spec").cloned().unwrap_or(json!({}));
    let mut run = BackupRun::default();
    let scope: BackupScope = serde_json::from_value(spec.clone()).unwrap_or_default();
    let hooks = check_spec_hooks(spec.get("hooks"), version);
    if hooks.findings.iter().any(|f| f.code == "HV109") {
        run.failure = Some("error getting hooks: invalid label selector".into());
        return run;
    }
    let mut namespaces = std::collections::BTreeSet::new();
    for pod in pods {
        let namespace = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let labels: BTreeMap<String, String> = pod
            .pointer("/metadata/labels")
            .cloned()
            .and_then(|l| serde_json::from_value(l).ok())
            .unwrap_or_default();
        if !scope.includes_pod(namespace, &labels) {
            continue;
        }
        namespaces.insert(namespace.to_owned());
        run.items += 1;
        let view = PodView::from_json(pod.get("metadata"), pod.get("spec"));
        let phase = pod
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        let plan = plan_pod(&view, namespace, &labels, &hooks.resources, version);
        // Annotation timeouts Velero cannot parse: a warning each.
        let annotation_hooks = velero_hooks::hook::parse_hooks(&view, version);
        for hook in annotation_hooks.backup() {
            if let Some(text) = hook.timeout_raw.as_deref().filter(|t| !t.is_empty())
                && let Err(err) = velero_hooks::duration::parse_go_duration(text)
            {
                run.lines.push(Line {
                    level: "warning",
                    msg: format!("Unable to parse provided timeout {text}, using default: {err}"),
                    fields: vec![],
                    source: "internal/hook/item_hook_handler.go:357",
                });
            }
        }
        let mut pod_backed_up = true;
        for hook_phase in [BackupPhase::Pre, BackupPhase::Post] {
            if hook_phase == BackupPhase::Post && !pod_backed_up {
                break; // no post hooks after a pre hook failed with Fail
            }
            let mut stopped = false;
            for hook in plan.phase(hook_phase) {
                run.attempted += 1;
                if stopped {
                    continue;
                }
                let hook_fields = vec![
                    ("hookPhase", FieldValue::Text(hook_phase.as_str().into())),
                    (
                        "hookSource",
                        FieldValue::Text(hook.origin.log_source().into()),
                    ),
                    ("hookType", FieldValue::Text("exec".into())),
                ];
                if matches!(phase, "Succeeded" | "Failed") {
                    run.lines.push(Line {
                        level: "info",
                        msg: format!(
                            "Pod entered phase {phase} before some post-backup exec hooks ran"
                        ),
                        fields: hook_fields,
                        source: "internal/hook/item_hook_handler.go:228",
                    });
                    continue;
                }
                let result = exec(&mut run.lines, &view, phase, hook, &hook_fields);
                if let Err(error) = result {
                    run.failed += 1;
                    let mut fields = vec![("error", FieldValue::Text(error))];
                    fields.extend(hook_fields.clone());
                    run.lines.push(Line {
                        level: "error",
                        msg: "Error executing hook".into(),
                        fields,
                        source: "internal/hook/item_hook_handler.go:246",
                    });
                    if hook.on_error == OnError::Fail {
                        stopped = true;
                    }
                }
            }
            if stopped {
                run.lines.push(Line {
                    level: "error",
                    msg: format!("Error running {} hooks for pod", hook_phase.as_str()),
                    fields: vec![
                        (
                            "error",
                            FieldValue::Text("hook failed with onError Fail".into()),
                        ),
                        ("name", FieldValue::Text(name.into())),
                        ("namespace", FieldValue::Text(namespace.into())),
                    ],
                    source: "pkg/backup/backup.go:866",
                });
                if hook_phase == BackupPhase::Pre {
                    pod_backed_up = false;
                }
            }
        }
        if pod_backed_up {
            run.items_backed_up += 1;
        }
    }
    run.items += namespaces.len() as i64;
    run.items_backed_up += namespaces.len() as i64;
    run
}

/// The fake exec: logs `running exec hook`, then stdout/stderr, and says how it ended.
fn exec(
    lines: &mut Vec<Line>,
    pod: &PodView<'_>,
    pod_phase: &str,
    hook: &PlannedHook,
    hook_fields: &[(&'static str, FieldValue)],
) -> Result<(), String> {
    let name = hook.origin.hook_name().to_owned();
    let container = hook.effective_container.clone().unwrap_or_default();
    let timeout = hook
        .timeout_nanos
        .map(velero_hooks::duration::format_go_duration)
        .unwrap_or_else(|| "0s".into());
    let mut fields = vec![
        ("hookCommand", FieldValue::List(hook.command.clone())),
        ("hookContainer", FieldValue::Text(container.clone())),
        ("hookName", FieldValue::Text(name.clone())),
        (
            "hookOnError",
            FieldValue::Text(hook.on_error.as_str().into()),
        ),
    ];
    fields.extend(hook_fields.iter().cloned());
    fields.push(("hookTimeout", FieldValue::Duration(timeout.clone())));
    fields.sort_by_key(|(k, _)| *k);
    if let HookOrigin::Spec { name, .. } = &hook.origin
        && name.is_empty()
    {
        return Err("hookName is required".into());
    }
    if container.is_empty() {
        return Err("need at least 1 container".into());
    }
    if !pod.containers.contains(&container.as_str()) {
        return Err(format!("no such container: {container:?}"));
    }
    if hook.command.is_empty() {
        return Err("command is required".into());
    }
    lines.push(Line {
        level: "info",
        msg: "running exec hook".into(),
        fields: fields.clone(),
        source: "pkg/podexec/pod_command_executor.go:133",
    });
    if pod_phase != "Running" {
        return Err(format!(
            "unable to upgrade connection: container not found ({container:?})"
        ));
    }
    let program = hook.command[0].as_str();
    if program == "/bin/sleep" {
        return Err(format!("timed out after {timeout}"));
    }
    let stdout = match program {
        "/bin/echo" => format!("{}\n", hook.command[1..].join(" ")),
        _ => String::new(),
    };
    for (stream, text) in [("stdout", stdout), ("stderr", String::new())] {
        lines.push(Line {
            level: "info",
            msg: format!("{stream}: {text}"),
            fields: fields.clone(),
            source: "pkg/podexec/pod_command_executor.go:180",
        });
    }
    match program {
        "/bin/false" => Err("command terminated with exit code 1".into()),
        _ => Ok(()),
    }
}

/// Velero's logrus output for one backup, with its Error/Warning counters.
pub struct LogWriter {
    format: LogFormat,
    backup: String,
    pub text: String,
    pub errors: i64,
    pub warnings: i64,
}

impl LogWriter {
    pub fn new(format: LogFormat, namespace: &str, name: &str) -> Self {
        LogWriter {
            format,
            backup: format!("{namespace}/{name}"),
            text: String::new(),
            errors: 0,
            warnings: 0,
        }
    }

    fn info(&mut self, msg: &str, fields: &[(&'static str, FieldValue)], source: &'static str) {
        self.push(&Line {
            level: "info",
            msg: msg.into(),
            fields: fields.to_vec(),
            source,
        });
    }

    fn error(&mut self, msg: &str, fields: &[(&'static str, FieldValue)], source: &'static str) {
        self.push(&Line {
            level: "error",
            msg: msg.into(),
            fields: fields.to_vec(),
            source,
        });
    }

    pub fn push(&mut self, line: &Line) {
        match line.level {
            "error" => self.errors += 1,
            "warning" => self.warnings += 1,
            _ => {}
        }
        let time = rfc3339(jiff::Timestamp::now());
        let mut fields: Vec<(&str, FieldValue)> =
            vec![("backup", FieldValue::Text(self.backup.clone()))];
        fields.extend(line.fields.iter().cloned());
        fields.push(("logSource", FieldValue::Text(line.source.into())));
        fields.sort_by_key(|(k, _)| *k);
        match self.format {
            LogFormat::Text => {
                let mut out = format!(
                    "time={} level={} msg={}",
                    quote(&time),
                    line.level,
                    quote(&line.msg)
                );
                for (key, value) in fields {
                    let text = match value {
                        FieldValue::Text(t) => t,
                        FieldValue::List(items) => format!("[{}]", items.join(" ")),
                        FieldValue::Duration(d) => format!("{{{d}}}"),
                    };
                    out.push_str(&format!(" {key}={}", quote(&text)));
                }
                self.text.push_str(&out);
            }
            LogFormat::Json => {
                let mut object = serde_json::Map::new();
                for (key, value) in fields {
                    object.insert(
                        key.into(),
                        match value {
                            FieldValue::Text(t) | FieldValue::Duration(t) => json!(t),
                            FieldValue::List(items) => json!(items),
                        },
                    );
                }
                object.insert("level".into(), json!(line.level));
                object.insert("msg".into(), json!(line.msg));
                object.insert("time".into(), json!(time));
                self.text.push_str(&Value::Object(object).to_string());
            }
        }
        self.text.push('\n');
    }
}

/// logrus' text formatter: values with characters outside `[A-Za-z0-9-._/@^+]` are quoted
/// with Go's `%q`.
fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        return text.to_owned();
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

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

    fn build(config: Option<FakeVeleroConfig>, seed: Vec<Value>) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(namespace: &str, name: &str, annotations: Value, phase: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": namespace, "annotations": annotations, "labels": {"app": name}},
               "spec": {"containers": [{"name": "app"}, {"name": "fsfreeze"}]},
               "status": {"phase": phase}})
    }

    /// Velero's hook tracker cases (attempted/failed), through the fake's run.
    #[test]
    fn counts_like_velero() {
        let spec_hooks = json!({"resources": [{"name": "two", "pre": [
            {"exec": {"command": ["/bin/true"], "onError": "Continue"}},
            {"exec": {"command": ["/bin/true"], "onError": "Continue"}}]}]});
        let fail_middle = json!({"resources": [{"name": "h", "pre": [
            {"exec": {"command": ["/bin/false"], "onError": "Continue"}},
            {"exec": {"command": ["/bin/true"]}},
            {"exec": {"command": ["/bin/false"], "onError": "Fail"}},
            {"exec": {"command": ["/bin/true"]}}]}]});
        let legacy_fail = json!({"hook.backup.velero.io/command": "/bin/false", "hook.backup.velero.io/on-error": "Fail",
                                 "post.hook.backup.velero.io/command": "/bin/true"});
        // (spec.hooks, pods, attempted, failed, errors, items backed up)
        let cases = [
            (
                json!(null),
                vec![pod(
                    "a",
                    "p",
                    json!({"pre.hook.backup.velero.io/command": "/bin/true"}),
                    "Running",
                )],
                1,
                0,
                0,
                2,
            ),
            (
                spec_hooks.clone(),
                vec![pod(
                    "a",
                    "p",
                    json!({"hook.backup.velero.io/command": "/bin/ls"}),
                    "Running",
                )],
                1,
                0,
                0,
                2,
            ),
            (
                spec_hooks.clone(),
                vec![pod("a", "p", json!({}), "Running")],
                2,
                0,
                0,
                2,
            ),
            (
                fail_middle,
                vec![pod("a", "p", json!({}), "Running")],
                4,
                2,
                3,
                1,
            ),
            (
                spec_hooks.clone(),
                vec![
                    pod("a", "p", legacy_fail.clone(), "Running"),
                    pod("a", "q", json!({}), "Running"),
                ],
                3,
                1,
                2,
                2,
            ),
            (
                json!(null),
                vec![pod(
                    "a",
                    "done",
                    json!({"pre.hook.backup.velero.io/command": "/bin/false"}),
                    "Succeeded",
                )],
                1,
                0,
                0,
                2,
            ),
            (
                json!(null),
                vec![pod(
                    "a",
                    "p",
                    json!({"pre.hook.backup.velero.io/command": "/bin/true", "pre.hook.backup.velero.io/container": "nope"}),
                    "Running",
                )],
                1,
                1,
                1,
                2,
            ),
        ];
        for (hooks, pods, attempted, failed, errors, backed_up) in cases {
            let backup = json!({"spec": {"hooks": hooks}});
            let run = run_backup(&backup, &pods, VeleroVersion::V1_18);
            let mut log = LogWriter::new(LogFormat::Text, "velero", "b");
            for line in &run.lines {
                log.push(line);
            }
            assert_eq!(
                (run.attempted, run.failed, log.errors, run.items_backed_up),
                (attempted, failed, errors, backed_up),
                "{hooks} {pods:?}\n{}",
                log.text
            );
        }
    }

    #[test]
    fn an_invalid_spec_selector_fails_the_backup() {
        let backup = json!({"spec": {"hooks": {"resources": [{"name": "x",
            "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Equals"}]}}]}}});
        assert!(
            run_backup(&backup, &[], VeleroVersion::V1_18)
                .failure
                .is_some()
        );
    }

    #[test]
    fn text_quoting_like_logrus() {
        assert_eq!(quote("exec"), "exec");
        assert_eq!(quote("velero/b1"), "velero/b1");
        assert_eq!(quote("<from-annotation>"), "\"<from-annotation>\"");
        assert_eq!(quote("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
        assert_eq!(quote(""), "\"\"");
    }
}
