//! What a connector says about itself (`connector-spec`, `config-field`) and what `validate`
//! answers (`config-issue`).

/// Static facts about a connector: `name@version` identifies the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConnectorSpec {
    /// An identifier: `[a-z_][a-z0-9_]*`.
    pub name: String,
    /// A semver string.
    pub version: String,
    pub description: String,
    pub config: Vec<ConfigField>,
}

/// One configuration key a connector understands.
///
/// As JSON (the store's `config_fields` column, the HTTP API's plugin `config`), only `name` is
/// required, and the default value is the key `default`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConfigField {
    pub name: String,
    /// One or two sentences for the user: what the value means and its format.
    #[cfg_attr(feature = "serde", serde(default))]
    pub doc: String,
    /// A catalog without this key is rejected before the connector is called.
    #[cfg_attr(feature = "serde", serde(default))]
    pub required: bool,
    /// The value is a credential: never shown, never logged.
    #[cfg_attr(feature = "serde", serde(default))]
    pub secret: bool,
    /// The value the connector uses when the key is absent (documentation only).
    #[cfg_attr(feature = "serde", serde(default, rename = "default"))]
    pub default_value: Option<String>,
}

impl ConfigField {
    /// An optional, non-secret field with no default.
    pub fn optional(name: &str, doc: &str) -> Self {
        Self {
            name: name.to_owned(),
            doc: doc.to_owned(),
            ..Self::default()
        }
    }

    /// A required, non-secret field.
    pub fn required(name: &str, doc: &str) -> Self {
        Self {
            required: true,
            ..Self::optional(name, doc)
        }
    }

    /// Marks the field as a credential: the host never shows or logs its value.
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Documents the value used when the key is absent.
    pub fn with_default(mut self, value: &str) -> Self {
        self.default_value = Some(value.to_owned());
        self
    }
}

/// One problem found by `validate`, tied to a property when it is about one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConfigIssue {
    /// The property the problem is about, if it is about one (absent from JSON when none).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub field: Option<String>,
    pub message: String,
}

impl ConfigIssue {
    /// A problem with the property `field`.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// A problem with no one property.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn config_fields_keep_their_json_shape() {
        let field = ConfigField::required("password", "the password")
            .secret()
            .with_default("x");
        let json = serde_json::to_value(&field).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "password", "doc": "the password", "required": true,
                "secret": true, "default": "x"})
        );
        let sparse: ConfigField = serde_json::from_str(r#"{"name": "n"}"#).unwrap();
        assert_eq!(sparse, ConfigField::optional("n", ""));
    }

    #[test]
    fn issues_leave_out_an_absent_field() {
        let json = serde_json::to_string(&ConfigIssue::general("bad")).unwrap();
        assert_eq!(json, r#"{"message":"bad"}"#);
        let issue: ConfigIssue = serde_json::from_str(r#"{"field":"a","message":"m"}"#).unwrap();
        assert_eq!(issue, ConfigIssue::field("a", "m"));
    }
}
