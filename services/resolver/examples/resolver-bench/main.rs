//! `resolver-bench`: resolves every source package of a distribution against its binary
//! repository (build group from comps + BuildRequires, distances included), then the same
//! for the next repository both fully and incrementally, and compares; with
//! `--database-url` it also times persisting a pass ([`persist`]).
//!
//! `cargo run --release -p koschei-resolver --example resolver-bench -- --repo DIR
//! --source-repo DIR [--next DIR] --json` (services/resolver/README.md, "Benchmark figures").

mod baseline;
mod persist;
mod results;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use koschei_depsolve::incremental::SolveTrace;
use koschei_depsolve::{
    comps, compute_changes_by_ref, peak_rss_bytes, read_source_packages, run_fed, run_parallel,
    LoadOptions, Nevra, PackageTable, ParallelOptions, ParallelStats, Plan, RepoDelta, RepoDir,
    Resolution, ResolveOptions, Sack, SolvFile, SourcePackage, DEFAULT_ARCH, NARROW_BATCH,
};
use serde_json::json;

/// Resolves every source package of a repository (and, incrementally, of its successor)
/// and prints timing figures as JSON.
#[derive(clap::Parser, Debug)]
#[command(name = "resolver-bench")]
struct BenchArgs {
    /// Binary rpm-md repository (directory containing repodata/).
    #[arg(long)]
    repo: PathBuf,
    /// Source rpm-md repository whose packages' requires are BuildRequires.
    #[arg(long)]
    source_repo: PathBuf,
    /// Next binary repository for the incremental pass (its sources in DIR/source).
    #[arg(long)]
    next: Option<PathBuf>,
    /// Source repository of --next (default: NEXT/source).
    #[arg(long)]
    next_source_repo: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Only the first N source packages by name.
    #[arg(long)]
    limit: Option<usize>,
    /// Only N source packages spread evenly over the name-sorted list (index i*len/N),
    /// the sample `scripts/compare-hawkey` compares (applied after --limit).
    #[arg(long)]
    sample: Option<usize>,
    /// Write each package's result of the (first) pass as a JSON line to FILE
    /// (`examples/resolver-bench/results.rs`); with `--threads 1` the report gives the
    /// time per package without the sack load.
    #[arg(long)]
    results: Option<PathBuf>,
    /// Ignore weak dependencies.
    #[arg(long)]
    ignore_weak_deps: bool,
    /// Solve in the whole pool, without the reach of the requests
    /// (`koschei_depsolve`'s `reach.rs`).
    #[arg(long)]
    whole_pool: bool,
    /// Packages solved in a reach of their own, cut from the pass's for each batch of
    /// this many (`Sack::narrow_reach`, as the resolver's workers do); 0 solves every
    /// package in the pass's reach.
    #[arg(long, default_value_t = NARROW_BATCH)]
    narrow: usize,
    /// Print JSON (the only output format; accepted for compatibility).
    #[arg(long)]
    json: bool,
    /// comps group used as build group.
    #[arg(long, default_value = "build")]
    group: String,
    /// Directory for .solv cache files (default: $TMPDIR/koschei-solv-cache).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Packages solved single-threaded without distances for the baseline (ours and plain
    /// libsolv, compared).
    #[arg(long, default_value_t = 400)]
    baseline_sample: usize,
    /// Print the directly tainted binaries of the incremental analysis to stderr.
    #[arg(long)]
    show_taints: bool,
    /// Print why binaries of this name are tainted (chain to a direct taint) to stderr.
    #[arg(long)]
    explain: Option<String>,
    /// Also persist a whole-repo pass into this PostgreSQL database (migrated if needed;
    /// a throw-away collection is created and deleted) and time it.
    #[arg(long)]
    database_url: Option<String>,
    /// Packages per persisted chunk (`dependency.persist_chunk_size`).
    #[arg(long, default_value_t = 150)]
    persist_chunk_size: usize,
    /// Rows of the dependency cache (`dependency.dependency_cache_capacity`); a whole
    /// distribution wants about as many as its repo has binaries.
    #[arg(long, default_value_t = 100_000)]
    dependency_cache_capacity: usize,
}

