//! The catalog's properties, parsed and checked once when a catalog is opened.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use quarry_sdk::http::Header;
use quarry_sdk::{ConfigField, ConfigIssue, ConnectorError, Properties, Result};

use crate::table_def::{TableDef, parse_tables};

pub const DEFAULT_SCHEMA: &str = "default";
pub const DEFAULT_AUTH_HEADER_NAME: &str = "Authorization";
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// More retries than this would keep a scan waiting for minutes.
pub const MAX_MAX_RETRIES: u32 = 10;
pub const DEFAULT_INFER_ROWS: usize = 100;
pub const DEFAULT_MAX_PAGES: u64 = 10_000;

const KNOWN: [&str; 7] = [
    "tables",
    "schema",
    "auth_header",
    "auth_header_name",
    "max_retries",
    "infer_rows",
    "max_pages",
];

/// The configuration fields, as the spec shows them.
pub fn fields() -> Vec<ConfigField> {
    vec![
        ConfigField::required(
            "tables",
            "JSON object of table name to definition: {\"url\": absolute URL, `{column}` \
             placeholders filled from `column = value` filters; \"rows\": JSON pointer to the \
             array of row objects (\"\" = the body); \"columns\": {name: type} (optional, \
             inferred from the first page otherwise); \"pagination\": {\"next_link\": pointer} | \
             {\"link_header\": true} | {\"page_param\", \"first_page\", \"size_param\", \
             \"page_size\"} | {\"offset_param\", \"size_param\", \"page_size\"} (optional); \
             \"filters\": {column: query parameter} (optional)}. Every origin needs an \
             allowed_hosts grant.",
        ),
        ConfigField::optional("schema", "The schema the tables appear in.")
            .with_default(DEFAULT_SCHEMA),
        ConfigField::optional(
            "auth_header",
            "Value of a header sent with every request to a table's own origin, e.g. \
             `Bearer abc`. Never logged or shown in an error.",
        )
        .secret(),
        ConfigField::optional("auth_header_name", "Name of the auth_header header.")
            .with_default(DEFAULT_AUTH_HEADER_NAME),
        ConfigField::optional(
            "max_retries",
            "Retries of a 429 or 5xx answer, with exponential backoff (at most 10).",
        )
        .with_default(&DEFAULT_MAX_RETRIES.to_string()),
        ConfigField::optional(
            "infer_rows",
            "Rows of the first page sampled to infer the columns of a table that declares none.",
        )
        .with_default(&DEFAULT_INFER_ROWS.to_string()),
        ConfigField::optional(
            "max_pages",
            "Pages one scan of a table may read; a table with more fails the scan rather than \
             answer short.",
        )
        .with_default(&DEFAULT_MAX_PAGES.to_string()),
    ]
}

/// A parsed, checked configuration.
#[derive(Clone)]
pub struct HttpConfig {
    pub schema: String,
    pub tables: BTreeMap<String, Arc<TableDef>>,
    /// The `auth_header` as a credential header.
    pub auth: Option<Header>,
    pub max_retries: u32,
    pub infer_rows: usize,
    pub max_pages: u64,
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `auth` shows as `***` through `Header`'s own Debug.
        f.debug_struct("HttpConfig")
            .field("schema", &self.schema)
            .field("tables", &self.tables.keys().collect::<Vec<_>>())
            .field("auth", &self.auth)
            .field("max_retries", &self.max_retries)
            .field("infer_rows", &self.infer_rows)
            .field("max_pages", &self.max_pages)
            .finish()
    }
}

