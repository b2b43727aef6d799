//! Installability of every binary package of a repository, timed (a first measurement).
use std::time::Instant;

use koschei_depsolve::{installability_pass, LoadOptions, ParallelOptions, RepoDir, SolvFile};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let repo = RepoDir::open(&args[1])?;
    let ignore_weak = args.get(2).map(String::as_str) == Some("ignore-weak");
    let limit: usize = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    let cache = std::env::temp_dir().join("installability-bench-cache");
    let t = Instant::now();
    let options = LoadOptions {
        ignore_weak_deps: ignore_weak,
        ..LoadOptions::default()
    };
    let solv = SolvFile::ensure(&repo, &cache, &options)?;
    let sack = solv.load()?;
    let mut packages = sack.binary_packages();
    packages.truncate(limit);
    eprintln!("load {:?}, {} binaries", t.elapsed(), packages.len());
    let t = Instant::now();
    let (results, stats) =
        installability_pass(&solv, &packages, ignore_weak, &ParallelOptions::default())?;
    let wall = t.elapsed();
    let bad = results.iter().filter(|r| !r.installable()).count();
    let total: u64 = results.iter().map(|r| r.sizes.packages as u64).sum();
    eprintln!(
        "solve {wall:?} ({stats:?}), uninstallable {bad}, avg set {:.1}, {:.3} ms/pkg/thread",
        total as f64 / (results.len() - bad) as f64,
        wall.as_secs_f64() * 1000.0 * stats.threads as f64 / results.len() as f64
    );
    for r in results.iter().filter(|r| !r.installable()).take(5) {
        eprintln!("{} {:?}", sack.package(r.package), r.problems);
    }
    Ok(())
}
