//! One blocking connection to a PostgreSQL server: TCP (wasi:sockets inside the component), the
//! startup and authentication exchange (trust, cleartext, md5, SCRAM-SHA-256), text queries for
//! metadata and a binary portal read a chunk of rows at a time for scans.
//!
//! Messages are encoded and decoded by `postgres-protocol`; this module only drives them over a
//! `std::net::TcpStream`. Errors name the server and the reason and never the password: a
//! server's `ErrorResponse` becomes its message and SQLSTATE.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};

use bytes::{BufMut, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::IsNull;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{self, ChannelBinding, ScramSha256};
use postgres_protocol::message::backend::{DataRowBody, ErrorResponseBody, Message};
use postgres_protocol::message::frontend;
use quarry_sdk::{ConnectorError, ErrorKind, Result};

use crate::config::PgConfig;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 64 * 1024;

/// An open, authenticated connection, idle between calls.
pub struct Connection {
    stream: TcpStream,
    /// `host:port`, for messages.
    address: String,
    read_buf: BytesMut,
    write_buf: BytesMut,
    chunk: Vec<u8>,
    /// The server's major version (`server_version` 15.4 is 15).
    server_major: u32,
    /// Set once the stream is unusable; `Drop` then only closes the socket.
    broken: bool,
}

/// How a chunk of a portal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// The portal has more rows (`PortalSuspended`).
    More,
    /// The portal is exhausted; the connection is idle again.
    Done,
}

/// A server's `ErrorResponse` as text: its message and SQLSTATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: String,
    pub message: String,
}

impl ServerError {
    fn from_body(body: &ErrorResponseBody) -> ServerError {
        let mut error = ServerError {
            code: String::new(),
            message: String::new(),
        };
        let mut fields = body.fields();
        while let Ok(Some(field)) = fields.next() {
            match field.type_() {
                b'C' => error.code = String::from_utf8_lossy(field.value_bytes()).into_owned(),
                b'M' => error.message = String::from_utf8_lossy(field.value_bytes()).into_owned(),
                _ => {}
            }
        }
        error
    }

    /// The error kind a connector call reports for this SQLSTATE.
    pub fn kind(&self) -> ErrorKind {
        match self.code.as_str() {
            // undefined_table, undefined_column, undefined_object, invalid_schema_name
            "42P01" | "42703" | "42704" | "3F000" => ErrorKind::NotFound,
            // invalid_authorization_specification, invalid_password, invalid_catalog_name
            code if code.starts_with("28") || code == "3D000" => ErrorKind::InvalidConfig,
            _ => ErrorKind::Io,
        }
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.code)
    }
}

impl Connection {
    /// Connects to the configured server and logs in.
    pub fn open(config: &PgConfig) -> Result<Connection> {
        let address = config.address();
        let stream = connect_tcp(config, &address)?;
        let mut conn = Connection {
            stream,
            address,
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            write_buf: BytesMut::new(),
            chunk: vec![0; READ_CHUNK],
            server_major: 0,
            broken: false,
        };
        conn.startup(config)?;
        Ok(conn)
    }

    /// The server's major version.
    pub fn server_major(&self) -> u32 {
        self.server_major
    }

    /// An `io` error about this server.
    fn io_error(&self, what: &str, err: &io::Error) -> ConnectorError {
        ConnectorError::io(format!("postgres at {}: {what}: {err}", self.address))
    }

    fn server_error(&self, error: &ServerError) -> ConnectorError {
        ConnectorError::new(
            error.kind(),
            format!("postgres at {}: {error}", self.address),
        )
    }

    fn protocol_error(&mut self, what: &str) -> ConnectorError {
        self.broken = true;
        ConnectorError::io(format!(
            "postgres at {}: protocol error: {what}",
            self.address
        ))
    }

    /// Sends what is buffered.
    fn send(&mut self) -> Result<()> {
        let result = self.stream.write_all(&self.write_buf);
        self.write_buf.clear();
        result.map_err(|err| {
            self.broken = true;
            self.io_error("cannot send", &err)
        })
    }