impl HttpConfig {
    /// Parses every property, collecting every problem.
    pub fn parse(props: &Properties) -> Result<HttpConfig, Vec<ConfigIssue>> {
        let mut issues = props.unknown_keys(&KNOWN);
        let mut issue = |key: &str, reason: String| {
            issues.push(ConfigIssue::field(
                key,
                format!("property \"{key}\": {reason}"),
            ));
        };
        let tables = match props.get("tables") {
            None => {
                issue("tables", "is required".to_owned());
                BTreeMap::new()
            }
            Some(text) => parse_tables(text).unwrap_or_else(|reason| {
                issue("tables", reason);
                BTreeMap::new()
            }),
        };
        let schema = props
            .get("schema")
            .unwrap_or(DEFAULT_SCHEMA)
            .trim()
            .to_owned();
        if schema.is_empty() || schema.chars().any(char::is_control) {
            issue(
                "schema",
                "must be a non-empty name without control characters".to_owned(),
            );
        }
        let auth_name = props
            .get("auth_header_name")
            .unwrap_or(DEFAULT_AUTH_HEADER_NAME)
            .trim();
        if !is_token(auth_name) {
            issue(
                "auth_header_name",
                format!("{auth_name:?} is not a valid http header name"),
            );
        }
        if props.get("auth_header_name").is_some() && props.get("auth_header").is_none() {
            issue(
                "auth_header_name",
                "is set but auth_header is not".to_owned(),
            );
        }
        // The value is a secret: messages about it never show it.
        let auth = props.get("auth_header").map(str::trim);
        if let Some(value) = auth {
            if value.is_empty() {
                issue("auth_header", "must not be empty".to_owned());
            } else if value.chars().any(|c| c.is_control() && c != '\t') {
                issue(
                    "auth_header",
                    "must not contain line breaks or other control characters".to_owned(),
                );
            }
        }
        let max_retries = parse_number(props, "max_retries", u64::from(DEFAULT_MAX_RETRIES), 0)
            .and_then(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_MAX_RETRIES)
                    .ok_or_else(|| format!("{n} is more than {MAX_MAX_RETRIES}"))
            })
            .unwrap_or_else(|reason| {
                issue("max_retries", reason);
                DEFAULT_MAX_RETRIES
            });
        let infer_rows = parse_number(props, "infer_rows", DEFAULT_INFER_ROWS as u64, 1)
            .unwrap_or_else(|reason| {
                issue("infer_rows", reason);
                0
            });
        let max_pages =
            parse_number(props, "max_pages", DEFAULT_MAX_PAGES, 1).unwrap_or_else(|reason| {
                issue("max_pages", reason);
                0
            });
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(HttpConfig {
            schema,
            tables: tables
                .into_iter()
                .map(|(name, table)| (name, Arc::new(table)))
                .collect(),
            auth: auth.map(|value| Header::credential(auth_name, value)),
            max_retries,
            infer_rows: usize::try_from(infer_rows).unwrap_or(usize::MAX),
            max_pages,
        })
    }

    /// Like [`HttpConfig::parse`], with the issues joined into one `invalid-config` error.
    pub fn parse_or_error(props: &Properties) -> Result<HttpConfig> {
        HttpConfig::parse(props).map_err(ConnectorError::from_issues)
    }

    /// The table `schema.table`, or `not-found` naming what exists.
    pub fn table(&self, schema: &str, table: &str) -> Result<&Arc<TableDef>> {
        self.check_schema(schema)?;
        self.tables.get(table).ok_or_else(|| {
            ConnectorError::not_found(format!(
                "table \"{schema}.{table}\" does not exist (tables: {})",
                self.tables
                    .keys()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    pub fn check_schema(&self, schema: &str) -> Result<()> {
        if schema == self.schema {
            Ok(())
        } else {
            Err(ConnectorError::not_found(format!(
                "schema \"{schema}\" does not exist (this catalog has one schema, \"{}\")",
                self.schema
            )))
        }
    }
}

/// A non-negative integer property of at least `min`, or its default.
fn parse_number(props: &Properties, key: &str, default: u64, min: u64) -> Result<u64, String> {
    match props.get(key) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ if min == 0 => Err(format!("{raw:?} is not a non-negative integer")),
            _ => Err(format!("{raw:?} is not an integer of at least {min}")),
        },
    }
}

/// An RFC 9110 token, the syntax of a header name.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tables() -> String {
        json!({"items": {"url": "http://127.0.0.1:8080/items", "rows": "/data"}}).to_string()
    }

    fn issues(props: Properties) -> Vec<ConfigIssue> {
        HttpConfig::parse(&props).unwrap_err()
    }

    fn by_field(found: &[ConfigIssue], field: &str) -> String {
        found
            .iter()
            .find(|i| i.field.as_deref() == Some(field))
            .unwrap_or_else(|| panic!("no issue for {field}: {found:?}"))
            .message
            .clone()
    }

    #[test]
    fn defaults_and_settings_parse() {
        let config = HttpConfig::parse(&Properties::new().with("tables", &tables())).unwrap();
        assert_eq!(config.schema, "default");
        assert_eq!(config.auth, None);
        assert_eq!(
            (config.max_retries, config.infer_rows, config.max_pages),
            (3, 100, 10_000)
        );
        assert!(config.tables.contains_key("items"));

        let config = HttpConfig::parse(
            &Properties::new()
                .with("tables", &tables())
                .with("schema", "rest")
                .with("auth_header", "Bearer s3cret")
                .with("auth_header_name", "X-Api-Key")
                .with("max_retries", "0")
                .with("infer_rows", "5")
                .with("max_pages", "2"),
        )
        .unwrap();
        assert_eq!(config.schema, "rest");
        assert_eq!(
            config.auth,
            Some(Header::credential("X-Api-Key", "Bearer s3cret"))
        );
        assert_eq!(
            (config.max_retries, config.infer_rows, config.max_pages),
            (0, 5, 2)
        );
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(config.table("rest", "items").is_ok());
        let err = config.table("rest", "nope").unwrap_err();
        assert!(err.message.contains("\"items\""), "{err}");
        let err = config.table("default", "items").unwrap_err();
        assert!(err.message.contains("one schema, \"rest\""), "{err}");
    }

    #[test]
    fn every_bad_property_is_named() {
        let found = issues(Properties::new());
        assert_eq!(
            by_field(&found, "tables"),
            "property \"tables\": is required"
        );

        let found = issues(
            Properties::new()
                .with("tables", "{\"t\": {\"url\": \"h/x\"}}")
                .with("schema", " ")
                .with("auth_header", "Bearer abc\r\nX-Evil: 1")
                .with("auth_header_name", "Bad Name")
                .with("max_retries", "11")
                .with("infer_rows", "0")
                .with("max_pages", "lots")
                .with("colour", "blue"),
        );
        assert!(
            by_field(&found, "tables").contains("table \"t\": url"),
            "{found:?}"
        );
        assert!(
            by_field(&found, "schema").contains("non-empty"),
            "{found:?}"
        );
        assert!(
            by_field(&found, "auth_header").contains("line breaks"),
            "{found:?}"
        );
        assert!(
            by_field(&found, "auth_header_name").contains("not a valid"),
            "{found:?}"
        );
        assert!(
            by_field(&found, "max_retries").contains("more than 10"),
            "{found:?}"
        );
        assert!(
            by_field(&found, "infer_rows").contains("at least 1"),
            "{found:?}"
        );
        assert!(
            by_field(&found, "max_pages").contains("\"lots\""),
            "{found:?}"
        );
        assert!(
            by_field(&found, "colour").contains("unknown property"),
            "{found:?}"
        );
        assert!(
            found.iter().all(|i| !i.message.contains("abc")),
            "the secret leaked: {found:?}"
        );

        let found = issues(
            Properties::new()
                .with("tables", &tables())
                .with("auth_header_name", "X-Key"),
        );
        assert!(by_field(&found, "auth_header_name").contains("auth_header is not"));
        let found = issues(
            Properties::new()
                .with("tables", &tables())
                .with("auth_header", " "),
        );
        assert!(by_field(&found, "auth_header").contains("must not be empty"));
        let found = issues(
            Properties::new()
                .with("tables", &tables())
                .with("max_retries", "-1"),
        );
        assert!(by_field(&found, "max_retries").contains("non-negative"));
    }
}
