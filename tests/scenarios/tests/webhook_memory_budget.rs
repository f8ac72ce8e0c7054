//! Attacks that exhausted the webhook's memory, run against the release binary (built
//! when missing or stale, whatever the profile of the test run). Each attack must leave
//! the process under the chart's 64 MiB
//! limit, a well-behaved client must keep getting correct verdicts meanwhile, and memory
//! must come back near idle afterwards. Latencies are printed (`--nocapture`) for
//! BENCHMARKS.md, not asserted: the machine is shared.

mod webhook_support;

use std::time::{Duration, Instant};

use hyper::body::{Bytes, Frame};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhook_support::attack::{
    Answers, CHART_LIMIT_KIB, NormalClient, PeakRss, eventually, metric, misspelt_keys_review,
    rss_kib,
};
use webhook_support::client::{Proto, connect, tls_config};
use webhook_support::{Webhook, fixture, install_provider};

/// One process measured at a time, on a machine with few cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Memory may stay this far above idle once an attack is over (allocator caches).
const SETTLED_KIB: u64 = 12 * 1024;

struct Run {
    webhook: Webhook,
    ca: String,
    idle_kib: u64,
    peak: PeakRss,
    normal: NormalClient,
}

/// Starts the server with `args`, warms it up, then starts measuring.
async fn start(args: &[&str]) -> Run {
    install_provider();
    let mut all = vec!["--self-signed"];
    all.extend_from_slice(args);
    // As the chart runs it (see MIMALLOC_PURGE_DELAY in its deployment).
    let webhook = Webhook::start_binary(
        &webhook_support::release_binary(),
        &all,
        &[("MIMALLOC_PURGE_DELAY", "0")],
    );
    let ca = webhook.ca_pem.clone().unwrap();
    let config = tls_config(&ca, Proto::H1);
    for _ in 0..20 {
        let mut conn = connect(webhook.https, config.clone(), Proto::H1)
            .await
            .unwrap();
        let reply = conn
            .post("/validate", fixture("deployment-create-denied"))
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let pid = webhook.child.id();
    let idle_kib = rss_kib(pid);
    let peak = PeakRss::start(pid);
    let normal = NormalClient::start(
        webhook.https,
        &ca,
        fixture("deployment-create-denied"),
        Duration::from_millis(50),
    );
    Run {
        webhook,
        ca,
        idle_kib,
        peak,
        normal,
    }
}

impl Run {
    /// Stops measuring once the attack is over; checks and prints the figures.
    async fn finish(self, attack: &str) -> Answers {
        let answers = self.normal.finish().await;
        let peak_kib = self.peak.finish();
        let pid = self.webhook.child.id();
        let idle = self.idle_kib;
        eventually(Duration::from_secs(10), || async move {
            rss_kib(pid) <= idle + SETTLED_KIB
        })
        .await;
        let after_kib = rss_kib(pid);
        eprintln!(
            "attack {attack}: RSS idle {:.1} MiB, peak {:.1} MiB, after {:.1} MiB; normal client: {}",
            idle as f64 / 1024.0,
            peak_kib as f64 / 1024.0,
            after_kib as f64 / 1024.0,
            answers.summary()
        );
        assert!(
            peak_kib < CHART_LIMIT_KIB,
            "{attack}: peak RSS {peak_kib} KiB over the chart's limit"
        );
        assert!(
            after_kib <= idle + SETTLED_KIB,
            "{attack}: RSS {after_kib} KiB after the attack, idle was {idle} KiB"
        );
        assert!(
            answers.failures.is_empty(),
            "{attack}: the normal client failed: {:?}",
            answers.failures
        );
        assert!(
            !answers.correct.is_empty(),
            "{attack}: the normal client got no answer"
        );
        answers
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_misspelt_keys_get_a_capped_denial() {
    let _serial = SERIAL.lock().await;
    let run = start(&[]).await;
    // 47,000 misspelt keys (2.3 MB) on CREATE, 30,000 on an UPDATE (both objects), four
    // clients at once, three rounds each.
    let mut clients = Vec::new();
    for client in 0..4 {
        let (addr, config) = (run.webhook.https, tls_config(&run.ca, Proto::H1));
        clients.push(tokio::spawn(async move {
            let body = if client == 3 {
                misspelt_keys_review(30_000, true)
            } else {
                misspelt_keys_review(47_000, false)
            };
            let mut conn = connect(addr, config, Proto::H1).await.unwrap();
            let mut replies = Vec::new();
            for _ in 0..3 {
                replies.push(conn.post("/validate", body.clone()).await.unwrap());
            }
            replies
        }));
    }
    for client in clients {
        for reply in client.await.unwrap() {
            assert_eq!(reply.status, 200, "{}", reply.text());
            assert!(
                reply.body.len() < 16 * 1024,
                "answer of {} bytes",
                reply.body.len()
            );
            let response = &reply.json()["response"];
            assert_eq!(response["allowed"], false);
            let message = response["status"]["message"].as_str().unwrap();
            assert!(message.len() <= 8 * 1024, "{} bytes", message.len());
            assert!(message.contains("more errors not shown"), "{message}");
            assert!(message.contains("were not checked"), "{message}");
        }
    }
    run.finish("47,000 misspelt keys, 4 clients").await;
}

/// A TLS connection that sends `requests` pipelined HTTP/1.1 requests and never reads.
async fn never_reading_h1(addr: std::net::SocketAddr, ca: &str, body: &[u8], requests: usize) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(tls_config(ca, Proto::H1))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let head = format!(
        "POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    for _ in 0..requests {
        // Stops when the server stops reading (it is blocked writing to us) or closes.
        let write = async {
            tls.write_all(head.as_bytes()).await?;
            tls.write_all(body).await
        };
        match tokio::time::timeout(Duration::from_secs(30), write).await {
            Ok(Ok(())) => {}
            _ => break,
        }
    }
    // Hold the connection (unread) until the server gives up on it.
    let _ = tokio::time::timeout(Duration::from_secs(30), tls.flush()).await;
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_are_dropped_after_the_write_timeout() {
    let _serial = SERIAL.lock().await;
    let run = start(&["--write-timeout", "3s"]).await;
    let metrics = run.webhook.metrics;
    // 16 HTTP/1.1 connections pipelining denials of 300 misspelt keys, never reading.
    let body = misspelt_keys_review(300, false);
    let mut attackers = Vec::new();
    for _ in 0..16 {
        let (addr, ca, body) = (run.webhook.https, run.ca.clone(), body.clone());
        attackers.push(tokio::spawn(async move {
            never_reading_h1(addr, &ca, &body, 2000).await
        }));
    }
    // 8 HTTP/2 connections whose stream windows stay at zero, 32 streams each.
    let mut held = Vec::new();
    for _ in 0..8 {
        let tcp = tokio::net::TcpStream::connect(run.webhook.https)
            .await
            .unwrap();
        let tls = tokio_rustls::TlsConnector::from(tls_config(&run.ca, Proto::H2))
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await
            .unwrap();
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(0)
            .handshake::<_, http_body_util::Full<Bytes>>(TokioIo::new(tls))
            .await
            .unwrap();
        attackers.push(tokio::spawn(async move {
            let _ = conn.await;
        }));
        for _ in 0..32 {
            let mut sender = sender.clone();
            let request = hyper::Request::post("https://localhost/validate")
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(Bytes::from(fixture(
                    "deployment-create-denied",
                ))))
                .unwrap();
            held.push(tokio::spawn(async move {
                // The headers arrive; the body cannot, and is never asked for.
                let response = sender.send_request(request).await;
                std::future::pending::<()>().await;
                drop(response);
            }));
        }
    }
    let closed = |reason: &'static str| async move {
        metric(
            metrics,
            &format!("velero_hooks_webhook_connections_closed_total{{reason=\"{reason}\"}}"),
        )
        .await
    };
    let all_closed = eventually(Duration::from_secs(60), || async {
        closed("write_timeout").await >= 24.0
    })
    .await;
    let count = closed("write_timeout").await;
    for task in attackers.into_iter().chain(held) {
        task.abort();
    }
    assert!(
        all_closed,
        "{count} of 24 never-reading connections closed for write_timeout"
    );
    // Work done for nobody: each pipelined review is answered until the answers fill the
    // socket buffers. With the server's send buffer left to grow to megabytes, about 500
    // reviews per connection were done before the write blocked; with it set, about 35.
    let reviewed = metric(
        metrics,
        r#"velero_hooks_webhook_admission_requests_total{path="/validate",kind="Pod",operation="CREATE",verdict="denied"}"#,
    )
    .await;
    eprintln!(
        "never-reading connections: {reviewed} reviews answered into their buffers ({:.0} per connection)",
        reviewed / 16.0
    );
    assert!(
        reviewed < 16.0 * 100.0,
        "{reviewed} reviews done for 16 clients that never read"
    );
    run.finish("16 HTTP/1.1 never reading + 8 HTTP/2 zero window")
        .await;
}

/// A request body of `len` bytes that sends all but the last 16 and then stalls.
struct StallingBody {
    remaining: usize,
}

impl hyper::body::Body for StallingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.remaining <= 16 {
            return std::task::Poll::Pending;
        }
        let chunk = (self.remaining - 16).min(16 * 1024);
        self.remaining -= chunk;
        std::task::Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; chunk])))))
    }
}

