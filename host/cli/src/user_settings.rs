//! The `[[coordinator.users]]` entries of the configuration file: who may run SQL, with which
//! role, and their password as a SCRAM-SHA-256 verifier (`quarry hash-password` prints one) or
//! as a reference to an environment variable holding it (`${ENV:NAME}`), hashed at start.

use anyhow::{Result, anyhow, bail};
use quarry_server::coordinator::users::{Role, ScramVerifier, UserSpec};
use serde::Deserialize;

use crate::config_file::Environment;

/// One user as the file writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSettings {
    /// The name psql's `-U` and HTTP Basic credentials give.
    pub name: String,
    /// `admin` (catalog DDL and queries) or `reader` (queries, SHOW, EXPLAIN).
    pub role: Role,
    /// `SCRAM-SHA-256$…`, or `${ENV:NAME}`.
    pub password: String,
}

impl UserSettings {
    /// The user with its verifier; an environment reference is read from `env` and hashed.
    pub fn resolve(&self, env: &Environment) -> Result<UserSpec> {
        let password = match env_reference(&self.password) {
            Some(variable) => {
                let Some(password) = env.get(variable) else {
                    bail!(
                        "user \"{}\": its password references ${{ENV:{variable}}}, which is not set",
                        self.name
                    );
                };
                ScramVerifier::from_password(password)
            }
            None => ScramVerifier::parse(&self.password)
                .map_err(|error| anyhow!("user \"{}\": password: {error}", self.name))?,
        };
        Ok(UserSpec {
            name: self.name.clone(),
            role: self.role,
            password,
        })
    }
}

/// `NAME` of a whole `${ENV:NAME}` value.
fn env_reference(value: &str) -> Option<&str> {
    value.trim().strip_prefix("${ENV:")?.strip_suffix('}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(password: &str) -> UserSettings {
        UserSettings {
            name: "ada".into(),
            role: Role::Reader,
            password: password.into(),
        }
    }

    #[test]
    fn a_verifier_or_an_environment_reference() {
        let verifier = ScramVerifier::from_password("pw").to_string();
        let env = Environment::from_pairs([("ADA_PASSWORD", "from-env")]);
        let spec = user(&verifier).resolve(&env).unwrap();
        assert!(spec.password.verify("pw"));
        let spec = user("${ENV:ADA_PASSWORD}").resolve(&env).unwrap();
        assert!(spec.password.verify("from-env"));
        assert_eq!(spec.role, Role::Reader);
    }

    #[test]
    fn a_plain_password_or_a_missing_variable_is_refused() {
        let env = Environment::default();
        let error = user("hunter2").resolve(&env).unwrap_err().to_string();
        assert!(
            error.contains("ada") && !error.contains("hunter2"),
            "{error}"
        );
        let error = user("${ENV:NOPE}").resolve(&env).unwrap_err().to_string();
        assert!(
            error.contains("NOPE is not set") || error.contains("NOPE}"),
            "{error}"
        );
    }
}
