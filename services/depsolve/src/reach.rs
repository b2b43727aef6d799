//! The reach of a pass: the packages of a repository that its build requests can involve,
//! in a pool of their own, where solving is cheaper and gives the same answers.
//!
//! Much of a solve's cost grows with the size of the pool rather than with the request:
//! with weak dependencies kept, libsolv looks for packages to install because of them by
//! walking every solvable of the pool after each round of decisions (`resolve_weak` in
//! `solver.c`), and every solver allocates maps over all solvables. On a distribution
//! many packages take part in no build at all: the build requests of the whole corpus
//! reach 30,595 of its 63,440 binaries, those of a 608-package sample 9,399.
//!
//! [`SolvFile::with_reach`] therefore writes a second `.solv` file holding only the reach of
//! a pass's requests (the build group and every BuildRequire): the providers of each
//! request's atoms, and, transitively, the providers of the atoms of their Requires,
//! Recommends and rich Conflicts, plus every package whose Supplements name a reached
//! package. That is every package for which a solve of any of these requests can build
//! package rules (with Suggests and Enhances left out of rule building, `solv/weak.rs`),
//! so the reach pool gets the same rules among the same packages in the same order
//! (solvable ids keep their order). What it lacks are rules between a reached package and
//! packages nothing can install (conflicts, same-name rules); those never propagate to a
//! reached package nor take part in a conflict, so the search decides the same.
//!
//! A solve is taken from the reach only when that holds plainly: each job selects the
//! same packages in both pools, the request is resolvable, and the fast solve is exact
//! (`Pool::solve_fast`: its search did not backtrack). Otherwise — a request outside the
//! reach, problems to describe, a backtracking search — the whole pool solves it as
//! before. Distances are computed in the whole pool, on the mapped installs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::DepsolveError;
use crate::goal::{parse_dep, Request};
use crate::reach_file::{ReachCounts, ReachFile};
use crate::sack::{Reach, Sack, SolvFile};
use crate::solv::{rel, DepKind, Id, Job, Pool, RawTrace, RepoHandle, SolveOutcome};

/// What a reach file's name adds to its `.solv` file's: `<pid>-<n>` follows.
const REACH_SUFFIX: &str = ".reach-";

/// Names the reach files of one process apart.
static REACH_FILES: AtomicU64 = AtomicU64::new(0);

impl SolvFile {
    /// This file with the reach of `requests` (build group members and BuildRequires of
    /// the packages to solve) written beside it; every [`Sack`] loaded from the result
    /// solves these requests in the reach (module documentation) and anything else in
    /// the whole pool.
    pub fn with_reach<'a>(
        mut self,
        requests: impl IntoIterator<Item = &'a str>,
    ) -> Result<SolvFile, DepsolveError> {
        let (mut pool, repo) = self.load_pool()?;
        pool.create_whatprovides();
        let reached = reach_of(&mut pool, repo, requests);
        let range = pool.repo_range(repo);
        let indices = (range.start..range.end)
            .filter(|&p| reached[p as usize])
            .map(|p| (p - range.start) as u32)
            .collect();
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(
            "{REACH_SUFFIX}{}-{}",
            std::process::id(),
            REACH_FILES.fetch_add(1, Ordering::Relaxed)
        ));
        let path = PathBuf::from(name);
        let file = ReachFile { path, indices };
        pool.write_solv_subset(repo, |p| reached[p as usize], &file.path)?;
        self.reach = Some(Arc::new(file));
        Ok(self)
    }

    /// Number of packages in the reach (`None` without one).
    pub fn reach_len(&self) -> Option<usize> {
        self.reach.as_ref().map(|r| r.indices.len())
    }

    /// The reach of a sack loaded from this file, when it has one.
    pub(crate) fn load_reach(&self) -> Result<Option<Box<Reach>>, DepsolveError> {
        let Some(file) = &self.reach else {
            return Ok(None);
        };
        let mut pool = Pool::new(&self.arch);
        let handle = pool.add_repo("repo");
        pool.add_solv(handle, &file.path)?;
        Ok(Some(Box::new(Reach {
            sack: Sack::from_pool(pool, handle),
            file: Arc::clone(file),
            counts: ReachCounts::default(),
        })))
    }
}

