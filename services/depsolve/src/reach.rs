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
//! package rules (with Suggests and Enhances left out of rule building, `solv/weak.rs`).
//! The reach also holds the packages those rules name without building rules for them:
//! the providers of the other Conflicts and of the Obsoletes of a reached package, and
//! the packages of its name (`solver_addpkgrulesforsolvable` in libsolv's `rules.c`). So
//! the reach pool gets the same rules, naming the same packages, and in the same order:
//! solvable ids keep their order, and a reach puts the dependency arrays whose order
//! steers libsolv in its whole repository's order (`solv/dep_order.rs`: a `.solv` file
//! sorts them by a string numbering that depends on what else it holds, and with it which
//! Recommends libsolv takes first). The search then decides the same.
//!
//! A solve is taken from the reach only when that holds plainly: each job selects the
//! same packages in both pools, the request is resolvable, and the fast solve is exact
//! (`Pool::solve_fast`: its search did not backtrack). Otherwise — a request outside the
//! reach, problems to describe, a backtracking search — the whole pool solves it as
//! before. Distances are computed in the whole pool, on the mapped installs.
//!
//! The reach of a whole pass is still large (the union of every request's), and the
//! pool-wide work grows with it. A worker that has claimed a batch of requests therefore
//! cuts their own reach from the pass's ([`Sack::narrow_reach`]: the same walk, in the
//! pass's reach, which holds everything it can lead to) and tries it first. A request it
//! does not cover goes to the pass's reach, then, as above, to the whole pool. On the
//! corpus (34,288 source packages in batches of 1,000 neighbours by name) the three give
//! identical results.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::DepsolveError;
use crate::goal::{parse_dep, Request};
use crate::reach_file::{ReachCounts, ReachFile};
use crate::sack::{Reach, Reaches, Sack, SolvFile};
use crate::solv::{rel, DepKind, Id, Job, Pool, RawTrace, RepoHandle, SolveOutcome};

/// What a reach file's name adds to its `.solv` file's: `<pid>-<n>` follows.
const REACH_SUFFIX: &str = ".reach-";

/// Packages whose requests are worth a reach of their own (`Sack::narrow_reach`): cutting
/// one costs about as much as solving a few dozen packages with weak dependencies kept.
pub const NARROW_BATCH: usize = 1000;

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
        let (pool, repo) = self.load_pool()?;
        let seed = |walk: &mut Walk, pool: &mut Pool| walk.requests(pool, requests);
        let file = write_reach(pool, repo, seed, &self.path, &self.arch, |i| i)?;
        self.reach = Some(Arc::new(file));
        Ok(self)
    }

    /// Number of packages in the reach (`None` without one).
    pub fn reach_len(&self) -> Option<usize> {
        self.reach.as_ref().map(|r| r.indices.len())
    }

    /// The reach of a sack loaded from this file, when it has one; `whole` is the sack's
    /// pool.
    pub(crate) fn load_reach(
        &self,
        whole: &mut Pool,
    ) -> Result<Option<Box<Reaches>>, DepsolveError> {
        let Some(file) = &self.reach else {
            return Ok(None);
        };
        Ok(Some(Box::new(Reaches {
            pass: Reach::load(Arc::clone(file), whole)?,
            narrow: None,
            counts: ReachCounts::default(),
            replaced_fast: 0,
        })))
    }
}

impl Sack {
    /// Solve the requests that come next (build group members and BuildRequires of a
    /// batch of packages) in a reach of their own, cut from the pass's reach: a smaller
    /// pool, where solving costs less and gives the same answers (module documentation).
    /// Other requests are solved as before. Returns the number of packages of the new
    /// reach; without a pass reach, nothing changes (0).
    pub fn narrow_reach<'a>(
        &mut self,
        requests: impl IntoIterator<Item = &'a str>,
    ) -> Result<usize, DepsolveError> {
        let Some(reaches) = self.reach.as_deref_mut() else {
            return Ok(0);
        };
        let pass = &reaches.pass.file;
        let mut pool = Pool::new(&pass.arch);
        let repo = pool.add_repo("repo");
        pool.add_solv(repo, &pass.path)?;
        let seed = |walk: &mut Walk, pool: &mut Pool| walk.requests(pool, requests);
        let file = write_reach(pool, repo, seed, &pass.path, &pass.arch, |i| {
            pass.indices[i as usize]
        })?;
        let narrow = Reach::load(Arc::new(file), &mut self.pool)?;
        let len = narrow.file.indices.len();
        if let Some(replaced) = reaches.narrow.replace(narrow) {
            reaches.replaced_fast += replaced.sack.pool.weak_solve_counts().fast;
        }
        reaches.counts.narrowed += 1;
        Ok(len)
    }
}

