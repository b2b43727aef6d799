//! Benchmark helper of koschei-web (run by `scripts/bench-web`):
//!
//! * `web-bench seed --packages N --builds M` fills an empty database (the one
//!   in `DATABASE_URL`) with one collection of N tracked packages and M
//!   builds, plus tasks, dependency changes, resolution changes and groups;
//! * `web-bench load --base-url URL --concurrency C --seconds S` measures the
//!   package list, a package page and `/api/v1/packages` with C concurrent
//!   clients for S seconds each and prints
//!   `{"<endpoint>": {"p50_ms", "p99_ms", "rps"}}`.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use serde_json::json;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the schema and the benchmark data in DATABASE_URL.
    Seed {
        #[arg(long, default_value_t = 25_000)]
        packages: i32,
        #[arg(long, default_value_t = 250_000)]
        builds: i32,
    },
    /// Measure the endpoints of a running koschei-web.
    Load {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Packages to cycle through for the package page.
        #[arg(long, default_value_t = 25_000)]
        packages: i32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed { packages, builds } => seed(packages, builds).await,
        Command::Load {
            base_url,
            concurrency,
            seconds,
            packages,
        } => {
            load(
                &base_url,
                concurrency,
                Duration::from_secs_f64(seconds),
                packages,
            )
            .await
        }
    }
}

/// Name of benchmark package `i` (1-based).
fn package_name(i: i32) -> String {
    format!("pkg-{i:05}")
}

