//! The repo-delta planner of incremental passes ([`crate::incremental`]): the delta
//! analysis of one (previous, new) repo pair ([`koschei_depsolve::RepoDelta`]) and the
//! process's cache of the latest one.
//!
//! The delta analysis holds a libsolv pool, which must stay on one thread: a
//! [`DeltaPlanner`] owns such a thread for one (previous, new) repo pair and answers
//! planning requests through a channel; the process keeps the latest one
//! ([`DeltaCache`], held by [`crate::context::Context`]), so every chunk of a pass that
//! this instance claims reuses it, until the queue is drained.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use koschei_depsolve::{
    DeltaStats, Dependency, Install, InstallTrace, Nevra, PackageIndex, PackageTable, Plan,
    RepoDelta, Resolution, SolveTrace,
};
use rustc_hash::FxHashMap;
use sqlx::PgConnection;
use tokio::sync::{oneshot, Mutex};

use crate::dependency_cache::DependencyCache;
use crate::package_deps::StoredDeps;
use crate::repo_env::PreparedRepo;

/// Dependency ids (`dependency` rows) of the two repos' packages, as far as known.
#[derive(Default)]
struct IdMaps {
    /// Dependency id → index in the previous repo, for the ids of the stored sets planned
    /// so far (`None`: not in that repo, or two packages share the NEVRA). Most ids recur
    /// in every chunk, so each is looked up as a package once per pass.
    old_by_id: FxHashMap<i32, Option<PackageIndex>>,
    /// Per package of the new repo, its dependency id: mapped with the previous repo's
    /// package of the same NEVRA, or looked up for the packages of the delta.
    new_ids: Vec<Option<i32>>,
}

/// One package to plan: its previous resolution (in the previous repo) with the trace of
/// that solve (positions into its installs), and its BuildRequires (the same as then).
pub(crate) struct PlanJob {
    pub(crate) previous: Resolution,
    pub(crate) trace: Option<InstallTrace>,
    pub(crate) buildrequires: Vec<String>,
}

/// Per job: the resolution in the new repo with its trace (positions into its installs)
/// to reuse, or `None` to solve.
type Answer = Vec<Option<(Resolution, Option<InstallTrace>)>>;

/// The delta analysis of one (previous, new) repo pair on its own thread.
pub struct DeltaPlanner {
    key: String,
    requests: std::sync::mpsc::Sender<(Vec<PlanJob>, oneshot::Sender<Answer>)>,
    /// NEVRA → index in the previous repo (`None` when two packages share it).
    old_index: HashMap<Nevra, Option<PackageIndex>>,
    /// (name, arch) → the previous repo's package of that name and arch (`None` when
    /// several share them).
    old_by_name: HashMap<(String, String), Option<Nevra>>,
    /// The dependency ids known so far on both sides (see [`IdMaps`]).
    ids: std::sync::Mutex<IdMaps>,
    new_table: PackageTable,
    /// Per package of the new repo: whether the previous repo lacks its NEVRA.
    new_in_delta: Vec<bool>,
    /// Per package of the previous repo: the new repo's package of the same NEVRA.
    old_to_new: Vec<Option<PackageIndex>>,
    /// Whether the ids of the new repo's packages the previous one lacks are known
    /// ([`DeltaPlanner::map_delta_ids`]).
    delta_ids: tokio::sync::OnceCell<()>,
    /// Figures about the delta.
    pub stats: DeltaStats,
}

/// Plans one package on the delta thread: the new resolution (distances recomputed when
/// a grown requirement may show in them) and its trace, or `None` to solve.
fn plan_one(
    delta: &mut RepoDelta,
    new_sack: &mut koschei_depsolve::Sack,
    old: &PreparedRepo,
    new: &PreparedRepo,
    job: &PlanJob,
) -> Option<(Resolution, Option<InstallTrace>)> {
    let trace = job
        .trace
        .as_ref()
        .and_then(|t| SolveTrace::from_install_positions(t, &job.previous));
    let previous = Some((
        old.group.as_slice(),
        job.buildrequires.as_slice(),
        &job.previous,
        trace.as_ref(),
    ));
    let planned = delta.plan_traced(previous, &new.group, &job.buildrequires);
    let Plan::Reuse(mut resolution) = planned.plan else {
        return None;
    };
    if planned.recompute_distances {
        new_sack.recompute_distances(&job.buildrequires, &mut resolution);
    }
    let trace = job
        .trace
        .as_ref()
        .and_then(|t| delta.successor_trace(&job.previous, t));
    Some((resolution, trace))
}

