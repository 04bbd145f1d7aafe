//! The machine's `psql` against a coordinator's PostgreSQL port, logged in as a given user.

use std::process::Command;

use crate::common::cluster::ADMIN_TOKEN;

/// `psql` to 127.0.0.1:`port` as `user` with `password` (none: `-w`, never prompt), unaligned
/// and tuples only, stopping at the first error.
pub fn psql_command(port: u16, user: &str, password: Option<&str>) -> Command {
    let mut command = Command::new("psql");
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", user, "-d", "quarry", "-X", "-A", "-t", "-w"])
        .args(["-v", "ON_ERROR_STOP=1"])
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD");
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

/// Runs `sql` as `user`; stdout, or stdout and stderr when psql fails.
pub fn psql_as(port: u16, user: &str, password: Option<&str>, sql: &str) -> Result<String, String> {
    let output = psql_command(port, user, password)
        .args(["-c", sql])
        .output()
        .expect("the psql binary (PostgreSQL's client) must be installed for this test");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs `sql` as the built-in `admin` user (the admin token is its password).
pub fn psql(port: u16, sql: &str) -> Result<String, String> {
    psql_as(port, "admin", Some(ADMIN_TOKEN), sql)
}
