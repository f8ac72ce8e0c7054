//! The serving certificate: loaded from PEM files and re-read when they change (cert-manager
//! rotates them; a Secret volume swaps a symlink), or generated in memory for `--self-signed`.
//!
//! New handshakes pick up a new certificate through an `ArcSwap` behind rustls'
//! `ResolvesServerCert`; connections already established keep the one they started with.
//!
//! A certificate is served only if it is valid now and names every `--dns-name`: a
//! rotated file that is expired, not yet valid or issued for other names is refused on
//! reload (the current one stays, the failure is logged and counted), and `/readyz` fails
//! once the current one itself expires.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    /// Unix time the current certificate expires.
    not_after: AtomicI64,
}

impl CertStore {
    pub fn new(key: CertifiedKey) -> Self {
        let not_after = leaf_validity(&key).map_or(i64::MAX, |v| v.not_after);
        CertStore {
            current: ArcSwap::from_pointee(key),
            not_after: AtomicI64::new(not_after),
        }
    }

    pub fn replace(&self, key: CertifiedKey) {
        let not_after = leaf_validity(&key).map_or(i64::MAX, |v| v.not_after);
        self.current.store(Arc::new(key));
        self.not_after.store(not_after, Ordering::SeqCst);
    }

    /// Why the current certificate cannot be trusted any more, if it has expired.
    pub fn expired(&self) -> Option<String> {
        let not_after = self.not_after.load(Ordering::SeqCst);
        (not_after < unix_now()).then(|| {
            format!("the serving certificate expired at {not_after} (Unix time) and no valid renewal was loaded")
        })
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

/// A certificate's validity period, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: i64,
    pub not_after: i64,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn leaf_validity(key: &CertifiedKey) -> anyhow::Result<Validity> {
    let leaf = key
        .cert
        .first()
        .ok_or_else(|| anyhow!("certificate chain is empty"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| anyhow!("leaf certificate cannot be parsed: {e}"))?;
    Ok(Validity {
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// Checks that the leaf certificate is valid at `now` (Unix seconds) and that its subject
/// alternative names cover every name in `dns_names` (exactly, or by a `*.` wildcard for
/// one label, as TLS clients match them).
pub fn check_serving(
    key: &CertifiedKey,
    dns_names: &[String],
    now: i64,
) -> anyhow::Result<Validity> {
    let validity = leaf_validity(key)?;
    if now < validity.not_before {
        bail!(
            "certificate is not valid yet: valid from {} (Unix time), now is {now}; check the issuer's clock",
            validity.not_before
        );
    }
    if now > validity.not_after {
        bail!(
            "certificate expired at {} (Unix time), now is {now}; renew it",
            validity.not_after
        );
    }
    let leaf = &key.cert[0];
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| anyhow!("leaf certificate cannot be parsed: {e}"))?;
    let names: Vec<x509_parser::extensions::GeneralName<'_>> = cert
        .subject_alternative_name()
        .map_err(|e| anyhow!("subjectAltName cannot be parsed: {e}"))?
        .map(|san| san.value.general_names.clone())
        .unwrap_or_default();
    let missing: Vec<&str> = dns_names
        .iter()
        .filter(|wanted| !wanted.is_empty() && !names.iter().any(|n| covers(n, wanted)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let has: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        bail!(
            "certificate is not valid for {} (it names {}); issue it for the webhook Service's DNS names",
            missing.join(", "),
            if has.is_empty() {
                "nothing".to_owned()
            } else {
                has.join(", ")
            }
        );
    }
    Ok(validity)
}

fn covers(name: &x509_parser::extensions::GeneralName<'_>, wanted: &str) -> bool {
    use x509_parser::extensions::GeneralName;
    match name {
        GeneralName::DNSName(dns) => {
            let (dns, wanted) = (dns.to_ascii_lowercase(), wanted.to_ascii_lowercase());
            match dns.strip_prefix("*.") {
                Some(suffix) => wanted
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
                None => dns == wanted,
            }
        }
        GeneralName::IPAddress(bytes) => match wanted.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => *bytes == ip.octets(),
            Ok(IpAddr::V6(ip)) => *bytes == ip.octets(),
            Err(_) => false,
        },
        _ => false,
    }
}

/// A pair that may be served now: [`certified_key`] and [`check_serving`].
pub fn serving_key(
    cert_pem: &[u8],
    key_pem: &[u8],
    dns_names: &[String],
) -> anyhow::Result<CertifiedKey> {
    let key = certified_key(cert_pem, key_pem)?;
    check_serving(&key, dns_names, unix_now())?;
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

    /// The key pair, checked for serving `dns_names`, and the content it was built from
    /// (for [`watch`]).
    pub fn load(&self, dns_names: &[String]) -> anyhow::Result<(CertifiedKey, CertContent)> {
        let content = self.read()?;
        let key = serving_key(&content.0, &content.1, dns_names).with_context(|| {
            format!(
                "cannot use {} and {}",
                self.cert.display(),
                self.key.display()
            )
        })?;
        Ok((key, content))
    }
}

/// What [`watch`] polls and what it requires of a new certificate.
#[derive(Debug, Clone)]
pub struct Watched {
    pub files: CertFiles,
    pub dns_names: Vec<String>,
    pub interval: Duration,
}

/// Polls the files and swaps in a new certificate when their content changes. Polling the
/// content (not inotify) follows Kubernetes' `..data` symlink swap and any other way of
/// replacing files. A bad pair, or one that [`check_serving`] refuses, is reported once and
/// the previous certificate stays. `loaded` is the content the current certificate came
/// from.
pub async fn watch(
    watched: Watched,
    loaded: CertContent,
    store: Arc<CertStore>,
    metrics: Arc<Metrics>,
) {
    let Watched {
        files,
        dns_names,
        interval,
    } = watched;
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
        match serving_key(&content.0, &content.1, &dns_names) {
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
        // Pairs are swapped as the kubelet swaps a Secret volume (both files at once, through
        // the `..data` symlink), so the watcher never sees a certificate beside the key of
        // the pair before: each written pair is judged alone, and counted once.
        let swaps = std::cell::Cell::new(0);
        let write_files = |cert: &str, key: &str| {
            swaps.set(swaps.get() + 1);
            let data = dir.path().join(format!("data-{}", swaps.get()));
            std::fs::create_dir(&data).unwrap();
            std::fs::write(data.join("tls.crt"), cert).unwrap();
            std::fs::write(data.join("tls.key"), key).unwrap();
            let next = dir.path().join("..data_tmp");
            std::os::unix::fs::symlink(&data, &next).unwrap();
            std::fs::rename(&next, dir.path().join("..data")).unwrap();
        };
        let write = |pair: &SelfSigned| write_files(&pair.cert_pem, &pair.key_pem);
        let first = self_signed(&[]).unwrap();
        write(&first);
        std::os::unix::fs::symlink("..data/tls.crt", &files.cert).unwrap();
        std::os::unix::fs::symlink("..data/tls.key", &files.key).unwrap();
        let (key, loaded) = files.load(&[]).unwrap();
        let store = Arc::new(CertStore::new(key));
        let metrics = Arc::new(Metrics::new());
        let original = store.leaf();
        let watched = Watched {
            files: files.clone(),
            dns_names: vec!["localhost".to_owned()],
            interval: Duration::from_millis(20),
        };
        let task = tokio::spawn(watch(watched, loaded, store.clone(), metrics.clone()));
        // A certificate with a key of another pair: refused, old one kept.
        write_files(&self_signed(&[]).unwrap().cert_pem, &first.key_pem);
        wait_for(|| metrics.cert_reload_failures.get() == 1).await;
        assert_eq!(store.leaf(), original);
        // Expired, not yet valid, issued for other names: each refused and counted.
        let now = unix_now();
        let refused = [
            issue(&["localhost"], now - 7200, now - 3600),
            issue(&["localhost"], now + 3600, now + 7200),
            issue(&["other.example"], now - 3600, now + 3600),
        ];
        for (n, pair) in refused.iter().enumerate() {
            write(pair);
            wait_for(|| metrics.cert_reload_failures.get() == 2 + n as u64).await;
            assert_eq!(store.leaf(), original, "refused pair {n} served");
            assert_eq!(metrics.cert_reloads.get(), 0);
        }
        assert!(store.expired().is_none());
        let second = issue(&["localhost", "127.0.0.1"], now - 60, now + 3600);
        write(&second);
        wait_for(|| metrics.cert_reloads.get() == 1).await;
        assert_ne!(store.leaf(), original);
        task.abort();
    }

    #[test]
    fn serving_checks_dates_and_every_name() {
        let now = unix_now();
        let pair = issue(&["*.ns.svc", "web.ns.svc", "10.0.0.1"], now - 10, now + 100);
        let key = certified_key(pair.cert_pem.as_bytes(), pair.key_pem.as_bytes()).unwrap();
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        check_serving(
            &key,
            &names(&["web.ns.svc", "hooks.ns.svc", "10.0.0.1"]),
            now,
        )
        .unwrap();
        for (wanted, at, expected) in [
            (names(&["a.b.ns.svc"]), now, "not valid for a.b.ns.svc"),
            (names(&["ns.svc"]), now, "not valid for ns.svc"),
            (names(&["10.0.0.2"]), now, "not valid for 10.0.0.2"),
            (names(&[]), now + 101, "expired"),
            (names(&[]), now - 11, "not valid yet"),
        ] {
            let err = check_serving(&key, &wanted, at).unwrap_err().to_string();
            assert!(err.contains(expected), "{wanted:?} at {at}: {err}");
        }
    }

    #[test]
    fn the_store_reports_an_expired_certificate() {
        let now = unix_now();
        let pair = issue(&["localhost"], now - 100, now - 10);
        let key = certified_key(pair.cert_pem.as_bytes(), pair.key_pem.as_bytes()).unwrap();
        let store = CertStore::new(key);
        assert!(store.expired().unwrap().contains("expired"));
        let fresh = self_signed(&[]).unwrap();
        store.replace(certified_key(fresh.cert_pem.as_bytes(), fresh.key_pem.as_bytes()).unwrap());
        assert!(store.expired().is_none());
    }

    /// A self-signed certificate for `names`, valid between two Unix times.
    fn issue(names: &[&str], not_before: i64, not_after: i64) -> SelfSigned {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.not_before =
            rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_before as u64);
        params.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_after as u64);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        SelfSigned {
            ca_pem: cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
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
