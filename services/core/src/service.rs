//! The loop every service runs: one iteration, then sleep for the configured
//! interval (or until woken), with systemd readiness and watchdog notifications,
//! a memory limit (exit code 3) and a clean exit on SIGTERM/SIGINT. Unlike the
//! original (`koschei/backend/service.py`), a failed iteration does not kill the
//! process: it is logged and retried with exponential back-off, so Koji or
//! database outages are ridden out.

use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

use koschei_koji::backoff::BackoffPolicy;

use crate::config::{Config, ServiceConfig};

/// Exit code when the memory limit is exceeded.
pub const EXIT_MEMORY_LIMIT: i32 = 3;

/// Sets up logging to stderr (without timestamps under systemd, whose
/// journal adds them). `RUST_LOG` overrides the default `info` level.
pub fn init_logging() {
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if under_systemd {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// Sends a notification (`READY=1`, `WATCHDOG=1`, `STATUS=…`) to systemd
/// when running under it (`NOTIFY_SOCKET`); does nothing otherwise.
pub fn sd_notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let result = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| socket.send_to_addr(state.as_bytes(), &addr))
    } else {
        socket.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = result {
        tracing::debug!("sd_notify({state}): {e}");
    }
}

/// Feeds systemd's watchdog from inside a long iteration, at most every 5 s: call it
/// where work makes progress, so that a service stuck on something unbounded stops
/// feeding it and is restarted (`WatchdogSec` in its unit).
pub fn heartbeat() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if now >= LAST.load(Ordering::Relaxed) + 5 {
        LAST.store(now, Ordering::Relaxed);
        sd_notify("WATCHDOG=1");
    }
}

/// Resident and virtual memory of this process in KiB (`/proc/self/statm`).
pub fn memory_kib() -> Option<(u64, u64)> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut fields = statm.split_whitespace().map(|f| f.parse::<u64>().ok());
    let virt = fields.next()??;
    let rss = fields.next()??;
    Some((rss * 4, virt * 4))
}

/// Whether the configured memory limits are exceeded.
fn over_memory_limit(settings: &ServiceConfig) -> Option<String> {
    let (rss, virt) = memory_kib()?;
    match (settings.memory_limit, settings.virtual_memory_limit) {
        (Some(limit), _) if rss > limit => {
            Some(format!("resident memory {rss} KiB exceeds {limit} KiB"))
        }
        (_, Some(limit)) if virt > limit => {
            Some(format!("virtual memory {virt} KiB exceeds {limit} KiB"))
        }
        _ => None,
    }
}

/// How a service loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum LoopEnd {
    /// SIGTERM or SIGINT.
    Signal,
    /// The memory limit was exceeded; exit with [`EXIT_MEMORY_LIMIT`].
    MemoryLimit,
}

/// The pause after a failed iteration (or the interval, if longer): 2 s doubling to 64 s.
const FAILURE_BACKOFF: BackoffPolicy =
    BackoffPolicy::capped(Duration::from_secs(2), Duration::from_secs(64));

/// The work of a service, which [`run_loop`] runs one iteration at a time. Closures
/// returning a future are services too.
pub trait Service {
    /// One iteration; an error is logged and the iteration retried after a back-off.
    fn iteration(&mut self) -> impl Future<Output = anyhow::Result<()>>;
}

impl<F, Fut> Service for F
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    fn iteration(&mut self) -> impl Future<Output = anyhow::Result<()>> {
        self()
    }
}

/// Runs `service` forever: sleep `services.<name>.interval` seconds
/// between iterations, or less when `wake` is notified.
pub async fn run_loop(
    name: &str,
    config: &Config,
    wake: Option<&Notify>,
    service: &mut impl Service,
) -> LoopEnd {
    let settings = config.service(name);
    let interval = Duration::from_secs_f64(settings.interval.unwrap_or(3.0).max(0.0));
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let never = Notify::new();
    let wake = wake.unwrap_or(&never);
    let mut failures: u32 = 0;
    let mut backoff = FAILURE_BACKOFF.start();
    sd_notify("READY=1");
    tracing::info!("{name} started (interval {interval:?})");
    loop {
        sd_notify("WATCHDOG=1");
        let pause = tokio::select! {
            result = service.iteration() => match result {
                Ok(()) => {
                    failures = 0;
                    backoff.reset();
                    interval
                }
                Err(e) => {
                    failures += 1;
                    let backoff = backoff.next_delay();
                    tracing::error!("{name} iteration failed (attempt {failures}, retrying in {backoff:?}): {e:#}");
                    sd_notify(&format!("STATUS=failing: {e}"));
                    backoff.max(interval)
                }
            },
            _ = term.recv() => return LoopEnd::Signal,
            _ = int.recv() => return LoopEnd::Signal,
        };
        if let Some(reason) = over_memory_limit(&settings) {
            tracing::error!("{name}: {reason}; exiting");
            return LoopEnd::MemoryLimit;
        }
        sd_notify("WATCHDOG=1");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = wake.notified() => {}
            _ = term.recv() => return LoopEnd::Signal,
            _ = int.recv() => return LoopEnd::Signal,
        }
    }
}

/// Exits the process as the loop's end requires.
pub fn exit(end: LoopEnd) -> ! {
    match end {
        LoopEnd::Signal => {
            tracing::info!("stopping on signal");
            std::process::exit(0)
        }
        LoopEnd::MemoryLimit => std::process::exit(EXIT_MEMORY_LIMIT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_readable() {
        let (rss, virt) = memory_kib().unwrap();
        assert!(rss > 0 && virt >= rss);
        let limited = ServiceConfig {
            memory_limit: Some(1),
            ..ServiceConfig::default()
        };
        assert!(over_memory_limit(&limited)
            .unwrap()
            .contains("resident memory"));
        assert_eq!(over_memory_limit(&ServiceConfig::default()), None);
    }

    /// Service "t" without pause whose memory limit ends the loop after one iteration.
    fn one_iteration_config() -> Config {
        let mut config = Config::default();
        config.services.insert(
            "t".into(),
            ServiceConfig {
                interval: Some(0.0),
                memory_limit: Some(1),
                ..ServiceConfig::default()
            },
        );
        config
    }

    #[tokio::test]
    async fn a_failed_iteration_does_not_crash_the_loop() {
        let config = one_iteration_config();
        let mut calls = 0;
        // The memory limit ends the loop after the first iteration, even a failed one.
        let end = run_loop("t", &config, None, &mut || {
            calls += 1;
            async { Err(anyhow::anyhow!("Koji is down")) }
        })
        .await;
        assert_eq!(end, LoopEnd::MemoryLimit);
        assert_eq!(calls, 1);
    }

    /// A service keeping state between iterations, borrowed mutably by the loop.
    struct Counter(u32);

    impl Service for Counter {
        async fn iteration(&mut self) -> anyhow::Result<()> {
            self.0 += 1;
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_service_keeps_its_state_between_iterations() {
        let config = one_iteration_config();
        let mut counter = Counter(41);
        assert_eq!(
            run_loop("t", &config, None, &mut counter).await,
            LoopEnd::MemoryLimit
        );
        assert_eq!(counter.0, 42);
    }

    #[test]
    fn failures_back_off_from_2_to_64_seconds() {
        let secs: Vec<u64> = FAILURE_BACKOFF
            .start()
            .take(8)
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 64, 64]);
    }
}
