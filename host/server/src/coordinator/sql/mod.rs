//! SQL on the coordinator: DataFusion plans every query here over the ready catalogs, the
//! distributed planner cuts it into stages, and the workers run every stage but the last.
//!
//! [`queryable_catalogs`] keeps the engine's catalogs in step with the cluster, recording in
//! [`coordinator_open_failures`] those it cannot open;
//! [`distributed_session`] sets up the engine's session: where stages may run and how;
//! [`coordinator_scan_sources`] is the coordinator's side of a scan, which never reads;
//! [`statement`] runs one statement for any front end (catalog DDL included) as a user, within
//! the statement timeout of [`statement_deadline`];
//! [`query_metrics`] counts statements running and finished, and keeps the [`recent_queries`]
//! with what each stage moved ([`stage_traffic`]); [`distributed_analyze`] answers
//! `EXPLAIN ANALYZE` with the stages as they ran;
//! [`result_json`] renders a result as the HTTP API's JSON; [`pg_runner`] serves the
//! PostgreSQL wire protocol's statements.

pub mod coordinator_open_failures;
pub mod coordinator_scan_sources;
pub mod distributed_analyze;
pub mod distributed_session;
pub mod pg_runner;
pub mod query_metrics;
pub mod queryable_catalogs;
pub mod recent_queries;
pub mod result_json;
pub mod stage_traffic;
pub mod statement;
pub mod statement_deadline;
