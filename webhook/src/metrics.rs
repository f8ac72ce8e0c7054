//! Prometheus metrics, served as text on the metrics port. Every label value is a static
//! string from a closed set (kinds from the library's table, verdicts, paths), so a client
//! cannot grow the number of series.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use velero_hooks::workload::WORKLOAD_KINDS;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub path: &'static str,
    pub kind: &'static str,
    pub operation: &'static str,
    pub verdict: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PathLabels {
    pub path: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub duration: Family<PathLabels, Histogram>,
    pub findings: Family<CodeLabels, Counter>,
    pub cert_reloads: Counter,
    pub cert_reload_failures: Counter,
    pub in_flight: Gauge<i64, std::sync::atomic::AtomicI64>,
    pub cert_loaded_at: Gauge<f64, AtomicU64>,
    pub open_connections: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Connections closed by the server's limits (and all others, as `ended`).
    pub connections_closed: Family<ReasonLabels, Counter>,
    /// Requests answered 503 because a budget stayed full for the queue wait.
    pub refusals: Family<ReasonLabels, Counter>,
    /// Handles on the series above, resolved on first use. `Family::get_or_create` hashes
    /// the label set and takes the family's lock on every call; every label value is
    /// from a closed set, so each request instead indexes a table (see [`SeriesIndex`]).
    /// A handle is a clone of the family's own series, so the exposition is unchanged
    /// (a series appears once it has been used, as before).
    request_series: Box<[OnceLock<Counter>]>,
    duration_series: [OnceLock<Histogram>; PATHS.len()],
}

/// The label values of `admission_requests`, in table order; other values (none are
/// produced today) fall back to `Family::get_or_create`.
const PATHS: [&str; 3] = ["/validate", "/warn", "/mutate"];
/// Kinds after [`WORKLOAD_KINDS`]: Velero's own objects, then the rest.
const OTHER_KINDS: [&str; 5] = ["Backup", "Schedule", "Restore", "other", "unknown"];
const OPERATIONS: [&str; 5] = ["CREATE", "UPDATE", "DELETE", "CONNECT", "unknown"];
const VERDICTS: [&str; 5] = ["allowed", "denied", "warned", "patched", "error"];

fn kinds() -> usize {
    WORKLOAD_KINDS.len() + OTHER_KINDS.len()
}

fn position(table: &[&str], value: &str) -> Option<usize> {
    table.iter().position(|t| *t == value)
}

/// Where a label set's series handle is kept.
struct SeriesIndex {
    path: usize,
    request: usize,
}

impl SeriesIndex {
    fn of(labels: &RequestLabels) -> Option<Self> {
        let path = position(&PATHS, labels.path)?;
        let kind = WORKLOAD_KINDS
            .iter()
            .position(|k| k.kind == labels.kind)
            .or_else(|| position(&OTHER_KINDS, labels.kind).map(|i| WORKLOAD_KINDS.len() + i))?;
        let operation = position(&OPERATIONS, labels.operation)?;
        let verdict = position(&VERDICTS, labels.verdict)?;
        let request =
            ((path * kinds() + kind) * OPERATIONS.len() + operation) * VERDICTS.len() + verdict;
        Some(SeriesIndex { path, request })
    }
}

