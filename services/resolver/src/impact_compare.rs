//! The comparison of an impact check ([`crate::impact_check`]): the tracked packages
//! whose resolution differs between the collection's repo (the base) and the repo with
//! the change, found the way an incremental pass compares two consecutive repos
//! ([`crate::incremental::plan_chunk_with`]). A package whose stored base set carries over
//! through the delta unchanged is unaffected; one whose set carries over with other
//! versions has exactly those changes (read from the delta by package index); the rest
//! are solved with the change (while the next chunks are planned) and compared with
//! their stored base set, or solved in the base too when they have none.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context as _;
use koschei_core::impact::{ImpactChange, ResolutionVerdict};
use koschei_depsolve::{compute_changes, Dependency, Nevra, Resolution};

use crate::build_requires::srpm;
use crate::context::{CollectionInfo, Context};
use crate::delta_planner::DeltaPlanner;
use crate::incremental::{plan_chunk_with, ChunkPackage};
use crate::package_deps;
use crate::repo_env::PreparedRepo;
use crate::repo_resolver::{chunk_packages, eligible_package_ids};
use crate::solver_pool::{SolveJob, SolverPool};
use crate::step_times::StepTimes;

/// One affected package.
#[derive(Debug)]
pub(crate) struct Affected {
    pub(crate) package_id: i32,
    pub(crate) verdict: ResolutionVerdict,
    pub(crate) distance: Option<i16>,
    pub(crate) base: Side,
    pub(crate) change: Side,
    pub(crate) changes: Vec<ImpactChange>,
}

impl Affected {
    fn new(package_id: i32, base: Side, change: Side, changes: Vec<ImpactChange>) -> Self {
        Affected {
            package_id,
            verdict: ResolutionVerdict::of(base.resolved, change.resolved),
            distance: changes.iter().filter_map(|c| c.distance).min(),
            base,
            change,
            changes,
        }
    }
}

/// A package's outcome on one side.
#[derive(Debug, Clone, Default)]
pub(crate) struct Side {
    pub(crate) resolved: bool,
    pub(crate) problems: Vec<String>,
}

impl Side {
    fn resolved() -> Side {
        Side {
            resolved: true,
            problems: Vec::new(),
        }
    }
}

/// A package solved on one side, with its dependencies.
#[derive(Debug)]
struct Solved {
    side: Side,
    dependencies: Vec<Dependency>,
}

impl Solved {
    fn resolved(dependencies: Vec<Dependency>) -> Solved {
        Solved {
            side: Side::resolved(),
            dependencies,
        }
    }
}

/// Packages planned at once: bounds the carried-over sets held in memory.
const PLAN_CHUNK: usize = 2_000;

/// What a carried-over set says about a package.
enum CarriedOver {
    /// Its changes, read from the delta (none: unaffected).
    Changes(Vec<ImpactChange>),
    /// The whole set, to compare with the stored one (a changed member whose previous
    /// version the delta does not name).
    Whole(Vec<Dependency>),
}

/// A carried-over set is the image of the base set through the delta, which pairs
/// packages by name and arch: a member keeps its NEVRA unless the change updated it, and
/// then the base set held the base repo's package of that name and arch.
fn carried_over_changes(r: &Resolution, planner: &DeltaPlanner) -> CarriedOver {
    let mut changes = Vec::new();
    for d in planner.new_members(r) {
        let Some(prev) = planner.predecessor(&d.nevra) else {
            return CarriedOver::Whole(planner.dependencies(&r.installs));
        };
        changes.push(ImpactChange {
            name: d.nevra.name.clone(),
            prev: Some(evr_arch(prev)),
            curr: Some(evr_arch(&d.nevra)),
            distance: d.distance.map(i16::from),
        });
    }
    changes.sort_by(|a, b| a.name.cmp(&b.name));
    CarriedOver::Changes(changes)
}

