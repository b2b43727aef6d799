//! The repo resolver (the original's `koschei/backend/services/repo_resolver.py`): "what
//! would happen if the package were built now".
//!
//! Per collection, [`plan_collection`] looks for a new READY repo of the build tag (in
//! secondary mode only once it was regenerated on the primary, [`crate::secondary_repos`]).
//! For a new repo it resolves the base buildroot (build group alone), records
//! `latest_repo_id`/`latest_repo_resolved`, the `buildroot_problem`s and a collection
//! state-change message in one transaction, and — when the buildroot resolved — queues
//! every eligible package (tracked, not blocked, not `skip_resolution`, with a last
//! complete build) in the shared work queue. Without a new repo it queues the eligible
//! packages with `resolved IS NULL`: new packages, and packages whose resolution was reset
//! (`UPDATE package SET resolved = NULL` is a forced re-resolution).
//!
//! [`process_work`] then claims queued chunks (of any collection, possibly queued by
//! another instance), resolves them on all cores and persists each chunk in one
//! transaction ([`crate::package_persist`]). Two chunks are kept in flight on the solvers
//! and up to two solved chunks are written at once, so loading, solving and writing
//! overlap; a chunk already solved is still written when a later one fails.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures_util::stream::{FuturesUnordered, StreamExt};
use koschei_core::model::CollectionState;
use koschei_core::{outbox, Config};
use koschei_koji::RepoState;
use sqlx::PgPool;

use crate::build_requires::srpm;
use crate::context::{CollectionInfo, Context};
use crate::dependency_cache::DependencyCache;
use crate::incremental::{self, ChunkPackage};
use crate::package_deps;
use crate::package_persist::{
    persist_chunk, DependencySet, PackageOutcome, PersistStats, WorkClaim,
};
use crate::repo_env::{PreparedRepo, RepoStatus};
use crate::secondary_repos::regenerated_on_primary;
use crate::session_lock::with_session_lock;
use crate::solver_pool::{SolveJob, SolverPool};
use crate::step_times::StepTimes;
use crate::work_queue::{self, Heartbeat, WorkItem};
pub use crate::work_stats::WorkStats;

/// Advisory-lock namespace of the repo resolver (Koschei's `LOCK_REPO_RESOLVER`).
pub const LOCK_REPO_RESOLVER: i32 = 1;

/// The eligibility condition of a package (alias `p`).
const ELIGIBLE: &str = "p.tracked AND NOT p.blocked AND NOT p.skip_resolution
                        AND p.last_complete_build_id IS NOT NULL";

/// What planning did for a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Nothing to do.
    Nothing,
    /// Another instance is planning this collection.
    Locked,
    /// A new repo's buildroot was resolved (`true` = resolvable) and `usize` packages
    /// were queued.
    NewRepo(i32, bool, usize),
    /// New or reset packages were queued.
    NewPackages(usize),
}

/// Looks for a new repo or new packages of one collection and queues the work.
pub async fn plan_collection(ctx: &Context, c: &CollectionInfo) -> anyhow::Result<Planned> {
    let koji = ctx.koji_for(c);
    let repo = koji
        .get_repo(c.build_tag.as_str(), RepoState::Ready)
        .await
        .with_context(|| format!("getRepo({})", c.build_tag))?;
    if let Some(repo) = repo {
        let repo_id = i32::try_from(repo.id).context("repo id out of range")?;
        let newer = c.latest_repo_id.is_none_or(|latest| repo_id > latest);
        if newer
            && (!c.secondary_mode
                || regenerated_on_primary(&ctx.pool, &ctx.koji.primary, repo_id).await?)
        {
            return new_repo(ctx, c, repo_id).await;
        }
    }
    if c.latest_repo_resolved == Some(true) {
        return queue_new_packages(ctx, c).await;
    }
    Ok(Planned::Nothing)
}