/// Decisions take microseconds: buckets from 25µs to 1s so the sub-millisecond range is
/// resolved, and the API server's timeouts (1-30 s) are visible at the top.
const DURATION_BUCKETS: [f64; 15] = [
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0,
];

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("velero_hooks_webhook");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "admission_requests",
            "Admission requests by path, kind, operation and verdict",
            requests.clone(),
        );
        let duration = Family::<PathLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(DURATION_BUCKETS)) as fn() -> Histogram,
        );
        registry.register(
            "admission_duration_seconds",
            "Time from request received to response rendered",
            duration.clone(),
        );
        let findings = Family::<CodeLabels, Counter>::default();
        registry.register(
            "findings",
            "Findings reported in admission requests, by rule code",
            findings.clone(),
        );
        let cert_reloads = Counter::default();
        registry.register(
            "certificate_reloads",
            "Serving certificates loaded from disk after a change",
            cert_reloads.clone(),
        );
        let cert_reload_failures = Counter::default();
        registry.register(
            "certificate_reload_failures",
            "Changed certificate files that could not be loaded (the previous one is kept)",
            cert_reload_failures.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_requests",
            "Requests being processed",
            in_flight.clone(),
        );
        let cert_loaded_at = Gauge::default();
        registry.register(
            "certificate_loaded_timestamp_seconds",
            "Unix time the serving certificate in use was loaded",
            cert_loaded_at.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "Client connections open on both ports",
            open_connections.clone(),
        );
        let connections_closed = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "connections_closed",
            "Connections closed, by reason: ended (by the client, an error, idle or shutdown), evicted (to make room, before any request), no_first_request, write_timeout",
            connections_closed.clone(),
        );
        let refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "overload_refusals",
            "Admission requests answered 503 with Retry-After, by the budget that was full: request_slots, body_bytes or response_bytes",
            refusals.clone(),
        );
        Metrics {
            registry,
            open_connections,
            connections_closed,
            refusals,
            requests,
            duration,
            findings,
            cert_reloads,
            cert_reload_failures,
            in_flight,
            cert_loaded_at,
            request_series: (0..PATHS.len() * kinds() * OPERATIONS.len() * VERDICTS.len())
                .map(|_| OnceLock::new())
                .collect(),
            duration_series: Default::default(),
        }
    }

    pub fn observe(&self, labels: RequestLabels, elapsed: Duration, codes: &[&'static str]) {
        match SeriesIndex::of(&labels) {
            Some(index) => {
                self.duration_series[index.path]
                    .get_or_init(|| {
                        self.duration
                            .get_or_create_owned(&PathLabels { path: labels.path })
                    })
                    .observe(elapsed.as_secs_f64());
                self.request_series[index.request]
                    .get_or_init(|| self.requests.get_or_create_owned(&labels))
                    .inc();
            }
            None => {
                self.duration
                    .get_or_create(&PathLabels { path: labels.path })
                    .observe(elapsed.as_secs_f64());
                self.requests.get_or_create(&labels).inc();
            }
        }
        // Only requests with findings get here, a few codes each.
        for code in codes {
            self.findings.get_or_create(&CodeLabels { code }).inc();
        }
    }

    pub fn connection_closed(&self, reason: &'static str) {
        self.connections_closed
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    pub fn refusal(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub fn certificate_loaded(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        self.cert_loaded_at.set(now.as_secs_f64());
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_findings_and_latency() {
        let metrics = Metrics::new();
        metrics.observe(
            RequestLabels {
                path: "/validate",
                kind: "Deployment",
                operation: "CREATE",
                verdict: "denied",
            },
            Duration::from_micros(80),
            &["HV003", "HV020", "HV003"],
        );
        let text = metrics.render();
        for line in [
            r#"velero_hooks_webhook_admission_requests_total{path="/validate",kind="Deployment",operation="CREATE",verdict="denied"} 1"#,
            r#"velero_hooks_webhook_findings_total{code="HV003"} 2"#,
            r#"velero_hooks_webhook_admission_duration_seconds_bucket{le="0.0001",path="/validate"} 1"#,
            r#"velero_hooks_webhook_admission_duration_seconds_bucket{le="0.00005",path="/validate"} 0"#,
            "velero_hooks_webhook_certificate_reload_failures_total 0",
            "velero_hooks_webhook_in_flight_requests 0",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn every_label_set_has_its_own_series() {
        let metrics = Metrics::new();
        let mut expected = 0;
        for path in PATHS {
            for kind in WORKLOAD_KINDS.iter().map(|k| k.kind).chain(OTHER_KINDS) {
                for operation in OPERATIONS {
                    for verdict in VERDICTS {
                        let labels = RequestLabels {
                            path,
                            kind,
                            operation,
                            verdict,
                        };
                        metrics.observe(labels.clone(), Duration::from_micros(1), &[]);
                        metrics.observe(labels.clone(), Duration::from_micros(1), &[]);
                        assert_eq!(metrics.requests.get_or_create(&labels).get(), 2);
                        expected += 1;
                    }
                }
            }
        }
        let text = metrics.render();
        let series = text
            .lines()
            .filter(|l| l.starts_with("velero_hooks_webhook_admission_requests_total{"))
            .count();
        assert_eq!(series, expected);
        // A label value outside the tables still counts.
        let odd = RequestLabels {
            path: "/elsewhere",
            kind: "Deployment",
            operation: "CREATE",
            verdict: "allowed",
        };
        metrics.observe(odd.clone(), Duration::from_micros(1), &[]);
        assert_eq!(metrics.requests.get_or_create(&odd).get(), 1);
        assert!(text.contains(r#"admission_duration_seconds_count{path="/mutate"} "#));
    }
}
