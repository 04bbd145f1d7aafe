//! End-to-end: the `quarry` command driven as a user would drive it. `quarry dev` brings a
//! whole cluster up (coordinator, two workers, the tpch plugin and catalog), the admin commands
//! list plugins and create, show, alter and delete catalogs against it, errors come back as the
//! API's messages with a non-zero exit, and a second `quarry dev` on the same data directory
//! finds everything in place.

use std::path::Path;

use crate::common::cli_helpers::{DevCluster, Outcome, plugins_dir, quarry};
use serde_json::Value;

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[test]
fn dev_cluster_driven_from_the_cli() {
    let plugins = plugins_dir();
    let data = tempfile::tempdir().unwrap();
    let dev = DevCluster::start(data.path(), &plugins);
    let url = dev.url.clone();
    let started = dev.output();
    for expected in [
        "quarry dev: uploaded plugin tpch@",
        "quarry dev: created catalog tpch (tpch@",
        "quarry dev: worker w1: loaded (generation 1)",
        "quarry dev: worker w2: loaded (generation 1)",
        "quarry dev: catalog tpch: ready on 2 workers (generation 1)",
        format!("curl -sS {url}/v1/catalogs").as_str(),
        "psql -h 127.0.0.1 -p ",
        format!("quarry --url {url} sql").as_str(),
    ] {
        assert!(started.contains(expected), "no {expected:?} in:\n{started}");
    }

    // The cluster secret is generated once, private to its owner.
    let secret_path = data.path().join("cluster-secret");
    let secret = std::fs::read_to_string(&secret_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&secret_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // quarry plugin list / show / upload (the same bytes again change nothing)
    let plugins_table = quarry(&["--url", &url, "plugin", "list"]);
    let table = plugins_table.ok();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("tpch ")), "{table}");
    let listed = json(quarry(&["--url", &url, "--output", "json", "plugin", "list"]).ok());
    let tpch_version = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "tpch")
        .unwrap()["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let tpch = format!("tpch@{tpch_version}");
    let shown = quarry(&["--url", &url, "plugin", "show", &tpch]);
    assert!(shown.ok().contains("split_rows"), "{shown}");
    let tpch_file = plugins.join("tpch.wasm");
    let again = quarry(&[
        "--url",
        &url,
        "plugin",
        "upload",
        tpch_file.to_str().unwrap(),
    ]);
    assert!(
        again.ok().contains("already uploaded, same bytes"),
        "{again}"
    );

    // quarry catalog create --wait: one line per worker change, then ready
    let created = quarry(&[
        "--url",
        &url,
        "catalog",
        "create",
        "sales",
        "--plugin",
        "tpch",
        "--property",
        "splits=2",
        "--grant-socket",
        "localhost:5432",
        "--wait",
    ]);
    let out = created.ok();
    for expected in [
        format!("created catalog sales ({tpch}, generation 1)").as_str(),
        "worker w1: loaded (generation 1)",
        "worker w2: loaded (generation 1)",
        "catalog sales: ready on 2 workers (generation 1)",
    ] {
        assert!(out.contains(expected), "no {expected:?} in:\n{created}");
    }

    // quarry catalog show, as a table and as JSON
    let shown = quarry(&["--url", &url, "catalog", "show", "sales"]);
    let out = shown.ok();
    assert!(out.contains("status:      ready"), "{shown}");
    assert!(out.contains("splits = 2"), "{shown}");
    assert!(out.contains("sockets:     localhost:5432\n"), "{shown}");
    let shown = json(
        quarry(&[
            "--url", &url, "--output", "json", "catalog", "show", "sales",
        ])
        .ok(),
    );
    assert_eq!(shown["status"], "ready");
    assert_eq!(shown["generation"], 1);
    assert_eq!(shown["workers"].as_array().unwrap().len(), 2);

    // quarry catalog alter --wait: a new generation, everywhere
    let altered = quarry(&[
        "--url",
        &url,
        "catalog",
        "alter",
        "sales",
        "--property",
        "splits=3",
        "--revoke-socket",
        "localhost:5432",
        "--grant-socket",
        "127.0.0.1:5433",
        "--wait",
    ]);
    let out = altered.ok();
    assert!(out.contains("altered catalog sales"), "{altered}");
    assert!(
        out.contains("catalog sales: ready on 2 workers (generation 2)"),
        "{altered}"
    );
    let shown = json(
        quarry(&[
            "--url", &url, "--output", "json", "catalog", "show", "sales",
        ])
        .ok(),
    );
    assert_eq!(
        shown["grants"]["allowed_sockets"],
        serde_json::json!(["127.0.0.1:5433"])
    );

    // quarry sql: a table, CSV, JSON, several statements, and a clear error
    let answered = quarry(&[
        "--url",
        &url,
        "sql",
        "SELECT r_regionkey, r_name FROM sales.tiny.region ORDER BY 1 LIMIT 2",
    ]);
    assert_eq!(
        answered.ok(),
        "r_regionkey  r_name\n0            AFRICA\n1            AMERICA\n(2 rows)\n",
        "{answered}"
    );
    let csv = quarry(&[
        "--url",
        &url,
        "sql",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM sales.tiny.nation; SHOW SCHEMAS FROM sales",
    ]);
    let out = csv.ok();
    assert!(out.starts_with("n\n25\n"), "{csv}");
    assert!(out.contains("Schema\n"), "{csv}");
    assert!(out.contains("tiny\n"), "{csv}");
    let as_json = json(
        quarry(&[
            "--url",
            &url,
            "--output",
            "json",
            "sql",
            "SELECT count(*) AS n FROM tpch.tiny.orders",
        ])
        .ok(),
    );
    assert_eq!(as_json["rows"], serde_json::json!([[15000]]));
    let bad = quarry(&["--url", &url, "sql", "SELECT * FROM sales.tiny.nope"]);
    let err = bad.failed();
    assert!(err.contains("nope"), "{bad}");
    assert!(err.contains("HTTP 400"), "{bad}");

    // quarry queries: the statements above, newest first, and what the count's stages moved
    // (the figures come once the workers have reported their tasks' metrics).
    let mut tries = 0;
    let listed = loop {
        let listed = quarry(&["--url", &url, "queries", "--stages", "--limit", "3"]);
        let out = listed.ok().to_owned();
        tries += 1;
        if out.contains("-> coordinator") || tries == 50 {
            break listed;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let out = listed.ok();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ID "), "{listed}");
    assert!(
        lines[1].contains("failed") && lines[1].contains("SELECT * FROM sales.tiny.nope"),
        "{listed}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("succeeded") && l.contains("FROM tpch.tiny.orders")),
        "{listed}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("-> coordinator") && l.contains("http://127.0.0.1:")),
        "{listed}"
    );

    // quarry catalog list / quarry worker list
    let catalogs = quarry(&["--url", &url, "catalog", "list"]);
    let out = catalogs.ok();
    assert!(
        out.lines()
            .any(|l| l.starts_with("sales ") && l.contains("ready")),
        "{catalogs}"
    );
    assert!(out.lines().any(|l| l.starts_with("tpch ")), "{catalogs}");
    let workers = quarry(&["--url", &url, "worker", "list"]);
    let out = workers.ok();
    for id in ["w1 ", "w2 "] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(id) && l.contains("alive")),
            "{workers}"
        );
    }

    // API errors: the API's message, a non-zero exit
    let invalid = quarry(&[
        "--url",
        &url,
        "catalog",
        "create",
        "bad",
        "--plugin",
        &tpch,
        "--property",
        "colour=red",
    ]);
    let err = invalid.failed();
    assert!(err.contains("colour"), "{invalid}");
    assert!(err.contains("HTTP 400"), "{invalid}");
    let in_use = quarry(&["--url", &url, "plugin", "rm", &tpch]);
    assert!(in_use.failed().contains("HTTP 409"), "{in_use}");

    // quarry catalog rm
    let removed = quarry(&["--url", &url, "catalog", "rm", "sales"]);
    assert!(removed.ok().contains("deleted catalog sales"), "{removed}");
    let gone = quarry(&["--url", &url, "catalog", "show", "sales"]);
    let err = gone.failed();
    assert!(err.contains("HTTP 404"), "{gone}");

    // Ctrl-C / SIGTERM: the children stop, then quarry dev exits cleanly.
    let (status, output) = dev.stop();
    assert!(
        status.success(),
        "quarry dev exited with {status}:\n{output}"
    );
    for expected in [
        "quarry dev: w1 stopped",
        "quarry dev: w2 stopped",
        "quarry dev: coordinator stopped",
    ] {
        assert!(output.contains(expected), "no {expected:?} in:\n{output}");
    }

    // A second start on the same data directory finds everything in place.
    let dev = DevCluster::start(data.path(), &plugins);
    let restarted = dev.output();
    for expected in [
        "quarry dev: already uploaded, same bytes: plugin tpch@",
        "quarry dev: catalog tpch exists (generation 1): kept",
        "quarry dev: cluster ready",
    ] {
        assert!(
            restarted.contains(expected),
            "no {expected:?} in:\n{restarted}"
        );
    }
    assert_eq!(std::fs::read_to_string(&secret_path).unwrap(), secret);
    let url = dev.url.clone();
    let catalogs = quarry(&["--url", &url, "catalog", "list"]);
    assert!(!catalogs.ok().contains("sales"), "{catalogs}");
    let (status, output) = dev.stop();
    assert!(
        status.success(),
        "quarry dev exited with {status}:\n{output}"
    );
}