async fn new_repo(ctx: &Context, c: &CollectionInfo, repo_id: i32) -> anyhow::Result<Planned> {
    let work = new_repo_locked(ctx, c, repo_id);
    let planned = with_session_lock(&ctx.pool, LOCK_REPO_RESOLVER, c.id, work).await?;
    Ok(planned.unwrap_or(Planned::Locked))
}

async fn new_repo_locked(
    ctx: &Context,
    c: &CollectionInfo,
    repo_id: i32,
) -> anyhow::Result<Planned> {
    let started = Instant::now();
    let Some(c) = ctx.collection(c.id).await? else {
        return Ok(Planned::Nothing);
    };
    if c.latest_repo_id.is_some_and(|latest| latest >= repo_id) {
        return Ok(Planned::Nothing); // another instance was faster
    }
    let (resolved, problems) = match ctx.repos.get(ctx.koji_for(&c), &c.repo(repo_id)).await? {
        RepoStatus::Ready(repo) => resolve_buildroot(ctx, repo).await?,
        RepoStatus::Dead => bail!("Repo {repo_id} is dead"),
        RepoStatus::Unavailable => {
            bail!("Repo {repo_id} of {} could not be downloaded", c.build_tag)
        }
        RepoStatus::NoBuildGroup => (
            false,
            vec![format!(
                "Build group {} not found in {} at repo {repo_id}",
                c.build_group, c.build_tag
            )],
        ),
    };
    let mut tx = ctx.pool.begin().await?;
    let old: String =
        sqlx::query_scalar("SELECT collection_state(c) FROM collection c WHERE id = $1 FOR UPDATE")
            .bind(c.id)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM buildroot_problem WHERE collection_id = $1")
        .bind(c.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE collection SET latest_repo_id = $2, latest_repo_resolved = $3 WHERE id = $1",
    )
    .bind(c.id)
    .bind(repo_id)
    .bind(resolved)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO buildroot_problem (collection_id, problem) SELECT $1, * FROM unnest($2::text[])",
    )
    .bind(c.id)
    .bind(&problems)
    .execute(&mut *tx)
    .await?;
    let new = if resolved {
        CollectionState::Ok
    } else {
        CollectionState::Unresolved
    };
    let old: CollectionState = old.parse().unwrap_or(CollectionState::Unknown);
    outbox::collection_state_changed(&mut tx, &ctx.config, c.id, old, new).await?;
    work_queue::cancel_other_repos(&mut tx, c.id, repo_id).await?;
    let mut queued = 0;
    // the previous repo's pass resolved every eligible package (or recorded that it did
    // not): the new pass can start from it
    let base = c
        .latest_repo_id
        .filter(|_| c.latest_repo_resolved == Some(true));
    if resolved {
        let ids: Vec<i32> = sqlx::query_scalar(&format!(
            "SELECT p.id FROM package p WHERE p.collection_id = $1 AND {ELIGIBLE} ORDER BY p.id"
        ))
        .bind(c.id)
        .fetch_all(&mut *tx)
        .await?;
        // queued new-package chunks of this repo are covered by the whole pass
        sqlx::query("DELETE FROM resolver_work WHERE collection_id = $1")
            .bind(c.id)
            .execute(&mut *tx)
            .await?;
        work_queue::enqueue(
            &mut tx,
            c.id,
            repo_id,
            base,
            &ids,
            ctx.config.dependency.persist_chunk_size,
        )
        .await?;
        queued = ids.len();
        // packages left out of this pass are not resolved in this repo
        let left_out: Vec<i32> = sqlx::query_scalar(&format!(
            "SELECT p.id FROM package p WHERE p.collection_id = $1 AND NOT COALESCE({ELIGIBLE}, false)"
        ))
        .bind(c.id)
        .fetch_all(&mut *tx)
        .await?;
        package_deps::mark_unknown(&mut tx, repo_id, &left_out).await?;
        package_deps::record_pass(&mut tx, c.id, repo_id).await?;
    }
    tx.commit().await?;
    let mode = match base {
        Some(base) if resolved => format!("incremental from repo {base}"),
        _ if resolved => "full pass (no resolved previous repo)".to_string(),
        _ => "nothing to resolve".to_string(),
    };
    tracing::info!(
        "{}: repo {repo_id} buildroot {} ({} problems), {queued} packages queued ({mode}), {:.1}s",
        c.name,
        new,
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Planned::NewRepo(repo_id, resolved, queued))
}

