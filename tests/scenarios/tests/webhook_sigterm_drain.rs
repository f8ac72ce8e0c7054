//! SIGTERM: the server fails /readyz but keeps accepting for the shutdown delay, then
//! stops accepting, finishes requests in flight (answered with `Connection: close`), and
//! exits 0; a client sending through a rolling restart sees no failure.

mod webhook_support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhook_support::client::{Proto, tls_config};
use webhook_support::{Webhook, fixture, install_provider};

#[tokio::test]
async fn in_flight_request_completes_after_sigterm() {
    install_provider();
    let mut webhook = Webhook::start(&[
        "--self-signed",
        "--shutdown-delay",
        "1s",
        "--shutdown-grace",
        "10s",
    ]);
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
    // New connections are still accepted during the delay...
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(webhook.https).await.is_ok(),
        "refused connections during the shutdown delay"
    );
    // ...and no more once it is over.
    let mut refused = false;
    for _ in 0..150 {
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
    assert!(text.contains("connection: close\r\n"), "{text}");
    assert!(text.contains(r#""allowed":false"#), "{text}");

    assert_eq!(webhook.wait(Duration::from_secs(10)), Some(0), "exit code");
    let logs = webhook.logs.lock().unwrap().join("\n");
    assert!(logs.contains("all connections drained"), "{logs}");
}

/// Two pods and a client that sends continuously over HTTP/1.1 keep-alive connections,
/// opening new ones only to pods whose `/readyz` answers (polled every 100 ms, as the
/// endpoints controller and kube-proxy do, only faster). The old pod gets SIGTERM: not
/// one request may fail, and the old pod must answer some after SIGTERM (the delay) and
/// then exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_through_a_rolling_restart_sees_no_failure() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use webhook_support::client::{connect, plain_get};

    install_provider();
    let args = [
        "--self-signed",
        "--shutdown-delay",
        "2s",
        "--shutdown-grace",
        "5s",
    ];
    let mut old = Webhook::start(&args);
    let new = Webhook::start(&args);
    let pods = [(old.https, old.metrics), (new.https, new.metrics)];
    // Trust both pods' self-signed CAs.
    let ca = format!(
        "{}{}",
        old.ca_pem.clone().unwrap(),
        new.ca_pem.clone().unwrap()
    );
    let config = tls_config(&ca, Proto::H1);

    let ready = Arc::new(Mutex::new(vec![true, true]));
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (ready, stop) = (ready.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for (i, (_, metrics)) in pods.iter().enumerate() {
                    let up = matches!(plain_get(*metrics, "/readyz").await, Ok((200, _)));
                    ready.lock().unwrap()[i] = up;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let terminated = Arc::new(AtomicBool::new(false));
    let client = {
        let (ready, stop, terminated) = (ready.clone(), stop.clone(), terminated.clone());
        tokio::spawn(async move {
            let body = fixture("deployment-create-denied");
            let (mut sent, mut old_after_term, mut failures) = (0, 0, Vec::new());
            let mut conn = None;
            let mut next = 0usize;
            while !stop.load(Ordering::Relaxed) {
                if conn.is_none() {
                    let up: Vec<usize> = {
                        let ready = ready.lock().unwrap();
                        (0..2).filter(|i| ready[*i]).collect()
                    };
                    let pod = up[next % up.len()];
                    next += 1;
                    match connect(pods[pod].0, config.clone(), Proto::H1).await {
                        Ok(c) => conn = Some((c, pod)),
                        Err(err) => {
                            failures.push(format!("connect to pod {pod}: {err:#}"));
                            continue;
                        }
                    }
                }
                let (c, pod) = conn.as_mut().unwrap();
                let pod = *pod;
                sent += 1;
                match c.post("/validate", body.clone()).await {
                    Ok(reply)
                        if reply.status == 200 && reply.json()["response"]["allowed"] == false =>
                    {
                        // `Connection: close` comes only from a pod that got SIGTERM: it
                        // counts even when it raced the flag set beside the signal.
                        let closing = reply
                            .headers
                            .get("connection")
                            .is_some_and(|v| v == "close");
                        if pod == 0 && (closing || terminated.load(Ordering::Relaxed)) {
                            old_after_term += 1;
                        }
                        if closing {
                            conn = None;
                        }
                    }
                    Ok(reply) => {
                        failures.push(format!("pod {pod}: {} {}", reply.status, reply.text()));
                        conn = None;
                    }
                    Err(err) => {
                        failures.push(format!("pod {pod}: {err:#}"));
                        conn = None;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (sent, old_after_term, failures)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    old.signal("TERM");
    terminated.store(true, Ordering::Relaxed);
    let exit = tokio::task::spawn_blocking(move || {
        let code = old.wait(Duration::from_secs(20));
        (code, old)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let (sent, old_after_term, failures) = client.await.unwrap();
    poller.await.unwrap();
    eprintln!(
        "rolling restart: {sent} requests, {old_after_term} answered by the old pod after SIGTERM, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed: {failures:?}",
        failures.len()
    );
    assert!(
        old_after_term > 0,
        "the old pod answered nothing after SIGTERM"
    );
    assert_eq!(exit.0, Some(0), "old pod exit code");
    let logs = exit.1.logs.lock().unwrap().join("\n");
    assert!(
        logs.contains("still answering until clients move"),
        "{logs}"
    );
}
