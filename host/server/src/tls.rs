//! Optional TLS from PEM files: the server side (a certificate chain and its private key, for the
//! HTTP endpoints and the PostgreSQL port) and the client side (the CA certificates a process
//! trusts when it calls another Quarry process over `https://`). rustls on ring, no system roots:
//! a cluster's certificates are usually from a private CA, named by `tls_ca`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// A server certificate chain and its key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why TLS could not be set up; names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate file {path}: {reason}")]
    Cert { path: String, reason: String },
    #[error("TLS key file {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("TLS CA file {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("TLS: {0}")]
    Config(String),
}

fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates in a PEM file (at least one).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("holds no CERTIFICATE block".to_owned());
    }
    Ok(certs)
}

/// A TLS acceptor for `files`: TLS 1.2 and 1.3, no client certificates.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    Ok(TlsAcceptor::from(Arc::new(server_config(files)?)))
}

/// The same for gRPC (the Flight SQL endpoint): it offers ALPN `h2`, which gRPC clients
/// require over TLS.
pub fn grpc_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let mut config = server_config(files)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsError> {
    let certs = certificates(&files.cert).map_err(|reason| TlsError::Cert {
        path: files.cert.display().to_string(),
        reason,
    })?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: files.key.display().to_string(),
        reason: e.to_string(),
    })?;
    let config = ServerConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(format!("the certificate and key do not fit: {e}")))?;
    Ok(config)
}

/// An HTTP client for calls to other Quarry processes, trusting the CA certificates in `ca`
/// (none: plain `http://` only).
pub fn http_client(ca: Option<&Path>) -> Result<reqwest::Client, TlsError> {
    client_builder(ca)?
        .build()
        .map_err(|e| TlsError::Config(format!("cannot build the HTTP client: {e}")))
}

/// How long a client keeps an idle connection for reuse: under the servers' default header
/// timeout.
pub const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A client builder on rustls that trusts only the CA certificates in `ca`, for callers that
/// add their own timeouts (the admin CLI).
pub fn client_builder(ca: Option<&Path>) -> Result<reqwest::ClientBuilder, TlsError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        // Our servers close a keep-alive connection that sends no request for the header
        // timeout (10 s by default); a client that kept it longer would send its next request
        // down a closed connection and fail with "error sending request".
        .pool_idle_timeout(POOL_IDLE_TIMEOUT);
    if let Some(path) = ca {
        let bytes = std::fs::read(path).map_err(|e| TlsError::Ca {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| TlsError::Ca {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if certs.is_empty() {
            return Err(TlsError::Ca {
                path: path.display().to_string(),
                reason: "holds no CERTIFICATE block".to_owned(),
            });
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder)
}
