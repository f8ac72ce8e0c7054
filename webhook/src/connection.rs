//! One client connection: its slot among `--max-connections`, hyper's HTTP/1.1 and HTTP/2
//! settings, and the deadlines that keep a client from holding memory by doing nothing:
//! no first request after the handshake, a response nobody reads (a full socket, or an
//! HTTP/2 flow-control window left at zero), an idle connection.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use crate::limits::{HTTP1_MAX_BUFFER_BYTES, HTTP2_WINDOW_BYTES, ServerLimits};

/// Connections (HTTP/2 mostly) with no request for this long are closed with a GOAWAY.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a connection checks its deadlines.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// A connection is never evicted younger than this: a client arriving during a flood of
/// connections still has this long to finish its handshake and send its request.
const EVICTION_MIN_AGE: Duration = Duration::from_secs(1);

/// The connection slots of one listener.
#[derive(Debug)]
pub struct Slots {
    semaphore: Arc<Semaphore>,
    /// Connections in accept order; those that have sent a request are skipped (and
    /// dropped) when one is looked for to evict.
    unproven: Mutex<VecDeque<Weak<Activity>>>,
    max: usize,
}

impl Slots {
    pub fn new(max: usize) -> Self {
        Slots {
            semaphore: Arc::new(Semaphore::new(max)),
            unproven: Mutex::new(VecDeque::new()),
            max,
        }
    }

    /// A slot for the next connection. When all are taken, the oldest connection that has
    /// not sent a request yet (and is at least [`EVICTION_MIN_AGE`] old) is told to close
    /// (returns `true` in `.1`), so clients that only open connections cannot lock out the
    /// API server; meanwhile new connections queue in the listen backlog.
    pub async fn acquire(&self) -> (OwnedSemaphorePermit, bool) {
        let mut evicted = false;
        loop {
            if let Ok(permit) = self.semaphore.clone().try_acquire_owned() {
                return (permit, evicted);
            }
            let retry = match self.evict_oldest_unproven() {
                Eviction::Done => {
                    evicted = true;
                    None
                }
                Eviction::TooYoung(wait) => Some(wait),
                Eviction::NoneUnproven => None,
            };
            let freed = self.semaphore.clone().acquire_owned();
            match retry {
                None => {
                    let permit = freed
                        .await
                        .expect("the connection semaphore is never closed");
                    return (permit, evicted);
                }
                Some(wait) => {
                    if let Ok(Ok(permit)) = tokio::time::timeout(wait, freed).await {
                        return (permit, evicted);
                    }
                }
            }
        }
    }

    pub fn register(&self, activity: &Arc<Activity>) {
        let mut queue = self.unproven.lock().unwrap_or_else(|e| e.into_inner());
        if queue.len() >= 2 * self.max {
            queue.retain(|weak| weak.upgrade().is_some_and(|a| !a.proven()));
        }
        queue.push_back(Arc::downgrade(activity));
    }

    fn evict_oldest_unproven(&self) -> Eviction {
        let mut queue = self.unproven.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(weak) = queue.front() {
            let Some(activity) = weak.upgrade().filter(|a| !a.proven()) else {
                queue.pop_front();
                continue;
            };
            let age = activity.epoch.elapsed();
            if age < EVICTION_MIN_AGE {
                return Eviction::TooYoung(EVICTION_MIN_AGE - age);
            }
            queue.pop_front();
            activity.evict.notify_one();
            return Eviction::Done;
        }
        Eviction::NoneUnproven
    }
}

enum Eviction {
    Done,
    /// The oldest candidate may be evicted after this.
    TooYoung(Duration),
    NoneUnproven,
}

/// What a connection is doing, read by its own deadline checks and by [`Slots`].
#[derive(Debug)]
pub struct Activity {
    epoch: Instant,
    started: AtomicU64,
    busy: AtomicUsize,
    last_millis: AtomicU64,
    evict: Notify,
    /// Responses handed to hyper whose body it has not finished with, by request number:
    /// when each was handed over.
    unsent: Mutex<BTreeMap<u64, Instant>>,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            epoch: Instant::now(),
            started: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            last_millis: AtomicU64::new(0),
            evict: Notify::new(),
            unsent: Mutex::new(BTreeMap::new()),
        })
    }

    /// Whether a request has started on this connection.
    pub fn proven(&self) -> bool {
        self.started.load(Ordering::Relaxed) > 0
    }

    /// Resolves when [`Slots`] picks this connection to make room.
    pub async fn evicted(&self) {
        self.evict.notified().await
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
        Some(self.epoch.elapsed().saturating_sub(last))
    }

    /// How long the oldest response not yet taken by the client has waited.
    fn oldest_unsent(&self) -> Option<Duration> {
        let unsent = self.unsent.lock().unwrap_or_else(|e| e.into_inner());
        unsent.values().next().map(Instant::elapsed)
    }
}

