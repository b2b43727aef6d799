//! `installability-bench`: installs every binary package of a repository alone (the
//! resolver's installability pass, `koschei_resolver::installability`), optionally of its
//! successor too — in full and incrementally from the first pass, compared — and with
//! `--database-url` stores both passes in a throw-away collection the way the service
//! does; prints the figures as JSON.
//!
//! `cargo run --release -p koschei-resolver --example installability-bench -- --repo DIR
//! [--next DIR] [--database-url URL]` (`scripts/bench-installability` runs it beside
//! Debian's dose-distcheck).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use koschei_core::db;
use koschei_depsolve::{
    peak_rss_bytes, Installability, LoadOptions, PackageIndex, RepoDir, SolvFile,
};
use koschei_resolver::installability::{check_repo, store, BinaryOutcome};
use koschei_resolver::previous_pass::PreviousPass;
use serde_json::{json, Value};

/// Installability of every binary of a repository (and its successor), timed.
#[derive(Parser, Debug)]
#[command(name = "installability-bench")]
struct Args {
    /// Binary rpm-md repository (directory containing repodata/).
    #[arg(long)]
    repo: PathBuf,
    /// The next repository: a second pass, stored as the collection's next repo.
    #[arg(long)]
    next: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Ignore weak dependencies (`dependency.ignore_weak_deps`).
    #[arg(long)]
    ignore_weak_deps: bool,
    /// Also store the passes into this PostgreSQL database (migrated if needed; a
    /// throw-away collection is created and deleted).
    #[arg(long)]
    database_url: Option<String>,
    /// Directory for .solv cache files (default: $TMPDIR/koschei-solv-cache).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Binaries (spread over the base repo) also installed by plain libsolv in the whole
    /// pool, every weak dependency visible, and compared with the pass.
    #[arg(long, default_value_t = 1000)]
    verify_sample: usize,
}

/// One checked repository.
struct Pass {
    solv: SolvFile,
    outcomes: Vec<BinaryOutcome>,
    results: Arc<Vec<Installability>>,
    load: Duration,
    solve: Duration,
}

fn check(args: &Args, dir: &PathBuf) -> anyhow::Result<Pass> {
    let cache = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("koschei-solv-cache"));
    let options = LoadOptions {
        ignore_weak_deps: args.ignore_weak_deps,
        ..LoadOptions::default()
    };
    let started = Instant::now();
    let solv = SolvFile::ensure(&RepoDir::open(dir)?, &cache, &options)?;
    let load = started.elapsed();
    let started = Instant::now();
    let check = check_repo(&solv, args.ignore_weak_deps, args.threads, None)?;
    Ok(Pass {
        solv,
        outcomes: check.outcomes,
        results: Arc::new(check.results),
        load,
        solve: started.elapsed(),
    })
}

/// The next repo's pass carried over from the base pass, against the full one.
fn incremental(args: &Args, base: &Pass, next: &Pass) -> anyhow::Result<Value> {
    let previous = PreviousPass {
        repo_id: 1,
        solv: base.solv.clone(),
        results: base.results.clone(),
    };
    let started = Instant::now();
    let check = check_repo(
        &next.solv,
        args.ignore_weak_deps,
        args.threads,
        Some(&previous),
    )?;
    let elapsed = started.elapsed();
    let mismatched: Vec<String> = check
        .outcomes
        .iter()
        .zip(&next.outcomes)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| format!("{}.{}", a.name, a.arch))
        .collect();
    Ok(json!({
        "seconds": elapsed.as_secs_f64(),
        "full_pass_seconds": next.solve.as_secs_f64(),
        "speedup": next.solve.as_secs_f64() / elapsed.as_secs_f64().max(1e-9),
        "reused": check.reused,
        "solved": check.outcomes.len() - check.reused,
        "mismatches": mismatched.len() + check.outcomes.len().abs_diff(next.outcomes.len()),
        "mismatched": mismatched.iter().take(20).collect::<Vec<_>>(),
    }))
}

