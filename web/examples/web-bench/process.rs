//! Resource usage of a process from `/proc/<pid>/status` and `/stat`:
//! resident set (`VmRSS`), its peak (`VmHWM`) and CPU time (user + system,
//! all threads).

use anyhow::Context;
use serde_json::{json, Value};

use crate::stats::round1;

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

/// Memory and CPU time of a process.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub rss_kib: u64,
    pub peak_kib: u64,
    /// Clock ticks of CPU time.
    pub cpu_ticks: u64,
}

impl Usage {
    /// The usage of process `pid`, or of this process for `None`.
    pub fn of(pid: Option<u32>) -> anyhow::Result<Usage> {
        let dir = match pid {
            Some(pid) => format!("/proc/{pid}"),
            None => "/proc/self".to_string(),
        };
        let status = std::fs::read_to_string(format!("{dir}/status"))
            .with_context(|| format!("reading {dir}/status"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .with_context(|| format!("no {name} in {dir}/status"))?;
            let kib = line.trim().trim_end_matches("kB").trim();
            kib.parse()
                .with_context(|| format!("{name} {line:?} in {dir}/status"))
        };
        let stat = std::fs::read_to_string(format!("{dir}/stat"))
            .with_context(|| format!("reading {dir}/stat"))?;
        // Fields after the command name (which may hold spaces): state,
        // ppid, …; utime and stime are the 12th and 13th.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ticks: Vec<u64> = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|t| t.parse().unwrap_or(0))
            .collect();
        Ok(Usage {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
            cpu_ticks: ticks.iter().sum(),
        })
    }

    /// `{"rss_mb", "peak_mb", "cpu_s"}` (MiB; CPU seconds since `since`,
    /// or since the process started).
    pub fn json(&self, since: Option<&Usage>) -> Value {
        let ticks = self.cpu_ticks - since.map_or(0, |s| s.cpu_ticks.min(self.cpu_ticks));
        json!({
            "rss_mb": round1(self.rss_kib as f64 / 1024.0),
            "peak_mb": round1(self.peak_kib as f64 / 1024.0),
            "cpu_s": round1(ticks as f64 / TICKS_PER_S),
        })
    }
}

/// The usage of the server `pid`, or none without a pid or when it cannot
/// be read (the figure is left out rather than the benchmark).
pub fn server(pid: Option<u32>) -> Option<Usage> {
    match pid.map(|p| Usage::of(Some(p))) {
        Some(Ok(u)) => Some(u),
        Some(Err(e)) => {
            eprintln!("server usage: {e:#}");
            None
        }
        None => None,
    }
}

/// [`Usage::json`] of an optional usage (null without one).
pub fn json(usage: Option<Usage>, since: Option<Usage>) -> Value {
    usage.map_or(Value::Null, |u| u.json(since.as_ref()))
}
