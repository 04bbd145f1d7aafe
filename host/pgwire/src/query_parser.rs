//! Parse and Describe for the extended query protocol: a prepared statement remembers its SQL,
//! result schema and parameter types, which the runner reports at Parse time. Cursor
//! statements are described here: `DECLARE` by its query's parameters, `FETCH` by its cursor's
//! columns.

use std::sync::Arc;

use arrow_schema::{DataType, Schema, SchemaRef};
use async_trait::async_trait;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::api::stmt::QueryParser;
use pgwire::api::{ClientInfo, Type};
use pgwire::error::PgWireResult;

use crate::StatementRunner;
use crate::StatementSession;
use crate::cursor_statement::CursorStatement;
use crate::pg_type::PgKind;
use crate::query_handler::session_user;
use crate::row_encoder::row_description;
use crate::session_cursors::SessionCursors;
use crate::session_settings::SessionSettings;
use crate::session_statement::SessionStatement;

/// A statement prepared by Parse.
#[derive(Debug, Clone)]
pub(crate) struct PreparedStatement {
    pub(crate) sql: String,
    pub(crate) schema: SchemaRef,
    /// The runner's inferred `$n` types; `None` where it does not know.
    pub(crate) parameter_types: Vec<Option<DataType>>,
}

#[derive(Debug)]
pub(crate) struct PreparedStatementParser {
    runner: Arc<dyn StatementRunner>,
}

impl PreparedStatementParser {
    pub(crate) fn new(runner: Arc<dyn StatementRunner>) -> Self {
        Self { runner }
    }
}

#[async_trait]
impl QueryParser for PreparedStatementParser {
    type Statement = PreparedStatement;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<PreparedStatement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        let settings = client
            .session_extensions()
            .get_or_insert_with(SessionSettings::default);
        let session = StatementSession {
            user: session_user(client),
            engine_settings: settings.engine_settings(),
        };
        let cursor_statement = CursorStatement::recognize(sql)
            .transpose()
            .map_err(|error| error.into_pgwire())?;
        let (schema, parameter_types) = match (
            SessionStatement::recognize(sql, &settings),
            cursor_statement,
        ) {
            (Some(statement), _) => (statement.schema(), Vec::new()),
            (None, Some(CursorStatement::Declare(declaration))) => {
                let (_, parameter_types) = self
                    .runner
                    .describe(&session, &declaration.query)
                    .await
                    .map_err(|error| error.into_pgwire())?;
                (Arc::new(Schema::empty()), parameter_types)
            }
            (
                None,
                Some(CursorStatement::Fetch {
                    cursor,
                    move_only: false,
                    ..
                }),
            ) => {
                let cursors = client
                    .session_extensions()
                    .get_or_insert_with(SessionCursors::default);
                let cursor = cursors.get(&cursor).map_err(|error| error.into_pgwire())?;
                (cursor.schema.clone(), Vec::new())
            }
            (None, Some(_)) => (Arc::new(Schema::empty()), Vec::new()),
            (None, None) => self
                .runner
                .describe(&session, sql)
                .await
                .map_err(|error| error.into_pgwire())?,
        };
        Ok(Some(PreparedStatement {
            sql: sql.to_owned(),
            schema,
            parameter_types,
        }))
    }

    fn get_parameter_types(&self, statement: &PreparedStatement) -> PgWireResult<Vec<Type>> {
        Ok(statement
            .parameter_types
            .iter()
            .map(|data_type| {
                data_type
                    .as_ref()
                    .map_or(Type::TEXT, |data_type| PgKind::of(data_type).pg_type())
            })
            .collect())
    }

    fn get_result_schema(
        &self,
        statement: &PreparedStatement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(row_description(
            &statement.schema,
            column_format.unwrap_or(&Format::UnifiedText),
        ))
    }
}
