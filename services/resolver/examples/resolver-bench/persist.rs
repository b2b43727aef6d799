//! The persistence part of `resolver-bench --database-url URL`: a whole-repo pass
//! written into PostgreSQL through the service's own code paths, timed.
//!
//! A throw-away collection gets one package per source package, each with a complete real
//! build holding the *base* pass's dependency set (`dependency_keys`, stored like the build
//! resolver does). Then the *current* pass (the next repo's full pass when there is one,
//! else the base pass again) is persisted chunk by chunk exactly as the repo resolver does
//! ([`persist_chunk`]: comparison builds, dependency changes, priorities, history,
//! unapplied changes, outbox); only the [`persist_chunk`] calls are timed. The collection
//! is deleted afterwards.

use std::collections::HashMap;
use std::time::Instant;

use koschei_core::{db, Config};
use koschei_depsolve::{Dependency, Nevra, PackageTable, Resolution, SourcePackage};
use koschei_resolver::dependency_cache::DependencyCache;
use koschei_resolver::dependency_keys;
use koschei_resolver::package_persist::{
    persist_chunk, DependencySet, PackageOutcome, PersistStats,
};
use serde_json::json;

/// One resolved pass: the repository's packages, the source packages and their results.
pub struct PassView<'a> {
    /// Packages of the repository the pass ran against.
    pub table: &'a PackageTable,
    /// Source packages, in the order of `results`.
    pub sources: &'a [SourcePackage],
    /// Results.
    pub results: &'a [Resolution],
    /// Wall time of the resolution.
    pub wall_s: f64,
}

fn dependencies(table: &PackageTable, r: &Resolution) -> Vec<Dependency> {
    r.installs
        .iter()
        .map(|i| Dependency {
            nevra: table.get(i.package).clone(),
            distance: i.distance,
        })
        .collect()
}

/// Runs the persistence benchmark; returns its JSON report.
pub fn run(
    url: &str,
    base: &PassView<'_>,
    current: &PassView<'_>,
    chunk: usize,
    cache_capacity: usize,
) -> anyhow::Result<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(url, base, current, chunk.max(1), cache_capacity))
}

async fn run_async(
    url: &str,
    base: &PassView<'_>,
    current: &PassView<'_>,
    chunk: usize,
    cache_capacity: usize,
) -> anyhow::Result<serde_json::Value> {
    let pool = db::connect_url(url, 4).await?;
    db::migrate(&pool, None).await?;
    let mut config = Config::default();
    config.fedmsg_publisher.enabled = true;
    config.dependency.persist_chunk_size = chunk;
    config.dependency.dependency_cache_capacity = cache_capacity;
    let cache = DependencyCache::new(config.dependency.dependency_cache_capacity);
    let name = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let collection_id: i32 = sqlx::query_scalar(
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag,
                                 latest_repo_id, latest_repo_resolved)
         VALUES ($1, $1, $1, $1, $1 || '-build', 1, true) RETURNING id",
    )
    .bind(&name)
    .fetch_one(&pool)
    .await?;
    let result = measure(&pool, &config, &cache, collection_id, base, current, chunk).await;
    sqlx::query("DELETE FROM collection WHERE id = $1")
        .bind(collection_id)
        .execute(&pool)
        .await?;
    result
}