    /// The next message that is not a notice or a parameter report.
    fn read(&mut self) -> Result<Message> {
        loop {
            let parsed = Message::parse(&mut self.read_buf);
            match parsed {
                Ok(Some(Message::NoticeResponse(_) | Message::NotificationResponse(_))) => {}
                Ok(Some(Message::ParameterStatus(body))) => {
                    if body.name().ok() == Some("server_version") {
                        let version = body.value().unwrap_or_default();
                        let major = version
                            .split(|c: char| !c.is_ascii_digit())
                            .next()
                            .and_then(|n| n.parse().ok());
                        self.server_major = major.unwrap_or(0);
                    }
                }
                Ok(Some(message)) => return Ok(message),
                Ok(None) => {
                    let read = self.stream.read(&mut self.chunk);
                    match read {
                        Ok(0) => {
                            self.broken = true;
                            return Err(ConnectorError::io(format!(
                                "postgres at {}: the server closed the connection",
                                self.address
                            )));
                        }
                        Ok(n) => self.read_buf.extend_from_slice(&self.chunk[..n]),
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(err) => {
                            self.broken = true;
                            return Err(self.io_error("cannot read", &err));
                        }
                    }
                }
                Err(err) => return Err(self.protocol_error(&err.to_string())),
            }
        }
    }