/// Resolves the build group alone.
async fn resolve_buildroot(
    ctx: &Context,
    repo: Arc<PreparedRepo>,
) -> anyhow::Result<(bool, Vec<String>)> {
    let options = ctx.resolve_options();
    tokio::task::spawn_blocking(move || {
        let mut sack = repo.solv.load()?;
        let res = sack.resolve::<String, String>(&repo.group, &[], &options);
        Ok((res.resolved, res.problems))
    })
    .await?
}

async fn queue_new_packages(ctx: &Context, c: &CollectionInfo) -> anyhow::Result<Planned> {
    let Some(repo_id) = c.latest_repo_id else {
        return Ok(Planned::Nothing);
    };
    let mut tx = ctx.pool.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
        .bind(LOCK_REPO_RESOLVER)
        .bind(c.id)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(Planned::Locked);
    }
    let ids: Vec<i32> = sqlx::query_scalar(&format!(
        "SELECT p.id FROM package p
         WHERE p.collection_id = $1 AND {ELIGIBLE} AND p.resolved IS NULL
           AND p.id NOT IN (SELECT unnest(package_ids) FROM resolver_work WHERE collection_id = $1)
         ORDER BY p.id"
    ))
    .bind(c.id)
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(Planned::Nothing);
    }
    work_queue::enqueue(
        &mut tx,
        c.id,
        repo_id,
        None,
        &ids,
        ctx.config.dependency.persist_chunk_size,
    )
    .await?;
    tx.commit().await?;
    tracing::info!("{}: {} new packages queued", c.name, ids.len());
    Ok(Planned::NewPackages(ids.len()))
}

/// A claimed chunk ready for solving.
struct LoadedChunk {
    item: WorkItem,
    /// Koji instance of the collection (`primary` / `secondary`).
    koji_id: &'static str,
    repo: Arc<PreparedRepo>,
    /// Packages to solve.
    packages: Vec<ChunkPackage>,
    /// Results carried over from the previous repo (incremental pass).
    reused: Vec<PackageOutcome>,
}

/// `(id, name, version, release, last_build_id, resolved)` of a chunk's package.
type ChunkRow = (i32, String, String, String, Option<i32>, Option<bool>);

/// The ids of a collection's eligible packages.
pub(crate) async fn eligible_package_ids(
    ctx: &Context,
    c: &CollectionInfo,
) -> sqlx::Result<Vec<i32>> {
    sqlx::query_scalar(&format!(
        "SELECT p.id FROM package p WHERE p.collection_id = $1 AND {ELIGIBLE} ORDER BY p.id"
    ))
    .bind(c.id)
    .fetch_all(&ctx.pool)
    .await
}

