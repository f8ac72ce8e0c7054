//! What an attack costs the running webhook: its resident memory (VmRSS from
//! /proc/<pid>/status, sampled for the peak), and how a well-behaved client fares
//! meanwhile (one HTTP/2 connection kept open, as kube-apiserver keeps its connection to
//! a webhook, checking every verdict).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client::{Proto, connect, plain_get, tls_config};

/// The chart's memory limit (`resources.limits.memory: 64Mi`).
pub const CHART_LIMIT_KIB: u64 = 64 * 1024;

/// Resident memory of a process, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// The highest VmRSS seen while it runs, sampled every 10 ms on a thread of its own.
pub struct PeakRss {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    pub fn start(pid: u32) -> Self {
        let (stop, peak) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        PeakRss {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// The answers a well-behaved client got.
#[derive(Debug, Default)]
pub struct Answers {
    /// Latency of each answer with the right verdict.
    pub correct: Vec<Duration>,
    /// Anything else: errors, other statuses, wrong verdicts.
    pub failures: Vec<String>,
}

impl Answers {
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.correct.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }

    pub fn summary(&self) -> String {
        format!(
            "{} answered correctly, {} failed; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.correct.len(),
            self.failures.len(),
            self.percentile(0.5).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.percentile(1.0).as_secs_f64() * 1e3,
        )
    }
}

/// Sends `body` to /validate every `every` over one HTTP/2 connection (a new one only if
/// it breaks, which counts as a failure), expecting a denial, until stopped. It runs on a
/// thread and runtime of its own, so that the attackers' work in the test's runtime
/// (building megabyte bodies, encrypting them) is not counted in its latency.
pub struct NormalClient {
    stop: Arc<AtomicBool>,
    task: std::thread::JoinHandle<Answers>,
}

impl NormalClient {
    pub fn start(addr: SocketAddr, ca_pem: &str, body: Vec<u8>, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let config = tls_config(ca_pem, Proto::H2);
        let task = {
            let stop = stop.clone();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the normal client");
            std::thread::spawn(move || {
                runtime.block_on(async move {
                    let mut answers = Answers::default();
                    let mut conn = None;
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        let outcome = tokio::time::timeout(Duration::from_secs(30), async {
                            if conn.is_none() {
                                conn = Some(connect(addr, config.clone(), Proto::H2).await?);
                            }
                            let sent = conn.as_mut().unwrap().post("/validate", body.clone()).await;
                            if sent.is_err() {
                                conn = None;
                            }
                            sent
                        })
                        .await;
                        match outcome {
                            Ok(Ok(reply))
                                if reply.status == 200
                                    && reply.json()["response"]["allowed"] == false =>
                            {
                                answers.correct.push(started.elapsed());
                            }
                            Ok(Ok(reply)) => {
                                answers
                                    .failures
                                    .push(format!("{}: {}", reply.status, reply.text()))
                            }
                            Ok(Err(err)) => answers.failures.push(format!("{err:#}")),
                            Err(_) => answers.failures.push("no answer in 30 s".to_owned()),
                        }
                        tokio::time::sleep(every).await;
                    }
                    answers
                })
            })
        };
        NormalClient { stop, task }
    }

    pub async fn finish(self) -> Answers {
        self.stop.store(true, Ordering::Relaxed);
        let task = self.task;
        tokio::task::spawn_blocking(move || task.join().expect("normal client"))
            .await
            .expect("normal client")
    }
}

/// The value of one sample line of the metrics exposition (0 when absent).
pub async fn metric(metrics: SocketAddr, series: &str) -> f64 {
    let (_, text) = plain_get(metrics, "/metrics").await.expect("metrics");
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Waits up to `limit` for `condition`, checking every 100 ms.
pub async fn eventually<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A review of a pod carrying `keys` misspelt hook keys (`pre.hook.backup.velero.io/
/// comand00000`, ...) and a broken command; an UPDATE carries the pod twice.
pub fn misspelt_keys_review(keys: usize, update: bool) -> Vec<u8> {
    let mut annotations = serde_json::Map::new();
    annotations.insert(
        "pre.hook.backup.velero.io/command".to_owned(),
        "/sbin/fsfreeze --freeze /data".into(),
    );
    for i in 0..keys {
        annotations.insert(
            format!("pre.hook.backup.velero.io/comand{i:05}"),
            "x".into(),
        );
    }
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "db", "namespace": "shop", "annotations": annotations},
        "spec": {"containers": [{"name": "db", "image": "postgres"}]},
    });
    let mut old = pod.clone();
    old["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .insert("pre.hook.backup.velero.io/timeout".to_owned(), "30s".into());
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "misspelt", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "db", "namespace": "shop",
            "operation": if update { "UPDATE" } else { "CREATE" },
            "object": pod,
            "oldObject": if update { old } else { serde_json::Value::Null },
        },
    }))
    .unwrap()
}