async fn seed(packages: i32, builds: i32) -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL must be set")?;
    let pool = koschei_core::db::connect_url(&url, 2).await?;
    koschei_core::db::migrate(&pool, None).await?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM package")
        .fetch_one(&pool)
        .await?;
    if existing > 0 {
        bail!("the database already has packages; seed a fresh one");
    }
    let per_package = (builds / packages).max(1);
    let started = Instant::now();
    let statements = [
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id,
                                 latest_repo_resolved, bugzilla_product, bugzilla_version)
         VALUES ('f44', 'Fedora 44', 'f44', 'f44', 'f44-build', 4000, true, 'Fedora', '44')"
            .to_string(),
        format!(
            "INSERT INTO base_package (name)
             SELECT 'pkg-' || lpad(i::text, 5, '0') FROM generate_series(1, {packages}) i"
        ),
        "INSERT INTO package (base_id, name, collection_id, tracked, resolved, dependency_priority,
                              manual_priority)
         SELECT b.id, b.name, c.id, b.id % 20 <> 0, b.id % 50 <> 0, (b.id % 7) * 40, b.id % 3
         FROM base_package b, collection c"
            .to_string(),
        "INSERT INTO dependency (name, epoch, version, release, arch)
         SELECT 'lib' || (i % 400), 0, (i / 400 + 1) || '.' || (i % 13), '1.fc44', 'x86_64'
         FROM generate_series(0, 1999) i"
            .to_string(),
        // Builds every ~7 hours back from now; the newest of every 97th
        // package is running; every 9th failed, every 31st an
        // infrastructure failure.
        format!(
            "INSERT INTO build (package_id, state, task_id, started, finished, version, release,
                                repo_id, deps_resolved, submit_reason, failure_reason)
             SELECT p.id,
                    CASE WHEN k = 1 AND p.id % 97 = 0 THEN 2
                         WHEN (p.id + k) % 31 = 0 THEN 7
                         WHEN (p.id + k) % 9 = 0 THEN 5 ELSE 3 END,
                    p.id * 100 + k,
                    (now() AT TIME ZONE 'UTC') - make_interval(hours => k * 7 + p.id % 5),
                    CASE WHEN k = 1 AND p.id % 97 = 0 THEN NULL
                         ELSE (now() AT TIME ZONE 'UTC') - make_interval(hours => k * 7 + p.id % 5 - 1) END,
                    '1.' || ({per_package} - k), k || '.fc44', 4000 - k, true,
                    json_build_object('priority', 300, 'threshold', 256, 'manual', 0, 'static', 0,
                                      'dependency', 200, 'build', 0, 'time', 100, 'coefficient', 1),
                    CASE WHEN (p.id + k) % 31 = 0 THEN 'Koji task timed out' END
             FROM package p, generate_series(1, {per_package}) k"
        ),
        "INSERT INTO koji_task (build_id, task_id, arch, state, started, finished)
         SELECT b.id, b.task_id * 10 + a.n, a.arch, CASE WHEN b.state = 2 THEN 1 ELSE 2 END,
                b.started, b.finished
         FROM package p JOIN build b ON b.id = p.last_build_id,
              (VALUES (1, 'x86_64'), (2, 'aarch64')) AS a(n, arch)"
            .to_string(),
        "INSERT INTO applied_change (build_id, prev_dep_id, curr_dep_id, distance)
         SELECT b.id, d.id, d.id + 400, 1 + (b.id + d.id) % 4
         FROM package p JOIN build b ON b.id = p.last_build_id
         JOIN dependency d ON d.id % 400 IN (p.id % 400, (p.id * 7) % 400) AND d.id + 400 <= 2000
                          AND d.id <= 400"
            .to_string(),
        "INSERT INTO unapplied_change (package_id, prev_dep_id, curr_dep_id, distance)
         SELECT p.id, d.id + 400, d.id + 800, 1 + d.id % 5
         FROM package p JOIN dependency d ON d.id <= 400 AND d.id % 133 = p.id % 133"
            .to_string(),
        "INSERT INTO resolution_change (resolved, \"timestamp\", package_id)
         SELECT p.resolved, (now() AT TIME ZONE 'UTC') - interval '3 hours', p.id
         FROM package p WHERE p.id % 10 = 0"
            .to_string(),
        "INSERT INTO \"user\" (name) SELECT 'user' || i FROM generate_series(1, 50) i".to_string(),
        "INSERT INTO package_group (namespace, name)
         SELECT CASE WHEN i <= 10 THEN NULL ELSE 'user' || i END, 'group' || i
         FROM generate_series(1, 50) i"
            .to_string(),
        "INSERT INTO package_group_relation (group_id, base_id)
         SELECT g.id, b.id FROM package_group g JOIN base_package b ON b.id % 50 = g.id % 50 AND b.id % 7 = 0"
            .to_string(),
        "INSERT INTO group_acl (group_id, user_id)
         SELECT g.id, u.id FROM package_group g JOIN \"user\" u ON u.name = 'user' || g.id"
            .to_string(),
        "ANALYZE".to_string(),
    ];
    for sql in &statements {
        sqlx::query(sql)
            .execute(&pool)
            .await
            .with_context(|| sql.clone())?;
    }
    let (p, b): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM package), (SELECT count(*) FROM build)")
            .fetch_one(&pool)
            .await?;
    eprintln!(
        "seeded {p} packages and {b} builds in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

/// Latencies of one endpoint under load.
struct Measurement {
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: usize,
}

impl Measurement {
    fn percentile(&self, p: f64) -> f64 {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

async fn measure(
    client: &reqwest::Client,
    urls: Vec<String>,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Measurement> {
    let urls = std::sync::Arc::new(urls);
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let urls = urls.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut i = w;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += concurrency;
                let t = Instant::now();
                match client.get(url).send().await {
                    Ok(r) if r.status().is_success() => {
                        if r.bytes().await.is_err() {
                            errors += 1;
                            continue;
                        }
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut m = Measurement {
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
        errors: 0,
    };
    for w in workers {
        let (l, e) = w.await?;
        m.latencies.extend(l);
        m.errors += e;
    }
    m.elapsed = started.elapsed();
    m.latencies.sort();
    if m.latencies.is_empty() {
        bail!("no successful request to {}", urls[0]);
    }
    Ok(m)
}

async fn load(
    base: &str,
    concurrency: usize,
    duration: Duration,
    packages: i32,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = base.trim_end_matches('/');
    // Package pages cycle through packages spread over the whole set.
    let step = (packages / 500).max(1);
    let pages: Vec<String> = (1..=packages)
        .step_by(step as usize)
        .map(|i| format!("{base}/package/{}", package_name(i)))
        .collect();
    let endpoints: [(&str, Vec<String>); 3] = [
        ("package_list", vec![format!("{base}/packages")]),
        ("package_page", pages),
        ("api_packages", vec![format!("{base}/api/v1/packages")]),
    ];
    let mut out = serde_json::Map::new();
    for (name, urls) in endpoints {
        // Warm up connections and caches.
        measure(&client, urls.clone(), concurrency, Duration::from_secs(2)).await?;
        let m = measure(&client, urls, concurrency, duration).await?;
        let rps = m.latencies.len() as f64 / m.elapsed.as_secs_f64();
        eprintln!(
            "{name}: {} requests, {} errors in {:.1?}",
            m.latencies.len(),
            m.errors,
            m.elapsed
        );
        out.insert(
            name.to_string(),
            json!({
                "p50_ms": (m.percentile(0.5) * 10.0).round() / 10.0,
                "p99_ms": (m.percentile(0.99) * 10.0).round() / 10.0,
                "rps": (rps * 10.0).round() / 10.0,
            }),
        );
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
