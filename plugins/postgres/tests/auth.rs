//! Password logins against a real PostgreSQL of the test's own: the shared server on
//! 127.0.0.1:5432 trusts every local connection, so this test runs a private server (initdb
//! into a temporary directory, `postgres` on a free port) whose pg_hba asks for SCRAM-SHA-256,
//! md5 or a cleartext password, and logs in through the connector each way.
//!
//! Needs the PostgreSQL server binaries (`pg_config --bindir`, or `initdb` and `postgres` on
//! the PATH). Run as root, the server runs as the `postgres` OS user.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postgres::{PostgresCatalog, PostgresConnector};
use quarry_sdk::{Catalog, Connector, ErrorKind, Properties};

const ADMIN_PASSWORD: &str = "admin-Pa55word";

/// A PostgreSQL server of this test's own, stopped and deleted on drop.
struct PrivateServer {
    dir: PathBuf,
    port: u16,
    bindir: PathBuf,
    owner: Option<(u32, u32)>,
    child: Child,
}

/// Output of a command, or `None` when it cannot run.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn bindir() -> PathBuf {
    if let Some(dir) = output("pg_config", &["--bindir"])
        && Path::new(&dir).join("initdb").exists()
    {
        return PathBuf::from(dir);
    }
    let found = output("sh", &["-c", "command -v initdb"]).unwrap_or_else(|| {
        panic!("PostgreSQL server binaries are needed (pg_config --bindir, or initdb on PATH)")
    });
    Path::new(&found).parent().unwrap().to_path_buf()
}

impl PrivateServer {
    fn start() -> PrivateServer {
        let bindir = bindir();
        // initdb refuses to run as root: then the server runs as the postgres OS user.
        let owner = (output("id", &["-u"]).as_deref() == Some("0")).then(|| {
            let uid = output("id", &["-u", "postgres"]).expect("an OS user named postgres");
            let gid = output("id", &["-g", "postgres"]).unwrap();
            (uid.parse().unwrap(), gid.parse().unwrap())
        });
        let dir = std::env::temp_dir().join(format!(
            "quarry-pg-auth-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, ADMIN_PASSWORD).unwrap();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
        }
        let data = dir.join("data");
        let status = as_owner(Command::new(bindir.join("initdb")), owner)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=scram-sha-256", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        std::fs::write(
            data.join("pg_hba.conf"),
            "host all md5user 127.0.0.1/32 md5\n\
             host all plainuser 127.0.0.1/32 password\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = as_owner(Command::new(bindir.join("postgres")), owner)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .args(["-c", &format!("unix_socket_directories={}", dir.display())])
            .args(["-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = PrivateServer {
            dir,
            port,
            bindir,
            owner,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn props(&self, user: &str, password: Option<&str>) -> Properties {
        let props = Properties::new()
            .with("host", "127.0.0.1")
            .with("port", &self.port.to_string())
            .with("database", "postgres")
            .with("user", user);
        match password {
            Some(password) => props.with("password", password),
            None => props,
        }
    }

    fn catalog(&self, user: &str, password: &str) -> PostgresCatalog {
        PostgresConnector::open(self.props(user, Some(password))).unwrap()
    }
}

fn as_owner(mut command: Command, owner: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
    command
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = as_owner(Command::new(self.bindir.join("pg_ctl")), self.owner)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn scram_md5_and_cleartext_logins_work_and_a_wrong_password_says_so() {
    let server = PrivateServer::start();

    // SCRAM-SHA-256: the bootstrap superuser, whose password initdb stored as a SCRAM secret.
    let admin = server.catalog("postgres", ADMIN_PASSWORD);
    let mut conn = admin.connect().unwrap();
    conn.execute(
        "SET password_encryption = 'md5';
         CREATE ROLE md5user LOGIN PASSWORD 'md5-Pa55';
         SET password_encryption = 'scram-sha-256';
         CREATE ROLE plainuser LOGIN PASSWORD 'plain-Pa55';
         CREATE TABLE public.t AS SELECT 42 AS answer;
         GRANT SELECT ON public.t TO md5user, plainuser;",
    )
    .unwrap();
    let rows = conn
        .query(
            "SELECT rolpassword LIKE 'md5%' FROM pg_authid WHERE rolname = 'md5user'",
            &[],
        )
        .unwrap();
    assert_eq!(rows, [[Some("t".to_owned())]], "md5user has an md5 secret");
    assert!(
        PostgresConnector::validate(&server.props("postgres", Some(ADMIN_PASSWORD))).is_empty()
    );

    // md5 and cleartext ("password" in pg_hba) logins read a table.
    for (user, password) in [("md5user", "md5-Pa55"), ("plainuser", "plain-Pa55")] {
        let catalog = server.catalog(user, password);
        assert_eq!(
            catalog.list_tables("public").unwrap(),
            ["t"],
            "{user} logs in"
        );
    }

    // A wrong password fails validate with the server's reason, never the password.
    for user in ["postgres", "md5user", "plainuser"] {
        let issues = PostgresConnector::validate(&server.props(user, Some("Wrong-Pa55")));
        assert_eq!(issues.len(), 1, "{issues:?}");
        let message = &issues[0].message;
        assert!(
            message.contains(&format!(
                "password authentication failed for user \"{user}\""
            )) && message.contains("28P01"),
            "{message}"
        );
        assert!(!message.contains("Wrong-Pa55"), "{message}");
        let err = server
            .catalog(user, "Wrong-Pa55")
            .list_schemas()
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidConfig);
    }

    // No password at all: the connector says the server wants one.
    let issues = PostgresConnector::validate(&server.props("postgres", None));
    assert!(
        issues[0]
            .message
            .contains("asks user \"postgres\" for a password (SCRAM-SHA-256)")
            && issues[0].message.contains("no \"password\" property"),
        "{issues:?}"
    );
}
