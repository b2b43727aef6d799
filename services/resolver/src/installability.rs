//! The installability pass (issue 18): once the BuildRequires pass of a collection's new
//! repo is done, every binary package of the repo is installed alone into an empty root
//! (`koschei_depsolve::installability_pass`, on all solver threads). The outcome of each
//! binary is kept in `binary_installability`; `installability_change` gets a row only
//! when something a user would call a change happened ([`Change::of`]); the collection's
//! counts go to `installability_pass`, one row per checked repo.
//!
//! A repo following the one this instance stored last is checked incrementally: results
//! the delta cannot change are carried over through φ (`installability_incremental`,
//! `previous_pass`); after a restart, or when another instance stored the previous repo,
//! every binary is solved.
//!
//! Instances share the work through a session-level advisory lock per collection
//! (`session_lock`) and `collection.installability_repo_id`, set in the transaction that
//! stores the results.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use koschei_depsolve::{
    installability_incremental, installability_pass, InstallSizes, Installability, Nevra,
    PackageIndex, ParallelOptions, SolvFile,
};
use serde::Serialize;
use sqlx::PgPool;

use koschei_core::installability::checked_repo;
use koschei_core::outbox::{self, BinaryInstallability, InstallabilityChange, Installable};
use koschei_core::Config;

use crate::context::{CollectionInfo, Context};
use crate::previous_pass::PreviousPass;
use crate::repo_env::RepoStatus;
use crate::session_lock::with_session_lock;

/// Advisory lock class of the installability pass (with the collection id).
pub const LOCK_INSTALLABILITY: i32 = 3;

/// A size is history when it moved by this many percent since the binary's last history
/// row.
const SIZE_CHANGE_PERCENT: i64 = 1;

/// One binary's outcome in one repo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BinaryOutcome {
    pub name: String,
    pub arch: String,
    /// `[E:]V-R`.
    pub evr: String,
    /// The source package it was built from.
    pub source_name: String,
    /// libsolv's problems; empty when installable.
    pub problems: Vec<String>,
    pub install_count: i32,
    pub download_size: i64,
    pub install_size: i64,
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassSummary {
    pub repo_id: i32,
    pub binaries: usize,
    /// Results carried over from the previous pass without solving.
    pub reused: usize,
    pub uninstallable: usize,
    /// History rows written.
    pub changes: usize,
    pub solve_time: Duration,
    pub write_time: Duration,
}

/// Checks the collection's latest repo (as stored now, not as `c` says) when it has not
/// been checked yet and its BuildRequires pass is done; `None` when there was nothing to
/// do, or another instance is doing it.
pub async fn check_collection(
    ctx: &Context,
    c: &CollectionInfo,
) -> anyhow::Result<Option<PassSummary>> {
    if !ctx.config.dependency.check_installability {
        return Ok(None);
    }
    if due(&ctx.pool, c.id).await?.is_none() {
        return Ok(None);
    }
    let work = check_locked(ctx, c);
    Ok(
        with_session_lock(&ctx.pool, LOCK_INSTALLABILITY, c.id, work)
            .await?
            .flatten(),
    )
}

/// The collection's latest repo when it is not checked yet and no BuildRequires work of
/// the collection is queued (that pass goes first: its results are what packagers wait
/// for).
async fn due(pool: &PgPool, collection_id: i32) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar(
        "SELECT c.latest_repo_id FROM collection c
          WHERE c.id = $1 AND c.installability_repo_id IS DISTINCT FROM c.latest_repo_id
            AND NOT EXISTS (SELECT 1 FROM resolver_work w WHERE w.collection_id = c.id)",
    )
    .bind(collection_id)
    .fetch_optional(pool)
    .await
    .map(Option::flatten)
}

