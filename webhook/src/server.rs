//! The HTTP side: routes, body limits, timeouts, TLS accept loop, graceful shutdown.
//!
//! Two listeners: HTTPS for admission (and the probes the chart points there) and plain
//! HTTP for metrics and probes. Each connection is served by [`connection::serve`]
//! (HTTP/1.1 or HTTP/2, as ALPN and the preface say); admission requests take a slot and
//! body bytes from the process-wide [`Budget`], everything else goes to an axum `Router`.
//!
//! Shutdown: on SIGTERM `/readyz` fails at once while the server keeps accepting and
//! answering for `--shutdown-delay` (HTTP/1.1 answers then carry `Connection: close`), so
//! clients move to other pods before the listener closes; then connections drain.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

pub use crate::budget::MAX_BODY_BYTES;
use crate::budget::{BodyRefused, Budget, Reserved};
use crate::connection::{self, Activity, Closed, Handled, Slots};
use crate::limits::{RETRY_AFTER_SECONDS, ServerLimits};
use crate::metrics::{Metrics, RequestLabels};
use crate::review::{Mode, Policy, Verdict, review_body};
use crate::tls::{self, CertFiles, CertStore, SelfSigned};

pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Names a certificate read from files must be valid for (empty: not checked).
    pub dns_names: Vec<String>,
    pub shutdown_delay: Duration,
    pub shutdown_grace: Duration,
    pub limits: ServerLimits,
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub policy: Policy,
    pub metrics: Arc<Metrics>,
    /// True once the certificate is loaded and the listeners are bound; false again while
    /// shutting down, so endpoints stop routing to a draining pod.
    pub ready: AtomicBool,
    /// Set on SIGTERM: HTTP/1.1 answers carry `Connection: close` from then on.
    pub draining: AtomicBool,
    pub budget: Budget,
    /// The serving certificate, whose expiry `/readyz` reports.
    pub certs: Arc<CertStore>,
    /// One large review at a time, off the async workers (see [`LARGE_BODY_BYTES`]).
    pub large_reviews: Arc<tokio::sync::Semaphore>,
}

/// Bodies larger than this are reviewed on the blocking pool, one at a time. A review of a
/// few MiB full of findings costs a core for a few hundred milliseconds; on the async
/// workers it would hold up every small review (nearly all of them) queued behind it.
/// Real pods and Velero objects are far smaller.
pub const LARGE_BODY_BYTES: usize = 256 * 1024;

