//! Resident memory (VmRSS) of a process, read from `/proc/<pid>/status` (Linux only): this
//! process's own for `quarry-bench runtime`, a worker's for `quarry-bench sync`.

use anyhow::Context;

/// VmRSS in bytes of `/proc/<proc_id>/status`; `proc_id` is a PID or `self`.
pub fn resident_bytes(proc_id: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{proc_id}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .with_context(|| format!("no VmRSS in {path}"))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .with_context(|| format!("malformed VmRSS in {path}"))?
        .parse()?;
    Ok(kib * 1024)
}
