//! The real server over real HTTPS (rustls client, HTTP/1.1 and HTTP/2): fixtures in,
//! AdmissionReviews out; bad input; probes and metrics.

mod common;

use std::time::Duration;

use common::client::{Proto, connect, plain_get, tls_config};
use common::{fixture, fixture_names, start, start_with_limits};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use velero_hooks::normalize::Normalizations;
use velero_hooks_webhook::admission::{parse_review, render_review};
use velero_hooks_webhook::review::{Mode, Policy, review};

fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What the pure decision says for `body`, rendered.
fn expected_response(body: &[u8], mode: Mode, policy: &Policy) -> Value {
    let request = parse_review(body).unwrap();
    serde_json::from_slice(&render_review(&review(&request, mode, policy).response)).unwrap()
}

#[tokio::test]
async fn every_fixture_over_http1_and_http2() {
    install_provider();
    let server = start(Policy::default()).await;
    for proto in [Proto::H1, Proto::H2] {
        let mut conn = connect(server.https, tls_config(&server.ca_pem, proto), proto)
            .await
            .unwrap();
        let alpn: &[u8] = if proto == Proto::H2 {
            b"h2"
        } else {
            b"http/1.1"
        };
        assert_eq!(conn.alpn.as_deref(), Some(alpn));
        // One connection for all of them: keep-alive (HTTP/1.1) and streams (HTTP/2).
        for name in fixture_names() {
            let body = fixture(&name);
            for mode in [Mode::Enforce, Mode::Warn, Mode::Mutate] {
                let reply = conn.post(mode.path(), body.clone()).await.unwrap();
                assert_eq!(
                    reply.status,
                    200,
                    "{name} {}: {}",
                    mode.path(),
                    reply.text()
                );
                assert_eq!(reply.headers["content-type"], "application/json");
                let got = reply.json();
                assert_eq!(
                    got,
                    expected_response(&body, mode, &Policy::default()),
                    "{name}"
                );
                let sent: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(got["response"]["uid"], sent["request"]["uid"]);
                assert_eq!(got["apiVersion"], "admission.k8s.io/v1");
                assert_eq!(got["kind"], "AdmissionReview");
                let denied = name.ends_with("-denied") && mode == Mode::Enforce;
                assert_eq!(
                    got["response"]["allowed"],
                    !denied,
                    "{name} {}",
                    mode.path()
                );
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn mutate_returns_a_json_patch_when_configured() {
    install_provider();
    let policy = Policy {
        normalize: Normalizations {
            json_command: true,
            explicit_defaults: true,
            migrate_legacy: true,
            pin_container: true,
        },
        ..Policy::default()
    };
    let server = start(policy).await;
    let mut conn = connect(
        server.https,
        tls_config(&server.ca_pem, Proto::H2),
        Proto::H2,
    )
    .await
    .unwrap();
    let body = fixture("deployment-create-legacy-plain-commands-denied");
    let got = conn.post("/mutate", body.clone()).await.unwrap().json();
    let response = &got["response"];
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");
    use base64::Engine as _;
    let patch = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let operations: json_patch::Patch = serde_json::from_slice(&patch).unwrap();
    let sent: Value = serde_json::from_slice(&body).unwrap();
    let mut object = sent["request"]["object"].clone();
    json_patch::patch(&mut object, &operations).unwrap();
    let annotations = &object["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(
        annotations["pre.hook.backup.velero.io/command"],
        r#"["/sbin/fsfreeze","--freeze","/var/log/nginx"]"#
    );
    assert!(annotations.get("hook.backup.velero.io/command").is_none());
    // Only hook annotations moved.
    let mut without_annotations = object.clone();
    let mut original = sent["request"]["object"].clone();
    for o in [&mut without_annotations, &mut original] {
        o["spec"]["template"]["metadata"]["annotations"] = Value::Null;
    }
    assert_eq!(without_annotations, original);
    // Idempotent: the patched object gets no patch.
    let mut again: Value = sent.clone();
    again["request"]["object"] = object;
    let got = conn
        .post("/mutate", serde_json::to_vec(&again).unwrap())
        .await
        .unwrap()
        .json();
    assert!(got["response"].get("patch").is_none(), "{got}");
    assert_eq!(got["response"]["allowed"], true);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_clear_http_errors() {
    install_provider();
    let server = start(Policy::default()).await;
    let mut conn = connect(
        server.https,
        tls_config(&server.ca_pem, Proto::H1),
        Proto::H1,
    )
    .await
    .unwrap();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("POST", "/validate", b"{not json".to_vec(), 400, "body is not JSON"),
        ("POST", "/validate", b"".to_vec(), 400, "body is not JSON"),
        ("POST", "/validate", br#"{"apiVersion":"v1","kind":"Pod"}"#.to_vec(), 400, "apiVersion is \"v1\", expected \"admission.k8s.io/v1\""),
        ("POST", "/warn", br#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}"#.to_vec(), 400, "kind is \"Pod\""),
        ("POST", "/mutate", br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(), 400, "has no request"),
        ("POST", "/validate", br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#.to_vec(), 400, "has no uid"),
        ("POST", "/validate", br#"[1,2]"#.to_vec(), 400, "malformed"),
        ("GET", "/validate", Vec::new(), 405, "use POST"),
        ("PUT", "/mutate", Vec::new(), 405, "use POST"),
        ("POST", "/healthz", Vec::new(), 405, "use GET"),
        ("POST", "/nowhere", Vec::new(), 404, "/validate, /warn, /mutate"),
        ("GET", "/metrics", Vec::new(), 404, "not found"),
    ];
    for (method, path, body, status, says) in cases {
        // The connection survives every error (keep-alive).
        let reply = conn.send(method, path, body).await.unwrap();
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text());
        assert!(
            reply.text().contains(says),
            "{method} {path}: {}",
            reply.text()
        );
    }
    // Oversized: refused from Content-Length before reading, and mid-stream without it.
    let big = vec![b' '; 3 * 1024 * 1024 + 1];
    let reply = conn.post("/validate", big.clone()).await.unwrap();
    assert_eq!(reply.status, 413);
    assert!(
        reply.text().contains("3145728 bytes (3 MiB"),
        "{}",
        reply.text()
    );
    let mut h2 = connect(
        server.https,
        tls_config(&server.ca_pem, Proto::H2),
        Proto::H2,
    )
    .await
    .unwrap();
    assert_eq!(h2.post("/warn", big).await.unwrap().status, 413);
    // Just under the limit is read and judged (not JSON here).
    let reply = h2.post("/warn", vec![b' '; 3 * 1024 * 1024]).await.unwrap();
    assert_eq!(reply.status, 400);
    server.stop().await;
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_told_so() {
    install_provider();
    let server = start(Policy::default()).await;
    let mut tcp = tokio::net::TcpStream::connect(server.https).await.unwrap();
    tcp.write_all(b"POST /validate HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut raw))
        .await
        .unwrap()
        .unwrap();
    assert!(raw.starts_with("HTTP/1.1 400 Bad Request"), "{raw}");
    assert!(raw.contains("this port speaks HTTPS"), "{raw}");
    // Garbage that is neither HTTP nor TLS: closed, server still fine.
    let mut tcp = tokio::net::TcpStream::connect(server.https).await.unwrap();
    tcp.write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0xff, 0x00, 0x00, 0x00])
        .await
        .unwrap();
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), tcp.read_to_end(&mut sink)).await;
    assert!(
        closed.is_ok(),
        "a bad handshake must close the connection promptly"
    );
    let (status, _) = plain_get(server.metrics, "/healthz").await.unwrap();
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn probes_and_metrics() {
    install_provider();
    let server = start(Policy::default()).await;
    for path in ["/healthz", "/readyz"] {
        let (status, body) = plain_get(server.metrics, path).await.unwrap();
        assert_eq!(status, 200, "{path}: {body}");
    }
    let mut conn = connect(
        server.https,
        tls_config(&server.ca_pem, Proto::H2),
        Proto::H2,
    )
    .await
    .unwrap();
    assert_eq!(conn.get("/readyz").await.unwrap().status, 200);
    assert_eq!(conn.get("/healthz").await.unwrap().status, 200);
    conn.post("/validate", fixture("deployment-create-denied"))
        .await
        .unwrap();
    conn.post("/validate", fixture("deployment-create-denied"))
        .await
        .unwrap();
    conn.post("/warn", fixture("pod-create-owned-warned"))
        .await
        .unwrap();
    conn.post("/validate", fixture("configmap-create-allowed"))
        .await
        .unwrap();
    conn.post("/validate", b"nope".to_vec()).await.unwrap();
    let (status, text) = plain_get(server.metrics, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    for line in [
        r#"velero_hooks_webhook_admission_requests_total{path="/validate",kind="Deployment",operation="CREATE",verdict="denied"} 2"#,
        r#"velero_hooks_webhook_admission_requests_total{path="/warn",kind="Pod",operation="CREATE",verdict="warned"} 1"#,
        r#"velero_hooks_webhook_admission_requests_total{path="/validate",kind="other",operation="CREATE",verdict="allowed"} 1"#,
        r#"velero_hooks_webhook_admission_requests_total{path="/validate",kind="unknown",operation="unknown",verdict="error"} 1"#,
        r#"velero_hooks_webhook_findings_total{code="HV022"} 2"#,
        r#"velero_hooks_webhook_findings_total{code="HV003"} 1"#,
        r#"velero_hooks_webhook_admission_duration_seconds_count{path="/validate"} 4"#,
        "velero_hooks_webhook_in_flight_requests 0",
        "velero_hooks_webhook_certificate_reloads_total 0",
        "# EOF",
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn stalled_clients_time_out() {
    install_provider();
    let server = start(Policy::default()).await;
    let config = tls_config(&server.ca_pem, Proto::H1);
    let open = |config| async move {
        let tcp = tokio::net::TcpStream::connect(server.https).await.unwrap();
        tokio_rustls::TlsConnector::from(config)
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await
            .unwrap()
    };
    // Headers never finished, and a body that stops half-way.
    let mut slow_headers = open(config.clone()).await;
    slow_headers
        .write_all(b"POST /validate HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut slow_body = open(config.clone()).await;
    slow_body
        .write_all(b"POST /validate HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"apiV")
        .await
        .unwrap();
    let read_all = |mut stream: tokio_rustls::client::TlsStream<tokio::net::TcpStream>| async move {
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw)).await;
        String::from_utf8_lossy(&raw).into_owned()
    };
    let started = std::time::Instant::now();
    let (headers_reply, body_reply) = tokio::join!(read_all(slow_headers), read_all(slow_body));
    assert!(started.elapsed() < Duration::from_secs(15));
    // Header timeout: hyper closes the connection (with a 408 or nothing at all).
    assert!(
        headers_reply.is_empty() || headers_reply.starts_with("HTTP/1.1 408"),
        "{headers_reply}"
    );
    assert!(body_reply.starts_with("HTTP/1.1 408"), "{body_reply}");
    assert!(
        body_reply.contains("request body not received within 10 seconds"),
        "{body_reply}"
    );
    server.stop().await;
}

/// Large bodies queued for the body budget wait without a request slot: with two slots, one
/// taken by a large body that stalls and three more large bodies queued behind it for the
/// budget, an ordinary review is still answered at once instead of queueing behind them
/// for a slot (and being refused with 503 when none frees up within the queue wait).
#[tokio::test]
async fn large_bodies_waiting_for_the_budget_hold_no_request_slot() {
    install_provider();
    let limits = velero_hooks_webhook::limits::ServerLimits {
        max_requests_in_flight: 2,
        max_body_bytes_in_flight: 4 * 1024 * 1024,
        queue_wait: Duration::from_secs(3),
        body_timeout: Duration::from_secs(6),
        ..Default::default()
    };
    let server = start_with_limits(Policy::default(), limits).await;
    let config = tls_config(&server.ca_pem, Proto::H1);
    let mut large = Vec::new();
    for _ in 0..4 {
        let tcp = tokio::net::TcpStream::connect(server.https).await.unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(config.clone())
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await
            .unwrap();
        let head = "POST /validate HTTP/1.1\r\nhost: x\r\ncontent-length: 3000000\r\n\r\n{";
        tls.write_all(head.as_bytes()).await.unwrap();
        tls.flush().await.unwrap();
        large.push(tls);
    }
    // Let the four reach the server: the first takes 3 MB of the 4 MiB budget and a slot.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut normal = connect(server.https, config, Proto::H1).await.unwrap();
    let reply = normal
        .post("/validate", fixture("deployment-create-denied"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["response"]["allowed"], false);
    let (_, text) = plain_get(server.metrics, "/metrics").await.unwrap();
    assert!(
        !text.contains(r#"overload_refusals_total{reason="request_slots"}"#),
        "{text}"
    );
    drop(large);
    server.stop().await;
}
