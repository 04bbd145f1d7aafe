//! Session commands answered by the front end instead of the engine.
//!
//! Supported: `SET [SESSION|LOCAL] name {TO|=} value`, `SET TIME ZONE …`, `SET NAMES …`,
//! `SET [SESSION CHARACTERISTICS AS] TRANSACTION …` (all only recorded), `RESET name|ALL`,
//! `SHOW name` for PostgreSQL settings (`transaction_isolation`, `server_version`, `DateStyle`,
//! … and anything set in the session) and `SHOW TRANSACTION ISOLATION LEVEL`,
//! `BEGIN`/`START TRANSACTION`/`COMMIT`/`END`/`ROLLBACK`/`ABORT` (accepted; Quarry is read-only
//! so there is nothing to commit), `SAVEPOINT`, `RELEASE [SAVEPOINT]` and `ROLLBACK TO
//! [SAVEPOINT]` (accepted alike), `DISCARD ALL`, `DEALLOCATE …`, and `select version()`.
//! `SET datafusion.…` is recorded for the session once the runner accepts the setting
//! ([`StatementRunner::check_setting`](crate::StatementRunner::check_setting)); the session's
//! statements then run with it. `SHOW` of a `datafusion.…` option not set in the session,
//! `SHOW ALL` and other `SHOW`s go to the runner.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::session_settings::{SessionSettings, VERSION_STRING};

/// A statement the front end answers itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionStatement {
    Set {
        name: String,
        value: String,
    },
    /// `SET TRANSACTION …` and the like: accepted, nothing recorded.
    SetIgnored,
    Reset(Option<String>),
    Show(String),
    Begin,
    Commit,
    Rollback,
    /// Accepted without effect, answered with this command tag.
    Ignored(&'static str),
    Version,
}

/// What answering a session statement produced.
#[derive(Debug)]
pub(crate) enum SessionOutcome {
    Rows(RecordBatch),
    Command(&'static str),
    TransactionStart,
    TransactionEnd(&'static str),
}

impl SessionStatement {
    /// Recognises `sql` as a session statement, or `None` when the runner should run it.
    pub(crate) fn recognize(sql: &str, settings: &SessionSettings) -> Option<Self> {
        let sql = sql.trim().trim_end_matches(';').trim();
        let words: Vec<String> = sql
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let word = |index: usize| words.get(index).map_or("", String::as_str);
        match word(0) {
            "set" => recognize_set(sql),
            "reset" => match word(1) {
                "" => None,
                "all" => Some(Self::Reset(None)),
                name => Some(Self::Reset(Some(name.to_owned()))),
            },
            "show" => {
                let name = match (word(1), word(2), word(3)) {
                    ("transaction", "isolation", "level") => "transaction_isolation".to_owned(),
                    ("time", "zone", _) => "timezone".to_owned(),
                    (name, _, _) => name.to_owned(),
                };
                (words.len() <= 4 && settings.knows(&name)).then_some(Self::Show(name))
            }
            "begin" | "start" if word(0) == "begin" || word(1) == "transaction" => {
                Some(Self::Begin)
            }
            "commit" | "end" => Some(Self::Commit),
            // Savepoints (psycopg and SQLAlchemy nest transactions with them): accepted, as
            // there is nothing to roll back to.
            "rollback" if word(1) == "to" => Some(Self::Ignored("ROLLBACK")),
            "rollback" | "abort" => Some(Self::Rollback),
            "savepoint" => Some(Self::Ignored("SAVEPOINT")),
            "release" => Some(Self::Ignored("RELEASE")),
            "discard" => Some(Self::Ignored("DISCARD ALL")),
            "deallocate" => Some(Self::Ignored("DEALLOCATE")),
            "select" => {
                let compact: String = sql.split_whitespace().collect::<String>().to_lowercase();
                matches!(
                    compact.as_str(),
                    "selectversion()" | "selectpg_catalog.version()"
                )
                .then_some(Self::Version)
            }
            _ => None,
        }
    }

    /// The result schema, for Describe.
    pub(crate) fn schema(&self) -> SchemaRef {
        match self {
            Self::Show(name) => text_schema(name),
            Self::Version => text_schema("version"),
            _ => Arc::new(Schema::empty()),
        }
    }

    pub(crate) fn answer(&self, settings: &SessionSettings) -> SessionOutcome {
        match self {
            Self::Set { name, value } => {
                settings.set(name, value);
                SessionOutcome::Command("SET")
            }
            Self::SetIgnored => SessionOutcome::Command("SET"),
            Self::Reset(name) => {
                settings.reset(name.as_deref());
                SessionOutcome::Command("RESET")
            }
            Self::Show(name) => text_row(name, &settings.get(name)),
            Self::Version => text_row("version", VERSION_STRING),
            Self::Begin => SessionOutcome::TransactionStart,
            Self::Commit => SessionOutcome::TransactionEnd("COMMIT"),
            Self::Rollback => SessionOutcome::TransactionEnd("ROLLBACK"),
            Self::Ignored(tag) => SessionOutcome::Command(tag),
        }
    }
}

fn recognize_set(sql: &str) -> Option<SessionStatement> {
    // Past `SET` and an optional SESSION or LOCAL.
    let mut rest = sql[3..].trim_start();
    for scope in ["session ", "local "] {
        if rest.len() > scope.len() && rest[..scope.len()].eq_ignore_ascii_case(scope) {
            let after = rest[scope.len()..].trim_start();
            rest = after;
        }
    }
    let lower = rest.to_ascii_lowercase();
    if lower.starts_with("transaction") || lower.starts_with("characteristics") {
        return Some(SessionStatement::SetIgnored);
    }
    let (name, value) = if let Some(value) = lower.strip_prefix("time zone") {
        (
            "timezone".to_owned(),
            rest[rest.len() - value.len()..].trim(),
        )
    } else if lower.starts_with("names") {
        ("client_encoding".to_owned(), rest[5..].trim())
    } else {
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        let value = rest[name_end..].trim_start();
        let value = match value.strip_prefix('=') {
            Some(value) => value,
            None if value.len() >= 3 && value[..3].eq_ignore_ascii_case("to ") => &value[3..],
            None => value,
        };
        (name, value.trim())
    };
    if name.is_empty() {
        return None;
    }
    let value = value
        .strip_prefix('\'')
        .and_then(|quoted| quoted.strip_suffix('\''))
        .map_or_else(|| value.to_owned(), |quoted| quoted.replace("''", "'"));
    Some(SessionStatement::Set { name, value })
}

fn text_schema(name: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, true)]))
}

