//! Loading a seed directory: a binary rpm-md repo (`repodata/`), a source rpm-md repo
//! (`source/repodata/`, whose requires are the BuildRequires) and a comps file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use tracing::info;

use crate::comps::{read_comps, Group};
use crate::rpmmd::{read_primary, repomd_locations, Dep};

/// A source package (SRPM) with its BuildRequires.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePackage {
    /// Name.
    pub name: String,
    /// Epoch (`None` when 0/unset).
    pub epoch: Option<i64>,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Its requires: the BuildRequires.
    pub requires: Vec<Dep>,
    /// BUILDARCHS header (`["noarch"]` for sources producing only noarch packages).
    pub build_archs: Vec<String>,
    /// EXCLUDEARCH header.
    pub exclude_arch: Vec<String>,
    /// EXCLUSIVEARCH header.
    pub exclusive_arch: Vec<String>,
}

impl SourcePackage {
    /// `name-version-release`.
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }
}

/// A binary package of the seed repo.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedBinary {
    /// Name.
    pub name: String,
    /// Arch.
    pub arch: String,
    /// Epoch (`None` when 0).
    pub epoch: Option<i64>,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// pkgid in the seed primary.
    pub pkgid: String,
    /// Index of its source package in [`Seed::sources`], if known.
    pub source: Option<usize>,
    /// Name of its source package when that is not in the seed: a new build of that
    /// package replaces this binary in later repos, as any newer build of a package
    /// replaces every binary of the older one.
    pub origin: Option<Box<str>>,
}

/// A loaded seed.
#[derive(Debug)]
pub struct Seed {
    /// The seed directory.
    pub dir: PathBuf,
    /// Binary primary file.
    pub primary: PathBuf,
    /// Binary filelists file, if any.
    pub filelists: Option<PathBuf>,
    /// Source packages, sorted by name (one per name).
    pub sources: Vec<Arc<SourcePackage>>,
    /// Binary packages in primary order.
    pub binaries: Vec<Arc<SeedBinary>>,
    /// Groups of the comps file.
    pub groups: Vec<Group>,
}

fn epoch(e: i64) -> Option<i64> {
    (e != 0).then_some(e)
}

/// Source package name of an rpm-md `sourcerpm` file name (`n-v-r.src.rpm`).
fn source_name(sourcerpm: &str) -> Option<&str> {
    let stem = sourcerpm.strip_suffix(".src.rpm")?;
    let (rest, _release) = stem.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    Some(name)
}

impl Seed {
    /// Loads the seed under `dir`.
    pub fn load(dir: &Path) -> Result<Seed> {
        let started = std::time::Instant::now();
        let binary = repomd_locations(dir)?;
        let find = |locs: &[(String, PathBuf)], kinds: &[&str]| {
            kinds
                .iter()
                .find_map(|k| locs.iter().find(|(t, _)| t == k).map(|(_, p)| p.clone()))
        };
        let primary = find(&binary, &["primary"]).context("seed repomd.xml lists no primary")?;
        let filelists = find(&binary, &["filelists"]);
        let comps = find(&binary, &["group", "group_gz"]);
        let source_locs = repomd_locations(&dir.join("source"))?;
        let source_primary =
            find(&source_locs, &["primary"]).context("source repomd.xml lists no primary")?;

        let mut sources: Vec<SourcePackage> = Vec::new();
        read_primary(&source_primary, true, |p| {
            if p.arch == "src" {
                sources.push(SourcePackage {
                    name: p.name,
                    epoch: epoch(p.epoch),
                    version: p.version,
                    release: p.release,
                    requires: p.requires,
                    build_archs: Vec::new(),
                    exclude_arch: Vec::new(),
                    exclusive_arch: Vec::new(),
                });
            }
        })?;
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        sources.dedup_by(|a, b| a.name == b.name);
        if sources.is_empty() {
            bail!("seed {} has no source packages", dir.display());
        }
        let by_name: HashMap<&str, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();

        let mut binaries = Vec::new();
        read_primary(&primary, false, |p| {
            let name = source_name(&p.sourcerpm);
            let source = name.and_then(|n| by_name.get(n).copied());
            let origin = name.filter(|_| source.is_none()).map(Box::from);
            binaries.push(SeedBinary {
                name: p.name,
                arch: p.arch,
                epoch: epoch(p.epoch),
                version: p.version,
                release: p.release,
                pkgid: p.pkgid,
                source,
                origin,
            });
        })?;
        drop(by_name);

        // Sources whose binaries are all noarch are BuildArch: noarch.
        let mut arch_kinds = vec![(false, false); sources.len()];
        for b in &binaries {
            if let Some(i) = b.source {
                if b.arch == "noarch" {
                    arch_kinds[i].0 = true;
                } else {
                    arch_kinds[i].1 = true;
                }
            }
        }
        for (s, (noarch, arch)) in sources.iter_mut().zip(arch_kinds) {
            if noarch && !arch {
                s.build_archs = vec!["noarch".to_owned()];
            }
        }
        let groups = match &comps {
            Some(c) => read_comps(c)?,
            None => Vec::new(),
        };
        info!(
            sources = sources.len(),
            binaries = binaries.len(),
            elapsed = ?started.elapsed(),
            "seed loaded"
        );
        Ok(Seed {
            dir: dir.to_owned(),
            primary,
            filelists,
            sources: sources.into_iter().map(Arc::new).collect(),
            binaries: binaries.into_iter().map(Arc::new).collect(),
            groups,
        })
    }
}
