//! One resolution (`run_goal` in the original's `koschei/backend/depsolve.py`): build
//! group + BuildRequires → resolved?, problems, installs.

use crate::distance;
use crate::package::{Dependency, PackageIndex};
use crate::sack::Sack;
use crate::solv::{rel, Id, Job, Pool};

/// Options of one resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolveOptions {
    /// Ignore weak dependencies (Recommends/Supplements), like `dependency.ignore_weak_deps`.
    pub ignore_weak_deps: bool,
    /// Compute the dependency distances (`distance.rs`) of the installed packages.
    pub distances: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            ignore_weak_deps: false,
            distances: true,
        }
    }
}

/// One installed package of a [`Resolution`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Install {
    /// The package, in the repository the resolution ran against.
    pub package: PackageIndex,
    /// Its dependency distance (1..=4) or `None`.
    pub distance: Option<u8>,
}

/// Result of resolving one build group + BuildRequires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolution {
    /// True when there are no problems at all.
    pub resolved: bool,
    /// `No package found for: X` for each missing BuildRequire, then libsolv's problem
    /// descriptions ("Problem: …\n - …") of the rest, each text once; empty when resolved.
    pub problems: Vec<String>,
    /// The full transitive closure to install (build group included, no `src` packages),
    /// sorted by package index; empty when unresolved.
    pub installs: Vec<Install>,
}

impl Resolution {
    /// An unresolvable outcome with these problems.
    pub(crate) fn unresolved(problems: Vec<String>) -> Resolution {
        Resolution {
            resolved: false,
            problems,
            installs: Vec::new(),
        }
    }
}

/// What the solver is asked for one build (see [`Sack::jobs_for`]).
pub(crate) struct Request {
    /// Install jobs of the matching group members and BuildRequires.
    pub(crate) jobs: Vec<Job>,
    /// Every package matching a BuildRequire (distance level 1).
    pub(crate) level1: Vec<Id>,
    /// `No package found for: <dep>` of each missing BuildRequire, in their order.
    pub(crate) missing: Vec<String>,
}

impl Request {
    /// The problems of a build given the solver's: the missing BuildRequires first (in
    /// their order), then the solver's problems, each text once; `None` when there are
    /// none at all.
    pub(crate) fn problems(&self, solver: Vec<String>) -> Option<Vec<String>> {
        if self.missing.is_empty() && solver.is_empty() {
            return None;
        }
        let mut problems: Vec<String> = Vec::with_capacity(self.missing.len() + solver.len());
        for p in self.missing.iter().cloned().chain(solver) {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
        Some(problems)
    }
}

/// Parse a dependency string (`name`, `name op evr`, or an RPM rich dependency starting
/// with `(`) into a dependency id of `pool`; `None` when it cannot be parsed.
pub(crate) fn parse_dep(pool: &mut Pool, dep: &str) -> Option<Id> {
    let dep = dep.trim();
    if dep.starts_with('(') {
        return pool.parse_rich_dep(dep);
    }
    let mut parts = dep.split_whitespace();
    let name = parts.next()?;
    let name_id = pool.str2id(name, true);
    let Some(op) = parts.next() else {
        return Some(name_id);
    };
    let evr = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let flags = match op {
        "<" => rel::LT,
        "<=" | "=<" => rel::LT | rel::EQ,
        "=" | "==" => rel::EQ,
        ">=" | "=>" => rel::GT | rel::EQ,
        ">" => rel::GT,
        _ => return None,
    };
    let evr_id = pool.str2id(evr, true);
    Some(pool.rel2id(name_id, evr_id, flags))
}

/// How a build group member or BuildRequire selects packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// By provides of this dependency (simple, versioned or rich).
    Provides(Id),
    /// By file list (a path no package provides explicitly); the matching solvables.
    Files(Vec<Id>),
    /// Nothing matches.
    Nothing,
}

/// Select packages for one dependency string: by provides, falling back to the file list
/// for paths (`_get_builddep_selector` in `koschei/backend/depsolve.py`). `out` receives
/// the candidate solvables.
pub(crate) fn select(pool: &mut Pool, dep: &str, out: &mut Vec<Id>) -> Selection {
    out.clear();
    if let Some(id) = parse_dep(pool, dep) {
        let providers = pool.whatprovides(id);
        if !providers.is_empty() {
            out.extend_from_slice(providers);
            return Selection::Provides(id);
        }
    }
    if dep.trim_start().starts_with('/') {
        pool.select_file(dep.trim(), out);
        if !out.is_empty() {
            return Selection::Files(out.clone());
        }
    }
    Selection::Nothing
}

