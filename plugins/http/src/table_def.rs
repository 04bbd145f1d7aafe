//! The `tables` property: a JSON object of table name to definition, each parsed and checked
//! here (url template, rows pointer, declared columns, pagination, filters).

use std::collections::BTreeMap;

use quarry_sdk::Column;
use quarry_sdk::type_syntax::parse_column_type;
use quarry_sdk::values::json_kind;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::pagination::{Pagination, check_pointer};
use crate::url_template::UrlTemplate;

/// One table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: String,
    pub url: UrlTemplate,
    /// JSON pointer to the array of row objects; `""` is the body itself.
    pub rows: String,
    /// Declared columns in the order written; `None` infers them from the first page.
    pub columns: Option<Vec<Column>>,
    pub pagination: Pagination,
    /// Column → query parameter: `column = value` is sent as `?param=value`.
    pub filters: BTreeMap<String, String>,
}

/// A definition as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    url: String,
    #[serde(default)]
    rows: String,
    columns: Option<Map<String, Json>>,
    pagination: Option<Json>,
    #[serde(default)]
    filters: Map<String, Json>,
}

/// Parses the `tables` property; the error names the table and the reason.
pub fn parse_tables(text: &str) -> Result<BTreeMap<String, TableDef>, String> {
    let json: Json = serde_json::from_str(text).map_err(|err| format!("not valid json: {err}"))?;
    let Json::Object(tables) = json else {
        return Err(format!(
            "must be a json object of table name to definition, found {}",
            json_kind(&json)
        ));
    };
    if tables.is_empty() {
        return Err("defines no tables".to_owned());
    }
    let mut out = BTreeMap::new();
    for (name, definition) in tables {
        let table = TableDef::parse(&name, definition)
            .map_err(|reason| format!("table \"{name}\": {reason}"))?;
        out.insert(name, table);
    }
    Ok(out)
}

impl TableDef {
    fn parse(name: &str, definition: Json) -> Result<TableDef, String> {
        check_name(name)?;
        let raw: RawTable = serde_json::from_value(definition).map_err(|err| err.to_string())?;
        let url = UrlTemplate::parse(&raw.url)?;
        check_pointer(&raw.rows).map_err(|e| format!("rows: {e}"))?;
        let columns = raw.columns.map(parse_columns).transpose()?;
        let pagination = match &raw.pagination {
            None => Pagination::None,
            Some(value) => Pagination::parse(value)?,
        };
        let declared = |column: &str| {
            columns
                .as_ref()
                .is_none_or(|cols| cols.iter().any(|c| c.name == column))
        };

        let placeholders = url.placeholders();
        if columns.is_none()
            && let Some(first) = placeholders.first()
        {
            return Err(format!(
                "its url has placeholder {{{first}}}, so its columns cannot be inferred from a \
                 first page (there is no value to fill in): declare \"columns\", including \
                 \"{first}\""
            ));
        }
        if let Some(missing) = placeholders.iter().find(|p| !declared(p)) {
            return Err(format!(
                "url placeholder {{{missing}}} is not one of the declared columns"
            ));
        }

        let mut filters = BTreeMap::new();
        for (column, param) in raw.filters {
            let param = match param {
                Json::String(p) if !p.trim().is_empty() => p,
                other => {
                    return Err(format!(
                        "filters: the query parameter of column \"{column}\" must be a \
                         non-empty string, found {}",
                        json_kind(&other)
                    ));
                }
            };
            if !declared(&column) {
                return Err(format!(
                    "filters: column \"{column}\" is not one of the declared columns"
                ));
            }
            if placeholders.contains(&column.as_str()) {
                return Err(format!(
                    "filters: column \"{column}\" already fills the url placeholder {{{column}}}"
                ));
            }
            if pagination.params().contains(&param.as_str()) {
                return Err(format!(
                    "filters: query parameter \"{param}\" (column \"{column}\") is also a \
                     pagination parameter"
                ));
            }
            if let Some((other, _)) = filters.iter().find(|(_, p)| **p == param) {
                return Err(format!(
                    "filters: columns \"{other}\" and \"{column}\" both use query parameter \
                     \"{param}\""
                ));
            }
            filters.insert(column, param);
        }
        Ok(TableDef {
            name: name.to_owned(),
            url,
            rows: raw.rows,
            columns,
            pagination,
            filters,
        })
    }

    /// The columns whose equality filters choose what is requested: placeholders and filters.
    pub fn request_columns(&self) -> Vec<&str> {
        let mut columns = self.url.placeholders();
        columns.extend(self.filters.keys().map(String::as_str));
        columns
    }
}

/// A table name: not empty, no surrounding spaces, no control characters.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.trim() != name || name.chars().any(char::is_control) {
        return Err(
            "a table name must be non-empty, without surrounding spaces or control characters"
                .to_owned(),
        );
    }
    Ok(())
}