/// One repository with its build group and source packages.
struct Input {
    solv: SolvFile,
    table: PackageTable,
    group: Vec<String>,
    sources: Vec<SourcePackage>,
    load_s: f64,
    /// Time to write the reach of the requests (`SolvFile::with_reach`).
    reach_s: f64,
}

fn load_input(repo: &Path, source_repo: &Path, args: &BenchArgs) -> anyhow::Result<Input> {
    let t0 = Instant::now();
    let dir = RepoDir::open(repo).with_context(|| format!("opening {}", repo.display()))?;
    let comps_path = dir
        .comps()
        .context("repository has no comps (group) file")?;
    let group = comps::read_group(&comps_path, &args.group)?
        .with_context(|| format!("no group {:?} in {}", args.group, comps_path.display()))?;
    let cache = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("koschei-solv-cache"));
    let load_options = LoadOptions {
        arch: DEFAULT_ARCH.to_string(),
        solv_cache_dir: Some(cache.clone()),
        ignore_weak_deps: args.ignore_weak_deps,
    };
    let solv = SolvFile::ensure(&dir, &cache, &load_options)?;
    let table = solv.load()?.package_table();
    let mut sources = read_source_packages(source_repo)?;
    if let Some(limit) = args.limit {
        sources.truncate(limit);
    }
    if let Some(n) = args.sample {
        sources = results::pick_sample(sources, n);
    }
    let load_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let solv = if args.whole_pool {
        solv
    } else {
        let requests = group
            .iter()
            .chain(sources.iter().flat_map(|s| &s.buildrequires));
        solv.with_reach(requests.map(String::as_str))?
    };
    Ok(Input {
        solv,
        table,
        group,
        sources,
        load_s,
        reach_s: t1.elapsed().as_secs_f64(),
    })
}

/// Results of one pass, by source package position.
struct Pass {
    results: Vec<Resolution>,
    wall_s: f64,
    /// Slowest sack load of the pass's threads (included in `wall_s`).
    sack_load_s: f64,
    changes: usize,
    /// Mean packages of the reaches cut for its batches (0: none cut).
    narrow_packages: f64,
    /// Solve traces by position (only for the base pass of an incremental run).
    traces: Vec<Option<SolveTrace>>,
}

impl Pass {
    fn resolved(&self) -> usize {
        self.results.iter().filter(|r| r.resolved).count()
    }
}

fn dependencies<'t>(table: &'t PackageTable, r: &Resolution) -> Vec<(&'t Nevra, Option<u8>)> {
    r.installs
        .iter()
        .map(|i| (table.get(i.package), i.distance))
        .collect()
}

/// Previous results of the same source package, when there is one.
struct Previous<'a> {
    input: &'a Input,
    pass: &'a Pass,
    by_name: HashMap<&'a str, usize>,
}

