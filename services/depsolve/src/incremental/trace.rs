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

    /// The trace as positions into `resolution`'s installs, the form a service stores next
    /// to the resolved set ([`InstallTrace`]). Reasons whose package is not installed are
    /// left out: such a rule forced its owner out with every provider uninstalled at level
    /// 1, so when it is a grown requirement the plan rejects reuse anyway (no provider
    /// installed at level 1). `None` when a learnt rule shaped the solution (a trace that
    /// never allows reuse, like no trace) or a level-1 install is not among the installs.
    pub fn to_install_positions(&self, resolution: &Resolution) -> Option<InstallTrace> {
        if self.learnt {
            return None;
        }
        // installs are in package order
        let position = |package: u32| {
            resolution
                .installs
                .binary_search_by_key(&package, |i| i.package.0)
                .ok()
                .map(|p| p as u32)
        };
        let level1 = self
            .level1_installs
            .iter()
            .map(|&p| position(p))
            .collect::<Option<Vec<u32>>>()?;
        let reasons = self
            .level1_reasons
            .iter()
            .filter_map(|&key| {
                let (package, requires) = split_requires_key(key);
                position(package).map(|p| (p, requires))
            })
            .collect();
        Some(InstallTrace { level1, reasons })
    }

    /// The trace stored as [`InstallTrace`] next to `resolution` (its installs in the
    /// solved repository); `None` when a position is out of range.
    pub fn from_install_positions(trace: &InstallTrace, resolution: &Resolution) -> Option<Self> {
        let package = |position: u32| {
            resolution
                .installs
                .get(position as usize)
                .map(|i| i.package.0)
        };
        let mut level1_installs = trace
            .level1
            .iter()
            .map(|&p| package(p))
            .collect::<Option<Vec<u32>>>()?;
        level1_installs.sort_unstable();
        let mut level1_reasons = trace
            .reasons
            .iter()
            .map(|&(p, requires)| package(p).map(|p| requires_key(p, requires as usize)))
            .collect::<Option<Vec<u64>>>()?;
        level1_reasons.sort_unstable();
        Some(SolveTrace {
            level1_installs,
            level1_reasons,
            learnt: false,
        })
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
        let (outcome, raw) = self.solve_request(
            group,
            buildrequires,
            &request,
            options.ignore_weak_deps,
            true,
        );
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

    /// Recompute the distances (`distance.rs`) of a reused resolution in this repository: they
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

/// Package index and requires position of a [`requires_key`].
pub(crate) fn split_requires_key(key: u64) -> (u32, u32) {
    ((key >> 16) as u32, (key & 0xffff) as u32)
}

/// A [`SolveTrace`] relative to the installs of its resolution (positions into
/// [`Resolution::installs`], so into any list of the installed packages kept in the same
/// order): what a service stores with a resolved set to plan the next repository's pass
/// with [`super::RepoDelta::plan_traced`]. A learnt solve has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallTrace {
    /// Positions of the packages installed at decision level 1, ascending.
    pub level1: Vec<u32>,
    /// Requires rules of installed packages that forced a level-1 decision: (position of
    /// the package, position of the dependency in its requires array), ascending.
    pub reasons: Vec<(u32, u32)>,
}

impl InstallTrace {
    /// The same trace with positions renumbered by `map` (old position → new position),
    /// sorted again; `None` when `map` has no entry for a position.
    pub fn renumbered(&self, map: impl Fn(u32) -> Option<u32>) -> Option<InstallTrace> {
        let mut level1 = self
            .level1
            .iter()
            .map(|&p| map(p))
            .collect::<Option<Vec<u32>>>()?;
        level1.sort_unstable();
        let mut reasons = self
            .reasons
            .iter()
            .map(|&(p, r)| map(p).map(|p| (p, r)))
            .collect::<Option<Vec<(u32, u32)>>>()?;
        reasons.sort_unstable();
        Some(InstallTrace { level1, reasons })
    }
}
