//! `quarry catalog create|alter|rm|list|show`: catalogs (named instances of a plugin, with
//! properties and sandbox grants) over the API; `--wait` follows the rollout to every worker.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::api_client::{ApiClient, segment};
use crate::api_types::{CatalogList, CatalogView, PluginView};
use crate::catalog_wait::{ProgressSink, wait_ready};
use crate::duration_value::DurationValue;
use crate::output::{OutputFormat, Table, print_json, short_time};
use crate::plugin_command::{resolve_reference, split_reference};

/// `quarry catalog …`.
#[derive(Debug, clap::Subcommand)]
pub enum CatalogCommand {
    /// Create a catalog: a named instance of a plugin. The plugin validates the properties
    /// before anything is stored; then every worker loads it.
    Create(CreateArgs),
    /// Change a catalog: set or unset properties, switch the plugin version, change grants.
    /// The catalog gets a new generation, rolled out like a create.
    Alter(AlterArgs),
    /// Delete a catalog everywhere (running queries finish on what they hold)
    Rm {
        /// The catalog's name
        name: String,
    },
    /// List the catalogs with their status (pending, ready, failed)
    List,
    /// Show a catalog: definition, status, and each worker's state and error
    Show {
        /// The catalog's name
        name: String,
    },
}

/// `quarry catalog create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The catalog's name: lowercase letters, digits and `_`, starting with a letter or `_`
    pub name: String,

    /// The plugin, NAME@VERSION; a bare NAME takes its highest uploaded version
    #[arg(long, value_name = "NAME[@VERSION]")]
    pub plugin: String,

    #[command(flatten)]
    pub definition: DefinitionArgs,

    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `quarry catalog alter`.
#[derive(Debug, clap::Args)]
pub struct AlterArgs {
    /// The catalog's name
    pub name: String,

    /// Switch to another plugin version, NAME@VERSION [default: keep the current one]
    #[arg(long, value_name = "NAME[@VERSION]")]
    pub plugin: Option<String>,

    /// Remove a property (repeatable)
    #[arg(long = "unset", value_name = "KEY")]
    pub unset: Vec<String>,

    /// Take back a read-only directory grant (repeatable)
    #[arg(long = "revoke-path", value_name = "DIR")]
    pub revoke_paths: Vec<PathBuf>,

    /// Take back an outbound HTTP grant (repeatable)
    #[arg(long = "revoke-host", value_name = "URL")]
    pub revoke_hosts: Vec<String>,

    /// Take back a TCP socket grant, HOST:PORT as granted (repeatable)
    #[arg(long = "revoke-socket", value_name = "HOST:PORT")]
    pub revoke_sockets: Vec<String>,

    #[command(flatten)]
    pub definition: DefinitionArgs,

    #[command(flatten)]
    pub wait: WaitArgs,
}

// Properties and grants, as create sets them and alter adds them.
// (Not a doc comment: clap would make it the help text of the command this is flattened into.)
#[derive(Debug, clap::Args)]
pub struct DefinitionArgs {
    /// A property, KEY=VALUE (repeatable); a value may hold `${ENV:NAME}`, resolved on each
    /// host that runs the plugin
    #[arg(long = "property", short = 'p', value_name = "KEY=VALUE", value_parser = parse_property)]
    pub properties: Vec<(String, String)>,

    /// Let the plugin read this directory, read-only (repeatable; made absolute)
    #[arg(long = "grant-path", value_name = "DIR")]
    pub grant_paths: Vec<PathBuf>,

    /// Let the plugin call this origin over HTTP, scheme://host[:port] (repeatable)
    #[arg(long = "grant-host", value_name = "URL")]
    pub grant_hosts: Vec<String>,

    /// Let the plugin open TCP connections to this endpoint, HOST:PORT with HOST a DNS name, an
    /// IPv4 address or [IPv6] (repeatable); the host resolves the name, the plugin cannot
    #[arg(long = "grant-socket", value_name = "HOST:PORT")]
    pub grant_sockets: Vec<String>,
}

// `--wait` and its timeout.
// (Not a doc comment: clap would make it the help text of the command this is flattened into.)
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Wait until every worker has loaded the catalog (exit 0) or one failed (exit 1), showing
    /// each worker's progress
    #[arg(long)]
    pub wait: bool,

    /// How long --wait waits
    #[arg(long, value_name = "DURATION", default_value = "120s")]
    pub timeout: DurationValue,
}

fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("\"{text}\" is not KEY=VALUE")),
    }
}