/// `quarry dev` on `data` with the plugins in `plugins`, on free ports, with `extra` flags, for
/// the cases where it must refuse to start.
fn dev_refusal(data: &Path, plugins: &Path, extra: &[&str]) -> Outcome {
    let (data, plugins) = (data.to_str().unwrap(), plugins.to_str().unwrap());
    let mut args = vec!["dev", "--data-dir", data, "--plugins-dir", plugins];
    args.extend(["--http", "127.0.0.1:0"]);
    args.extend(extra);
    quarry(&args)
}

#[test]
fn dev_without_the_tpch_plugin_says_how_to_build_it() {
    let empty = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let outcome = dev_refusal(data.path(), empty.path(), &[]);
    let err = outcome.failed();
    assert!(err.contains("cargo xtask build-plugins"), "{outcome}");
    assert!(err.contains("tpch.wasm"), "{outcome}");
}

#[test]
fn dev_refuses_sandbox_limits_out_of_range_before_starting() {
    let data = tempfile::tempdir().unwrap();
    let outcome = dev_refusal(data.path(), &plugins_dir(), &["--sandbox-memory", "8GiB"]);
    let err = outcome.failed();
    assert!(err.contains("memory"), "{outcome}");
    assert!(err.contains("8GiB"), "{outcome}");
    // Nothing was started: no database in the data directory.
    assert!(!data.path().join("quarry.db").exists(), "{outcome}");
}