impl AppState {
    /// Ready, with fresh metrics and an empty budget.
    pub fn new(policy: Policy, limits: ServerLimits, certs: Arc<CertStore>) -> Self {
        AppState {
            policy,
            metrics: Arc::new(Metrics::new()),
            ready: AtomicBool::new(true),
            draining: AtomicBool::new(false),
            budget: Budget::new(limits),
            certs,
            large_reviews: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
}

/// A bound, not yet serving, server.
pub struct Server {
    settings: Settings,
    https: TcpListener,
    metrics_listener: TcpListener,
    state: Arc<AppState>,
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
                let (key, content) = files.load(&settings.dns_names)?;
                (key, Some(content))
            }
            CertSource::SelfSigned(generated) => (
                tls::serving_key(
                    generated.cert_pem.as_bytes(),
                    generated.key_pem.as_bytes(),
                    &[],
                )?,
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
        let state = Arc::new(AppState::new(settings.policy, settings.limits, store));
        state.metrics.certificate_loaded();
        Ok(Server {
            settings,
            https,
            metrics_listener,
            state,
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

    /// Serves until `shutdown` resolves; then fails `/readyz` and keeps serving for the
    /// shutdown delay, stops accepting, lets in-flight requests finish (at most the grace
    /// period) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        // Every connection task holds a clone; `recv` returns None once all are gone.
        let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
        let watcher = match (&self.settings.certs, self.loaded) {
            (CertSource::Files(files), Some(loaded)) => Some(tokio::spawn(tls::watch(
                tls::Watched {
                    files: files.clone(),
                    dns_names: self.settings.dns_names.clone(),
                    interval: self.settings.reload_interval,
                },
                loaded,
                self.state.certs.clone(),
                self.state.metrics.clone(),
            ))),
            _ => None,
        };
        let https = tokio::spawn(accept(
            self.https,
            Some(self.tls),
            admission_router(self.state.clone()),
            self.state.clone(),
            stop_rx.clone(),
            alive_tx.clone(),
        ));
        let plain = tokio::spawn(accept(
            self.metrics_listener,
            None,
            metrics_router(self.state.clone()),
            self.state.clone(),
            stop_rx,
            alive_tx,
        ));
        shutdown.await;
        self.state.ready.store(false, Ordering::SeqCst);
        self.state.draining.store(true, Ordering::SeqCst);
        let delay = self.settings.shutdown_delay;
        if !delay.is_zero() {
            tracing::info!(
                delay_seconds = delay.as_secs_f64(),
                "shutting down: /readyz fails; still answering until clients move to other pods"
            );
            tokio::time::sleep(delay).await;
        }
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
            move |State(state): State<Arc<AppState>>, request: Request| async move {
                handle_admission(state, mode, request).await.response
            },
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
                if !state.ready.load(Ordering::SeqCst) {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "not ready: shutting down\n".to_owned(),
                    );
                }
                match state.certs.expired() {
                    Some(message) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("not ready: {message}\n"),
                    ),
                    None => (StatusCode::OK, "ready\n".to_owned()),
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

/// An admission request on the HTTPS port: a request slot (waiting at most the queue
/// wait) while the body is read and decided, then room for the response, kept until the
/// client has taken it.
pub async fn handle_admission<B>(
    state: Arc<AppState>,
    mode: Mode,
    request: hyper::Request<B>,
) -> Handled
where
    B: hyper::body::Body<Data = hyper::body::Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let started = Instant::now();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Large bodies queue for the body budget before taking a request slot, so they
    // cannot crowd out the small reviews behind them.
    let reserved = match state.budget.reserve(declared).await {
        Ok(reserved) => reserved,
        Err(refusal) => {
            return Handled {
                response: body_refused(&state, mode, started, refusal),
                slot: None,
            };
        }
    };
    let Some(slot) = state.budget.slot().await else {
        let max = state.budget.limits().max_requests_in_flight;
        let response = refused(
            &state,
            mode,
            started,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("server busy: {max} admission requests already in flight; retry"),
        );
        state.metrics.refusal("request_slots");
        return Handled {
            response: retry_later(response),
            slot: None,
        };
    };
    let response = admit(state.clone(), mode, request, reserved, started).await;
    drop(slot);
    let size = hyper::body::Body::size_hint(response.body()).lower() as usize;
    let Some(room) = state.budget.response(size).await else {
        let response = refused(
            &state,
            mode,
            started,
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "server busy: {} bytes of answers are waiting for clients to read them; retry",
                crate::budget::RESPONSE_BYTES_IN_FLIGHT
            ),
        );
        state.metrics.refusal("response_bytes");
        return Handled {
            response: retry_later(response),
            slot: None,
        };
    };
    Handled {
        response,
        slot: Some(room),
    }
}

/// The answer to a request that is not reviewed, logged and counted as an error.
fn refused(
    state: &AppState,
    mode: Mode,
    started: Instant,
    status: StatusCode,
    message: String,
) -> Response {
    state.metrics.observe(
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
}

fn retry_later(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

/// The answer to a request whose body was not read.
fn body_refused(state: &AppState, mode: Mode, started: Instant, refusal: BodyRefused) -> Response {
    let limits = state.budget.limits();
    let failed =
        |status: StatusCode, message: String| refused(state, mode, started, status, message);
    match refusal {
        BodyRefused::TooLarge => failed(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body too large: the limit is {MAX_BODY_BYTES} bytes (3 MiB, the API server's own request limit)"
            ),
        ),
        BodyRefused::Busy => {
            state.metrics.refusal("body_bytes");
            retry_later(failed(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "server busy: {} bytes of request bodies already in flight; retry",
                    limits.max_body_bytes_in_flight
                ),
            ))
        }
        BodyRefused::TimedOut => failed(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} seconds",
                limits.body_timeout.as_secs_f64()
            ),
        ),
        BodyRefused::Broken(err) => failed(
            StatusCode::BAD_REQUEST,
            format!("cannot read request body: {err}"),
        ),
    }
}

async fn admit<B>(
    state: Arc<AppState>,
    mode: Mode,
    request: hyper::Request<B>,
    reserved: Reserved,
    started: Instant,
) -> Response
where
    B: hyper::body::Body<Data = hyper::body::Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let metrics = &*state.metrics;
    let _in_flight = InFlight::enter(metrics);
    let failed =
        |status: StatusCode, message: String| refused(&state, mode, started, status, message);
    let (body, charged) = match state.budget.read_body(request.into_body(), reserved).await {
        Ok(read) => read,
        Err(refusal) => return body_refused(&state, mode, started, refusal),
    };
    let reviewed = if body.len() > LARGE_BODY_BYTES {
        // Never closed, so the turn always comes.
        let _turn = state.large_reviews.clone().acquire_owned().await.ok();
        let state = state.clone();
        match tokio::task::spawn_blocking(move || review_body(&body, mode, &state.policy)).await {
            Ok(reviewed) => reviewed,
            Err(err) => {
                return failed(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("the review stopped: {err}"),
                );
            }
        }
    } else {
        let reviewed = review_body(&body, mode, &state.policy);
        // The body (and what was parsed from it) is gone before the response is written.
        drop(body);
        reviewed
    };
    // Give the body's bytes back to the budget.
    drop(charged);
    let (rendered, decision, request) = match reviewed {
        Ok(reviewed) => reviewed,
        Err(err) => return failed(StatusCode::BAD_REQUEST, err.to_string()),
    };
    let elapsed = started.elapsed();
    let kind = decision.kind.unwrap_or("other");
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

/// Accepts connections on one listener (TLS when `tls` is given) within the connection
/// limit, until `stop`.
async fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    state: Arc<AppState>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let limits = *state.budget.limits();
    let slots = Slots::new(limits.max_connections as usize);
    let admission = tls.is_some();
    loop {
        let permit = tokio::select! {
            (permit, _) = slots.acquire() => permit,
            _ = stop.changed() => return,
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted_or_pause(accepted).await {
                Some(tcp) => tcp,
                None => continue,
            },
            _ = stop.changed() => return,
        };
        let activity = Activity::new();
        slots.register(&activity);
        let handler = handler(state.clone(), router.clone(), admission);
        let (tls, state, stop, alive) = (tls.clone(), state.clone(), stop.clone(), alive.clone());
        tokio::spawn(async move {
            state.metrics.open_connections.inc();
            let closed = match tls {
                None => Some(connection::serve(tcp, activity, limits, handler, stop).await),
                Some(acceptor) => {
                    let tls = tokio::select! {
                        tls = handshake(tcp, acceptor) => tls.ok_or(Closed::Ended),
                        _ = activity.evicted() => Err(Closed::Evicted),
                    };
                    match tls {
                        Ok(tls) => {
                            Some(connection::serve(tls, activity, limits, handler, stop).await)
                        }
                        Err(Closed::Evicted) => Some(Closed::Evicted),
                        Err(_) => None,
                    }
                }
            };
            if let Some(closed) = closed {
                state.metrics.connection_closed(closed.as_str());
            }
            state.metrics.open_connections.dec();
            drop(permit);
            drop(alive);
        });
    }
}

