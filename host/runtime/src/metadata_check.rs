//! Bounds on what a connector may answer about its metadata: how many schema or table names,
//! how many columns, how long a name. A connector that lists a million schemas or describes a
//! table of 200,000 columns would otherwise keep the host planning, and serving those names,
//! for as long as it likes. Past a bound the call fails with an invalid-output error naming it.

/// The most schema names, or table names of one schema, a connector may list.
pub const MAX_NAMES: usize = 100_000;
/// The most columns a table may have.
pub const MAX_COLUMNS: usize = 10_000;
/// The longest schema, table or column name, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;

/// Checks a list of schema or table names (`what`: "schema", "table").
pub fn check_names(names: &[String], what: &str) -> Result<(), String> {
    if names.len() > MAX_NAMES {
        return Err(format!(
            "{} {what} names, over the limit of {MAX_NAMES}",
            names.len()
        ));
    }
    names.iter().try_for_each(|name| check_name(name, what))
}

/// Checks the column names and the column count of a described table.
pub fn check_columns<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> Result<(), String> {
    if names.len() > MAX_COLUMNS {
        return Err(format!(
            "a table of {} columns, over the limit of {MAX_COLUMNS}",
            names.len()
        ));
    }
    for name in names {
        check_name(name, "column")?;
    }
    Ok(())
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    if name.len() > MAX_NAME_BYTES {
        let start: String = name.chars().take(32).collect();
        return Err(format!(
            "a {what} name of {} bytes (\"{start}…\"), over the limit of {MAX_NAME_BYTES}",
            name.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_lengths_are_bounded() {
        assert!(check_names(&["a".into(), "b".into()], "schema").is_ok());
        let many = vec![String::new(); MAX_NAMES + 1];
        assert!(
            check_names(&many, "schema")
                .unwrap_err()
                .contains("100001 schema names")
        );
        let long = vec!["x".repeat(MAX_NAME_BYTES + 1)];
        let error = check_names(&long, "table").unwrap_err();
        assert!(error.contains("a table name of 1025 bytes"), "{error}");
        assert!(error.len() < 200, "the name is not repeated whole: {error}");
        let columns = vec!["c"; MAX_COLUMNS + 1];
        assert!(
            check_columns(columns.into_iter())
                .unwrap_err()
                .contains("10001 columns")
        );
    }
}
