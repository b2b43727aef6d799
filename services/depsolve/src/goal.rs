//! The goal of §3.5: build group + BuildRequires → resolved?, problems, installs.

use crate::distance;
use crate::package::{Dependency, PackageIndex};
use crate::sack::Sack;
use crate::solv::{rel, Id, Job, Pool};

/// Options of one resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolveOptions {
    /// Ignore weak dependencies (Recommends/Supplements), like `dependency.ignore_weak_deps`.
    pub ignore_weak_deps: bool,
    /// Compute dependency distances (§3.6) of the installed packages.
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
    /// `No package found for: X` for each missing BuildRequire, or libsolv's problem
    /// descriptions ("Problem: …\n - …"); empty when resolved.
    pub problems: Vec<String>,
    /// The full transitive closure to install (build group included, no `src` packages),
    /// sorted by package index; empty when unresolved.
    pub installs: Vec<Install>,
}

/// Reusable per-sack buffers, so that resolving thousands of packages allocates little.
pub(crate) struct Scratch {
    pub(crate) distance: distance::Scratch,
    candidates: Vec<Id>,
}

impl Scratch {
    pub(crate) fn new(nsolvables: usize) -> Self {
        Scratch {
            distance: distance::Scratch::new(nsolvables),
            candidates: Vec::new(),
        }
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
/// for paths (§3.5). `out` receives the candidate solvables.
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
    /// skipped) and every BuildRequire (missing ones are reported as
    /// `No package found for: <dep>`, except unmatched rich dependencies, which are
    /// skipped), then run the solver into an empty root.
    pub fn resolve<G: AsRef<str>, B: AsRef<str>>(
        &mut self,
        group: &[G],
        buildrequires: &[B],
        options: &ResolveOptions,
    ) -> Resolution {
        let (jobs, level1) = match self.jobs_for(group, buildrequires) {
            Ok(jobs) => jobs,
            Err(problems) => {
                return Resolution {
                    resolved: false,
                    problems,
                    installs: Vec::new(),
                }
            }
        };
        let outcome = self.pool.solve(&jobs, options.ignore_weak_deps);
        if !outcome.problems.is_empty() {
            return Resolution {
                resolved: false,
                problems: outcome.problems,
                installs: Vec::new(),
            };
        }
        self.resolution_of(outcome.installs, &level1, options)
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

    /// The solver jobs of a build group and BuildRequires, and the level-1
    /// candidates (every package matching a BuildRequire, for distances); or
    /// `No package found for: <dep>` for every missing BuildRequire (unmatched
    /// rich dependencies and group members are skipped).
    pub(crate) fn jobs_for<G: AsRef<str>, B: AsRef<str>>(
        &mut self,
        group: &[G],
        buildrequires: &[B],
    ) -> Result<(Vec<Job>, Vec<Id>), Vec<String>> {
        let mut jobs = Vec::with_capacity(group.len() + buildrequires.len());
        let mut candidates = std::mem::take(&mut self.scratch.candidates);
        for name in group {
            if let Some(job) = self.job_for(name.as_ref(), &mut candidates) {
                jobs.push(job);
            }
        }
        let mut problems = Vec::new();
        let mut level1: Vec<Id> = Vec::new();
        for br in buildrequires {
            let br = br.as_ref();
            match self.job_for(br, &mut candidates) {
                Some(job) => {
                    jobs.push(job);
                    level1.extend_from_slice(&candidates);
                }
                None if br.trim_start().starts_with('(') => {}
                None => problems.push(format!("No package found for: {br}")),
            }
        }
        self.scratch.candidates = candidates;
        if problems.is_empty() {
            Ok((jobs, level1))
        } else {
            Err(problems)
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
