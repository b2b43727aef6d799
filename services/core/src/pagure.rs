//! Fedora's dist-git (Pagure at src.fedoraproject.org): who maintains which
//! package. Koschei reads two files dist-git publishes under `/extras/`:
//!
//! * `pagure_owner_alias.json` (`pagure.owner_alias_url`), each package's
//!   maintainers, for the user pages (`koschei/plugins/pagure_plugin/frontend.py`),
//!   cached for `pagure.expiration_time` seconds as the original's
//!   `caching.pagure.users` region;
//! * `pagure_bz.json` (`pagure.bz_url`), each package's Bugzilla contacts
//!   (users and `@group`s), for the group refreshes of `bin/koschei-refresh-user-group`
//!   and `bin/koschei-refresh-distgit-group`.
//!
//! Both map `namespace → project → [names]`; only the `rpms` namespace is read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use koschei_koji::http::{read_limited, BodyError, HttpPolicy};
use serde::{Deserialize, Serialize};

/// The `[pagure]` configuration section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagureConfig {
    /// URL of dist-git's `pagure_owner_alias.json`. When unset (the default,
    /// as the original without its `pagure` plugin), user pages list the
    /// packages of the user's groups only.
    pub owner_alias_url: Option<String>,
    /// URL of dist-git's `pagure_bz.json`, read by the group refreshes.
    pub bz_url: String,
    /// Seconds the maintainer map is kept before it is fetched again (the
    /// original's `caching.pagure.users.expiration_time`).
    pub expiration_time: u64,
    /// Seconds one download may take (a user page waits for it when the
    /// map has expired; keep it below `frontend.limits.request_timeout`).
    pub timeout: u64,
    /// Largest file accepted, in bytes (after decompression).
    pub max_reply_size: u64,
}

impl Default for PagureConfig {
    fn default() -> Self {
        PagureConfig {
            owner_alias_url: None,
            bz_url: "https://src.fedoraproject.org/extras/pagure_bz.json".into(),
            expiration_time: 600,
            timeout: 20,
            max_reply_size: 64 * 1024 * 1024,
        }
    }
}

/// Why dist-git's data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PagureError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("cannot fetch {url}: {source}")]
    Transport { url: String, source: reqwest::Error },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("cannot read {url}: {source}")]
    Body { url: String, source: BodyError },
    #[error("{url} is not a dist-git project map: {source}")]
    Parse {
        url: String,
        source: serde_json::Error,
    },
}

/// Package (`rpms` project) name → names listed for it.
pub type PackageNames = BTreeMap<String, Vec<String>>;

#[derive(Deserialize)]
struct ProjectMap {
    #[serde(default)]
    rpms: PackageNames,
}

/// Downloads dist-git's project maps.
#[derive(Debug, Clone)]
pub struct PagureClient {
    http: reqwest::Client,
    max_reply_size: u64,
}

impl PagureClient {
    /// A client with the timeouts and size limit of `config`.
    pub fn new(config: &PagureConfig) -> Result<PagureClient, PagureError> {
        let timeout = Duration::from_secs(config.timeout.max(1));
        let policy = HttpPolicy {
            connect_timeout: timeout.min(Duration::from_secs(10)),
            read_timeout: timeout,
            timeout,
            max_body: config.max_reply_size,
            ..HttpPolicy::default()
        };
        Ok(PagureClient {
            http: policy.client().map_err(PagureError::Client)?,
            max_reply_size: config.max_reply_size,
        })
    }

