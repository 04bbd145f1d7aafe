//! Wall-clock timing of named steps, printed as a table, and appended to the file named by
//! `QUARRY_STEP_TIMES` when it is set (`.ci/run` puts the rows in its own table).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;

/// Where to append `name<TAB>seconds<TAB>outcome` lines for an outer script.
const STEP_TIMES_ENV: &str = "QUARRY_STEP_TIMES";

#[derive(Debug, Default)]
pub struct StepTimer {
    steps: Vec<(String, Duration, &'static str)>,
}

impl StepTimer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `body` as the step `name`, recording how long it took and whether it passed.
    pub fn step(
        &mut self,
        name: impl Into<String>,
        body: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let name = name.into();
        println!("\n==> {name}");
        let started = Instant::now();
        let result = body();
        let outcome = if result.is_ok() { "ok" } else { "FAILED" };
        self.steps.push((name, started.elapsed(), outcome));
        result
    }

    /// Prints the table of steps run so far, and appends them to `QUARRY_STEP_TIMES` if set.
    pub fn print_table(&self) {
        println!("\nstep timings:");
        for (name, took, outcome) in &self.steps {
            println!("  {name:<48} {:>8}  {outcome}", format_duration(*took));
        }
        if let Some(path) = std::env::var_os(STEP_TIMES_ENV) {
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut file| {
                    self.steps.iter().try_for_each(|(name, took, outcome)| {
                        writeln!(file, "{name}\t{}\t{outcome}", took.as_secs())
                    })
                });
            if let Err(e) = appended {
                eprintln!(
                    "cannot append step timings to {}: {e}",
                    path.to_string_lossy()
                );
            }
        }
    }
}

/// `12m 05s`, or `41s` under a minute.
fn format_duration(took: Duration) -> String {
    let secs = took.as_secs();
    if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}