async fn check_locked(ctx: &Context, c: &CollectionInfo) -> anyhow::Result<Option<PassSummary>> {
    let Some(repo_id) = due(&ctx.pool, c.id).await? else {
        return Ok(None); // another instance just did it
    };
    let repo = match ctx.repos.get(ctx.koji_for(c), &c.repo(repo_id)).await? {
        RepoStatus::Ready(repo) => repo,
        RepoStatus::Unavailable => {
            tracing::warn!(
                "{}: repo {repo_id}: repodata unavailable; installability check retried later",
                c.name
            );
            return Ok(None);
        }
        RepoStatus::Dead | RepoStatus::NoBuildGroup => {
            // never checkable: the next repo will be
            tracing::warn!(
                "{}: repo {repo_id} cannot be loaded; installability not checked",
                c.name
            );
            mark_checked(&mut *ctx.pool.acquire().await?, c.id, repo_id).await?;
            return Ok(None);
        }
    };
    let stored = checked_repo(&mut *ctx.pool.acquire().await?, c.id).await?;
    let previous = ctx.installability.get(c.id, stored);
    let started = Instant::now();
    let solv = repo.solv.clone();
    let ignore_weak_deps = ctx.config.dependency.ignore_weak_deps;
    let threads = ctx.config.dependency.resolver_threads;
    let check = tokio::task::spawn_blocking(move || {
        check_repo(&solv, ignore_weak_deps, threads, previous.as_ref())
    })
    .await
    .context("installability check panicked")??;
    let solve_time = started.elapsed();
    let summary = store(
        &ctx.pool,
        &ctx.config,
        c.id,
        repo_id,
        &check.outcomes,
        solve_time,
    )
    .await?
    .map(|s| PassSummary {
        reused: check.reused,
        ..s
    });
    let kept = summary.as_ref().map(|_| PreviousPass {
        repo_id,
        solv: repo.solv.clone(),
        results: Arc::new(check.results),
    });
    ctx.installability.set(c.id, kept);
    if let Some(s) = &summary {
        tracing::info!(
            "{}: installability of repo {repo_id}: {} binaries ({} carried over from repo \
             {}), {} uninstallable, {} changes (check {:.2} s, write {:.2} s)",
            c.name,
            s.binaries,
            s.reused,
            stored.map_or("-".into(), |r| r.to_string()),
            s.uninstallable,
            s.changes,
            s.solve_time.as_secs_f64(),
            s.write_time.as_secs_f64()
        );
    }
    Ok(summary)
}

/// A checked repository: the outcome of each binary, the raw results (kept for the next
/// repo), and how many were carried over from the previous pass.
pub struct RepoCheck {
    pub outcomes: Vec<BinaryOutcome>,
    pub results: Vec<Installability>,
    pub reused: usize,
}

/// Installs every binary package of the repository in `solv` alone, on `threads` threads
/// (0 = one per core). Of several packages of one name and arch only the latest counts,
/// the one installing the name gives. With the previous pass of the collection, results
/// the delta cannot change are carried over (`installability_incremental`); when that
/// fails (its `.solv` file is gone), every binary is solved.
pub fn check_repo(
    solv: &SolvFile,
    ignore_weak_deps: bool,
    threads: usize,
    previous: Option<&PreviousPass>,
) -> anyhow::Result<RepoCheck> {
    let sack = solv.load()?;
    let mut latest: HashMap<(String, String), (PackageIndex, Nevra)> = HashMap::new();
    for package in sack.binary_packages() {
        let nevra = sack.package(package);
        let key = (nevra.name.clone(), nevra.arch.clone());
        match latest.get(&key) {
            Some((_, seen)) if seen.evr_cmp(&nevra).is_ge() => {}
            _ => {
                latest.insert(key, (package, nevra));
            }
        }
    }
    let mut packages: Vec<(PackageIndex, Nevra)> = latest.into_values().collect();
    packages.sort_unstable_by_key(|(package, _)| *package);
    let indices: Vec<PackageIndex> = packages.iter().map(|(package, _)| *package).collect();
    let options = ParallelOptions {
        threads,
        ..ParallelOptions::default()
    };
    let incremental = previous
        .filter(|p| p.solv.ignore_weak_deps == ignore_weak_deps)
        .and_then(|p| {
            installability_incremental(&p.solv, solv, &p.results, &indices, &options)
                .inspect_err(|e| {
                    tracing::warn!("incremental installability pass impossible ({e}): full pass")
                })
                .ok()
        });
    let (results, reused) = match incremental {
        Some((results, counts)) => (results, counts.reused),
        None => (
            installability_pass(solv, &indices, ignore_weak_deps, &options)?.0,
            0,
        ),
    };
    let outcomes = results
        .iter()
        .zip(packages)
        .map(|(r, (package, nevra))| {
            let evr = nevra.evr();
            let InstallSizes {
                packages,
                download,
                installed,
            } = r.sizes;
            BinaryOutcome {
                source_name: sack.source_name(package).to_string(),
                name: nevra.name,
                arch: nevra.arch,
                evr,
                problems: r.problems.clone(),
                install_count: i32::try_from(packages).unwrap_or(i32::MAX),
                download_size: i64::try_from(download).unwrap_or(i64::MAX),
                install_size: i64::try_from(installed).unwrap_or(i64::MAX),
            }
        })
        .collect();
    Ok(RepoCheck {
        outcomes,
        results,
        reused,
    })
}

