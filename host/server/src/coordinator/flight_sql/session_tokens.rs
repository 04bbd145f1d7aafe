//! [`SessionTokens`]: the bearer tokens the Flight SQL handshake gives a client that logged in
//! with its password, so its later calls need not send the password again.
//!
//! A token is 32 random bytes (hex) and stands for the user it was issued to, until it expires
//! (`TOKEN_LIFETIME` after issue) or the coordinator restarts. Only the tokens' SHA-256 is kept,
//! and a presented token is looked up by its hash, so neither a memory dump nor the lookup's
//! timing gives a token away.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::coordinator::users::Principal;

/// How long a token is good for after the handshake that issued it.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// The most tokens held at once; beyond it the oldest go first.
const MAX_TOKENS: usize = 10_000;

#[derive(Debug, Default)]
pub struct SessionTokens {
    issued: Mutex<HashMap<[u8; 32], Issued>>,
}

#[derive(Debug, Clone)]
struct Issued {
    principal: Principal,
    expires: Instant,
}

impl SessionTokens {
    /// A new token for `principal`; `None` if the system has no randomness to make one.
    pub fn issue(&self, principal: &Principal) -> Option<String> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).ok()?;
        let token = hex::encode(secret);
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        issued.retain(|_, token| token.expires > now);
        if issued.len() >= MAX_TOKENS
            && let Some(oldest) = issued
                .iter()
                .min_by_key(|(_, token)| token.expires)
                .map(|(hash, _)| *hash)
        {
            issued.remove(&oldest);
        }
        issued.insert(
            hash(&token),
            Issued {
                principal: principal.clone(),
                expires: now + TOKEN_LIFETIME,
            },
        );
        Some(token)
    }

    /// Who `token` was issued to, while it is valid.
    pub fn principal(&self, token: &str) -> Option<Principal> {
        let issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        issued
            .get(&hash(token))
            .filter(|issued| issued.expires > Instant::now())
            .map(|issued| issued.principal.clone())
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::users::Role;

    #[test]
    fn a_token_stands_for_its_user_and_nothing_else_does() {
        let tokens = SessionTokens::default();
        let ann = Principal {
            name: "ann".into(),
            role: Role::Reader,
        };
        let token = tokens.issue(&ann).unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(tokens.principal(&token), Some(ann));
        assert_eq!(tokens.principal(&token[1..]), None);
        assert_eq!(tokens.principal(""), None);
    }
}
