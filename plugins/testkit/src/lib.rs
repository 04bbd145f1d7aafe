//! testkit: a connector that misbehaves on purpose, for the host runtime's sandbox tests.
//!
//! One component, one behaviour per catalog, chosen by the `behaviour` property:
//!
//! | behaviour | what it does |
//! | --- | --- |
//! | `normal` | serves `main.numbers(id int64, name utf8)` correctly (property `rows`, default 10000) |
//! | `loop-in-metadata` | `list-schemas` never returns |
//! | `loop-in-next` | `next` never returns |
//! | `memory-bomb` | `next` allocates until the memory limit stops it |
//! | `deep-recursion` | `next` recurses until the wasm stack limit stops it |
//! | `panic` | `next` panics |
//! | `unreachable` | `next` executes `unreachable` |
//! | `invalid-ipc` | `next` returns bytes that are not Arrow IPC |
//! | `wrong-schema` | `next` returns valid IPC with other columns than declared |
//! | `huge-batch` | `next` returns a valid batch of about `huge_bytes` bytes (default 96 MiB) |
//! | `escape` | serves `escape.attempts(attempt, succeeded, detail)`: what it managed to reach |
//! | `crafted-offsets` | `next` returns a batch whose metadata puts a buffer far past the body |
//! | `compressed-bomb` | `next` returns an LZ4-compressed batch that expands to 64 MiB |
//! | `many-schemas` | `list-schemas` answers a million names |
//! | `wide-table` | `main.numbers` is described with 200,000 columns |
//! | `long-name` | `list-schemas` answers a 100 MiB name |
//! | `clock-sleep` | sleeps `sleep_ms` (default ten minutes) through `wasi:clocks` in the call `stall_in` names (`list-schemas`, `plan-scan` (default) or `next`) |
//! | `blocking-read` | reads the first `read_paths` file (a FIFO nobody writes to) in the call `stall_in` names |
//! | `socket` | in `validate` (an issue if it fails) and in `list-schemas` (an `io` error if it fails), one use of `wasi:sockets` that `socket_action` names (a TCP connect to `connect_to`, a `lookup` of `lookup_name`, a `listen`, `udp`; see `socket.rs`) |
//! | `echo-secret` | `validate` repeats its secret `echo` property (as given, trimmed, escaped, hex) in an issue and a log line |
//!
//! The `escape` behaviour tries files (`/etc/passwd`, the comma-separated `read_paths`), lists
//! `/` and the `list_paths` (and tries to write a file into each of those), reads the environment, connects a TCP socket to `tcp_addr`
//! (default `127.0.0.1:80`) and sends an HTTP GET to `http_url` (default
//! `http://127.0.0.1:80/`), and reports one row per attempt.
//!
//! Built with wit-bindgen directly rather than the SDK, because it must be able to return raw
//! bad bytes. Only the wasm32 build does anything.

#[cfg(target_arch = "wasm32")]
mod escape;
#[cfg(target_arch = "wasm32")]
mod guest;
#[cfg(target_arch = "wasm32")]
mod socket;
