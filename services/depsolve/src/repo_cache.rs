//! Repodata download from a Koji topurl into an on-disk cache shared by several processes
//! (the original's `koschei/backend/repo_cache.py`).
//!
//! Layout: `<dir>/<descriptor>/repodata/…` per repository, `<dir>/index.json`
//! (`{"version": 1, "entries": {key: "preparing" | "ready"}}`) and hidden lock files
//! `.<key>.lock` / `.index.lock` (`flock`). Protocol, as in Koschei: take the item lock
//! exclusively; under the index lock see whether the entry is ready; if not, reserve
//! capacity (evicting non-ready entries that can be locked, then the oldest ready ones by
//! directory mtime), mark it preparing, download and verify every file, mark it ready; then
//! downgrade the item lock to shared and hand it out with the [`CachedRepo`]: an entry in
//! use is never evicted. The index lock is never held while waiting for an item lock.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use koschei_koji::http::{read_limited, HttpPolicy};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::error::DepsolveError;
use crate::repomd::{RepoDir, Repomd};

const INDEX_VERSION: u64 = 1;
/// repomd.xml entries downloaded (others are ignored).
const WANTED: [&str; 4] = ["primary", "filelists", "group", "group_gz"];

/// A Koji repository: `(koji instance id, build tag, repo id)`, e.g.
/// `primary-f29-build-888027`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoDescriptor {
    /// Koji instance (`primary`, `secondary`).
    pub koji_id: String,
    /// Build tag name.
    pub build_tag: String,
    /// Koji repo id.
    pub repo_id: i64,
}

impl RepoDescriptor {
    /// Cache key and directory name: `<koji_id>-<build_tag>-<repo_id>`.
    pub fn key(&self) -> String {
        format!("{}-{}-{}", self.koji_id, self.build_tag, self.repo_id)
    }

    /// Parse a key back (first part koji id, last part repo id, the middle the tag).
    pub fn parse(key: &str) -> Option<Self> {
        let (koji_id, rest) = key.split_once('-')?;
        let (build_tag, repo_id) = rest.rsplit_once('-')?;
        Some(RepoDescriptor {
            koji_id: koji_id.to_string(),
            build_tag: build_tag.to_string(),
            repo_id: repo_id.parse().ok()?,
        })
    }

    /// `<topurl>/repos/<build_tag>/<repo_id>/<arch>`.
    pub fn url(&self, topurl: &str, arch: &str) -> String {
        format!(
            "{}/repos/{}/{}/{}",
            topurl.trim_end_matches('/'),
            self.build_tag,
            self.repo_id,
            arch
        )
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u64,
    entries: BTreeMap<String, EntryState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum EntryState {
    Preparing,
    Ready,
}

/// A repository present in the cache, protected from eviction while this value lives.
#[derive(Debug)]
pub struct CachedRepo {
    root: PathBuf,
    _shared_lock: File,
}

impl CachedRepo {
    /// Directory containing `repodata/`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cached repository's metadata.
    pub fn repo_dir(&self) -> Result<RepoDir, DepsolveError> {
        RepoDir::open(&self.root)
    }
}

/// The on-disk repodata cache, bounded to `capacity` repositories.
#[derive(Debug, Clone)]
pub struct RepoCache {
    dir: PathBuf,
    capacity: usize,
    http: HttpPolicy,
    client: reqwest::Client,
}

impl RepoCache {
    /// Open (creating) a cache directory holding at most `capacity` repositories
    /// (`dependency.cache_l2_capacity`, 100 by default in Koschei).
    pub fn new(dir: impl Into<PathBuf>, capacity: usize) -> Result<Self, DepsolveError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| DepsolveError::io(&dir, e))?;
        let http = HttpPolicy::default();
        let client = http.client().map_err(DepsolveError::Metadata)?;
        Ok(RepoCache {
            dir,
            capacity: capacity.max(1),
            http,
            client,
        })
    }

    /// Downloads with `policy` (timeouts, CA, client certificate, size cap) instead of
    /// the default one.
    pub fn with_http_policy(mut self, policy: HttpPolicy) -> Result<Self, DepsolveError> {
        self.client = policy.client().map_err(DepsolveError::Metadata)?;
        self.http = policy;
        Ok(self)
    }

    /// Get a repository, downloading it from `<topurl>/repos/<tag>/<id>/<arch>` when not
    /// cached. `Ok(None)` when Koji has no such repository (HTTP 404 on repomd.xml).
    pub async fn get(
        &self,
        descriptor: &RepoDescriptor,
        topurl: &str,
        arch: &str,
    ) -> Result<Option<CachedRepo>, DepsolveError> {
        self.get_keyed(descriptor.key(), &descriptor.url(topurl, arch), None)
            .await
    }

