//! Hiding secret property values from whoever reads a catalog back.
//!
//! The plugin's stored config declarations say which fields are secret. Their values are stored
//! as given (a literal or a `${ENV:NAME}` reference) and replaced by [`REDACTED`] on the way out,
//! whatever they hold: a reference is harmless to show, but telling the two apart on the way out
//! would make redaction depend on the value's spelling, and a secret must never leak because of a
//! typo in a reference.

use std::collections::BTreeMap;

use crate::plugin::ConfigField;

/// What a secret value is replaced with.
pub const REDACTED: &str = "***";

/// Returns `properties` with the values of the fields `fields` declares secret replaced by
/// [`REDACTED`]. Properties the plugin does not declare are returned as they are.
pub fn redact_properties(
    properties: &BTreeMap<String, String>,
    fields: &[ConfigField],
) -> BTreeMap<String, String> {
    properties
        .iter()
        .map(|(key, value)| {
            let secret = fields
                .iter()
                .any(|field| field.secret && field.name == *key);
            let shown = if secret { REDACTED } else { value.as_str() };
            (key.clone(), shown.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_replaced_and_others_kept() {
        let fields = vec![
            ConfigField {
                name: "user".into(),
                ..ConfigField::default()
            },
            ConfigField {
                name: "password".into(),
                secret: true,
                ..ConfigField::default()
            },
            ConfigField {
                name: "token".into(),
                secret: true,
                ..ConfigField::default()
            },
        ];
        let properties = BTreeMap::from([
            ("user".to_owned(), "alice".to_owned()),
            ("password".to_owned(), "hunter2".to_owned()),
            ("token".to_owned(), "${ENV:TOKEN}".to_owned()),
            ("undeclared".to_owned(), "x".to_owned()),
        ]);
        let shown = redact_properties(&properties, &fields);
        assert_eq!(shown["user"], "alice");
        assert_eq!(shown["password"], REDACTED);
        assert_eq!(shown["token"], REDACTED);
        assert_eq!(shown["undeclared"], "x");
    }
}
