//! The runtime's error type: one variant per way a plugin call can fail, each naming the
//! catalog, the plugin and, where one was hit, the limit.

use std::fmt;
use std::time::Duration;

use crate::secret_scrubber::SecretScrubber;
use crate::socket_policy::SocketDenial;
use crate::types::ConnectorErrorKind;

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where an error happened: which catalog, running which plugin.
///
/// Displays as `catalog "t1": plugin "testkit@0.1.0"`; when there is no catalog yet (a plugin
/// being loaded), just the plugin part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    /// The catalog name, or empty while a plugin is loaded outside any catalog.
    pub catalog: String,
    /// `name@version`, or `sha256:<prefix>` before the plugin has told its name.
    pub plugin: String,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.catalog.is_empty() {
            write!(f, "plugin \"{}\"", self.plugin)
        } else {
            write!(
                f,
                "catalog \"{}\": plugin \"{}\"",
                self.catalog, self.plugin
            )
        }
    }
}

/// A byte count that displays in the unit an operator would write (`512 MiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: u64 = 1024;
        const MIB: u64 = 1024 * KIB;
        const GIB: u64 = 1024 * MIB;
        let n = self.0;
        if n >= GIB && n.is_multiple_of(GIB) {
            write!(f, "{} GiB", n / GIB)
        } else if n >= MIB && n.is_multiple_of(MIB) {
            write!(f, "{} MiB", n / MIB)
        } else if n >= KIB && n.is_multiple_of(KIB) {
            write!(f, "{} KiB", n / KIB)
        } else {
            write!(f, "{n} bytes")
        }
    }
}

