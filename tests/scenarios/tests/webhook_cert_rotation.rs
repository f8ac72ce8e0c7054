//! Certificate rotation under traffic: the real binary serves cert files laid out like a
//! Kubernetes Secret volume (`tls.crt -> ..data/tls.crt`, `..data -> ..<timestamp>`); the
//! files are replaced by a certificate from a new CA the way the kubelet does it (new
//! directory, `..data` symlink swapped atomically). Requests keep flowing over kept-alive
//! HTTP/1.1 and HTTP/2 connections and over new connections: none may fail, and new
//! connections must end up presenting the new certificate.

mod webhook_support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use velero_hooks_webhook::tls::{SelfSigned, self_signed};
use webhook_support::client::{Proto, connect, plain_get, tls_config};
use webhook_support::{Webhook, fixture, install_provider};

fn pem_der(pem: &str) -> Vec<u8> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

/// Writes a pair the kubelet's way: a fresh directory, then an atomic `..data` swap.
fn publish(dir: &Path, generation: u32, pair: &SelfSigned) {
    let data = format!("..2026_11_20_10_00_0{generation}");
    std::fs::create_dir(dir.join(&data)).unwrap();
    std::fs::write(dir.join(&data).join("tls.crt"), &pair.cert_pem).unwrap();
    std::fs::write(dir.join(&data).join("tls.key"), &pair.key_pem).unwrap();
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(&data, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for file in ["tls.crt", "tls.key"] {
        let link = dir.join(file);
        if !link.exists() {
            std::os::unix::fs::symlink(format!("..data/{file}"), &link).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_traffic_fails_no_request() {
    install_provider();
    let dir = tempfile::tempdir().unwrap();
    let old = self_signed(&[]).unwrap();
    let new = self_signed(&[]).unwrap();
    publish(dir.path(), 1, &old);
    let cert = dir.path().join("tls.crt");
    let key = dir.path().join("tls.key");
    let webhook = Webhook::start(&[
        "--tls-cert-file",
        cert.to_str().unwrap(),
        "--tls-key-file",
        key.to_str().unwrap(),
        "--tls-reload-interval",
        "200ms",
    ]);
    let (old_der, new_der) = (pem_der(&old.cert_pem), pem_der(&new.cert_pem));
    let both_cas = format!("{}{}", old.ca_pem, new.ca_pem);
    let body = fixture("deployment-create-denied");
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let saw_new = Arc::new(AtomicBool::new(false));

    // Kept-alive connections opened before the rotation, one per protocol.
    let mut kept = Vec::new();
    for proto in [Proto::H1, Proto::H2] {
        let mut conn = connect(webhook.https, tls_config(&old.ca_pem, proto), proto)
            .await
            .unwrap();
        assert_eq!(conn.peer_cert, old_der);
        let (stop, failures, body) = (stop.clone(), failures.clone(), body.clone());
        kept.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match conn.post("/validate", body.clone()).await {
                    Ok(reply) if reply.status == 200 => sent += 1,
                    other => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("kept-alive {proto:?}: {:?}", other.map(|r| r.text()));
                    }
                }
            }
            (sent, conn.peer_cert.clone(), conn.is_closed())
        }));
    }
    // A new connection for every request, trusting both CAs.
    let fresh = {
        let (stop, failures, saw_new, body) = (
            stop.clone(),
            failures.clone(),
            saw_new.clone(),
            body.clone(),
        );
        let https = webhook.https;
        let new_der = new_der.clone();
        tokio::spawn(async move {
            let mut sent = 0u64;
            let mut turn = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let proto = if turn.is_multiple_of(2) {
                    Proto::H1
                } else {
                    Proto::H2
                };
                turn += 1;
                let result = async {
                    let mut conn = connect(https, tls_config(&both_cas, proto), proto).await?;
                    let reply = conn.post("/validate", body.clone()).await?;
                    anyhow::ensure!(reply.status == 200, "status {}", reply.status);
                    Ok(conn.peer_cert)
                }
                .await;
                match result {
                    Ok(peer) => {
                        sent += 1;
                        if peer == new_der {
                            saw_new.store(true, Ordering::Relaxed);
                        }
                    }
                    Err(err) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("new connection: {err:#}");
                    }
                }
            }
            sent
        })
    };

    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!saw_new.load(Ordering::Relaxed));
    publish(dir.path(), 2, &new);
    std::fs::remove_dir_all(dir.path().join("..2026_11_20_10_00_01")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !saw_new.load(Ordering::Relaxed) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Traffic continues a little after the switch.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);

    let fresh_sent = fresh.await.unwrap();
    for task in kept {
        let (sent, peer, closed) = task.await.unwrap();
        assert!(sent > 10, "kept-alive connection sent only {sent}");
        // Established connections carried on with the certificate they started with.
        assert_eq!(peer, old_der);
        assert!(
            !closed,
            "a kept-alive connection was closed by the rotation"
        );
    }
    assert!(
        fresh_sent > 10,
        "only {fresh_sent} requests on new connections"
    );
    assert_eq!(failures.load(Ordering::Relaxed), 0, "failed requests");
    assert!(
        saw_new.load(Ordering::Relaxed),
        "new connections never got the new certificate"
    );

    let (_, metrics) = plain_get(webhook.metrics, "/metrics").await.unwrap();
    assert!(
        metrics.contains("velero_hooks_webhook_certificate_reloads_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("velero_hooks_webhook_certificate_reload_failures_total 0"),
        "{metrics}"
    );
}
