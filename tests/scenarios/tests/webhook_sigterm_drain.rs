//! SIGTERM while a request is still arriving: the server stops accepting connections,
//! finishes that request, then exits 0.

mod webhook_support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhook_support::client::{Proto, tls_config};
use webhook_support::{Webhook, fixture, install_provider};

#[tokio::test]
async fn in_flight_request_completes_after_sigterm() {
    install_provider();
    let mut webhook = Webhook::start(&["--self-signed", "--shutdown-grace", "10s"]);
    let ca = webhook.ca_pem.clone().unwrap();
    let tcp = tokio::net::TcpStream::connect(webhook.https).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(tls_config(&ca, Proto::H1))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let body = fixture("deployment-create-denied");
    let (first, rest) = body.split_at(body.len() / 2);
    tls.write_all(
        format!(
            "POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tls.write_all(first).await.unwrap();
    tls.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    webhook.signal("TERM");
    // No new connections once draining.
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(webhook.https).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "still accepting connections after SIGTERM");
    assert!(
        webhook.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );

    // The slow request finishes and is answered.
    tokio::time::sleep(Duration::from_millis(500)).await;
    tls.write_all(rest).await.unwrap();
    tls.flush().await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut raw))
        .await
        .expect("response after SIGTERM")
        .ok();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains(r#""allowed":false"#), "{text}");

    assert_eq!(webhook.wait(Duration::from_secs(10)), Some(0), "exit code");
    let logs = webhook.logs.lock().unwrap().join("\n");
    assert!(logs.contains("all connections drained"), "{logs}");
}
