//! `quarry plugin upload|list|show|rm`: plugins (uploaded connector components) over the API.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use serde_json::Value;

use crate::api_client::{ApiClient, segment};
use crate::api_types::{PluginList, PluginView};
use crate::output::{OutputFormat, Table, human_size, print_json, short_sha, short_time};

/// `quarry plugin …`.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Upload a connector component (.wasm). The coordinator checks it in the sandbox before
    /// storing it; uploading the same bytes again changes nothing.
    Upload {
        /// The component file, e.g. target/plugins/tpch.wasm
        file: PathBuf,
    },
    /// List every uploaded plugin version
    List,
    /// Show a plugin's versions, with their description and configuration properties
    Show {
        /// NAME, or NAME@VERSION for one version
        plugin: String,
    },
    /// Delete one plugin version (refused while a catalog uses it)
    Rm {
        /// NAME@VERSION
        plugin: String,
    },
}

/// Runs a `quarry plugin` command.
pub async fn run(command: PluginCommand, client: &ApiClient, output: OutputFormat) -> Result<()> {
    match command {
        PluginCommand::Upload { file } => {
            let (status, plugin, body) = upload(client, &file).await?;
            match output {
                OutputFormat::Json => print_json(&body),
                OutputFormat::Table => println!("{}", describe_upload(status, &plugin)),
            }
        }
        PluginCommand::List => {
            let body = client.get("/v1/plugins").await?;
            if output == OutputFormat::Json {
                print_json(&body);
                return Ok(());
            }
            let list = plugin_list(body)?;
            if list.is_empty() {
                println!("no plugins (upload one with `quarry plugin upload FILE`)");
                return Ok(());
            }
            let mut table =
                Table::new(&["NAME", "VERSION", "CONTRACT", "SIZE", "SHA256", "UPLOADED"]);
            for plugin in list {
                table.row(vec![
                    plugin.name.clone(),
                    plugin.version.clone(),
                    plugin.contract_version.clone(),
                    human_size(plugin.size),
                    short_sha(&plugin.sha256),
                    short_time(&plugin.uploaded_at),
                ]);
            }
            table.print();
        }
        PluginCommand::Show { plugin } => {
            let (name, version) = split_reference(&plugin);
            let body = match version {
                Some(version) => {
                    let path = format!("/v1/plugins/{}/{}", segment(name), segment(version));
                    client.get(&path).await?
                }
                None => {
                    client
                        .get(&format!("/v1/plugins/{}", segment(name)))
                        .await?
                }
            };
            if output == OutputFormat::Json {
                print_json(&body);
                return Ok(());
            }
            let plugins = if version.is_some() {
                vec![plugin_view(body)?]
            } else {
                plugin_list(body)?
            };
            if plugins.is_empty() {
                bail!("plugin \"{name}\" has no versions");
            }
            let details: Vec<String> = plugins.iter().map(describe_plugin).collect();
            print!("{}", details.join("\n"));
        }
        PluginCommand::Rm { plugin } => {
            let (name, Some(version)) = split_reference(&plugin) else {
                bail!("plugin \"{plugin}\": give the version to delete, as NAME@VERSION");
            };
            let path = format!("/v1/plugins/{}/{}", segment(name), segment(version));
            client.delete(&path).await?;
            if output == OutputFormat::Table {
                println!("deleted plugin {name}@{version}");
            }
        }
    }
    Ok(())
}

/// Uploads the component in `file`: the answer's status (201 new, 200 already there), the
/// plugin and the raw body.
pub async fn upload(client: &ApiClient, file: &Path) -> Result<(StatusCode, PluginView, Value)> {
    let bytes =
        std::fs::read(file).with_context(|| format!("cannot read plugin {}", file.display()))?;
    let (status, body) = client
        .upload_plugin(bytes)
        .await
        .with_context(|| format!("uploading {}", file.display()))?;
    let plugin = plugin_view(body.clone())?;
    Ok((status, plugin, body))
}

/// One line saying what an upload did.
pub fn describe_upload(status: StatusCode, plugin: &PluginView) -> String {
    let what = if status == StatusCode::CREATED {
        "uploaded"
    } else {
        "already uploaded, same bytes:"
    };
    format!(
        "{what} plugin {} (sha256 {}, {})",
        plugin.reference(),
        short_sha(&plugin.sha256),
        human_size(plugin.size)
    )
}

fn describe_plugin(plugin: &PluginView) -> String {
    let mut text = format!(
        "plugin:       {}\ndescription:  {}\ncontract:     {}\nsize:         {} ({} bytes)\n\
         sha256:       {}\nuploaded:     {}\n",
        plugin.reference(),
        plugin.description,
        plugin.contract_version,
        human_size(plugin.size),
        plugin.size,
        plugin.sha256,
        short_time(&plugin.uploaded_at),
    );
    if plugin.config.is_empty() {
        text.push_str("properties:   none\n");
    } else {
        text.push_str("properties:\n");
        let mut table = Table::new(&["  NAME", "REQUIRED", "SECRET", "DEFAULT", "DOC"]);
        for field in &plugin.config {
            table.row(vec![
                format!("  {}", field.name),
                yes_no(field.required),
                yes_no(field.secret),
                field
                    .default_value
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
                field.doc.clone(),
            ]);
        }
        text.push_str(&table.render());
    }
    text
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

fn plugin_view(body: Value) -> Result<PluginView> {
    serde_json::from_value(body).context("the plugin is not what this quarry reads")
}

fn plugin_list(body: Value) -> Result<Vec<PluginView>> {
    let list: PluginList =
        serde_json::from_value(body).context("the plugin list is not what this quarry reads")?;
    Ok(list.plugins)
}

/// Splits `name@version` (or a bare `name`).
pub fn split_reference(reference: &str) -> (&str, Option<&str>) {
    match reference.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (reference, None),
    }
}

/// `name@version` for a reference that may leave the version out: then the highest uploaded
/// version of `name`.
pub async fn resolve_reference(client: &ApiClient, reference: &str) -> Result<String> {
    let (name, version) = split_reference(reference);
    if let Some(version) = version {
        return Ok(format!("{name}@{version}"));
    }
    let body = client
        .get(&format!("/v1/plugins/{}", segment(name)))
        .await
        .with_context(|| format!("looking up the versions of plugin \"{name}\""))?;
    let newest = plugin_list(body)?
        .into_iter()
        .max_by(|a, b| compare_versions(&a.version, &b.version));
    match newest {
        Some(plugin) => Ok(plugin.reference()),
        None => bail!("plugin \"{name}\" has no uploaded version"),
    }
}

/// Orders semver-like versions: numeric parts numerically, a release after its pre-releases.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn key(version: &str) -> (Vec<u64>, bool) {
        let core = version.split('+').next().unwrap_or(version);
        let (numbers, pre) = match core.split_once('-') {
            Some((numbers, _)) => (numbers, true),
            None => (core, false),
        };
        let parts = numbers
            .split('.')
            .map(|part| part.parse().unwrap_or(0))
            .collect();
        (parts, !pre)
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_like_semver() {
        assert_eq!(compare_versions("0.10.0", "0.9.1"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.2.3", "1.2.3"), Ordering::Equal);
    }

    #[test]
    fn references_split_at_the_at_sign() {
        assert_eq!(split_reference("tpch@0.1.0"), ("tpch", Some("0.1.0")));
        assert_eq!(split_reference("tpch"), ("tpch", None));
    }
}
