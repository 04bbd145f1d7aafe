//! The simple query protocol (`psql`, `psql -c`): one query string, possibly several
//! statements; each gets its response, and the first error ends the string like in PostgreSQL.

use std::fmt::Debug;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::portal::Format;
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::Response;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use crate::query_handler::QueryHandler;
use crate::statement_execution::execute_statement;
use crate::statement_splitter::split_statements;

#[async_trait]
impl SimpleQueryHandler for QueryHandler {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session(&*client);
        let mut responses = Vec::new();
        for statement in split_statements(query) {
            let response = execute_statement(
                self.runner.as_ref(),
                &session,
                statement,
                Vec::new(),
                &Format::UnifiedText,
            )
            .await;
            match response {
                Ok(response) => responses.push(response),
                Err(error) => {
                    responses.push(Response::Error(Box::new(error.to_error_info())));
                    break;
                }
            }
        }
        if responses.is_empty() {
            responses.push(Response::EmptyQuery);
        }
        Ok(responses)
    }
}