/// Records `repo_id` as the collection's checked repo.
async fn mark_checked(
    conn: &mut sqlx::PgConnection,
    collection_id: i32,
    repo_id: i32,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE collection SET installability_repo_id = $2 WHERE id = $1")
        .bind(collection_id)
        .bind(repo_id)
        .execute(conn)
        .await
        .map(drop)
}

/// A binary's stored row, as far as deciding what changed needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredOutcome {
    pub name: String,
    pub arch: String,
    pub evr: String,
    pub source_name: String,
    pub problems: Vec<String>,
    pub install_count: i32,
    pub download_size: i64,
    pub install_size: i64,
    pub recorded_download_size: i64,
    pub recorded_install_size: i64,
}

/// Stored rows by (name, arch).
pub type StoredByBinary<'a> = HashMap<(&'a str, &'a str), &'a StoredOutcome>;

/// How a binary's new outcome compares with its stored row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Exactly as stored.
    None,
    /// Sizes moved a little: the row is updated, the history is not.
    Quiet,
    /// New binary, new version, another outcome or problems, another package count, or
    /// a size moved by [`SIZE_CHANGE_PERCENT`] since the last history row: both.
    Recorded,
}

impl Change {
    /// The change from `old` (none: a new binary) to `new`.
    pub fn of(old: Option<&StoredOutcome>, new: &BinaryOutcome) -> Change {
        let Some(old) = old else {
            return Change::Recorded;
        };
        let moved = |recorded: i64, now: i64| {
            (now - recorded).unsigned_abs() * 100
                >= recorded.unsigned_abs().max(1) * SIZE_CHANGE_PERCENT as u64
        };
        if old.evr != new.evr
            || old.problems != new.problems
            || old.install_count != new.install_count
            || moved(old.recorded_download_size, new.download_size)
            || moved(old.recorded_install_size, new.install_size)
        {
            Change::Recorded
        } else if old.download_size != new.download_size || old.install_size != new.install_size {
            Change::Quiet
        } else {
            Change::None
        }
    }
}

/// A row to upsert, as `jsonb_to_recordset` reads it.
#[derive(Serialize)]
struct Upsert<'a> {
    #[serde(flatten)]
    outcome: &'a BinaryOutcome,
    recorded_download_size: i64,
    recorded_install_size: i64,
    recorded: bool,
}

