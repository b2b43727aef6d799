//! A loaded binary repository ready for resolution: one libsolv pool (per thread) holding
//! one repo, with a `.solv` cache so that reloading costs a fraction of parsing XML.

use std::path::{Path, PathBuf};

use crate::error::DepsolveError;
use std::sync::Arc;

use crate::package::{Nevra, PackageIndex, PackageTable};
use crate::reach_file::{ReachCounts, ReachFile};
use crate::repomd::RepoDir;
use crate::solv::{Id, Pool, RepoHandle, WeakSolveCounts};

/// The architecture Koschei resolves for (`dependency.resolve_for_arch`).
pub const DEFAULT_ARCH: &str = "x86_64";

/// How to load a repository.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Architecture to resolve for.
    pub arch: String,
    /// Directory for `.solv` cache files (named after the repomd.xml fingerprint); `None`
    /// parses the XML every time.
    pub solv_cache_dir: Option<PathBuf>,
    /// Koschei's `dependency.ignore_weak_deps`, for the incremental analysis of repos
    /// loaded with these options ([`crate::RepoDelta`]); each resolution says whether it
    /// ignores weak dependencies ([`crate::ResolveOptions`]). Either way a sack builds
    /// libsolv's rules without the weak dependencies that cannot install anything and
    /// gives libsolv's answer with them all (`solv/weak.rs`).
    pub ignore_weak_deps: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            arch: DEFAULT_ARCH.to_string(),
            solv_cache_dir: None,
            ignore_weak_deps: false,
        }
    }
}

/// A `.solv` file holding one repository, from which any number of [`Sack`]s (one per
/// thread) can be loaded quickly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolvFile {
    /// Path of the `.solv` file.
    pub path: PathBuf,
    /// Architecture the sacks resolve for.
    pub arch: String,
    /// See [`LoadOptions::ignore_weak_deps`].
    pub ignore_weak_deps: bool,
    /// The reach sacks solve in, when set ([`SolvFile::with_reach`]).
    pub(crate) reach: Option<Arc<ReachFile>>,
}

impl SolvFile {
    /// Return the `.solv` cache file of `repo` in `cache_dir`, writing it from the rpm-md
    /// XML (primary + filelists) first when missing. Concurrent writers are safe: the file
    /// is written under a unique temporary name and renamed into place, after its checksum
    /// (`<file>.crc`), which [`SolvFile::load`] verifies: libsolv trusts a `.solv` file, so
    /// a damaged cache file must never reach it.
    pub fn ensure(
        repo: &RepoDir,
        cache_dir: &Path,
        options: &LoadOptions,
    ) -> Result<Self, DepsolveError> {
        Self::ensure_of(&[repo], repo.fingerprint()?, cache_dir, options)
    }

