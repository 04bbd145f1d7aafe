//! The catalog's properties: where the server is, who to log in as, which schemas to show and
//! how to cut scans into splits.

use std::fmt;
use std::time::Duration;

use quarry_sdk::{ConfigField, ConfigIssue, ConnectorError, Properties, Result};

/// Port when `port` is not set.
pub const DEFAULT_PORT: u16 = 5432;
/// Heap pages per split when `split_pages` is not set (128 MiB of 8 KiB pages).
pub const DEFAULT_SPLIT_PAGES: u64 = 16_384;
/// Most splits of one scan when `max_splits` is not set.
pub const DEFAULT_MAX_SPLITS: u64 = 64;
/// Connect timeout when `connect_timeout_ms` is not set.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;

/// Every property the connector understands.
pub const KNOWN: [&str; 9] = [
    "host",
    "port",
    "database",
    "user",
    "password",
    "schemas",
    "split_pages",
    "max_splits",
    "connect_timeout_ms",
];

/// The properties the connector declares in its spec.
pub fn fields() -> Vec<ConfigField> {
    vec![
        ConfigField::required(
            "host",
            "Host name or IP address of the PostgreSQL server. The catalog must be granted \
             the socket: allowed_sockets [\"HOST:PORT\"].",
        ),
        ConfigField::optional("port", "TCP port of the server.")
            .with_default(&DEFAULT_PORT.to_string()),
        ConfigField::required("database", "The database to read."),
        ConfigField::required("user", "The role to log in as."),
        ConfigField::optional(
            "password",
            "The role's password, for cleartext, md5 or SCRAM-SHA-256 authentication; \
             use ${ENV:NAME} to keep it out of the catalog's stored properties.",
        )
        .secret(),
        ConfigField::optional(
            "schemas",
            "Comma-separated schemas to show; by default every schema but the system ones \
             (pg_catalog, information_schema, pg_toast, temporary schemas).",
        ),
        ConfigField::optional(
            "split_pages",
            "Heap pages (8 KiB each) per split: a table of N pages is read by \
             ceil(N / split_pages) parallel ctid-range scans, at most max_splits.",
        )
        .with_default(&DEFAULT_SPLIT_PAGES.to_string()),
        ConfigField::optional("max_splits", "Most splits of one table scan.")
            .with_default(&DEFAULT_MAX_SPLITS.to_string()),
        ConfigField::optional(
            "connect_timeout_ms",
            "How long to wait for the TCP connection, in milliseconds.",
        )
        .with_default(&DEFAULT_CONNECT_TIMEOUT_MS.to_string()),
    ]
}

/// A catalog's parsed properties.
#[derive(Clone, PartialEq, Eq)]
pub struct PgConfig {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Never shown: not in `Debug`, errors or logs.
    pub password: Option<String>,
    /// `None`: every non-system schema.
    pub schemas: Option<Vec<String>>,
    pub split_pages: u64,
    pub max_splits: u64,
    pub connect_timeout: Duration,
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("schemas", &self.schemas)
            .field("split_pages", &self.split_pages)
            .field("max_splits", &self.max_splits)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl PgConfig {
    /// Parses the properties, or every problem found, each naming its property.
    pub fn parse(properties: &Properties) -> Result<PgConfig, Vec<ConfigIssue>> {
        let mut issues = properties.unknown_keys(&KNOWN);
        let mut note = |key: &str, result: Result<()>| {
            if let Err(err) = result {
                issues.push(ConfigIssue::field(key, err.message));
            }
        };
        let mut text = |key: &str| -> Option<String> {
            match properties.require(key) {
                Ok(value) if !value.trim().is_empty() => Some(value.trim().to_owned()),
                Ok(_) => {
                    note(
                        key,
                        Err(ConnectorError::invalid_config(format!(
                            "property \"{key}\" must not be empty"
                        ))),
                    );
                    None
                }
                Err(err) => {
                    note(key, Err(err));
                    None
                }
            }
        };
        let host = text("host");
        let database = text("database");
        let user = text("user");
        let mut number = |key: &str, default: u64, min: u64, max: u64| -> u64 {
            match properties.parse_or::<u64>(key, default) {
                Ok(value) if (min..=max).contains(&value) => value,
                Ok(value) => {
                    issues.push(ConfigIssue::field(
                        key,
                        format!("property \"{key}\" must be between {min} and {max}, not {value}"),
                    ));
                    default
                }
                Err(err) => {
                    issues.push(ConfigIssue::field(key, err.message));
                    default
                }
            }
        };
        let port = number("port", u64::from(DEFAULT_PORT), 1, 65_535);
        let split_pages = number("split_pages", DEFAULT_SPLIT_PAGES, 1, u64::from(u32::MAX));
        let max_splits = number("max_splits", DEFAULT_MAX_SPLITS, 1, 10_000);
        let timeout_ms = number(
            "connect_timeout_ms",
            DEFAULT_CONNECT_TIMEOUT_MS,
            1,
            3_600_000,
        );
        let schemas = properties.get("schemas").map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        if schemas.as_ref().is_some_and(Vec::is_empty) {
            issues.push(ConfigIssue::field(
                "schemas",
                "property \"schemas\" names no schema (leave it out to show every schema)",
            ));
        }
        let (Some(host), Some(database), Some(user)) = (host, database, user) else {
            return Err(issues);
        };
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(PgConfig {
            host,
            port: u16::try_from(port).unwrap_or(DEFAULT_PORT),
            database,
            user,
            password: properties.get("password").map(str::to_owned),
            schemas,
            split_pages,
            max_splits,
            connect_timeout: Duration::from_millis(timeout_ms),
        })
    }

    /// `host:port`, as errors and the socket grant name it.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Properties {
        Properties::new()
            .with("host", "db.example")
            .with("database", "shop")
            .with("user", "reader")
    }

    #[test]
    fn defaults_apply_and_the_password_is_never_shown() {
        let config = PgConfig::parse(&base().with("password", "hunter2")).unwrap();
        assert_eq!(config.port, 5432);
        assert_eq!(config.split_pages, DEFAULT_SPLIT_PAGES);
        assert_eq!(config.max_splits, DEFAULT_MAX_SPLITS);
        assert_eq!(config.schemas, None);
        assert_eq!(config.address(), "db.example:5432");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn every_problem_is_an_issue_naming_its_property() {
        let props = Properties::new()
            .with("host", "h")
            .with("port", "99999")
            .with("max_splits", "many")
            .with("schemas", " , ")
            .with("colour", "blue");
        let issues = PgConfig::parse(&props).unwrap_err();
        let fields: Vec<_> = issues.iter().filter_map(|i| i.field.clone()).collect();
        for key in [
            "colour",
            "database",
            "user",
            "port",
            "max_splits",
            "schemas",
        ] {
            assert!(fields.iter().any(|f| f == key), "{key} in {issues:?}");
        }
        assert!(
            issues
                .iter()
                .any(|i| i.message.contains("between 1 and 65535")),
            "{issues:?}"
        );
    }

    #[test]
    fn schemas_is_a_trimmed_comma_separated_list() {
        let config = PgConfig::parse(&base().with("schemas", "public, sales ,")).unwrap();
        assert_eq!(
            config.schemas,
            Some(vec!["public".to_owned(), "sales".to_owned()])
        );
    }
}
