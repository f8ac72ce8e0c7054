//! The HTTP side: routes, body limits, timeouts, TLS accept loop, graceful shutdown.
//!
//! Two listeners: HTTPS for admission (and the probes the chart points there) and plain
//! HTTP for metrics and probes. Each connection is served by hyper-util's `auto` builder
//! (HTTP/1.1 or HTTP/2, as ALPN and the preface say) driving an axum `Router`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::metrics::{Metrics, RequestLabels};
use crate::review::{Mode, Policy, Verdict, review_body};
use crate::tls::{self, CertFiles, CertStore, SelfSigned};

/// kube-apiserver's own limit on a request body (3 MiB); an UPDATE review carries the
/// object twice, so it can exceed axum's 2 MB default.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
/// A body still arriving after this is from a stalled client: kube-apiserver's webhook
/// timeout is at most 30 s and 10 s by default.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to send the request headers. hyper also runs this timer while an HTTP/1.1
/// connection waits for its next request, so it is the HTTP/1.1 keep-alive idle limit too.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections (HTTP/2 mostly) with no request for this long are closed with a GOAWAY.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the serving certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// PEM files, re-read when they change.
    Files(CertFiles),
    /// Generated in memory at start-up.
    SelfSigned(SelfSigned),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub metrics_listen: SocketAddr,
    pub certs: CertSource,
    pub policy: Policy,
    pub reload_interval: Duration,
    pub shutdown_grace: Duration,
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub policy: Policy,
    pub metrics: Arc<Metrics>,
    /// True once the certificate is loaded and the listeners are bound; false again while
    /// shutting down, so endpoints stop routing to a draining pod.
    pub ready: AtomicBool,
}

/// A bound, not yet serving, server.
pub struct Server {
    settings: Settings,
    https: TcpListener,
    metrics_listener: TcpListener,
    state: Arc<AppState>,
    store: Arc<CertStore>,
    /// The file content the certificate came from, when it came from files.
    loaded: Option<tls::CertContent>,
    tls: TlsAcceptor,
}

impl Server {
    /// Loads the certificate (a bad one fails start-up, with the reason) and binds both
    /// addresses.
    pub async fn bind(settings: Settings) -> anyhow::Result<Server> {
        let (key, loaded) = match &settings.certs {
            CertSource::Files(files) => {
                let (key, content) = files.load()?;
                (key, Some(content))
            }
            CertSource::SelfSigned(generated) => (
                tls::certified_key(generated.cert_pem.as_bytes(), generated.key_pem.as_bytes())?,
                None,
            ),
        };
        let store = Arc::new(CertStore::new(key));
        let tls = TlsAcceptor::from(tls::server_config(store.clone())?);
        let https = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let metrics_listener = TcpListener::bind(settings.metrics_listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.metrics_listen))?;
        let metrics = Arc::new(Metrics::new());
        metrics.certificate_loaded();
        let state = Arc::new(AppState {
            policy: settings.policy,
            metrics,
            ready: AtomicBool::new(true),
        });
        Ok(Server {
            settings,
            https,
            metrics_listener,
            state,
            store,
            loaded,
            tls,
        })
    }

    pub fn https_addr(&self) -> SocketAddr {
        self.https.local_addr().unwrap_or(self.settings.listen)
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_listener
            .local_addr()
            .unwrap_or(self.settings.metrics_listen)
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests
    /// finish (at most the grace period) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        // Every connection task holds a clone; `recv` returns None once all are gone.
        let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
        let watcher = match (&self.settings.certs, self.loaded) {
            (CertSource::Files(files), Some(loaded)) => Some(tokio::spawn(tls::watch(
                files.clone(),
                loaded,
                self.store.clone(),
                self.state.metrics.clone(),
                self.settings.reload_interval,
            ))),
            _ => None,
        };
        let https = tokio::spawn(accept_tls(
            self.https,
            self.tls,
            admission_router(self.state.clone()),
            self.state.clone(),
            stop_rx.clone(),
            alive_tx.clone(),
        ));
        let plain = tokio::spawn(accept_plain(
            self.metrics_listener,
            metrics_router(self.state.clone()),
            stop_rx,
            alive_tx,
        ));
        shutdown.await;
        self.state.ready.store(false, Ordering::SeqCst);
        let in_flight = self.state.metrics.in_flight.get();
        tracing::info!(
            in_flight,
            "shutting down: no new connections, draining requests"
        );
        let _ = stop_tx.send(true);
        let _ = https.await;
        let _ = plain.await;
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        let grace = self.settings.shutdown_grace;
        if tokio::time::timeout(grace, alive_rx.recv()).await.is_err() {
            tracing::warn!(
                grace_seconds = grace.as_secs_f64(),
                "grace period over with connections still open; closing them"
            );
        } else {
            tracing::info!("all connections drained");
        }
        Ok(())
    }
}