const ALMOST_3_MIB: usize = 3 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_large_bodies_are_held_within_the_body_budget() {
    let _serial = SERIAL.lock().await;
    let run = start(&["--body-timeout", "5s"]).await;
    let metrics = run.webhook.metrics;
    let mut attackers = Vec::new();
    let answered_h1 = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let answered_h2 = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // 60 HTTP/1.1 connections, each 3 MiB declared and all but 16 bytes sent.
    for _ in 0..60 {
        let (addr, ca) = (run.webhook.https, run.ca.clone());
        let answered = answered_h1.clone();
        attackers.push(tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut tls = tokio_rustls::TlsConnector::from(tls_config(&ca, Proto::H1))
                .connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .unwrap();
            let head = format!(
                "POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {ALMOST_3_MIB}\r\n\r\n"
            );
            let _ = tls.write_all(head.as_bytes()).await;
            let _ = tls.write_all(&vec![b' '; ALMOST_3_MIB - 16]).await;
            let _ = tls.flush().await;
            let mut sink = Vec::new();
            let _ = tls.read_to_end(&mut sink).await;
            if sink.starts_with(b"HTTP/1.1 ") {
                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    // One HTTP/2 connection with 50 streams doing the same.
    let tcp = tokio::net::TcpStream::connect(run.webhook.https)
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(tls_config(&run.ca, Proto::H2))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake::<_, StallingBody>(TokioIo::new(tls))
        .await
        .unwrap();
    attackers.push(tokio::spawn(async move {
        let _ = conn.await;
    }));
    for _ in 0..50 {
        let mut sender = sender.clone();
        let answered = answered_h2.clone();
        attackers.push(tokio::spawn(async move {
            let request = hyper::Request::post("https://localhost/validate")
                .header("content-type", "application/json")
                .header("content-length", ALMOST_3_MIB.to_string())
                .body(StallingBody {
                    remaining: ALMOST_3_MIB,
                })
                .unwrap();
            if sender.send_request(request).await.is_ok() {
                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    // Every stalled body is answered (408 after the body timeout, or 503 when the budget
    // stayed full), so the server holds none of them for long. The server lets an HTTP/2
    // connection open 32 streams at a time (--http2-max-concurrent-streams): those 32
    // must be answered; whether the client then opens its other 18 depends on the
    // client library noticing the resets of the answered ones while it waits for window.
    let started = Instant::now();
    let counted = |answered: &std::sync::Arc<std::sync::atomic::AtomicUsize>| {
        answered.load(std::sync::atomic::Ordering::Relaxed)
    };
    let all_answered = eventually(Duration::from_secs(60), || async {
        counted(&answered_h1) == 60 && counted(&answered_h2) >= 32
    })
    .await;
    let shed = metric(
        metrics,
        "velero_hooks_webhook_overload_refusals_total{reason=\"body_bytes\"}",
    )
    .await;
    eprintln!(
        "stalled bodies answered after {:.1} s: {} of 60 HTTP/1.1, {} of 50 HTTP/2 streams; {shed} refused for the body budget",
        started.elapsed().as_secs_f64(),
        counted(&answered_h1),
        counted(&answered_h2),
    );
    for task in attackers {
        task.abort();
    }
    assert!(
        all_answered,
        "stalled bodies left unanswered: {} of 60 HTTP/1.1 and {} of the first 32 HTTP/2 streams answered",
        counted(&answered_h1),
        counted(&answered_h2).min(32)
    );
    assert!(
        shed > 0.0,
        "no stalled body was refused for the body budget"
    );
    run.finish("60 HTTP/1.1 + 50 HTTP/2 streams of stalled 3 MiB bodies")
        .await;
}

/// Far beyond the 10 s header timeout, well short of the 60 s idle timeout of before.
const HELD_BEFORE: Duration = Duration::from_secs(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_idle_after_the_handshake_are_closed_after_the_header_timeout() {
    let _serial = SERIAL.lock().await;
    // The production default header timeout, 10 s.
    let run = start(&[]).await;
    let started = Instant::now();
    let mut idle = Vec::new();
    // At most 1,000 at once: the server's 256 connections plus the listen backlog (1,024).
    // Beyond that the kernel drops SYNs and the client retries after 1, 3, 7, 15 s...,
    // which only makes the attack slower.
    let at_once = std::sync::Arc::new(tokio::sync::Semaphore::new(1000));
    for n in 0..2000 {
        let (addr, ca) = (run.webhook.https, run.ca.clone());
        let proto = if n % 2 == 0 { Proto::H1 } else { Proto::H2 };
        let at_once = at_once.clone();
        idle.push(tokio::spawn(async move {
            let _turn = at_once.acquire_owned().await.unwrap();
            let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else {
                return ("refused", Duration::ZERO);
            };
            let connector = tokio_rustls::TlsConnector::from(tls_config(&ca, proto));
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let Ok(mut tls) = connector.connect(name, tcp).await else {
                // Closed by the server during the handshake (evicted to make room).
                return ("closed in handshake", Duration::ZERO);
            };
            // Send nothing; the server must close the connection.
            let mut byte = [0u8; 1];
            let connected = Instant::now();
            match tokio::time::timeout(HELD_BEFORE, tls.read(&mut byte)).await {
                Ok(_) => ("closed after handshake", connected.elapsed()),
                Err(_) => ("still open", connected.elapsed()),
            }
        }));
    }
    let mut outcomes = std::collections::BTreeMap::new();
    let mut longest = Duration::ZERO;
    for task in idle {
        let (outcome, held) = task.await.unwrap();
        *outcomes.entry(outcome).or_insert(0) += 1;
        longest = longest.max(held);
    }
    // How long the server held each connection after its handshake is what matters.
    eprintln!(
        "2000 idle connections: {outcomes:?} after {:.1} s; longest held after its handshake {:.1} s",
        started.elapsed().as_secs_f64(),
        longest.as_secs_f64()
    );
    // Before, they were held for the 60 s idle timeout; now the 10 s header timeout (or
    // eviction, when the 256 slots are full) ends each.
    assert_eq!(outcomes.get("still open"), None, "{outcomes:?}");
    assert!(
        outcomes
            .get("closed after handshake")
            .is_some_and(|n| *n > 0)
    );
    let metrics = run.webhook.metrics;
    let reason = |reason: &str| {
        format!("velero_hooks_webhook_connections_closed_total{{reason=\"{reason}\"}}")
    };
    let evicted = metric(metrics, &reason("evicted")).await;
    let no_request = metric(metrics, &reason("no_first_request")).await;
    eprintln!("closed: {evicted} evicted, {no_request} after the header timeout");
    // A connection cut during its handshake may also have failed the handshake on the
    // server (not counted); every one cut after it was closed for one of the two reasons.
    let closed_by_server = outcomes.get("closed after handshake").copied().unwrap_or(0);
    assert!(
        evicted + no_request >= f64::from(closed_by_server),
        "{evicted} + {no_request} < {closed_by_server}"
    );
    run.finish("2000 connections idle after the handshake")
        .await;
}
