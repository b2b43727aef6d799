//! Resolution of a build's buildroot (build group + BuildRequires) in the repo it is
//! built in, behind a small trait so the solver can be swapped.
//!
//! The implementation uses `koschei-depsolve` (libsolv). libsolv pools are not `Send`,
//! so one worker thread owns the loaded sacks (the two most recently used repos) and
//! answers requests over a channel.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Mutex;

use anyhow::{anyhow, Result};
use koschei_depsolve::{LoadOptions, RepoDir, ResolveOptions, Sack};
use tracing::info;

/// Outcome of resolving a buildroot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Whether everything resolved.
    pub resolved: bool,
    /// Problem descriptions when not.
    pub problems: Vec<String>,
    /// Number of packages the buildroot would install.
    pub installs: usize,
    /// `name-version-release` of each package the buildroot would install.
    pub installed: Vec<String>,
}

/// Resolves buildroots in repos.
pub trait BuildResolver: Send + Sync {
    /// Resolves `group` + `buildrequires` in the rpm-md repo at `repo_dir` (blocking).
    fn resolve(
        &self,
        repo_dir: PathBuf,
        group: Vec<String>,
        buildrequires: Vec<String>,
    ) -> Result<Resolution>;
}

struct Job {
    repo_dir: PathBuf,
    group: Vec<String>,
    buildrequires: Vec<String>,
    reply: mpsc::Sender<Result<Resolution>>,
}

/// [`BuildResolver`] on `koschei-depsolve`, with `.solv` caching of loaded repos.
pub struct DepsolveResolver {
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// Loaded sacks kept by the worker.
const KEEP_SACKS: usize = 2;

impl DepsolveResolver {
    /// Starts the worker thread; `.solv` files go to `cache_dir`.
    pub fn start(cache_dir: PathBuf) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("koji-sim-depsolve".into())
            .spawn(move || {
                let mut sacks: VecDeque<(PathBuf, Sack)> = VecDeque::new();
                for job in rx {
                    let result = resolve_in(&mut sacks, &cache_dir, &job);
                    let _ = job.reply.send(result);
                }
            })?;
        Ok(DepsolveResolver {
            jobs: Mutex::new(tx),
        })
    }
}

fn resolve_in(
    sacks: &mut VecDeque<(PathBuf, Sack)>,
    cache_dir: &std::path::Path,
    job: &Job,
) -> Result<Resolution> {
    let position = sacks.iter().position(|(p, _)| *p == job.repo_dir);
    let (dir, mut sack) = match position.and_then(|i| sacks.remove(i)) {
        Some(entry) => entry,
        None => {
            let started = std::time::Instant::now();
            let repo = RepoDir::open(&job.repo_dir)?;
            let options = LoadOptions {
                solv_cache_dir: Some(cache_dir.to_owned()),
                ..LoadOptions::default()
            };
            let sack = Sack::load(&repo, &options)?;
            info!(repo = %job.repo_dir.display(), packages = sack.len(), elapsed = ?started.elapsed(), "repo loaded for resolution");
            (job.repo_dir.clone(), sack)
        }
    };
    let options = ResolveOptions {
        distances: false,
        ..ResolveOptions::default()
    };
    let r = sack.resolve(&job.group, &job.buildrequires, &options);
    let installed = r
        .installs
        .iter()
        .map(|i| {
            let n = sack.package(i.package);
            format!("{}-{}-{}", n.name, n.version, n.release)
        })
        .collect();
    sacks.push_front((dir, sack));
    sacks.truncate(KEEP_SACKS);
    Ok(Resolution {
        resolved: r.resolved,
        problems: r.problems,
        installs: r.installs.len(),
        installed,
    })
}

impl BuildResolver for DepsolveResolver {
    fn resolve(
        &self,
        repo_dir: PathBuf,
        group: Vec<String>,
        buildrequires: Vec<String>,
    ) -> Result<Resolution> {
        let (reply, answer) = mpsc::channel();
        self.jobs
            .lock()
            .map_err(|_| anyhow!("resolver poisoned"))?
            .send(Job {
                repo_dir,
                group,
                buildrequires,
                reply,
            })
            .map_err(|_| anyhow!("resolver thread is gone"))?;
        answer
            .recv()
            .map_err(|_| anyhow!("resolver thread is gone"))?
    }
}
