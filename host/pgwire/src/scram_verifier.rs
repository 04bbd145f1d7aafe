//! [`ScramVerifier`]: what the server keeps of a password for SCRAM-SHA-256, in PostgreSQL's own
//! text form, `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64), the form
//! `pg_authid.rolpassword` holds. It proves a client knows the password without the server
//! keeping the password or anything a client could log in with.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pgwire::api::auth::sasl::scram::{ScramSecret, gen_salted_password};
use subtle::ConstantTimeEq;

/// The iteration count new verifiers get: PostgreSQL's default (`scram_iterations`).
pub const DEFAULT_ITERATIONS: usize = 4096;

const PREFIX: &str = "SCRAM-SHA-256$";

/// A SCRAM-SHA-256 password verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    salt: Vec<u8>,
    iterations: usize,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

/// Why a verifier's text does not parse; the text itself is never repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a SCRAM-SHA-256 verifier ({0}); expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> as `quarry hash-password` prints it"
)]
pub struct VerifierParseError(&'static str);

impl ScramVerifier {
    /// The verifier of `password` with a fresh random salt and [`DEFAULT_ITERATIONS`].
    pub fn from_password(password: &str) -> Self {
        let mut salt = vec![0u8; 16];
        // A salt only has to differ between verifiers; should the OS generator fail, a
        // time-derived salt still does.
        if getrandom::fill(&mut salt).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            salt = nanos.to_le_bytes().to_vec();
        }
        Self::with_salt(password, salt, DEFAULT_ITERATIONS)
    }

    /// The verifier of `password` with this salt and iteration count.
    pub fn with_salt(password: &str, salt: Vec<u8>, iterations: usize) -> Self {
        let salted = gen_salted_password(password, &salt, iterations);
        match ScramSecret::verifier_from_salted_password(salt, salted, iterations) {
            ScramSecret::Verifier {
                salt,
                iterations,
                stored_key,
                server_key,
            } => ScramVerifier {
                salt,
                iterations,
                stored_key,
                server_key,
            },
            // verifier_from_salted_password builds a Verifier; kept total without a panic.
            ScramSecret::SaltedPassword { salt, .. } => ScramVerifier {
                salt,
                iterations,
                stored_key: Vec::new(),
                server_key: Vec::new(),
            },
        }
    }

    /// Parses PostgreSQL's text form.
    pub fn parse(text: &str) -> Result<Self, VerifierParseError> {
        let rest = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(VerifierParseError("it does not start with SCRAM-SHA-256$"))?;
        let (params, keys) = rest
            .split_once('$')
            .ok_or(VerifierParseError("no `$` between the salt and the keys"))?;
        let (iterations, salt) = params
            .split_once(':')
            .ok_or(VerifierParseError("no `:` between iterations and salt"))?;
        let (stored_key, server_key) = keys
            .split_once(':')
            .ok_or(VerifierParseError("no `:` between StoredKey and ServerKey"))?;
        let iterations: usize = iterations
            .parse()
            .map_err(|_| VerifierParseError("the iteration count is not a number"))?;
        if iterations == 0 {
            return Err(VerifierParseError("the iteration count is 0"));
        }
        let decode = |part: &str, what: &'static str| {
            STANDARD.decode(part).map_err(|_| VerifierParseError(what))
        };
        let verifier = ScramVerifier {
            salt: decode(salt, "the salt is not base64")?,
            iterations,
            stored_key: decode(stored_key, "StoredKey is not base64")?,
            server_key: decode(server_key, "ServerKey is not base64")?,
        };
        if verifier.stored_key.len() != 32 || verifier.server_key.len() != 32 {
            return Err(VerifierParseError("a key is not 32 bytes long"));
        }
        Ok(verifier)
    }

    /// Whether `password` is the password this verifier was made from (constant time in the
    /// keys; costs one key derivation, `iterations` HMACs).
    pub fn verify(&self, password: &str) -> bool {
        let candidate = Self::with_salt(password, self.salt.clone(), self.iterations);
        bool::from(candidate.stored_key.ct_eq(&self.stored_key))
            & bool::from(candidate.server_key.ct_eq(&self.server_key))
    }

    /// The secret pgwire's SCRAM exchange checks a client's proof against.
    pub(crate) fn to_scram_secret(&self) -> ScramSecret {
        ScramSecret::Verifier {
            salt: self.salt.clone(),
            iterations: self.iterations,
            stored_key: self.stored_key.clone(),
            server_key: self.server_key.clone(),
        }
    }
}

impl fmt::Display for ScramVerifier {
    /// PostgreSQL's text form: not a secret a client can log in with, but still kept out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }
}

impl fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_accepts_its_password_only() {
        let verifier = ScramVerifier::with_salt("s3cret", b"0123456789abcdef".to_vec(), 64);
        assert!(verifier.verify("s3cret"));
        assert!(!verifier.verify("s3cre"));
        assert!(!verifier.verify(""));
    }

    #[test]
    fn the_text_form_round_trips() {
        let verifier = ScramVerifier::from_password("pw");
        let text = verifier.to_string();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"), "{text}");
        assert_eq!(ScramVerifier::parse(&text).unwrap(), verifier);
        assert!(ScramVerifier::parse(&text).unwrap().verify("pw"));
    }

    /// The verifier PostgreSQL 15 stored for a role with the password `postgres` (`SELECT
    /// rolpassword FROM pg_authid`): Quarry accepts what PostgreSQL wrote.
    #[test]
    fn a_postgresql_verifier_checks_its_password() {
        let from_postgres = "SCRAM-SHA-256$4096:hXCvbFyBS2lNoRCk+lya5w==$\
            43NOx9N5AMlUlgi4aKyba6N70/7x9CLvfEL+OG26Sdo=:\
            LdL+V1Ydv0/abyFwclAshPsr8ibdf1KY5kk4zro4rk0=";
        let verifier = ScramVerifier::parse(from_postgres).unwrap();
        assert!(verifier.verify("postgres"));
        assert!(!verifier.verify("Postgres"));
    }

    #[test]
    fn malformed_text_is_refused_without_echoing_it() {
        for bad in [
            "md5abc",
            "SCRAM-SHA-256$x:c2FsdA==$a:b",
            "SCRAM-SHA-256$4096:c2FsdA==",
            "SCRAM-SHA-256$4096:c2FsdA==$YQ==:YQ==",
        ] {
            let error = ScramVerifier::parse(bad).unwrap_err().to_string();
            assert!(!error.contains(bad), "{error}");
        }
    }
}
