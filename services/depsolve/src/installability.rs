//! Installability of binary packages: can one package be installed into an empty root, and
//! what does it bring along — how many packages, how many bytes to download and to install.
//! A whole repository is checked on all cores with [`installability_pass`].
//!
//! Most of a solve's cost on a distribution grows with the pool, not with the request:
//! libsolv walks every solvable of the pool several times per solve. A pass therefore
//! checks its packages in batches of [`BATCH`] neighbours, each in the reach of the batch
//! (`reach.rs`: the packages the batch's solves can build rules for or name), cut from
//! the whole repository and loaded as a pool of its own, where a solve gives the same
//! answer when it resolves without backtracking (`Pool::solve_fast`); anything else, and
//! every uninstallable package (whose problems are described in the whole pool), is solved
//! in the whole pool.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::error::DepsolveError;
use crate::incremental::RepoDelta;
use crate::package::PackageIndex;
use crate::parallel::{run_parallel, ParallelOptions, ParallelStats};
use crate::reach::{reach_of, write_reach_set, Walk};
use crate::sack::{Reach, Sack, SolvFile};
use crate::solv::{Id, Job, Pool};

/// Packages checked in one reach by [`installability_pass`].
pub const BATCH: usize = 3000;

/// What installing one binary package into an empty root gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installability {
    /// The package checked.
    pub package: PackageIndex,
    /// libsolv's problem descriptions; empty when the package is installable.
    pub problems: Vec<String>,
    /// The install set, the package itself included: package count, total download size
    /// and total installed size in bytes (rpm-md `size package=` / `installed=`); all 0
    /// when the package is not installable.
    pub sizes: InstallSizes,
    /// The install set itself (empty when not installable): what the next repository's
    /// incremental pass maps through φ ([`installability_incremental`]).
    pub installs: Vec<PackageIndex>,
}

