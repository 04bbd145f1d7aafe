//! The TLS certificate and key settings both processes take (`tls_cert`, `tls_key`): checked to
//! come as a pair, then turned into the server's [`TlsFiles`].

use std::path::PathBuf;

use anyhow::{Result, bail};
use quarry_server::tls::TlsFiles;

/// Refuses a certificate without its key, or a key without its certificate.
pub fn check(cert: &Option<PathBuf>, key: &Option<PathBuf>) -> Result<()> {
    if cert.is_some() != key.is_some() {
        bail!(
            "a TLS certificate and its key go together: set both tls_cert and tls_key \
             (--tls-cert/--tls-key, QUARRY_TLS_CERT/QUARRY_TLS_KEY) or neither"
        );
    }
    Ok(())
}

/// The pair, when both are set (after [`check`]).
pub fn files(cert: Option<PathBuf>, key: Option<PathBuf>) -> Option<TlsFiles> {
    cert.zip(key).map(|(cert, key)| TlsFiles { cert, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_or_neither() {
        let some = Some(PathBuf::from("x.pem"));
        assert!(check(&some, &None).is_err());
        assert!(check(&None, &some).is_err());
        assert!(check(&None, &None).is_ok());
        assert!(check(&some, &some).is_ok());
        assert_eq!(files(None, some.clone()), None);
        assert!(files(some.clone(), some).is_some());
    }
}