/// What answers a connection's requests: admission reviews directly (see
/// [`admission_mode`]) when `admission`, the rest through `router`. While draining, an
/// HTTP/1.1 answer carries `Connection: close`, so the client's next request opens a new
/// connection, which goes to a pod that is still ready. (HTTP/2 clients get a GOAWAY when
/// the delay is over; the header is not allowed there.)
fn handler(
    state: Arc<AppState>,
    router: Router,
    admission: bool,
) -> impl Fn(
    hyper::Request<hyper::body::Incoming>,
) -> std::pin::Pin<Box<dyn Future<Output = Handled> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |request| {
        let (state, router) = (state.clone(), router.clone());
        Box::pin(async move {
            let http1 = request.version() <= axum::http::Version::HTTP_11;
            let direct = if admission {
                admission_mode(&request)
            } else {
                None
            };
            let mut handled = match direct {
                Some(mode) => handle_admission(state.clone(), mode, request).await,
                None => {
                    let response = match router.oneshot(request.map(Body::new)).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    Handled {
                        response,
                        slot: None,
                    }
                }
            };
            if http1 && state.draining.load(Ordering::Relaxed) {
                handled
                    .response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            handled
        })
    }
}

/// The kernel's send buffer for each connection (it doubles the figure for its own
/// bookkeeping). Answers are at most about 16 KiB, so this holds several; without it,
/// Linux grows the buffer to megabytes, and a client that pipelines reviews without
/// reading their answers gets hundreds of them reviewed (CPU spent for nobody) before
/// the write blocks and the write timeout can close the connection.
const SEND_BUFFER_BYTES: usize = 64 * 1024;

/// Accept errors are mostly transient (out of file descriptors): log, pause, go on.
async fn accepted_or_pause(
    accepted: std::io::Result<(TcpStream, SocketAddr)>,
) -> Option<TcpStream> {
    match accepted {
        Ok((tcp, _)) => {
            let _ = tcp.set_nodelay(true);
            let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER_BYTES);
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
