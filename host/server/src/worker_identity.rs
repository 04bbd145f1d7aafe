//! A worker's identity: an Ed25519 key of its own, created on its first start and kept in
//! `cache_dir/worker-key` (PKCS#8, readable by its owner only). The worker signs its
//! registration and its goodbye with it; the coordinator binds the worker id to the first key it
//! sees and refuses a live worker's id registered with another key, so the cluster secret alone
//! does not let anyone take over a worker's id (and the traffic, bearer secret included, the
//! coordinator sends to its address).
//!
//! The id itself must be one the coordinator can store: [`is_valid_worker_id`] checks it with
//! the store's own rule, so a worker refuses at start an id its registration would be refused
//! for.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

/// Whether `id` is a worker id the coordinator accepts (the rule is the store's:
/// `quarry_store::validation::validate_worker_id`).
pub fn is_valid_worker_id(id: &str) -> bool {
    quarry_store::validation::validate_worker_id(id).is_ok()
}

/// How far a signed goodbye's time may be from the coordinator's clock.
pub const GOODBYE_SKEW_SECONDS: i64 = 300;

/// A worker's signing key.
pub struct WorkerKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for WorkerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerKey")
            .field("public_key", &self.public_key())
            .finish()
    }
}

impl WorkerKey {
    /// The key in `path`, or a new one written there (mode 0600) when there is none.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        let invalid = |what: &str| std::io::Error::other(format!("{}: {what}", path.display()));
        match std::fs::read(path) {
            Ok(pkcs8) => Ed25519KeyPair::from_pkcs8(&pkcs8)
                .map(|pair| WorkerKey { pair })
                .map_err(|_| invalid("not an Ed25519 PKCS#8 key; delete it to make a new one")),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| invalid("cannot generate a key"))?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                write_owner_only(path, pkcs8.as_ref())?;
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                    .map_err(|_| invalid("the new key does not parse"))?;
                tracing::info!(path = %path.display(), "created this worker's identity key");
                Ok(WorkerKey { pair })
            }
            Err(error) => Err(error),
        }
    }

    /// The public key, hex: what the coordinator binds the worker id to.
    pub fn public_key(&self) -> String {
        hex::encode(self.pair.public_key().as_ref())
    }

    /// A hex signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.pair.sign(message).as_ref())
    }
}

/// What a registration signs: the id, the address traffic will go to, the start time and the
/// key itself.
pub fn registration_message(
    id: &str,
    address: &str,
    started_at: DateTime<Utc>,
    public_key: &str,
) -> Vec<u8> {
    format!(
        "quarry worker registration v1\0{id}\0{address}\0{}\0{public_key}",
        started_at.to_rfc3339()
    )
    .into_bytes()
}

/// What a goodbye signs.
pub fn goodbye_message(id: &str, signed_at: DateTime<Utc>) -> Vec<u8> {
    format!("quarry worker goodbye v1\0{id}\0{}", signed_at.to_rfc3339()).into_bytes()
}

/// Whether `signature` (hex) is `public_key`'s (hex) signature of `message`.
pub fn verify(public_key: &str, message: &[u8], signature: &str) -> bool {
    let (Ok(key), Ok(signature)) = (hex::decode(public_key), hex::decode(signature)) else {
        return false;
    };
    key.len() == 32
        && UnparsedPublicKey::new(&ED25519, key)
            .verify(message, &signature)
            .is_ok()
}

fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_and_signs_what_only_it_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker-key");
        let key = WorkerKey::load_or_create(&path).unwrap();
        let again = WorkerKey::load_or_create(&path).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let now = Utc::now();
        let message = registration_message("w1", "http://a:1", now, &key.public_key());
        let signature = key.sign(&message);
        assert!(verify(&key.public_key(), &message, &signature));
        let elsewhere = registration_message("w1", "http://b:1", now, &key.public_key());
        assert!(!verify(&key.public_key(), &elsewhere, &signature));
        let other = WorkerKey::load_or_create(&dir.path().join("other")).unwrap();
        assert!(!verify(&other.public_key(), &message, &signature));
        assert!(!verify("zz", &message, &signature));
    }
}
