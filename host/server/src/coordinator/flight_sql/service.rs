//! [`FlightSqlEndpoint`]: arrow-flight's [`FlightSqlService`] over the coordinator's statement
//! path, the one `POST /v1/statement` and the PostgreSQL port take (`sql/statement.rs`).
//!
//! - **Login.** Every call names its SQL user in `authorization` exactly as HTTP does (Basic
//!   user:password, or the admin token as bearer), or presents the bearer token a handshake
//!   issued ([`SessionTokens`]). The handshake checks Basic credentials and answers such a
//!   token in its `authorization` response header, which Flight clients then send.
//! - **Statements.** `GetFlightInfo` plans the statement (to answer its schema) and hands back a
//!   ticket carrying the statement ([`StatementHandle`]); `DoGet` runs it and streams its
//!   batches as they come, Arrow all the way. Dropping the call (a client that goes away)
//!   drops the stream and so cancels the query on every worker. Prepared statements are
//!   handles too; bound parameters come back in a new handle. `DoPut` of an update runs
//!   statements without rows, catalog DDL included.
//! - **Catalog.** Catalogs, schemas, tables (with their Arrow schemas), table types and
//!   `SqlInfo`, built by the library's builders from the engine ([`catalog_listing`]).
//!
//! Errors carry the statement path's messages with a matching gRPC code; an error while rows
//! stream ends the stream with that error, never early without one.

use std::pin::Pin;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandPreparedStatementUpdate, CommandStatementQuery, CommandStatementUpdate,
    DoPutPreparedStatementResult, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use arrow_ipc::writer::IpcWriteOptions;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use axum::http::{HeaderMap, header};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::scalar::ScalarValue;
use futures::{Stream, TryStreamExt, stream};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use crate::api_error::ApiError;
use crate::coordinator::auth::sql_principal;
use crate::coordinator::flight_sql::catalog_listing;
use crate::coordinator::flight_sql::session_tokens::SessionTokens;
use crate::coordinator::flight_sql::statement_handle::StatementHandle;
use crate::coordinator::sql::statement;
use crate::coordinator::state::AppState;
use crate::coordinator::users::Principal;

type DoGetStream = <FlightSqlEndpoint as FlightService>::DoGetStream;

/// The coordinator's Flight SQL service.
#[derive(Clone)]
pub struct FlightSqlEndpoint {
    state: AppState,
    tokens: Arc<SessionTokens>,
    sql_info: Arc<SqlInfoData>,
}

impl std::fmt::Debug for FlightSqlEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlightSqlEndpoint").finish_non_exhaustive()
    }
}

impl FlightSqlEndpoint {
    pub fn new(state: AppState) -> Result<Self, Status> {
        let mut info = SqlInfoDataBuilder::new();
        info.append(SqlInfo::FlightSqlServerName, "Quarry");
        info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        info.append(SqlInfo::FlightSqlServerArrowVersion, "59");
        info.append(SqlInfo::FlightSqlServerReadOnly, false);
        info.append(SqlInfo::FlightSqlServerSql, true);
        info.append(SqlInfo::FlightSqlServerSubstrait, false);
        info.append(SqlInfo::FlightSqlServerTransaction, 0i32);
        info.append(SqlInfo::FlightSqlServerCancel, false);
        let sql_info = info
            .build()
            .map_err(|error| Status::internal(error.to_string()))?;
        Ok(FlightSqlEndpoint {
            state,
            tokens: Arc::new(SessionTokens::default()),
            sql_info: Arc::new(sql_info),
        })
    }