#[test]
fn an_unreachable_coordinator_is_a_clear_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let outcome = quarry(&["--url", &url, "catalog", "list"]);
    let err = outcome.failed();
    assert!(
        err.contains(&format!("cannot reach the coordinator at {url}")),
        "{outcome}"
    );
}

#[test]
fn help_explains_every_command_and_flag() {
    let top = quarry(&["--help"]);
    let out = top.ok();
    for command in [
        "dev",
        "coordinator",
        "worker",
        "plugin",
        "catalog",
        "queries",
        "--url",
        "--token",
        "--output",
        "--log-format",
    ] {
        assert!(out.contains(command), "no {command:?} in:\n{top}");
    }
    let queries = quarry(&["queries", "--help"]);
    let out = queries.ok();
    for flag in ["--limit", "--stages"] {
        assert!(out.contains(flag), "no {flag:?} in:\n{queries}");
    }
    let create = quarry(&["catalog", "create", "--help"]);
    let out = create.ok();
    for flag in [
        "--plugin",
        "--property",
        "--grant-path",
        "--grant-host",
        "--grant-socket",
        "--wait",
        "--timeout",
    ] {
        assert!(out.contains(flag), "no {flag:?} in:\n{create}");
    }
    let coordinator = quarry(&["coordinator", "--help"]);
    let out = coordinator.ok();
    for flag in [
        "--http",
        "--database",
        "--data-dir",
        "--config",
        "--dev",
        "--sync-interval",
        "--heartbeat-timeout",
    ] {
        assert!(out.contains(flag), "no {flag:?} in:\n{coordinator}");
    }
    let worker = quarry(&["worker", "--help"]);
    let out = worker.ok();
    for flag in [
        "--coordinator",
        "--http",
        "--advertise",
        "--cache-dir",
        "--id",
        "--config",
        "list",
    ] {
        assert!(out.contains(flag), "no {flag:?} in:\n{worker}");
    }
}

#[test]
fn a_coordinator_without_tokens_outside_dev_mode_refuses_to_start() {
    let data = tempfile::tempdir().unwrap();
    let outcome = quarry(&[
        "coordinator",
        "--http",
        "127.0.0.1:0",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    let err = outcome.failed();
    assert!(err.contains("no admin token"), "{outcome}");
}

#[test]
fn a_config_file_with_an_unknown_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("quarry.toml");
    std::fs::write(&file, "[coordinator]\nhttp_adress = \"127.0.0.1:0\"\n").unwrap();
    let outcome = quarry(&["coordinator", "--config", file.to_str().unwrap()]);
    let err = outcome.failed();
    assert!(err.contains("http_adress"), "{outcome}");
    assert!(err.contains("quarry.toml"), "{outcome}");
}
