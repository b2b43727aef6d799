//! Source package repositories (`arch=src` rpm-md): the BuildRequires of each source
//! package are its `rpm:requires`. Used where there is no Koji to ask (benchmark corpus,
//! Koji simulator).

use std::path::PathBuf;

use crate::error::DepsolveError;
use crate::repomd::RepoDir;
use crate::solv::{DepKind, Pool};

/// A source package and its BuildRequires as dependency strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePackage {
    /// Source package name.
    pub name: String,
    /// Its `[E:]V-R`.
    pub evr: String,
    /// BuildRequires (`name`, `name >= evr`, `(a or b)` …), in repository order.
    pub buildrequires: Vec<String>,
}

/// Read every source package of the rpm-md repository under `root`, sorted by name.
pub fn read_source_packages(root: impl Into<PathBuf>) -> Result<Vec<SourcePackage>, DepsolveError> {
    let repo = RepoDir::open(root)?;
    let mut pool = Pool::new(crate::sack::DEFAULT_ARCH);
    let handle = pool.add_repo("source");
    pool.add_rpmmd(handle, &repo.primary()?, false)?;
    let mut out: Vec<SourcePackage> = pool
        .repo_range(handle)
        .filter(|&id| pool.in_repo(id, handle))
        .map(|id| SourcePackage {
            name: pool.id2str(pool.solvable_name(id)).to_string(),
            evr: pool.id2str(pool.solvable_evr(id)).to_string(),
            buildrequires: pool
                .solvable_deps(id, DepKind::Requires)
                .collect::<Vec<_>>()
                .into_iter()
                .map(|d| pool.dep2str(d))
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.evr.cmp(&b.evr)));
    Ok(out)
}