/// Everything that can go wrong in the runtime.
///
/// A trap, a limit hit or invalid output is the plugin's fault and fails only the call that
/// caused it (and discards the instance); the host keeps serving every other catalog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a loadable component: a core module, garbage, or a component that
    /// does not export the connector contract.
    #[error("invalid component: {reason}")]
    InvalidComponent { reason: String },

    /// The component exports a contract version this host cannot serve.
    #[error(
        "unsupported contract version: the component exports quarry:connector/source@{found}; \
         this host accepts {accepted}"
    )]
    UnsupportedContract { found: String, accepted: String },

    /// A call ran past its deadline (an infinite loop, or work too slow for the limit).
    #[error("{at}: deadline of {limit:?} exceeded in `{call}`")]
    DeadlineExceeded {
        at: At,
        call: &'static str,
        limit: Duration,
    },

    /// The instance tried to grow its memory past the limit.
    #[error("{at}: memory limit {limit} exceeded in `{call}`")]
    MemoryLimit {
        at: At,
        call: &'static str,
        limit: ByteSize,
    },

    /// The wasm stack ran past its limit (runaway recursion).
    #[error("{at}: wasm stack limit {limit} exceeded in `{call}`")]
    StackOverflow {
        at: At,
        call: &'static str,
        limit: ByteSize,
    },

    /// The plugin trapped: a panic, `unreachable`, an out-of-bounds access. A bug in the plugin.
    #[error("{at}: trapped in `{call}` (a bug in the plugin): {message}")]
    Trap {
        at: At,
        call: &'static str,
        message: String,
    },

    /// The connector returned an error value.
    #[error("{at}: {kind}: {message}")]
    Connector {
        at: At,
        kind: ConnectorErrorKind,
        message: String,
    },

    /// The call failed after the plugin tried to reach the network in a way its catalog's
    /// `allowed_sockets` does not grant (the guest only saw an error code; this is what it
    /// was refused).
    #[error("{at}: {denial}")]
    SocketDenied { at: At, denial: SocketDenial },

    /// The plugin returned something the contract does not allow: invalid Arrow IPC, a batch
    /// whose schema differs from the declared one, a batch over the byte cap.
    #[error("{at}: invalid output from `{call}`: {reason}")]
    InvalidOutput {
        at: At,
        call: &'static str,
        reason: String,
    },

    /// The component could not be instantiated in this host (a missing import, or the pooling
    /// allocator is out of slots).
    #[error("{at}: cannot instantiate: {message}")]
    Instantiate { at: At, message: String },

    /// A catalog asked for a limit above the operator's maximum, or for a grant that cannot
    /// be honoured.
    #[error("catalog \"{catalog}\": {message}")]
    InvalidCatalog { catalog: String, message: String },

    /// The scan request does not fit the table (a projected column that does not exist).
    #[error("{at}: invalid scan request: {message}")]
    InvalidRequest { at: At, message: String },

    /// The catalog's instance slots are all in use and its wait queue is full, or a call waited
    /// for a slot longer than the runtime allows. Nothing ran; the caller may retry.
    #[error("{at}: busy: {message}")]
    Busy { at: At, message: String },

    /// The engine could not be configured.
    #[error("engine: {0}")]
    Engine(String),

    /// The on-disk artifact cache failed in a way that is not just a stale or corrupt file
    /// (those are recompiled silently).
    #[error("artifact cache {path}: {message}")]
    Cache { path: String, message: String },

    /// A bug in the host: a blocking task panicked or an invariant broke.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A short stable name for this kind of error, for metrics labels: `deadline`, `memory`,
    /// `stack` (the sandbox limits), `trap`, `connector`, `invalid_output`, and so on.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidComponent { .. } => "invalid_component",
            Error::UnsupportedContract { .. } => "unsupported_contract",
            Error::DeadlineExceeded { .. } => "deadline",
            Error::MemoryLimit { .. } => "memory",
            Error::StackOverflow { .. } => "stack",
            Error::Trap { .. } => "trap",
            Error::Connector { .. } => "connector",
            Error::SocketDenied { .. } => "socket_denied",
            Error::InvalidOutput { .. } => "invalid_output",
            Error::Instantiate { .. } => "instantiate",
            Error::InvalidCatalog { .. } => "invalid_catalog",
            Error::InvalidRequest { .. } => "invalid_request",
            Error::Busy { .. } => "busy",
            Error::Engine(_) => "engine",
            Error::Cache { .. } => "cache",
            Error::Internal(_) => "internal",
        }
    }

    /// True when the error is a sandbox limit: deadline, memory or stack.
    pub fn is_sandbox_limit(&self) -> bool {
        matches!(
            self,
            Error::DeadlineExceeded { .. }
                | Error::MemoryLimit { .. }
                | Error::StackOverflow { .. }
        )
    }

    /// The error with every secret of `scrubber` removed from the text a plugin could have
    /// put in it (trap messages quote its stderr; connector errors, instantiation errors and
    /// invalid-output reasons may echo its properties).
    pub fn scrubbed(self, scrubber: &SecretScrubber) -> Error {
        if scrubber.is_empty() {
            return self;
        }
        match self {
            Error::Trap { at, call, message } => Error::Trap {
                at,
                call,
                message: scrubber.scrub(&message),
            },
            Error::Connector { at, kind, message } => Error::Connector {
                at,
                kind,
                message: scrubber.scrub(&message),
            },
            Error::SocketDenied {
                at,
                denial: SocketDenial::NameLookup(name),
            } => Error::SocketDenied {
                at,
                denial: SocketDenial::NameLookup(scrubber.scrub(&name)),
            },
            Error::InvalidOutput { at, call, reason } => Error::InvalidOutput {
                at,
                call,
                reason: scrubber.scrub(&reason),
            },
            Error::Instantiate { at, message } => Error::Instantiate {
                at,
                message: scrubber.scrub(&message),
            },
            Error::InvalidRequest { at, message } => Error::InvalidRequest {
                at,
                message: scrubber.scrub(&message),
            },
            Error::InvalidCatalog { catalog, message } => Error::InvalidCatalog {
                catalog,
                message: scrubber.scrub(&message),
            },
            Error::Internal(message) => Error::Internal(scrubber.scrub(&message)),
            other => other,
        }
    }

    /// True when the error came from the plugin misbehaving (trap, limit, invalid output), so
    /// the instance it ran in must be discarded.
    pub fn poisons_instance(&self) -> bool {
        matches!(
            self,
            Error::DeadlineExceeded { .. }
                | Error::MemoryLimit { .. }
                | Error::StackOverflow { .. }
                | Error::Trap { .. }
                | Error::InvalidOutput { .. }
                | Error::Internal(_)
        )
    }
}