/// Those of `ids` that are eligible, with their BuildRequires, and the ids left out
/// (no longer eligible, or without known BuildRequires).
pub(crate) async fn chunk_packages(
    ctx: &Context,
    c: &CollectionInfo,
    ids: &[i32],
) -> anyhow::Result<(Vec<ChunkPackage>, Vec<i32>)> {
    let rows: Vec<ChunkRow> = sqlx::query_as(&format!(
        "SELECT p.id, p.name, b.version, b.release, p.last_build_id, p.resolved
             FROM package p JOIN build b ON b.id = p.last_complete_build_id
             WHERE p.id = ANY($1) AND {ELIGIBLE} ORDER BY p.id"
    ))
    .bind(ids)
    .fetch_all(&ctx.pool)
    .await?;
    let srpms: Vec<_> = rows.iter().map(|r| srpm(&r.1, &r.2, &r.3)).collect();
    let brs = ctx.brs.get(ctx.koji_for(c), c.koji_id(), &srpms).await?;
    let packages: Vec<ChunkPackage> = rows
        .into_iter()
        .zip(brs)
        .filter_map(|(r, brs)| {
            Some(ChunkPackage {
                package_id: r.0,
                last_build_id: r.4,
                resolved: r.5,
                srpm: format!("{}-{}", r.2, r.3),
                buildrequires: brs?,
            })
        })
        .collect();
    let kept: std::collections::HashSet<i32> = packages.iter().map(|p| p.package_id).collect();
    let left_out = ids
        .iter()
        .copied()
        .filter(|id| !kept.contains(id))
        .collect();
    Ok((packages, left_out))
}

/// Loads a claimed chunk; `None` when nothing is left to do with it (the row is gone).
async fn load_chunk(ctx: &Context, item: WorkItem) -> anyhow::Result<Option<LoadedChunk>> {
    let mut steps = StepTimes::start();
    let Some(c) = ctx.collection(item.collection_id).await? else {
        return Ok(None);
    };
    if c.latest_repo_id != Some(item.repo_id) || c.latest_repo_resolved != Some(true) {
        work_queue::finish_empty(&ctx.pool, &item, &ctx.instance).await?;
        return Ok(None);
    }
    let repo = match ctx
        .repos
        .get(ctx.koji_for(&c), &c.repo(item.repo_id))
        .await?
    {
        RepoStatus::Ready(repo) => repo,
        RepoStatus::Dead | RepoStatus::NoBuildGroup => {
            tracing::warn!(
                "{}: repo {} is no longer usable; dropping queued work",
                c.name,
                item.repo_id
            );
            work_queue::finish_empty(&ctx.pool, &item, &ctx.instance).await?;
            return Ok(None);
        }
        RepoStatus::Unavailable => bail!(
            "repo {} of {} could not be downloaded",
            item.repo_id,
            c.build_tag
        ),
    };
    let (packages, left_out) = chunk_packages(ctx, &c, &item.package_ids).await?;
    steps.mark("packages and BuildRequires");
    // packages that became ineligible or have no BuildRequires are not resolved here
    if !left_out.is_empty() {
        let mut conn = ctx.pool.acquire().await?;
        package_deps::mark_unknown(&mut conn, item.repo_id, &left_out).await?;
    }
    let (packages, reused) = match item.base_repo_id {
        Some(base) => {
            let plan = incremental::plan_chunk(ctx, &c, base, &repo, packages, &mut steps).await?;
            if let Some(reason) = &plan.fallback {
                let note = format!("{}: repo {}: {reason}", c.name, item.repo_id);
                if ctx.deltas.first_fallback(&note) {
                    tracing::info!("{note}; its chunks are solved in full");
                }
            }
            (plan.solve, plan.reused)
        }
        None => (packages, Vec::new()),
    };
    tracing::debug!("loaded {} packages: {steps}", item.package_ids.len());
    Ok(Some(LoadedChunk {
        item,
        koji_id: c.koji_id(),
        repo,
        packages,
        reused,
    }))
}

struct InFlight {
    item: WorkItem,
    remaining: usize,
    outcomes: Vec<PackageOutcome>,
}

/// Claims and processes queued chunks until none is free. With `max_chunks`, stops
/// claiming after that many (tests).
pub async fn process_work(ctx: &Context, max_chunks: Option<usize>) -> anyhow::Result<WorkStats> {
    let _heartbeat = Heartbeat::start(ctx.pool.clone(), ctx.instance.clone(), ctx.lease);
    let mut flights: HashMap<i64, InFlight> = HashMap::new();
    let result = work_loop(ctx, max_chunks, &mut flights).await;
    if max_chunks.is_none() {
        ctx.deltas.clear().await; // nothing left to claim
    }
    if result.is_err() {
        for id in flights.keys() {
            give_back(ctx, *id).await;
        }
    }
    result
}