/// Runs a `quarry catalog` command.
pub async fn run(command: CatalogCommand, client: &ApiClient, output: OutputFormat) -> Result<()> {
    match command {
        CatalogCommand::Create(args) => create(args, client, output).await,
        CatalogCommand::Alter(args) => alter(args, client, output).await,
        CatalogCommand::Rm { name } => {
            client
                .delete(&format!("/v1/catalogs/{}", segment(&name)))
                .await?;
            if output == OutputFormat::Table {
                println!("deleted catalog {name}");
            }
            Ok(())
        }
        CatalogCommand::List => list(client, output).await,
        CatalogCommand::Show { name } => {
            let body = client
                .get(&format!("/v1/catalogs/{}", segment(&name)))
                .await?;
            match output {
                OutputFormat::Json => print_json(&body),
                OutputFormat::Table => print!("{}", describe_catalog(&catalog_view(body)?)),
            }
            Ok(())
        }
    }
}

async fn create(args: CreateArgs, client: &ApiClient, output: OutputFormat) -> Result<()> {
    let plugin = resolve_reference(client, &args.plugin).await?;
    let properties: BTreeMap<String, String> = args.definition.properties.into_iter().collect();
    let body = json!({
        "name": args.name,
        "plugin": plugin,
        "properties": properties,
        "grants": {
            "allowed_paths": absolute_paths(&args.definition.grant_paths)?,
            "allowed_hosts": args.definition.grant_hosts,
            "allowed_sockets": args.definition.grant_sockets,
        },
    });
    let (_, created) = client.post_json("/v1/catalogs", &body).await?;
    let catalog = catalog_view(created.clone())?;
    if output == OutputFormat::Table {
        println!(
            "created catalog {} ({}, generation {})",
            catalog.name, catalog.plugin, catalog.generation
        );
    }
    finish(client, catalog, created, &args.wait, output).await
}

async fn alter(args: AlterArgs, client: &ApiClient, output: OutputFormat) -> Result<()> {
    let path = format!("/v1/catalogs/{}", segment(&args.name));
    let current = catalog_view(client.get(&path).await?)?;
    let plugin = match &args.plugin {
        Some(reference) => resolve_reference(client, reference).await?,
        None => current.plugin.clone(),
    };

    let mut properties = current.properties.clone();
    for key in &args.unset {
        if properties.remove(key).is_none() {
            bail!(
                "catalog \"{}\" has no property \"{key}\" to unset",
                args.name
            );
        }
    }
    let given: BTreeMap<String, String> = args.definition.properties.into_iter().collect();
    // Secret values read back as "***": sending that back would overwrite the secret.
    let secrets = secret_fields(client, &current.plugin).await?;
    let unreadable: Vec<&String> = properties
        .keys()
        .filter(|key| secrets.contains(key) && !given.contains_key(*key))
        .collect();
    if !unreadable.is_empty() {
        let names: Vec<String> = unreadable.iter().map(|k| format!("\"{k}\"")).collect();
        bail!(
            "catalog \"{}\": secret propert{} {} cannot be read back; give {} again with \
             --property KEY=VALUE (or --unset KEY)",
            args.name,
            if names.len() == 1 { "y" } else { "ies" },
            names.join(", "),
            if names.len() == 1 { "it" } else { "them" },
        );
    }
    properties.extend(given);

    let revoked_paths = absolute_paths(&args.revoke_paths)?;
    let mut allowed_paths: Vec<String> = current
        .grants
        .allowed_paths
        .into_iter()
        .filter(|path| !revoked_paths.contains(path))
        .collect();
    for path in absolute_paths(&args.definition.grant_paths)? {
        if !allowed_paths.contains(&path) {
            allowed_paths.push(path);
        }
    }
    let mut allowed_hosts: Vec<String> = current
        .grants
        .allowed_hosts
        .into_iter()
        .filter(|host| !args.revoke_hosts.contains(host))
        .collect();
    for host in args.definition.grant_hosts {
        if !allowed_hosts.contains(&host) {
            allowed_hosts.push(host);
        }
    }

    let mut allowed_sockets: Vec<String> = current
        .grants
        .allowed_sockets
        .into_iter()
        .filter(|socket| !args.revoke_sockets.contains(socket))
        .collect();
    for socket in args.definition.grant_sockets {
        if !allowed_sockets.contains(&socket) {
            allowed_sockets.push(socket);
        }
    }

    let body = json!({
        "plugin": plugin,
        "properties": properties,
        "grants": {
            "allowed_paths": allowed_paths,
            "allowed_hosts": allowed_hosts,
            "allowed_sockets": allowed_sockets,
        },
        "expected_generation": current.generation,
    });
    let altered = client.put_json(&path, &body).await?;
    let catalog = catalog_view(altered.clone())?;
    if output == OutputFormat::Table {
        println!(
            "altered catalog {} ({}, generation {})",
            catalog.name, catalog.plugin, catalog.generation
        );
    }
    finish(client, catalog, altered, &args.wait, output).await
}

