//! `?watch=true`: newline-delimited WatchEvents (ADDED, MODIFIED, DELETED,
//! BOOKMARK, ERROR), resumable from any resourceVersion still in the store's
//! history, `410 Expired` otherwise.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::{Bytes, Frame};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::rest::Query;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::{Body, error_response};
use crate::store::{EventType, Store, StoreEvent, with_api_version};
use crate::table::{self, IncludeObject};

/// kube-apiserver's `--min-request-timeout` default; watches end after about this long.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);

struct Filter {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    table: Option<IncludeObject>,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        self.name
            .as_deref()
            .is_none_or(|n| crate::meta::name_of(obj) == n)
            && self.labels.matches_object(obj)
            && self.fields.matches(obj)
    }

    /// The event a client watching with this filter sees, if any.
    fn translate(&self, ev: &StoreEvent) -> Option<(&'static str, Value)> {
        if ev.group != self.rt.group || ev.plural != self.rt.plural {
            return None;
        }
        if self.rt.namespaced
            && self
                .namespace
                .as_deref()
                .is_some_and(|ns| ns != ev.namespace)
        {
            return None;
        }
        let now = self.matches(&ev.object);
        let event_type = match ev.event_type {
            EventType::Added if now => "ADDED",
            EventType::Deleted if now => "DELETED",
            EventType::Modified => match (
                ev.previous.as_ref().map(|p| self.matches(p)).unwrap_or(now),
                now,
            ) {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                (false, false) => return None,
            },
            _ => return None,
        };
        Some((event_type, with_api_version(&self.rt, &ev.object)))
    }

    fn line(&self, event_type: &str, obj: Value) -> Bytes {
        let object = match self.table {
            Some(include) if event_type != "BOOKMARK" && event_type != "ERROR" => {
                let md = json!({"resourceVersion": crate::meta::resource_version_of(&obj)});
                table::render(&self.rt.columns, std::slice::from_ref(&obj), include, md)
            }
            _ => obj,
        };
        let mut bytes =
            serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
        bytes.push(b'\n');
        Bytes::from(bytes)
    }

    fn bookmark(&self, rv: u64, initial_events_end: bool) -> Bytes {
        let mut md = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        self.line(
            "BOOKMARK",
            json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": md}),
        )
    }
}

fn expired_line(message: String) -> Bytes {
    let mut bytes = serde_json::to_vec(
        &json!({"type": "ERROR", "object": ApiError::expired(message).to_status()}),
    )
    .unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

pub(crate) async fn serve(
    store: &Store,
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    query: &Query,
    table: Option<()>,
) -> Response<Body> {
    let labels = match LabelSelector::parse(query.get("labelSelector").unwrap_or("")) {
        Ok(l) => l,
        Err(e) => return error_response(&e, &[]),
    };
    let fields = match FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), &rt) {
        Ok(f) => f,
        Err(e) => return error_response(&e, &[]),
    };
    let timeout = match query.get("timeoutSeconds").filter(|s| !s.is_empty()) {
        Some(s) => match s.parse::<u64>() {
            Ok(n) => Duration::from_secs(n),
            Err(_) => {
                return error_response(
                    &ApiError::bad_request(format!("invalid timeoutSeconds: {s:?}")),
                    &[],
                );
            }
        },
        None => DEFAULT_TIMEOUT,
    };
    let bookmarks = matches!(query.get("allowWatchBookmarks"), Some("true") | Some("1"));
    let send_initial = matches!(query.get("sendInitialEvents"), Some("true") | Some("1"));
    let rv_param = query.get("resourceVersion").unwrap_or("");
    let filter = Filter {
        rt: rt.clone(),
        namespace,
        name,
        labels,
        fields,
        table: table.map(|_| IncludeObject::parse(query.get("includeObject"))),
    };

    // Lines to send first, the live receiver, and the resourceVersion they bring the client to.
    let mut first: Vec<Bytes> = vec![];
    let (rx, start_rv): (broadcast::Receiver<Arc<StoreEvent>>, u64) =
        if send_initial || rv_param.is_empty() || rv_param == "0" {
            let (items, rv, rx) = store.snapshot_and_subscribe(&rt, filter.namespace.as_deref());
            first.extend(
                items
                    .into_iter()
                    .filter(|o| filter.matches(o))
                    .map(|o| filter.line("ADDED", o)),
            );
            if send_initial && bookmarks {
                first.push(filter.bookmark(rv, true));
            }
            (rx, rv)
        } else {
            let Ok(rv) = rv_param.parse::<u64>() else {
                return error_response(
                    &ApiError::bad_request(format!("invalid resource version: {rv_param:?}")),
                    &[],
                );
            };
            match store.events_since(rv) {
                Ok((replay, rx)) => {
                    let last = replay.last().map(|e| e.resource_version).unwrap_or(rv);
                    first.extend(
                        replay
                            .iter()
                            .filter_map(|e| filter.translate(e))
                            .map(|(t, o)| filter.line(t, o)),
                    );
                    (rx, last)
                }
                Err(oldest) => {
                    first.push(expired_line(format!(
                        "too old resource version: {rv} ({oldest})"
                    )));
                    let body = StreamBody::new(futures::stream::iter(
                        first.into_iter().map(|b| Ok(Frame::data(b))),
                    ));
                    return watch_response(body.boxed_unsync());
                }
            }
        };

    let (tx, out) = mpsc::channel::<Bytes>(256);
    tokio::spawn(pump(filter, rx, tx, first, start_rv, timeout, bookmarks));
    let stream = futures::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|b| (Ok(Frame::data(b)), out))
    });
    watch_response(StreamBody::new(stream).boxed_unsync())
}

fn watch_response(body: Body) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/json")
        .header("cache-control", "no-cache, private")
        .body(body)
        .expect("valid response")
}

/// Forward store events to one client until it goes away or the timeout ends the watch.
async fn pump(
    filter: Filter,
    mut rx: broadcast::Receiver<Arc<StoreEvent>>,
    tx: mpsc::Sender<Bytes>,
    first: Vec<Bytes>,
    mut last_rv: u64,
    timeout: Duration,
    bookmarks: bool,
) {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    for line in first {
        if tx.send(line).await.is_err() {
            return;
        }
    }
    let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = tx.closed() => return,
            _ = ticker.tick(), if bookmarks => {
                if tx.send(filter.bookmark(last_rv, false)).await.is_err() {
                    return;
                }
            }
            received = rx.recv() => match received {
                Ok(ev) => {
                    if ev.resource_version <= last_rv {
                        continue;
                    }
                    last_rv = ev.resource_version;
                    if let Some((t, o)) = filter.translate(&ev)
                        && tx.send(filter.line(t, o)).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // The client fell too far behind: tell it to re-list, like an expired watch cache.
                    let _ = tx.send(expired_line(format!("too old resource version: {last_rv}"))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
