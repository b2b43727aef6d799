//! Persisting the repo resolver's results for a chunk of packages in one transaction
//! (`persist_resolution_output` in the original's
//! `koschei/backend/services/repo_resolver.py`), with set-based SQL (arrays through
//! `unnest`), whatever the chunk size:
//!
//! 1. the package rows are locked in id order; a result whose captured `last_build_id`
//!    differs from the current one is discarded (a build was submitted or registered
//!    meanwhile, so the result describes the wrong comparison);
//! 2. dependency changes against the comparison build ([`crate::comparison`]) and
//!    `dependency_priority = int(Σ package_update / (distance or 8))`;
//! 3. `package.resolved` and `dependency_priority` are updated, a `resolution_change` (with
//!    its `resolution_problem`s) is recorded only when the resolved flag changed or, while
//!    unresolved, the problem set differs from the last recorded one; after a reset
//!    (`resolved IS NULL`, a forced re-resolution) the outcome is compared with the last
//!    recorded resolution change instead, so re-checking adds no duplicate history;
//! 4. the packages' unapplied changes are replaced wholesale (`unapplied_changes`, one row
//!    of arrays per package; `unapplied_change` is its view with a row per change);
//! 5. a state-change message goes to the outbox, in the same transaction, for every
//!    package whose message state changed;
//! 6. the outcome becomes the package's stored outcome in the repo
//!    ([`crate::package_deps`]).
//!
//! Only what differs is written: a package whose flag, priority, unapplied changes and
//! stored outcome are already what the result gives, and that needs no history entry,
//! gets no write at all (not even a row update), which is what lets an incremental pass
//! leave the untouched majority of a distribution alone.

use std::collections::{BTreeSet, HashMap};

use koschei_core::model::MessageState;
use koschei_core::{outbox, Config};
use koschei_depsolve::{changes_between, Dependency, DependencyChange, Nevra};
use rustc_hash::{FxHashMap as IdHashMap, FxHashSet as IdHashSet};
use sqlx::{PgConnection, PgPool};

use crate::comparison;
use crate::dependency_cache::DependencyCache;
use crate::package_deps::{self, StoredDeps};
use crate::step_times::StepTimes;

/// The resolution of one package against a repo.
#[derive(Debug, Clone)]
pub struct PackageOutcome {
    /// Package id.
    pub package_id: i32,
    /// `package.last_build_id` when the package was read for resolution.
    pub last_build_id: Option<i32>,
    /// Resolvable?
    pub resolved: bool,
    /// Problems (empty when resolved).
    pub problems: Vec<String>,
    /// Installed packages with distances (empty when unresolved).
    pub dependencies: DependencySet,
    /// `version-release` of the SRPM whose BuildRequires were resolved.
    pub srpm: Option<String>,
    /// The solve's trace as positions into `dependencies`, stored with the set for the
    /// next incremental pass (`None`: unresolved, or no usable trace).
    pub trace: Option<koschei_depsolve::InstallTrace>,
}

/// An outcome's dependency set: as solved, or carried over from the previous repo as
/// `dependency` ids (a carried-over set is never turned into NEVRAs: an incremental pass
/// carries over tens of thousands of them, a few hundred members each).
#[derive(Debug, Clone)]
pub enum DependencySet {
    /// Installed packages with distances.
    Nevras(Vec<Dependency>),
    /// `dependency` ids with distances.
    Ids(Vec<(i32, Option<u8>)>),
}

impl Default for DependencySet {
    fn default() -> Self {
        DependencySet::Nevras(Vec::new())
    }
}

impl DependencySet {
    /// The distances, in the set's order.
    fn distances(&self) -> Vec<Option<u8>> {
        match self {
            DependencySet::Nevras(deps) => deps.iter().map(|d| d.distance).collect(),
            DependencySet::Ids(ids) => ids.iter().map(|&(_, d)| d).collect(),
        }
    }

    /// The NEVRAs of a solved set (none for a carried-over one).
    fn nevras(&self) -> impl Iterator<Item = &Nevra> {
        let deps = match self {
            DependencySet::Nevras(deps) => deps.as_slice(),
            DependencySet::Ids(_) => &[],
        };
        deps.iter().map(|d| &d.nevra)
    }
}