/// Remove the reach files in `dir` older than `age`: those of a process that was killed
/// before it could remove them (a process's sacks read theirs when they are loaded).
pub fn remove_stale_reach_files(dir: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let is_reach = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(REACH_SUFFIX));
        let older = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|elapsed| elapsed > age);
        if is_reach && older {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Which solvables (by id) the requests reach (module documentation).
fn reach_of<'a>(
    pool: &mut Pool,
    repo: RepoHandle,
    requests: impl IntoIterator<Item = &'a str>,
) -> Vec<bool> {
    let mut walk = Walk {
        reached: vec![false; pool.nsolvables()],
        queue: Vec::new(),
        repo,
        atoms: Vec::new(),
    };
    let mut files = Vec::new();
    for request in requests {
        if let Some(dep) = parse_dep(pool, request) {
            walk.add_providers(pool, dep);
        }
        let path = request.trim();
        if path.starts_with('/') {
            pool.select_file(path, &mut files);
            for &p in &files {
                walk.add(pool, p);
            }
        }
    }
    let range = pool.repo_range(repo);
    let supplementing: Vec<Id> = (range.start..range.end)
        .filter(|&p| pool.solvable_deps(p, DepKind::Supplements).next().is_some())
        .collect();
    loop {
        while let Some(p) = walk.queue.pop() {
            let mut deps: Vec<Id> = pool.solvable_deps(p, DepKind::Requires).collect();
            deps.extend(pool.solvable_deps(p, DepKind::Recommends));
            deps.extend(pool.solvable_deps(p, DepKind::Conflicts).filter(|&d| {
                pool.rel_parts(d)
                    .is_some_and(|(_, _, f)| rel::is_boolean(f))
            }));
            for dep in deps {
                walk.add_providers(pool, dep);
            }
        }
        let before = walk.reached.iter().filter(|&&r| r).count();
        for &p in &supplementing {
            if !walk.reached[p as usize] && walk.names_reached(pool, p) {
                walk.add(pool, p);
            }
        }
        if walk.queue.is_empty() && walk.reached.iter().filter(|&&r| r).count() == before {
            return walk.reached;
        }
    }
}

/// The state of [`reach_of`]'s walk.
struct Walk {
    reached: Vec<bool>,
    queue: Vec<Id>,
    repo: RepoHandle,
    atoms: Vec<Id>,
}

impl Walk {
    fn add(&mut self, pool: &Pool, p: Id) {
        if pool.in_repo(p, self.repo) && !self.reached[p as usize] {
            self.reached[p as usize] = true;
            self.queue.push(p);
        }
    }

    /// Reach the providers of every atom of `dep`.
    fn add_providers(&mut self, pool: &mut Pool, dep: Id) {
        let mut atoms = std::mem::take(&mut self.atoms);
        atoms.clear();
        pool.atoms(dep, &mut atoms);
        for &atom in &atoms {
            let providers = pool.whatprovides(atom).to_vec();
            for p in providers {
                self.add(pool, p);
            }
        }
        self.atoms = atoms;
    }

    /// Does an atom of `p`'s Supplements have a reached provider?
    fn names_reached(&mut self, pool: &mut Pool, p: Id) -> bool {
        let mut atoms = Vec::new();
        for dep in pool
            .solvable_deps(p, DepKind::Supplements)
            .collect::<Vec<_>>()
        {
            pool.atoms(dep, &mut atoms);
        }
        atoms.into_iter().any(|atom| {
            pool.whatprovides(atom)
                .iter()
                .any(|&q| self.reached[q as usize])
        })
    }
}

