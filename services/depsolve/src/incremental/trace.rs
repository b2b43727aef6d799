//! What a previous solve did: the compact per-package trace the fine-grained reuse test of
//! [`super::RepoDelta::plan_traced`] reads.

use crate::goal::{Resolution, ResolveOptions};
use crate::sack::Sack;
use crate::solv::{DepKind, Id};

/// The part of a successful solve that decides whether a newly added alternative provider
/// can matter: everything installed at decision level 1 (the job assertions and their unit
/// propagation, before libsolv made any free choice) and the packages whose rules were the
/// reasons of those decisions. Indices are the [`crate::PackageIndex`]es of the solved repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolveTrace {
    /// Packages installed at level 1, sorted.
    pub(crate) level1_installs: Vec<u32>,
    /// Requires rules that forced a level-1 decision, as `package << 16 | position of the
    /// dependency in the package's requires`, sorted.
    pub(crate) level1_reasons: Vec<u64>,
    /// A learnt rule (conflict analysis) shaped the solution.
    pub(crate) learnt: bool,
}

impl SolveTrace {
    /// Was `package` installed at level 1?
    pub(crate) fn installed_at_level1(&self, package: u32) -> bool {
        self.level1_installs.binary_search(&package).is_ok()
    }

    /// Heap bytes held by the trace.
    pub fn heap_bytes(&self) -> usize {
        self.level1_installs.capacity() * 4 + self.level1_reasons.capacity() * 8
    }
}

impl Sack {
    /// [`Sack::resolve`], also returning the [`SolveTrace`] of the solve (`None` when the
    /// package did not resolve). The resolution is identical to [`Sack::resolve`]'s.
    pub fn resolve_traced<G: AsRef<str>, B: AsRef<str>>(
        &mut self,
        group: &[G],
        buildrequires: &[B],
        options: &ResolveOptions,
    ) -> (Resolution, Option<SolveTrace>) {
        let request = self.jobs_for(group, buildrequires);
        let (outcome, raw) = self
            .pool
            .solve_traced(&request.jobs, options.ignore_weak_deps);
        if let Some(problems) = request.problems(outcome.problems) {
            return (Resolution::unresolved(problems), None);
        }
        let Some(raw) = raw else {
            // cannot happen: a solve without problems always has a trace
            return (Resolution::unresolved(Vec::new()), None);
        };
        let resolution = self.resolution_of(outcome.installs, &request.level1, options);
        let to_index = |ids: &[Id], sack: &Sack| -> Vec<u32> {
            ids.iter()
                .filter(|&&p| sack.pool.in_repo(p, sack.repo))
                .map(|&p| sack.index_of(p).0)
                .collect()
        };
        let trace = SolveTrace {
            level1_installs: to_index(&raw.level1_installs, self),
            level1_reasons: self.requires_positions(&raw.level1_requires_reasons),
            learnt: raw.learnt,
        };
        (resolution, Some(trace))
    }

    /// Recompute the distances (§3.6) of a reused resolution in this repository: they
    /// follow every provider of the first levels, so a new alternative provider can change
    /// them even when the installed set stays the same.
    pub fn recompute_distances<B: AsRef<str>>(
        &mut self,
        buildrequires: &[B],
        resolution: &mut Resolution,
    ) {
        let mut candidates: Vec<Id> = Vec::new();
        let mut level1: Vec<Id> = Vec::new();
        for br in buildrequires {
            if self.job_for(br.as_ref(), &mut candidates).is_some() {
                level1.extend_from_slice(&candidates);
            }
        }
        let installed: Vec<Id> = resolution
            .installs
            .iter()
            .map(|i| self.id_of(i.package))
            .collect();
        let distances = crate::distance::compute(
            &mut self.pool,
            &mut self.scratch.distance,
            &level1,
            &installed,
        );
        for (install, distance) in resolution.installs.iter_mut().zip(distances) {
            install.distance = distance;
        }
    }

    /// `(solvable, requires dependency)` pairs as sorted `index << 16 | position` keys.
    fn requires_positions(&self, reasons: &[(Id, Id)]) -> Vec<u64> {
        let mut keys: Vec<u64> = reasons
            .iter()
            .filter(|&&(p, _)| self.pool.in_repo(p, self.repo))
            .map(|&(p, dep)| {
                let position = self
                    .pool
                    .solvable_deps(p, DepKind::Requires)
                    .position(|d| d == dep)
                    // not found cannot happen; a key no dependency has keeps it harmless
                    .unwrap_or(0xffff);
                requires_key(self.index_of(p).0, position)
            })
            .collect();
        keys.sort_unstable();
        keys
    }
}

/// Key of one requires dependency: package index and position in its requires array.
pub(crate) fn requires_key(package: u32, position: usize) -> u64 {
    (package as u64) << 16 | position.min(0xffff) as u64
}