/// `/validate`, `/warn`, `/mutate`, `/healthz`, `/readyz`.
pub fn admission_router(state: Arc<AppState>) -> Router {
    let admission = |mode: Mode| {
        post(
            move |State(state): State<Arc<AppState>>, request: Request| admit(state, mode, request),
        )
        .fallback(move || async move {
            method_not_allowed("POST", &format!("{} takes an AdmissionReview", mode.path()))
        })
    };
    Router::new()
        .route(Mode::Enforce.path(), admission(Mode::Enforce))
        .route(Mode::Warn.path(), admission(Mode::Warn))
        .route(Mode::Mutate.path(), admission(Mode::Mutate))
        .merge(probes())
        .fallback(|| async {
            not_found("/validate, /warn, /mutate (POST) and /healthz, /readyz (GET)")
        })
        .with_state(state)
}

/// `/metrics`, `/healthz`, `/readyz` on the plain-HTTP port.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(state): State<Arc<AppState>>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    state.metrics.render(),
                )
            })
            .fallback(|| async { method_not_allowed("GET", "/metrics") }),
        )
        .merge(probes())
        .fallback(|| async { not_found("/metrics, /healthz and /readyz (GET)") })
        .with_state(state)
}

fn probes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { "ok\n" }).fallback(|| async { method_not_allowed("GET", "/healthz") }),
        )
        .route(
            "/readyz",
            get(|State(state): State<Arc<AppState>>| async move {
                if state.ready.load(Ordering::SeqCst) {
                    (StatusCode::OK, "ready\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                }
            })
            .fallback(|| async { method_not_allowed("GET", "/readyz") }),
        )
}

fn text(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

fn method_not_allowed(allow: &'static str, what: &str) -> Response {
    let mut response = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed: {what}; use {allow}\n"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

fn not_found(paths: &str) -> Response {
    text(
        StatusCode::NOT_FOUND,
        format!("not found: this server answers {paths}\n"),
    )
}

/// Decrements the in-flight gauge however the request ends.
struct InFlight<'a>(&'a Metrics);

impl<'a> InFlight<'a> {
    fn enter(metrics: &'a Metrics) -> Self {
        metrics.in_flight.inc();
        InFlight(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

/// `POST /validate`, `/warn` or `/mutate` on the HTTPS port: these are answered without
/// going through the router (the only other routes there are the probes and the
/// fallbacks, which the router still serves, as does every other method).
fn admission_mode<B>(request: &hyper::Request<B>) -> Option<Mode> {
    if request.method() != axum::http::Method::POST {
        return None;
    }
    [Mode::Enforce, Mode::Warn, Mode::Mutate]
        .into_iter()
        .find(|mode| request.uri().path() == mode.path())
}

async fn admit<B>(state: Arc<AppState>, mode: Mode, request: hyper::Request<B>) -> Response
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let metrics = &*state.metrics;
    let _in_flight = InFlight::enter(metrics);
    let failed = |status: StatusCode, message: String| {
        metrics.observe(
            RequestLabels {
                path: mode.path(),
                kind: "unknown",
                operation: "unknown",
                verdict: Verdict::Error.as_str(),
            },
            started.elapsed(),
            &[],
        );
        tracing::warn!(
            path = mode.path(),
            status = status.as_u16(),
            error = %message,
            "admission request refused"
        );
        text(status, format!("{message}\n"))
    };
    let too_large = || {
        format!(
            "request body too large: the limit is {MAX_BODY_BYTES} bytes (3 MiB, the API server's own request limit)"
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return failed(StatusCode::PAYLOAD_TOO_LARGE, too_large());
    }
    let collected = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(request.into_body(), MAX_BODY_BYTES).collect(),
    )
    .await;
    let body = match collected {
        Err(_) => {
            return failed(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} seconds",
                    BODY_TIMEOUT.as_secs()
                ),
            );
        }
        Ok(Err(err)) if err.is::<LengthLimitError>() => {
            return failed(StatusCode::PAYLOAD_TOO_LARGE, too_large());
        }
        Ok(Err(err)) => {
            return failed(
                StatusCode::BAD_REQUEST,
                format!("cannot read request body: {err}"),
            );
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let (rendered, decision, request) = match review_body(&body, mode, &state.policy) {
        Ok(reviewed) => reviewed,
        Err(err) => return failed(StatusCode::BAD_REQUEST, err.to_string()),
    };
    let elapsed = started.elapsed();
    let kind = decision.kind.map_or("other", |k| k.kind);
    metrics.observe(
        RequestLabels {
            path: mode.path(),
            kind,
            operation: request.operation.as_str(),
            verdict: decision.verdict.as_str(),
        },
        elapsed,
        &decision.codes,
    );
    let name = request.name.as_deref().or_else(|| {
        request
            .object
            .as_ref()
            .and_then(|o| o.pointer("/metadata/generateName"))
            .and_then(Value::as_str)
    });
    crate::logging::decision(&crate::logging::Decision {
        uid: &request.uid,
        kind: &request.kind.kind,
        namespace: request.namespace.as_deref().unwrap_or(""),
        name: name.unwrap_or(""),
        operation: request.operation.as_str(),
        path: mode.path(),
        verdict: decision.verdict.as_str(),
        codes: &decision.codes,
        dry_run: request.dry_run,
        elapsed_us: elapsed.as_micros() as u64,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(rendered),
    )
        .into_response()
}

async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    state: Arc<AppState>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Some(tcp) = accepted_or_pause(accepted).await else { continue };
                let (acceptor, router, state, stop, alive) =
                    (acceptor.clone(), router.clone(), state.clone(), stop.clone(), alive.clone());
                tokio::spawn(async move {
                    if let Some(tls) = handshake(tcp, acceptor).await {
                        serve_connection(TokioIo::new(tls), router, Some(state), stop).await;
                    }
                    drop(alive);
                });
            }
            _ = stop.changed() => return,
        }
    }
}

async fn accept_plain(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Some(tcp) = accepted_or_pause(accepted).await else { continue };
                let (router, stop, alive) = (router.clone(), stop.clone(), alive.clone());
                tokio::spawn(async move {
                    serve_connection(TokioIo::new(tcp), router, None, stop).await;
                    drop(alive);
                });
            }
            _ = stop.changed() => return,
        }
    }
}

