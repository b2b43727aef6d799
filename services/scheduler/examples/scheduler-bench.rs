//! `scheduler-bench`: fills a fresh database with a synthetic distribution (for each
//! requested size) and measures the candidate query of a decision — the bounded one and
//! the reference full scan, checking they agree — and dry-run decisions.
//!
//! `cargo run --release -p koschei-scheduler --example scheduler-bench -- --packages 10000 --json`
//! (`DATABASE_URL` names the PostgreSQL server; README.md lists the measured figures).

use std::time::{Duration, Instant};

use clap::Parser;
use koschei_core::model::BuildState;
use koschei_core::{db, Config};
use koschei_scheduler::candidates::{
    candidates, full_scan_candidates, refresh_bounds, CANDIDATES_SQL,
};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};

/// Measures the scheduler's candidate query on synthetic databases of the given sizes.
#[derive(Debug, Parser)]
#[command(name = "scheduler-bench")]
struct BenchArgs {
    /// Packages in all (spread evenly over the collections); several sizes,
    /// comma-separated, are measured one after the other.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    packages: Vec<i64>,
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
    /// Timed repetitions of the reference full-scan query (slow at 1M).
    #[arg(long, default_value_t = 10)]
    full_scan_runs: usize,
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
/// priority; a few blocked, untracked, unresolved or running. Set-based, with
/// the table triggers off: the build pointers are set directly (one UPDATE
/// instead of the per-package last-build search), and the priority bounds are
/// left for the first decision (measured as `bounds_refresh_s`).
async fn fill(pool: &PgPool, packages: i64, collections: i64) -> anyhow::Result<()> {
    let per_collection = (packages / collections).max(1);
    let statements = [
        "ALTER TABLE package DISABLE TRIGGER USER",
        "ALTER TABLE build DISABLE TRIGGER USER",
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id, latest_repo_resolved)
         SELECT 'c' || i, 'Collection ' || i, 'c' || i, 'c' || i, 'c' || i || '-build', 1, true
         FROM generate_series(1, $1) i",
        "INSERT INTO base_package (name) SELECT 'pkg' || i FROM generate_series(1, $1) i",
        "INSERT INTO package (base_id, name, collection_id, tracked, blocked, resolved, dependency_priority)
         SELECT b.id, b.name, c.id, random() > 0.05, random() < 0.03,
                CASE WHEN random() < 0.02 THEN false ELSE true END,
                CASE WHEN random() < 0.3 THEN (random() * 600)::int ELSE 0 END
         FROM base_package b CROSS JOIN collection c",
        "INSERT INTO build (package_id, state, task_id, started, finished, version, release, repo_id,
                            last_complete)
         SELECT p.id, CASE WHEN random() < 0.1 THEN 5 ELSE 3 END, p.id,
                now() - (random() * 2000) * interval '1 hour', now(), '1', '1', 1, true
         FROM package p",
        "INSERT INTO build (package_id, state, task_id, started, version, release)
         SELECT p.id, 2, 10000000 + p.id, now(), '1', '2' FROM package p WHERE random() < 0.0003",
        "UPDATE package p
            SET last_complete_build_id = f.id, last_complete_build_state = f.state,
                last_build_id = COALESCE(r.id, f.id)
           FROM build f LEFT JOIN build r ON r.package_id = f.package_id AND r.state = 2
          WHERE f.package_id = p.id AND f.state IN (3, 5)",
        "ALTER TABLE package ENABLE TRIGGER USER",
        "ALTER TABLE build ENABLE TRIGGER USER",
        "VACUUM ANALYZE",
    ];
    for (i, sql) in statements.iter().enumerate() {
        let q = sqlx::query(sql);
        let q = match i {
            2 => q.bind(collections as i32),
            3 => q.bind(per_collection as i32),
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    koschei_core::service::init_logging();
    run(BenchArgs::parse()).await
}

/// Runs the benchmark for every requested size and prints its figures.
async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    for &packages in &args.packages {
        let report = run_size(&args, packages).await?;
        if !args.json {
            println!(
                "{} packages in {} collections: decision p50 {:.2} ms, p99 {:.2} ms \
                 (full scan p50 {:.1} ms, p99 {:.1} ms), same candidates: {}, \
                 {:.0} decisions/s, bounds recomputed in {:.2} s, database {} MB",
                report["packages"],
                args.collections,
                report["decision_ms_p50"].as_f64().unwrap_or_default(),
                report["decision_ms_p99"].as_f64().unwrap_or_default(),
                report["full_scan_ms_p50"].as_f64().unwrap_or_default(),
                report["full_scan_ms_p99"].as_f64().unwrap_or_default(),
                report["same_candidates"],
                report["decisions_per_s"].as_f64().unwrap_or_default(),
                report["bounds_refresh_s"].as_f64().unwrap_or_default(),
                report["database_mb"],
            );
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(())
}

/// Times `runs` candidate loads (each in its own transaction); returns the
/// sorted durations and the last list of package ids.
async fn time_query(
    conn: &mut PgConnection,
    config: &Config,
    runs: usize,
    full_scan: bool,
) -> anyhow::Result<(Vec<Duration>, Vec<i32>)> {
    let mut times = Vec::with_capacity(runs);
    let mut ids = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let mut tx = conn.begin().await?;
        let found = if full_scan {
            full_scan_candidates(&mut tx, config, 20).await?
        } else {
            candidates(&mut tx, config, 20).await?
        };
        tx.commit().await?;
        times.push(t.elapsed());
        ids = found.iter().map(|c| c.package_id).collect();
    }
    times.sort();
    Ok((times, ids))
}

/// Fills a fresh database with `packages` packages and measures it.
async fn run_size(args: &BenchArgs, packages: i64) -> anyhow::Result<serde_json::Value> {
    let url = recreate_database(&args.database_url).await?;
    let pool = db::connect_url(&url, 4).await?;
    db::migrate(&pool, None).await?;
    let fill_start = Instant::now();
    fill(&pool, packages, args.collections).await?;
    let fill_s = fill_start.elapsed().as_secs_f64();
    let config = Config::default();
    let mut conn = pool.acquire().await?;
    // the first decision after a fill (or past the horizon) computes every bound
    let refresh_start = Instant::now();
    refresh_bounds(&mut conn, &config).await?;
    let bounds_refresh_s = refresh_start.elapsed().as_secs_f64();
    sqlx::query("VACUUM ANALYZE package")
        .execute(&mut *conn)
        .await?;
    let (total, crossed, database_bytes): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE package_priority(p, c, lb, $1, $2, $3) >= $3),
                pg_database_size(current_database())
         FROM package p JOIN collection c ON c.id = p.collection_id
         LEFT JOIN build lb ON lb.id = p.last_build_id",
    )
    .bind(config.priorities.t0)
    .bind(config.priorities.t1)
    .bind(config.priorities.build_threshold)
    .fetch_one(&mut *conn)
    .await?;

    let (times, ids) = time_query(&mut conn, &config, args.runs, false).await?;
    let (full_times, full_ids) = time_query(&mut conn, &config, args.full_scan_runs, true).await?;

    // Dry run: whole decisions (lock, capacity check, candidates) without Koji.
    let dry_start = Instant::now();
    let mut decisions = 0u32;
    while dry_start.elapsed() < Duration::from_secs(3) {
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(3, 0)")
            .execute(&mut *tx)
            .await?;
        let _: i64 = sqlx::query_scalar("SELECT count(*) FROM build WHERE state = $1")
            .bind(BuildState::Running)
            .fetch_one(&mut *tx)
            .await?;
        candidates(&mut tx, &config, 20).await?;
        tx.commit().await?;
        decisions += 1;
    }
    let decisions_per_s = f64::from(decisions) / dry_start.elapsed().as_secs_f64();

    let p = &config.priorities;
    let mut tx = conn.begin().await?;
    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
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

    Ok(json!({
        "packages": total,
        "collections": args.collections,
        "crossed_threshold": crossed,
        "fill_s": fill_s,
        "bounds_refresh_s": bounds_refresh_s,
        "database_mb": database_bytes / (1024 * 1024),
        "candidates_found": ids.len(),
        "same_candidates": ids == full_ids,
        "decision_ms_p50": percentile(&times, 0.5),
        "decision_ms_p99": percentile(&times, 0.99),
        "full_scan_ms_p50": percentile(&full_times, 0.5),
        "full_scan_ms_p99": percentile(&full_times, 0.99),
        "decisions_per_s": decisions_per_s,
        "plan": plan.join("\n"),
    }))
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
