//! Whole-repository passes on all cores: one [`Sack`] (libsolv pool) per worker thread,
//! each loaded from the same `.solv` file, work claimed in small chunks from a shared
//! atomic counter (no lock), results streamed to the caller through a bounded channel so
//! that memory stays bounded however large the repository.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::DepsolveError;
use crate::sack::{Sack, SolvFile};

/// Tuning of a parallel pass.
#[derive(Debug, Clone)]
pub struct ParallelOptions {
    /// Worker threads (0 = number of available cores).
    pub threads: usize,
    /// Capacity of the result channel (Koschei's `resolver_queue_size`, 300).
    pub queue_size: usize,
    /// Jobs claimed at once by a worker.
    pub chunk: usize,
}

impl Default for ParallelOptions {
    fn default() -> Self {
        ParallelOptions {
            threads: 0,
            queue_size: 300,
            chunk: 8,
        }
    }
}

impl ParallelOptions {
    /// The effective number of threads.
    pub fn thread_count(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// Timing of a parallel pass.
#[derive(Debug, Clone, Default)]
pub struct ParallelStats {
    /// Threads used.
    pub threads: usize,
    /// Slowest per-thread load of its sack from the `.solv` file.
    pub load: Duration,
    /// Wall time of the whole pass, loads included.
    pub wall: Duration,
}

/// Run `work` on every job, on `options.threads` threads, each with its own [`Sack`] loaded
/// from `solv`, and hand each `(job index, result)` to `sink` on the calling thread (in
/// completion order) as soon as it is ready. `work` must not keep state between jobs other
/// than through the sack.
pub fn run_parallel<J, R, F, S>(
    solv: &SolvFile,
    jobs: &[J],
    options: &ParallelOptions,
    work: F,
    mut sink: S,
) -> Result<ParallelStats, DepsolveError>
where
    J: Sync,
    R: Send,
    F: Fn(&mut Sack, usize, &J) -> R + Sync,
    S: FnMut(usize, R),
{
    let started = Instant::now();
    let threads = options.thread_count().max(1).min(jobs.len().max(1));
    let chunk = options.chunk.max(1);
    let next = AtomicUsize::new(0);
    let (tx, rx) =
        mpsc::sync_channel::<Result<(usize, R), DepsolveError>>(options.queue_size.max(1));
    let mut load = Duration::ZERO;
    let mut failure: Option<DepsolveError> = None;
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            handles.push(scope.spawn(move || -> Duration {
                let t0 = Instant::now();
                let mut sack = match solv.load() {
                    Ok(sack) => sack,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return t0.elapsed();
                    }
                };
                let loaded = t0.elapsed();
                loop {
                    let begin = next.fetch_add(chunk, Ordering::Relaxed);
                    if begin >= jobs.len() {
                        break;
                    }
                    for (i, job) in jobs.iter().enumerate().skip(begin).take(chunk) {
                        if tx.send(Ok((i, work(&mut sack, i, job)))).is_err() {
                            return loaded;
                        }
                    }
                }
                loaded
            }));
        }
        drop(tx);
        for msg in rx.iter() {
            match msg {
                Ok((i, r)) => sink(i, r),
                Err(e) => {
                    failure.get_or_insert(e);
                    // stop the others quickly
                    next.store(jobs.len(), Ordering::Relaxed);
                }
            }
        }
        for h in handles {
            match h.join() {
                Ok(d) => load = load.max(d),
                Err(_) => {
                    failure.get_or_insert(DepsolveError::Worker("worker thread panicked".into()));
                }
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(ParallelStats {
        threads,
        load,
        wall: started.elapsed(),
    })
}

/// Peak resident set size of this process in bytes (`VmHWM` of /proc/self/status), when
/// the platform reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
