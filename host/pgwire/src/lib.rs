//! Quarry's PostgreSQL wire protocol front end, so `psql`, JDBC and other PostgreSQL clients can
//! run SQL against Quarry. The protocol itself (framing, startup, SSL refusal, portals) comes from
//! the `pgwire` crate; this crate supplies what runs behind it. [`serve`] (`serve.rs`) accepts
//! connections and hands each to the handlers in `pg_handlers.rs`: `session_startup.rs` (trust
//! authentication, server parameters), `simple_query.rs` and `extended_query.rs` (the two query
//! protocols), `query_handler.rs` (the handler behind both), `query_parser.rs` (Parse/Describe of prepared statements) and `cancel_registry.rs`
//! (CancelRequest, per-session cancellation). Statements are split by `statement_splitter.rs`;
//! the session commands answered here rather than by the engine (`SET`, `SHOW`, `BEGIN`,
//! `select version()`, …) live in `session_statement.rs` with their state in
//! `session_settings.rs`; everything else goes to the [`StatementRunner`] (`statement_runner.rs`)
//! through `statement_execution.rs`. Arrow types map to PostgreSQL types in `pg_type.rs`, result
//! rows are encoded (text and binary) by `row_encoder.rs`, and `$n` parameters are decoded by
//! `parameter_decoder.rs`. Errors and their SQLSTATEs are in `statement_error.rs`.

mod cancel_registry;
mod extended_query;
mod parameter_decoder;
mod pg_handlers;
mod pg_type;
mod query_handler;
mod query_parser;
mod row_encoder;
mod serve;
mod session_settings;
mod session_startup;
mod session_statement;
mod simple_query;
mod statement_error;
mod statement_execution;
mod statement_runner;
mod statement_splitter;

pub use serve::serve;
pub use statement_error::{StatementError, StatementErrorCode};
pub use statement_runner::StatementRunner;