fn text_row(name: &str, value: &str) -> SessionOutcome {
    let column: ArrayRef = Arc::new(StringArray::from(vec![value]));
    match RecordBatch::try_new(text_schema(name), vec![column]) {
        Ok(batch) => SessionOutcome::Rows(batch),
        // One Utf8 column and one Utf8 array always match; answer no rows if they ever don't.
        Err(_) => SessionOutcome::Command("SHOW"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recognize(sql: &str) -> Option<SessionStatement> {
        SessionStatement::recognize(sql, &SessionSettings::default())
    }

    #[test]
    fn recognises_what_drivers_send_on_connect() {
        assert_eq!(
            recognize("SET extra_float_digits = 3"),
            Some(SessionStatement::Set {
                name: "extra_float_digits".into(),
                value: "3".into()
            })
        );
        assert_eq!(
            recognize("set session application_name to 'it''s me';"),
            Some(SessionStatement::Set {
                name: "application_name".into(),
                value: "it's me".into()
            })
        );
        assert_eq!(
            recognize("SET TIME ZONE 'UTC'"),
            Some(SessionStatement::Set {
                name: "timezone".into(),
                value: "UTC".into()
            })
        );
        assert_eq!(
            recognize("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"),
            Some(SessionStatement::SetIgnored)
        );
        assert_eq!(
            recognize("SET datafusion.execution.batch_size = 10"),
            Some(SessionStatement::Set {
                name: "datafusion.execution.batch_size".into(),
                value: "10".into()
            })
        );
        assert_eq!(
            recognize("SHOW TRANSACTION ISOLATION LEVEL"),
            Some(SessionStatement::Show("transaction_isolation".into()))
        );
        assert_eq!(recognize("show datafusion.execution.batch_size"), None);
        assert_eq!(
            recognize("select  VERSION ( )"),
            Some(SessionStatement::Version)
        );
        assert_eq!(recognize("select version() + 1"), None);
        assert_eq!(
            recognize("START TRANSACTION"),
            Some(SessionStatement::Begin)
        );
        assert_eq!(recognize("start_x"), None);
        assert_eq!(
            recognize("SAVEPOINT \"_pg3_1\""),
            Some(SessionStatement::Ignored("SAVEPOINT"))
        );
        assert_eq!(
            recognize("RELEASE SAVEPOINT \"_pg3_1\""),
            Some(SessionStatement::Ignored("RELEASE"))
        );
        assert_eq!(
            recognize("ROLLBACK TO SAVEPOINT \"_pg3_1\""),
            Some(SessionStatement::Ignored("ROLLBACK"))
        );
        assert_eq!(recognize("ROLLBACK"), Some(SessionStatement::Rollback));
    }
}