impl<'a> Previous<'a> {
    fn new(input: &'a Input, pass: &'a Pass) -> Self {
        let by_name = input
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        Previous {
            input,
            pass,
            by_name,
        }
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Dependency changes from the previous resolution of `name` to `curr`.
    fn changes(&self, name: &str, table: &PackageTable, curr: &Resolution) -> usize {
        let Some(i) = self.get(name) else { return 0 };
        let prev = &self.pass.results[i];
        compute_changes_by_ref(
            &dependencies(&self.input.table, prev),
            &dependencies(table, curr),
        )
        .len()
    }
}

fn full_pass(
    args: &BenchArgs,
    input: &Input,
    previous: Option<&Previous<'_>>,
    options: &ResolveOptions,
    parallel: &ParallelOptions,
) -> anyhow::Result<(Pass, usize)> {
    let mut results = vec![Resolution::default(); input.sources.len()];
    let mut changes = 0;
    let (stats, narrow_packages) = solve_sources(
        args,
        input,
        parallel,
        |sack, src| {
            let r = sack.resolve(&input.group, &src.buildrequires, options);
            let c = previous.map_or(0, |p| p.changes(&src.name, &input.table, &r));
            (r, c)
        },
        |i, (r, c)| {
            results[i] = r;
            changes += c;
        },
    )?;
    Ok((
        Pass {
            results,
            wall_s: stats.wall.as_secs_f64(),
            sack_load_s: stats.load.as_secs_f64(),
            changes,
            narrow_packages,
            traces: Vec::new(),
        },
        stats.threads,
    ))
}

/// A full pass that also records every solve's trace, as a resolver does for the
/// incremental pass that follows it.
fn full_pass_traced(
    args: &BenchArgs,
    input: &Input,
    options: &ResolveOptions,
    parallel: &ParallelOptions,
) -> anyhow::Result<(Pass, usize)> {
    let mut results = vec![Resolution::default(); input.sources.len()];
    let mut traces = vec![None; input.sources.len()];
    let (stats, narrow_packages) = solve_sources(
        args,
        input,
        parallel,
        |sack, src| sack.resolve_traced(&input.group, &src.buildrequires, options),
        |i, (r, t)| {
            results[i] = r;
            traces[i] = t;
        },
    )?;
    Ok((
        Pass {
            results,
            wall_s: stats.wall.as_secs_f64(),
            sack_load_s: stats.load.as_secs_f64(),
            changes: 0,
            narrow_packages,
            traces,
        },
        stats.threads,
    ))
}

/// Solve every source package of `input` on the pass's threads and hand each result to
/// `sink` with the package's position: in batches of `--narrow` packages, each batch in a
/// reach of its own (`Sack::narrow_reach`), or one by one in the pass's reach. Also
/// returns the mean number of packages of those reaches.
fn solve_sources<R: Send>(
    args: &BenchArgs,
    input: &Input,
    parallel: &ParallelOptions,
    solve: impl Fn(&mut Sack, &SourcePackage) -> R + Sync,
    mut sink: impl FnMut(usize, R),
) -> anyhow::Result<(ParallelStats, f64)> {
    let n = input.sources.len();
    let narrowed = AtomicU64::new(0);
    let size = args.narrow.max(1);
    let batches: Vec<Range<usize>> = (0..n).step_by(size).map(|s| s..n.min(s + size)).collect();
    // a worker claims one batch at a time
    let parallel = ParallelOptions {
        chunk: if args.narrow > 0 { 1 } else { parallel.chunk },
        ..parallel.clone()
    };
    let stats = run_parallel(
        &input.solv,
        &batches,
        &parallel,
        |sack, _, batch| {
            if args.narrow > 0 {
                let requests = input.group.iter().chain(
                    input.sources[batch.clone()]
                        .iter()
                        .flat_map(|s| &s.buildrequires),
                );
                match sack.narrow_reach(requests.map(String::as_str)) {
                    Ok(len) => narrowed.fetch_add(len as u64, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("solving in the pass's reach: {e}");
                        0
                    }
                };
            }
            batch
                .clone()
                .map(|i| (i, solve(sack, &input.sources[i])))
                .collect::<Vec<_>>()
        },
        |_, results| results.into_iter().for_each(|(i, r)| sink(i, r)),
    )?;
    let mean = if args.narrow > 0 {
        narrowed.into_inner() as f64 / batches.len().max(1) as f64
    } else {
        0.0
    };
    Ok((stats, mean))
}

/// Incremental pass: analyse the delta, reuse what cannot change, re-solve the rest. The
/// worker threads load their sacks while the delta is analysed and start solving as soon
/// as planning finds something to solve.
fn incremental_pass(
    args: &BenchArgs,
    base: &Input,
    base_pass: &Pass,
    next: &Input,
    options: &ResolveOptions,
    parallel: &ParallelOptions,
) -> anyhow::Result<(Pass, serde_json::Value)> {
    let t0 = Instant::now();
    let previous = Previous::new(base, base_pass);
    let mut results: Vec<Option<Resolution>> = vec![None; next.sources.len()];
    // dependency changes of reused results: their version swaps (no comparison by name)
    let mut reused_changes = 0usize;
    let mut reused_from: Vec<Option<usize>> = vec![None; next.sources.len()];
    // (analysis s, plan s, re-solved, reused with distances recomputed)
    let mut timing = (0.0, 0.0, 0usize, 0usize);
    let mut delta: Option<RepoDelta> = None;
    let mut analysis_error: Option<anyhow::Error> = None;
    // CPU time of the distance recomputations and of the solves, in microseconds
    let distances_us = std::sync::atomic::AtomicU64::new(0);
    let solves_us = std::sync::atomic::AtomicU64::new(0);
    let mut resolved_changes = 0usize;
    // a job: a position to solve again, or a reused result whose distances need a
    // recomputation
    let feed = |push: &mut dyn FnMut((usize, Option<Resolution>))| {
        let mut d = match RepoDelta::analyze(&base.solv, &next.solv) {
            Ok(d) => d,
            Err(e) => {
                analysis_error = Some(e.into());
                return;
            }
        };
        timing.0 = t0.elapsed().as_secs_f64();
        for (i, src) in next.sources.iter().enumerate() {
            let prev = previous.get(&src.name).map(|j| {
                (
                    base.group.as_slice(),
                    base.sources[j].buildrequires.as_slice(),
                    &base_pass.results[j],
                    base_pass.traces.get(j).and_then(Option::as_ref),
                )
            });
            let planned = d.plan_traced(prev, &next.group, &src.buildrequires);
            if let (Plan::Reuse(_), Some(j)) = (&planned.plan, previous.get(&src.name)) {
                reused_changes += d.version_swaps(&base_pass.results[j]).count();
                reused_from[i] = Some(j);
            }
            match planned.plan {
                Plan::Reuse(r) if planned.recompute_distances && options.distances => {
                    timing.3 += 1;
                    push((i, Some(r)));
                }
                Plan::Reuse(r) => results[i] = Some(r),
                Plan::Resolve => {
                    timing.2 += 1;
                    push((i, None));
                }
            }
        }
        timing.1 = t0.elapsed().as_secs_f64() - timing.0;
        delta = Some(d);
    };
    let mut solved: Vec<(usize, Resolution)> = Vec::new();
    let stats = run_fed(
        &next.solv,
        parallel,
        feed,
        |sack, (i, reused): (usize, Option<Resolution>)| {
            let src = &next.sources[i];
            let started = Instant::now();
            let (out, timer) = match reused {
                Some(mut r) => {
                    sack.recompute_distances(&src.buildrequires, &mut r);
                    ((i, r, 0), &distances_us)
                }
                None => {
                    let r = sack.resolve(&next.group, &src.buildrequires, options);
                    let c = previous.changes(&src.name, &next.table, &r);
                    ((i, r, c), &solves_us)
                }
            };
            timer.fetch_add(
                started.elapsed().as_micros() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            out
        },
        |(i, r, c)| {
            solved.push((i, r));
            resolved_changes += c;
        },
    )?;
    if let Some(e) = analysis_error {
        return Err(e);
    }
    let mut delta = delta.expect("analysed");
    let (analysis_s, plan_s, again, distances_again) = timing;
    for (i, r) in solved {
        results[i] = Some(r);
    }
    let results: Vec<Resolution> = results
        .into_iter()
        .map(|r| r.expect("every package planned"))
        .collect();
    let changes = reused_changes + resolved_changes;
    let wall_s = t0.elapsed().as_secs_f64();
    let solve_s = wall_s - analysis_s - plan_s;
    if args.show_taints {
        for (pkg, reason) in delta.direct_taints() {
            eprintln!("tainted: {pkg} ({reason:?})");
        }
    }
    if let Some(name) = &args.explain {
        for (i, p) in base.table.iter().filter(|(_, p)| &p.name == name) {
            eprintln!("{p}: {}", delta.explain(i).join(" -> "));
        }
    }
    // check (untimed): the version swaps of every reused result are its changes
    let change_mismatches = next
        .sources
        .iter()
        .zip(&results)
        .zip(&reused_from)
        .filter_map(|((src, r), j)| j.map(|j| (src, r, j)))
        .filter(|(src, r, j)| {
            previous.changes(&src.name, &next.table, r)
                != delta.version_swaps(&base_pass.results[*j]).count()
        })
        .count();
    let stats_d = delta.stats().clone();
    let counts = delta.plan_counts().clone();
    let info = json!({
        "changed_binaries": stats_d.changed_binaries(),
        "resolved_again": again,
        "reused": next.sources.len() - again,
        "reused_with_distances_recomputed": distances_again,
        "analysis_s": analysis_s,
        "plan_s": plan_s,
        "solve_after_plan_s": solve_s,
        "solve_breakdown": {
            "sack_load_s": stats.load.as_secs_f64(),
            "resolve_cpu_s": solves_us.into_inner() as f64 / 1e6,
            "distances_cpu_s": distances_us.into_inner() as f64 / 1e6,
        },
        "change_mismatches": change_mismatches,
        "plans": {
            "reused": counts.reused,
            "no_previous_result": counts.no_previous_result,
            "unresolved_or_new_request": counts.unresolved_or_new_request,
            "tainted_universe": counts.tainted_universe,
            "grown_without_trace": counts.grown_without_trace,
            "grown_learnt": counts.grown_learnt,
            "grown_level1_reason": counts.grown_level1_reason,
            "grown_not_satisfied": counts.grown_not_satisfied,
        },
        "traces_mb": base_pass.traces.iter().flatten().map(SolveTrace::heap_bytes).sum::<usize>() as f64 / 1048576.0,
        "delta": {
            "updated": stats_d.updated,
            "same_structure": stats_d.same_structure,
            "added": stats_d.added,
            "removed": stats_d.removed,
            "changed_deps": stats_d.changed_deps,
            "tainted_binaries": stats_d.tainted,
            "grown_requires": stats_d.grown_requires,
            "grown_groups": stats_d.grown_groups,
        },
    });
    Ok((
        Pass {
            results,
            wall_s,
            sack_load_s: stats.load.as_secs_f64(),
            changes,
            narrow_packages: 0.0,
            traces: Vec::new(),
        },
        info,
    ))
}

/// Names of packages whose incremental result differs from the full pass.
fn mismatches(next: &Input, full: &Pass, incremental: &Pass) -> Vec<String> {
    next.sources
        .iter()
        .zip(full.results.iter().zip(&incremental.results))
        .filter(|(_, (a, b))| a != b)
        .map(|(s, _)| s.name.clone())
        .collect()
}

/// The service's allocator (`src/main.rs`), so both measure the same code.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    run(&<BenchArgs as clap::Parser>::parse())
}

/// Run the benchmark and print its JSON report.
fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let options = ResolveOptions {
        ignore_weak_deps: args.ignore_weak_deps,
        distances: true,
    };
    let parallel = ParallelOptions {
        threads: args.threads,
        ..Default::default()
    };
    let base = load_input(&args.repo, &args.source_repo, args)?;

