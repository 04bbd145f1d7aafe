//! The pgwire handlers one connection is served with: its own startup handler and query
//! handler (they know the connection's [`ConnectionActivity`]), over what the endpoint's
//! connections share.

use std::sync::Arc;

use pgwire::api::PgWireServerHandlers;
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::CancelHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};

use crate::StatementRunner;
use crate::cancel_registry::CancelRegistry;
use crate::connection_activity::ConnectionActivity;
use crate::query_handler::QueryHandler;
use crate::query_parser::PreparedStatementParser;
use crate::session_startup::{Login, SessionStartup};

/// What every connection of one endpoint shares.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) runner: Arc<dyn StatementRunner>,
    pub(crate) parser: Arc<PreparedStatementParser>,
    pub(crate) cancels: Arc<CancelRegistry>,
    pub(crate) login: Arc<Login>,
}

/// One connection's handlers.
#[derive(Debug)]
pub(crate) struct PgHandlers {
    queries: Arc<QueryHandler>,
    startup: Arc<SessionStartup>,
    cancels: Arc<CancelRegistry>,
}

impl PgHandlers {
    pub(crate) fn new(endpoint: &Endpoint, activity: Arc<ConnectionActivity>) -> Self {
        Self {
            queries: Arc::new(QueryHandler {
                runner: endpoint.runner.clone(),
                parser: endpoint.parser.clone(),
                activity: activity.clone(),
            }),
            startup: Arc::new(SessionStartup::new(
                endpoint.cancels.clone(),
                endpoint.login.clone(),
                activity,
            )),
            cancels: endpoint.cancels.clone(),
        }
    }
}

impl PgWireServerHandlers for PgHandlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.queries.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.queries.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancels.clone()
    }
}
