//! The build resolver (the original's `koschei/backend/services/build_resolver.py`): "what
//! did the build see". Every build (scratch or real) with a `repo_id` and `deps_resolved IS
//! NULL` is resolved against the exact Koji repo it was built in. Builds are grouped by
//! repo; each group is taken under a non-blocking advisory lock on the repo id (namespace
//! 2), so instances share the work.
//!
//! * repo without build group → `deps_resolved = FALSE` for every build of it;
//! * repo dead (deleted by Koji) → the dependency set the package resolved to in that
//!   repo, when the repo resolver stored it (`resolver_package_deps`), else
//!   `deps_resolved = FALSE`;
//! * repodata unavailable → left for the next cycle (assumed transient);
//! * unresolvable → `deps_resolved = FALSE`, and when it is the package's last build,
//!   `build_priority = priorities.newly_added` (it cannot get dependency priority, so it is
//!   treated like a newly added package);
//! * resolved → `deps_resolved = TRUE`, `dependency_keys` = its dependency set, and
//!   `applied_change` rows against the previous resolved build.
//!
//! Unlike Koschei, the previous build's `dependency_keys` are kept: every build keeps its
//! dependency set, so changes can always be computed against the last *tested* build,
//! even when Koji has deleted the repo it used (koschei#168, koschei#338).

use std::collections::{BTreeMap, HashMap, HashSet};

use koschei_depsolve::{compute_changes, Dependency, Nevra};
use sqlx::PgConnection;

use crate::build_requires::srpm;
use crate::comparison;
use crate::context::{CollectionInfo, Context};
use crate::dependency_keys;
use crate::package_deps::package_deps_in_repo;
use crate::repo_env::RepoStatus;
use crate::session_lock::with_session_lock;
use crate::solver_pool::{SolveJob, SolveResult, SolverPool};

/// Advisory-lock namespace of the build resolver (Koschei's `LOCK_BUILD_RESOLVER`).
pub const LOCK_BUILD_RESOLVER: i32 = 2;

#[derive(Debug, Clone, sqlx::FromRow)]
struct PendingBuild {
    id: i32,
    package_id: i32,
    name: String,
    version: Option<String>,
    release: Option<String>,
    repo_id: i32,
}

/// Totals of one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BuildStats {
    /// Builds marked resolved.
    pub resolved: usize,
    /// Builds marked unresolved.
    pub unresolved: usize,
    /// Builds left for later (repodata unavailable, repo locked).
    pub postponed: usize,
}

/// Resolves the pending builds of one collection.
pub async fn resolve_builds(ctx: &Context, c: &CollectionInfo) -> anyhow::Result<BuildStats> {
    let builds: Vec<PendingBuild> = sqlx::query_as(
        "SELECT b.id, b.package_id, p.name, b.version, b.release, b.repo_id
         FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.collection_id = $1 AND b.deps_resolved IS NULL AND b.repo_id IS NOT NULL
         ORDER BY b.repo_id, build_time(b), b.id",
    )
    .bind(c.id)
    .fetch_all(&ctx.pool)
    .await?;
    let mut by_repo: BTreeMap<i32, Vec<PendingBuild>> = BTreeMap::new();
    for b in builds {
        by_repo.entry(b.repo_id).or_default().push(b);
    }
    let mut stats = BuildStats::default();
    for (repo_id, builds) in by_repo {
        let work = resolve_repo_builds(ctx, c, repo_id, &builds, &mut stats);
        let done = with_session_lock(&ctx.pool, LOCK_BUILD_RESOLVER, repo_id, work).await?;
        if done.is_none() {
            stats.postponed += builds.len();
        }
    }
    Ok(stats)
}

