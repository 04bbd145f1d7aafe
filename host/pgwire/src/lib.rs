//! Quarry's PostgreSQL wire protocol front end, so `psql`, JDBC and other PostgreSQL clients can
//! run SQL against Quarry. The protocol itself (framing, startup, SSL refusal, portals) comes from
//! the `pgwire` crate; this crate supplies what runs behind it. [`serve`] (`serve.rs`) accepts
//! connections up to the [`PgConfig`] cap (`pg_config.rs`), closes those that overstay the
//! startup or idle timeout (`connection_activity.rs`), drops a statement whose client hung up
//! (`client_presence.rs`), and hands each to the handlers in
//! `pg_handlers.rs`: `session_startup.rs` (login: SCRAM-SHA-256 against the verifiers of a
//! [`PgUserDirectory`] in `pg_authentication.rs`, [`ScramVerifier`] in `scram_verifier.rs`, or
//! trust; server parameters), `simple_query.rs` and `extended_query.rs` (the two query
//! protocols), `query_handler.rs` (the handler behind both), `query_parser.rs` (Parse/Describe of prepared statements) and `cancel_registry.rs`
//! (CancelRequest, per-session cancellation). Statements are split by `statement_splitter.rs`;
//! the session commands answered here rather than by the engine (`SET`, `SHOW`, `BEGIN`,
//! `select version()`, …) live in `session_statement.rs` with their state in
//! `session_settings.rs`; everything else goes to the [`StatementRunner`] (`statement_runner.rs`)
//! through `statement_execution.rs`, and `COPY … TO STDOUT` streams its query's rows as
//! CopyData (`copy_out.rs`). Server-side cursors (`DECLARE`, `FETCH`, `MOVE`, `CLOSE`, read by
//! `cursor_statement.rs`) keep their query's running stream in the session
//! (`session_cursors.rs`). Arrow types map to PostgreSQL types in `pg_type.rs`, result
//! rows are encoded (text and binary) by `row_encoder.rs`, and `$n` parameters are decoded by
//! `parameter_decoder.rs`. Errors and their SQLSTATEs are in `statement_error.rs`.

mod cancel_registry;
mod client_presence;
mod connection_activity;
mod copy_out;
mod cursor_statement;
mod extended_query;
mod parameter_decoder;
mod pg_authentication;
mod pg_config;
mod pg_handlers;
mod pg_type;
mod query_handler;
mod query_parser;
mod row_encoder;
mod scram_verifier;
mod serve;
mod session_cursors;
mod session_settings;
mod session_startup;
mod session_statement;
mod simple_query;
mod statement_error;
mod statement_execution;
mod statement_runner;
mod statement_splitter;

pub use pg_authentication::{PgAuthentication, PgUserDirectory};
pub use pg_config::PgConfig;
pub use scram_verifier::{ScramVerifier, VerifierParseError};
pub use serve::serve;
pub use session_startup::SessionUser;
pub use statement_error::{StatementError, StatementErrorCode};
pub use statement_runner::{StatementRunner, StatementSession};
