//! SQL on the coordinator: DataFusion plans every query here over the ready catalogs, and the
//! splits run on the workers.
//!
//! [`queryable_catalogs`] keeps the engine's catalogs in step with the cluster, recording in
//! [`coordinator_open_failures`] those it cannot open;
//! [`worker_split_source`] streams a split from a worker that holds the catalog version;
//! [`statement`] runs one statement for any front end (catalog DDL included) as a user, within
//! the statement timeout of [`statement_deadline`];
//! [`query_metrics`] counts statements running and finished;
//! [`result_json`] renders a result as the HTTP API's JSON; [`pg_runner`] serves the
//! PostgreSQL wire protocol's statements.

pub mod coordinator_open_failures;
pub mod pg_runner;
pub mod query_metrics;
pub mod queryable_catalogs;
pub mod result_json;
pub mod statement;
pub mod statement_deadline;
pub mod worker_split_source;