    // single-thread baseline (no distances, no changes) on a sample, against plain libsolv
    let sample = args.baseline_sample.min(base.sources.len());
    let baseline = baseline::run(&base, &options, sample)?;
    let bare_ms = baseline["bare_solve_single_thread_per_pkg_ms"]
        .as_f64()
        .unwrap_or(0.0);

    let (base_pass, threads) = if args.next.is_some() {
        full_pass_traced(args, &base, &options, &parallel)?
    } else {
        full_pass(args, &base, None, &options, &parallel)?
    };
    let n = base.sources.len();
    let per_pkg_ms = base_pass.wall_s * 1000.0 / n.max(1) as f64;
    let mut report = json!({
        "packages": n,
        "resolved": base_pass.resolved(),
        "unresolved": n - base_pass.resolved(),
        "unresolved_packages": unresolved_names(&base, &base_pass),
        "load_s": base.load_s,
        "reach_s": base.reach_s,
        "reach_packages": base.solv.reach_len(),
        "table_packages": base.table.len(),
        "wall_s": base_pass.wall_s,
        "per_pkg_ms": per_pkg_ms,
        "threads": threads,
        "narrow": args.narrow,
        "narrow_reach_packages": base_pass.narrow_packages,
        "ignore_weak_deps": args.ignore_weak_deps,
        "baseline": baseline,
        "full_pass_speedup_vs_bare_single_thread": if per_pkg_ms > 0.0 { bare_ms / per_pkg_ms } else { 0.0 },
    });