async fn work_loop(
    ctx: &Context,
    max_chunks: Option<usize>,
    flights: &mut HashMap<i64, InFlight>,
) -> anyhow::Result<WorkStats> {
    let started = Instant::now();
    let mut stats = WorkStats::default();
    let mut writes: FuturesUnordered<WriteFuture> = FuturesUnordered::new();
    let fed = feed(ctx, max_chunks, flights, &mut stats, &mut writes).await;
    // chunks already solved are written also when claiming, loading or solving failed
    let mut write_error = None;
    while let Some(written) = writes.next().await {
        match written {
            Ok(written) => count_written(&mut stats, written),
            Err(e) => {
                write_error.get_or_insert(e);
            }
        }
    }
    fed?;
    if let Some(e) = write_error {
        return Err(e);
    }
    if stats.chunks > 0 {
        stats.log_summary(started.elapsed(), MAX_WRITES, ctx.deps.stats());
    }
    Ok(stats)
}

/// Claims, loads and solves chunks until none is free, starting the write of each solved
/// chunk (see [`start_write`]); the caller finishes the writes. Chunks are claimed and
/// loaded ahead of the solving by two loaders ([`load_chunks`], at most [`PREFETCH`]
/// waiting): loading is mostly waiting for the database and the delta planner, which
/// overlaps the rest and the other loader's waits.
async fn feed(
    ctx: &Context,
    max_chunks: Option<usize>,
    flights: &mut HashMap<i64, InFlight>,
    stats: &mut WorkStats,
    writes: &mut FuturesUnordered<WriteFuture>,
) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(PREFETCH);
    let mut stash: VecDeque<LoadedChunk> = VecDeque::new();
    let claimed = AtomicUsize::new(0);
    let solving = async {
        let solved = solve_chunks(ctx, &mut rx, &mut stash, flights, stats, writes).await;
        // after an error the loaders stop (their next send fails) instead of waiting for
        // room in the channel forever
        rx.close();
        solved
    };
    let (loaded, loaded_too, solved) = tokio::join!(
        load_chunks(ctx, max_chunks, &claimed, tx.clone()),
        load_chunks(ctx, max_chunks, &claimed, tx),
        solving
    );
    // loaded chunks nobody will solve go back to the queue at once
    while let Ok(chunk) = rx.try_recv() {
        stash.push_back(chunk);
    }
    for chunk in stash {
        give_back(ctx, chunk.item.id).await;
    }
    solved.and(loaded).and(loaded_too)
}

/// Releases this instance's claim on a work item it will not finish, so that any instance
/// can take it at once. Best effort: when that fails too, the claim's lease runs out.
async fn give_back(ctx: &Context, item_id: i64) {
    work_queue::release(&ctx.pool, item_id, &ctx.instance)
        .await
        .ok();
}

/// Loaded chunks waiting for [`solve_chunks`].
const PREFETCH: usize = 2;

/// Claims and loads chunks for [`solve_chunks`] until none is free, `max_chunks` were
/// claimed (`claimed` counts the claims of every loader), or the solving ended.
async fn load_chunks(
    ctx: &Context,
    max_chunks: Option<usize>,
    claimed: &AtomicUsize,
    tx: tokio::sync::mpsc::Sender<LoadedChunk>,
) -> anyhow::Result<()> {
    loop {
        if let Some(max) = max_chunks {
            let taken = claimed.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            });
            if taken.is_err() {
                break;
            }
        }
        let Some(item) = work_queue::claim(&ctx.pool, &ctx.instance, ctx.lease).await? else {
            break;
        };
        let id = item.id;
        let chunk = match load_chunk(ctx, item).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => continue,
            Err(e) => {
                give_back(ctx, id).await;
                return Err(e);
            }
        };
        if tx.send(chunk).await.is_err() {
            // the solving ended with an error: give the chunk back
            give_back(ctx, id).await;
            break;
        }
    }
    Ok(())
}

