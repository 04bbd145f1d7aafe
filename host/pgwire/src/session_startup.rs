//! Connection startup: authentication (SCRAM-SHA-256, or trust in dev mode), the server
//! parameters clients expect, the backend key that CancelRequests name, and the session's
//! [`SessionUser`].

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::sasl::SaslMechanisms;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::{
    AuthDriver, AuthOutcome, DefaultServerParameterProvider, StartupHandler, finish_authentication,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, METADATA_DATABASE, METADATA_USER, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::cancel_registry::CancelRegistry;
use crate::connection_activity::ConnectionActivity;
use crate::pg_authentication::{DirectorySource, PgAuthentication};
use crate::session_settings::{SERVER_VERSION, SessionSettings};

/// Who the session belongs to: the user name SCRAM proved (or, under trust, the one the client
/// sent). Kept in the session's extensions; statements run as this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser(pub String);

/// How sessions log in; built once per endpoint and shared by its connections.
pub(crate) enum Login {
    Trust,
    Scram(SaslMechanisms),
}

impl Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Login::Trust => "Trust",
            Login::Scram(_) => "Scram",
        })
    }
}

impl Login {
    pub(crate) fn new(authentication: &PgAuthentication) -> Self {
        match authentication {
            PgAuthentication::Trust => Login::Trust,
            PgAuthentication::Scram(directory) => {
                let source = Arc::new(DirectorySource::new(directory.clone()));
                Login::Scram(SaslMechanisms::new(vec![Arc::new(ScramAuth::new(source))]))
            }
        }
    }
}

/// One connection's startup handler.
pub(crate) struct SessionStartup {
    cancels: Arc<CancelRegistry>,
    login: Arc<Login>,
    activity: Arc<ConnectionActivity>,
    keys: RandomPidSecretKeyGenerator,
    parameters: Arc<DefaultServerParameterProvider>,
    driver: AuthDriver<Arc<DefaultServerParameterProvider>>,
}

impl Debug for SessionStartup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStartup")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl SessionStartup {
    pub(crate) fn new(
        cancels: Arc<CancelRegistry>,
        login: Arc<Login>,
        activity: Arc<ConnectionActivity>,
    ) -> Self {
        let mut parameters = DefaultServerParameterProvider::default();
        parameters.server_version = SERVER_VERSION.to_owned();
        let parameters = Arc::new(parameters);
        Self {
            cancels,
            login,
            activity,
            keys: RandomPidSecretKeyGenerator::default(),
            driver: AuthDriver::new(parameters.clone()),
            parameters,
        }
    }

    /// After a successful login: the server's last SASL message, the session's state, and
    /// ReadyForQuery.
    async fn start_session<C>(
        &self,
        client: &mut C,
        final_message: Option<Authentication>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(message) = final_message {
            client
                .send(PgWireBackendMessage::Authentication(message))
                .await?;
        }
        let user = client
            .metadata()
            .get(METADATA_USER)
            .cloned()
            .unwrap_or_default();
        // The client's startup parameters (`application_name`, `DateStyle`, …) are the
        // session's first settings.
        let settings = SessionSettings::default();
        for (name, value) in client.metadata() {
            if name != METADATA_USER && name != METADATA_DATABASE {
                settings.set(name, value);
            }
        }
        client.session_extensions().insert(settings);
        client
            .session_extensions()
            .insert(SessionUser(user.clone()));

        let (pid, secret) = self.keys.generate(client);
        let (cancel, registration) = self.cancels.register(pid, &secret);
        client.set_pid_and_secret_key(pid, secret);
        client.session_extensions().insert(cancel);
        client.session_extensions().insert(registration);
        self.activity.logged_in();

        tracing::info!(
            user,
            database = client.metadata().get(METADATA_DATABASE).map(String::as_str),
            peer = %client.socket_addr(),
            authentication = ?*self.login,
            "pg session started"
        );
        finish_authentication(client, &*self.parameters).await
    }
}

#[async_trait]
impl StartupHandler for SessionStartup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let outcome = match message {
            PgWireFrontendMessage::Startup(startup) => {
                protocol_negotiation(client, &startup).await?;
                save_startup_parameters_to_metadata(client, &startup);
                match &*self.login {
                    Login::Trust => AuthOutcome::Authenticated {
                        identity: None,
                        final_message: None,
                    },
                    Login::Scram(mechanisms) => {
                        use pgwire::api::auth::mechanism::AuthMechanismFactory;
                        self.driver
                            .begin_authentication(client, mechanisms.create())
                            .await?
                    }
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                match self.driver.advance_authentication(client, message).await {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        tracing::warn!(
                            user = client.metadata().get(METADATA_USER).map(String::as_str),
                            peer = %client.socket_addr(),
                            %error,
                            "pg login failed"
                        );
                        return Err(error);
                    }
                }
            }
            _ => return Ok(()),
        };
        match outcome {
            AuthOutcome::InProgress => Ok(()),
            AuthOutcome::Authenticated { final_message, .. } => {
                self.start_session(client, final_message).await
            }
        }
    }
}
