//! Installability of binary packages: can one package be installed into an empty root, and
//! what does it bring along — how many packages, how many bytes to download and to install.
//! A whole repository is checked on all cores with [`installability_pass`].

use crate::error::DepsolveError;
use crate::package::PackageIndex;
use crate::parallel::{run_parallel, ParallelOptions, ParallelStats};
use crate::sack::{Sack, SolvFile};
use crate::solv::Job;

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
        let mut sizes = InstallSizes::default();
        if outcome.problems.is_empty() {
            for &p in &outcome.installs {
                sizes.packages += 1;
                sizes.download += self.pool.download_size(p);
                sizes.installed += self.pool.install_size(p);
            }
        }
        Installability {
            package,
            problems: outcome.problems,
            sizes,
        }
    }
}

/// Check every package of `packages` on all cores (one sack per thread from `solv`); the
/// results come back in the order of `packages`.
pub fn installability_pass(
    solv: &SolvFile,
    packages: &[PackageIndex],
    ignore_weak_deps: bool,
    options: &ParallelOptions,
) -> Result<(Vec<Installability>, ParallelStats), DepsolveError> {
    let mut results: Vec<Option<Installability>> = vec![None; packages.len()];
    let stats = run_parallel(
        solv,
        packages,
        options,
        |sack, _, &package| sack.installability(package, ignore_weak_deps),
        |i, result| results[i] = Some(result),
    )?;
    let results = results
        .into_iter()
        .map(|r| r.expect("every job reports a result"))
        .collect();
    Ok((results, stats))
}