    let mut persisted_base = false;
    if let Some(next_dir) = &args.next {
        let next_sources = args
            .next_source_repo
            .clone()
            .unwrap_or_else(|| next_dir.join("source"));
        let next = load_input(next_dir, &next_sources, args)?;
        let previous = Previous::new(&base, &base_pass);
        let (full, _) = full_pass(args, &next, Some(&previous), &options, &parallel)?;
        let (incr, mut info) =
            incremental_pass(args, &base, &base_pass, &next, &options, &parallel)?;
        let bad = mismatches(&next, &full, &incr);
        let m = next.sources.len();
        report["next"] = json!({
            "packages": m,
            "resolved": full.resolved(),
            "unresolved": m - full.resolved(),
            "unresolved_packages": unresolved_names(&next, &full),
            "load_s": next.load_s,
            "wall_s": full.wall_s,
            "per_pkg_ms": full.wall_s * 1000.0 / m.max(1) as f64,
            "changes": full.changes,
            "full_pass_speedup_vs_bare_single_thread":
                if full.wall_s > 0.0 { bare_ms * m as f64 / 1000.0 / full.wall_s } else { 0.0 },
        });
        info["wall_s"] = json!(incr.wall_s);
        info["changes"] = json!(incr.changes);
        info["mismatches"] = json!(bad.len());
        info["mismatched_packages"] = json!(bad.iter().take(20).collect::<Vec<_>>());
        info["speedup_vs_full"] = json!(if incr.wall_s > 0.0 {
            full.wall_s / incr.wall_s
        } else {
            0.0
        });
        report["incremental"] = info;
        if let Some(url) = &args.database_url {
            report["persistence"] = persist::run(
                url,
                &pass_view(&base, &base_pass),
                &pass_view(&next, &full),
                args.persist_chunk_size,
                args.dependency_cache_capacity,
            )?;
            persisted_base = true;
        }
    }
    if let (Some(url), false) = (&args.database_url, persisted_base) {
        let view = pass_view(&base, &base_pass);
        report["persistence"] = persist::run(
            url,
            &view,
            &view,
            args.persist_chunk_size,
            args.dependency_cache_capacity,
        )?;
    }
    if let Some(path) = &args.results {
        report["results"] = results::write(path, &base.table, &base.sources, &base_pass, threads)?;
    }
    report["peak_rss_mb"] = json!(peak_rss_bytes().map(|b| b as f64 / 1048576.0));
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn unresolved_names(input: &Input, pass: &Pass) -> Vec<String> {
    input
        .sources
        .iter()
        .zip(&pass.results)
        .filter(|(_, r)| !r.resolved)
        .take(50)
        .map(|(s, _)| s.name.clone())
        .collect()
}

/// What the persistence benchmark writes of a pass.
fn pass_view<'a>(input: &'a Input, pass: &'a Pass) -> persist::PassView<'a> {
    persist::PassView {
        table: &input.table,
        sources: &input.sources,
        results: &pass.results,
        wall_s: pass.wall_s,
    }
}
