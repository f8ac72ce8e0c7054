//! HTTPS serving: TLS accept loop (HTTP/1.1 and HTTP/2), authentication,
//! injected faults, the request log, and routing of non-resource paths.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::admission::{AdmissionChain, UserInfo};
use crate::discovery;
use crate::error::ApiError;
use crate::store::Store;
use crate::{openapi, rest};

/// Response bodies: whole JSON documents, or a watch stream.
pub(crate) type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// kube-apiserver's request body limit.
const MAX_BODY: usize = 3 * 1024 * 1024;

/// A rule that makes matching requests fail with a given Status.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Only this HTTP method (`GET`, `PATCH`, ...); any when `None`.
    pub method: Option<String>,
    /// The request path (without query) must contain this.
    pub path_contains: String,
    /// How many matching requests fail before the rule is spent.
    pub times: usize,
    pub error: ApiError,
}

impl Fault {
    /// Fail the next `times` requests whose path contains `path_contains`.
    pub fn new(path_contains: &str, times: usize, error: ApiError) -> Self {
        Fault {
            method: None,
            path_contains: path_contains.into(),
            times,
            error,
        }
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }
}

/// One request as received (for assertions in tests).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub accept: String,
    pub user_agent: String,
    pub body: Vec<u8>,
}

pub(crate) struct ServerState {
    pub store: Store,
    pub admission: AdmissionChain,
    pub tokens: HashMap<String, UserInfo>,
    pub faults: Mutex<Vec<Fault>>,
    pub requests: Mutex<VecDeque<RecordedRequest>>,
    pub server_address: String,
}

const REQUEST_LOG_LIMIT: usize = 10_000;

/// Accept connections until `shutdown` flips; dropping the JoinSet aborts
/// open connections (and the watches on them).
pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let state = state.clone();
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(state, req).await) }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    if let Err(e) = builder.serve_connection_with_upgrades(TokioIo::new(tls), service).await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

pub(crate) fn json_response(status: u16, value: &Value, warnings: &[String]) -> Response<Body> {
    json_bytes_response(
        status,
        serde_json::to_vec(value).unwrap_or_default(),
        "application/json",
        warnings,
    )
}

pub(crate) fn json_bytes_response(
    status: u16,
    body: Vec<u8>,
    content_type: &str,
    warnings: &[String],
) -> Response<Body> {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type)
        .header("cache-control", "no-cache, private")
        .header("audit-id", crate::meta::new_uid());
    for w in warnings {
        b = b.header("warning", warning_header(w));
    }
    b.body(full(body)).expect("valid response")
}

/// `299 - "text"`, quoted like Go's `net/http` warning headers.
fn warning_header(text: &str) -> String {
    let escaped: String = text
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("299 - \"{escaped}\"")
}

pub(crate) fn error_response(e: &ApiError, warnings: &[String]) -> Response<Body> {
    json_response(e.code, &e.to_status(), warnings)
}

