//! Downloading what Velero signed a URL for (object storage: S3, GCS, Azure, MinIO): HTTPS
//! trusting the system's roots plus an optional `--cacert`, or plain HTTP when the
//! storage location is plain HTTP (MinIO inside a cluster often is).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Velero reads at most 1 GiB of a decompressed download.
pub const MAX_DECOMPRESSED: u64 = 1024 * 1024 * 1024;

fn tls_config(cacert: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A system certificate rustls cannot use is skipped, as Go's pool would skip it.
        let _ = roots.add(cert);
    }
    if let Some(path) = cacert {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read --cacert {}", path.display()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert
                .with_context(|| format!("--cacert {}: not a PEM certificate", path.display()))?;
            roots
                .add(cert)
                .with_context(|| format!("--cacert {}: unusable certificate", path.display()))?;
            added += 1;
        }
        if added == 0 {
            anyhow::bail!("--cacert {}: no PEM certificate in it", path.display());
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// GETs `url` and writes its gunzipped body to `out`, stopping at [`MAX_DECOMPRESSED`].
pub async fn download_gunzipped(
    url: &str,
    cacert: Option<&Path>,
    timeout: Duration,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let uri: hyper::Uri = url
        .parse()
        .with_context(|| format!("Velero gave a download URL that is not a URL: {url}"))?;
    let host = uri.host().unwrap_or("?").to_owned();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(cacert)?)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let request = hyper::Request::get(uri.clone())
        .body(Empty::new())
        .context("cannot build the download request")?;
    let response = match tokio::time::timeout(timeout, client.request(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => anyhow::bail!(
            "cannot download the backup log from {host}: {}\n  hint: the URL points at the backup storage location; it must be reachable from here (run inside the cluster network, or use a storage URL reachable from outside), and a private CA must be given with --cacert",
            error_chain(&err)
        ),
        Err(_) => anyhow::bail!(
            "cannot download the backup log from {host}: no answer within {}s\n  hint: the URL points at the backup storage location; it must be reachable from here (run inside the cluster network)",
            timeout.as_secs()
        ),
    };
    let status = response.status();
    if status == hyper::StatusCode::NOT_FOUND {
        anyhow::bail!("cannot download the backup log from {host}: file not found (HTTP 404)");
    }
    if !status.is_success() {
        anyhow::bail!("cannot download the backup log from {host}: HTTP {status}");
    }
    let mut limited = Limit {
        inner: out,
        left: MAX_DECOMPRESSED,
    };
    let mut gunzip = flate2::write::GzDecoder::new(&mut limited);
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.with_context(|| format!("download from {host} broke off"))?;
        if let Some(data) = frame.data_ref() {
            gunzip
                .write_all(data)
                .context("the backup log is not valid gzip")?;
        }
    }
    gunzip
        .try_finish()
        .context("the backup log is not valid gzip (truncated?)")?;
    Ok(())
}

/// The error and its causes on one line (hyper's own message alone says "client error").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// A writer that refuses to go past a limit.
struct Limit<'a> {
    inner: &'a mut dyn Write,
    left: u64,
}

impl Write for Limit<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::other(
                "the backup log is larger than 1 GiB decompressed; stopped",
            ));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
