//! The fake Velero server: a controller on the emulator's store that processes Backups
//! (see [`super::run`]) and answers DownloadRequests with a signed URL on its own loopback
//! HTTPS server, which serves the gzipped backup logs.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use velero_hooks::VeleroVersion;

use super::log::{LogFormat, LogWriter};
use super::run::run_backup;
use super::{GROUP, rfc3339};
use crate::Store;
use crate::store::EventType;

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
            version: VeleroVersion::LATEST_RELEASE,
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
        let cert = crate::tls::generate(&["127.0.0.1", "localhost"])?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(crate::tls::server_config(&cert)?));
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
        // prepareBackupRequest (pkg/controller/backup_controller.go): refused before it
        // runs, straight from New.
        let mut validation_errors = run.validation_errors.clone();
        let locations = store
            .list(GROUP, "v1", "backupstoragelocations", Some(&ns))
            .unwrap_or_default();
        let named = backup
            .pointer("/spec/storageLocation")
            .and_then(Value::as_str);
        if let Some(finding) = velero_hooks::spec::rules::check_storage_location(
            named,
            &locations,
            "spec",
            self.config.version,
        ) {
            validation_errors.push(finding.problem);
        }
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
        if !validation_errors.is_empty() {
            update(json!({"phase": "FailedValidation", "version": 1,
                "validationErrors": validation_errors}));
            return;
        }
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
