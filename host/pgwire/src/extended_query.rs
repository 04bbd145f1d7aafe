//! The extended query protocol (Parse/Bind/Describe/Execute/Sync, as JDBC and tokio-postgres
//! use it). pgwire keeps the statements and portals; Parse goes through
//! `query_parser.rs`, Execute runs the portal's statement with its decoded parameters.
//! `max_rows` (portal suspension) is handled by pgwire on top of the row stream.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::portal::Portal;
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::Response;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use crate::parameter_decoder::decode_parameters;
use crate::query_handler::QueryHandler;
use crate::query_parser::{PreparedStatement, PreparedStatementParser};
use crate::statement_execution::execute_statement;

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = PreparedStatement;
    type QueryParser = PreparedStatementParser;

    fn query_parser(&self) -> Arc<PreparedStatementParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<PreparedStatement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = PreparedStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session(&*client);
        let params = decode_parameters(portal).map_err(|error| error.into_pgwire())?;
        execute_statement(
            self.runner.as_ref(),
            &session,
            &portal.statement.statement.sql,
            params,
            &portal.result_column_format,
        )
        .await
        .map_err(|error| error.into_pgwire())
    }
}