fn summary(pass: &Pass) -> Value {
    let installable: Vec<&BinaryOutcome> = pass
        .outcomes
        .iter()
        .filter(|o| o.problems.is_empty())
        .collect();
    let mean = |f: fn(&BinaryOutcome) -> i64| {
        installable.iter().map(|o| f(o) as f64).sum::<f64>() / installable.len().max(1) as f64
    };
    json!({
        "binaries": pass.outcomes.len(),
        "uninstallable": pass.outcomes.len() - installable.len(),
        "repo_load_s": pass.load.as_secs_f64(),
        "solve_s": pass.solve.as_secs_f64(),
        "ms_per_binary_per_thread": pass.solve.as_secs_f64() * 1000.0
            * std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
            / pass.outcomes.len().max(1) as f64,
        "mean_install_set": mean(|o| i64::from(o.install_count)),
        "mean_download_mb": mean(|o| o.download_size) / 1e6,
        "mean_installed_mb": mean(|o| o.install_size) / 1e6,
    })
}

async fn persist(url: &str, passes: &[&Pass]) -> anyhow::Result<Value> {
    let pool = db::connect_url(url, 4).await?;
    db::migrate(&pool, None).await?;
    let name = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let collection_id: i32 = sqlx::query_scalar(
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag)
         VALUES ($1, $1, $1, $1, $1 || '-build') RETURNING id",
    )
    .bind(&name)
    .fetch_one(&pool)
    .await?;
    let mut stored = Vec::new();
    for (repo_id, pass) in (1..).zip(passes) {
        let config = koschei_core::Config::default();
        let result = store(
            &pool,
            &config,
            collection_id,
            repo_id,
            &pass.outcomes,
            pass.solve,
        )
        .await;
        match result {
            Ok(Some(s)) => stored.push(json!({
                "repo_id": repo_id,
                "store_s": s.write_time.as_secs_f64(),
                "history_rows": s.changes,
            })),
            Ok(None) => anyhow::bail!("pass {repo_id} was not stored"),
            Err(e) => {
                stored.push(json!({ "error": format!("{e:#}") }));
                break;
            }
        }
    }
    sqlx::query("DELETE FROM collection WHERE id = $1")
        .bind(collection_id)
        .execute(&pool)
        .await?;
    Ok(Value::Array(stored))
}

/// Plain libsolv (whole pool, weak dependencies visible) on `sample` binaries spread over
/// the pass: how many answers differ.
fn verify(pass: &Pass, sample: usize, ignore_weak_deps: bool) -> anyhow::Result<Value> {
    let mut plain = pass.solv.load()?;
    plain.reveal_weak_deps();
    let by_name: HashMap<(String, String), PackageIndex> = plain
        .binary_packages()
        .into_iter()
        .map(|p| {
            let n = plain.package(p);
            ((n.name, n.arch), p)
        })
        .collect();
    let n = pass.outcomes.len();
    let picked: Vec<&BinaryOutcome> = (0..sample.min(n))
        .map(|i| &pass.outcomes[i * n / sample.min(n)])
        .collect();
    let started = Instant::now();
    let mut mismatches = Vec::new();
    for o in &picked {
        let package = by_name[&(o.name.clone(), o.arch.clone())];
        let r = plain.installability(package, ignore_weak_deps);
        let same = r.problems == o.problems
            && i64::from(r.sizes.packages) == i64::from(o.install_count)
            && r.sizes.download as i64 == o.download_size
            && r.sizes.installed as i64 == o.install_size;
        if !same {
            mismatches.push(format!("{}.{}", o.name, o.arch));
        }
    }
    Ok(json!({
        "sample": picked.len(),
        "mismatches": mismatches.len(),
        "mismatched": mismatches.iter().take(20).collect::<Vec<_>>(),
        "plain_libsolv_ms_per_binary": started.elapsed().as_secs_f64() * 1000.0
            / picked.len().max(1) as f64,
    }))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = check(&args, &args.repo)?;
    let next = args.next.as_ref().map(|n| check(&args, n)).transpose()?;
    let mut report = json!({
        "threads": args.threads,
        "ignore_weak_deps": args.ignore_weak_deps,
        "base": summary(&base),
    });
    if let Some(next) = &next {
        report["next"] = summary(next);
        report["incremental"] = incremental(&args, &base, next)?;
    }
    if args.verify_sample > 0 {
        report["verify"] = verify(&base, args.verify_sample, args.ignore_weak_deps)?;
    }
    if let Some(url) = &args.database_url {
        let passes: Vec<&Pass> = std::iter::once(&base).chain(next.as_ref()).collect();
        let runtime = tokio::runtime::Runtime::new()?;
        report["stored"] = runtime.block_on(persist(url, &passes))?;
    }
    report["peak_rss_mb"] = json!(peak_rss_bytes().map(|b| b as f64 / 1048576.0));
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
