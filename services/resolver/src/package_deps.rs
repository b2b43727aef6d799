//! What each package resolved to in each repo (`resolver_package_deps`): history that
//! survives Koji (koschei#168/koschei#338: a build whose repo Koji deleted takes its
//! package's set in that repo) and the previous results incremental resolution starts from.
//!
//! A row holds the outcome of a package from its repo on, until the package's next row:
//! a pass writes one only when the outcome (resolvable?, dependency ids, distances, the
//! SRPM whose BuildRequires were resolved) differs from the newest row at or before its
//! repo, so readers take the newest row at or before the repo they ask about. A package
//! a pass did not resolve (result discarded, chunk cancelled, not eligible any more) gets
//! an *unknown* row (`resolved IS NULL`), so a stale older row is never taken for it.

use std::collections::HashMap;

use koschei_depsolve::{Dependency, InstallTrace};
use sqlx::PgConnection;

use crate::dependency_cache::DependencyCache;
use crate::{dependency_keys, stored_trace};

/// A package's outcome as stored: resolvable? (`None` = unknown), dependency ids
/// (ascending) with their distances (0 = none), the SRPM (`version-release`), and the
/// trace of the solve (positions into `ids`) that incremental passes plan with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredDeps {
    /// Resolvable (`None`: not resolved in that pass).
    pub resolved: Option<bool>,
    /// Dependency ids, ascending (empty unless resolved).
    pub ids: Vec<i32>,
    /// One distance per id, 0 for none.
    pub distances: Vec<u8>,
    /// `version-release` of the SRPM whose BuildRequires were resolved.
    pub srpm: Option<String>,
    /// The solve's trace as positions into `ids` (`None`: none recorded).
    pub trace: Option<InstallTrace>,
}

impl StoredDeps {
    /// The row of a resolved package: its dependencies as `(id, distance)` pairs (distinct
    /// ids) and the solve's trace as positions into `pairs`.
    pub fn resolved(
        pairs: Vec<(i32, Option<u8>)>,
        srpm: Option<String>,
        trace: Option<&InstallTrace>,
    ) -> StoredDeps {
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_unstable_by_key(|&i| pairs[i]);
        order.dedup_by_key(|&mut i| pairs[i].0);
        // position in `pairs` → position in the ascending id list
        let mut stored_at = vec![None; pairs.len()];
        for (to, &from) in order.iter().enumerate() {
            stored_at[from] = Some(to as u32);
        }
        StoredDeps {
            resolved: Some(true),
            ids: order.iter().map(|&i| pairs[i].0).collect(),
            distances: order.iter().map(|&i| pairs[i].1.unwrap_or(0)).collect(),
            srpm,
            trace: trace.and_then(|t| t.renumbered(|p| stored_at.get(p as usize).copied()?)),
        }
    }

    /// The row of an unresolvable package.
    pub fn unresolved(srpm: Option<String>) -> StoredDeps {
        StoredDeps {
            resolved: Some(false),
            srpm,
            ..StoredDeps::default()
        }
    }

    /// The dependency set with distances (empty unless resolved).
    pub fn dependencies(&self, nevras: Vec<koschei_depsolve::Nevra>) -> Vec<Dependency> {
        nevras
            .into_iter()
            .enumerate()
            .map(|(i, nevra)| Dependency {
                nevra,
                distance: self.distances.get(i).copied().filter(|&d| d > 0),
            })
            .collect()
    }
}

type Row = (
    i32,
    Option<bool>,
    Vec<u8>,
    Vec<u8>,
    Option<String>,
    Option<Vec<u8>>,
);

/// The newest row at or before `repo_id` of each package that has one.
pub async fn newest_at_or_before(
    conn: &mut PgConnection,
    package_ids: &[i32],
    repo_id: i32,
) -> anyhow::Result<HashMap<i32, StoredDeps>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT DISTINCT ON (package_id) package_id, resolved, dependency_keys, distances, srpm,
                trace
         FROM resolver_package_deps WHERE package_id = ANY($1) AND repo_id <= $2
         ORDER BY package_id, repo_id DESC",
    )
    .bind(package_ids)
    .bind(repo_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, resolved, keys, distances, srpm, trace)| {
            let ids = match resolved {
                Some(true) => dependency_keys::decode(&keys)?,
                _ => Vec::new(),
            };
            // a malformed trace is no trace, which only costs a solve
            let trace = trace
                .as_deref()
                .and_then(|t| stored_trace::decode(t, ids.len()));
            Ok((
                id,
                StoredDeps {
                    resolved,
                    ids,
                    distances,
                    srpm,
                    trace,
                },
            ))
        })
        .collect()
}

