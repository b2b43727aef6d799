//! `koschei-scheduler bench`: fills a fresh database with a synthetic
//! distribution and measures the scheduling query and dry-run decisions.

use std::time::{Duration, Instant};

use clap::Args;
use koschei_core::{db, Config};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};

use crate::decision::{candidates, CANDIDATES_SQL};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Packages in all (spread evenly over the collections).
    #[arg(long, default_value_t = 100_000)]
    packages: i64,
    /// Collections.
    #[arg(long, default_value_t = 10)]
    collections: i64,
    /// PostgreSQL server URL; a fresh database `koschei_scheduler_bench` is
    /// created on it and dropped afterwards.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Timed repetitions of the scheduling query.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

const BENCH_DB: &str = "koschei_scheduler_bench";

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = match base.rsplit_once('/') {
        Some((p, _)) if p.contains("://") && p.len() > p.find("://").unwrap() + 2 => p,
        _ => base,
    };
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

async fn recreate_database(url: &str) -> anyhow::Result<String> {
    let mut admin = PgConnection::connect(&with_database(url, "postgres")).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {BENCH_DB}"))
        .execute(&mut admin)
        .await?;
    Ok(with_database(url, BENCH_DB))
}

async fn drop_database(url: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(&with_database(url, "postgres")).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// A distribution: every base package in every collection; most tracked
/// and resolved with a finished build of random age and a random dependency
/// priority; a few blocked, untracked, unresolved or running.
async fn fill(pool: &PgPool, packages: i64, collections: i64) -> anyhow::Result<()> {
    let per_collection = (packages / collections).max(1);
    let statements = [
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id, latest_repo_resolved)
         SELECT 'c' || i, 'Collection ' || i, 'c' || i, 'c' || i, 'c' || i || '-build', 1, true
         FROM generate_series(1, $1) i",
        "INSERT INTO base_package (name) SELECT 'pkg' || i FROM generate_series(1, $1) i",
        "INSERT INTO package (base_id, name, collection_id, tracked, blocked, resolved, dependency_priority)
         SELECT b.id, b.name, c.id, random() > 0.05, random() < 0.03,
                CASE WHEN random() < 0.02 THEN false ELSE true END,
                CASE WHEN random() < 0.3 THEN (random() * 600)::int ELSE 0 END
         FROM base_package b CROSS JOIN collection c",
        "INSERT INTO build (package_id, state, task_id, started, finished, version, release, repo_id)
         SELECT p.id, CASE WHEN random() < 0.1 THEN 5 ELSE 3 END, p.id,
                now() - (random() * 2000) * interval '1 hour', now(), '1', '1', 1
         FROM package p",
        "INSERT INTO build (package_id, state, task_id, started, version, release)
         SELECT p.id, 2, 10000000 + p.id, now(), '1', '2' FROM package p WHERE random() < 0.0003",
        "ANALYZE",
    ];
    for (i, sql) in statements.iter().enumerate() {
        let q = sqlx::query(sql);
        let q = match i {
            0 => q.bind(collections as i32),
            1 => q.bind(per_collection as i32),
            _ => q,
        };
        q.execute(pool).await?;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let url = recreate_database(&args.database_url).await?;
    let pool = db::connect_url(&url, 4).await?;
    db::migrate(&pool, None).await?;
    let fill_start = Instant::now();
    fill(&pool, args.packages, args.collections).await?;
    let fill_s = fill_start.elapsed().as_secs_f64();
    let config = Config::default();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM package")
        .fetch_one(&pool)
        .await?;

    let mut conn = pool.acquire().await?;
    let mut times = Vec::with_capacity(args.runs);
    let mut found = 0;
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        let mut tx = conn.begin().await?;
        found = candidates(&mut tx, &config, 20).await?.len();
        tx.commit().await?;
        times.push(t.elapsed());
    }
    times.sort();

    // Dry run: whole decisions (lock, capacity check, candidates) without Koji.
    let dry_start = Instant::now();
    let mut decisions = 0u32;
    while dry_start.elapsed() < Duration::from_secs(3) {
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(3, 0)")
            .execute(&mut *tx)
            .await?;
        let _: i64 = sqlx::query_scalar("SELECT count(*) FROM build WHERE state = 2")
            .fetch_one(&mut *tx)
            .await?;
        candidates(&mut tx, &config, 20).await?;
        tx.commit().await?;
        decisions += 1;
    }
    let decisions_per_s = f64::from(decisions) / dry_start.elapsed().as_secs_f64();

    let p = &config.priorities;
    let mut tx = conn.begin().await?;
    sqlx::query("SET LOCAL work_mem = '64MB'")
        .execute(&mut *tx)
        .await?;
    let plan: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, COSTS OFF) {CANDIDATES_SQL}"))
            .bind(p.t0)
            .bind(p.t1)
            .bind(p.build_threshold)
            .bind(20i64)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    drop(conn);
    pool.close().await;
    drop_database(&args.database_url).await?;

    let report = json!({
        "packages": total,
        "collections": args.collections,
        "fill_s": fill_s,
        "candidates_found": found,
        "decision_ms_p50": percentile(&times, 0.5),
        "decision_ms_p99": percentile(&times, 0.99),
        "decisions_per_s": decisions_per_s,
        "plan": plan.join("\n"),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{total} packages in {} collections: decision p50 {:.1} ms, p99 {:.1} ms, {decisions_per_s:.1} decisions/s",
            args.collections,
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
        println!("{}", plan.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@localhost:5544/koschei_test?host=/tmp/s", "x"),
            "postgres://u@localhost:5544/x?host=/tmp/s"
        );
        assert_eq!(with_database("postgres://u@h/db", "x"), "postgres://u@h/x");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
