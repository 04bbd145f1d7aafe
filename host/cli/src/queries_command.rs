//! `quarry queries`: the statements the coordinator is running and the last ones to finish
//! (`GET /v1/queries`), and for a distributed query what each stage moved between processes.

use anyhow::{Context, Result};

use crate::api_client::ApiClient;
use crate::api_types::{QueryList, StageView};
use crate::output::{OutputFormat, Table, human_size, print_json, short_time};

/// `quarry queries [--limit N]`.
#[derive(Debug, clap::Args)]
pub struct QueriesArgs {
    /// Show the N most recent statements (the coordinator keeps the last 200)
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// Also show, under each distributed query, each stage: its tasks, who read its output
    /// (the next stage or the coordinator), the rows and bytes it sent and the workers it ran on
    #[arg(long)]
    pub stages: bool,
}

/// Lists the recent statements, newest first.
pub async fn run(args: QueriesArgs, client: &ApiClient, output: OutputFormat) -> Result<()> {
    let body = client.get("/v1/queries").await?;
    if output == OutputFormat::Json {
        print_json(&body);
        return Ok(());
    }
    let list: QueryList =
        serde_json::from_value(body).context("the query list is not what this quarry reads")?;
    if list.queries.is_empty() {
        println!("no statements yet");
        return Ok(());
    }
    let mut table = Table::new(&[
        "ID",
        "USER",
        "STATE",
        "STARTED",
        "ELAPSED",
        "ROWS",
        "MOVED",
        "STATEMENT",
    ]);
    for query in list.queries.into_iter().take(args.limit) {
        let moved: u64 = query.stages.iter().map(|stage| stage.bytes).sum();
        let statement = match &query.error {
            Some(error) => format!("{} -- {error}", query.statement),
            None => query.statement.clone(),
        };
        table.row(vec![
            query.id.to_string(),
            query.user,
            query.state,
            short_time(&query.started_at),
            format!("{} ms", query.elapsed_ms),
            query.rows.to_string(),
            if query.stages.is_empty() {
                "-".to_owned()
            } else {
                human_size(moved)
            },
            statement,
        ]);
        if args.stages {
            for stage in &query.stages {
                table.row(stage_row(stage));
            }
        }
    }
    table.print();
    Ok(())
}

/// A stage as an indented row under its query.
fn stage_row(stage: &StageView) -> Vec<String> {
    vec![
        String::new(),
        String::new(),
        format!("stage {}", stage.stage),
        format!("{} tasks", stage.tasks),
        format!("-> {}", stage.to),
        stage.rows.to_string(),
        human_size(stage.bytes),
        stage.workers.join(" "),
    ]
}
