//! Reading one sample out of a Prometheus text exposition (`/metrics`), e.g.
//! `quarry_worker_catalogs{state="loaded"} 10000`.

/// The value of the sample whose name and labels are exactly `series` (as written in the text,
/// e.g. `quarry_worker_catalogs{state="loaded"}`), if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let rest = line.strip_prefix(series)?;
            // The series must end here: `foo 1` matches `foo`, `foo_total 1` does not.
            if !rest.starts_with([' ', '\t']) {
                return None;
            }
            rest.split_whitespace().next()?.parse().ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_series() {
        let text = "# HELP quarry_worker_catalogs Catalogs held.\n\
                    quarry_worker_catalogs{state=\"loaded\"} 10000\n\
                    quarry_worker_catalogs{state=\"failed\"} 2\n\
                    quarry_plugin_compiles_total 1\n";
        assert_eq!(
            sample(text, "quarry_worker_catalogs{state=\"loaded\"}"),
            Some(10000.0)
        );
        assert_eq!(
            sample(text, "quarry_worker_catalogs{state=\"failed\"}"),
            Some(2.0)
        );
        assert_eq!(sample(text, "quarry_plugin_compiles_total"), Some(1.0));
        assert_eq!(sample(text, "quarry_plugin_compiles"), None);
    }
}
