//! The dependency-row cache (`DependencyCache` in the original's
//! `koschei/backend/services/resolver.py`): an in-process LRU mapping ids
//! of the flyweight table `dependency` to NEVRAs and back. Lookups by id fetch all
//! missing rows in one query; get-or-create by NEVRA inserts all missing rows in one
//! statement (`INSERT … ON CONFLICT DO NOTHING`, then a select), which is safe against
//! concurrent resolvers in other processes, unlike Koschei's bulk variant. The cache lock
//! is never held across a database round trip, so any number of tasks can share it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use koschei_depsolve::Nevra;
use sqlx::PgConnection;

/// Hit/miss/insert counters, logged after each repo run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Found in memory.
    pub hits: u64,
    /// Looked up in the database.
    pub misses: u64,
    /// Newly inserted rows.
    pub inserts: u64,
}

#[derive(Default)]
struct Lru {
    by_id: HashMap<i32, (Nevra, u64)>,
    by_nevra: HashMap<Nevra, i32>,
    order: BTreeMap<u64, i32>,
    tick: u64,
    stats: CacheStats,
}

impl Lru {
    fn touch(&mut self, id: i32) -> Option<&Nevra> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.by_id.get_mut(&id)?;
        self.order.remove(&entry.1);
        entry.1 = tick;
        self.order.insert(tick, id);
        Some(&entry.0)
    }

    fn insert(&mut self, id: i32, nevra: Nevra, capacity: usize) {
        if self.touch(id).is_some() {
            return;
        }
        self.tick += 1;
        self.order.insert(self.tick, id);
        self.by_nevra.insert(nevra.clone(), id);
        self.by_id.insert(id, (nevra, self.tick));
        while self.by_id.len() > capacity {
            let Some((_, old)) = self.order.pop_first() else {
                break;
            };
            if let Some((n, _)) = self.by_id.remove(&old) {
                self.by_nevra.remove(&n);
            }
        }
    }
}

/// LRU cache of `dependency` rows, bounded to `capacity` entries
/// (`dependency.dependency_cache_capacity`).
pub struct DependencyCache {
    capacity: usize,
    lru: Mutex<Lru>,
}

type Row = (i32, String, Option<i32>, String, String, String);

fn row_nevra((_, name, epoch, version, release, arch): Row) -> Nevra {
    Nevra {
        name,
        epoch: epoch.unwrap_or(0).max(0) as u32,
        version,
        release,
        arch,
    }
}

impl DependencyCache {
    /// An empty cache.
    pub fn new(capacity: usize) -> Self {
        DependencyCache {
            capacity: capacity.max(1),
            lru: Mutex::new(Lru::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counters since the cache was created.
    pub fn stats(&self) -> CacheStats {
        self.lock().stats
    }

    /// Number of cached rows.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the row is cached (no database access, no LRU update).
    pub fn contains_id(&self, id: i32) -> bool {
        self.lock().by_id.contains_key(&id)
    }

    /// The NEVRAs of `ids`, in the same order; rows missing from memory are fetched in one
    /// query. Unknown ids are an error (the foreign keys make them impossible).
    pub async fn get_by_ids(
        &self,
        conn: &mut PgConnection,
        ids: &[i32],
    ) -> sqlx::Result<Vec<Nevra>> {
        let mut found: HashMap<i32, Nevra> = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let mut lru = self.lock();
            for &id in ids {
                match lru.touch(id).cloned() {
                    Some(n) => {
                        lru.stats.hits += 1;
                        found.insert(id, n);
                    }
                    None => missing.push(id),
                }
            }
            lru.stats.misses += missing.len() as u64;
        }
        if !missing.is_empty() {
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, name, epoch, version, release, arch FROM dependency WHERE id = ANY($1)",
            )
            .bind(&missing)
            .fetch_all(conn)
            .await?;
            let mut lru = self.lock();
            for row in rows {
                let id = row.0;
                let nevra = row_nevra(row);
                lru.insert(id, nevra.clone(), self.capacity);
                found.insert(id, nevra);
            }
        }
        ids.iter()
            .map(|id| found.get(id).cloned().ok_or(sqlx::Error::RowNotFound))
            .collect()
    }

    /// The ids of `nevras` (same order), creating missing rows. Safe when several
    /// processes create the same rows at once.
    pub async fn get_or_create(
        &self,
        conn: &mut PgConnection,
        nevras: &[&Nevra],
    ) -> sqlx::Result<Vec<i32>> {
        let mut ids: HashMap<&Nevra, i32> = HashMap::with_capacity(nevras.len());
        let mut missing: Vec<&Nevra> = Vec::new();
        {
            let mut lru = self.lock();
            for &n in nevras {
                match lru.by_nevra.get(n).copied() {
                    Some(id) => {
                        lru.touch(id);
                        lru.stats.hits += 1;
                        ids.insert(n, id);
                    }
                    None => missing.push(n),
                }
            }
            lru.stats.misses += missing.len() as u64;
        }
        // sorted, so concurrent inserters take the unique-index locks in the same order
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            let cols = Columns::of(&missing);
            let inserted = sqlx::query(
                "INSERT INTO dependency (name, epoch, version, release, arch)
                 SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])
                 ON CONFLICT DO NOTHING",
            )
            .bind(&cols.name)
            .bind(&cols.epoch)
            .bind(&cols.version)
            .bind(&cols.release)
            .bind(&cols.arch)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT d.id, d.name, d.epoch, d.version, d.release, d.arch
                 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])
                      AS u(name, epoch, version, release, arch)
                 JOIN dependency d ON d.name = u.name AND d.epoch = u.epoch
                      AND d.version = u.version AND d.release = u.release AND d.arch = u.arch",
            )
            .bind(&cols.name)
            .bind(&cols.epoch)
            .bind(&cols.version)
            .bind(&cols.release)
            .bind(&cols.arch)
            .fetch_all(&mut *conn)
            .await?;
            let mut lru = self.lock();
            lru.stats.inserts += inserted;
            let mut by_nevra: HashMap<Nevra, i32> = HashMap::with_capacity(rows.len());
            for row in rows {
                let id = row.0;
                let nevra = row_nevra(row);
                lru.insert(id, nevra.clone(), self.capacity);
                by_nevra.insert(nevra, id);
            }
            for n in missing {
                let id = *by_nevra.get(n).ok_or(sqlx::Error::RowNotFound)?;
                ids.insert(n, id);
            }
        }
        Ok(nevras.iter().map(|n| ids[n]).collect())
    }
}

/// NEVRAs as column arrays for `unnest`.
struct Columns {
    name: Vec<String>,
    epoch: Vec<i32>,
    version: Vec<String>,
    release: Vec<String>,
    arch: Vec<String>,
}

impl Columns {
    fn of(nevras: &[&Nevra]) -> Self {
        Columns {
            name: nevras.iter().map(|n| n.name.clone()).collect(),
            // RPM epochs are unsigned 32-bit, the column is `integer`: saturate (never
            // wrap into a negative epoch that would compare below every other).
            epoch: nevras
                .iter()
                .map(|n| i32::try_from(n.epoch).unwrap_or(i32::MAX))
                .collect(),
            version: nevras.iter().map(|n| n.version.clone()).collect(),
            release: nevras.iter().map(|n| n.release.clone()).collect(),
            arch: nevras.iter().map(|n| n.arch.clone()).collect(),
        }
    }
}