    /// Startup, authentication, and the server's parameters up to the first `ReadyForQuery`.
    fn startup(&mut self, config: &PgConfig) -> Result<()> {
        let params = [
            ("user", config.user.as_str()),
            ("database", config.database.as_str()),
            ("application_name", "quarry"),
            ("client_encoding", "UTF8"),
        ];
        frontend::startup_message(params, &mut self.write_buf)
            .map_err(|err| ConnectorError::invalid_config(format!("startup message: {err}")))?;
        self.send()?;
        let mut scram: Option<ScramSha256> = None;
        loop {
            match self.read()? {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    let password = self.password(config, "cleartext")?;
                    frontend::password_message(password.as_bytes(), &mut self.write_buf)
                        .map_err(|err| self.io_error("password message", &err))?;
                    self.send()?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let password = self.password(config, "md5")?;
                    let hash = md5_hash(config.user.as_bytes(), password.as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), &mut self.write_buf)
                        .map_err(|err| self.io_error("password message", &err))?;
                    self.send()?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut offered = Vec::new();
                    let mut mechanisms = body.mechanisms();
                    while let Ok(Some(mechanism)) = mechanisms.next() {
                        offered.push(mechanism.to_owned());
                    }
                    if !offered.iter().any(|m| m == sasl::SCRAM_SHA_256) {
                        return Err(ConnectorError::unsupported(format!(
                            "postgres at {}: the server offers SASL mechanisms {} and the \
                             connector speaks only SCRAM-SHA-256 (no TLS, so no channel binding)",
                            self.address,
                            offered.join(", ")
                        )));
                    }
                    let password = self.password(config, "SCRAM-SHA-256")?;
                    let client =
                        ScramSha256::new(password.as_bytes(), ChannelBinding::unsupported());
                    frontend::sasl_initial_response(
                        sasl::SCRAM_SHA_256,
                        client.message(),
                        &mut self.write_buf,
                    )
                    .map_err(|err| self.io_error("SASL message", &err))?;
                    self.send()?;
                    scram = Some(client);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let Some(client) = scram.as_mut() else {
                        return Err(self.protocol_error("SASL continue before SASL start"));
                    };
                    if let Err(err) = client.update(body.data()) {
                        self.broken = true;
                        return Err(ConnectorError::io(format!(
                            "postgres at {}: SCRAM-SHA-256 authentication failed: {err}",
                            self.address
                        )));
                    }
                    let message = client.message().to_vec();
                    frontend::sasl_response(&message, &mut self.write_buf)
                        .map_err(|err| self.io_error("SASL message", &err))?;
                    self.send()?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let verified = scram.take().map(|mut client| client.finish(body.data()));
                    match verified {
                        Some(Ok(())) => {}
                        Some(Err(err)) => {
                            self.broken = true;
                            return Err(ConnectorError::io(format!(
                                "postgres at {}: the server's SCRAM-SHA-256 signature does not \
                                 verify: {err}",
                                self.address
                            )));
                        }
                        None => return Err(self.protocol_error("SASL final before SASL start")),
                    }
                }
                Message::AuthenticationGss
                | Message::AuthenticationKerberosV5
                | Message::AuthenticationScmCredential
                | Message::AuthenticationSspi
                | Message::AuthenticationGssContinue(_) => {
                    self.broken = true;
                    return Err(ConnectorError::unsupported(format!(
                        "postgres at {}: the server asks for GSSAPI, Kerberos, SSPI or peer \
                         authentication; the connector supports trust, password, md5 and \
                         SCRAM-SHA-256",
                        self.address
                    )));
                }
                Message::BackendKeyData(_) => {}
                Message::ReadyForQuery(_) => return Ok(()),
                Message::ErrorResponse(body) => {
                    self.broken = true;
                    let error = ServerError::from_body(&body);
                    return Err(self.server_error(&error));
                }
                _ => return Err(self.protocol_error("unexpected message during startup")),
            }
        }
    }

    /// The configured password, or an error saying the server wants one.
    fn password(&mut self, config: &PgConfig, method: &str) -> Result<String> {
        config.password.clone().ok_or_else(|| {
            self.broken = true;
            ConnectorError::invalid_config(format!(
                "postgres at {}: the server asks user \"{}\" for a password ({method}) and the \
                 catalog has no \"password\" property",
                self.address, config.user
            ))
        })
    }

    /// Reads up to and including `ReadyForQuery`, after an error or at the end of a query.
    fn drain_to_ready(&mut self) -> Result<()> {
        loop {
            if let Message::ReadyForQuery(_) = self.read()? {
                return Ok(());
            }
        }
    }

    /// Runs one statement with text parameters (extended protocol) and returns every row as
    /// text. For metadata: results are small.
    pub fn query(&mut self, sql: &str, params: &[&str]) -> Result<Vec<Vec<Option<String>>>> {
        self.parse_and_bind(sql, params, 0)?;
        frontend::execute("", 0, &mut self.write_buf)
            .map_err(|err| self.io_error("execute message", &err))?;
        frontend::sync(&mut self.write_buf);
        self.send()?;
        let mut rows = Vec::new();
        let mut failure = None;
        loop {
            match self.read()? {
                Message::ParseComplete
                | Message::BindComplete
                | Message::CommandComplete(_)
                | Message::EmptyQueryResponse
                | Message::NoData => {}
                Message::DataRow(body) => {
                    if failure.is_none() {
                        match text_row(&body) {
                            Ok(row) => rows.push(row),
                            Err(reason) => failure = Some(self.protocol_error(&reason)),
                        }
                    }
                }
                Message::ErrorResponse(body) => {
                    let error = ServerError::from_body(&body);
                    failure = Some(self.server_error(&error));
                }
                Message::ReadyForQuery(_) => break,
                _ => return Err(self.protocol_error("unexpected message in a query")),
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(rows),
        }
    }

    /// Runs statements with the simple query protocol, discarding any rows (for setup, tests).
    pub fn execute(&mut self, sql: &str) -> Result<()> {
        frontend::query(sql, &mut self.write_buf)
            .map_err(|err| self.io_error("query message", &err))?;
        self.send()?;
        let mut failure = None;
        loop {
            match self.read()? {
                Message::ErrorResponse(body) => {
                    let error = ServerError::from_body(&body);
                    failure = Some(self.server_error(&error));
                }
                Message::ReadyForQuery(_) => break,
                _ => {}
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Parse and Bind into the unnamed statement and portal; `format` 0 is text, 1 binary for
    /// every result column.
    fn parse_and_bind(&mut self, sql: &str, params: &[&str], format: i16) -> Result<()> {
        frontend::parse("", sql, std::iter::empty(), &mut self.write_buf)
            .map_err(|err| self.io_error("parse message", &err))?;
        let bound = frontend::bind(
            "",
            "",
            [0i16],
            params.iter().copied(),
            |value: &str, buf: &mut BytesMut| {
                buf.put_slice(value.as_bytes());
                Ok(IsNull::No)
            },
            [format],
            &mut self.write_buf,
        );
        if bound.is_err() {
            return Err(ConnectorError::internal(format!(
                "postgres at {}: cannot encode the parameters of a query",
                self.address
            )));
        }
        Ok(())
    }

    /// Opens the unnamed portal for `sql` with binary results, in the implicit transaction
    /// that lasts until the portal is exhausted: no Sync is sent until then. Fails with the
    /// server's error (a dropped table, a missing column) before any row is read.
    pub fn open_portal(&mut self, sql: &str) -> Result<()> {
        self.parse_and_bind(sql, &[], 1)?;
        frontend::flush(&mut self.write_buf);
        self.send()?;
        for expected in ["parse", "bind"] {
            match self.read()? {
                Message::ParseComplete | Message::BindComplete => {}
                Message::ErrorResponse(body) => {
                    let error = ServerError::from_body(&body);
                    frontend::sync(&mut self.write_buf);
                    self.send()?;
                    self.drain_to_ready()?;
                    return Err(self.server_error(&error));
                }
                _ => {
                    return Err(self.protocol_error(&format!("expected the {expected} answer")));
                }
            }
        }
        Ok(())
    }

    /// Executes the open portal for at most `max_rows` rows, handing each row to `row`. At the
    /// end of the portal the transaction is closed (Sync) and the connection is idle again.
    /// A server error mid-stream (a cancelled query, a terminated backend) is returned as is.
    pub fn fetch(
        &mut self,
        max_rows: usize,
        mut row: impl FnMut(&DataRowBody) -> Result<()>,
    ) -> Result<Fetched> {
        let max_rows = i32::try_from(max_rows.max(1)).unwrap_or(i32::MAX);
        frontend::execute("", max_rows, &mut self.write_buf)
            .map_err(|err| self.io_error("execute message", &err))?;
        frontend::flush(&mut self.write_buf);
        self.send()?;
        loop {
            match self.read()? {
                Message::DataRow(body) => row(&body)?,
                Message::PortalSuspended => return Ok(Fetched::More),
                Message::CommandComplete(_) | Message::EmptyQueryResponse => {
                    frontend::sync(&mut self.write_buf);
                    self.send()?;
                    self.drain_to_ready()?;
                    return Ok(Fetched::Done);
                }
                Message::ErrorResponse(body) => {
                    let error = ServerError::from_body(&body);
                    // The server skips to the Sync; a terminated backend has closed already.
                    frontend::sync(&mut self.write_buf);
                    if self.send().is_ok() && self.drain_to_ready().is_err() {
                        self.broken = true;
                    }
                    return Err(self.server_error(&error));
                }
                _ => return Err(self.protocol_error("unexpected message in a scan")),
            }
        }
    }
}

impl Drop for Connection {
    /// Says goodbye (Terminate) unless the stream is broken, then closes the socket. A portal
    /// still open is discarded by the server with its transaction.
    fn drop(&mut self) {
        if !self.broken {
            self.write_buf.clear();
            frontend::terminate(&mut self.write_buf);
            let _ = self.stream.write_all(&self.write_buf);
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Resolves the host and connects to the first address that answers within the timeout.
fn connect_tcp(config: &PgConfig, address: &str) -> Result<TcpStream> {
    let addrs: Vec<SocketAddr> = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(|err| {
            ConnectorError::io(format!(
                "postgres at {address}: cannot resolve host \"{}\": {err}",
                config.host
            ))
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        // A platform without connect timeouts gets a plain connect.
        let connected = match TcpStream::connect_timeout(addr, config.connect_timeout) {
            Err(err) if err.kind() == io::ErrorKind::Unsupported => TcpStream::connect(addr),
            other => other,
        };
        match connected {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(err) => last = Some(err),
        }
    }
    let reason = match last {
        Some(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            format!("{err} (is the catalog granted the socket? allowed_sockets [\"{address}\"])")
        }
        Some(err) if err.kind() == io::ErrorKind::TimedOut => {
            format!("no answer within {} ms", config.connect_timeout.as_millis())
        }
        Some(err) => err.to_string(),
        None => format!("host \"{}\" has no address", config.host),
    };
    Err(ConnectorError::io(format!(
        "cannot connect to postgres at {address}: {reason}"
    )))
}

/// A `DataRow` of text-format values.
fn text_row(body: &DataRowBody) -> Result<Vec<Option<String>>, String> {
    let buffer = body.buffer();
    let mut values = Vec::new();
    let mut ranges = body.ranges();
    while let Some(range) = ranges.next().map_err(|err| err.to_string())? {
        values.push(match range {
            Some(range) => {
                let bytes = buffer
                    .get(range)
                    .ok_or_else(|| "a value past the end of its row".to_owned())?;
                let text = std::str::from_utf8(bytes)
                    .map_err(|err| format!("a value is not UTF-8: {err}"))?;
                Some(text.to_owned())
            }
            None => None,
        });
    }
    Ok(values)
}
