//! Preparing a Koji repository for resolution: its descriptor (`repoInfo`; only READY and
//! EXPIRED repos are usable, as the original's `koschei/backend/koji_util.py`), its build
//! group as of the repo's creation event (`get_build_group`, ibid.), its repodata from the
//! shared on-disk cache (`koschei/backend/repo_cache.py`) and the `.solv` file the
//! solver threads load. Prepared repositories are kept in memory (a few at a time) so
//! that consecutive chunks and iterations do not repeat the work.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use koschei_depsolve::{LoadOptions, RepoCache, RepoDescriptor, SolvFile};
use koschei_koji::build_group::group_packages;
use koschei_koji::{KojiClient, RepoState};

/// A repository ready for solving.
pub struct PreparedRepo {
    /// `(koji id, build tag, repo id)`.
    pub descriptor: RepoDescriptor,
    /// The `.solv` file of its binary packages.
    pub solv: SolvFile,
    /// The build group's package names.
    pub group: Vec<String>,
}

/// What can be done with a repository.
pub enum RepoStatus {
    /// Ready for solving.
    Ready(Arc<PreparedRepo>),
    /// Unknown to Koji or deleted: it will never be usable.
    Dead,
    /// The build group does not exist in the repo's tag.
    NoBuildGroup,
    /// Koji has the repo but its repodata could not be downloaded (assumed transient).
    Unavailable,
}

/// Which collection a repository belongs to.
#[derive(Debug, Clone)]
pub struct RepoRequest<'a> {
    /// `primary` or `secondary` (the descriptor's first part).
    pub koji_id: &'a str,
    /// Build tag.
    pub build_tag: &'a str,
    /// Name of the build group (`collection.build_group`).
    pub build_group: &'a str,
    /// Koji repo id.
    pub repo_id: i64,
}

/// Prepares repositories, remembering the last few.
pub struct RepoEnvironments {
    cache: RepoCache,
    solv_dir: PathBuf,
    repo_arch: String,
    load: LoadOptions,
    keep_solv: usize,
    prepared: Mutex<Vec<(String, Arc<PreparedRepo>)>>,
    groups: Mutex<GroupCache>,
}

const KEEP_PREPARED: usize = 4;

/// Build groups by (repo descriptor key, group name, creation event).
type GroupCache = HashMap<(String, String, i64), Option<Vec<String>>>;

impl RepoEnvironments {
    /// Repodata under `<cachedir>/repodata`, `.solv` files under `<cachedir>/solv`.
    pub fn new(config: &koschei_core::Config) -> anyhow::Result<Self> {
        let dir = &config.directories.cachedir;
        let dep = &config.dependency;
        Ok(RepoEnvironments {
            cache: RepoCache::new(dir.join("repodata"), dep.cache_l2_capacity)
                .and_then(|cache| {
                    let koji = &config.koji_config;
                    let policy =
                        koschei_core::koji_sessions::client_config(koji, koji.multicall_chunk_size)
                            .http_policy();
                    // Repodata files may be larger than any XML-RPC reply.
                    cache.with_http_policy(koschei_koji::http::HttpPolicy {
                        max_body: policy.max_body.max(2 << 30),
                        ..policy
                    })
                })
                .context("opening the repodata cache")?,
            solv_dir: dir.join("solv"),
            repo_arch: dep.repo_arch.clone(),
            load: LoadOptions {
                arch: dep.resolve_for_arch.clone(),
                solv_cache_dir: Some(dir.join("solv")),
                ignore_weak_deps: dep.ignore_weak_deps,
            },
            keep_solv: dep.cache_l2_capacity.max(KEEP_PREPARED),
            prepared: Mutex::new(Vec::new()),
            groups: Mutex::new(HashMap::new()),
        })
    }