/// Accept errors are mostly transient (out of file descriptors): log, pause, go on.
async fn accepted_or_pause(
    accepted: std::io::Result<(TcpStream, SocketAddr)>,
) -> Option<TcpStream> {
    match accepted {
        Ok((tcp, _)) => {
            let _ = tcp.set_nodelay(true);
            Some(tcp)
        }
        Err(err) => {
            tracing::error!(error = %err, "accept failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// The TLS handshake, after checking that the client speaks TLS at all: plain HTTP sent to
/// the HTTPS port gets a plain-HTTP 400 that says so, instead of a silent close.
async fn handshake(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tcp.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return None,
    }
    // Every TLS connection starts with a handshake record (content type 22).
    if first[0] != 0x16 {
        let mut tcp = tcp;
        let body = "this port speaks HTTPS: the client sent plain HTTP (or something else) to an HTTPS server\n";
        let reply = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = tcp.write_all(reply.as_bytes()).await;
            let _ = tcp.shutdown().await;
        })
        .await;
        return None;
    }
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

/// When a connection last finished a request, and how many it is serving.
#[derive(Debug)]
struct Activity {
    epoch: Instant,
    busy: AtomicUsize,
    last_millis: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            epoch: Instant::now(),
            busy: AtomicUsize::new(0),
            last_millis: AtomicU64::new(0),
        }
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
        Some(self.epoch.elapsed().saturating_sub(last))
    }
}

struct Busy(Arc<Activity>);

impl Busy {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.busy.fetch_add(1, Ordering::Relaxed);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let now = self.0.epoch.elapsed().as_millis() as u64;
        self.0.last_millis.store(now, Ordering::Relaxed);
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one connection until the peer closes it, it idles out, or shutdown asks it to
/// finish (in-flight requests complete; HTTP/2 peers get a GOAWAY). With `admission`,
/// admission reviews are answered directly (see [`admission_mode`]), the rest by `router`.
async fn serve_connection<I>(
    io: I,
    router: Router,
    admission: Option<Arc<AppState>>,
    mut stop: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let busy = Busy::begin(&activity);
            let direct = admission
                .as_ref()
                .and_then(|state| Some((state.clone(), admission_mode(&request)?)));
            let router = router.clone();
            async move {
                let response = match direct {
                    Some((state, mode)) => Ok(admit(state, mode, request).await),
                    None => router.oneshot(request.map(Body::new)).await,
                };
                drop(busy);
                response
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    if *stop.borrow() {
        connection.as_mut().graceful_shutdown();
        closing = true;
    }
    let mut idle_check = tokio::time::interval(IDLE_TIMEOUT / 6);
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = idle_check.tick(), if !closing => {
                if activity.idle_for().is_some_and(|idle| idle >= IDLE_TIMEOUT) {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}