impl Sack {
    /// Solve a request (built by [`Sack::jobs_for`]) in the reach when that gives the
    /// whole pool's answer (module documentation), else in the whole pool; installs and
    /// trace are in the whole pool's ids.
    pub(crate) fn solve_request<G: AsRef<str>, B: AsRef<str>>(
        &mut self,
        group: &[G],
        buildrequires: &[B],
        request: &Request,
        ignore_weak_deps: bool,
        traced: bool,
    ) -> (SolveOutcome, Option<RawTrace>) {
        if self.reach.is_some() {
            let solved =
                self.solve_in_reach(group, buildrequires, request, ignore_weak_deps, traced);
            let reach = self.reach.as_deref_mut().expect("checked");
            match solved {
                Some(result) => {
                    reach.counts.solved += 1;
                    return result;
                }
                None => reach.counts.whole_pool += 1,
            }
        }
        if traced {
            self.pool.solve_traced(&request.jobs, ignore_weak_deps)
        } else {
            (self.pool.solve(&request.jobs, ignore_weak_deps), None)
        }
    }

    fn solve_in_reach<G: AsRef<str>, B: AsRef<str>>(
        &mut self,
        group: &[G],
        buildrequires: &[B],
        request: &Request,
        ignore_weak_deps: bool,
        traced: bool,
    ) -> Option<(SolveOutcome, Option<RawTrace>)> {
        if !request.missing.is_empty() {
            return None;
        }
        let start = self.start;
        let reach = self.reach.as_deref_mut()?;
        let to_whole = |file: &ReachFile, sub_start: Id, p: Id| -> Id {
            start + file.indices[(p - sub_start) as usize] as Id
        };
        let sub_start = reach.sack.start;
        let sub = reach.sack.jobs_for(group, buildrequires);
        if !sub.missing.is_empty() || sub.jobs.len() != request.jobs.len() {
            return None;
        }
        for (&job, &sub_job) in request.jobs.iter().zip(&sub.jobs) {
            let same_kind = matches!(
                (job, sub_job),
                (Job::InstallProvides(_), Job::InstallProvides(_))
                    | (Job::InstallOneOf(_), Job::InstallOneOf(_))
            );
            let whole = self.pool.job_candidates(job);
            let part = reach.sack.pool.job_candidates(sub_job);
            if !same_kind
                || whole.len() != part.len()
                || whole
                    .iter()
                    .zip(part)
                    .any(|(&w, &p)| w != to_whole(&reach.file, sub_start, p))
            {
                return None;
            }
        }
        let (outcome, raw) = reach
            .sack
            .pool
            .solve_fast(&sub.jobs, ignore_weak_deps, traced)?;
        let installs = outcome
            .installs
            .iter()
            .map(|&p| to_whole(&reach.file, sub_start, p))
            .collect();
        let trace = match raw {
            None => None,
            Some(raw) => {
                let mut reasons = Vec::with_capacity(raw.level1_requires_reasons.len());
                for &(p, dep) in &raw.level1_requires_reasons {
                    let position = reach
                        .sack
                        .pool
                        .solvable_deps(p, DepKind::Requires)
                        .position(|d| d == dep)?;
                    let whole = to_whole(&reach.file, sub_start, p);
                    let dep = self
                        .pool
                        .solvable_deps(whole, DepKind::Requires)
                        .nth(position)?;
                    reasons.push((whole, dep));
                }
                reasons.sort_unstable();
                let mut level1_installs: Vec<Id> = raw
                    .level1_installs
                    .iter()
                    .map(|&p| to_whole(&reach.file, sub_start, p))
                    .collect();
                level1_installs.sort_unstable();
                Some(RawTrace {
                    level1_installs,
                    level1_requires_reasons: reasons,
                    learnt: raw.learnt,
                })
            }
        };
        let outcome = SolveOutcome {
            problems: Vec::new(),
            installs,
        };
        Some((outcome, trace))
    }

    /// How this sack's solves used its reach (`None` without one).
    pub fn reach_counts(&self) -> Option<ReachCounts> {
        self.reach.as_ref().map(|r| r.counts)
    }
}
