//! The key that signs precompiled plugin artifacts across a cluster, derived from the cluster
//! secret, so a worker accepts machine code from its own coordinator and from no one else.
//!
//! Both sides derive it the same way; the secret itself never signs anything. Without a cluster
//! secret (dev mode) there is no shared key: each host signs with its own and workers compile.

use sha2::{Digest, Sha256};

/// The artifact key for `cluster_secret`, or `None` without one.
pub fn artifact_key(cluster_secret: Option<&str>) -> Option<[u8; 32]> {
    let secret = cluster_secret?;
    let mut hasher = Sha256::new();
    hasher.update(b"quarry artifact key v1\0");
    hasher.update(secret.as_bytes());
    Some(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_secret_same_key_other_secret_other_key() {
        assert_eq!(artifact_key(Some("a")), artifact_key(Some("a")));
        assert_ne!(artifact_key(Some("a")), artifact_key(Some("b")));
        assert_eq!(artifact_key(None), None);
    }
}
