//! What a catalog declares its plugin may reach outside the sandbox, as the user wrote it.
//!
//! Not part of the WIT: grants never cross into a connector, the host enforces them. This is the
//! declared form the store keeps and the HTTP API and CLI show; the runtime turns it into its
//! resolved form (real directories, parsed origins, resolved socket endpoints) before it builds a
//! sandbox.

/// Directories, HTTP origins and TCP endpoints a catalog opens to its plugin. Empty means
/// nothing.
///
/// As JSON: `{"allowed_paths": [...], "allowed_hosts": [...], "allowed_sockets": [...]}`, each
/// optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Grants {
    /// Directories the plugin may read (preopened read-only).
    #[cfg_attr(feature = "serde", serde(default))]
    pub allowed_paths: Vec<String>,
    /// Outbound HTTP destinations, as `scheme://host:port`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub allowed_hosts: Vec<String>,
    /// TCP endpoints the plugin may connect to through `wasi:sockets`, as `host:port` (a DNS
    /// name, an IPv4 address or a bracketed IPv6 address).
    #[cfg_attr(feature = "serde", serde(default))]
    pub allowed_sockets: Vec<String>,
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn grants_keep_their_json_shape() {
        let grants = Grants {
            allowed_paths: vec!["/data".to_owned()],
            allowed_hosts: vec!["https://example.com:443".to_owned()],
            allowed_sockets: vec!["db.example.com:5432".to_owned()],
        };
        assert_eq!(
            serde_json::to_value(&grants).unwrap(),
            serde_json::json!({"allowed_paths": ["/data"],
                "allowed_hosts": ["https://example.com:443"],
                "allowed_sockets": ["db.example.com:5432"]})
        );
        let empty: Grants = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Grants::default());
        let older: Grants =
            serde_json::from_str(r#"{"allowed_hosts": ["https://a.test"]}"#).unwrap();
        assert!(older.allowed_sockets.is_empty());
    }
}
