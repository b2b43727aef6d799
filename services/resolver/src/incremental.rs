//! Incremental resolution in the repo resolver: a chunk of a whole-repo pass queued
//! against the previous repo (`resolver_work.base_repo_id`) re-solves only the packages
//! the repo delta can affect and reuses the others' previous results with versions
//! swapped ([`koschei_depsolve::RepoDelta`], exact: the results are a full pass's).
//!
//! A package is planned from its previous result when all of this holds, and solved
//! otherwise:
//!
//! * the previous repo is still usable (Koji has it and its repodata is in the cache);
//! * its stored outcome at or before the previous repo ([`crate::package_deps`]) is a
//!   resolved set for the same SRPM (so the BuildRequires are the same), every member of
//!   which is in the previous repo;
//! * it was not reset for a forced re-resolution (`resolved IS NULL`).
//!
//! An unresolved package is therefore always solved: a missing BuildRequire may appear,
//! and the solver's problems with its other BuildRequires may change with any delta.
//!
//! Each stored resolved set carries the trace of the solve that produced it
//! ([`koschei_depsolve::InstallTrace`], positions into the set), so planning is
//! [`RepoDelta::plan_traced`](koschei_depsolve::RepoDelta::plan_traced)'s: a package whose
//! rule universe holds a requirement that only gained providers is reused when the trace
//! shows that requirement inert. A reused set's trace is the φ-image of its previous one
//! ([`RepoDelta::successor_trace`](koschei_depsolve::RepoDelta::successor_trace)), which is
//! what solving it would record, so incremental and full passes store the same rows.
//!
//! The delta analysis itself runs in [`crate::delta_planner`].

use std::collections::HashMap;
use std::sync::Arc;

use koschei_depsolve::{InstallTrace, Resolution};

use crate::context::{CollectionInfo, Context};
use crate::delta_planner::{DeltaPlanner, PlanJob};
use crate::package_deps::{self, StoredDeps};
use crate::package_persist::{DependencySet, PackageOutcome};
use crate::repo_env::{PreparedRepo, RepoStatus};
use crate::step_times::StepTimes;

/// A package of a claimed chunk, ready for planning or solving.
#[derive(Debug, Clone)]
pub struct ChunkPackage {
    /// Package id.
    pub package_id: i32,
    /// `package.last_build_id` when read.
    pub last_build_id: Option<i32>,
    /// `package.resolved` when read (`None`: forced re-resolution or new).
    pub resolved: Option<bool>,
    /// `version-release` of the SRPM.
    pub srpm: String,
    /// Its BuildRequires.
    pub buildrequires: Vec<String>,
}

impl ChunkPackage {
    /// The outcome of reusing it (`trace`: positions into `dependencies`).
    pub fn outcome(
        &self,
        resolution: &Resolution,
        dependencies: DependencySet,
        trace: Option<InstallTrace>,
    ) -> PackageOutcome {
        PackageOutcome {
            package_id: self.package_id,
            last_build_id: self.last_build_id,
            resolved: resolution.resolved,
            problems: resolution.problems.clone(),
            dependencies,
            srpm: Some(self.srpm.clone()),
            trace,
        }
    }
}

/// How a chunk was planned.
#[derive(Debug)]
pub struct ChunkPlan<T = PackageOutcome> {
    /// Results carried over from the previous repo (as the caller's `reuse` made them).
    pub reused: Vec<T>,
    /// Packages to solve.
    pub solve: Vec<ChunkPackage>,
    /// The packages among `solve` whose stored outcome at the previous repo is a
    /// resolved set of theirs that the delta may change (the others had none usable),
    /// with that outcome.
    pub tainted: HashMap<i32, StoredDeps>,
    /// Why the whole chunk falls back to solving (`None`: planned incrementally).
    pub fallback: Option<String>,
    /// The delta analysis the chunk was planned with (`None` on a fallback).
    pub planner: Option<Arc<DeltaPlanner>>,
}

impl<T> Default for ChunkPlan<T> {
    fn default() -> Self {
        ChunkPlan {
            reused: Vec::new(),
            solve: Vec::new(),
            tainted: HashMap::new(),
            fallback: None,
            planner: None,
        }
    }
}