async fn measure(
    pool: &sqlx::PgPool,
    config: &Config,
    cache: &DependencyCache,
    collection_id: i32,
    base: &PassView<'_>,
    current: &PassView<'_>,
    chunk: usize,
) -> anyhow::Result<serde_json::Value> {
    // packages (union of both passes' sources) and the base pass's builds
    let mut names: Vec<&str> = base
        .sources
        .iter()
        .chain(current.sources)
        .map(|s| s.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    sqlx::query(
        "INSERT INTO base_package (name) SELECT * FROM unnest($1::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(&names)
    .execute(pool)
    .await?;
    let packages: Vec<(i32, String)> = sqlx::query_as(
        "INSERT INTO package (base_id, name, collection_id, tracked)
         SELECT b.id, b.name, $2, true FROM base_package b WHERE b.name = ANY($1)
         RETURNING id, name",
    )
    .bind(&names)
    .bind(collection_id)
    .fetch_all(pool)
    .await?;
    let package_of: HashMap<String, i32> = packages.into_iter().map(|(id, n)| (n, id)).collect();
    let (mut pkg_col, mut ver_col, mut rel_col) = (Vec::new(), Vec::new(), Vec::new());
    for s in base.sources {
        let nevra = Nevra::from_evr(&s.name, &s.evr, "src");
        pkg_col.push(package_of[&s.name]);
        ver_col.push(nevra.version);
        rel_col.push(nevra.release);
    }
    let builds: Vec<(i32, i32)> = sqlx::query_as(
        "INSERT INTO build (package_id, state, task_id, started, finished, version, release, repo_id, real)
         SELECT p, 3, 0, now() AT TIME ZONE 'UTC' - interval '1 day', now() AT TIME ZONE 'UTC', v, r, 1, true
         FROM unnest($1::int[], $2::text[], $3::text[]) AS u(p, v, r)
         RETURNING package_id, id",
    )
    .bind(&pkg_col)
    .bind(&ver_col)
    .bind(&rel_col)
    .fetch_all(pool)
    .await?;
    let build_of: HashMap<i32, i32> = builds.into_iter().collect();

    // the base pass's dependency sets, stored on the builds
    let t0 = Instant::now();
    let indices: Vec<usize> = (0..base.sources.len())
        .filter(|&i| base.results[i].resolved)
        .collect();
    for part in indices.chunks(chunk) {
        let deps: Vec<Vec<Dependency>> = part
            .iter()
            .map(|&i| dependencies(base.table, &base.results[i]))
            .collect();
        let refs: Vec<&Nevra> = deps.iter().flatten().map(|d| &d.nevra).collect();
        let mut conn = pool.acquire().await?;
        let ids = cache.get_or_create(&mut conn, &refs).await?;
        let (mut build_ids, mut keys) = (Vec::new(), Vec::new());
        let mut at = 0;
        for (&i, d) in part.iter().zip(&deps) {
            build_ids.push(build_of[&package_of[&base.sources[i].name]]);
            keys.push(dependency_keys::encode(&ids[at..at + d.len()]));
            at += d.len();
        }
        sqlx::query(
            "UPDATE build SET deps_resolved = true, dependency_keys = u.k
             FROM unnest($1::int[], $2::bytea[]) AS u(id, k) WHERE build.id = u.id",
        )
        .bind(&build_ids)
        .bind(&keys)
        .execute(&mut *conn)
        .await?;
    }
    let store_s = t0.elapsed().as_secs_f64();

    // the current pass, persisted like the repo resolver does
    // only the persistence is timed: the service builds the outcomes in its solver threads
    let mut persist = std::time::Duration::ZERO;
    let mut stats = PersistStats::default();
    let order: Vec<usize> = {
        let mut o: Vec<usize> = (0..current.sources.len()).collect();
        o.sort_by_key(|&i| package_of[&current.sources[i].name]);
        o
    };
    for part in order.chunks(chunk) {
        let outcomes: Vec<PackageOutcome> = part
            .iter()
            .map(|&i| {
                let r = &current.results[i];
                let package_id = package_of[&current.sources[i].name];
                PackageOutcome {
                    package_id,
                    last_build_id: build_of.get(&package_id).copied(),
                    resolved: r.resolved,
                    problems: r.problems.clone(),
                    dependencies: DependencySet::Nevras(dependencies(current.table, r)),
                    srpm: None,
                    trace: None,
                }
            })
            .collect();
        let t1 = Instant::now();
        stats += persist_chunk(pool, config, cache, &outcomes, None, Some(1)).await?;
        persist += t1.elapsed();
    }
    let persist_s = persist.as_secs_f64();
    Ok(json!({
        "packages": current.sources.len(),
        "chunk": chunk,
        "persist_s": persist_s,
        "resolution_wall_s": current.wall_s,
        "persist_vs_resolution": if current.wall_s > 0.0 { persist_s / current.wall_s } else { 0.0 },
        "per_pkg_ms": persist_s * 1000.0 / current.sources.len().max(1) as f64,
        "persisted": stats.persisted,
        "unapplied_changes": stats.changes,
        "resolution_changes": stats.resolution_changes,
        "messages": stats.messages,
        "build_dependency_sets_store_s": store_s,
        "dependency_cache": format!("{:?}", cache.stats()),
    }))
}
