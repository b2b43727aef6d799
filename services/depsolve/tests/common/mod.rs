//! Shared helpers of the integration tests: locate the shared fixture data.
#![allow(dead_code)]

mod repo_writer;

use std::path::{Path, PathBuf};

use koschei_depsolve::{Dependency, RepoDir, Sack};
pub use repo_writer::RepoPkg;

/// The shared data directory: `$KOSCHEI_SHARED`, else `<workspace>/../shared`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("KOSCHEI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// A Koschei fixture repository (`primary-f25-build-123`, …).
pub fn fixture_repo(name: &str) -> PathBuf {
    shared_dir().join("fixtures/koschei/repos").join(name)
}

/// The f25 fixture repo loaded without cache.
pub fn f25_sack() -> Sack {
    Sack::load_dir(fixture_repo("primary-f25-build-123")).expect("load fixture repo")
}

/// Sorted names of dependency records.
pub fn names(deps: &[Dependency]) -> Vec<String> {
    let mut v: Vec<String> = deps.iter().map(|d| d.nevra.name.clone()).collect();
    v.sort();
    v
}

/// Write an rpm-md repository (primary only) of `pkgs` under `dir` and open it.
pub fn write_repo(dir: &Path, pkgs: &[RepoPkg<'_>]) -> RepoDir {
    repo_writer::write_repo_files(dir, pkgs);
    RepoDir::open(dir).expect("open generated repo")
}

/// A package of version 1 with these Requires and Provides (nothing else).
pub fn pkg<'a>(name: &'a str, requires: &'a [&'a str], provides: &'a [&'a str]) -> RepoPkg<'a> {
    RepoPkg {
        name,
        version: "1",
        requires,
        provides,
        ..RepoPkg::default()
    }
}
