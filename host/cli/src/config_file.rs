//! The configuration layers below the flags: the TOML file (`--config FILE` or `QUARRY_CONFIG`)
//! and the `QUARRY_*` environment.
//!
//! Each process reads its own section of one file (`[coordinator]`, `[worker]`), and both read
//! `[sandbox]`, so a single file can describe a whole machine. Unknown keys are errors, not silently ignored typos. The
//! environment is passed around as an [`Environment`] value rather than read from the process, so
//! the layering can be tested without touching the real environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;

use crate::coordinator_config::CoordinatorSettings;
use crate::sandbox_config::SandboxSettings;
use crate::worker_config::WorkerSettings;

/// The environment variable naming the configuration file when `--config` is not given.
pub const CONFIG_ENV: &str = "QUARRY_CONFIG";

/// The whole TOML file. Every section and key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub coordinator: CoordinatorSettings,
    #[serde(default)]
    pub worker: WorkerSettings,
    /// Sandbox limits, for both processes.
    #[serde(default)]
    pub sandbox: SandboxSettings,
}

impl ConfigFile {
    /// Reads the file named by `flag`, else by `QUARRY_CONFIG`; no file at all is an empty one.
    pub fn load(flag: Option<&Path>, env: &Environment) -> Result<ConfigFile> {
        let path = match flag {
            Some(path) => path.to_path_buf(),
            None => match env.get(CONFIG_ENV) {
                Some(path) => PathBuf::from(path),
                None => return Ok(ConfigFile::default()),
            },
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        ConfigFile::parse(&text)
            .with_context(|| format!("invalid configuration file {}", path.display()))
    }

    /// Parses the text of a configuration file.
    pub fn parse(text: &str) -> Result<ConfigFile> {
        let mut file: ConfigFile =
            toml::from_str(text).map_err(|error| anyhow!("{}", error.to_string().trim_end()))?;
        // `[sandbox]` applies to both processes: each layers it with the rest of its settings.
        file.coordinator.sandbox = file.sandbox.clone();
        file.worker.sandbox = file.sandbox.clone();
        Ok(file)
    }
}

/// A snapshot of environment variables.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The process environment (variables that are not valid UTF-8 are left out).
    pub fn from_process() -> Environment {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment holding exactly `vars` (tests).
    pub fn from_pairs<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Environment {
        Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// The value of `name`; an empty value counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// The value of `name` as a string.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// The value of `name` parsed as `T`; a value that does not parse is an error naming the
    /// variable.
    pub fn parse<T>(&self, name: &str) -> Result<Option<T>>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|value| {
                value
                    .parse()
                    .map_err(|error| anyhow!("invalid {name} \"{value}\": {error}"))
            })
            .transpose()
    }

    /// The value of `name` as a boolean: `true`/`1`/`yes` or `false`/`0`/`no`.
    pub fn flag(&self, name: &str) -> Result<Option<bool>> {
        self.get(name)
            .map(|value| match value.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(anyhow!(
                    "invalid {name} \"{value}\": expected true or false"
                )),
            })
            .transpose()
    }
}