    /// Who the call is from: a token from a handshake, or credentials as HTTP takes them.
    fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let headers = request.metadata().clone().into_headers();
        if let Some(token) = bearer(&headers)
            && let Some(principal) = self.tokens.principal(token)
        {
            return Ok(principal);
        }
        sql_principal(&self.state, &headers).map_err(api_status)
    }

    /// A FlightInfo whose one endpoint's ticket is `ticket`, answering `schema`.
    fn flight_info(
        schema: &Schema,
        ticket: impl ProstMessageExt,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = Ticket::new(ticket.as_any().encode_to_vec());
        let info = FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|error| Status::internal(error.to_string()))?
            .with_endpoint(FlightEndpoint::new().with_ticket(ticket))
            .with_descriptor(descriptor);
        Ok(Response::new(info))
    }

    async fn describe(&self, principal: &Principal, sql: &str) -> Result<SchemaRef, Status> {
        let (schema, _) = statement::describe(&self.state, principal, sql)
            .await
            .map_err(api_status)?;
        Ok(schema)
    }

    /// Runs `handle` as `principal`: its stream, started.
    async fn start(
        &self,
        principal: &Principal,
        handle: &StatementHandle,
    ) -> Result<SendableRecordBatchStream, Status> {
        let params = handle.parameters()?;
        tracing::debug!(user = %principal.name, "flight sql statement");
        statement::run(
            &self.state,
            principal,
            &self.state.query_options(&[]),
            &handle.sql,
            params,
        )
        .await
        .map_err(api_status)
    }

    /// Runs `handle` and streams its batches as Flight data.
    async fn stream(
        &self,
        principal: &Principal,
        handle: &StatementHandle,
    ) -> Result<Response<DoGetStream>, Status> {
        let stream = self.start(principal, handle).await?;
        let schema = stream.schema();
        let batches =
            stream.map_err(|error| FlightError::from(api_status(statement::df_error(error))));
        Ok(Response::new(encode(schema, batches)))
    }

    /// Runs `handle` to its end; the rows it reports changed (-1 when it reports none).
    async fn update(&self, principal: &Principal, handle: &StatementHandle) -> Result<i64, Status> {
        let stream = self.start(principal, handle).await?;
        let batches: Vec<RecordBatch> = stream
            .try_collect()
            .await
            .map_err(|error| api_status(statement::df_error(error)))?;
        Ok(affected_rows(&batches))
    }
}

/// A stream of batches as Flight data.
fn encode(
    schema: SchemaRef,
    batches: impl Stream<Item = Result<RecordBatch, FlightError>> + Send + 'static,
) -> DoGetStream {
    Box::pin(
        FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(Status::from),
    )
}

/// One built batch (a catalog listing) as a Flight stream.
fn batch_response(
    batch: Result<RecordBatch, FlightError>,
) -> Result<Response<DoGetStream>, Status> {
    let batch = batch.map_err(Status::from)?;
    let schema = batch.schema();
    Ok(Response::new(encode(schema, stream::iter([Ok(batch)]))))
}

/// `count` of an INSERT-like result, or -1.
fn affected_rows(batches: &[RecordBatch]) -> i64 {
    let count = batches.first().and_then(|batch| {
        let field = batch.schema().fields().first()?.clone();
        (field.name() == "count").then_some(())
    });
    if count.is_none() {
        return -1;
    }
    batches
        .iter()
        .filter_map(|batch| {
            ScalarValue::try_from_array(batch.column(0), 0)
                .ok()
                .and_then(|value| match value {
                    ScalarValue::UInt64(Some(rows)) => i64::try_from(rows).ok(),
                    ScalarValue::Int64(Some(rows)) => Some(rows),
                    _ => None,
                })
        })
        .sum()
}

/// An Arrow schema as Flight SQL carries it in a prepared statement's result.
fn schema_bytes(schema: &Schema) -> Result<bytes::Bytes, Status> {
    let message: Result<IpcMessage, _> =
        SchemaAsIpc::new(schema, &IpcWriteOptions::default()).try_into();
    let IpcMessage(bytes) = message.map_err(|error| Status::internal(error.to_string()))?;
    Ok(bytes)
}

/// The bearer token of an `authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// An error of the statement path as a gRPC status.
pub fn api_status(error: ApiError) -> Status {
    let message = match &error {
        ApiError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error in a flight sql call");
            "internal error; see the coordinator's log".to_owned()
        }
        other => other.to_string(),
    };
    match error {
        ApiError::Unauthorized(_) => Status::unauthenticated(message),
        ApiError::Forbidden(_) => Status::permission_denied(message),
        ApiError::NotFound(_) | ApiError::RouteNotFound(_) => Status::not_found(message),
        ApiError::Conflict(_) | ApiError::InUse { .. } => Status::already_exists(message),
        ApiError::PayloadTooLarge(_) => Status::resource_exhausted(message),
        ApiError::QueryFailed(_) | ApiError::PluginFailed(_) => Status::aborted(message),
        ApiError::Unavailable(_) => Status::unavailable(message),
        ApiError::Internal(_) => Status::internal(message),
        _ => Status::invalid_argument(message),
    }
}