    /// The `.solv` file of several rpm-md repositories as one (every package of each: a
    /// repository layered over another, as dnf sees them both enabled), written like
    /// [`SolvFile::ensure`]'s.
    pub fn ensure_layered(
        repos: &[&RepoDir],
        cache_dir: &Path,
        options: &LoadOptions,
    ) -> Result<Self, DepsolveError> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        for repo in repos {
            hasher.update(repo.fingerprint()?.as_bytes());
        }
        let fingerprint = format!("layered-{}", hex::encode(&hasher.finalize()[..12]));
        Self::ensure_of(repos, fingerprint, cache_dir, options)
    }

    fn ensure_of(
        repos: &[&RepoDir],
        fingerprint: String,
        cache_dir: &Path,
        options: &LoadOptions,
    ) -> Result<Self, DepsolveError> {
        let arch = options.arch.as_str();
        let path = cache_dir.join(format!("{fingerprint}.solv"));
        if !path.is_file() || !checksum_path(&path).is_file() {
            std::fs::create_dir_all(cache_dir).map_err(|e| DepsolveError::io(cache_dir, e))?;
            let (pool, handle) = load_xml(repos, arch)?;
            let tmp = cache_dir.join(format!(".{fingerprint}.{}.tmp", std::process::id()));
            pool.write_solv(handle, &tmp)?;
            let crc = checksum(&tmp)?;
            let crc_tmp = tmp.with_extension("crc.tmp");
            std::fs::write(&crc_tmp, crc.to_string())
                .map_err(|e| DepsolveError::io(&crc_tmp, e))?;
            let crc_path = checksum_path(&path);
            std::fs::rename(&crc_tmp, &crc_path).map_err(|e| DepsolveError::io(&crc_path, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| DepsolveError::io(&path, e))?;
        }
        Ok(SolvFile {
            path,
            arch: arch.to_string(),
            ignore_weak_deps: options.ignore_weak_deps,
            reach: None,
        })
    }

    /// Load a sack from this file (with the reach, when there is one). A file whose
    /// checksum does not match is removed (the next [`SolvFile::ensure`] writes it again)
    /// and is an error.
    pub fn load(&self) -> Result<Sack, DepsolveError> {
        let (pool, handle) = self.load_pool()?;
        let mut sack = Sack::from_pool(pool, handle);
        sack.reach = self.load_reach(&mut sack.pool)?;
        Ok(sack)
    }

    /// The file's repository in a new pool, without verifying its checksum again (for a
    /// file a sack of this process was loaded from).
    pub(crate) fn load_pool_verified_before(&self) -> Result<(Pool, RepoHandle), DepsolveError> {
        let mut pool = Pool::new(&self.arch);
        let handle = pool.add_repo("repo");
        pool.add_solv(handle, &self.path)?;
        Ok((pool, handle))
    }

    /// The file's repository in a new pool, its checksum verified.
    pub(crate) fn load_pool(&self) -> Result<(Pool, RepoHandle), DepsolveError> {
        let crc_path = checksum_path(&self.path);
        let expected = std::fs::read_to_string(&crc_path).ok();
        if expected.as_deref().map(str::trim) != Some(checksum(&self.path)?.to_string().as_str()) {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(&crc_path);
            return Err(DepsolveError::Metadata(format!(
                "{}: damaged .solv cache file (checksum mismatch); removed",
                self.path.display()
            )));
        }
        self.load_pool_verified_before()
    }
}

/// The checksum file of a `.solv` file.
fn checksum_path(solv: &Path) -> PathBuf {
    let mut name = solv.as_os_str().to_owned();
    name.push(".crc");
    PathBuf::from(name)
}

/// CRC-32 of a file (damage detection for our own cache, not an adversary's).
fn checksum(path: &Path) -> Result<u32, DepsolveError> {
    let data = std::fs::read(path).map_err(|e| DepsolveError::io(path, e))?;
    Ok(crc32fast::hash(&data))
}

/// The packages of `repos` in one libsolv repository (each repository's filelists
/// extend its own packages: libsolv matches them by package checksum).
fn load_xml(repos: &[&RepoDir], arch: &str) -> Result<(Pool, RepoHandle), DepsolveError> {
    let mut pool = Pool::new(arch);
    let handle = pool.add_repo("repo");
    for repo in repos {
        pool.add_rpmmd(handle, &repo.primary()?, false)?;
        if let Some(filelists) = repo.filelists() {
            pool.add_rpmmd(handle, &filelists, true)?;
        }
    }
    pool.internalize(handle);
    Ok((pool, handle))
}

/// Reusable per-sack buffers, so that resolving thousands of packages allocates little.
pub(crate) struct Scratch {
    pub(crate) distance: crate::distance::Scratch,
    /// Candidates of one job ([`Sack::jobs_for`]).
    pub(crate) candidates: Vec<Id>,
}

impl Scratch {
    pub(crate) fn new(nsolvables: usize) -> Self {
        Scratch {
            distance: crate::distance::Scratch::new(nsolvables),
            candidates: Vec::new(),
        }
    }
}

/// A reach (`reach.rs`) loaded into a sack of its own.
pub(crate) struct Reach {
    pub(crate) sack: Sack,
    /// The file `sack` was loaded from, with the map back to the whole repository.
    pub(crate) file: Arc<ReachFile>,
}

/// The reaches of a sack (`reach.rs`): the pass's, and the one cut from it for the
/// requests coming next (`Sack::narrow_reach`), tried first.
pub(crate) struct Reaches {
    pub(crate) pass: Reach,
    pub(crate) narrow: Option<Reach>,
    pub(crate) counts: ReachCounts,
    /// Fast solves of the narrow reaches replaced since.
    pub(crate) replaced_fast: u64,
}

