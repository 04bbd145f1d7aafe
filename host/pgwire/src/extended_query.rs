//! The extended query protocol (Parse/Bind/Describe/Execute/Sync, as JDBC and tokio-postgres
//! use it). pgwire keeps the statements and portals; Parse goes through
//! `query_parser.rs`, Execute runs the portal's statement with its decoded parameters.
//! `max_rows` (portal suspension) is handled by pgwire on top of the row stream. An `Execute`
//! without a row limit of a statement that returns rows streams them to the client as they
//! come ([`ExtendedQueryHandler::on_execute`] here), where pgwire would first collect them all.
//!
//! A cursor opened by `DECLARE` is a portal too, as in PostgreSQL: Describe of a portal of that
//! name answers the cursor's columns (psycopg's named cursors ask for them so).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{
    ExtendedQueryHandler, send_describe_response, send_execution_response, send_query_response,
};
use pgwire::api::results::{DescribePortalResponse, Response};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{Describe, Execute, TARGET_TYPE_BYTE_PORTAL};

use crate::copy_out::CopyOut;
use crate::parameter_decoder::decode_parameters;
use crate::query_handler::QueryHandler;
use crate::query_parser::{PreparedStatement, PreparedStatementParser};
use crate::row_encoder::row_description;
use crate::statement_execution::execute_statement;

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = PreparedStatement;
    type QueryParser = PreparedStatementParser;

    fn query_parser(&self) -> Arc<PreparedStatementParser> {
        self.parser.clone()
    }

    /// pgwire's `Execute` collects every row of a portal run without a row limit before it
    /// sends the first; a statement with result columns (not a `COPY`) run so is streamed here
    /// instead, row by row as the engine yields them. Everything else is pgwire's.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal))
                if message.max_rows == 0
                    && matches!(client.state(), PgWireConnectionState::ReadyForQuery)
                    && !portal.statement.statement.schema.fields().is_empty()
                    && CopyOut::recognize(&portal.statement.statement.sql).is_none()
                    && matches!(*portal.state().lock().await, PortalExecutionState::Initial) =>
            {
                portal
            }
            _ => return self._on_execute(client, message).await,
        };
        client.set_state(PgWireConnectionState::QueryInProgress);
        *portal.state().lock().await = PortalExecutionState::Finished;
        match self.do_query(client, &portal, 0).await? {
            Response::Query(rows) => send_query_response(client, rows, false).await?,
            Response::Execution(tag) => send_execution_response(client, tag).await?,
            other => {
                return Err(PgWireError::ApiError(
                    format!("a statement with result columns answered {other:?}").into(),
                ));
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if message.target_type == TARGET_TYPE_BYTE_PORTAL
            && client.portal_store().get_portal(name).is_none()
            && let Ok(cursor) = self.session(&*client).cursors.get(name)
        {
            let fields = row_description(&cursor.schema, &Format::UnifiedText);
            return send_describe_response(client, &DescribePortalResponse::new(fields)).await;
        }
        self._on_describe(client, message).await
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
