//! Resident memory of a process, read from `/proc` (Linux only): this process's own for
//! `quarry-bench runtime`, a worker's for `quarry-bench sync` and `load`.

use anyhow::Context;

/// VmRSS in bytes of `/proc/<proc_id>/status`; `proc_id` is a PID or `self`.
pub fn resident_bytes(proc_id: &str) -> anyhow::Result<u64> {
    kib_field(&format!("/proc/{proc_id}/status"), "VmRSS:")
}

/// Proportional set size in bytes (`Pss:` of `/proc/<proc_id>/smaps_rollup`): resident pages,
/// each divided by the number of mappings that share it. Unlike VmRSS, a copy-on-write memory
/// image mapped into many instances counts once.
pub fn proportional_bytes(proc_id: &str) -> anyhow::Result<u64> {
    kib_field(&format!("/proc/{proc_id}/smaps_rollup"), "Pss:")
}

/// The `NAME:   N kB` line of a `/proc` file, in bytes.
fn kib_field(path: &str, name: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let line = text
        .lines()
        .find(|l| l.starts_with(name))
        .with_context(|| format!("no {name} in {path}"))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .with_context(|| format!("malformed {name} in {path}"))?
        .parse()?;
    Ok(kib * 1024)
}