/// One binary repository loaded into its own libsolv pool (RPM semantics), with the
/// provides index built. Not `Send`: create one per thread.
pub struct Sack {
    pub(crate) pool: Pool,
    pub(crate) repo: RepoHandle,
    pub(crate) start: Id,
    pub(crate) len: u32,
    pub(crate) scratch: Scratch,
    /// Where requests of the pass are solved when that is the same (`reach.rs`).
    pub(crate) reach: Option<Box<Reaches>>,
    /// Download and installed size of each package, looked up on first use
    /// (`installability.rs` sums them for every install set).
    pub(crate) sizes: std::cell::OnceCell<Vec<(u64, u64)>>,
}

impl Sack {
    /// Load an rpm-md repository (primary + filelists), through the `.solv` cache when
    /// `options.solv_cache_dir` is set.
    pub fn load(repo: &RepoDir, options: &LoadOptions) -> Result<Self, DepsolveError> {
        match &options.solv_cache_dir {
            Some(dir) => SolvFile::ensure(repo, dir, options)?.load(),
            None => {
                let (pool, handle) = load_xml(&[repo], &options.arch)?;
                Ok(Sack::from_pool(pool, handle))
            }
        }
    }

    /// Open and load the rpm-md repository under `root` without a cache.
    pub fn load_dir(root: impl Into<PathBuf>) -> Result<Self, DepsolveError> {
        Sack::load(&RepoDir::open(root)?, &LoadOptions::default())
    }

    /// A sack of a whole repository's pool: its dependency arrays are put in the order of
    /// its ids (`solv/dep_order.rs`).
    pub(crate) fn from_pool(mut pool: Pool, repo: RepoHandle) -> Self {
        pool.sort_dep_arrays(repo, |_, d| d);
        Sack::from_ordered_pool(pool, repo)
    }

    /// A sack of a pool whose dependency arrays are in its whole repository's order.
    pub(crate) fn from_ordered_pool(mut pool: Pool, repo: RepoHandle) -> Self {
        pool.create_whatprovides();
        pool.hide_weak_deps();
        let range = pool.repo_range(repo);
        let scratch = Scratch::new(pool.nsolvables());
        Sack {
            pool,
            repo,
            start: range.start,
            len: (range.end - range.start) as u32,
            scratch,
            reach: None,
            sizes: std::cell::OnceCell::new(),
        }
    }

    /// How the solves of this sack went: with rules built without the weak dependencies
    /// that cannot install anything, or repeated with all of them (`solv/weak.rs`).
    pub fn weak_solve_counts(&self) -> WeakSolveCounts {
        let mut counts = self.pool.weak_solve_counts();
        if let Some(reaches) = &self.reach {
            let narrow = reaches.narrow.iter();
            counts.fast += reaches.replaced_fast
                + std::iter::once(&reaches.pass)
                    .chain(narrow)
                    .map(|r| r.sack.pool.weak_solve_counts().fast)
                    .sum::<u64>();
        }
        counts
    }

    /// Plain libsolv from now on: the whole pool, every weak dependency visible while
    /// rules are built (the reference the fast solves are checked against, in tests and
    /// benchmarks).
    pub fn reveal_weak_deps(&mut self) {
        self.pool.reveal_weak_deps();
        self.reach = None;
    }

    /// Number of packages (slots) in the repository.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when the repository holds no packages.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn index_of(&self, id: Id) -> PackageIndex {
        PackageIndex((id - self.start) as u32)
    }

    pub(crate) fn id_of(&self, index: PackageIndex) -> Id {
        self.start + index.0 as Id
    }

    /// The package at `index`.
    pub fn package(&self, index: PackageIndex) -> Nevra {
        let id = self.id_of(index);
        Nevra::from_evr(
            self.pool.id2str(self.pool.solvable_name(id)),
            self.pool.id2str(self.pool.solvable_evr(id)),
            self.pool.id2str(self.pool.solvable_arch(id)),
        )
    }

    /// All packages of the repository, indexed by [`PackageIndex`].
    pub fn package_table(&self) -> PackageTable {
        PackageTable::new(
            (0..self.len)
                .map(|i| self.package(PackageIndex(i)))
                .collect(),
        )
    }
}
