//! `--sample N` and `--results FILE`: the per-package results of a deterministic sample,
//! one JSON line each, for `scripts/compare-hawkey` to compare with the original's
//! resolution (hawkey). Both sides pick the same sample and write the same line shape:
//! `{"name", "buildrequires", "resolved", "problems", "installs": {NEVRA: distance}}`,
//! NEVRA as `name-[epoch:]version-release.arch` (epoch 0 left out).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use koschei_depsolve::{PackageTable, SourcePackage};
use serde_json::json;

use crate::Pass;

/// `n` packages spread evenly over `sources` (already sorted by name): the ones at index
/// `i * len / n` for `i` in `0..n`; everything when `n >= len`.
pub fn pick_sample<T>(sources: Vec<T>, n: usize) -> Vec<T> {
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

/// Write one JSON line per package of the pass (`sources`, in the same order as its
/// results) to `path`, and return the figures for the report: with one thread, the time
/// per package of the pass without its sack load.
pub fn write(
    path: &Path,
    table: &PackageTable,
    sources: &[SourcePackage],
    pass: &Pass,
    threads: usize,
) -> anyhow::Result<serde_json::Value> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for (src, resolution) in sources.iter().zip(&pass.results) {
        let installs: serde_json::Map<String, serde_json::Value> = resolution
            .installs
            .iter()
            .map(|i| (table.get(i.package).to_string(), json!(i.distance)))
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
    let solve_s = pass.wall_s - pass.sack_load_s;
    Ok(json!({
        "file": path.display().to_string(),
        "packages": sources.len(),
        "solve_single_thread_per_pkg_ms":
            (threads == 1).then(|| solve_s * 1000.0 / sources.len().max(1) as f64),
    }))
}