/// Solves the loaded chunks from `loaded` (and `stash`) as they come, starting the write
/// of each solved chunk.
async fn solve_chunks(
    ctx: &Context,
    loaded: &mut tokio::sync::mpsc::Receiver<LoadedChunk>,
    stash: &mut VecDeque<LoadedChunk>,
    flights: &mut HashMap<i64, InFlight>,
    stats: &mut WorkStats,
    writes: &mut FuturesUnordered<WriteFuture>,
) -> anyhow::Result<()> {
    // (repo's .solv path, SRPMs with known BuildRequires when started, workers)
    let mut pool: Option<(String, usize, SolverPool)> = None;
    // job tag -> (item id, package)
    let mut jobs: HashMap<i64, (i64, ChunkPackage)> = HashMap::new();
    let mut next_tag: i64 = 0;
    loop {
        // keep two chunks in flight
        while flights.len() < 2 {
            let chunk = match stash.pop_front() {
                Some(chunk) => chunk,
                None => {
                    let loading = Instant::now();
                    let next = loaded.recv().await;
                    stats.loading += loading.elapsed();
                    match next {
                        Some(chunk) => chunk,
                        None => break,
                    }
                }
            };
            let item_id = chunk.item.id;
            stats.count_reused(&chunk.reused);
            if chunk.item.base_repo_id.is_some() {
                stats.resolved_again += chunk.packages.len();
            }
            if chunk.packages.is_empty() {
                // nothing to solve: write at once
                start_write(ctx, writes, stats, chunk.item, chunk.reused).await?;
                continue;
            }
            let key = chunk.repo.solv.path.display().to_string();
            let known = ctx.brs.len(chunk.koji_id);
            // a new repo, or (first passes after a start) twice the BuildRequires known
            // when its workers started: start them again, with a reach that covers more
            let restart = pool.as_ref().is_none_or(|(k, started_with, _)| {
                k != &key || known >= 2 * *started_with + REACH_REGROWTH
            });
            if restart {
                if !flights.is_empty() {
                    stash.push_front(chunk); // finish the chunks under way first
                    break;
                }
                pool = Some((
                    key,
                    known,
                    // every BuildRequire seen so far: the whole collection's once its
                    // packages have been resolved since the service started
                    ctx.solver_pool(&chunk.repo, ctx.brs.requests(chunk.koji_id)),
                ));
            }
            let (_, _, solver) = pool.as_ref().expect("pool started");
            let remaining = chunk.packages.len();
            for package in chunk.packages {
                next_tag += 1;
                solver.submit(SolveJob {
                    tag: next_tag,
                    buildrequires: package.buildrequires.clone(),
                });
                jobs.insert(next_tag, (item_id, package));
            }
            let mut outcomes = chunk.reused;
            outcomes.reserve(remaining);
            flights.insert(
                item_id,
                InFlight {
                    remaining,
                    outcomes,
                    item: chunk.item,
                },
            );
        }
        if flights.is_empty() {
            if stash.is_empty() {
                break;
            }
            continue;
        }
        let (_, _, solver) = pool
            .as_mut()
            .expect("pool running while chunks are in flight");
        let waiting = Instant::now();
        let next = tokio::select! {
            next = solver.next() => next,
            Some(written) = writes.next() => {
                count_written(stats, written?);
                continue;
            }
        };
        stats.waiting += waiting.elapsed();
        let result = match next {
            Some(Ok(r)) => r,
            Some(Err(e)) => bail!("solver: {e}"),
            None => bail!("solver threads ended"),
        };
        let (item_id, package) = jobs.remove(&result.tag).expect("known job");
        let flight = flights.get_mut(&item_id).expect("chunk in flight");
        flight.outcomes.push(PackageOutcome {
            package_id: package.package_id,
            last_build_id: package.last_build_id,
            resolved: result.resolved,
            problems: result.problems,
            dependencies: DependencySet::Nevras(result.dependencies),
            srpm: Some(package.srpm),
            trace: result.trace,
        });
        flight.remaining -= 1;
        if flight.remaining == 0 {
            let flight = flights.remove(&item_id).expect("chunk in flight");
            start_write(ctx, writes, stats, flight.item, flight.outcomes).await?;
        }
    }
    Ok(())
}

