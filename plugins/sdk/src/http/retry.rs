//! When to retry an answer and how long to wait first: `429` and `5xx` are retried with
//! exponential backoff (250 ms, doubling, at most 10 s), or after the server's `Retry-After`
//! in seconds (at most 30 s).

use std::time::Duration;

/// The wait before the first retry.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest backoff between two retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Whether an answer with this status is worth another try: `429 too many requests` and
/// every `5xx`.
pub fn is_retryable(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// The backoff before retry number `retry + 1` (from 0): 250 ms, 500 ms, 1 s, ... at most 10 s.
pub fn backoff(retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// A `Retry-After` value in seconds; `None` for anything else (an HTTP date falls back to the
/// backoff).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The wait before retry number `retry + 1`: the server's `Retry-After` (capped at 30 s) when
/// it sent one, the backoff otherwise.
pub fn delay(retry: u32, retry_after: Option<Duration>) -> Duration {
    retry_after.map_or_else(|| backoff(retry), |d| d.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<u128> = (0..8).map(|r| backoff(r).as_millis()).collect();
        assert_eq!(
            waits,
            vec![250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]
        );
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_is_seconds_and_capped() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(delay(0, Some(Duration::from_secs(120))), MAX_RETRY_AFTER);
        assert_eq!(delay(2, None), Duration::from_secs(1));
        assert_eq!(delay(2, Some(Duration::ZERO)), Duration::ZERO);
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        assert!(is_retryable(429) && is_retryable(500) && is_retryable(503));
        assert!(!is_retryable(404) && !is_retryable(200) && !is_retryable(301));
    }
}
