//! Package identities (NEVRA), resolved dependency records and the per-repo package table.

use std::sync::Arc;

/// Index of a binary package inside one loaded repository (0-based, in repository order).
/// Identical for every [`crate::Sack`] loaded from the same `.solv` file, so worker threads
/// can exchange results as plain indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageIndex(pub u32);

/// Name, epoch, version, release and architecture of a binary package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nevra {
    /// Package name.
    pub name: String,
    /// Epoch (0 when absent).
    pub epoch: u32,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Architecture (`x86_64`, `noarch`, …).
    pub arch: String,
}

impl Nevra {
    /// Build from a name, an RPM `[E:]V-R` string and an arch.
    pub fn from_evr(name: &str, evr: &str, arch: &str) -> Self {
        let (epoch, vr) = match evr.split_once(':') {
            Some((e, rest)) if e.chars().all(|c| c.is_ascii_digit()) => {
                (e.parse().unwrap_or(0), rest)
            }
            _ => (0, evr),
        };
        let (version, release) = vr.rsplit_once('-').unwrap_or((vr, ""));
        Nevra {
            name: name.to_string(),
            epoch,
            version: version.to_string(),
            release: release.to_string(),
            arch: arch.to_string(),
        }
    }

    /// The RPM `[E:]V-R` string (the epoch left out when 0), as [`Nevra::from_evr`] reads
    /// it.
    pub fn evr(&self) -> String {
        match self.epoch {
            0 => format!("{}-{}", self.version, self.release),
            e => format!("{e}:{}-{}", self.version, self.release),
        }
    }

    /// RPM ordering of the EVR parts (epoch numerically, then rpmvercmp of version and
    /// release); names and arches are not compared.
    pub fn evr_cmp(&self, other: &Nevra) -> std::cmp::Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| crate::rpmvercmp(&self.version, &other.version))
            .then_with(|| crate::rpmvercmp(&self.release, &other.release))
    }
}

impl std::fmt::Display for Nevra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}.{}", self.name, self.evr(), self.arch)
    }
}

/// An installed package of a resolution with its dependency distance (`distance.rs`): 1 for a
/// direct BuildRequire, 2..4 for indirect ones, `None` for everything else.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dependency {
    /// The package.
    pub nevra: Nevra,
    /// Distance from the BuildRequires, when within 4 levels.
    pub distance: Option<u8>,
}

/// The packages of one repository, indexed by [`PackageIndex`]; cheap to clone and to share
/// between threads.
#[derive(Debug, Clone, Default)]
pub struct PackageTable {
    packages: Arc<[Nevra]>,
}

impl PackageTable {
    pub(crate) fn new(packages: Vec<Nevra>) -> Self {
        PackageTable {
            packages: packages.into(),
        }
    }

    /// The package at `index`.
    pub fn get(&self, index: PackageIndex) -> &Nevra {
        &self.packages[index.0 as usize]
    }

    /// Number of packages.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// True when the repository has no packages.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// All packages in index order.
    pub fn iter(&self) -> impl Iterator<Item = (PackageIndex, &Nevra)> {
        self.packages
            .iter()
            .enumerate()
            .map(|(i, n)| (PackageIndex(i as u32), n))
    }
}
