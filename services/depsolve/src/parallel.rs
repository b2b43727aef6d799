//! Whole-repository passes on all cores: one [`Sack`] (libsolv pool) per worker thread,
//! each loaded from the same `.solv` file, jobs taken from a shared queue in small chunks,
//! results streamed back to the calling thread a chunk per message.

use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::DepsolveError;
use crate::sack::{Sack, SolvFile};

/// Tuning of a parallel pass.
#[derive(Debug, Clone)]
pub struct ParallelOptions {
    /// Worker threads (0 = number of available cores).
    pub threads: usize,
    /// Capacity of the result channel in chunks (Koschei's `resolver_queue_size`, 300):
    /// bounds the results waiting for the calling thread.
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
    let options = ParallelOptions {
        threads: options.thread_count().min(jobs.len().max(1)),
        ..options.clone()
    };
    run_fed(
        solv,
        &options,
        |push| (0..jobs.len()).for_each(push),
        |sack, i| (i, work(sack, i, &jobs[i])),
        |(i, r)| sink(i, r),
    )
}

/// [`run_parallel`] for jobs that `feed` produces on the calling thread — e.g. while it
/// analyses what to do — and that the workers, whose sacks load meanwhile, solve at once.
/// Results reach `sink` on the calling thread once `feed` has returned. Workers take up to
/// `options.chunk` queued jobs at a time and send their results in one message, so the
/// calling thread wakes once per chunk, not per job.
pub fn run_fed<J, R, F, W, S>(
    solv: &SolvFile,
    options: &ParallelOptions,
    feed: F,
    work: W,
    mut sink: S,
) -> Result<ParallelStats, DepsolveError>
where
    J: Send,
    R: Send,
    F: FnOnce(&mut dyn FnMut(J)),
    W: Fn(&mut Sack, J) -> R + Sync,
    S: FnMut(R),
{
    let started = Instant::now();
    let threads = options.thread_count().max(1);
    let chunk = options.chunk.max(1);
    let (job_tx, job_rx) = mpsc::channel::<J>();
    let job_rx = Mutex::new(job_rx);
    let (res_tx, res_rx) =
        mpsc::sync_channel::<Result<Vec<R>, DepsolveError>>(options.queue_size.max(1));
    let mut load = Duration::ZERO;
    let mut failure: Option<DepsolveError> = None;
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        for _ in 0..threads {
            let res_tx = res_tx.clone();
            let (job_rx, work) = (&job_rx, &work);
            handles.push(scope.spawn(move || -> Duration {
                let t0 = Instant::now();
                let mut sack = match solv.load() {
                    Ok(sack) => sack,
                    Err(e) => {
                        let _ = res_tx.send(Err(e));
                        return t0.elapsed();
                    }
                };
                let loaded = t0.elapsed();
                let mut taken: Vec<J> = Vec::with_capacity(chunk);
                loop {
                    {
                        let rx = job_rx.lock().unwrap_or_else(|e| e.into_inner());
                        match rx.recv() {
                            Ok(job) => taken.push(job),
                            Err(_) => break,
                        }
                        while taken.len() < chunk {
                            match rx.try_recv() {
                                Ok(job) => taken.push(job),
                                Err(_) => break,
                            }
                        }
                    }
                    let results = taken.drain(..).map(|job| work(&mut sack, job)).collect();
                    if res_tx.send(Ok(results)).is_err() {
                        break;
                    }
                }
                loaded
            }));
        }
        drop(res_tx);
        feed(&mut |job| {
            // the workers only stop early after a failure, reported below
            let _ = job_tx.send(job);
        });
        drop(job_tx);
        for msg in res_rx.iter() {
            match msg {
                Ok(results) => results.into_iter().for_each(&mut sink),
                Err(e) => {
                    failure.get_or_insert(e);
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
