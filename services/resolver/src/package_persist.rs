//! Persisting the repo resolver's results for a chunk of packages in one transaction
//! (spec §1.4.1 `persist_resolution_output`), with set-based SQL (arrays through
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
//! 4. the packages' `unapplied_change` rows are replaced wholesale;
//! 5. a state-change message goes to the outbox, in the same transaction, for every
//!    package whose message state changed.

use std::collections::{BTreeSet, HashMap};

use koschei_core::model::MessageState;
use koschei_core::{outbox, Config};
use koschei_depsolve::{compute_changes, Dependency, DependencyChange, Nevra};
use sqlx::{PgConnection, PgPool};

use crate::comparison;
use crate::dependency_cache::DependencyCache;
use crate::dependency_keys;

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
    pub dependencies: Vec<Dependency>,
}

/// What a persisted chunk did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PersistStats {
    /// Results written.
    pub persisted: usize,
    /// Results dropped because the package changed meanwhile (or vanished).
    pub discarded: usize,
    /// New `resolution_change` rows.
    pub resolution_changes: usize,
    /// State-change messages queued.
    pub messages: usize,
    /// `unapplied_change` rows written.
    pub changes: usize,
}

impl std::ops::AddAssign for PersistStats {
    fn add_assign(&mut self, o: Self) {
        self.persisted += o.persisted;
        self.discarded += o.discarded;
        self.resolution_changes += o.resolution_changes;
        self.messages += o.messages;
        self.changes += o.changes;
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
/// resolved dependency sets are also kept as the packages' sets in that repo
/// (`resolver_package_deps`, see [`store_package_deps`]).
pub async fn persist_chunk(
    pool: &PgPool,
    config: &Config,
    cache: &DependencyCache,
    outcomes: &[PackageOutcome],
    claim: Option<WorkClaim<'_>>,
    store_for_repo: Option<i32>,
) -> anyhow::Result<PersistStats> {
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
    let rows: Vec<(i32, Option<bool>, Option<i32>, String)> = sqlx::query_as(
        "SELECT id, resolved, last_build_id, package_msg_state(p) FROM package p
         WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let current: HashMap<i32, (Option<bool>, Option<i32>, MessageState)> = rows
        .into_iter()
        .map(|(id, r, lb, s)| (id, (r, lb, s.parse().unwrap_or(MessageState::Ignored))))
        .collect();
    let kept: Vec<&PackageOutcome> = outcomes
        .iter()
        .filter(|o| {
            current
                .get(&o.package_id)
                .is_some_and(|c| c.1 == o.last_build_id)
        })
        .collect();
    let mut stats = PersistStats {
        discarded: outcomes.len() - kept.len(),
        persisted: kept.len(),
        ..PersistStats::default()
    };
    if kept.is_empty() {
        tx.commit().await?;
        return Ok(stats);
    }
    let kept_ids: Vec<i32> = kept.iter().map(|o| o.package_id).collect();

    // dependency changes against the comparison builds
    let resolved_ids: Vec<i32> = kept
        .iter()
        .filter(|o| o.resolved)
        .map(|o| o.package_id)
        .collect();
    let prev_ids = comparison::package_comparison_deps(&mut tx, &resolved_ids).await?;
    let all_prev: Vec<i32> = prev_ids
        .values()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let prev_nevras = cache.get_by_ids(&mut tx, &all_prev).await?;
    let by_id: HashMap<i32, &koschei_depsolve::Nevra> =
        all_prev.iter().copied().zip(prev_nevras.iter()).collect();
    let mut changes_of: Vec<(i32, Vec<DependencyChange>)> = Vec::new();
    for o in kept.iter().filter(|o| o.resolved) {
        let Some(prev) = prev_ids.get(&o.package_id) else {
            continue;
        };
        let prev: Vec<Dependency> = prev
            .iter()
            .map(|id| Dependency {
                nevra: by_id[id].clone(),
                distance: None,
            })
            .collect();
        let changes = compute_changes(&prev, &o.dependencies);
        if !changes.is_empty() {
            changes_of.push((o.package_id, changes));
        }
    }
    // Dependency ids: of the changed packages, or of every current dependency when the
    // sets are stored. Rows of the flyweight table are committed at once (outside this
    // transaction), so the cache never holds ids of rows a rollback removed.
    let mut id_of: HashMap<&Nevra, i32> =
        prev_nevras.iter().zip(all_prev.iter().copied()).collect();
    let wanted: Vec<&Nevra> = if store_for_repo.is_some() {
        kept.iter()
            .filter(|o| o.resolved)
            .flat_map(|o| o.dependencies.iter().map(|d| &d.nevra))
            .collect()
    } else {
        changes_of
            .iter()
            .flat_map(|(_, cs)| cs.iter().filter_map(|c| c.curr.as_ref()))
            .collect()
    };
    let wanted_ids = {
        let mut conn = pool.acquire().await?;
        cache.get_or_create(&mut conn, &wanted).await?
    };
    id_of.extend(wanted.iter().copied().zip(wanted_ids));

    // package updates
    let package_update = config.priorities.package_update;
    let mut priority: HashMap<i32, i32> = HashMap::new();
    let mut uc = UnappliedColumns::default();
    for (pkg, changes) in &changes_of {
        priority.insert(*pkg, dependency_priority(changes, package_update));
        for c in changes {
            uc.package_id.push(*pkg);
            uc.prev.push(c.prev.as_ref().map(|n| id_of[n]));
            uc.curr.push(c.curr.as_ref().map(|n| id_of[n]));
            uc.distance.push(c.distance.map(i32::from));
        }
    }
    if let Some(repo_id) = store_for_repo {
        store_package_deps(&mut tx, repo_id, &kept, &id_of).await?;
    }
    let resolved_flags: Vec<bool> = kept.iter().map(|o| o.resolved).collect();
    let priorities: Vec<i32> = kept
        .iter()
        .map(|o| priority.get(&o.package_id).copied().unwrap_or(0))
        .collect();
    sqlx::query(
        "UPDATE package SET resolved = u.resolved, dependency_priority = u.priority
         FROM unnest($1::int[], $2::bool[], $3::int[]) AS u(id, resolved, priority)
         WHERE package.id = u.id",
    )
    .bind(&kept_ids)
    .bind(&resolved_flags)
    .bind(&priorities)
    .execute(&mut *tx)
    .await?;

    // resolution history
    let latest: Vec<(i32, bool, Vec<String>)> = sqlx::query_as(
        "SELECT DISTINCT ON (rc.package_id) rc.package_id, rc.resolved,
                ARRAY(SELECT problem FROM resolution_problem WHERE resolution_id = rc.id)
         FROM resolution_change rc WHERE rc.package_id = ANY($1)
         ORDER BY rc.package_id, rc.timestamp DESC, rc.id DESC",
    )
    .bind(&kept_ids)
    .fetch_all(&mut *tx)
    .await?;
    let latest: HashMap<i32, (bool, BTreeSet<String>)> = latest
        .into_iter()
        .map(|(id, r, p)| (id, (r, p.into_iter().collect())))
        .collect();
    let mut new_rc: Vec<&PackageOutcome> = Vec::new();
    for o in &kept {
        let problems: BTreeSet<String> = o.problems.iter().cloned().collect();
        let last = latest.get(&o.package_id);
        let differs = match current[&o.package_id].0 {
            // Koschei's rule: the flag changed, or still unresolved with other problems
            Some(prev) => {
                prev != o.resolved || (!o.resolved && last.map(|l| &l.1) != Some(&problems))
            }
            // not resolved yet or reset (forced re-resolution): recorded unless the
            // outcome equals the last recorded one, so a re-check adds no noise
            None => last.is_none_or(|(r, p)| *r != o.resolved || (!o.resolved && *p != problems)),
        };
        if differs {
            new_rc.push(o);
        }
    }
    if !new_rc.is_empty() {
        let pkgs: Vec<i32> = new_rc.iter().map(|o| o.package_id).collect();
        let flags: Vec<bool> = new_rc.iter().map(|o| o.resolved).collect();
        let rc_ids: Vec<(i32, i32)> = sqlx::query_as(
            "INSERT INTO resolution_change (package_id, resolved)
             SELECT * FROM unnest($1::int[], $2::bool[]) RETURNING package_id, id",
        )
        .bind(&pkgs)
        .bind(&flags)
        .fetch_all(&mut *tx)
        .await?;
        let rc_ids: HashMap<i32, i32> = rc_ids.into_iter().collect();
        let (mut res_ids, mut problems) = (Vec::new(), Vec::new());
        for o in &new_rc {
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
        .execute(&mut *tx)
        .await?;
        stats.resolution_changes = new_rc.len();
    }

    // unapplied changes, replaced wholesale
    sqlx::query("DELETE FROM unapplied_change WHERE package_id = ANY($1)")
        .bind(&kept_ids)
        .execute(&mut *tx)
        .await?;
    stats.changes = uc.package_id.len();
    uc.insert(&mut tx).await?;

    // state-change messages
    stats.messages = queue_messages(&mut tx, config, &kept_ids, &current).await?;
    tx.commit().await?;
    Ok(stats)
}

async fn queue_messages(
    conn: &mut PgConnection,
    config: &Config,
    ids: &[i32],
    before: &HashMap<i32, (Option<bool>, Option<i32>, MessageState)>,
) -> anyhow::Result<usize> {
    if !config.fedmsg_publisher.enabled {
        return Ok(0);
    }
    let after: Vec<(i32, String)> = sqlx::query_as(
        "SELECT id, package_msg_state(p) FROM package p WHERE id = ANY($1) ORDER BY id",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut queued = 0;
    for (id, state) in after {
        let new: MessageState = state.parse().unwrap_or(MessageState::Ignored);
        if outbox::package_state_changed(conn, config, id, before[&id].2, new).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// `unapplied_change` rows as column arrays.
#[derive(Default)]
struct UnappliedColumns {
    package_id: Vec<i32>,
    prev: Vec<Option<i32>>,
    curr: Vec<Option<i32>>,
    distance: Vec<Option<i32>>,
}

impl UnappliedColumns {
    async fn insert(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        if self.package_id.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO unapplied_change (package_id, prev_dep_id, curr_dep_id, distance)
             SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::int[])",
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

/// Stores the dependency sets of the resolved packages as their sets in `repo_id`
/// (history that survives Koji, K#168/K#338: the build resolver falls back to them when
/// Koji deleted a build's repo) and drops the packages' sets nothing refers to any more:
/// kept are the newest repo, the one before it and repos of builds not yet resolved.
async fn store_package_deps(
    conn: &mut PgConnection,
    repo_id: i32,
    kept: &[&PackageOutcome],
    id_of: &HashMap<&Nevra, i32>,
) -> anyhow::Result<()> {
    let (mut pkgs, mut keys, mut dists) = (Vec::new(), Vec::new(), Vec::new());
    for o in kept.iter().filter(|o| o.resolved) {
        let mut pairs: Vec<(i32, u8)> = o
            .dependencies
            .iter()
            .map(|d| (id_of[&d.nevra], d.distance.unwrap_or(0)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        let ids: Vec<i32> = pairs.iter().map(|p| p.0).collect();
        pkgs.push(o.package_id);
        keys.push(dependency_keys::encode(&ids));
        dists.push(pairs.iter().map(|p| p.1).collect::<Vec<u8>>());
    }
    sqlx::query(
        "INSERT INTO resolver_package_deps (package_id, repo_id, dependency_keys, distances)
         SELECT p, $2, k, d FROM unnest($1::int[], $3::bytea[], $4::bytea[]) AS u(p, k, d)
         ON CONFLICT (package_id, repo_id)
         DO UPDATE SET dependency_keys = EXCLUDED.dependency_keys, distances = EXCLUDED.distances",
    )
    .bind(&pkgs)
    .bind(repo_id)
    .bind(&keys)
    .bind(&dists)
    .execute(&mut *conn)
    .await?;
    let ids: Vec<i32> = kept.iter().map(|o| o.package_id).collect();
    sqlx::query(
        "DELETE FROM resolver_package_deps r
         WHERE r.package_id = ANY($1) AND r.repo_id < $2
           AND r.repo_id < (SELECT max(o.repo_id) FROM resolver_package_deps o
                            WHERE o.package_id = r.package_id AND o.repo_id < $2)
           AND NOT EXISTS (SELECT 1 FROM build b WHERE b.package_id = r.package_id
                           AND b.repo_id = r.repo_id AND b.deps_resolved IS NULL)",
    )
    .bind(&ids)
    .bind(repo_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The dependency set a package resolved to in a repo, when it was stored.
pub async fn package_deps_in_repo(
    conn: &mut PgConnection,
    cache: &DependencyCache,
    package_id: i32,
    repo_id: i32,
) -> anyhow::Result<Option<Vec<Dependency>>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT dependency_keys, distances FROM resolver_package_deps
         WHERE package_id = $1 AND repo_id = $2",
    )
    .bind(package_id)
    .bind(repo_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((keys, distances)) = row else {
        return Ok(None);
    };
    let ids = dependency_keys::decode(&keys)?;
    let nevras = cache.get_by_ids(conn, &ids).await?;
    Ok(Some(
        nevras
            .into_iter()
            .enumerate()
            .map(|(i, nevra)| Dependency {
                nevra,
                distance: distances.get(i).copied().filter(|&d| d > 0),
            })
            .collect(),
    ))
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