/// Plans a chunk queued against `base_repo` (the collection's previous repo): the
/// outcomes carried over, with the new repo's packages, their sets as dependency ids
/// where every member's id is known ([`DeltaPlanner::dependency_ids`]).
pub async fn plan_chunk(
    ctx: &Context,
    c: &CollectionInfo,
    base_repo: i32,
    new: &Arc<PreparedRepo>,
    packages: Vec<ChunkPackage>,
    steps: &mut StepTimes,
) -> anyhow::Result<ChunkPlan> {
    let plan = plan_chunk_with(ctx, c, base_repo, new, packages, steps, |p, r, trace, _| {
        (
            p.outcome(r, DependencySet::default(), trace),
            r.installs.clone(),
        )
    })
    .await?;
    let Some(planner) = plan.planner.clone() else {
        return Ok(ChunkPlan {
            reused: Vec::new(),
            solve: plan.solve,
            tainted: plan.tainted,
            fallback: plan.fallback,
            planner: None,
        });
    };
    if !plan.reused.is_empty() {
        let mut conn = ctx.pool.acquire().await?;
        planner.map_delta_ids(&ctx.deps, &mut conn).await?;
    }
    let reused = plan
        .reused
        .into_iter()
        .map(|(mut outcome, installs)| {
            outcome.dependencies = match planner.dependency_ids(&installs) {
                Some(ids) => DependencySet::Ids(ids),
                None => DependencySet::Nevras(planner.dependencies(&installs)),
            };
            outcome
        })
        .collect();
    steps.mark("carried-over ids");
    Ok(ChunkPlan {
        reused,
        solve: plan.solve,
        tainted: plan.tainted,
        fallback: None,
        planner: Some(planner),
    })
}

/// [`plan_chunk`], a package whose result carries over passed to `reuse`.
pub async fn plan_chunk_with<T>(
    ctx: &Context,
    c: &CollectionInfo,
    base_repo: i32,
    new: &Arc<PreparedRepo>,
    packages: Vec<ChunkPackage>,
    steps: &mut StepTimes,
    reuse: impl Fn(&ChunkPackage, &Resolution, Option<InstallTrace>, &DeltaPlanner) -> T,
) -> anyhow::Result<ChunkPlan<T>> {
    let fallback = |reason: String, solve: Vec<ChunkPackage>| ChunkPlan {
        solve,
        fallback: Some(reason),
        ..ChunkPlan::default()
    };
    let old = match ctx.repos.get(ctx.koji_for(c), &c.repo(base_repo)).await? {
        RepoStatus::Ready(old) => old,
        RepoStatus::Dead => return Ok(fallback(format!("repo {base_repo} is gone"), packages)),
        RepoStatus::NoBuildGroup => {
            return Ok(fallback(
                format!("repo {base_repo} has no build group"),
                packages,
            ))
        }
        RepoStatus::Unavailable => {
            return Ok(fallback(
                format!("repodata of repo {base_repo} unavailable"),
                packages,
            ))
        }
    };
    let planner = match ctx.deltas.get(&old, new).await {
        Ok(planner) => planner,
        Err(e) => return Ok(fallback(format!("delta analysis failed: {e:#}"), packages)),
    };
    steps.mark("delta");
    let ids: Vec<i32> = packages.iter().map(|p| p.package_id).collect();
    let mut conn = ctx.pool.acquire().await?;
    let mut stored = package_deps::newest_at_or_before(&mut conn, &ids, base_repo).await?;
    steps.mark("stored outcomes");
    let usable = |p: &ChunkPackage| -> Option<&StoredDeps> {
        let row = stored.get(&p.package_id)?;
        (p.resolved.is_some()
            && row.resolved == Some(true)
            && row.srpm.as_deref() == Some(p.srpm.as_str()))
        .then_some(row)
    };
    let mut all_ids: Vec<i32> = packages
        .iter()
        .filter_map(usable)
        .flat_map(|row| row.ids.iter().copied())
        .collect();
    all_ids.sort_unstable();
    all_ids.dedup();
    let unmapped = planner.unmapped(&all_ids);
    if !unmapped.is_empty() {
        let nevras = ctx.deps.get_by_ids(&mut conn, &unmapped).await?;
        planner.map_ids(&unmapped, &nevras);
    }
    drop(conn);
    steps.mark("ids mapped");
    let mut plan = ChunkPlan {
        planner: Some(planner.clone()),
        ..ChunkPlan::default()
    };
    let mut requests: Vec<(ChunkPackage, PlanJob)> = Vec::new();
    for p in packages {
        let previous = usable(&p).and_then(|row| planner.previous_resolution(row));
        match previous {
            Some((previous, trace)) => {
                let job = PlanJob {
                    previous,
                    trace,
                    buildrequires: p.buildrequires.clone(),
                };
                requests.push((p, job));
            }
            None => plan.solve.push(p),
        }
    }
    let (pkgs, jobs): (Vec<ChunkPackage>, Vec<PlanJob>) = requests.into_iter().unzip();
    steps.mark("previous resolutions");
    let answers = planner.plan(jobs).await?;
    steps.mark("planned");
    for (p, answer) in pkgs.into_iter().zip(answers) {
        match answer {
            Some((r, trace)) => plan.reused.push(reuse(&p, &r, trace, &planner)),
            None => {
                if let Some(row) = stored.remove(&p.package_id) {
                    plan.tainted.insert(p.package_id, row);
                }
                plan.solve.push(p);
            }
        }
    }
    steps.mark("reused");
    Ok(plan)
}
