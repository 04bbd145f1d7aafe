//! Connection startup: trust authentication (any user and database, no password), the server
//! parameters clients expect, and the backend key that CancelRequests name.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, METADATA_DATABASE, METADATA_USER, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::cancel_registry::CancelRegistry;
use crate::session_settings::{SERVER_VERSION, SessionSettings};

#[derive(Debug)]
pub(crate) struct SessionStartup {
    cancels: Arc<CancelRegistry>,
    keys: RandomPidSecretKeyGenerator,
    parameters: DefaultServerParameterProvider,
}

impl SessionStartup {
    pub(crate) fn new(cancels: Arc<CancelRegistry>) -> Self {
        let mut parameters = DefaultServerParameterProvider::default();
        parameters.server_version = SERVER_VERSION.to_owned();
        Self {
            cancels,
            keys: RandomPidSecretKeyGenerator::default(),
            parameters,
        }
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
        let PgWireFrontendMessage::Startup(startup) = message else {
            return Ok(());
        };
        protocol_negotiation(client, &startup).await?;
        save_startup_parameters_to_metadata(client, &startup);

        let settings = SessionSettings::default();
        for (name, value) in &startup.parameters {
            if name != METADATA_USER && name != METADATA_DATABASE {
                settings.set(name, value);
            }
        }
        client.session_extensions().insert(settings);

        let (pid, secret) = self.keys.generate(client);
        let (cancel, registration) = self.cancels.register(pid, &secret);
        client.set_pid_and_secret_key(pid, secret);
        client.session_extensions().insert(cancel);
        client.session_extensions().insert(registration);

        tracing::debug!(
            user = client.metadata().get(METADATA_USER).map(String::as_str),
            database = client.metadata().get(METADATA_DATABASE).map(String::as_str),
            "pg session started"
        );
        finish_authentication(client, &self.parameters).await
    }
}
