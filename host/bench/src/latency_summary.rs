//! Percentiles of a set of measured durations (nearest-rank), and how `quarry-bench` prints
//! durations.

use std::time::Duration;

/// p50, p99 and max of a non-empty set of samples.
#[derive(Clone, Copy, Debug)]
pub struct LatencySummary {
    pub samples: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl LatencySummary {
    /// Summarises `samples`; `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<LatencySummary> {
        let mut sorted = samples.to_vec();
        sorted.sort();
        Some(LatencySummary {
            samples: sorted.len(),
            p50: percentile(&sorted, 50)?,
            p99: percentile(&sorted, 99)?,
            max: *sorted.last()?,
        })
    }
}

/// Nearest-rank percentile of sorted samples: the smallest sample at or above `pct` % of them.
fn percentile(sorted: &[Duration], pct: usize) -> Option<Duration> {
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// `12.3 ms` (or `1.23 s` from ten seconds up).
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 10.0 {
        format!("{secs:.2} s")
    } else {
        format!("{:.1} ms", secs * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = LatencySummary::of(&samples).unwrap();
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));

        let one = LatencySummary::of(&[Duration::from_millis(7)]).unwrap();
        assert_eq!((one.p50, one.p99, one.max), (one.max, one.max, one.max));
        assert!(LatencySummary::of(&[]).is_none());
    }
}
