//! The extended query protocol (Parse/Bind/Describe/Execute/Sync, as JDBC and tokio-postgres
//! use it). pgwire keeps the statements and portals; Parse goes through
//! `query_parser.rs`, Execute runs the portal's statement with its decoded parameters.
//! `max_rows` (portal suspension) is handled by pgwire on top of the row stream.
//!
//! A cursor opened by `DECLARE` is a portal too, as in PostgreSQL: Describe of a portal of that
//! name answers the cursor's columns (psycopg's named cursors ask for them so).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, send_describe_response};
use pgwire::api::results::{DescribePortalResponse, Response};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{Describe, TARGET_TYPE_BYTE_PORTAL};

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