impl Reach {
    /// A reach's file loaded into a sack of its own, its dependency arrays in the order
    /// of the whole repository's pool `whole` (`solv/dep_order.rs`).
    pub(crate) fn load(file: Arc<ReachFile>, whole: &mut Pool) -> Result<Reach, DepsolveError> {
        let mut pool = Pool::new(&file.arch);
        let handle = pool.add_repo("repo");
        pool.add_solv(handle, &file.path)?;
        pool.sort_dep_arrays(handle, Pool::ids_in(whole));
        Ok(Reach {
            sack: Sack::from_ordered_pool(pool, handle),
            file,
        })
    }
}

/// Write the reach of what `seed` reaches in `repo` (consuming its pool) as a file named
/// after the `.solv` file `beside`; `index` maps a package index of `repo` to the whole
/// repository's.
pub(crate) fn write_reach(
    mut pool: Pool,
    repo: RepoHandle,
    seed: impl FnOnce(&mut Walk, &mut Pool),
    beside: &Path,
    arch: &str,
    index: impl Fn(u32) -> u32,
) -> Result<ReachFile, DepsolveError> {
    pool.create_whatprovides();
    let reached = reach_of(&mut pool, repo, seed);
    write_reach_set(pool, repo, &reached, beside, arch, index)
}

