//! The PostgreSQL settings of one session, as `SET` changes them and `SHOW` reads them.
//!
//! Most are bookkeeping for clients, not engine configuration: drivers set and read them on
//! connect (`extra_float_digits`, `DateStyle`, `transaction_isolation`, …) and expect sensible
//! answers. Results are always sent in UTC with ISO dates whatever is set here. The exception is
//! `datafusion.…` settings, which the runner checks and applies to this session's statements.

use std::collections::HashMap;
use std::sync::Mutex;

/// Settings of the engine rather than of PostgreSQL: kept per session, checked by the runner,
/// and handed to it with every statement.
pub(crate) const ENGINE_PREFIX: &str = "datafusion.";

/// The `server_version` reported at startup and by `SHOW server_version`.
pub(crate) const SERVER_VERSION: &str = "16.6";

/// What `select version()` answers.
pub(crate) const VERSION_STRING: &str = "PostgreSQL 16.6 (Quarry, Apache DataFusion)";

const DEFAULTS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("bytea_output", "hex"),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, YMD"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("in_hot_standby", "off"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("is_superuser", "on"),
    ("lc_collate", "C"),
    ("lc_ctype", "C"),
    ("lc_messages", "C"),
    ("max_identifier_length", "63"),
    ("search_path", "public"),
    ("server_encoding", "UTF8"),
    ("server_version", SERVER_VERSION),
    ("server_version_num", "160006"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "Etc/UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
];

/// One session's settings: the defaults above overlaid with startup parameters and `SET`s.
#[derive(Debug, Default)]
pub(crate) struct SessionSettings {
    values: Mutex<HashMap<String, String>>,
}

impl SessionSettings {
    /// Whether `name` is a setting this front end answers (a default or one set before).
    pub(crate) fn knows(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        DEFAULTS.iter().any(|(known, _)| *known == name)
            || self
                .values
                .lock()
                .is_ok_and(|values| values.contains_key(&name))
    }

    pub(crate) fn get(&self, name: &str) -> String {
        let name = name.to_ascii_lowercase();
        let set = self
            .values
            .lock()
            .ok()
            .and_then(|values| values.get(&name).cloned());
        set.or_else(|| default_of(&name).map(str::to_owned))
            .unwrap_or_default()
    }

    pub(crate) fn set(&self, name: &str, value: &str) {
        if let Ok(mut values) = self.values.lock() {
            values.insert(name.to_ascii_lowercase(), value.to_owned());
        }
    }

    /// The engine settings (`datafusion.…`) set in this session, by name.
    pub(crate) fn engine_settings(&self) -> Vec<(String, String)> {
        let mut settings: Vec<(String, String)> = self
            .values
            .lock()
            .map(|values| {
                values
                    .iter()
                    .filter(|(name, _)| name.starts_with(ENGINE_PREFIX))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        settings.sort();
        settings
    }

    /// `RESET name`, or `RESET ALL` with `None`.
    pub(crate) fn reset(&self, name: Option<&str>) {
        if let Ok(mut values) = self.values.lock() {
            match name {
                Some(name) => {
                    values.remove(&name.to_ascii_lowercase());
                }
                None => values.clear(),
            }
        }
    }
}

fn default_of(name: &str) -> Option<&'static str> {
    DEFAULTS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, value)| *value)
}
