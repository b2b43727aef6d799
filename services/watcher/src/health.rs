//! Liveness of the watcher's loops and the systemd watchdog: each loop
//! beats at least every [`BEAT_INTERVAL`] in every state (consuming,
//! waiting, reconnecting); the watchdog is fed only while every enabled loop
//! beat recently, so a wedged loop gets the service restarted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use koschei_core::config::ServiceConfig;
use koschei_core::service::{memory_kib, sd_notify, EXIT_MEMORY_LIMIT};
use koschei_koji::backoff::Backoff;
use tokio::sync::watch;

use crate::broker::RECONNECT_BACKOFF;

/// How often a healthy loop beats.
pub const BEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A loop silent for longer than this is considered stuck.
pub const STALE_AFTER: Duration = Duration::from_secs(90);

/// The last beat of one loop, in milliseconds since the process started.
#[derive(Debug)]
pub struct Beat {
    start: Instant,
    last_ms: AtomicU64,
}

impl Beat {
    pub fn new() -> Arc<Beat> {
        Arc::new(Beat {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        })
    }

    /// Records that the loop is alive.
    pub fn beat(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Time since the last beat.
    pub fn silence(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// The watchdog interval systemd asked for (`WATCHDOG_USEC`), if any.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    Some(Duration::from_micros(usec))
}

/// Which of `services.watcher.memory_limit` / `virtual_memory_limit` (KiB)
/// is exceeded, if any.
pub fn memory_exceeded(limits: &ServiceConfig) -> Option<String> {
    let (rss, virt) = memory_kib()?;
    match (limits.memory_limit, limits.virtual_memory_limit) {
        (Some(limit), _) if rss > limit => Some(format!("resident memory {rss} KiB > {limit} KiB")),
        (_, Some(limit)) if virt > limit => {
            Some(format!("virtual memory {virt} KiB > {limit} KiB"))
        }
        _ => None,
    }
}

/// Feeds the systemd watchdog (`WATCHDOG=1`) at half its interval while all
/// `beats` are fresh, and exits with code 3 when the memory limit of
/// `limits` is exceeded (as the original's `koschei/backend/service.py`); runs
/// forever.
pub async fn feed_watchdog(beats: Vec<(&'static str, Arc<Beat>)>, limits: ServiceConfig) {
    let period = watchdog_interval()
        .map(|d| d / 2)
        .unwrap_or(BEAT_INTERVAL)
        .max(Duration::from_millis(100));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        if let Some(reason) = memory_exceeded(&limits) {
            tracing::error!("{reason}; exiting");
            std::process::exit(EXIT_MEMORY_LIMIT);
        }
        match beats.iter().find(|(_, b)| b.silence() > STALE_AFTER) {
            None => sd_notify("WATCHDOG=1"),
            Some((name, b)) => {
                tracing::error!(
                    "the {name} loop has been silent for {:?}; not feeding the watchdog",
                    b.silence()
                );
            }
        }
    }
}

/// A loop over broker sessions: one connection's life, ended by shutdown (`Ok`) or by
/// a failure (`Err`) after which [`run_reconnecting`] connects again.
pub(crate) trait Reconnecting {
    /// Why a session ended.
    type End: std::fmt::Display;
    /// Names the loop in logs.
    const NAME: &'static str;
    /// The loop's liveness beat.
    fn beat(&self) -> &Beat;
    /// One session; `backoff` is reset by the session once connected.
    async fn session(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Result<(), Self::End>;
}

/// Runs sessions until `shutdown` turns true, reconnecting with back-off.
pub(crate) async fn run_reconnecting<L: Reconnecting>(
    sessions: &L,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = RECONNECT_BACKOFF.start();
    loop {
        sessions.beat().beat();
        match sessions.session(&mut shutdown, &mut backoff).await {
            Ok(()) => return,
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!("{}: {e}; reconnecting in {delay:?}", L::NAME);
                if wait_or_shutdown(delay, &mut shutdown, sessions.beat()).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps `delay` (beating) unless shutdown comes first; returns whether
/// shutdown was requested.
async fn wait_or_shutdown(
    delay: Duration,
    shutdown: &mut watch::Receiver<bool>,
    beat: &Beat,
) -> bool {
    let until = tokio::time::Instant::now() + delay;
    loop {
        beat.beat();
        let step = until
            .saturating_duration_since(tokio::time::Instant::now())
            .min(BEAT_INTERVAL);
        if step.is_zero() {
            return *shutdown.borrow();
        }
        tokio::select! {
            _ = tokio::time::sleep(step) => {}
            _ = shutdown.changed() => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_measured_from_the_last_beat() {
        let b = Beat::new();
        std::thread::sleep(Duration::from_millis(20));
        assert!(b.silence() >= Duration::from_millis(20));
        b.beat();
        assert!(b.silence() < Duration::from_millis(20));
    }

    #[test]
    fn memory_limits() {
        let tiny = ServiceConfig {
            memory_limit: Some(1),
            ..ServiceConfig::default()
        };
        assert!(memory_exceeded(&tiny).unwrap().contains("resident"));
        assert_eq!(memory_exceeded(&ServiceConfig::default()), None);
    }
}