/// What a persisted chunk did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PersistStats {
    /// Results kept (written, or found unchanged).
    pub persisted: usize,
    /// Results dropped because the package changed meanwhile (or vanished).
    pub discarded: usize,
    /// New `resolution_change` rows.
    pub resolution_changes: usize,
    /// State-change messages queued.
    pub messages: usize,
    /// Unapplied changes written.
    pub changes: usize,
    /// Persisted results that needed no write (the outcome did not change).
    pub unchanged: usize,
}

impl std::ops::AddAssign for PersistStats {
    fn add_assign(&mut self, o: Self) {
        self.persisted += o.persisted;
        self.discarded += o.discarded;
        self.resolution_changes += o.resolution_changes;
        self.messages += o.messages;
        self.changes += o.changes;
        self.unchanged += o.unchanged;
    }
}

/// The priority a package gets from its changes.
pub fn dependency_priority(changes: &[DependencyChange], package_update: f64) -> i32 {
    let total: f64 = changes
        .iter()
        .map(|c| package_update / f64::from(c.distance.map_or(8, |d| d.max(1))))
        .sum();
    total as i32
}

/// A claim on a work item that must still be held when persisting: the item is deleted in
/// the same transaction, and nothing is written if another instance took it over.
#[derive(Debug, Clone)]
pub struct WorkClaim<'a> {
    /// `resolver_work.id`.
    pub item_id: i64,
    /// This instance's id.
    pub instance: &'a str,
}