/// Held by a request from its start until hyper is done with its response body.
struct InProgress {
    activity: Arc<Activity>,
    number: u64,
    _slot: Option<OwnedSemaphorePermit>,
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let activity = &self.activity;
        activity
            .unsent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.number);
        let now = activity.epoch.elapsed().as_millis() as u64;
        activity.last_millis.store(now, Ordering::Relaxed);
        activity.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request [`InProgress`] (and its room in the response
/// budget) until hyper has taken all of it or dropped it.
pub struct TrackedBody {
    inner: Body,
    in_progress: Option<InProgress>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.in_progress = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A handler's answer, and the budget to hold until the client has taken it.
pub struct Handled {
    pub response: Response,
    pub slot: Option<OwnedSemaphorePermit>,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// By the client, by an error, or gracefully (shutdown, idle).
    Ended,
    /// To make room for a new connection, before sending any request.
    Evicted,
    /// No request within the header read timeout after the handshake.
    NoFirstRequest,
    /// A response waited longer than the write timeout for the client to read it.
    WriteTimeout,
}

impl Closed {
    pub fn as_str(self) -> &'static str {
        match self {
            Closed::Ended => "ended",
            Closed::Evicted => "evicted",
            Closed::NoFirstRequest => "no_first_request",
            Closed::WriteTimeout => "write_timeout",
        }
    }
}

/// Serves one connection until the peer closes it, a deadline passes, it idles out, or
/// shutdown asks it to finish (in-flight requests complete; HTTP/2 peers get a GOAWAY).
pub async fn serve<I, H, F>(
    io: I,
    activity: Arc<Activity>,
    limits: ServerLimits,
    handler: H,
    mut stop: watch::Receiver<bool>,
) -> Closed
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Handled> + Send + 'static,
{
    let write_expired = Arc::new(AtomicBool::new(false));
    let io = WriteDeadline::new(io, limits.write_timeout, write_expired.clone());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let number = activity.started.fetch_add(1, Ordering::Relaxed);
            activity.busy.fetch_add(1, Ordering::Relaxed);
            let (activity, handler) = (activity.clone(), handler.clone());
            async move {
                let mut in_progress = InProgress {
                    activity,
                    number,
                    _slot: None,
                };
                let handled = handler(request).await;
                in_progress._slot = handled.slot;
                in_progress
                    .activity
                    .unsent
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(number, Instant::now());
                let response = handled.response.map(|inner| TrackedBody {
                    inner,
                    in_progress: Some(in_progress),
                });
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(HTTP1_MAX_BUFFER_BYTES)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .initial_stream_window_size(HTTP2_WINDOW_BYTES)
        .initial_connection_window_size(HTTP2_WINDOW_BYTES)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let mut closing = false;
    if *stop.borrow() {
        connection.as_mut().graceful_shutdown();
        closing = true;
    }
    let mut check = tokio::time::interval(CHECK_EVERY);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let closed = loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                break Closed::Ended;
            }
            _ = activity.evicted(), if !activity.proven() => break Closed::Evicted,
            _ = stop.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = check.tick() => {
                if !activity.proven() && activity.epoch.elapsed() >= limits.header_read_timeout {
                    break Closed::NoFirstRequest;
                }
                if activity.oldest_unsent().is_some_and(|waited| waited >= limits.write_timeout) {
                    break Closed::WriteTimeout;
                }
                if !closing && activity.idle_for().is_some_and(|idle| idle >= IDLE_TIMEOUT) {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    };
    if closed == Closed::Ended && write_expired.load(Ordering::Relaxed) {
        return Closed::WriteTimeout;
    }
    closed
}

/// Fails a write (and so the connection) that has waited longer than `timeout` for the
/// client to take the bytes: without it, a client that never reads keeps its response in
/// memory for as long as it keeps the connection open.
struct WriteDeadline<T> {
    inner: T,
    timeout: Duration,
    blocked: Option<Pin<Box<tokio::time::Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl<T> WriteDeadline<T> {
    fn new(inner: T, timeout: Duration, expired: Arc<AtomicBool>) -> Self {
        WriteDeadline {
            inner,
            timeout,
            blocked: None,
            expired,
        }
    }

    /// Called with the inner write's result: a pending write starts (or keeps) the timer.
    fn deadline<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<std::io::Result<R>>,
    ) -> Poll<std::io::Result<R>> {
        if polled.is_ready() {
            self.blocked = None;
            return polled;
        }
        let timeout = self.timeout;
        let sleep = self
            .blocked
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.expired.store(true, Ordering::Relaxed);
                Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client did not read the response in time",
                )))
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.deadline(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.deadline(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.deadline(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.deadline(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_write_nobody_reads_fails_after_the_timeout() {
        let (client, server) = tokio::io::duplex(1024);
        let expired = Arc::new(AtomicBool::new(false));
        let mut writer = WriteDeadline::new(server, Duration::from_millis(100), expired.clone());
        let started = Instant::now();
        let result = writer.write_all(&vec![0u8; 64 * 1024]).await;
        assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
        assert!(expired.load(Ordering::Relaxed));
        assert!(started.elapsed() >= Duration::from_millis(100));
        drop(client);
    }

    #[tokio::test]
    async fn full_slots_evict_the_oldest_connection_without_a_request() {
        let slots = Slots::new(2);
        let (first_permit, evicted) = slots.acquire().await;
        assert!(!evicted);
        let first = Activity::new();
        slots.register(&first);
        let (_second_permit, _) = slots.acquire().await;
        let second = Activity::new();
        slots.register(&second);
        // The first has served a request: it is kept, the second is evicted once it is
        // old enough.
        first.started.store(1, Ordering::Relaxed);
        let third = tokio::spawn(async move { slots.acquire().await });
        tokio::time::timeout(Duration::from_secs(5), second.evicted())
            .await
            .expect("second connection evicted");
        // The slot comes back when the evicted connection goes away (here: the first's).
        drop(first_permit);
        let (_third_permit, evicted) = third.await.unwrap();
        assert!(evicted);
    }
}