/// After a create or an alter: waits if asked, and prints what the caller wants to see.
async fn finish(
    client: &ApiClient,
    catalog: CatalogView,
    body: Value,
    wait: &WaitArgs,
    output: OutputFormat,
) -> Result<()> {
    if !wait.wait {
        match output {
            OutputFormat::Json => print_json(&body),
            OutputFormat::Table => println!(
                "status: {} (follow the rollout with `quarry catalog show {}`, or use --wait)",
                catalog.status, catalog.name
            ),
        }
        return Ok(());
    }
    let sink = match output {
        OutputFormat::Table => ProgressSink::Stdout,
        OutputFormat::Json => ProgressSink::Stderr,
    };
    let (_, body) = wait_ready(
        client,
        &catalog.name,
        catalog.generation,
        wait.timeout.0,
        sink,
        "",
    )
    .await?;
    if output == OutputFormat::Json {
        print_json(&body);
    }
    Ok(())
}

async fn list(client: &ApiClient, output: OutputFormat) -> Result<()> {
    let body = client.get("/v1/catalogs").await?;
    if output == OutputFormat::Json {
        print_json(&body);
        return Ok(());
    }
    let list: CatalogList =
        serde_json::from_value(body).context("the catalog list is not what this quarry reads")?;
    if list.catalogs.is_empty() {
        println!("no catalogs (create one with `quarry catalog create NAME --plugin PLUGIN`)");
        return Ok(());
    }
    let mut table = Table::new(&[
        "NAME",
        "PLUGIN",
        "GENERATION",
        "STATUS",
        "LOADED",
        "UPDATED",
    ]);
    for catalog in list.catalogs {
        let loaded = catalog
            .workers
            .iter()
            .filter(|w| w.state == "loaded")
            .count();
        table.row(vec![
            catalog.name,
            catalog.plugin,
            catalog.generation.to_string(),
            catalog.status,
            format!("{loaded}/{}", catalog.workers.len()),
            short_time(&catalog.updated_at),
        ]);
    }
    table.print();
    Ok(())
}

/// A catalog as `key: value` lines and a table of workers.
pub fn describe_catalog(catalog: &CatalogView) -> String {
    let mut text = format!(
        "catalog:     {}\nplugin:      {}\ngeneration:  {}\nstatus:      {}\n",
        catalog.name, catalog.plugin, catalog.generation, catalog.status
    );
    if catalog.properties.is_empty() {
        text.push_str("properties:  none\n");
    } else {
        text.push_str("properties:\n");
        for (key, value) in &catalog.properties {
            let _ = writeln!(text, "  {key} = {value}");
        }
    }
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    let _ = writeln!(text, "paths:       {}", list(&catalog.grants.allowed_paths));
    let _ = writeln!(text, "hosts:       {}", list(&catalog.grants.allowed_hosts));
    let _ = writeln!(
        text,
        "sockets:     {}",
        list(&catalog.grants.allowed_sockets)
    );
    let _ = writeln!(
        text,
        "created:     {}\nupdated:     {}",
        short_time(&catalog.created_at),
        short_time(&catalog.updated_at)
    );
    if catalog.workers.is_empty() {
        text.push_str("workers:     none live\n");
    } else {
        text.push_str("workers:\n");
        let mut table = Table::new(&["  WORKER", "STATE", "GENERATION", "ERROR"]);
        for worker in &catalog.workers {
            table.row(vec![
                format!("  {}", worker.worker),
                worker.state.clone(),
                worker
                    .generation
                    .map_or_else(|| "-".to_owned(), |g| g.to_string()),
                worker.error.clone().unwrap_or_default(),
            ]);
        }
        text.push_str(&table.render());
    }
    for error in &catalog.errors {
        let _ = writeln!(text, "error: worker {}: {}", error.worker, error.error);
    }
    text
}

fn catalog_view(body: Value) -> Result<CatalogView> {
    serde_json::from_value(body).context("the catalog is not what this quarry reads")
}

/// The names of the properties `plugin` (`name@version`) declares secret.
async fn secret_fields(client: &ApiClient, plugin: &str) -> Result<Vec<String>> {
    let (name, version) = split_reference(plugin);
    let version = version.ok_or_else(|| anyhow!("plugin reference \"{plugin}\" has no version"))?;
    let body = client
        .get(&format!(
            "/v1/plugins/{}/{}",
            segment(name),
            segment(version)
        ))
        .await?;
    let plugin: PluginView =
        serde_json::from_value(body).context("the plugin is not what this quarry reads")?;
    Ok(plugin
        .config
        .into_iter()
        .filter(|field| field.secret)
        .map(|field| field.name)
        .collect())
}

/// Grant paths as the API wants them: absolute, resolved against the current directory.
fn absolute_paths(paths: &[PathBuf]) -> Result<Vec<String>> {
    paths
        .iter()
        .map(|path| {
            let absolute = std::path::absolute(path)
                .with_context(|| format!("cannot make {} absolute", path.display()))?;
            absolute
                .to_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("path {} is not valid UTF-8", absolute.display()))
        })
        .collect()
}
