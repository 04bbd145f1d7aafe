//! [`QueryOptions`]: what one statement runs with beyond the engine's defaults: a session's own
//! settings (`SET datafusion.… = …` on the PostgreSQL front end, for that session only) and the
//! memory one query may hold ([`QueryOptions::memory_limit`], DataFusion's memory pool).
//!
//! Only the settings of [`SESSION_SETTINGS`] may be changed per session: they change how a
//! result is computed or shown, not what the query may read or how much of the host it takes.

use datafusion::config::ConfigOptions;

/// The DataFusion settings a session may change, with the largest value of the numeric ones.
pub const SESSION_SETTINGS: &[(&str, Option<u64>)] = &[
    ("datafusion.execution.batch_size", Some(65_536)),
    ("datafusion.execution.time_zone", None),
    ("datafusion.explain.physical_plan_only", None),
    ("datafusion.explain.logical_plan_only", None),
    ("datafusion.explain.show_statistics", None),
    ("datafusion.explain.show_schema", None),
    ("datafusion.optimizer.prefer_hash_join", None),
    ("datafusion.sql_parser.enable_ident_normalization", None),
];

/// One statement's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// `(name, value)` settings of the session, each allowed by [`check_session_setting`].
    pub settings: Vec<(String, String)>,
    /// The most memory the query's operators may hold (hash tables, sorts), in bytes; past it
    /// the query fails with "Resources exhausted". `None`: unbounded.
    pub memory_limit: Option<usize>,
}

/// Whether a session may `SET name = value`; the error says why not, naming the setting.
pub fn check_session_setting(name: &str, value: &str) -> Result<(), String> {
    let name = name.to_ascii_lowercase();
    let Some((_, max)) = SESSION_SETTINGS
        .iter()
        .find(|(allowed, _)| *allowed == name)
    else {
        let allowed: Vec<&str> = SESSION_SETTINGS.iter().map(|(name, _)| *name).collect();
        return Err(format!(
            "setting \"{name}\" cannot be changed per session; these can: {}",
            allowed.join(", ")
        ));
    };
    if let Some(max) = max {
        let number: u64 = value
            .trim()
            .parse()
            .map_err(|_| format!("setting \"{name}\" takes a whole number, not \"{value}\""))?;
        if number == 0 || number > *max {
            return Err(format!(
                "setting \"{name}\" must be between 1 and {max}, not {number}"
            ));
        }
    }
    ConfigOptions::new()
        .set(&name, value)
        .map_err(|error| format!("setting \"{name}\": {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_settings_with_sensible_values_pass() {
        assert!(check_session_setting("datafusion.execution.batch_size", "1024").is_ok());
        assert!(check_session_setting("DataFusion.Execution.Batch_Size", "7").is_ok());
        let too_big = check_session_setting("datafusion.execution.batch_size", "100000000");
        assert!(too_big.unwrap_err().contains("between 1 and 65536"));
        let not_a_number = check_session_setting("datafusion.execution.batch_size", "many");
        assert!(not_a_number.unwrap_err().contains("whole number"));
        let shared = check_session_setting("datafusion.execution.target_partitions", "64");
        assert!(
            shared
                .unwrap_err()
                .contains("cannot be changed per session")
        );
        let bad_bool = check_session_setting("datafusion.explain.show_schema", "maybe");
        assert!(bad_bool.is_err());
    }
}