async fn resolve_repo_builds(
    ctx: &Context,
    c: &CollectionInfo,
    repo_id: i32,
    builds: &[PendingBuild],
    stats: &mut BuildStats,
) -> anyhow::Result<()> {
    let repo = match ctx.repos.get(ctx.koji_for(c), &c.repo(repo_id)).await? {
        RepoStatus::Ready(repo) => repo,
        RepoStatus::Dead => {
            tracing::info!("{}: repo {repo_id} is dead", c.name);
            return resolve_from_package_history(ctx, repo_id, builds, stats).await;
        }
        RepoStatus::NoBuildGroup => {
            tracing::info!("{}: repo {repo_id} has no build group", c.name);
            let ids: Vec<i32> = builds.iter().map(|b| b.id).collect();
            stats.unresolved += mark_unresolved(&mut *ctx.pool.acquire().await?, ctx, &ids).await?;
            return Ok(());
        }
        RepoStatus::Unavailable => {
            tracing::warn!(
                "{}: repodata of repo {repo_id} unavailable; retrying later",
                c.name
            );
            stats.postponed += builds.len();
            return Ok(());
        }
    };
    let srpms: Vec<_> = builds
        .iter()
        .map(|b| {
            srpm(
                &b.name,
                b.version.as_deref().unwrap_or(""),
                b.release.as_deref().unwrap_or(""),
            )
        })
        .collect();
    let brs = ctx.brs.get(ctx.koji_for(c), c.koji_id(), &srpms).await?;
    let dep = &ctx.config.dependency;
    let mut solver = ctx.solver_pool(&repo, Vec::new());
    let chunk_size = dep.persist_chunk_size.max(1);
    let indexed: Vec<(usize, &PendingBuild)> = builds.iter().enumerate().collect();
    let chunks: Vec<&[(usize, &PendingBuild)]> = indexed.chunks(chunk_size).collect();
    let submit = |solver: &SolverPool, chunk: &[(usize, &PendingBuild)]| -> Vec<i32> {
        let mut no_brs = Vec::new();
        for &(i, b) in chunk {
            match &brs[i] {
                Some(brs) => solver.submit(SolveJob {
                    tag: i64::from(b.id),
                    buildrequires: brs.clone(),
                }),
                None => no_brs.push(b.id),
            }
        }
        no_brs
    };
    let mut pending_no_brs = submit(&solver, chunks.first().copied().unwrap_or(&[]));
    // results arrive in any order, those of the next chunk possibly first
    let mut results: HashMap<i64, SolveResult> = HashMap::new();
    for (k, chunk) in chunks.iter().enumerate() {
        let no_brs = std::mem::take(&mut pending_no_brs);
        let wanted: HashSet<i64> = chunk
            .iter()
            .map(|&(_, b)| i64::from(b.id))
            .filter(|id| !no_brs.iter().any(|n| i64::from(*n) == *id))
            .collect();
        // solve the next chunk while this one is written
        if let Some(next) = chunks.get(k + 1) {
            pending_no_brs = submit(&solver, next);
        }
        let mut missing = wanted.iter().filter(|id| !results.contains_key(id)).count();
        while missing > 0 {
            match solver.next().await {
                Some(Ok(r)) => {
                    if wanted.contains(&r.tag) {
                        missing -= 1;
                    }
                    results.insert(r.tag, r);
                }
                Some(Err(e)) => anyhow::bail!("solver: {e}"),
                None => anyhow::bail!("solver threads ended"),
            }
        }
        let mut conn = ctx.pool.acquire().await?;
        stats.unresolved += mark_unresolved(&mut conn, ctx, &no_brs).await?;
        // in build order, so that each build is compared with the one before it
        for &(_, b) in chunk.iter() {
            let Some(r) = results.remove(&i64::from(b.id)) else {
                continue;
            };
            if r.resolved {
                if store_resolved(&mut conn, ctx, b.id, &r.dependencies).await? {
                    stats.resolved += 1;
                }
            } else {
                stats.unresolved += mark_unresolved(&mut conn, ctx, &[b.id]).await?;
            }
        }
    }
    Ok(())
}

