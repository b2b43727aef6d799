//! Safe libsolv wrapper for Koschei: rpm-md loading with a `.solv` cache, build-dependency
//! resolution (`run_goal` in the original's `koschei/backend/depsolve.py`), dependency
//! distances (`compute_dependency_distances`, same file), dependency changes, parallel
//! whole-repository passes and exact incremental re-resolution.
//!
//! This is the only crate of the project allowed `unsafe`; all of it lives in the private
//! `solv` module (the FFI layer against the *system* libsolv, see `build.rs`), the one
//! module that allows the `unsafe_code` lint this crate denies and the workspace forbids.
//!
//! Typical use (a Koji simulator, the admin CLI):
//! ```no_run
//! use koschei_depsolve::{comps, RepoDir, Sack, LoadOptions, ResolveOptions};
//! let repo = RepoDir::open("/path/to/repo")?;
//! let group = comps::read_group(&repo.comps().unwrap(), "build")?.unwrap_or_default();
//! let mut sack = Sack::load(&repo, &LoadOptions::default())?;
//! let res = sack.resolve(&group, &["gcc", "make >= 4"], &ResolveOptions::default());
//! for dep in sack.dependencies(&res) { println!("{} {:?}", dep.nevra, dep.distance); }
//! # Ok::<(), koschei_depsolve::DepsolveError>(())
//! ```

pub mod changes;
pub mod comps;
mod distance;
pub mod error;
mod goal;
pub mod incremental;
mod installability;
pub mod package;
mod parallel;
mod reach;
mod reach_file;
pub mod rebuild;
pub mod repo_cache;
pub mod repomd;
mod sack;
mod solv;
pub mod source;

pub use changes::{
    changes_between, compute_changes, compute_changes_by_ref, ChangeKind, DependencyChange,
};
pub use distance::MAX_DISTANCE;
pub use error::DepsolveError;
pub use goal::{Install, Resolution, ResolveOptions};
pub use incremental::{DeltaStats, InstallTrace, Plan, RepoDelta, SolveTrace, TaintReason};
pub use installability::{
    installability_incremental, installability_pass, IncrementalCounts, InstallSizes,
    Installability,
};
pub use package::{Dependency, Nevra, PackageIndex, PackageTable};
pub use parallel::{peak_rss_bytes, run_fed, run_parallel, ParallelOptions, ParallelStats};
pub use reach::{remove_stale_reach_files, NARROW_BATCH};
pub use reach_file::ReachCounts;
pub use rebuild::{HeaderDep, RebuiltBinary};
pub use repo_cache::{CachedRepo, RepoCache, RepoDescriptor};
pub use repomd::{RepoDir, Repomd, RepomdEntry};
pub use sack::{LoadOptions, Sack, SolvFile, DEFAULT_ARCH};
pub use solv::{rpmvercmp, WeakSolveCounts};
pub use source::{read_source_packages, SourcePackage};
