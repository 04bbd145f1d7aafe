//! How the PostgreSQL port decides who a client is: [`PgAuthentication::Scram`] checks a
//! SCRAM-SHA-256 exchange against the verifiers a [`PgUserDirectory`] holds (psql, JDBC and
//! libpq speak it by default); [`PgAuthentication::Trust`] believes the user name the client
//! sends, which the coordinator allows only in dev mode on loopback.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use pgwire::api::auth::sasl::scram::ScramSecret;
use pgwire::api::auth::{AuthSource, LoginInfo, Password};
use pgwire::error::{PgWireError, PgWireResult};

use crate::scram_verifier::ScramVerifier;

/// The users the PostgreSQL port accepts, by name.
pub trait PgUserDirectory: Send + Sync + Debug + 'static {
    /// The SCRAM-SHA-256 verifier of `user`'s password; `None` for an unknown user.
    fn scram_verifier(&self, user: &str) -> Option<ScramVerifier>;
}

/// How clients of the PostgreSQL port authenticate.
#[derive(Debug, Clone)]
pub enum PgAuthentication {
    /// No password: the session's user is whatever the client says.
    Trust,
    /// SCRAM-SHA-256 against the directory's verifiers.
    Scram(Arc<dyn PgUserDirectory>),
}

/// The directory as pgwire's credential source.
#[derive(Debug)]
pub(crate) struct DirectorySource {
    directory: Arc<dyn PgUserDirectory>,
    /// Answered for unknown users, so that the exchange fails at the proof like a wrong
    /// password does, and a client cannot tell which user names exist.
    decoy: ScramVerifier,
}

impl DirectorySource {
    pub(crate) fn new(directory: Arc<dyn PgUserDirectory>) -> Self {
        let mut unguessable = [0u8; 32];
        let _ = getrandom::fill(&mut unguessable);
        Self {
            directory,
            decoy: ScramVerifier::from_password(&format!("{unguessable:?}")),
        }
    }
}

#[async_trait]
impl AuthSource for DirectorySource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        // Only SCRAM is offered, which asks `get_scram_secret`; never a cleartext password.
        Err(PgWireError::InvalidPassword(
            login.user().unwrap_or_default().to_owned(),
        ))
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = login.user().unwrap_or_default();
        let verifier = match self.directory.scram_verifier(user) {
            Some(verifier) => verifier,
            None => {
                tracing::warn!(user, host = login.host(), "pg login for an unknown user");
                self.decoy.clone()
            }
        };
        Ok((verifier.to_scram_secret(), None))
    }
}