/// The tracked packages whose resolution differs between `base` and `change`. A package
/// the change has a build of its own (`rebuilt`: name → (version, release)) is resolved
/// with that build's BuildRequires on the change side. The base side of a package is
/// its stored outcome at `base_repo` (the collection's pass of it is done) when that is
/// a resolved set of the same SRPM, and solved otherwise.
pub(crate) async fn compare(
    ctx: &Context,
    c: &CollectionInfo,
    base_repo: i32,
    base: &Arc<PreparedRepo>,
    change: &Arc<PreparedRepo>,
    rebuilt: &HashMap<String, (String, String)>,
    steps: &mut StepTimes,
) -> anyhow::Result<Vec<Affected>> {
    let ids = eligible_package_ids(ctx, c).await?;
    let (packages, _) = chunk_packages(ctx, c, &ids).await?;
    let names: HashMap<i32, String> =
        sqlx::query_as("SELECT id, name FROM package WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&ctx.pool)
            .await?
            .into_iter()
            .collect();
    let (own_builds, packages): (Vec<ChunkPackage>, Vec<ChunkPackage>) =
        packages.into_iter().partition(|p| {
            names
                .get(&p.package_id)
                .is_some_and(|n| rebuilt.contains_key(n))
        });
    steps.mark("packages");
    // the change side is solved while the next chunks are planned
    let mut change_pool = ctx.solver_pool(change, Vec::new());
    let mut change_side: Vec<i32> = Vec::new();
    let mut affected = Vec::new();
    let mut to_solve = Vec::new();
    // packages whose base side is their stored set: the tainted ones with the set the
    // planning read, the ones compared in full by id
    let mut from_stored = HashMap::new();
    let mut compared_in_full = Vec::new();
    for chunk in chunked(packages, PLAN_CHUNK) {
        let plan = plan_chunk_with(
            ctx,
            c,
            base_repo,
            change,
            chunk,
            steps,
            |p, r, _, planner| (p.package_id, carried_over_changes(r, planner)),
        )
        .await?;
        if let Some(reason) = &plan.fallback {
            tracing::info!("{}: impact check solves every package: {reason}", c.name);
        }
        submit(&change_pool, &plan.solve, &mut change_side);
        to_solve.extend(plan.solve);
        from_stored.extend(plan.tainted);
        for (package_id, carried) in plan.reused {
            match carried {
                CarriedOver::Changes(changes) if changes.is_empty() => {}
                CarriedOver::Changes(changes) => affected.push(Affected::new(
                    package_id,
                    Side::resolved(),
                    Side::resolved(),
                    changes,
                )),
                CarriedOver::Whole(dependencies) => {
                    compared_in_full.push((package_id, dependencies))
                }
            }
        }
        steps.mark("reused compared");
    }
    // the analysis holds both repos; the next pass analyses its own pair anyway
    ctx.deltas.clear().await;
    let whole: Vec<i32> = compared_in_full.iter().map(|(id, _)| *id).collect();
    let stored = StoredSets::load(ctx, from_stored, &whole, base_repo).await?;
    steps.mark("stored sets");
    for (package_id, dependencies) in compared_in_full {
        let before = stored
            .dependencies(package_id)
            .context("a reused package has a stored set")?;
        affected.extend(difference(
            package_id,
            Solved::resolved(before),
            Solved::resolved(dependencies),
        ));
    }
    // the side tag's own builds of tracked packages: their BuildRequires with the change
    let srpms: Vec<_> = own_builds
        .iter()
        .map(|p| {
            let name = &names[&p.package_id];
            let (version, release) = &rebuilt[name];
            srpm(name, version, release)
        })
        .collect();
    let new_brs = ctx.brs.get(ctx.koji_for(c), c.koji_id(), &srpms).await?;
    let rebuilt_side: Vec<ChunkPackage> = own_builds
        .iter()
        .zip(new_brs)
        .map(|(p, brs)| ChunkPackage {
            buildrequires: brs.unwrap_or_else(|| p.buildrequires.clone()),
            ..p.clone()
        })
        .collect();
    submit(&change_pool, &rebuilt_side, &mut change_side);
    to_solve.extend(own_builds);
    let base_side: Vec<ChunkPackage> = to_solve
        .into_iter()
        .filter(|p| !stored.contains(p.package_id))
        .collect();
    // a package with a stored base is compared as its result comes in (the sets of a
    // whole distribution do not fit in memory at once); the others wait for their base
    let mut waiting = HashMap::new();
    collect(
        &mut change_pool,
        change_side,
        |package_id, after| match stored.dependencies(package_id) {
            Some(before) => {
                affected.extend(difference(package_id, Solved::resolved(before), after))
            }
            None => {
                waiting.insert(package_id, after);
            }
        },
    )
    .await?;
    drop(change_pool);
    steps.mark("solved with the change");
    let mut solved_base = solve(ctx, base, &base_side).await?;
    steps.mark("solved in the base");
    for (package_id, after) in waiting {
        let before = solved_base
            .remove(&package_id)
            .context("every package is solved on both sides")?;
        affected.extend(difference(package_id, before, after));
    }
    affected.sort_by_key(|a| a.package_id);
    Ok(affected)
}

/// The stored resolved sets at or before the base repo of some packages, compact (ids)
/// until asked for.
struct StoredSets {
    rows: HashMap<i32, package_deps::StoredDeps>,
    nevra_of: HashMap<i32, Nevra>,
}

impl StoredSets {
    /// `rows` (resolved sets read already) and the sets of `ids` read now (a package
    /// without a resolved one is left out), every distinct dependency looked up once.
    async fn load(
        ctx: &Context,
        mut rows: HashMap<i32, package_deps::StoredDeps>,
        ids: &[i32],
        base_repo: i32,
    ) -> anyhow::Result<Self> {
        let mut conn = ctx.pool.acquire().await?;
        let mut read = package_deps::newest_at_or_before(&mut conn, ids, base_repo).await?;
        read.retain(|_, row| row.resolved == Some(true));
        rows.extend(read);
        let mut dependency_ids: Vec<i32> =
            rows.values().flat_map(|r| r.ids.iter().copied()).collect();
        dependency_ids.sort_unstable();
        dependency_ids.dedup();
        let nevras = ctx.deps.get_by_ids(&mut conn, &dependency_ids).await?;
        let nevra_of = dependency_ids.into_iter().zip(nevras).collect();
        Ok(StoredSets { rows, nevra_of })
    }

    fn contains(&self, package_id: i32) -> bool {
        self.rows.contains_key(&package_id)
    }

    /// A package's set.
    fn dependencies(&self, package_id: i32) -> Option<Vec<Dependency>> {
        let row = self.rows.get(&package_id)?;
        let nevras = row.ids.iter().map(|d| self.nevra_of[d].clone()).collect();
        Some(row.dependencies(nevras))
    }
}

/// `items` in chunks of at most `size`.
fn chunked<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(size).collect());
    }
    chunks
}

