//! Memory of a process from `/proc/<pid>/status`: resident set (`VmRSS`)
//! and its peak (`VmHWM`).

use anyhow::Context;
use serde_json::{json, Value};

use crate::stats::round1;

/// Resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl Memory {
    /// The memory of process `pid`, or of this process for `None`.
    pub fn of(pid: Option<u32>) -> anyhow::Result<Memory> {
        let path = match pid {
            Some(pid) => format!("/proc/{pid}/status"),
            None => "/proc/self/status".to_string(),
        };
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .with_context(|| format!("no {name} in {path}"))?;
            let kib = line.trim().trim_end_matches("kB").trim();
            kib.parse()
                .with_context(|| format!("{name} {line:?} in {path}"))
        };
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }

    /// `{"rss_mb", "peak_mb"}` (MiB).
    pub fn json(&self) -> Value {
        json!({
            "rss_mb": round1(self.rss_kib as f64 / 1024.0),
            "peak_mb": round1(self.peak_kib as f64 / 1024.0),
        })
    }
}

/// The memory of the server `pid` as JSON, or null without a pid (or when
/// it cannot be read: the figure is left out rather than the benchmark).
pub fn server_json(pid: Option<u32>) -> Value {
    match pid.map(|p| Memory::of(Some(p))) {
        Some(Ok(m)) => m.json(),
        Some(Err(e)) => {
            eprintln!("server memory: {e:#}");
            Value::Null
        }
        None => Value::Null,
    }
}
