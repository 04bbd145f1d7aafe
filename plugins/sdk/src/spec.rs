//! What a connector says about itself: its spec and configuration fields.

/// Static facts about a connector, returned by [`crate::Connector::spec`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorSpec {
    /// An identifier: `[a-z_][a-z0-9_]*`.
    pub name: String,
    /// A semver string.
    pub version: String,
    pub description: String,
    pub config: Vec<ConfigField>,
}

/// One configuration key the connector understands.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigField {
    pub name: String,
    pub doc: String,
    pub required: bool,
    pub secret: bool,
    pub default_value: Option<String>,
}

impl ConfigField {
    /// An optional, non-secret field with no default.
    pub fn optional(name: &str, doc: &str) -> Self {
        Self {
            name: name.to_owned(),
            doc: doc.to_owned(),
            required: false,
            secret: false,
            default_value: None,
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

/// One problem found by [`crate::Connector::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The property the problem is about, if it is about one.
    pub field: Option<String>,
    pub message: String,
}

impl ConfigIssue {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn general(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }
}
