//! Keeping packages and real builds in step with Koji (`refresh_packages`,
//! `refresh_latest_builds` of `koschei/backend/__init__.py`), and refreshing the
//! statistics tables (the emulated materialized views of `koschei/models.py`).

use std::collections::HashMap;

use koschei_koji::client::calls::ListTaggedOpts;
use koschei_koji::model::BuildInfo;
use sqlx::PgPool;

use crate::backend::Backend;
use crate::builds::{register_real_builds, BackendResult};
use crate::evr::Evr;
use crate::koji_sessions::KojiSessions;

/// The Koji-facing columns of a collection.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KojiCollection {
    pub id: i32,
    pub name: String,
    pub dest_tag: String,
    pub build_tag: String,
    pub target: String,
    pub secondary_mode: bool,
    pub poll_untracked: bool,
}

/// Every collection with its Koji tags.
pub async fn koji_collections(pool: &PgPool) -> sqlx::Result<Vec<KojiCollection>> {
    sqlx::query_as(
        "SELECT id, name, dest_tag, build_tag, target, secondary_mode, poll_untracked
         FROM collection ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Counts of [`refresh_packages`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackageRefresh {
    pub added: u64,
    pub blocked_changed: u64,
}

/// Mirrors Koji's package list of the collection's dest tag: new names get
/// (untracked) packages; packages blocked in Koji or missing from its list
/// become blocked, unblocked ones unblocked (one UPDATE, so the all_blocked
/// trigger runs once).
pub async fn refresh_packages(
    pool: &PgPool,
    sessions: &KojiSessions,
    collection: &KojiCollection,
) -> BackendResult<PackageRefresh> {
    let koji = sessions.for_collection(collection.secondary_mode);
    let entries = koji
        .list_packages(collection.dest_tag.as_str(), true)
        .await?;
    let mut blocked: HashMap<String, bool> = HashMap::with_capacity(entries.len());
    for e in entries {
        // With inheritance a name can appear more than once; a block anywhere wins.
        *blocked.entry(e.package_name).or_insert(false) |= e.blocked;
    }
    let (names, flags): (Vec<String>, Vec<bool>) = blocked.into_iter().unzip();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO base_package (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&names)
    .execute(&mut *tx)
    .await?;
    let added = sqlx::query(
        "INSERT INTO package (base_id, name, collection_id, blocked, tracked)
         SELECT b.id, k.name, $1, k.blocked, false
         FROM unnest($2::text[], $3::bool[]) AS k(name, blocked)
         JOIN base_package b ON b.name = k.name
         WHERE NOT EXISTS (SELECT 1 FROM package p WHERE p.collection_id = $1 AND p.name = k.name)",
    )
    .bind(collection.id)
    .bind(&names)
    .bind(&flags)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let blocked_changed = sqlx::query(
        "UPDATE package p SET blocked = NOT p.blocked
         FROM package q LEFT JOIN unnest($2::text[], $3::bool[]) AS k(name, blocked) ON k.name = q.name
         WHERE q.id = p.id AND p.collection_id = $1
           AND p.blocked IS DISTINCT FROM COALESCE(k.blocked, true)",
    )
    .bind(collection.id)
    .bind(&names)
    .bind(&flags)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    if added + blocked_changed > 0 {
        tracing::info!(collection = %collection.name, added, blocked_changed, "refreshed packages");
    }
    Ok(PackageRefresh {
        added,
        blocked_changed,
    })
}

#[derive(sqlx::FromRow)]
struct PackageBuildState {
    id: i32,
    name: String,
    tracked: bool,
    last_epoch: Option<i32>,
    last_version: Option<String>,
    last_release: Option<String>,
}

/// Counts of [`refresh_latest_builds`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatestBuildsRefresh {
    pub registered: usize,
    pub untagged: u64,
    pub retagged: u64,
}

/// Brings real builds in line with Koji's latest tagged builds of the
/// collection: registers newer ones, marks builds newer than Koji's latest
/// as untagged (the pointers fall back), and un-marks re-tagged ones.
pub async fn refresh_latest_builds(
    backend: &Backend,
    collection: &KojiCollection,
) -> BackendResult<LatestBuildsRefresh> {
    let koji = backend.koji.for_collection(collection.secondary_mode);
    let opts = ListTaggedOpts {
        latest: true,
        inherit: true,
        ..ListTaggedOpts::default()
    };
    let tagged = koji
        .list_tagged(collection.dest_tag.as_str(), &opts)
        .await?;
    latest_builds_changed(backend, collection, tagged).await
}

/// Applies a list of Koji's latest tagged builds (all, or those of some
/// packages, as from a tag message) to the collection.
pub async fn latest_builds_changed(
    backend: &Backend,
    collection: &KojiCollection,
    tagged: Vec<BuildInfo>,
) -> BackendResult<LatestBuildsRefresh> {
    let pool = &backend.pool;
    let names: Vec<String> = tagged.iter().map(|b| b.name.clone()).collect();
    let packages: Vec<PackageBuildState> = sqlx::query_as(
        "SELECT p.id, p.name, p.tracked, lb.epoch AS last_epoch, lb.version AS last_version,
                lb.release AS last_release
         FROM package p LEFT JOIN build lb ON lb.id = p.last_build_id
         WHERE p.collection_id = $1 AND p.name = ANY($2)",
    )
    .bind(collection.id)
    .bind(&names)
    .fetch_all(pool)
    .await?;
    let by_name: HashMap<&str, &PackageBuildState> =
        packages.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut new_builds = Vec::new();
    let mut retag = Vec::new();
    let mut outcome = LatestBuildsRefresh::default();
    for build in tagged {
        let Some(pkg) = by_name.get(build.name.as_str()) else {
            continue;
        };
        let epoch = match build
            .epoch
            .map(|e| crate::builds::db_int("epoch", e))
            .transpose()
        {
            Ok(epoch) => epoch,
            Err(e) => {
                tracing::warn!(build = %build.name, "latest build ignored: {e}");
                continue;
            }
        };
        let koji_evr = Evr::new(epoch, &build.version, &build.release);
        let last = match (&pkg.last_version, &pkg.last_release) {
            (Some(v), Some(r)) => Some(Evr::new(pkg.last_epoch, v, r)),
            _ => None,
        };
        match last.as_ref().map(|l| koji_evr.rpm_cmp(l)) {
            None | Some(std::cmp::Ordering::Greater) => {
                // Either a new build or an untagged one tagged again.
                retag.push((pkg.id, koji_evr));
                if pkg.tracked || collection.poll_untracked {
                    new_builds.push((pkg.id, build));
                }
            }
            Some(std::cmp::Ordering::Less) => {
                outcome.untagged += mark_untagged(pool, pkg, &koji_evr).await?;
                let known: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM build WHERE package_id = $1
                                    AND rpmvercmp_evr(epoch, version, release, $2, $3, $4) = 0)",
                )
                .bind(pkg.id)
                .bind(koji_evr.epoch)
                .bind(&koji_evr.version)
                .bind(&koji_evr.release)
                .fetch_one(pool)
                .await?;
                if !known && (pkg.tracked || collection.poll_untracked) {
                    new_builds.push((pkg.id, build));
                    continue;
                }
                retag.push((pkg.id, koji_evr));
            }
            Some(std::cmp::Ordering::Equal) => retag.push((pkg.id, koji_evr)),
        }
    }
    outcome.retagged = retag_builds(pool, &retag).await?;
    outcome.registered =
        register_real_builds(backend, collection.secondary_mode, &new_builds).await?;
    Ok(outcome)
}