    /// The `rpms` part of the project map at `url`.
    pub async fn rpms(&self, url: &str) -> Result<PackageNames, PagureError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| PagureError::Transport {
                url: url.to_string(),
                source: e.without_url(),
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(PagureError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let body = read_limited(response, self.max_reply_size)
            .await
            .map_err(|source| PagureError::Body {
                url: url.to_string(),
                source,
            })?;
        let map: ProjectMap =
            serde_json::from_slice(&body).map_err(|source| PagureError::Parse {
                url: url.to_string(),
                source,
            })?;
        Ok(map.rpms)
    }
}

/// Packages listing `name` (a user, or `@group`), sorted.
pub fn packages_listing(map: &PackageNames, name: &str) -> Vec<String> {
    map.iter()
        .filter(|(_, names)| names.iter().any(|n| n == name))
        .map(|(package, _)| package.clone())
        .collect()
}

/// User → the packages the user maintains.
type PackagesPerUser = HashMap<String, Vec<String>>;

fn per_user(map: PackageNames) -> PackagesPerUser {
    let mut users = PackagesPerUser::new();
    for (package, owners) in map {
        for owner in owners {
            users.entry(owner).or_default().push(package.clone());
        }
    }
    users
}

/// Longest time a failed download is remembered before the next page view
/// tries again (so an unreachable dist-git does not slow every page).
const FAILURE_HOLD: Duration = Duration::from_secs(60);

struct Fetched {
    at: Instant,
    result: Result<Arc<PackagesPerUser>, String>,
}

/// The maintainer map (`pagure_owner_alias.json`) of the web process,
/// downloaded at most once per `expiration_time`; concurrent readers wait
/// for one download.
pub struct MaintainerCache {
    client: PagureClient,
    url: String,
    expiration: Duration,
    slot: tokio::sync::Mutex<Option<Fetched>>,
}

impl MaintainerCache {
    /// The cache `config` describes, `None` when `owner_alias_url` is unset.
    pub fn from_config(config: &PagureConfig) -> Result<Option<MaintainerCache>, PagureError> {
        let Some(url) = config.owner_alias_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        Ok(Some(MaintainerCache {
            client: PagureClient::new(config)?,
            url: url.to_string(),
            expiration: Duration::from_secs(config.expiration_time),
            slot: tokio::sync::Mutex::new(None),
        }))
    }

    /// The packages `user` maintains in dist-git (sorted; empty for an
    /// unknown user), or why dist-git could not be read.
    pub async fn packages_of(&self, user: &str) -> Result<Vec<String>, String> {
        let mut slot = self.slot.lock().await;
        let fresh = slot.as_ref().is_some_and(|f| {
            let keep = match f.result {
                Ok(_) => self.expiration,
                Err(_) => self.expiration.min(FAILURE_HOLD),
            };
            f.at.elapsed() < keep
        });
        if !fresh {
            let result = match self.client.rpms(&self.url).await {
                Ok(map) => Ok(Arc::new(per_user(map))),
                Err(e) => {
                    tracing::warn!("user pages: {e}");
                    Err(e.to_string())
                }
            };
            *slot = Some(Fetched {
                at: Instant::now(),
                result,
            });
        }
        let fetched = slot.as_ref().expect("filled above");
        match &fetched.result {
            Ok(users) => Ok(users.get(user).cloned().unwrap_or_default()),
            Err(e) => Err(e.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverts_and_filters_maps() {
        let map: PackageNames = [
            (
                "maven".to_string(),
                vec!["mizdebsk".into(), "@java-sig".into()],
            ),
            ("rnv".to_string(), vec!["msimacek".into()]),
            ("xmvn".to_string(), vec!["mizdebsk".into()]),
        ]
        .into();
        assert_eq!(packages_listing(&map, "mizdebsk"), ["maven", "xmvn"]);
        assert_eq!(packages_listing(&map, "@java-sig"), ["maven"]);
        assert!(packages_listing(&map, "java-sig").is_empty());
        let users = per_user(map);
        assert_eq!(users["mizdebsk"], ["maven", "xmvn"]);
        assert_eq!(users["msimacek"], ["rnv"]);
    }

    #[test]
    fn example_config_documents_the_defaults() {
        let example =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../koschei.toml.example");
        let config = crate::Config::from_files(&[example]).unwrap();
        assert_eq!(config.pagure, PagureConfig::default());
    }

    #[test]
    fn unset_url_means_no_cache() {
        assert!(MaintainerCache::from_config(&PagureConfig::default())
            .unwrap()
            .is_none());
    }
}