impl std::fmt::Debug for DeltaPlanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaPlanner")
            .field("key", &self.key)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl DeltaPlanner {
    /// Analyses the delta (on a new thread, which lives as long as the planner).
    async fn start(
        key: String,
        old: Arc<PreparedRepo>,
        new: Arc<PreparedRepo>,
    ) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (tx, rx) = std::sync::mpsc::channel::<(Vec<PlanJob>, oneshot::Sender<Answer>)>();
        std::thread::Builder::new()
            .name("repo-delta".into())
            .spawn(move || {
                let setup = || -> anyhow::Result<_> {
                    let delta = RepoDelta::analyze(&old.solv, &new.solv)?;
                    tracing::debug!(stats = ?delta.stats(), "repo delta analysed");
                    let old_table = old.solv.load()?.package_table();
                    // distances of reused sets are recomputed in the new repo
                    let new_sack = new.solv.load()?;
                    let new_table = new_sack.package_table();
                    Ok((delta, old_table, new_sack, new_table))
                };
                let (mut delta, mut new_sack) = match setup() {
                    Ok((delta, old_table, new_sack, new_table)) => {
                        let _ = ready_tx.send(Ok((delta.stats().clone(), old_table, new_table)));
                        (delta, new_sack)
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok((jobs, reply)) = rx.recv() {
                    let answer = jobs
                        .iter()
                        .map(|job| plan_one(&mut delta, &mut new_sack, &old, &new, job))
                        .collect();
                    let _ = reply.send(answer);
                }
            })
            .context("spawning the delta thread")?;
        let (stats, old_table, new_table) = ready_rx.await.context("delta thread died")??;
        let mut old_index: HashMap<Nevra, Option<PackageIndex>> = HashMap::new();
        let mut old_by_name: HashMap<(String, String), Option<Nevra>> = HashMap::new();
        for (i, n) in old_table.iter() {
            old_index
                .entry(n.clone())
                .and_modify(|e| *e = None)
                .or_insert(Some(i));
            old_by_name
                .entry((n.name.clone(), n.arch.clone()))
                .and_modify(|e| *e = None)
                .or_insert_with(|| Some(n.clone()));
        }
        let mut old_to_new = vec![None; old_table.len()];
        let new_in_delta = new_table
            .iter()
            .map(|(i, n)| match old_index.get(n) {
                Some(old) => {
                    if let Some(old) = old {
                        old_to_new[old.0 as usize] = Some(i);
                    }
                    false
                }
                None => true,
            })
            .collect();
        let ids = IdMaps {
            old_by_id: FxHashMap::default(),
            new_ids: vec![None; new_table.len()],
        };
        Ok(DeltaPlanner {
            key,
            requests: tx,
            old_index,
            old_by_name,
            ids: std::sync::Mutex::new(ids),
            new_table,
            new_in_delta,
            old_to_new,
            delta_ids: tokio::sync::OnceCell::new(),
            stats,
        })
    }

    fn ids_lock(&self) -> std::sync::MutexGuard<'_, IdMaps> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The dependency ids among `ids` not yet mapped to the previous repo (see
    /// [`DeltaPlanner::map_ids`]).
    pub(crate) fn unmapped(&self, ids: &[i32]) -> Vec<i32> {
        let known = self.ids_lock();
        ids.iter()
            .copied()
            .filter(|id| !known.old_by_id.contains_key(id))
            .collect()
    }

    /// Maps dependency ids, given their NEVRAs, to the previous repo's packages (and to
    /// the new repo's packages of the same NEVRAs).
    pub(crate) fn map_ids(&self, ids: &[i32], nevras: &[Nevra]) {
        let mut known = self.ids_lock();
        for (&id, nevra) in ids.iter().zip(nevras) {
            let old = self.old_index.get(nevra).copied().flatten();
            known.old_by_id.insert(id, old);
            if let Some(new) = old.and_then(|o| self.old_to_new[o.0 as usize]) {
                known.new_ids[new.0 as usize] = Some(id);
            }
        }
    }

    /// Looks up (creating them where needed) the dependency ids of the new repo's
    /// packages the previous repo lacks, once per planner: with them and the ids of the
    /// stored sets ([`DeltaPlanner::map_ids`]), a carried-over set is known by ids
    /// ([`DeltaPlanner::dependency_ids`]).
    pub(crate) async fn map_delta_ids(
        &self,
        cache: &DependencyCache,
        conn: &mut PgConnection,
    ) -> sqlx::Result<()> {
        self.delta_ids
            .get_or_try_init(|| async {
                let (indexes, nevras): (Vec<usize>, Vec<&Nevra>) = self
                    .new_table
                    .iter()
                    .filter(|(i, _)| self.new_in_delta[i.0 as usize])
                    .map(|(i, n)| (i.0 as usize, n))
                    .unzip();
                let ids = cache.get_or_create(conn, &nevras).await?;
                let mut known = self.ids_lock();
                for (i, id) in indexes.into_iter().zip(ids) {
                    known.new_ids[i] = Some(id);
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Installs in the new repo as dependency ids with distances (in the same order);
    /// `None` when a member's id is not known.
    pub(crate) fn dependency_ids(&self, installs: &[Install]) -> Option<Vec<(i32, Option<u8>)>> {
        let known = self.ids_lock();
        installs
            .iter()
            .map(|i| Some(((*known.new_ids.get(i.package.0 as usize)?)?, i.distance)))
            .collect()
    }

    /// A stored resolved set as a resolution in the previous repo, with its trace as
    /// positions into the resolution's installs; `None` when a member is not in that repo
    /// (or its id was not mapped, [`DeltaPlanner::map_ids`]).
    pub(crate) fn previous_resolution(
        &self,
        row: &StoredDeps,
    ) -> Option<(Resolution, Option<InstallTrace>)> {
        let known = self.ids_lock();
        let known = &known.old_by_id;
        let installs = row
            .ids
            .iter()
            .zip(&row.distances)
            .map(|(id, &d)| {
                let package = (*known.get(id)?)?;
                Some(Install {
                    package,
                    distance: (d > 0).then_some(d),
                })
            })
            .collect::<Option<Vec<Install>>>()?;
        // installs are in package order; the trace follows the stored (id) order
        let mut order: Vec<usize> = (0..installs.len()).collect();
        order.sort_unstable_by_key(|&i| installs[i]);
        let mut position_of = vec![0u32; installs.len()];
        for (to, &from) in order.iter().enumerate() {
            position_of[from] = to as u32;
        }
        let trace = row
            .trace
            .as_ref()
            .and_then(|t| t.renumbered(|p| position_of.get(p as usize).copied()));
        let installs = order.into_iter().map(|i| installs[i]).collect();
        let resolution = Resolution {
            resolved: true,
            problems: Vec::new(),
            installs,
        };
        Some((resolution, trace))
    }

    /// Plans packages: `Some(resolution in the new repo)` to reuse, `None` to solve.
    pub(crate) async fn plan(&self, jobs: Vec<PlanJob>) -> anyhow::Result<Answer> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let (tx, rx) = oneshot::channel();
        self.requests
            .send((jobs, tx))
            .map_err(|_| anyhow::anyhow!("delta thread ended"))?;
        Ok(rx.await?)
    }

    /// The previous repo's package of the same name and arch as `nevra`: what a carried
    /// over set held where it now holds `nevra` (the delta pairs packages by name and
    /// arch). `None` when there is none, or several.
    pub(crate) fn predecessor(&self, nevra: &Nevra) -> Option<&Nevra> {
        self.old_by_name
            .get(&(nevra.name.clone(), nevra.arch.clone()))?
            .as_ref()
    }

    /// The members of a resolution in the new repo that the previous repo does not hold
    /// (where a carried-over set differs from its previous one), as dependency records.
    pub(crate) fn new_members(&self, r: &Resolution) -> Vec<Dependency> {
        r.installs
            .iter()
            .filter(|i| self.new_in_delta[i.package.0 as usize])
            .map(|i| Dependency {
                nevra: self.new_table.get(i.package).clone(),
                distance: i.distance,
            })
            .collect()
    }

    /// Installs in the new repo as dependency records.
    pub(crate) fn dependencies(&self, installs: &[Install]) -> Vec<Dependency> {
        installs
            .iter()
            .map(|i| Dependency {
                nevra: self.new_table.get(i.package).clone(),
                distance: i.distance,
            })
            .collect()
    }
}

/// The process's delta planner for the latest (previous, new) repo pair.
#[derive(Default)]
pub struct DeltaCache {
    current: Mutex<Option<Arc<DeltaPlanner>>>,
    /// The last reason a pass fell back to solving in full (logged once per pass).
    fallback: std::sync::Mutex<String>,
}

impl DeltaCache {
    /// Frees the current analysis (its pool holds both repositories) once the queue is
    /// drained; the next pass analyses its own pair anyway.
    pub async fn clear(&self) {
        *self.current.lock().await = None;
    }

    /// True the first time in a row that `note` (a pass's fallback reason) is seen.
    pub fn first_fallback(&self, note: &str) -> bool {
        let mut last = self.fallback.lock().unwrap_or_else(|e| e.into_inner());
        if *last == note {
            return false;
        }
        *last = note.to_string();
        true
    }

    /// The planner of `old` → `new`, analysing the delta when it is not the current one.
    pub async fn get(
        &self,
        old: &Arc<PreparedRepo>,
        new: &Arc<PreparedRepo>,
    ) -> anyhow::Result<Arc<DeltaPlanner>> {
        let key = format!(
            "{}:{}->{}:{}",
            old.solv.path.display(),
            old.group.join(","),
            new.solv.path.display(),
            new.group.join(",")
        );
        let mut current = self.current.lock().await;
        if let Some(p) = current.as_ref().filter(|p| p.key == key) {
            return Ok(p.clone());
        }
        *current = None; // free the previous analysis first
        let started = Instant::now();
        let planner = Arc::new(DeltaPlanner::start(key, old.clone(), new.clone()).await?);
        let s = &planner.stats;
        tracing::info!(
            "repo delta {} -> {}: {} changed binaries ({} updated, {} of them version bumps only, \
             {} added, {} removed), {} tainted; analysed in {:.1}s",
            old.descriptor.repo_id,
            new.descriptor.repo_id,
            s.changed_binaries(),
            s.updated,
            s.same_structure,
            s.added,
            s.removed,
            s.tainted,
            started.elapsed().as_secs_f64()
        );
        *current = Some(planner.clone());
        Ok(planner)
    }
}
