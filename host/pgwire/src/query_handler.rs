//! The handler behind both query protocols (`simple_query.rs`, `extended_query.rs`), one per
//! connection.

use std::sync::Arc;

use pgwire::api::ClientInfo;

use crate::StatementRunner;
use crate::cancel_registry::SessionCancel;
use crate::connection_activity::ConnectionActivity;
use crate::query_parser::PreparedStatementParser;
use crate::session_cursors::SessionCursors;
use crate::session_settings::SessionSettings;
use crate::session_startup::SessionUser;
use crate::statement_execution::SessionState;

#[derive(Debug)]
pub(crate) struct QueryHandler {
    pub(crate) runner: Arc<dyn StatementRunner>,
    pub(crate) parser: Arc<PreparedStatementParser>,
    pub(crate) activity: Arc<ConnectionActivity>,
}

impl QueryHandler {
    /// The session state kept in the connection's extensions (set up at startup).
    pub(crate) fn session<C: ClientInfo>(&self, client: &C) -> SessionState {
        let extensions = client.session_extensions();
        SessionState {
            user: session_user(client),
            cancel: extensions
                .get::<Arc<SessionCancel>>()
                .map(|cancel| (*cancel).clone())
                .unwrap_or_else(|| Arc::new(SessionCancel::new())),
            settings: extensions.get_or_insert_with(SessionSettings::default),
            cursors: extensions.get_or_insert_with(SessionCursors::default),
            activity: self.activity.clone(),
        }
    }
}

/// The session's logged-in user; empty before login (no statement runs then).
pub(crate) fn session_user<C: ClientInfo>(client: &C) -> String {
    client
        .session_extensions()
        .get::<SessionUser>()
        .map(|user| user.0.clone())
        .unwrap_or_default()
}