impl Installability {
    /// True when the package can be installed.
    pub fn installable(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Totals of one install set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallSizes {
    /// Packages installed.
    pub packages: u32,
    /// Bytes to download.
    pub download: u64,
    /// Bytes installed.
    pub installed: u64,
}

impl InstallSizes {
    /// The totals of `installs`, with each package's (download, installed) bytes from
    /// `sizes`, indexed by package.
    fn of(installs: &[PackageIndex], sizes: &[(u64, u64)]) -> InstallSizes {
        let mut totals = InstallSizes::default();
        for p in installs {
            let (download, installed) = sizes[p.0 as usize];
            totals.packages += 1;
            totals.download += download;
            totals.installed += installed;
        }
        totals
    }
}

impl Sack {
    /// The binary packages of the repository: every package of an architecture this sack
    /// resolves for, source packages excluded.
    pub fn binary_packages(&self) -> Vec<PackageIndex> {
        (0..self.len)
            .map(PackageIndex)
            .filter(|&i| self.pool.arch_installable(self.id_of(i)))
            .collect()
    }

    /// Name of the source package `package` was built from.
    pub fn source_name(&self, package: PackageIndex) -> &str {
        self.pool.id2str(self.pool.source_name(self.id_of(package)))
    }

    /// Install `package` alone into an empty root (weak dependencies ignored when asked).
    pub fn installability(
        &mut self,
        package: PackageIndex,
        ignore_weak_deps: bool,
    ) -> Installability {
        let id = self.id_of(package);
        let job = Job::InstallOneOf(self.pool.ids_to_whatprovides(&[id]));
        let outcome = self.pool.solve(&[job], ignore_weak_deps);
        self.installability_of(package, outcome.problems, &outcome.installs)
    }

    /// The outcome of installing `package`: `installs` are ids of this sack's pool.
    fn installability_of(
        &self,
        package: PackageIndex,
        problems: Vec<String>,
        installs: &[Id],
    ) -> Installability {
        let installs: Vec<PackageIndex> = installs
            .iter()
            .map(|&p| PackageIndex((p - self.start) as u32))
            .collect();
        Installability {
            package,
            problems,
            sizes: InstallSizes::of(&installs, self.package_sizes()),
            installs,
        }
    }

    /// [`Sack::installability`] of each of `packages`, solved in their reach where that
    /// gives the same answer (module documentation). `solv` is the file this sack was
    /// loaded from.
    pub fn installability_batch(
        &mut self,
        solv: &SolvFile,
        packages: &[PackageIndex],
        ignore_weak_deps: bool,
    ) -> Result<Vec<Installability>, DepsolveError> {
        let seeds: Vec<Id> = packages.iter().map(|&p| self.id_of(p)).collect();
        let seed = |walk: &mut Walk, pool: &mut Pool| {
            for &p in &seeds {
                walk.reach(pool, p);
            }
        };
        let own = self.repo;
        let reached = self
            .pool
            .with_weak_deps_shown(|pool| reach_of(pool, own, seed));
        let (pool, repo) = solv.load_pool_verified_before()?;
        let file = write_reach_set(pool, repo, &reached, &solv.path, &solv.arch, |i| i)?;
        let mut reach = Reach::load(Arc::new(file), &mut self.pool)?;
        Ok(packages
            .iter()
            .map(|&package| {
                self.installability_in(&mut reach, package, ignore_weak_deps)
                    .unwrap_or_else(|| self.installability(package, ignore_weak_deps))
            })
            .collect())
    }

    /// `package` installed in `reach`, when that is exact (resolvable, no backtracking).
    fn installability_in(
        &mut self,
        reach: &mut Reach,
        package: PackageIndex,
        ignore_weak_deps: bool,
    ) -> Option<Installability> {
        let position = reach.file.indices.binary_search(&package.0).ok()?;
        let here = reach.sack.id_of(PackageIndex(position as u32));
        let job = Job::InstallOneOf(reach.sack.pool.ids_to_whatprovides(&[here]));
        let (outcome, _) = reach
            .sack
            .pool
            .solve_fast(&[job], ignore_weak_deps, false)?;
        let installs: Vec<Id> = outcome
            .installs
            .iter()
            .map(|&p| reach.to_whole(self.start, p))
            .collect();
        Some(self.installability_of(package, Vec::new(), &installs))
    }

    /// Download and installed size of each package, looked up once per sack.
    fn package_sizes(&self) -> &[(u64, u64)] {
        self.sizes.get_or_init(|| {
            (0..self.len)
                .map(|i| {
                    let id = self.id_of(PackageIndex(i));
                    (self.pool.download_size(id), self.pool.install_size(id))
                })
                .collect()
        })
    }
}

/// Check every package of `packages` on all cores (one sack per thread from `solv`, a
/// reach per [`BATCH`] of them, fewer when there are not enough for every thread); the
/// results come back in the order of `packages`.
pub fn installability_pass(
    solv: &SolvFile,
    packages: &[PackageIndex],
    ignore_weak_deps: bool,
    options: &ParallelOptions,
) -> Result<(Vec<Installability>, ParallelStats), DepsolveError> {
    // a few packages (an incremental pass) are still spread over every thread
    let batch = BATCH.min(packages.len().div_ceil(options.thread_count()).max(1));
    let batches: Vec<&[PackageIndex]> = packages.chunks(batch).collect();
    let mut results: Vec<Option<Result<Vec<Installability>, DepsolveError>>> =
        (0..batches.len()).map(|_| None).collect();
    let options = ParallelOptions {
        chunk: 1,
        ..options.clone()
    };
    let stats = run_parallel(
        solv,
        &batches,
        &options,
        |sack, _, batch| sack.installability_batch(solv, batch, ignore_weak_deps),
        |i, result| results[i] = Some(result),
    )?;
    let mut all = Vec::with_capacity(packages.len());
    for batch in results {
        all.extend(batch.expect("every batch reports a result")?);
    }
    Ok((all, stats))
}

/// What [`installability_incremental`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncrementalCounts {
    /// Results carried over through φ.
    pub reused: usize,
    /// Packages solved again.
    pub solved: usize,
}

/// The installability of `packages` of the repository `new`, knowing `previous` — the
/// results of a pass over `old` (any order, install sets included). A package whose
/// predecessor installed and whose install carries over ([`RepoDelta::reusable_install`],
/// every member of its install set with a successor) gets the φ-image of its old result,
/// with the sizes of the new packages; everything else (new packages, uninstallable ones,
/// whose problems name versions, and those the delta touches) goes through
/// [`installability_pass`]. Results come back in the order of `packages`.
pub fn installability_incremental(
    old: &SolvFile,
    new: &SolvFile,
    previous: &[Installability],
    packages: &[PackageIndex],
    options: &ParallelOptions,
) -> Result<(Vec<Installability>, IncrementalCounts), DepsolveError> {
    let delta = RepoDelta::analyze(old, new)?;
    // each package's sizes looked up once, not once per install set holding it
    let new_sizes: Vec<(u64, u64)> = (0..delta.new_len())
        .map(|i| delta.new_sizes(PackageIndex(i as u32)))
        .collect();
    let mut carried: FxHashMap<u32, Installability> = FxHashMap::default();
    for before in previous.iter().filter(|r| r.installable()) {
        let Some(successor) = delta.reusable_install(before.package) else {
            continue;
        };
        let installs: Option<Vec<PackageIndex>> = before
            .installs
            .iter()
            .map(|&p| delta.successor(p))
            .collect();
        let Some(installs) = installs else { continue };
        carried.insert(
            successor.0,
            Installability {
                package: successor,
                problems: Vec::new(),
                sizes: InstallSizes::of(&installs, &new_sizes),
                installs,
            },
        );
    }
    drop(delta);
    let to_solve: Vec<PackageIndex> = packages
        .iter()
        .copied()
        .filter(|p| !carried.contains_key(&p.0))
        .collect();
    let (solved, _) = installability_pass(new, &to_solve, new.ignore_weak_deps, options)?;
    let counts = IncrementalCounts {
        reused: packages.len() - to_solve.len(),
        solved: to_solve.len(),
    };
    let mut solved = solved.into_iter();
    let results = packages
        .iter()
        .map(|p| match carried.remove(&p.0) {
            Some(r) => Ok(r),
            None => solved
                .next()
                .ok_or_else(|| DepsolveError::InvalidInput("a solved result is missing".into())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((results, counts))
}