/// SRPMs whose BuildRequires became known, beyond twice the number the running solver
/// workers started with, after which they are started again with a larger reach
/// (`koschei_depsolve`'s `reach.rs`): a handful of restarts in a service's first pass,
/// none once every tracked package's BuildRequires are known.
const REACH_REGROWTH: usize = 500;

/// Chunks written at the same time: a chunk is written while the next ones are loaded
/// and solved, and two writes overlap each other's round trips and CPU work. Chunks hold
/// disjoint packages, so their transactions do not wait for each other.
const MAX_WRITES: usize = 2;

/// What writing one chunk did.
struct Written {
    packages: usize,
    persist: PersistStats,
    took: Duration,
}

/// A chunk being written: a task of its own, so that writes run on the runtime's worker
/// threads while this task loads and solves the next chunks (polled only here, a write
/// would wait whenever a chunk is being loaded).
type WriteFuture = Pin<Box<dyn Future<Output = anyhow::Result<Written>> + Send>>;

/// Starts writing a claimed chunk's results, after waiting for an earlier write when
/// [`MAX_WRITES`] are under way.
async fn start_write(
    ctx: &Context,
    writes: &mut FuturesUnordered<WriteFuture>,
    stats: &mut WorkStats,
    item: WorkItem,
    outcomes: Vec<PackageOutcome>,
) -> anyhow::Result<()> {
    if writes.len() >= MAX_WRITES {
        match writes.next().await {
            Some(Ok(written)) => count_written(stats, written),
            Some(Err(e)) => {
                // this chunk will not be written: back to the queue at once
                give_back(ctx, item.id).await;
                return Err(e);
            }
            None => {}
        }
    }
    let writer = ChunkWriter {
        pool: ctx.pool.clone(),
        config: ctx.config.clone(),
        deps: ctx.deps.clone(),
        instance: ctx.instance.clone(),
    };
    let task = tokio::spawn(writer.write(item, outcomes));
    writes.push(Box::pin(async move {
        task.await
            .map_err(|e| anyhow::anyhow!("writing a chunk: {e}"))?
    }));
    Ok(())
}

/// What writing a chunk needs of the [`Context`], owned by the write's task.
struct ChunkWriter {
    pool: PgPool,
    config: Arc<Config>,
    deps: Arc<DependencyCache>,
    instance: String,
}

impl ChunkWriter {
    /// Persists a claimed chunk's results as its repo's outcomes.
    async fn write(self, item: WorkItem, outcomes: Vec<PackageOutcome>) -> anyhow::Result<Written> {
        let started = Instant::now();
        let claim = WorkClaim {
            item_id: item.id,
            instance: &self.instance,
        };
        let persist = persist_chunk(
            &self.pool,
            &self.config,
            &self.deps,
            &outcomes,
            Some(claim),
            Some(item.repo_id),
        )
        .await?;
        Ok(Written {
            packages: outcomes.len(),
            persist,
            took: started.elapsed(),
        })
    }
}

/// Counts a written chunk.
fn count_written(stats: &mut WorkStats, written: Written) {
    stats.resolved += written.packages;
    stats.persist += written.persist;
    stats.persisting += written.took;
    stats.chunks += 1;
    // progress: the watchdog is fed while chunks keep being written
    koschei_core::service::heartbeat();
}
