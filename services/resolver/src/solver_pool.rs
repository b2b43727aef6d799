//! Worker threads solving against one repository: each thread loads its own libsolv pool
//! (a [`Sack`](koschei_depsolve::Sack)) from the repository's `.solv` file once and then
//! takes jobs from a shared queue until the pool is dropped: its share of the queued jobs
//! at once, up to [`NARROW_BATCH`], and a large claim is solved in a reach of its own
//! (`Sack::narrow_reach`). Results go to the async side
//! through a bounded channel (`dependency.resolver_queue_size`), so the database work of
//! earlier results overlaps the solving of later ones and memory stays bounded.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use koschei_depsolve::{Dependency, InstallTrace, ResolveOptions, Sack, SolvFile, NARROW_BATCH};
use tokio::sync::mpsc as tokio_mpsc;

/// One request: a caller-chosen tag (package or build id) and the BuildRequires; the
/// build group is the pool's.
#[derive(Debug, Clone)]
pub struct SolveJob {
    /// Identifies the job in the result.
    pub tag: i64,
    /// BuildRequires.
    pub buildrequires: Vec<String>,
}

/// The outcome of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolveResult {
    /// The job's tag.
    pub tag: i64,
    /// No problems.
    pub resolved: bool,
    /// Problem strings (empty when resolved).
    pub problems: Vec<String>,
    /// Installed binary packages with distances (empty when unresolved).
    pub dependencies: Vec<Dependency>,
    /// The solve's trace as positions into `dependencies` (incremental passes plan with it).
    pub trace: Option<InstallTrace>,
}

/// Fewest jobs a worker claims at once for which it cuts a reach of their own
/// (`Sack::narrow_reach`); fewer are solved in the pass's reach.
const NARROW_MIN: usize = NARROW_BATCH / 4;