/// `[E:]V-R.arch`, as changes are shown.
fn evr_arch(n: &koschei_depsolve::Nevra) -> String {
    format!("{}.{}", n.evr(), n.arch)
}

/// The package's entry when its two resolutions differ.
fn difference(package_id: i32, base: Solved, change: Solved) -> Option<Affected> {
    let changes = compute_changes(&base.dependencies, &change.dependencies);
    if base.side.resolved == change.side.resolved
        && base.side.problems == change.side.problems
        && changes.is_empty()
    {
        return None;
    }
    let changes: Vec<ImpactChange> = changes
        .iter()
        .map(|ch| ImpactChange {
            name: ch.name().to_string(),
            prev: ch.prev.as_ref().map(evr_arch),
            curr: ch.curr.as_ref().map(evr_arch),
            distance: ch.distance.map(i16::from),
        })
        .collect();
    Some(Affected::new(package_id, base.side, change.side, changes))
}

/// Solves packages against one repo on the resolver threads.
async fn solve(
    ctx: &Context,
    repo: &PreparedRepo,
    packages: &[ChunkPackage],
) -> anyhow::Result<HashMap<i32, Solved>> {
    let mut solved = HashMap::with_capacity(packages.len());
    if packages.is_empty() {
        return Ok(solved);
    }
    let mut pool = ctx.solver_pool(repo, Vec::new());
    let mut pending = Vec::new();
    submit(&pool, packages, &mut pending);
    collect(&mut pool, pending, |id, s| {
        solved.insert(id, s);
    })
    .await?;
    Ok(solved)
}

/// Queues packages on `pool`, noting their ids in `pending`.
fn submit(pool: &SolverPool, packages: &[ChunkPackage], pending: &mut Vec<i32>) {
    for p in packages {
        pool.submit(SolveJob {
            tag: i64::from(p.package_id),
            buildrequires: p.buildrequires.clone(),
        });
        pending.push(p.package_id);
    }
}

/// Hands the result of each of the `pending` packages queued on `pool` to `solved`.
async fn collect(
    pool: &mut SolverPool,
    pending: Vec<i32>,
    mut solved: impl FnMut(i32, Solved),
) -> anyhow::Result<()> {
    let mut pending: HashSet<i32> = pending.into_iter().collect();
    while !pending.is_empty() {
        let result = match pool.next().await {
            Some(Ok(r)) => r,
            Some(Err(e)) => anyhow::bail!("solver: {e}"),
            None => anyhow::bail!("solver threads ended"),
        };
        let id = i32::try_from(result.tag).context("package id")?;
        pending.remove(&id);
        solved(
            id,
            Solved {
                side: Side {
                    resolved: result.resolved,
                    problems: result.problems,
                },
                dependencies: result.dependencies,
            },
        );
    }
    Ok(())
}