    /// Prepares a repository (or finds it prepared).
    pub async fn get(
        &self,
        koji: &KojiClient,
        req: &RepoRequest<'_>,
    ) -> anyhow::Result<RepoStatus> {
        let descriptor = RepoDescriptor {
            koji_id: req.koji_id.to_string(),
            build_tag: req.build_tag.to_string(),
            repo_id: req.repo_id,
        };
        let key = format!("{}/{}", descriptor.key(), req.build_group);
        if let Some(p) = self.lookup(&key) {
            return Ok(RepoStatus::Ready(p));
        }
        let Some(info) = koji.repo_info(req.repo_id).await? else {
            return Ok(RepoStatus::Dead);
        };
        if !matches!(info.state, RepoState::Ready | RepoState::Expired) {
            return Ok(RepoStatus::Dead);
        }
        let group_key = (
            descriptor.key(),
            req.build_group.to_string(),
            info.create_event,
        );
        let cached_group = self.groups_lock().get(&group_key).cloned();
        let group = match cached_group {
            Some(g) => g,
            None => {
                let groups = koji
                    .get_tag_groups(req.build_tag, Some(info.create_event))
                    .await?;
                let g = group_packages(&groups, req.build_group);
                let mut all = self.groups_lock();
                if all.len() > 1000 {
                    all.clear();
                }
                all.insert(group_key, g.clone());
                g
            }
        };
        let Some(group) = group else {
            return Ok(RepoStatus::NoBuildGroup);
        };
        let topurl = koji.config().topurl.clone();
        let Some(cached) = self
            .cache
            .get(&descriptor, &topurl, &self.repo_arch)
            .await?
        else {
            return Ok(RepoStatus::Unavailable);
        };
        let (solv_dir, load, keep) = (self.solv_dir.clone(), self.load.clone(), self.keep_solv);
        // The `.solv` file is all the solver needs: the repodata entry is released (its
        // shared lock dropped) right after, so other processes can use the cache freely.
        let solv = tokio::task::spawn_blocking(move || -> anyhow::Result<SolvFile> {
            let solv = SolvFile::ensure(&cached.repo_dir()?, &solv_dir, &load)?;
            drop(cached);
            prune_solv_files(&solv_dir, keep);
            // leftovers of a killed process: workers read theirs within seconds
            koschei_depsolve::remove_stale_reach_files(&solv_dir, STALE_REACH);
            Ok(solv)
        })
        .await??;
        let prepared = Arc::new(PreparedRepo {
            descriptor,
            solv,
            group,
        });
        let mut all = self.prepared_lock();
        all.retain(|(k, _)| k != &key);
        all.push((key, prepared.clone()));
        if all.len() > KEEP_PREPARED {
            all.remove(0);
        }
        Ok(RepoStatus::Ready(prepared))
    }

    /// `base` with the rpm-md repository at `url` layered over it (every package of
    /// both, as dnf sees two enabled repositories): the change of an impact check of a
    /// repository. `Ok(Err(reason))` when the repository cannot be used: no answer, no
    /// repodata, or repodata that cannot be read. Not kept in memory: a check uses it
    /// once (its repodata stays in the cache, keyed by its repomd.xml).
    pub async fn layered(
        &self,
        koji: &KojiClient,
        base: &PreparedRepo,
        url: &str,
    ) -> anyhow::Result<Result<Arc<PreparedRepo>, String>> {
        let topurl = koji.config().topurl.clone();
        let Some(base_data) = self
            .cache
            .get(&base.descriptor, &topurl, &self.repo_arch)
            .await?
        else {
            anyhow::bail!("the repodata of {} is gone", base.descriptor.key());
        };
        let extra = match self.cache.get_url(url).await {
            Ok(Some(extra)) => extra,
            Ok(None) => {
                return Ok(Err(format!(
                    "no rpm-md repository at {url} (repodata/repomd.xml not found)"
                )))
            }
            Err(e) => return Ok(Err(format!("repository {url} unusable: {e}"))),
        };
        let (solv_dir, load, keep) = (self.solv_dir.clone(), self.load.clone(), self.keep_solv);
        let solv = tokio::task::spawn_blocking(move || {
            let repos = [base_data.repo_dir()?, extra.repo_dir()?];
            let solv = SolvFile::ensure_layered(&[&repos[0], &repos[1]], &solv_dir, &load);
            prune_solv_files(&solv_dir, keep);
            solv
        })
        .await?;
        let solv = match solv {
            Ok(solv) => solv,
            Err(e) => return Ok(Err(format!("repository {url}: unreadable repodata: {e}"))),
        };
        Ok(Ok(Arc::new(PreparedRepo {
            descriptor: base.descriptor.clone(),
            solv,
            group: base.group.clone(),
        })))
    }

    fn lookup(&self, key: &str) -> Option<Arc<PreparedRepo>> {
        self.prepared_lock()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| p.clone())
    }

    fn prepared_lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Arc<PreparedRepo>)>> {
        self.prepared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn groups_lock(&self) -> std::sync::MutexGuard<'_, GroupCache> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Age after which a reach file (`SolvFile::with_reach`) is a leftover.
const STALE_REACH: std::time::Duration = std::time::Duration::from_secs(600);

/// Keeps the `keep` most recently modified `.solv` files of `dir` (a file in use stays
/// readable after its removal, and a removed one is simply written again).
fn prune_solv_files(dir: &std::path::Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "solv"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    if files.len() <= keep {
        return;
    }
    files.sort();
    for (_, p) in &files[..files.len() - keep] {
        let _ = std::fs::remove_file(p);
    }
}