/// Builds marked untagged whose EVR is Koji's latest again are re-tagged.
async fn retag_builds(pool: &PgPool, latest: &[(i32, Evr)]) -> sqlx::Result<u64> {
    let ids: Vec<i32> = latest.iter().map(|(id, _)| *id).collect();
    let epochs: Vec<Option<i32>> = latest.iter().map(|(_, e)| e.epoch).collect();
    let versions: Vec<&str> = latest.iter().map(|(_, e)| e.version.as_str()).collect();
    let releases: Vec<&str> = latest.iter().map(|(_, e)| e.release.as_str()).collect();
    let n = sqlx::query(
        "UPDATE build b SET untagged = false, tagged = now() AT TIME ZONE 'UTC'
         FROM unnest($1::int[], $2::int[], $3::text[], $4::text[]) AS k(package_id, epoch, version, release)
         WHERE b.untagged AND b.package_id = k.package_id
           AND rpmvercmp_evr(b.epoch, b.version, b.release, k.epoch, k.version, k.release) = 0",
    )
    .bind(&ids)
    .bind(&epochs)
    .bind(&versions)
    .bind(&releases)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n)
}

/// Marks every build of the package newer than Koji's latest EVR untagged.
async fn mark_untagged(
    pool: &PgPool,
    pkg: &PackageBuildState,
    koji_evr: &Evr,
) -> sqlx::Result<u64> {
    let n = sqlx::query(
        "UPDATE build SET untagged = true
         WHERE package_id = $1 AND NOT untagged
           AND rpmvercmp_evr(epoch, version, release, $2, $3, $4) > 0",
    )
    .bind(pkg.id)
    .bind(koji_evr.epoch)
    .bind(&koji_evr.version)
    .bind(&koji_evr.release)
    .execute(pool)
    .await?
    .rows_affected();
    if n > 0 {
        tracing::info!(package = %pkg.name, "builds newer than {koji_evr} are no longer tagged");
    }
    Ok(n)
}

/// Recomputes `scalar_stats` and `resource_consumption_stats` (plain tables
/// standing in for materialized views, as in `koschei/models.py`).
pub async fn refresh_stats(pool: &PgPool) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM scalar_stats")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO scalar_stats (refresh_time, packages, tracked_packages, blocked_packages,
                                   builds, real_builds, scratch_builds)
         SELECT now() AT TIME ZONE 'UTC',
                (SELECT count(*) FROM package),
                (SELECT count(*) FROM package WHERE tracked),
                (SELECT count(*) FROM package WHERE blocked),
                (SELECT count(*) FROM build),
                (SELECT count(*) FROM build WHERE real),
                (SELECT count(*) FROM build WHERE NOT real)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM resource_consumption_stats")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO resource_consumption_stats (name, arch, time, time_percentage)
         SELECT p.name, t.arch, sum(t.finished - t.started),
                extract(epoch FROM sum(t.finished - t.started))
                    / NULLIF(extract(epoch FROM sum(sum(t.finished - t.started)) OVER ()), 0)
         FROM koji_task t JOIN build b ON b.id = t.build_id JOIN package p ON p.id = b.package_id
         GROUP BY p.name, t.arch",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