/// The worker threads of one repository.
pub struct SolverPool {
    jobs: Option<mpsc::Sender<SolveJob>>,
    queue: Arc<JobQueue>,
    results: tokio_mpsc::Receiver<Result<SolveResult, String>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl SolverPool {
    /// Starts `threads` workers (0 = one per core) solving with `group` as build group.
    /// With `requests` (the BuildRequires the pass is expected to solve), the first worker
    /// writes their reach (`SolvFile::with_reach`, with the group) and every worker
    /// solves in it what it covers.
    pub fn start(
        solv: SolvFile,
        group: Vec<String>,
        options: ResolveOptions,
        threads: usize,
        queue_size: usize,
        requests: Vec<String>,
    ) -> SolverPool {
        let threads = if threads > 0 {
            threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let (job_tx, job_rx) = mpsc::channel::<SolveJob>();
        let queue = Arc::new(JobQueue {
            rx: Mutex::new(job_rx),
            waiting: AtomicUsize::new(0),
            workers: threads,
            narrowed: AtomicU64::new(0),
        });
        let (res_tx, res_rx) = tokio_mpsc::channel(queue_size.max(1));
        let solv = Arc::new(Repository {
            solv,
            requests: if requests.is_empty() {
                requests
            } else {
                group.iter().cloned().chain(requests).collect()
            },
            with_reach: OnceLock::new(),
        });
        let group = Arc::new(group);
        let handles = (0..threads)
            .map(|i| {
                let (queue, res_tx) = (queue.clone(), res_tx.clone());
                let (solv, group) = (solv.clone(), group.clone());
                std::thread::Builder::new()
                    .name(format!("solver-{i}"))
                    .spawn(move || worker(solv.solv(), &group, options, &queue, &res_tx))
                    .expect("spawning a solver thread")
            })
            .collect();
        SolverPool {
            jobs: Some(job_tx),
            queue,
            results: res_rx,
            threads: handles,
        }
    }

    /// Queues a job.
    pub fn submit(&self, job: SolveJob) {
        if let Some(tx) = &self.jobs {
            self.queue.waiting.fetch_add(1, Ordering::Relaxed);
            // the workers only stop when the pool is dropped
            let _ = tx.send(job);
        }
    }

    /// How many claims of jobs the workers have solved in a reach of their own.
    pub fn narrowed_reaches(&self) -> u64 {
        self.queue.narrowed.load(Ordering::Relaxed)
    }

    /// The next result (in completion order). An error when a worker could not load the
    /// repository; `None` when all workers are gone.
    pub async fn next(&mut self) -> Option<Result<SolveResult, String>> {
        self.results.recv().await
    }
}

impl Drop for SolverPool {
    fn drop(&mut self) {
        self.jobs = None;
        self.results.close();
        while self.results.try_recv().is_ok() {}
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The repository's `.solv` file and the requests of its reach.
struct Repository {
    solv: SolvFile,
    /// Build group and expected BuildRequires (empty: no reach).
    requests: Vec<String>,
    /// The file with the reach, written by the first worker asking for it.
    with_reach: OnceLock<SolvFile>,
}

impl Repository {
    /// The file to load sacks from: with the reach when there are requests beyond the
    /// group and it could be written, else the whole pool.
    fn solv(&self) -> &SolvFile {
        self.with_reach.get_or_init(|| {
            if self.requests.is_empty() {
                return self.solv.clone();
            }
            let started = std::time::Instant::now();
            let requests = self.requests.iter().map(String::as_str);
            match self.solv.clone().with_reach(requests) {
                Ok(solv) => {
                    tracing::info!(
                        "{}: solving in the reach of {} requests: {} packages, written in {:.2} s",
                        self.solv.path.display(),
                        self.requests.len(),
                        solv.reach_len().unwrap_or(0),
                        started.elapsed().as_secs_f64()
                    );
                    solv
                }
                Err(e) => {
                    tracing::warn!(
                        "{}: solving in the whole pool, the reach could not be written: {e}",
                        self.solv.path.display()
                    );
                    self.solv.clone()
                }
            }
        })
    }
}

fn worker(
    solv: &SolvFile,
    group: &[String],
    options: ResolveOptions,
    jobs: &JobQueue,
    results: &tokio_mpsc::Sender<Result<SolveResult, String>>,
) {
    let mut sack = match solv.load() {
        Ok(sack) => sack,
        Err(e) => {
            let _ = results.blocking_send(Err(format!("loading {}: {e}", solv.path.display())));
            return;
        }
    };
    let mut claimed = Vec::with_capacity(NARROW_BATCH);
    loop {
        jobs.claim(&mut claimed);
        if claimed.is_empty() {
            return;
        }
        // a batch worth it gets a reach of its own (smaller sack, same answers)
        if claimed.len() >= NARROW_MIN {
            let requests = group
                .iter()
                .chain(claimed.iter().flat_map(|j| &j.buildrequires));
            match sack.narrow_reach(requests.map(String::as_str)) {
                // 0: the pool has no reach to cut from
                Ok(0) => {}
                Ok(len) => {
                    jobs.narrowed.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("{} jobs in a reach of {len} packages", claimed.len())
                }
                Err(e) => {
                    tracing::warn!("{}: solving in the pass's reach: {e}", solv.path.display())
                }
            }
        }
        for job in claimed.drain(..) {
            if !solve_job(&mut sack, group, &options, job, results) {
                return;
            }
        }
    }
}

/// The jobs waiting for a worker.
struct JobQueue {
    rx: Mutex<mpsc::Receiver<SolveJob>>,
    /// Jobs submitted and not claimed yet.
    waiting: AtomicUsize,
    workers: usize,
    /// Claims solved in a reach of their own.
    narrowed: AtomicU64,
}

impl JobQueue {
    /// Takes the next job (waiting for it) and, of the others waiting, this worker's
    /// share, up to [`NARROW_BATCH`] in all (so that the last jobs are shared out too);
    /// none when the pool is being dropped.
    fn claim(&self, claimed: &mut Vec<SolveJob>) {
        let rx = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(job) = rx.recv() else { return };
        claimed.push(job);
        let share = self.waiting.load(Ordering::Relaxed).div_ceil(self.workers);
        claimed.extend(
            rx.try_iter()
                .take(share.min(NARROW_BATCH).saturating_sub(1)),
        );
        self.waiting.fetch_sub(claimed.len(), Ordering::Relaxed);
    }
}

/// Solves one job and sends its result; false when nobody takes results any more.
fn solve_job(
    sack: &mut Sack,
    group: &[String],
    options: &ResolveOptions,
    job: SolveJob,
    results: &tokio_mpsc::Sender<Result<SolveResult, String>>,
) -> bool {
    // traces only serve incremental passes ignoring weak dependencies (with them, a
    // grown requirement taints anyway), and recording one costs solving time
    let (res, trace) = if options.ignore_weak_deps {
        sack.resolve_traced(group, &job.buildrequires, options)
    } else {
        (sack.resolve(group, &job.buildrequires, options), None)
    };
    let dependencies = if res.resolved {
        sack.dependencies(&res)
    } else {
        Vec::new()
    };
    // dependencies are in install order
    let trace = trace.and_then(|t| t.to_install_positions(&res));
    let out = SolveResult {
        tag: job.tag,
        resolved: res.resolved,
        problems: res.problems,
        dependencies,
        trace,
    };
    results.blocking_send(Ok(out)).is_ok()
}