/// Writes the packages' rows for `repo_id` (replacing rows of the same repo) and drops
/// the rows of those packages nothing can ask about any more: kept are the newest row,
/// the newest one before `repo_id` (builds submitted just before a repo change) and, for
/// every repo an unresolved build refers to, the newest row at or before it.
pub async fn store(
    conn: &mut PgConnection,
    repo_id: i32,
    rows: &[(i32, StoredDeps)],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let (mut pkgs, mut keys, mut dists, mut flags, mut srpms, mut traces) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (pkg, row) in rows {
        pkgs.push(*pkg);
        keys.push(dependency_keys::encode(&row.ids));
        dists.push(row.distances.clone());
        flags.push(row.resolved);
        srpms.push(row.srpm.clone());
        traces.push(row.trace.as_ref().and_then(stored_trace::encode));
    }
    sqlx::query(
        "INSERT INTO resolver_package_deps
             (package_id, repo_id, dependency_keys, distances, resolved, srpm, trace)
         SELECT p, $2, k, d, r, s, t
         FROM unnest($1::int[], $3::bytea[], $4::bytea[], $5::bool[], $6::text[],
                     $7::bytea[]) AS u(p, k, d, r, s, t)
         ON CONFLICT (package_id, repo_id)
         DO UPDATE SET dependency_keys = EXCLUDED.dependency_keys, distances = EXCLUDED.distances,
                       resolved = EXCLUDED.resolved, srpm = EXCLUDED.srpm,
                       trace = EXCLUDED.trace",
    )
    .bind(&pkgs)
    .bind(repo_id)
    .bind(&keys)
    .bind(&dists)
    .bind(&flags)
    .bind(&srpms)
    .bind(&traces)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM resolver_package_deps r
         WHERE r.package_id = ANY($1) AND r.repo_id < $2
           -- not the newest row before $2
           AND EXISTS (SELECT 1 FROM resolver_package_deps n WHERE n.package_id = r.package_id
                       AND n.repo_id > r.repo_id AND n.repo_id < $2)
           -- not the newest row at or before the repo of an unresolved build
           AND NOT EXISTS (
               SELECT 1 FROM build b WHERE b.package_id = r.package_id
                 AND b.deps_resolved IS NULL AND b.repo_id >= r.repo_id
                 AND NOT EXISTS (SELECT 1 FROM resolver_package_deps m
                                 WHERE m.package_id = r.package_id
                                   AND m.repo_id > r.repo_id AND m.repo_id <= b.repo_id))",
    )
    .bind(&pkgs)
    .bind(repo_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that `repo_id`'s pass did not resolve these packages: an unknown row, unless
/// the package has a row of that very repo (which stays true) or is already unknown.
pub async fn mark_unknown(
    conn: &mut PgConnection,
    repo_id: i32,
    package_ids: &[i32],
) -> sqlx::Result<u64> {
    if package_ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(
        "INSERT INTO resolver_package_deps
             (package_id, repo_id, dependency_keys, distances, resolved, srpm)
         SELECT p.id, $2, ''::bytea, ''::bytea, NULL, NULL FROM package p
         WHERE p.id = ANY($1)
           AND (SELECT r.resolved IS NOT NULL FROM resolver_package_deps r
                WHERE r.package_id = p.id AND r.repo_id <= $2
                ORDER BY r.repo_id DESC LIMIT 1)
         ON CONFLICT (package_id, repo_id) DO NOTHING",
    )
    .bind(package_ids)
    .bind(repo_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Records that a whole-repo pass of the collection was queued for `repo_id`, and forgets
/// the passes nothing can ask about any more (older than the previous one and no
/// unresolved build's repo).
pub async fn record_pass(
    conn: &mut PgConnection,
    collection_id: i32,
    repo_id: i32,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO resolver_repo_pass (collection_id, repo_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(collection_id)
    .bind(repo_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM resolver_repo_pass s
         WHERE s.collection_id = $1
           AND s.repo_id < (SELECT max(o.repo_id) FROM resolver_repo_pass o
                            WHERE o.collection_id = $1 AND o.repo_id < $2)
           AND NOT EXISTS (SELECT 1 FROM build b JOIN package p ON p.id = b.package_id
                           WHERE p.collection_id = $1 AND b.deps_resolved IS NULL
                             AND b.repo_id = s.repo_id)",
    )
    .bind(collection_id)
    .bind(repo_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The dependency set a package resolved to in a repo, when it is known: the repo had a
/// whole-repo pass of the package's collection, the package's part of it is done, and
/// it resolved.
pub async fn package_deps_in_repo(
    conn: &mut PgConnection,
    cache: &DependencyCache,
    package_id: i32,
    repo_id: i32,
) -> anyhow::Result<Option<Vec<Dependency>>> {
    let passed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM resolver_repo_pass s JOIN package p
                        ON p.collection_id = s.collection_id
                        WHERE p.id = $1 AND s.repo_id = $2)
            AND NOT EXISTS (SELECT 1 FROM resolver_work w
                            WHERE w.repo_id = $2 AND $1 = ANY(w.package_ids))",
    )
    .bind(package_id)
    .bind(repo_id)
    .fetch_one(&mut *conn)
    .await?;
    if !passed {
        return Ok(None);
    }
    let mut rows = newest_at_or_before(conn, &[package_id], repo_id).await?;
    let Some(row) = rows
        .remove(&package_id)
        .filter(|r| r.resolved == Some(true))
    else {
        return Ok(None);
    };
    let nevras = cache.get_by_ids(conn, &row.ids).await?;
    Ok(Some(row.dependencies(nevras)))
}