fn header(req: &Request<Incoming>, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn handle(state: Arc<ServerState>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let accept = header(&req, "accept");
    let content_type = header(&req, "content-type");
    let user_agent = header(&req, "user-agent");
    let authorization = header(&req, "authorization");
    tracing::debug!(%method, %path, %query, "request");

    // pods/exec upgrades the connection: answered before the body is read.
    if crate::exec::is_exec(&req) {
        if !authorization
            .strip_prefix("Bearer ")
            .is_some_and(|t| state.tokens.contains_key(t.trim()))
        {
            return error_response(&ApiError::unauthorized(), &[]);
        }
        record_request(
            &state,
            RecordedRequest {
                method: method.clone(),
                path: path.clone(),
                query: query.clone(),
                content_type: content_type.clone(),
                accept: accept.clone(),
                user_agent,
                body: Vec::new(),
            },
        );
        if let Some(e) = take_fault(&state, &method, &path) {
            return error_response(&e, &[]);
        }
        return crate::exec::handle(&state, req);
    }

    if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") {
        return Response::builder()
            .header("content-type", "text/plain; charset=utf-8")
            .body(full("ok"))
            .expect("valid response");
    }

    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return error_response(
                &ApiError::new(
                    413,
                    "RequestEntityTooLarge",
                    format!("Request entity too large: limit is {MAX_BODY}"),
                ),
                &[],
            );
        }
    };

    record_request(
        &state,
        RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            content_type: content_type.clone(),
            accept: accept.clone(),
            user_agent,
            body: body.to_vec(),
        },
    );

    let user = match authorization
        .strip_prefix("Bearer ")
        .and_then(|t| state.tokens.get(t.trim()))
    {
        Some(u) => u.clone(),
        None => return error_response(&ApiError::unauthorized(), &[]),
    };

    if let Some(e) = take_fault(&state, &method, &path) {
        return error_response(&e, &[]);
    }

    let registry = state.store.registry().clone();
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let discovery_doc = |v: Option<Value>| match v {
        Some(v) if method == "GET" => json_response(200, &v, &[]),
        Some(_) => error_response(&ApiError::method_not_allowed(), &[]),
        None => error_response(&ApiError::unknown_resource(), &[]),
    };
    match segments.as_slice() {
        ["version"] => discovery_doc(Some(discovery::version())),
        ["api"] if discovery::wants_aggregated(&accept) => json_bytes_response(
            200,
            serde_json::to_vec(&discovery::aggregated(&registry, true)).unwrap_or_default(),
            discovery::AGGREGATED_CONTENT_TYPE,
            &[],
        ),
        ["apis"] if discovery::wants_aggregated(&accept) => json_bytes_response(
            200,
            serde_json::to_vec(&discovery::aggregated(&registry, false)).unwrap_or_default(),
            discovery::AGGREGATED_CONTENT_TYPE,
            &[],
        ),
        ["api"] => discovery_doc(Some(discovery::api_versions(&state.server_address))),
        ["apis"] => discovery_doc(Some(discovery::api_group_list(&registry))),
        ["api", version] => discovery_doc(discovery::api_resource_list(&registry, "", version)),
        ["apis", group] => discovery_doc(discovery::api_group(&registry, group)),
        ["apis", group, version] => {
            discovery_doc(discovery::api_resource_list(&registry, group, version))
        }
        ["openapi", "v3"] => discovery_doc(Some(openapi::index(&registry))),
        ["openapi", "v3", rest @ ..] => {
            discovery_doc(openapi::group_version(&registry, &rest.join("/")))
        }
        ["api", version, rest @ ..] => {
            rest::handle(
                &state,
                &user,
                &method,
                "",
                version,
                rest,
                &query,
                &accept,
                &content_type,
                body,
            )
            .await
        }
        ["apis", group, version, rest @ ..] => {
            rest::handle(
                &state,
                &user,
                &method,
                group,
                version,
                rest,
                &query,
                &accept,
                &content_type,
                body,
            )
            .await
        }
        _ => error_response(&ApiError::unknown_resource(), &[]),
    }
}

fn record_request(state: &ServerState, request: RecordedRequest) {
    let mut log = state.requests.lock().unwrap_or_else(|p| p.into_inner());
    if log.len() >= REQUEST_LOG_LIMIT {
        log.pop_front();
    }
    log.push_back(request);
}

fn take_fault(state: &ServerState, method: &str, path: &str) -> Option<ApiError> {
    let mut faults = state.faults.lock().unwrap_or_else(|p| p.into_inner());
    let i = faults.iter().position(|f| {
        f.times > 0
            && path.contains(&f.path_contains)
            && f.method.as_deref().is_none_or(|m| m == method)
    })?;
    faults[i].times -= 1;
    let e = faults[i].error.clone();
    if faults[i].times == 0 {
        faults.remove(i);
    }
    Some(e)
}

/// Where the server is reachable, for `serverAddressByClientCIDRs`.
pub(crate) fn server_address(addr: SocketAddr) -> String {
    addr.to_string()
}
