//! The set of pgwire handlers one Quarry pg endpoint serves connections with.

use std::sync::Arc;

use pgwire::api::PgWireServerHandlers;
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::CancelHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};

use crate::StatementRunner;
use crate::cancel_registry::CancelRegistry;
use crate::query_handler::QueryHandler;
use crate::session_startup::SessionStartup;

/// Shared by all connections of one [`serve`](crate::serve) call.
#[derive(Debug)]
pub(crate) struct PgHandlers {
    queries: Arc<QueryHandler>,
    startup: Arc<SessionStartup>,
    cancels: Arc<CancelRegistry>,
}

impl PgHandlers {
    pub(crate) fn new(runner: Arc<dyn StatementRunner>) -> Self {
        let cancels = Arc::new(CancelRegistry::default());
        Self {
            queries: Arc::new(QueryHandler::new(runner)),
            startup: Arc::new(SessionStartup::new(cancels.clone())),
            cancels,
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