/// Builds of a repo Koji deleted: a build takes the dependency set its package resolved
/// to in that repo when the repo resolver stored it (the usual case for Koschei's scratch
/// builds, submitted into the latest resolved repo); the others cannot be processed.
async fn resolve_from_package_history(
    ctx: &Context,
    repo_id: i32,
    builds: &[PendingBuild],
    stats: &mut BuildStats,
) -> anyhow::Result<()> {
    let mut conn = ctx.pool.acquire().await?;
    let mut unresolved = Vec::new();
    for b in builds {
        match package_deps_in_repo(&mut conn, &ctx.deps, b.package_id, repo_id).await? {
            Some(deps) => {
                if store_resolved(&mut conn, ctx, b.id, &deps).await? {
                    stats.resolved += 1;
                }
            }
            None => unresolved.push(b.id),
        }
    }
    stats.unresolved += mark_unresolved(&mut conn, ctx, &unresolved).await?;
    Ok(())
}

/// `deps_resolved = FALSE`; packages whose last build it is get `build_priority =
/// newly_added`. Builds processed meanwhile (or deleted) are left alone.
async fn mark_unresolved(
    conn: &mut PgConnection,
    ctx: &Context,
    ids: &[i32],
) -> anyhow::Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let marked: Vec<i32> = sqlx::query_scalar(
        "UPDATE build SET deps_resolved = false WHERE id = ANY($1) AND deps_resolved IS NULL RETURNING id",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("UPDATE package SET build_priority = $2 WHERE last_build_id = ANY($1)")
        .bind(&marked)
        .bind(ctx.config.priorities.newly_added)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(marked.len())
}

/// Stores a resolved build's dependency set and its applied changes in one transaction.
/// Returns false when the build vanished or was processed meanwhile.
pub async fn store_resolved(
    conn: &mut PgConnection,
    ctx: &Context,
    build_id: i32,
    deps: &[Dependency],
) -> anyhow::Result<bool> {
    let nevras: Vec<&Nevra> = deps.iter().map(|d| &d.nevra).collect();
    // committed at once, outside the build's transaction (see package_persist)
    let ids = ctx.deps.get_or_create(&mut *conn, &nevras).await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let updated = sqlx::query(
        "UPDATE build SET deps_resolved = true, dependency_keys = $2
         WHERE id = $1 AND deps_resolved IS NULL",
    )
    .bind(build_id)
    .bind(dependency_keys::encode(&ids))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    if let Some((_, prev_ids)) = comparison::previous_build_deps(&mut tx, build_id).await? {
        let prev_nevras = ctx.deps.get_by_ids(&mut tx, &prev_ids).await?;
        let prev: Vec<Dependency> = prev_nevras
            .into_iter()
            .map(|nevra| Dependency {
                nevra,
                distance: None,
            })
            .collect();
        let changes = compute_changes(&prev, deps);
        let mut id_of: HashMap<&Nevra, i32> =
            nevras.iter().copied().zip(ids.iter().copied()).collect();
        for (p, id) in prev.iter().zip(&prev_ids) {
            id_of.insert(&p.nevra, *id);
        }
        let prev_col: Vec<Option<i32>> = changes
            .iter()
            .map(|c| c.prev.as_ref().map(|n| id_of[n]))
            .collect();
        let curr_col: Vec<Option<i32>> = changes
            .iter()
            .map(|c| c.curr.as_ref().map(|n| id_of[n]))
            .collect();
        let dist_col: Vec<Option<i32>> =
            changes.iter().map(|c| c.distance.map(i32::from)).collect();
        sqlx::query(
            "INSERT INTO applied_change (build_id, prev_dep_id, curr_dep_id, distance)
             SELECT $1, * FROM unnest($2::int[], $3::int[], $4::int[])",
        )
        .bind(build_id)
        .bind(&prev_col)
        .bind(&curr_col)
        .bind(&dist_col)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}