/// Persists one chunk; see the module documentation. With `store_for_repo`, the
/// outcomes are the packages' outcomes in that repo ([`crate::package_deps`]): a row is
/// written where it differs from the stored one, and discarded results are recorded as
/// unknown.
pub async fn persist_chunk(
    pool: &PgPool,
    config: &Config,
    cache: &DependencyCache,
    outcomes: &[PackageOutcome],
    claim: Option<WorkClaim<'_>>,
    store_for_repo: Option<i32>,
) -> anyhow::Result<PersistStats> {
    let mut steps = StepTimes::start();
    let mut tx = pool.begin().await?;
    if let Some(claim) = &claim {
        let held = sqlx::query("DELETE FROM resolver_work WHERE id = $1 AND claimed_by = $2")
            .bind(claim.item_id)
            .bind(claim.instance)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if held == 0 {
            tracing::info!(
                "work item {} was taken over or cancelled; discarding its results",
                claim.item_id
            );
            return Ok(PersistStats {
                discarded: outcomes.len(),
                ..PersistStats::default()
            });
        }
    }
    let ids: Vec<i32> = outcomes.iter().map(|o| o.package_id).collect();
    let rows: Vec<CurrentRow> = sqlx::query_as(
        "SELECT id, resolved, last_build_id, package_msg_state(p), dependency_priority
         FROM package p WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    steps.mark("lock");
    let current: HashMap<i32, Current> = rows
        .into_iter()
        .map(|(id, resolved, last_build_id, state, priority)| {
            let msg_state = state.parse().unwrap_or(MessageState::Ignored);
            let c = Current {
                resolved,
                last_build_id,
                msg_state,
                priority,
            };
            (id, c)
        })
        .collect();
    let (kept, discarded): (Vec<&PackageOutcome>, Vec<&PackageOutcome>) =
        outcomes.iter().partition(|o| {
            current
                .get(&o.package_id)
                .is_some_and(|c| c.last_build_id == o.last_build_id)
        });
    if let Some(repo_id) = store_for_repo {
        let lost: Vec<i32> = discarded.iter().map(|o| o.package_id).collect();
        package_deps::mark_unknown(&mut tx, repo_id, &lost).await?;
    }
    let mut stats = PersistStats {
        discarded: discarded.len(),
        persisted: kept.len(),
        ..PersistStats::default()
    };
    if kept.is_empty() {
        tx.commit().await?;
        return Ok(stats);
    }
    let kept_ids: Vec<i32> = kept.iter().map(|o| o.package_id).collect();

    // Ids of every current dependency: the stored sets hold them, and the changes are
    // found on them (an outcome shares most of its set with its comparison build, so only
    // the packages that differ are looked up). A solved set's NEVRAs are looked up (each
    // distinct one once: a chunk's sets share most of their members); a carried-over set
    // comes as ids. Rows of the flyweight table are committed at once (outside this
    // transaction), so the cache never holds ids of rows a rollback removed.
    let resolved: Vec<&PackageOutcome> = kept.iter().copied().filter(|o| o.resolved).collect();
    let mut distinct = IdHashSet::default();
    let wanted: Vec<&Nevra> = resolved
        .iter()
        .flat_map(|o| o.dependencies.nevras())
        .filter(|n| distinct.insert(*n))
        .collect();
    let wanted_ids = if wanted.is_empty() {
        Vec::new()
    } else {
        let mut conn = pool.acquire().await?;
        cache.get_or_create(&mut conn, &wanted).await?
    };
    let id_of: IdHashMap<&Nevra, i32> = wanted.iter().copied().zip(wanted_ids).collect();
    // per resolved package, its dependencies' ids in the set's order
    let dep_ids: IdHashMap<i32, Vec<i32>> = resolved
        .iter()
        .map(|o| {
            let ids = match &o.dependencies {
                DependencySet::Nevras(deps) => deps.iter().map(|d| id_of[&d.nevra]).collect(),
                DependencySet::Ids(ids) => ids.iter().map(|&(id, _)| id).collect(),
            };
            (o.package_id, ids)
        })
        .collect();
    steps.mark("dependency ids");

    // dependency changes against the comparison builds, on the members that differ
    let resolved_ids: Vec<i32> = resolved.iter().map(|o| o.package_id).collect();
    let prev_ids = comparison::package_comparison_deps(&mut tx, &resolved_ids).await?;
    let diffs: Vec<SetDiff> = resolved
        .iter()
        .filter_map(|o| SetDiff::of(o, prev_ids.get(&o.package_id)?, &dep_ids[&o.package_id]))
        .collect();
    let differing: Vec<i32> = diffs
        .iter()
        .flat_map(|d| {
            d.lost
                .iter()
                .chain(d.gained.iter().map(|(id, _)| id))
                .copied()
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let differing_nevras = cache.get_by_ids(&mut tx, &differing).await?;
    steps.mark("comparison");
    let nevra_of: IdHashMap<i32, &Nevra> =
        differing.iter().copied().zip(&differing_nevras).collect();
    let id_of: IdHashMap<&Nevra, i32> = nevra_of.iter().map(|(&id, &n)| (n, id)).collect();
    let mut changes_of: Vec<(i32, Vec<DependencyChange>)> = Vec::new();
    for d in &diffs {
        let removed: Vec<&Nevra> = d.lost.iter().map(|id| nevra_of[id]).collect();
        let gained: Vec<(&Nevra, Option<u8>)> = d
            .gained
            .iter()
            .map(|(id, dist)| (nevra_of[id], *dist))
            .collect();
        let changes = changes_between(&removed, &gained);
        if !changes.is_empty() {
            changes_of.push((d.package_id, changes));
        }
    }
    steps.mark("changes");

    // what a full write would leave, per package
    let package_update = config.priorities.package_update;
    let mut priority: HashMap<i32, i32> = HashMap::new();
    let mut unapplied: HashMap<i32, Vec<UnappliedRow>> = HashMap::new();
    for (pkg, changes) in &changes_of {
        priority.insert(*pkg, dependency_priority(changes, package_update));
        let mut rows: Vec<UnappliedRow> = changes
            .iter()
            .map(|c| {
                (
                    c.prev.as_ref().map(|n| id_of[n]),
                    c.curr.as_ref().map(|n| id_of[n]),
                    c.distance.map(i32::from),
                )
            })
            .collect();
        rows.sort_unstable();
        unapplied.insert(*pkg, rows);
    }
    let stored_unapplied = current_unapplied(&mut tx, &kept_ids).await?;
    steps.mark("read unapplied");
    let new_rows: Vec<(i32, StoredDeps)> = match store_for_repo {
        Some(repo_id) => {
            let stored = package_deps::newest_at_or_before(&mut tx, &kept_ids, repo_id).await?;
            kept.iter()
                .map(|o| (o.package_id, stored_deps_of(o, dep_ids.get(&o.package_id))))
                .filter(|(pkg, row)| stored.get(pkg) != Some(row))
                .collect()
        }
        None => Vec::new(),
    };
    steps.mark("read outcomes");
    let history = history_differs(&mut tx, &kept, &current).await?;
    steps.mark("read history");

    // write only what differs
    let no_rows = Vec::new();
    let mut updated: Vec<&PackageOutcome> = Vec::new();
    let mut changed_unapplied: Vec<i32> = Vec::new();
    let mut uc = UnappliedColumns::default();
    for o in &kept {
        let now = &current[&o.package_id];
        let p = priority.get(&o.package_id).copied().unwrap_or(0);
        if now.resolved != Some(o.resolved) || now.priority != p {
            updated.push(o);
        }
        let rows = unapplied.get(&o.package_id).unwrap_or(&no_rows);
        if stored_unapplied.get(&o.package_id).unwrap_or(&no_rows) != rows {
            changed_unapplied.push(o.package_id);
            for &(prev, curr, distance) in rows {
                uc.package_id.push(o.package_id);
                uc.prev.push(prev);
                uc.curr.push(curr);
                uc.distance.push(distance);
            }
        }
    }
    let written: BTreeSet<i32> = updated
        .iter()
        .map(|o| o.package_id)
        .chain(changed_unapplied.iter().copied())
        .chain(new_rows.iter().map(|r| r.0))
        .chain(history.iter().map(|o| o.package_id))
        .collect();
    stats.unchanged = kept.len() - written.len();
    if let Some(repo_id) = store_for_repo {
        package_deps::store(&mut tx, repo_id, &new_rows).await?;
    }
    steps.mark("store outcomes");
    if !updated.is_empty() {
        let ids: Vec<i32> = updated.iter().map(|o| o.package_id).collect();
        let flags: Vec<bool> = updated.iter().map(|o| o.resolved).collect();
        let priorities: Vec<i32> = updated
            .iter()
            .map(|o| priority.get(&o.package_id).copied().unwrap_or(0))
            .collect();
        sqlx::query(
            "UPDATE package SET resolved = u.resolved, dependency_priority = u.priority
             FROM unnest($1::int[], $2::bool[], $3::int[]) AS u(id, resolved, priority)
             WHERE package.id = u.id",
        )
        .bind(&ids)
        .bind(&flags)
        .bind(&priorities)
        .execute(&mut *tx)
        .await?;
    }
    steps.mark("update packages");
    stats.resolution_changes = insert_history(&mut tx, &history).await?;
    steps.mark("history");
    if !changed_unapplied.is_empty() {
        sqlx::query("DELETE FROM unapplied_changes WHERE package_id = ANY($1)")
            .bind(&changed_unapplied)
            .execute(&mut *tx)
            .await?;
    }
    stats.changes = uc.package_id.len();
    uc.insert(&mut tx).await?;
    steps.mark("unapplied");

    // state-change messages (only a package update can change the state)
    let updated_ids: Vec<i32> = updated.iter().map(|o| o.package_id).collect();
    stats.messages = queue_messages(&mut tx, config, &updated_ids, &current).await?;
    steps.mark("messages");
    tx.commit().await?;
    steps.mark("commit");
    tracing::debug!("persisted {} packages: {steps}", outcomes.len());
    Ok(stats)
}

/// `(id, resolved, last_build_id, package_msg_state, dependency_priority)`.
type CurrentRow = (i32, Option<bool>, Option<i32>, String, i32);

/// A package row as locked before persisting.
struct Current {
    resolved: Option<bool>,
    last_build_id: Option<i32>,
    msg_state: MessageState,
    priority: i32,
}

/// `(prev_dep_id, curr_dep_id, distance)`.
type UnappliedRow = (Option<i32>, Option<i32>, Distance);
type Distance = Option<i32>;

/// `(package_id, prev_dep_ids, curr_dep_ids, distances)` of `unapplied_changes`.
type PackedRow = (i32, Vec<Option<i32>>, Vec<Option<i32>>, Vec<Distance>);

/// The packages' current unapplied changes, sorted.
async fn current_unapplied(
    conn: &mut PgConnection,
    ids: &[i32],
) -> sqlx::Result<HashMap<i32, Vec<UnappliedRow>>> {
    let rows: Vec<PackedRow> = sqlx::query_as(
        "SELECT package_id, prev_dep_ids, curr_dep_ids, distances FROM unapplied_changes
         WHERE package_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pkg, prev, curr, distances)| {
            let mut changes: Vec<UnappliedRow> = prev
                .into_iter()
                .zip(curr)
                .zip(distances)
                .map(|((p, c), d)| (p, c, d))
                .collect();
            changes.sort_unstable();
            (pkg, changes)
        })
        .collect())
}

/// What an outcome's dependency set lost and gained against its comparison build's,
/// compared by dependency id.
struct SetDiff {
    package_id: i32,
    /// Ids of the comparison build's dependencies the outcome lacks.
    lost: Vec<i32>,
    /// Ids (with distances) of the outcome's dependencies the comparison build lacks.
    gained: Vec<(i32, Option<u8>)>,
}

impl SetDiff {
    /// `prev`: the comparison build's ids; `curr`: the outcome's, in the set's order.
    /// `None` when either set is empty, which has no changes
    /// ([`koschei_depsolve::compute_changes_by_ref`]).
    fn of(o: &PackageOutcome, prev: &[i32], curr: &[i32]) -> Option<Self> {
        if prev.is_empty() || curr.is_empty() {
            return None;
        }
        let prev_set: IdHashSet<i32> = prev.iter().copied().collect();
        let curr_set: IdHashSet<i32> = curr.iter().copied().collect();
        Some(SetDiff {
            package_id: o.package_id,
            lost: prev
                .iter()
                .copied()
                .filter(|id| !curr_set.contains(id))
                .collect(),
            gained: curr
                .iter()
                .copied()
                .zip(o.dependencies.distances())
                .filter(|(id, _)| !prev_set.contains(id))
                .collect(),
        })
    }
}

/// The stored form of an outcome (`ids`: its dependencies' ids, when resolved).
fn stored_deps_of(o: &PackageOutcome, ids: Option<&Vec<i32>>) -> StoredDeps {
    let (true, Some(ids)) = (o.resolved, ids) else {
        return StoredDeps::unresolved(o.srpm.clone());
    };
    let pairs = ids
        .iter()
        .copied()
        .zip(o.dependencies.distances())
        .collect();
    StoredDeps::resolved(pairs, o.srpm.clone(), o.trace.as_ref())
}

/// The outcomes that make a `resolution_change`: Koschei's rule (the flag changed, or
/// still unresolved with other problems); after a reset (`resolved IS NULL`, a forced
/// re-resolution) unless the outcome equals the last recorded one.
async fn history_differs<'a>(
    conn: &mut PgConnection,
    kept: &[&'a PackageOutcome],
    current: &HashMap<i32, Current>,
) -> sqlx::Result<Vec<&'a PackageOutcome>> {
    let ids: Vec<i32> = kept.iter().map(|o| o.package_id).collect();
    let latest: Vec<(i32, bool, Vec<String>)> = sqlx::query_as(
        "SELECT DISTINCT ON (rc.package_id) rc.package_id, rc.resolved,
                ARRAY(SELECT problem FROM resolution_problem WHERE resolution_id = rc.id)
         FROM resolution_change rc WHERE rc.package_id = ANY($1)
         ORDER BY rc.package_id, rc.timestamp DESC, rc.id DESC",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await?;
    let latest: HashMap<i32, (bool, BTreeSet<String>)> = latest
        .into_iter()
        .map(|(id, r, p)| (id, (r, p.into_iter().collect())))
        .collect();
    Ok(kept
        .iter()
        .copied()
        .filter(|o| {
            let problems: BTreeSet<String> = o.problems.iter().cloned().collect();
            let last = latest.get(&o.package_id);
            match current[&o.package_id].resolved {
                Some(prev) => {
                    prev != o.resolved || (!o.resolved && last.map(|l| &l.1) != Some(&problems))
                }
                None => {
                    last.is_none_or(|(r, p)| *r != o.resolved || (!o.resolved && *p != problems))
                }
            }
        })
        .collect())
}

/// Inserts the `resolution_change`s (with their problems). Returns how many.
async fn insert_history(
    conn: &mut PgConnection,
    outcomes: &[&PackageOutcome],
) -> sqlx::Result<usize> {
    if outcomes.is_empty() {
        return Ok(0);
    }
    let pkgs: Vec<i32> = outcomes.iter().map(|o| o.package_id).collect();
    let flags: Vec<bool> = outcomes.iter().map(|o| o.resolved).collect();
    let rc_ids: Vec<(i32, i32)> = sqlx::query_as(
        "INSERT INTO resolution_change (package_id, resolved)
         SELECT * FROM unnest($1::int[], $2::bool[]) RETURNING package_id, id",
    )
    .bind(&pkgs)
    .bind(&flags)
    .fetch_all(&mut *conn)
    .await?;
    let rc_ids: HashMap<i32, i32> = rc_ids.into_iter().collect();
    let (mut res_ids, mut problems) = (Vec::new(), Vec::new());
    for o in outcomes {
        for p in o.problems.iter().collect::<BTreeSet<_>>() {
            res_ids.push(rc_ids[&o.package_id]);
            problems.push(p.clone());
        }
    }
    sqlx::query(
        "INSERT INTO resolution_problem (resolution_id, problem)
         SELECT * FROM unnest($1::int[], $2::text[])",
    )
    .bind(&res_ids)
    .bind(&problems)
    .execute(conn)
    .await?;
    Ok(outcomes.len())
}

/// Queues the state-change messages of the updated packages `ids` (two round trips
/// besides reading the new states, whatever the number of packages).
async fn queue_messages(
    conn: &mut PgConnection,
    config: &Config,
    ids: &[i32],
    before: &HashMap<i32, Current>,
) -> anyhow::Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let after: Vec<(i32, String)> = sqlx::query_as(
        "SELECT id, package_msg_state(p) FROM package p WHERE id = ANY($1) ORDER BY id",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let changes: Vec<(i32, MessageState, MessageState)> = after
        .into_iter()
        .map(|(id, state)| {
            let new: MessageState = state.parse().unwrap_or(MessageState::Ignored);
            (id, before[&id].msg_state, new)
        })
        .collect();
    Ok(outbox::packages_state_changed(conn, config, &changes).await?)
}

/// Unapplied changes as column arrays, a package's changes together (in their order).
#[derive(Default)]
struct UnappliedColumns {
    package_id: Vec<i32>,
    prev: Vec<Option<i32>>,
    curr: Vec<Option<i32>>,
    distance: Vec<Option<i32>>,
}

impl UnappliedColumns {
    /// Inserts them as one `unapplied_changes` row per package.
    async fn insert(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        if self.package_id.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO unapplied_changes (package_id, prev_dep_ids, curr_dep_ids, distances)
             SELECT c.package_id, array_agg(c.prev ORDER BY c.n), array_agg(c.curr ORDER BY c.n),
                    array_agg(c.distance ORDER BY c.n)
             FROM unnest($1::int[], $2::int[], $3::int[], $4::int[])
                  WITH ORDINALITY AS c(package_id, prev, curr, distance, n)
             GROUP BY c.package_id",
        )
        .bind(&self.package_id)
        .bind(&self.prev)
        .bind(&self.curr)
        .bind(&self.distance)
        .execute(conn)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(distance: Option<u8>, removed: bool) -> DependencyChange {
        let n = Nevra::from_evr("x", "1-1", "noarch");
        DependencyChange {
            prev: Some(n.clone()),
            curr: (!removed).then_some(n),
            distance,
        }
    }

    #[test]
    fn priority_is_the_truncated_sum_over_distances() {
        // Koschei's fixture: C upgraded and E added, both at distance 2, package_update 20
        assert_eq!(
            dependency_priority(&[change(Some(2), false), change(Some(2), false)], 20.0),
            20
        );
        // a removal or a far dependency counts as distance 8; int() truncates the sum
        assert_eq!(
            dependency_priority(&[change(None, true), change(Some(1), false)], 20.0),
            22
        );
        assert_eq!(dependency_priority(&[change(Some(3), false)], 20.0), 6);
        assert_eq!(dependency_priority(&[], 20.0), 0);
    }
}
