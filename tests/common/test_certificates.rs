//! A private CA and a server certificate for 127.0.0.1, made with the machine's `openssl`, for
//! tests of TLS between real processes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// PEM files in a temporary directory, removed on drop.
pub struct TestCertificates {
    _dir: tempfile::TempDir,
    /// The CA certificate clients trust.
    pub ca: PathBuf,
    /// The server certificate (for 127.0.0.1 and localhost), signed by the CA.
    pub cert: PathBuf,
    /// The server certificate's private key.
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl binary must be installed for the TLS tests");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A new CA and a certificate it signed for 127.0.0.1.
pub fn generate() -> TestCertificates {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]);
    ca.extend(["-subj", "/CN=quarry test CA"]);
    openssl(path, &ca);
    let mut request = vec!["req"];
    request.extend(ec);
    request.extend([
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(path, &request);
    std::fs::write(
        path.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        path,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    TestCertificates {
        ca: path.join("ca.pem"),
        cert: path.join("cert.pem"),
        key: path.join("key.pem"),
        _dir: dir,
    }
}