#[tonic::async_trait]
impl FlightSqlService for FlightSqlEndpoint {
    type FlightService = FlightSqlEndpoint;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let headers = request.metadata().clone().into_headers();
        let principal = sql_principal(&self.state, &headers).map_err(|error| {
            tracing::warn!(error = %error, "flight sql login refused");
            api_status(error)
        })?;
        let token = self
            .tokens
            .issue(&principal)
            .ok_or_else(|| Status::internal("no randomness to make a session token"))?;
        tracing::info!(user = %principal.name, "flight sql login");
        let answer = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into(),
        };
        let mut response: Response<
            Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>,
        > = Response::new(Box::pin(stream::iter([Ok(answer)])));
        let header = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::internal("a session token is not a header value"))?;
        response.metadata_mut().insert("authorization", header);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let principal = self.principal(&request)?;
        let schema = self.describe(&principal, &query.query).await?;
        let ticket = TicketStatementQuery {
            statement_handle: StatementHandle::new(query.query).encode(),
        };
        Self::flight_info(&schema, ticket, request.into_inner())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let handle = StatementHandle::decode(&ticket.statement_handle)?;
        self.stream(&principal, &handle).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let principal = self.principal(&request)?;
        let (schema, parameter_types) = statement::describe(&self.state, &principal, &query.query)
            .await
            .map_err(api_status)?;
        let parameters = Schema::new(
            parameter_types
                .iter()
                .enumerate()
                .map(|(index, data_type)| {
                    let data_type = data_type.clone().unwrap_or(DataType::Utf8);
                    Field::new(format!("${}", index + 1), data_type, true)
                })
                .collect::<Vec<_>>(),
        );
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: StatementHandle::new(query.query).encode(),
            dataset_schema: schema_bytes(&schema)?,
            parameter_schema: schema_bytes(&parameters)?,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        // Nothing is kept for a prepared statement (its handle is the statement).
        self.principal(&request)?;
        Ok(())
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        self.principal(&request)?;
        let handle = StatementHandle::decode(&query.prepared_statement_handle)?;
        let batches: Vec<RecordBatch> = FlightRecordBatchStream::new_from_flight_data(
            request.into_inner().map_err(FlightError::from),
        )
        .try_collect()
        .await
        .map_err(Status::from)?;
        let bound = handle.with_parameters(&batches)?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(bound.encode()),
        })
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let principal = self.principal(&request)?;
        let handle = StatementHandle::decode(&query.prepared_statement_handle)?;
        let schema = self.describe(&principal, &handle.sql).await?;
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let handle = StatementHandle::decode(&query.prepared_statement_handle)?;
        self.stream(&principal, &handle).await
    }

    async fn do_put_statement_update(
        &self,
        query: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let principal = self.principal(&request)?;
        self.update(&principal, &StatementHandle::new(query.query))
            .await
    }

    async fn do_put_prepared_statement_update(
        &self,
        query: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let principal = self.principal(&request)?;
        let handle = StatementHandle::decode(&query.prepared_statement_handle)?;
        self.update(&principal, &handle).await
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.into_builder().schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.principal(&request)?;
        let mut builder = query.into_builder();
        catalog_listing::catalogs(self.state.engine().context(), &mut builder);
        batch_response(builder.build())
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder().schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.principal(&request)?;
        let catalog = query.catalog.clone();
        let mut builder = query.into_builder();
        catalog_listing::schemas(
            self.state.engine().context(),
            catalog.as_deref(),
            &mut builder,
        );
        batch_response(builder.build())
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder().schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.principal(&request)?;
        let catalog = query.catalog.clone();
        let mut builder = query.into_builder();
        catalog_listing::tables(
            self.state.engine().context(),
            catalog.as_deref(),
            &mut builder,
        )
        .await
        .map_err(|error| api_status(statement::df_error(error)))?;
        batch_response(builder.build())
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.into_builder().schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.principal(&request)?;
        let mut builder = query.into_builder();
        for table_type in catalog_listing::TABLE_TYPES {
            builder.append(table_type);
        }
        batch_response(builder.build())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder(&self.sql_info).schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.principal(&request)?;
        batch_response(query.into_builder(&self.sql_info).build())
    }

    async fn do_get_fallback(
        &self,
        request: Request<Ticket>,
        message: Any,
    ) -> Result<Response<DoGetStream>, Status> {
        self.principal(&request)?;
        Err(Status::unimplemented(format!(
            "Quarry's Flight SQL endpoint does not serve {}",
            message.type_url
        )))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