    /// Get the repository at `url` (any rpm-md repository, e.g. a Copr project's) as it
    /// is now: its repomd.xml is fetched every time and the entry is keyed by the URL and
    /// that repomd.xml, so a changed repository is downloaded again and an unchanged one
    /// comes from the cache. `Ok(None)` when there is no repomd.xml (HTTP 404).
    pub async fn get_url(&self, url: &str) -> Result<Option<CachedRepo>, DepsolveError> {
        let url = url.trim_end_matches('/');
        let Some(repomd) = self.fetch(&format!("{url}/repodata/repomd.xml")).await? else {
            return Ok(None);
        };
        let short = |data: &[u8]| hex::encode(&sha2::Sha256::digest(data)[..10]);
        let key = format!("url-{}-{}", short(url.as_bytes()), short(&repomd));
        self.get_keyed(key, url, Some(repomd)).await
    }

    /// [`RepoCache::get`] of the entry `key`, downloaded from `url` (with `repomd`, the
    /// repomd.xml fetched already, when given).
    async fn get_keyed(
        &self,
        key: String,
        url: &str,
        repomd: Option<Vec<u8>>,
    ) -> Result<Option<CachedRepo>, DepsolveError> {
        let lock_path = self.dir.join(format!(".{key}.lock"));
        let item = blocking(move || {
            let f = open_lock(&lock_path)?;
            FileExt::lock_exclusive(&f).map_err(|e| DepsolveError::io(&lock_path, e))?;
            Ok(f)
        })
        .await?;
        let root = self.dir.join(&key);
        let ready = {
            let (this, key) = (self.clone(), key.clone());
            blocking(move || this.reserve(&key)).await?
        };
        if !ready {
            let outcome = self.download(&root, url, repomd).await;
            let (this, key2) = (self.clone(), key.clone());
            let ok = matches!(outcome, Ok(true));
            blocking(move || this.finish(&key2, ok)).await?;
            match outcome {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        let lock_path = self.dir.join(format!(".{key}.lock"));
        let item = blocking(move || {
            // flock converts the exclusive lock into a shared one
            FileExt::lock_shared(&item).map_err(|e| DepsolveError::io(&lock_path, e))?;
            Ok(item)
        })
        .await?;
        Ok(Some(CachedRepo {
            root,
            _shared_lock: item,
        }))
    }

    /// Under the index lock: true when `key` is ready; otherwise make room and mark it
    /// preparing.
    fn reserve(&self, key: &str) -> Result<bool, DepsolveError> {
        self.with_index(|this, index| {
            if index.entries.get(key) == Some(&EntryState::Ready) && this.dir.join(key).is_dir() {
                return Ok(true);
            }
            index.entries.remove(key);
            this.evict(index, key)?;
            index.entries.insert(key.to_string(), EntryState::Preparing);
            Ok(false)
        })
    }

    fn evict(&self, index: &mut Index, keep: &str) -> Result<(), DepsolveError> {
        if index.entries.len() < self.capacity {
            return Ok(());
        }
        let mut candidates: Vec<(bool, std::time::SystemTime, String)> = index
            .entries
            .iter()
            .filter(|(k, _)| k.as_str() != keep)
            .map(|(k, state)| {
                let mtime = std::fs::metadata(self.dir.join(k))
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (*state == EntryState::Ready, mtime, k.clone())
            })
            .collect();
        // non-ready first, then oldest ready
        candidates.sort();
        for (_, _, k) in candidates {
            if index.entries.len() < self.capacity {
                break;
            }
            let lock_path = self.dir.join(format!(".{k}.lock"));
            let lock = open_lock(&lock_path)?;
            if FileExt::try_lock_exclusive(&lock).unwrap_or(false) {
                let dir = self.dir.join(&k);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| DepsolveError::io(&dir, e))?;
                }
                index.entries.remove(&k);
                let _ = FileExt::unlock(&lock);
            }
        }
        if index.entries.len() >= self.capacity {
            return Err(DepsolveError::CacheExhausted {
                capacity: self.capacity,
            });
        }
        Ok(())
    }

