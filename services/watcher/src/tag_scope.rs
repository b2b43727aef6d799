//! Which collections a tag or untag message concerns. Koji tags on inheritance: a build
//! tagged into `f44` is in `f44-build` as well when `f44-build` inherits `f44`. A
//! message about tag `T` therefore concerns every collection whose dest tag or build
//! tag is `T` or inherits from it (`getFullInheritance` of the collection's tags).
//!
//! The ancestors of each collection tag are cached for [`INHERITANCE_TTL`]: inheritance
//! changes rarely, and what a stale entry misses the poller's refresh still catches. A
//! tag Koji does not know (a fault) has no ancestors, so only messages about the tag
//! itself reach its collection.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use koschei_core::koji_sessions::KojiSessions;
use koschei_core::refresh::KojiCollection;
use koschei_koji::xmlrpc::{Struct, Value};
use koschei_koji::{KojiClient, KojiError};
use serde::Deserialize;

/// How long a tag's ancestors are trusted.
pub const INHERITANCE_TTL: Duration = Duration::from_secs(600);

/// One `getFullInheritance` entry: `name` is the parent tag's name.
#[derive(Deserialize)]
struct InheritanceEntry {
    name: String,
}

/// Tag ancestors by (secondary Koji?, tag), with when they were asked for.
type Cache = HashMap<(bool, String), (Instant, Arc<HashSet<String>>)>;

/// The ancestors of collection tags, asked of Koji and cached.
#[derive(Default)]
pub struct TagScope {
    cache: Mutex<Cache>,
}

impl TagScope {
    /// The collections among `candidates` whose dest or build tag is `tag` or inherits
    /// from it, in the given order.
    pub async fn collections_seeing(
        &self,
        sessions: &KojiSessions,
        candidates: Vec<KojiCollection>,
        tag: &str,
    ) -> Result<Vec<KojiCollection>, KojiError> {
        let mut seeing = Vec::with_capacity(candidates.len());
        for c in candidates {
            let koji = sessions.for_collection(c.secondary_mode);
            let mut sees = false;
            for own in [&c.dest_tag, &c.build_tag] {
                if own == tag
                    || self
                        .ancestors(koji, c.secondary_mode, own)
                        .await?
                        .contains(tag)
                {
                    sees = true;
                    break;
                }
            }
            if sees {
                seeing.push(c);
            }
        }
        Ok(seeing)
    }

    /// The collections among `candidates` (of the primary Koji) whose build tag `tag`
    /// inherits from: those a side tag of theirs changes.
    pub async fn collections_under(
        &self,
        sessions: &KojiSessions,
        candidates: Vec<KojiCollection>,
        tag: &str,
    ) -> Result<Vec<KojiCollection>, KojiError> {
        let ancestors = self.ancestors(&sessions.primary, false, tag).await?;
        Ok(candidates
            .into_iter()
            .filter(|c| !c.secondary_mode && ancestors.contains(&c.build_tag))
            .collect())
    }

    /// The names of `tag`'s ancestors (not `tag` itself), from the cache when fresh.
    async fn ancestors(
        &self,
        koji: &KojiClient,
        secondary: bool,
        tag: &str,
    ) -> Result<Arc<HashSet<String>>, KojiError> {
        let key = (secondary, tag.to_owned());
        if let Some((at, names)) = self.lock().get(&key) {
            if at.elapsed() < INHERITANCE_TTL {
                return Ok(names.clone());
            }
        }
        let answer = koji
            .call_as::<Vec<InheritanceEntry>>(
                "getFullInheritance",
                vec![Value::str(tag)],
                Struct::new(),
            )
            .await;
        let names: HashSet<String> = match answer {
            Ok(entries) => entries.into_iter().map(|e| e.name).collect(),
            Err(e) if e.fault().is_some() => {
                tracing::warn!(tag, "no inheritance for a tag: {e}");
                HashSet::new()
            }
            Err(e) => return Err(e),
        };
        let names = Arc::new(names);
        self.lock().insert(key, (Instant::now(), names.clone()));
        Ok(names)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}
