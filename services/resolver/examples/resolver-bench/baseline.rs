//! The single-thread baseline on a sample, in both weak-dependency modes: our solve (rules
//! built without the weak dependencies that cannot install anything, `koschei_depsolve`'s
//! `solv/weak.rs`) against plain libsolv on the same repository with every weak
//! dependency visible — time per package and whether the answers agree.

use std::time::Instant;

use koschei_depsolve::{ResolveOptions, Sack, SourcePackage};
use serde_json::{json, Value};

use crate::Input;

/// Solve `sample` packages (spread over the list) on one thread, ours and plain libsolv,
/// without distances, with weak dependencies ignored and kept; the JSON figures, side by
/// side, and the time per package of ours in the mode of `options`.
pub fn run(base: &Input, options: &ResolveOptions, sample: usize) -> anyhow::Result<Value> {
    if sample == 0 {
        return Ok(json!({ "sample": 0 }));
    }
    let sources = crate::results::pick_sample(base.sources.iter().collect(), sample);
    let ignored = mode(base, &sources, true)?;
    let kept = mode(base, &sources, false)?;
    let selected = if options.ignore_weak_deps {
        &ignored
    } else {
        &kept
    };
    Ok(json!({
        "sample": sources.len(),
        "bare_solve_single_thread_per_pkg_ms": selected["ours_per_pkg_ms"],
        "weak_deps_ignored": ignored,
        "weak_deps_kept": kept,
    }))
}

/// One mode of [`run`].
fn mode(base: &Input, sources: &[&SourcePackage], ignore_weak_deps: bool) -> anyhow::Result<Value> {
    let bare = ResolveOptions {
        ignore_weak_deps,
        distances: false,
    };
    let mut ours = base.solv.load()?;
    let mut plain = base.solv.load()?;
    plain.reveal_weak_deps();
    let (ours_ms, ours_results) = timed(&mut ours, base, sources, &bare);
    let (plain_ms, plain_results) = timed(&mut plain, base, sources, &bare);
    let differing: Vec<&str> = sources
        .iter()
        .zip(ours_results.iter().zip(&plain_results))
        .filter(|(_, (a, b))| a != b)
        .map(|(s, _)| s.name.as_str())
        .collect();
    let counts = ours.weak_solve_counts();
    let reach = ours.reach_counts().unwrap_or_default();
    Ok(json!({
        "ours_per_pkg_ms": ours_ms,
        "plain_libsolv_per_pkg_ms": plain_ms,
        "speedup_vs_plain_libsolv": if ours_ms > 0.0 { plain_ms / ours_ms } else { 0.0 },
        "identical_to_plain_libsolv": sources.len() - differing.len(),
        "differing_packages": differing.iter().take(20).collect::<Vec<_>>(),
        "fast_solves": counts.fast,
        "solves_repeated_with_all_weak_deps": counts.repeated,
        "solved_in_reach": reach.solved,
        "solved_in_whole_pool": reach.whole_pool,
    }))
}

/// Milliseconds per package and the results.
fn timed(
    sack: &mut Sack,
    base: &Input,
    sources: &[&SourcePackage],
    options: &ResolveOptions,
) -> (f64, Vec<koschei_depsolve::Resolution>) {
    let t0 = Instant::now();
    let results: Vec<_> = sources
        .iter()
        .map(|src| sack.resolve(&base.group, &src.buildrequires, options))
        .collect();
    let ms = t0.elapsed().as_secs_f64() * 1000.0 / sources.len().max(1) as f64;
    (ms, results)
}