/// Stores a pass's outcomes of `repo_id` in one transaction, with the
/// `installability.change` messages of [`messages`]; `None` when another instance stored
/// this repo meanwhile.
pub async fn store(
    pool: &PgPool,
    config: &Config,
    collection_id: i32,
    repo_id: i32,
    outcomes: &[BinaryOutcome],
    solve_time: Duration,
) -> anyhow::Result<Option<PassSummary>> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let checked: Option<Option<i32>> = sqlx::query_scalar(
        "SELECT installability_repo_id FROM collection WHERE id = $1 FOR UPDATE",
    )
    .bind(collection_id)
    .fetch_optional(&mut *tx)
    .await?;
    match checked {
        None => return Ok(None), // collection deleted meanwhile
        Some(Some(done)) if done == repo_id => return Ok(None),
        Some(_) => {}
    }
    let stored: Vec<StoredOutcome> = sqlx::query_as(
        "SELECT name, arch, evr, source_name, problems, install_count, download_size,
                install_size, recorded_download_size, recorded_install_size
           FROM binary_installability WHERE collection_id = $1",
    )
    .bind(collection_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut old: StoredByBinary = stored
        .iter()
        .map(|s| ((s.name.as_str(), s.arch.as_str()), s))
        .collect();
    let changes = messages(&old, outcomes);
    outbox::installability_changed(&mut tx, config, collection_id, repo_id, &changes).await?;
    let mut upserts = Vec::new();
    for new in outcomes {
        let previous = old.remove(&(new.name.as_str(), new.arch.as_str()));
        let change = Change::of(previous, new);
        let (recorded_download_size, recorded_install_size) = match (change, previous) {
            (Change::None, _) => continue,
            (Change::Quiet, Some(p)) => (p.recorded_download_size, p.recorded_install_size),
            _ => (new.download_size, new.install_size),
        };
        upserts.push(Upsert {
            outcome: new,
            recorded_download_size,
            recorded_install_size,
            recorded: change == Change::Recorded,
        });
    }
    let removed: Vec<&StoredOutcome> = old.into_values().collect();
    sqlx::query(
        "WITH r AS (
             SELECT *, cardinality(problems) = 0 AS installable
               FROM jsonb_to_recordset($3) AS r(
                 name text, arch text, evr text, source_name text, problems text[],
                 install_count integer, download_size bigint, install_size bigint,
                 recorded_download_size bigint, recorded_install_size bigint,
                 recorded boolean)
         ), upserted AS (
             INSERT INTO binary_installability AS b (
                 collection_id, name, arch, evr, source_name, installable, problems,
                 install_count, download_size, install_size, recorded_download_size,
                 recorded_install_size, since_repo_id)
             SELECT $1, name, arch, evr, source_name, installable, problems, install_count,
                    download_size, install_size, recorded_download_size,
                    recorded_install_size, $2
               FROM r
             ON CONFLICT (collection_id, name, arch) DO UPDATE SET
                 evr = excluded.evr, source_name = excluded.source_name,
                 installable = excluded.installable, problems = excluded.problems,
                 install_count = excluded.install_count,
                 download_size = excluded.download_size,
                 install_size = excluded.install_size,
                 recorded_download_size = excluded.recorded_download_size,
                 recorded_install_size = excluded.recorded_install_size,
                 since_repo_id = CASE WHEN b.installable = excluded.installable
                                       AND b.problems = excluded.problems
                                      THEN b.since_repo_id ELSE excluded.since_repo_id END
         )
         INSERT INTO installability_change (
             collection_id, repo_id, name, arch, source_name, evr, installable, problems,
             install_count, download_size, install_size)
         SELECT $1, $2, name, arch, source_name, evr, installable, problems, install_count,
                download_size, install_size
           FROM r WHERE recorded ORDER BY source_name, name, arch",
    )
    .bind(collection_id)
    .bind(repo_id)
    .bind(sqlx::types::Json(&upserts))
    .execute(&mut *tx)
    .await
    .context("storing binary installability")?;
    if !removed.is_empty() {
        let names: Vec<&str> = removed.iter().map(|r| r.name.as_str()).collect();
        let arches: Vec<&str> = removed.iter().map(|r| r.arch.as_str()).collect();
        sqlx::query(
            "WITH gone AS (
                 DELETE FROM binary_installability b
                  USING unnest($3::text[], $4::text[]) AS g(name, arch)
                  WHERE b.collection_id = $1 AND b.name = g.name AND b.arch = g.arch
              RETURNING b.name, b.arch, b.source_name
             )
             INSERT INTO installability_change (collection_id, repo_id, name, arch, source_name)
             SELECT $1, $2, name, arch, source_name FROM gone ORDER BY source_name, name, arch",
        )
        .bind(collection_id)
        .bind(repo_id)
        .bind(&names)
        .bind(&arches)
        .execute(&mut *tx)
        .await
        .context("removing binaries that left the repo")?;
    }
    let uninstallable = outcomes.iter().filter(|o| !o.problems.is_empty()).count();
    let changes = upserts.iter().filter(|u| u.recorded).count() + removed.len();
    let write_time = started.elapsed();
    sqlx::query(
        "INSERT INTO installability_pass (collection_id, repo_id, binaries, uninstallable,
                                          changes, solve_seconds, write_seconds)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (collection_id, repo_id) DO UPDATE SET
             \"time\" = excluded.\"time\", binaries = excluded.binaries,
             uninstallable = excluded.uninstallable, changes = excluded.changes,
             solve_seconds = excluded.solve_seconds, write_seconds = excluded.write_seconds",
    )
    .bind(collection_id)
    .bind(repo_id)
    .bind(outcomes.len() as i32)
    .bind(uninstallable as i32)
    .bind(changes as i32)
    .bind(solve_time.as_secs_f32())
    .bind(write_time.as_secs_f32())
    .execute(&mut *tx)
    .await?;
    mark_checked(&mut tx, collection_id, repo_id).await?;
    tx.commit().await?;
    Ok(Some(PassSummary {
        repo_id,
        binaries: outcomes.len(),
        reused: 0,
        uninstallable,
        changes,
        solve_time,
        write_time: started.elapsed(),
    }))
}

