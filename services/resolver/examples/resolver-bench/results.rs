//! `--sample N` and `--results FILE`: the per-package results of a deterministic sample,
//! one JSON line each, for `scripts/compare-hawkey` to compare with the original's
//! resolution (hawkey). Both sides pick the same sample and write the same line shape:
//! `{"name", "buildrequires", "resolved", "problems", "installs": {NEVRA: distance}}`,
//! NEVRA as `name-[epoch:]version-release.arch` (epoch 0 left out).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use koschei_depsolve::{ResolveOptions, SolvFile, SourcePackage};
use serde_json::json;

/// `n` packages spread evenly over `sources` (already sorted by name): the ones at index
/// `i * len / n` for `i` in `0..n`; everything when `n >= len`.
pub fn pick_sample(sources: Vec<SourcePackage>, n: usize) -> Vec<SourcePackage> {
    let len = sources.len();
    if n >= len {
        return sources;
    }
    let mut keep = (0..n).map(|i| i * len / n).peekable();
    sources
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| {
            if keep.peek() == Some(&i) {
                keep.next();
                Some(s)
            } else {
                None
            }
        })
        .collect()
}

/// Resolve every package of `sources` on one thread (distances included, sack loaded
/// before the clock starts), write one JSON line per package to `path`, and return the
/// figures of the run for the report.
pub fn write(
    path: &Path,
    solv: &SolvFile,
    group: &[String],
    sources: &[SourcePackage],
    ignore_weak_deps: bool,
) -> anyhow::Result<serde_json::Value> {
    let options = ResolveOptions {
        ignore_weak_deps,
        distances: true,
    };
    let mut sack = solv.load()?;
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut solve_s = 0.0;
    for src in sources {
        let t0 = Instant::now();
        let resolution = sack.resolve(group, &src.buildrequires, &options);
        let dependencies = sack.dependencies(&resolution);
        solve_s += t0.elapsed().as_secs_f64();
        let installs: serde_json::Map<String, serde_json::Value> = dependencies
            .iter()
            .map(|d| (d.nevra.to_string(), json!(d.distance)))
            .collect();
        let line = json!({
            "name": src.name,
            "buildrequires": src.buildrequires,
            "resolved": resolution.resolved,
            "problems": resolution.problems,
            "installs": installs,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(json!({
        "file": path.display().to_string(),
        "packages": sources.len(),
        "solve_single_thread_per_pkg_ms": solve_s * 1000.0 / sources.len().max(1) as f64,
    }))
}
