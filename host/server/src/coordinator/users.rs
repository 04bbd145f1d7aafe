//! Who may run SQL, and with which [`Role`]: the users of the config file, each with a
//! SCRAM-SHA-256 verifier of their password, plus the built-in `admin` user whose password is
//! the admin token. The PostgreSQL port checks SCRAM exchanges against them
//! ([`PgUserDirectory`]); `POST /v1/statement` checks HTTP Basic credentials against the same
//! verifiers, or takes the admin token as a bearer token.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;

use quarry_pgwire::PgUserDirectory;
pub use quarry_pgwire::ScramVerifier;
use sha2::{Digest, Sha256};

/// The name of the built-in user whose password is the admin token.
pub const ADMIN_USER: &str = "admin";

/// Verified HTTP credentials kept so that each request does not pay a key derivation again.
const VERIFIED_CACHE: usize = 1024;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Queries, `SHOW`, `EXPLAIN`.
    Reader,
    /// Everything a reader may, plus `CREATE`, `ALTER` and `DROP CATALOG`.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Reader => "reader",
            Role::Admin => "admin",
        })
    }
}

/// One configured user.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub name: String,
    pub role: Role,
    pub password: ScramVerifier,
}

/// Who a statement runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// Dev mode without users: everyone is an admin.
    pub fn dev(name: &str) -> Self {
        Principal {
            name: if name.is_empty() {
                "dev".to_owned()
            } else {
                name.to_owned()
            },
            role: Role::Admin,
        }
    }
}

/// The coordinator's users.
pub struct Users {
    by_name: BTreeMap<String, UserSpec>,
    /// sha256(name, password) of credentials that verified, so the next request with them is a
    /// lookup.
    verified: Mutex<HashMap<[u8; 32], Role>>,
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("names", &self.by_name.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a user list is refused.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("user \"{0}\" is configured twice")]
    Duplicate(String),
    #[error(
        "user \"{ADMIN_USER}\" is built in (its password is the admin token); pick another name"
    )]
    ReservedName,
    #[error("a user name must be 1 to 63 characters without control characters or ':'")]
    BadName,
}

impl Users {
    /// The configured users, and `admin` with the admin token as password when there is one.
    pub fn new(configured: Vec<UserSpec>, admin_token: Option<&str>) -> Result<Self, UsersError> {
        let mut by_name = BTreeMap::new();
        for user in configured {
            if user.name.is_empty()
                || user.name.len() > 63
                || user.name.chars().any(|c| c.is_control() || c == ':')
            {
                return Err(UsersError::BadName);
            }
            if user.name == ADMIN_USER {
                return Err(UsersError::ReservedName);
            }
            if by_name.contains_key(&user.name) {
                return Err(UsersError::Duplicate(user.name));
            }
            by_name.insert(user.name.clone(), user);
        }
        if let Some(token) = admin_token {
            by_name.insert(
                ADMIN_USER.to_owned(),
                UserSpec {
                    name: ADMIN_USER.to_owned(),
                    role: Role::Admin,
                    password: ScramVerifier::from_password(token),
                },
            );
        }
        Ok(Users {
            by_name,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Whether anyone can log in with a password (else the PostgreSQL port trusts, which the
    /// configuration allows only in dev mode on loopback).
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The role of a user SCRAM authenticated.
    pub fn role(&self, name: &str) -> Option<Role> {
        self.by_name.get(name).map(|user| user.role)
    }

    /// Checks a user's password (HTTP Basic credentials).
    pub fn authenticate(&self, name: &str, password: &str) -> Option<Principal> {
        let key: [u8; 32] = Sha256::new()
            .chain_update((name.len() as u64).to_le_bytes())
            .chain_update(name)
            .chain_update(password)
            .finalize()
            .into();
        let cached = self
            .verified
            .lock()
            .ok()
            .and_then(|verified| verified.get(&key).copied());
        let role = match cached {
            Some(role) => role,
            None => {
                let user = self.by_name.get(name)?;
                if !user.password.verify(password) {
                    return None;
                }
                if let Ok(mut verified) = self.verified.lock() {
                    if verified.len() >= VERIFIED_CACHE {
                        verified.clear();
                    }
                    verified.insert(key, user.role);
                }
                user.role
            }
        };
        Some(Principal {
            name: name.to_owned(),
            role,
        })
    }
}

impl PgUserDirectory for Users {
    fn scram_verifier(&self, user: &str) -> Option<ScramVerifier> {
        self.by_name.get(user).map(|user| user.password.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(name: &str, password: &str) -> UserSpec {
        UserSpec {
            name: name.to_owned(),
            role: Role::Reader,
            password: ScramVerifier::from_password(password),
        }
    }

    #[test]
    fn passwords_authenticate_their_user_with_its_role() {
        let users = Users::new(vec![reader("ada", "pw1")], Some("admin-token")).unwrap();
        assert_eq!(
            users.authenticate("ada", "pw1"),
            Some(Principal {
                name: "ada".into(),
                role: Role::Reader
            })
        );
        // Again, from the cache.
        assert_eq!(
            users.authenticate("ada", "pw1").map(|p| p.role),
            Some(Role::Reader)
        );
        assert_eq!(users.authenticate("ada", "pw2"), None);
        assert_eq!(users.authenticate("bob", "pw1"), None);
        assert_eq!(
            users
                .authenticate(ADMIN_USER, "admin-token")
                .map(|p| p.role),
            Some(Role::Admin)
        );
        assert!(users.scram_verifier("ada").is_some());
        assert!(users.scram_verifier("bob").is_none());
    }

    #[test]
    fn duplicate_reserved_and_malformed_names_are_refused() {
        assert!(matches!(
            Users::new(vec![reader("a", "x"), reader("a", "y")], None),
            Err(UsersError::Duplicate(name)) if name == "a"
        ));
        assert!(matches!(
            Users::new(vec![reader(ADMIN_USER, "x")], None),
            Err(UsersError::ReservedName)
        ));
        assert!(matches!(
            Users::new(vec![reader("a:b", "x")], None),
            Err(UsersError::BadName)
        ));
    }
}