impl Sack {
    /// Resolve a build: install every matching build group member (missing ones are
    /// skipped) and every matching BuildRequire, then run the solver into an empty root.
    /// A missing BuildRequire (unmatched rich dependencies excepted, which are skipped) is
    /// reported as `No package found for: <dep>` and the solver still runs on the rest,
    /// so its problems follow (as `run_goal` in Koschei's `koschei/backend/depsolve.py`).
    pub fn resolve<G: AsRef<str>, B: AsRef<str>>(
        &mut self,
        group: &[G],
        buildrequires: &[B],
        options: &ResolveOptions,
    ) -> Resolution {
        let request = self.jobs_for(group, buildrequires);
        let (outcome, _) = self.solve_request(
            group,
            buildrequires,
            &request,
            options.ignore_weak_deps,
            false,
        );
        match request.problems(outcome.problems) {
            Some(problems) => Resolution::unresolved(problems),
            None => self.resolution_of(outcome.installs, &request.level1, options),
        }
    }

    /// The resolution of a successful solve: the installed packages of this repository
    /// (source packages left out), in solvable order, with their distances when asked.
    pub(crate) fn resolution_of(
        &mut self,
        installs: Vec<Id>,
        level1: &[Id],
        options: &ResolveOptions,
    ) -> Resolution {
        let src = self.pool.str2id("src", false);
        let mut installed: Vec<Id> = installs
            .into_iter()
            .filter(|&p| self.pool.in_repo(p, self.repo) && self.pool.solvable_arch(p) != src)
            .collect();
        installed.sort_unstable();
        let distances = if options.distances {
            distance::compute(
                &mut self.pool,
                &mut self.scratch.distance,
                level1,
                &installed,
            )
        } else {
            vec![None; installed.len()]
        };
        Resolution {
            resolved: true,
            problems: Vec::new(),
            installs: installed
                .iter()
                .zip(distances)
                .map(|(&p, distance)| Install {
                    package: self.index_of(p),
                    distance,
                })
                .collect(),
        }
    }

    /// The solver request of a build group and BuildRequires: the jobs of everything that
    /// matches, the level-1 candidates (every package matching a BuildRequire, for
    /// distances) and a `No package found for: <dep>` problem for every missing
    /// BuildRequire (unmatched rich dependencies and group members are skipped).
    pub(crate) fn jobs_for<G: AsRef<str>, B: AsRef<str>>(
        &mut self,
        group: &[G],
        buildrequires: &[B],
    ) -> Request {
        let mut jobs = Vec::with_capacity(group.len() + buildrequires.len());
        let mut candidates = std::mem::take(&mut self.scratch.candidates);
        for name in group {
            if let Some(job) = self.job_for(name.as_ref(), &mut candidates) {
                jobs.push(job);
            }
        }
        let mut missing = Vec::new();
        let mut level1: Vec<Id> = Vec::new();
        for br in buildrequires {
            let br = br.as_ref();
            match self.job_for(br, &mut candidates) {
                Some(job) => {
                    jobs.push(job);
                    level1.extend_from_slice(&candidates);
                }
                None if br.trim_start().starts_with('(') => {}
                None => missing.push(format!("No package found for: {br}")),
            }
        }
        self.scratch.candidates = candidates;
        Request {
            jobs,
            level1,
            missing,
        }
    }

    pub(crate) fn job_for(&mut self, dep: &str, candidates: &mut Vec<Id>) -> Option<Job> {
        match select(&mut self.pool, dep, candidates) {
            Selection::Provides(id) => Some(Job::InstallProvides(id)),
            Selection::Files(ids) => Some(Job::InstallOneOf(self.pool.ids_to_whatprovides(&ids))),
            Selection::Nothing => None,
        }
    }

    /// The installs of a resolution as dependency records (NEVRA + distance).
    pub fn dependencies(&self, resolution: &Resolution) -> Vec<Dependency> {
        resolution
            .installs
            .iter()
            .map(|i| Dependency {
                nevra: self.package(i.package),
                distance: i.distance,
            })
            .collect()
    }
}
