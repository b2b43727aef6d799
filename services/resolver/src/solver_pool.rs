//! Worker threads solving against one repository: each thread loads its own libsolv pool
//! (a [`Sack`](koschei_depsolve::Sack)) from the repository's `.solv` file once and then
//! takes jobs from a shared queue until the pool is dropped. Results go to the async side
//! through a bounded channel (`dependency.resolver_queue_size`), so the database work of
//! earlier results overlaps the solving of later ones and memory stays bounded.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use koschei_depsolve::{Dependency, InstallTrace, ResolveOptions, SolvFile};
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

/// The worker threads of one repository.
pub struct SolverPool {
    jobs: Option<mpsc::Sender<SolveJob>>,
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
        let job_rx = Arc::new(Mutex::new(job_rx));
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
                let (job_rx, res_tx) = (job_rx.clone(), res_tx.clone());
                let (solv, group) = (solv.clone(), group.clone());
                std::thread::Builder::new()
                    .name(format!("solver-{i}"))
                    .spawn(move || worker(solv.solv(), &group, options, &job_rx, &res_tx))
                    .expect("spawning a solver thread")
            })
            .collect();
        SolverPool {
            jobs: Some(job_tx),
            results: res_rx,
            threads: handles,
        }
    }

    /// Queues a job.
    pub fn submit(&self, job: SolveJob) {
        if let Some(tx) = &self.jobs {
            // the workers only stop when the pool is dropped
            let _ = tx.send(job);
        }
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
    jobs: &Mutex<mpsc::Receiver<SolveJob>>,
    results: &tokio_mpsc::Sender<Result<SolveResult, String>>,
) {
    let mut sack = match solv.load() {
        Ok(sack) => sack,
        Err(e) => {
            let _ = results.blocking_send(Err(format!("loading {}: {e}", solv.path.display())));
            return;
        }
    };
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv()
        };
        let Ok(job) = job else { return };
        // traces only serve incremental passes ignoring weak dependencies (with them, a
        // grown requirement taints anyway), and recording one costs solving time
        let (res, trace) = if options.ignore_weak_deps {
            sack.resolve_traced(group, &job.buildrequires, &options)
        } else {
            (sack.resolve(group, &job.buildrequires, &options), None)
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
        if results.blocking_send(Ok(out)).is_err() {
            return;
        }
    }
}