/// Write the packages of `repo` marked in `reached` (by id; consuming its pool) as a reach
/// file named after the `.solv` file `beside`; `index` maps a package index of `repo` to
/// the whole repository's.
pub(crate) fn write_reach_set(
    pool: Pool,
    repo: RepoHandle,
    reached: &[bool],
    beside: &Path,
    arch: &str,
    index: impl Fn(u32) -> u32,
) -> Result<ReachFile, DepsolveError> {
    let range = pool.repo_range(repo);
    let indices = (range.start..range.end)
        .filter(|&p| reached[p as usize])
        .map(|p| index((p - range.start) as u32))
        .collect();
    // `<name>.solv.reach-<pid>-<n>`, also when `beside` is a reach file itself
    let beside = beside.to_string_lossy();
    let stem = beside.split(REACH_SUFFIX).next().unwrap_or_default();
    let path = PathBuf::from(format!(
        "{stem}{REACH_SUFFIX}{}-{}",
        std::process::id(),
        REACH_FILES.fetch_add(1, Ordering::Relaxed)
    ));
    // made before writing, so that a partly written file is removed too
    let file = ReachFile {
        path,
        arch: arch.to_string(),
        indices,
    };
    pool.write_solv_subset(repo, |p| reached[p as usize], &file.path)?;
    Ok(file)
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

/// Which solvables (by id) what `seed` reaches leads to, with those their rules name
/// (module documentation).
pub(crate) fn reach_of(
    pool: &mut Pool,
    repo: RepoHandle,
    seed: impl FnOnce(&mut Walk, &mut Pool),
) -> Vec<bool> {
    let mut walk = Walk {
        reached: vec![false; pool.nsolvables()],
        named: vec![false; pool.nsolvables()],
        queue: Vec::new(),
        repo,
        atoms: Vec::new(),
    };
    seed(&mut walk, pool);
    let range = pool.repo_range(repo);
    let supplementing: Vec<Id> = (range.start..range.end)
        .filter(|&p| pool.solvable_deps(p, DepKind::Supplements).next().is_some())
        .collect();
    loop {
        while let Some(p) = walk.queue.pop() {
            walk.visit(pool, p);
        }
        let mut grew = false;
        for &p in &supplementing {
            if !walk.reached[p as usize] && walk.names_reached(pool, p) {
                walk.reach(pool, p);
                grew = true;
            }
        }
        if !grew {
            return walk.named;
        }
    }
}

/// The state of [`reach_of`]'s walk.
pub(crate) struct Walk {
    /// Packages a solve can build rules for (walked).
    reached: Vec<bool>,
    /// Those and the packages their rules name (the reach).
    named: Vec<bool>,
    queue: Vec<Id>,
    repo: RepoHandle,
    atoms: Vec<Id>,
}

impl Walk {
    /// Start from the packages requests (build group members and BuildRequires) select.
    fn requests<'a>(&mut self, pool: &mut Pool, requests: impl IntoIterator<Item = &'a str>) {
        let mut files = Vec::new();
        for request in requests {
            if let Some(dep) = parse_dep(pool, request) {
                self.reach_providers(pool, dep);
            }
            let path = request.trim();
            if path.starts_with('/') {
                pool.select_file(path, &mut files);
                for &p in &files {
                    self.reach(pool, p);
                }
            }
        }
    }

    pub(crate) fn reach(&mut self, pool: &Pool, p: Id) {
        if pool.in_repo(p, self.repo) && !self.reached[p as usize] {
            self.reached[p as usize] = true;
            self.named[p as usize] = true;
            self.queue.push(p);
        }
    }

    fn name(&mut self, pool: &Pool, p: Id) {
        if pool.in_repo(p, self.repo) {
            self.named[p as usize] = true;
        }
    }

    /// Follow a reached package's dependencies: the providers of its Requires and
    /// Recommends and of the atoms of its rich Conflicts are reached; those of its other
    /// Conflicts and Obsoletes and the packages of its name are named by its rules (as
    /// `solver_addpkgrulesforsolvable` in libsolv's `rules.c` builds them), so they belong
    /// to the reach too: without them the rules differ, and libsolv's order of decisions
    /// with them.
    fn visit(&mut self, pool: &mut Pool, p: Id) {
        let mut deps: Vec<Id> = pool.solvable_deps(p, DepKind::Requires).collect();
        deps.extend(pool.solvable_deps(p, DepKind::Recommends));
        let mut named: Vec<Id> = pool.solvable_deps(p, DepKind::Obsoletes).collect();
        named.push(pool.solvable_name(p));
        for conflict in pool.solvable_deps(p, DepKind::Conflicts) {
            let rich = pool
                .rel_parts(conflict)
                .is_some_and(|(_, _, f)| rel::is_boolean(f));
            if rich { &mut deps } else { &mut named }.push(conflict);
        }
        for dep in deps {
            self.reach_providers(pool, dep);
        }
        for dep in named {
            self.for_providers(pool, dep, Walk::name);
        }
    }

    /// Reach the providers of every atom of `dep`.
    fn reach_providers(&mut self, pool: &mut Pool, dep: Id) {
        self.for_providers(pool, dep, Walk::reach);
    }

    fn for_providers(
        &mut self,
        pool: &mut Pool,
        dep: Id,
        mut each: impl FnMut(&mut Self, &Pool, Id),
    ) {
        let mut atoms = std::mem::take(&mut self.atoms);
        atoms.clear();
        pool.atoms(dep, &mut atoms);
        for &atom in &atoms {
            let providers = pool.whatprovides(atom).to_vec();
            for p in providers {
                each(self, pool, p);
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
    /// Solve a request (built by [`Sack::jobs_for`]) in a reach when that gives the
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
        if let Some(reaches) = self.reach.as_deref_mut() {
            let (whole, start) = (&mut self.pool, self.start);
            let mut covering = None;
            if let Some(narrow) = reaches.narrow.as_mut() {
                covering = narrow
                    .covers(whole, start, group, buildrequires, request)
                    .map(|sub| (narrow, sub, true));
            }
            if covering.is_none() {
                covering = reaches
                    .pass
                    .covers(whole, start, group, buildrequires, request)
                    .map(|sub| (&mut reaches.pass, sub, false));
            }
            let solved = covering.and_then(|(reach, sub, narrow)| {
                let result = reach.solve(whole, start, &sub, ignore_weak_deps, traced)?;
                Some((result, narrow))
            });
            match solved {
                Some((result, narrow)) => {
                    reaches.counts.solved += 1;
                    reaches.counts.solved_narrow += u64::from(narrow);
                    return result;
                }
                None => reaches.counts.whole_pool += 1,
            }
        }
        if traced {
            self.pool.solve_traced(&request.jobs, ignore_weak_deps)
        } else {
            (self.pool.solve(&request.jobs, ignore_weak_deps), None)
        }
    }

    /// How this sack's solves used its reaches (`None` without one).
    pub fn reach_counts(&self) -> Option<ReachCounts> {
        self.reach.as_ref().map(|r| r.counts)
    }
}

impl Reach {
    /// The whole pool's id of this reach's solvable `p`.
    pub(crate) fn to_whole(&self, whole_start: Id, p: Id) -> Id {
        whole_id(&self.file, self.sack.start, whole_start, p)
    }

    /// The request in this reach when it selects the same packages as `request` in the
    /// whole pool (same jobs of the same kinds, same candidates); `None` otherwise.
    fn covers<G: AsRef<str>, B: AsRef<str>>(
        &mut self,
        whole: &mut Pool,
        whole_start: Id,
        group: &[G],
        buildrequires: &[B],
        request: &Request,
    ) -> Option<Request> {
        if !request.missing.is_empty() {
            return None;
        }
        let sub = self.sack.jobs_for(group, buildrequires);
        if !sub.missing.is_empty() || sub.jobs.len() != request.jobs.len() {
            return None;
        }
        let (file, sub_start) = (&self.file, self.sack.start);
        for (&job, &sub_job) in request.jobs.iter().zip(&sub.jobs) {
            let same_kind = matches!(
                (job, sub_job),
                (Job::InstallProvides(_), Job::InstallProvides(_))
                    | (Job::InstallOneOf(_), Job::InstallOneOf(_))
            );
            let in_whole = whole.job_candidates(job);
            let here = self.sack.pool.job_candidates(sub_job);
            if !same_kind
                || in_whole.len() != here.len()
                || in_whole
                    .iter()
                    .zip(here)
                    .any(|(&w, &p)| w != whole_id(file, sub_start, whole_start, p))
            {
                return None;
            }
        }
        Some(sub)
    }

    /// Solve a covered request here; `None` unless it resolves without backtracking.
    /// Installs and trace are in the whole pool's ids.
    fn solve(
        &mut self,
        whole: &Pool,
        whole_start: Id,
        sub: &Request,
        ignore_weak_deps: bool,
        traced: bool,
    ) -> Option<(SolveOutcome, Option<RawTrace>)> {
        let (outcome, raw) = self
            .sack
            .pool
            .solve_fast(&sub.jobs, ignore_weak_deps, traced)?;
        let installs = outcome
            .installs
            .iter()
            .map(|&p| self.to_whole(whole_start, p))
            .collect();
        let trace = match raw {
            None => None,
            Some(raw) => {
                let mut reasons = Vec::with_capacity(raw.level1_requires_reasons.len());
                for &(p, dep) in &raw.level1_requires_reasons {
                    let position = self
                        .sack
                        .pool
                        .solvable_deps(p, DepKind::Requires)
                        .position(|d| d == dep)?;
                    let p = self.to_whole(whole_start, p);
                    let dep = whole.solvable_deps(p, DepKind::Requires).nth(position)?;
                    reasons.push((p, dep));
                }
                reasons.sort_unstable();
                let mut level1_installs: Vec<Id> = raw
                    .level1_installs
                    .iter()
                    .map(|&p| self.to_whole(whole_start, p))
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
}

/// The whole pool's id of solvable `p` of a reach loaded from `file` at `sub_start`.
fn whole_id(file: &ReachFile, sub_start: Id, whole_start: Id, p: Id) -> Id {
    whole_start + file.indices[(p - sub_start) as usize] as Id
}
