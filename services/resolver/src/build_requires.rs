//! BuildRequires of SRPMs from Koji (`getRPMDeps` multicall, as
//! `get_rpm_requires` in the original's `koschei/backend/koji_util.py`), cached in memory
//! per `(koji instance, NVRA)`: an SRPM's requirements never change.

use std::collections::HashMap;
use std::sync::Mutex;

use koschei_koji::build_requires::get_build_requires;
use koschei_koji::{KojiClient, Nvra};

/// Entries kept before the cache is emptied (a crude bound; an entry is a few hundred
/// bytes, and a whole distribution has ~25k SRPMs).
const CAPACITY: usize = 100_000;

/// Cached BuildRequires lookups.
#[derive(Default)]
pub struct BuildRequiresCache {
    entries: Mutex<HashMap<(String, Nvra), Vec<String>>>,
}

/// The SRPM NVRA Koschei asks Koji about: name, version, release, arch `src`, no epoch.
pub fn srpm(name: &str, version: &str, release: &str) -> Nvra {
    Nvra {
        name: name.to_string(),
        version: version.to_string(),
        release: release.to_string(),
        arch: "src".to_string(),
    }
}

impl BuildRequiresCache {
    /// BuildRequires of each SRPM (same order); `None` for an SRPM Koji reported a fault
    /// for (unknown RPM). A failure of the whole call is an error.
    pub async fn get(
        &self,
        koji: &KojiClient,
        koji_id: &str,
        srpms: &[Nvra],
    ) -> anyhow::Result<Vec<Option<Vec<String>>>> {
        let mut out: Vec<Option<Vec<String>>> = Vec::with_capacity(srpms.len());
        let mut missing: Vec<usize> = Vec::new();
        {
            let entries = self.lock();
            for (i, s) in srpms.iter().enumerate() {
                let hit = entries.get(&(koji_id.to_string(), s.clone())).cloned();
                if hit.is_none() {
                    missing.push(i);
                }
                out.push(hit);
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let query: Vec<Nvra> = missing.iter().map(|&i| srpms[i].clone()).collect();
        let results = get_build_requires(koji, &query).await?;
        let mut entries = self.lock();
        if entries.len() + missing.len() > CAPACITY {
            entries.clear();
        }
        for (i, r) in missing.into_iter().zip(results) {
            match r {
                Ok(brs) => {
                    entries.insert((koji_id.to_string(), srpms[i].clone()), brs.clone());
                    out[i] = Some(brs);
                }
                Err(e) => tracing::warn!("no BuildRequires for {:?}: {e}", srpms[i]),
            }
        }
        Ok(out)
    }

    /// Number of SRPMs of `koji_id` whose BuildRequires are cached.
    pub fn len(&self, koji_id: &str) -> usize {
        self.lock()
            .keys()
            .filter(|(koji, _)| koji == koji_id)
            .count()
    }

    /// Every distinct BuildRequire cached for `koji_id` (the requests of a pass's reach).
    pub fn requests(&self, koji_id: &str) -> Vec<String> {
        let entries = self.lock();
        let mut requests: Vec<String> = entries
            .iter()
            .filter(|((koji, _), _)| koji == koji_id)
            .flat_map(|(_, brs)| brs.iter().cloned())
            .collect();
        requests.sort_unstable();
        requests.dedup();
        requests
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Nvra), Vec<String>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