/// `{"id": "int64 not null", ...}` in the order written.
fn parse_columns(columns: Map<String, Json>) -> Result<Vec<Column>, String> {
    if columns.is_empty() {
        return Err("columns: declares no column (leave it out to infer the columns)".to_owned());
    }
    columns
        .into_iter()
        .map(|(name, type_text)| {
            if name.is_empty() {
                return Err("columns: a column name is empty".to_owned());
            }
            let Json::String(type_text) = type_text else {
                return Err(format!(
                    "columns: the type of column \"{name}\" must be a string like \"int64 not \
                     null\", found {}",
                    json_kind(&type_text)
                ));
            };
            let parsed = parse_column_type(&type_text)
                .map_err(|err| format!("columns: column \"{name}\": {err}"))?;
            Ok(Column {
                name,
                data_type: parsed.data_type,
                nullable: parsed.nullable,
                doc: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quarry_sdk::DataType;
    use serde_json::json;

    use super::*;

    fn one(definition: Json) -> Result<TableDef, String> {
        parse_tables(&json!({ "t": definition }).to_string()).map(|mut t| t.remove("t").unwrap())
    }

    #[test]
    fn a_full_definition_parses_in_order() {
        let table = one(json!({
            "url": "http://127.0.0.1:8080/items?region={region}",
            "rows": "/data",
            "columns": {"region": "utf8", "id": "int64 not null", "price": "decimal(10,2)"},
            "pagination": {"next_link": "/links/next"},
            "filters": {"status": "status"}
        }));
        // A filter column must be declared when columns are.
        assert!(
            table
                .unwrap_err()
                .contains("\"status\" is not one of the declared")
        );

        let table = one(json!({
            "url": "http://127.0.0.1:8080/items?region={region}",
            "rows": "/data",
            "columns": {"region": "utf8", "id": "int64 not null", "price": "decimal(10,2)", "status": "string"},
            "pagination": {"next_link": "/links/next"},
            "filters": {"status": "state"}
        }))
        .unwrap();
        let names: Vec<&str> = table
            .columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, vec!["region", "id", "price", "status"]);
        let id = &table.columns.as_ref().unwrap()[1];
        assert_eq!((&id.data_type, id.nullable), (&DataType::Int64, false));
        assert_eq!(table.rows, "/data");
        assert_eq!(table.filters["status"], "state");
        assert_eq!(table.request_columns(), vec!["region", "status"]);

        let minimal = one(json!({"url": "https://api.test/items"})).unwrap();
        assert_eq!(
            (minimal.rows.as_str(), &minimal.pagination),
            ("", &Pagination::None)
        );
        assert!(minimal.columns.is_none());
    }

    #[test]
    fn bad_definitions_name_the_table_and_the_reason() {
        let cases = [
            (json!({"rows": "/data"}), "missing field `url`"),
            (
                json!({"url": "http://h/", "colour": 1}),
                "unknown field `colour`",
            ),
            (json!({"url": "h/items"}), "not absolute"),
            (
                json!({"url": "http://h/", "rows": "data"}),
                "rows: \"data\" is not a json pointer",
            ),
            (
                json!({"url": "http://h/", "columns": {}}),
                "declares no column",
            ),
            (
                json!({"url": "http://h/", "columns": {"a": 1}}),
                "must be a string",
            ),
            (
                json!({"url": "http://h/", "columns": {"a": "int99"}}),
                "column \"a\": unknown type",
            ),
            (
                json!({"url": "http://h/{r}"}),
                "declare \"columns\", including \"r\"",
            ),
            (
                json!({"url": "http://h/{r}", "columns": {"a": "utf8"}}),
                "placeholder {r} is not one",
            ),
            (
                json!({"url": "http://h/", "pagination": {"link_header": false}}),
                "must be true",
            ),
            (
                json!({"url": "http://h/", "filters": {"s": ""}}),
                "non-empty string",
            ),
            (
                json!({"url": "http://h/", "filters": {"s": 1}}),
                "found a number",
            ),
            (
                json!({"url": "http://h/{s}", "columns": {"s": "utf8"}, "filters": {"s": "s"}}),
                "already fills the url placeholder",
            ),
            (
                json!({"url": "http://h/", "pagination": {"page_param": "page"}, "filters": {"s": "page"}}),
                "also a pagination parameter",
            ),
            (
                json!({"url": "http://h/", "filters": {"a": "x", "b": "x"}}),
                "both use query parameter",
            ),
            (json!("http://h/"), "invalid type"),
        ];
        for (definition, expected) in cases {
            let err = one(definition.clone()).unwrap_err();
            assert!(err.starts_with("table \"t\": "), "{err}");
            assert!(err.contains(expected), "{definition}: {err}");
        }
    }

    #[test]
    fn the_property_itself_must_be_an_object_of_tables() {
        assert!(parse_tables("{").unwrap_err().contains("not valid json"));
        assert!(parse_tables("[]").unwrap_err().contains("found an array"));
        assert!(
            parse_tables("{}")
                .unwrap_err()
                .contains("defines no tables")
        );
        let err = parse_tables(&json!({" t": {"url": "http://h/"}}).to_string()).unwrap_err();
        assert!(
            err.contains("table \" t\"") && err.contains("table name"),
            "{err}"
        );
    }
}