/// The `installability.change` messages of a pass: one per source package with a binary
/// that became installable or uninstallable (a new binary counts when uninstallable),
/// listing those binaries, with the source's state before (its stored binaries) and
/// after (its binaries in this repo). The first pass of a collection (nothing stored)
/// sends nothing: there is no change to report, only a starting point.
pub fn messages(before: &StoredByBinary, outcomes: &[BinaryOutcome]) -> Vec<InstallabilityChange> {
    if before.is_empty() {
        return Vec::new();
    }
    let mut old: BTreeMap<&str, Vec<bool>> = BTreeMap::new();
    for s in before.values() {
        old.entry(&s.source_name)
            .or_default()
            .push(s.problems.is_empty());
    }
    let mut new: BTreeMap<&str, Vec<bool>> = BTreeMap::new();
    let mut flipped: BTreeMap<&str, Vec<BinaryInstallability>> = BTreeMap::new();
    for o in outcomes {
        let installable = o.problems.is_empty();
        new.entry(&o.source_name).or_default().push(installable);
        let was = before
            .get(&(o.name.as_str(), o.arch.as_str()))
            .map(|s| s.problems.is_empty());
        if was.unwrap_or(true) != installable {
            flipped
                .entry(&o.source_name)
                .or_default()
                .push(BinaryInstallability {
                    name: o.name.clone(),
                    arch: o.arch.clone(),
                    evr: o.evr.clone(),
                    installable,
                    problems: o.problems.clone(),
                });
        }
    }
    flipped
        .into_iter()
        .map(|(source, mut binaries)| {
            binaries.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
            InstallabilityChange {
                name: source.to_owned(),
                old: Installable::of_all(old.remove(source).unwrap_or_default()),
                new: Installable::of_all(new.remove(source).unwrap_or_default()),
                binaries,
                fixed_by_rebuild: None,
            }
        })
        .collect()
}