    fn finish(&self, key: &str, ok: bool) -> Result<(), DepsolveError> {
        self.with_index(|this, index| {
            if ok {
                index.entries.insert(key.to_string(), EntryState::Ready);
            } else {
                index.entries.remove(key);
                let dir = this.dir.join(key);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| DepsolveError::io(&dir, e))?;
                }
            }
            Ok(())
        })
    }

    /// Run `f` on the index under the exclusive index lock and write it back.
    fn with_index<T>(
        &self,
        f: impl FnOnce(&Self, &mut Index) -> Result<T, DepsolveError>,
    ) -> Result<T, DepsolveError> {
        let lock_path = self.dir.join(".index.lock");
        let lock = open_lock(&lock_path)?;
        FileExt::lock_exclusive(&lock).map_err(|e| DepsolveError::io(&lock_path, e))?;
        let path = self.dir.join("index.json");
        let mut index = match std::fs::read(&path) {
            Ok(raw) => match serde_json::from_slice::<Index>(&raw) {
                Ok(i) if i.version > INDEX_VERSION => {
                    return Err(DepsolveError::CacheVersion(i.version))
                }
                Ok(i) if i.version == INDEX_VERSION => i,
                // unknown or older layout: discard the cache
                _ => self.discard_all()?,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Index {
                version: INDEX_VERSION,
                ..Default::default()
            },
            Err(e) => return Err(DepsolveError::io(&path, e)),
        };
        let out = f(self, &mut index)?;
        let tmp = self.dir.join(".index.json.tmp");
        let raw = serde_json::to_vec_pretty(&index).expect("index serialises");
        std::fs::write(&tmp, raw).map_err(|e| DepsolveError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| DepsolveError::io(&path, e))?;
        Ok(out)
    }

    fn discard_all(&self) -> Result<Index, DepsolveError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| DepsolveError::io(&self.dir, e))?;
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                let p = entry.path();
                std::fs::remove_dir_all(&p).map_err(|e| DepsolveError::io(&p, e))?;
            }
        }
        Ok(Index {
            version: INDEX_VERSION,
            ..Default::default()
        })
    }

    /// Download repomd.xml (unless given) and the wanted files into `root`, verifying
    /// checksums and sizes. `Ok(false)` when repomd.xml does not exist.
    async fn download(
        &self,
        root: &Path,
        url: &str,
        repomd: Option<Vec<u8>>,
    ) -> Result<bool, DepsolveError> {
        if root.exists() {
            std::fs::remove_dir_all(root).map_err(|e| DepsolveError::io(root, e))?;
        }
        let repodata = root.join("repodata");
        std::fs::create_dir_all(&repodata).map_err(|e| DepsolveError::io(&repodata, e))?;
        let repomd_raw = match repomd {
            Some(raw) => raw,
            None => match self.fetch(&format!("{url}/repodata/repomd.xml")).await? {
                Some(raw) => raw,
                None => return Ok(false),
            },
        };
        let repomd = Repomd::parse(&repomd_raw)?;
        for entry in repomd
            .entries
            .iter()
            .filter(|e| WANTED.contains(&e.kind.as_str()))
        {
            if entry.href.contains("..") || entry.href.starts_with('/') {
                return Err(DepsolveError::Metadata(format!(
                    "unsafe href {}",
                    entry.href
                )));
            }
            let file_url = format!("{url}/{}", entry.href);
            let body = self
                .fetch(&file_url)
                .await?
                .ok_or_else(|| DepsolveError::Http {
                    url: file_url.clone(),
                    message: "not found".into(),
                })?;
            if let Some((algo, expected)) = &entry.checksum {
                let actual = digest(algo, &body).ok_or_else(|| {
                    DepsolveError::Metadata(format!("unsupported checksum type {algo}"))
                })?;
                if !actual.eq_ignore_ascii_case(expected) {
                    return Err(DepsolveError::Checksum {
                        url: file_url,
                        expected: expected.clone(),
                        actual,
                    });
                }
            }
            if entry.size.is_some_and(|s| s != body.len() as u64) {
                return Err(DepsolveError::Checksum {
                    url: file_url,
                    expected: format!("{} bytes", entry.size.unwrap_or(0)),
                    actual: format!("{} bytes", body.len()),
                });
            }
            let path = root.join(&entry.href);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| DepsolveError::io(parent, e))?;
            }
            std::fs::write(&path, &body).map_err(|e| DepsolveError::io(&path, e))?;
        }
        let path = repodata.join("repomd.xml");
        std::fs::write(&path, &repomd_raw).map_err(|e| DepsolveError::io(&path, e))?;
        Ok(true)
    }

    async fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, DepsolveError> {
        let http = |message: String| DepsolveError::Http {
            url: url.to_string(),
            message,
        };
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| http(e.without_url().to_string()))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = resp
            .error_for_status()
            .map_err(|e| http(e.without_url().to_string()))?;
        let body = read_limited(resp, self.http.max_body)
            .await
            .map_err(|e| http(e.to_string()))?;
        Ok(Some(body))
    }
}

fn digest(algo: &str, data: &[u8]) -> Option<String> {
    Some(match algo {
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        _ => return None,
    })
}

fn open_lock(path: &Path) -> Result<File, DepsolveError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| DepsolveError::io(path, e))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DepsolveError> + Send + 'static,
) -> Result<T, DepsolveError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DepsolveError::Worker(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_key_round_trip() {
        let d = RepoDescriptor {
            koji_id: "primary".into(),
            build_tag: "f29-build".into(),
            repo_id: 888027,
        };
        assert_eq!(d.key(), "primary-f29-build-888027");
        assert_eq!(RepoDescriptor::parse(&d.key()), Some(d.clone()));
        assert_eq!(
            d.url("https://primary-koji.test/", "x86_64"),
            "https://primary-koji.test/repos/f29-build/888027/x86_64"
        );
    }
}
