//! The serving certificate: loaded from PEM files and re-read when they change (cert-manager
//! rotates them; a Secret volume swaps a symlink), or generated in memory for `--self-signed`.
//!
//! New handshakes pick up a new certificate through an `ArcSwap` behind rustls'
//! `ResolvesServerCert`; connections already established keep the one they started with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::metrics::Metrics;

/// ring is the only provider in the workspace; every TLS object is built with it explicitly
/// and `main` installs it as the process default too.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate new handshakes get.
#[derive(Debug)]
pub struct CertStore {
    current: ArcSwap<CertifiedKey>,
}

impl CertStore {
    pub fn new(key: CertifiedKey) -> Self {
        CertStore {
            current: ArcSwap::from_pointee(key),
        }
    }

    pub fn replace(&self, key: CertifiedKey) {
        self.current.store(Arc::new(key));
    }

    /// DER of the leaf certificate in use.
    pub fn leaf(&self) -> Vec<u8> {
        self.current
            .load()
            .cert
            .first()
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// TLS 1.2 and 1.3 (rustls supports nothing older), ALPN h2 then http/1.1.
pub fn server_config(store: Arc<CertStore>) -> anyhow::Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Parses a PEM chain and key and checks that the key belongs to the leaf certificate.
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &*cert_pem)
        .collect::<Result<_, _>>()
        .context("certificate file is not valid PEM")?;
    if chain.is_empty() {
        bail!("certificate file holds no CERTIFICATE block");
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &*key_pem)
        .context("key file is not valid PEM")?
        .ok_or_else(|| anyhow!("key file holds no PRIVATE KEY block"))?;
    let key = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| anyhow!("certificate and key do not form a usable pair: {e}"))?;
    // from_der accepts "unknown" consistency; the ring provider always knows, but check so
    // that a mismatched pair can never be served.
    key.keys_match()
        .map_err(|e| anyhow!("key does not match the certificate: {e}"))?;
    Ok(key)
}

/// Certificate files on disk.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The bytes of both files, to notice any change.
pub type CertContent = (Vec<u8>, Vec<u8>);

impl CertFiles {
    fn read(&self) -> anyhow::Result<CertContent> {
        let read = |path: &Path| {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
        };
        Ok((read(&self.cert)?, read(&self.key)?))
    }

    /// The key pair, and the content it was built from (for [`watch`]).
    pub fn load(&self) -> anyhow::Result<(CertifiedKey, CertContent)> {
        let content = self.read()?;
        let key = certified_key(&content.0, &content.1).with_context(|| {
            format!(
                "cannot use {} and {}",
                self.cert.display(),
                self.key.display()
            )
        })?;
        Ok((key, content))
    }
}

/// Polls the files and swaps in a new certificate when their content changes. Polling the
/// content (not inotify) follows Kubernetes' `..data` symlink swap and any other way of
/// replacing files. A bad pair is reported once and the previous certificate stays.
/// `loaded` is the content the current certificate came from.
pub async fn watch(
    files: CertFiles,
    loaded: CertContent,
    store: Arc<CertStore>,
    metrics: Arc<Metrics>,
    interval: Duration,
) {
    let mut last_seen = Some(loaded);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let files = files.clone();
        // Reading and parsing block briefly; keep them off the request threads.
        let read = tokio::task::spawn_blocking(move || {
            let content = files.read();
            (files, content)
        })
        .await;
        let Ok((files_back, content)) = read else {
            continue;
        };
        let content = match content {
            Ok(content) => content,
            Err(err) => {
                if last_seen.is_some() {
                    metrics.cert_reload_failures.inc();
                    tracing::error!(error = %format!("{err:#}"), "certificate reload failed; keeping the current certificate");
                    last_seen = None;
                }
                continue;
            }
        };
        if last_seen.as_ref() == Some(&content) {
            continue;
        }
        match certified_key(&content.0, &content.1) {
            Ok(key) => {
                store.replace(key);
                metrics.cert_reloads.inc();
                metrics.certificate_loaded();
                tracing::info!(cert = %files_back.cert.display(), "serving certificate reloaded");
            }
            Err(err) => {
                metrics.cert_reload_failures.inc();
                tracing::error!(
                    cert = %files_back.cert.display(),
                    error = %format!("{err:#}"),
                    "certificate reload failed; keeping the current certificate"
                );
            }
        }
        last_seen = Some(content);
    }
}

/// A CA and a serving certificate signed by it, all PEM.
#[derive(Debug, Clone)]
pub struct SelfSigned {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Generates a CA and a serving certificate for localhost, 127.0.0.1 and `dns_names`.
pub fn self_signed(dns_names: &[String]) -> anyhow::Result<SelfSigned> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "velero-hooks-webhook self-signed CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    names.extend(dns_names.iter().filter(|n| !n.is_empty()).cloned());
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "velero-hooks-webhook");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(SelfSigned {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_pair_loads_and_mismatches_are_refused() {
        let one = self_signed(&["webhook.ns.svc".to_owned()]).unwrap();
        let two = self_signed(&[]).unwrap();
        assert!(one.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        certified_key(one.cert_pem.as_bytes(), one.key_pem.as_bytes()).unwrap();
        let err = certified_key(one.cert_pem.as_bytes(), two.key_pem.as_bytes()).unwrap_err();
        assert!(format!("{err:#}").contains("match"), "{err:#}");
        assert!(certified_key(b"", one.key_pem.as_bytes()).is_err());
        assert!(certified_key(one.cert_pem.as_bytes(), b"junk").is_err());
    }

    #[tokio::test]
    async fn watch_swaps_good_pairs_and_keeps_the_old_on_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let files = CertFiles {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        };
        let write = |pair: &SelfSigned| {
            std::fs::write(&files.cert, &pair.cert_pem).unwrap();
            std::fs::write(&files.key, &pair.key_pem).unwrap();
        };
        let first = self_signed(&[]).unwrap();
        write(&first);
        let (key, loaded) = files.load().unwrap();
        let store = Arc::new(CertStore::new(key));
        let metrics = Arc::new(Metrics::new());
        let original = store.leaf();
        let task = tokio::spawn(watch(
            files.clone(),
            loaded,
            store.clone(),
            metrics.clone(),
            Duration::from_millis(20),
        ));
        // A certificate with a key of another pair: refused, old one kept.
        std::fs::write(&files.cert, self_signed(&[]).unwrap().cert_pem).unwrap();
        wait_for(|| metrics.cert_reload_failures.get() == 1).await;
        assert_eq!(store.leaf(), original);
        let second = self_signed(&[]).unwrap();
        write(&second);
        wait_for(|| metrics.cert_reloads.get() == 1).await;
        assert_ne!(store.leaf(), original);
        task.abort();
    }

    async fn wait_for(condition: impl Fn() -> bool) {
        for _ in 0..250 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("condition not reached");
    }
}
