//! The handler behind both query protocols (`simple_query.rs`, `extended_query.rs`).

use std::sync::Arc;

use pgwire::api::ClientInfo;

use crate::StatementRunner;
use crate::cancel_registry::SessionCancel;
use crate::query_parser::PreparedStatementParser;
use crate::session_settings::SessionSettings;
use crate::statement_execution::SessionState;

#[derive(Debug)]
pub(crate) struct QueryHandler {
    pub(crate) runner: Arc<dyn StatementRunner>,
    pub(crate) parser: Arc<PreparedStatementParser>,
}

impl QueryHandler {
    pub(crate) fn new(runner: Arc<dyn StatementRunner>) -> Self {
        Self {
            parser: Arc::new(PreparedStatementParser::new(runner.clone())),
            runner,
        }
    }

    /// The session state kept in the connection's extensions (set up at startup).
    pub(crate) fn session<C: ClientInfo>(client: &C) -> SessionState {
        let extensions = client.session_extensions();
        SessionState {
            cancel: extensions
                .get::<Arc<SessionCancel>>()
                .map(|cancel| (*cancel).clone())
                .unwrap_or_else(|| Arc::new(SessionCancel::new())),
            settings: extensions.get_or_insert_with(SessionSettings::default),
        }
    }
}
