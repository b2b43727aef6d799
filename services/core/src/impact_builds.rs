//! The scratch builds of impact checks (`impact_build`): what the scheduler submits next,
//! how a finished task is recorded (by the poller and the watcher, as for ordinary
//! builds), and the verdict of each package once its builds are final.
//!
//! A package chosen for building (`impact_check_package.build_planned`) gets a build in
//! the side tag's repo (side `change`) and, when it resolved against the collection's
//! repo, a baseline (side `base`): an existing build of the package on that very repo
//! when there is one, else a build of its own. Verdicts: *regression* (baseline ok, with
//! the change failing), *fixed*, *still-failing*, *passes*; an infrastructure failure is
//! retried with back-off up to [`MAX_ATTEMPTS`] times and then gives
//! *infrastructure-failure*, never a regression. A check whose chosen packages all have
//! a verdict is complete. These builds are never rows of `build`, so they change no
//! package's state and send no package message.

use chrono::NaiveDateTime;
use koschei_koji::model::TaskState;
use sqlx::PgConnection;

use crate::backend::Backend;
use crate::builds::{task_outcome, BackendResult, Outcome, RunningTask};
use crate::config::Config;
use crate::impact;
use crate::model::BuildState;
use crate::tasks::fetch_task_trees;

/// Attempts of one side of one package (the first and two retries).
pub const MAX_ATTEMPTS: i32 = 3;

/// Which repo a build uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The side tag's (base + change).
    Change,
    /// The collection's.
    Base,
}

impl Side {
    /// The name stored in `impact_build.side`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Change => "change",
            Side::Base => "base",
        }
    }
}

/// A build to submit.
#[derive(Debug, Clone)]
pub struct PlannedBuild {
    pub check_id: i32,
    pub package_id: i32,
    pub package: String,
    pub side: Side,
    pub attempt: i32,
    /// Koji target: the side tag (its target has its name) or the collection's target.
    pub target: String,
    /// The repo compared, for `build_from_repo_id`.
    pub repo_id: i32,
    /// Where the package's SRPM is looked up (with inheritance): the side tag, or the
    /// collection's destination tag.
    pub dest_tag: String,
    /// The collection's build tag (its arches decide Koji's load).
    pub build_tag: String,
    pub secondary_mode: bool,
    pub arch_override: Option<String>,
}

/// Impact builds running now.
pub async fn running(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM impact_build WHERE state = 'running'")
        .fetch_one(conn)
        .await
}

/// One chosen package of a building check, with the latest attempt of each side.
#[derive(sqlx::FromRow)]
struct Pending {
    check_id: i32,
    package_id: i32,
    package: String,
    side_tag: String,
    target: String,
    change_repo_id: i32,
    base_repo_id: i32,
    base_resolved: bool,
    dest_tag: String,
    build_tag: String,
    secondary_mode: bool,
    arch_override: Option<String>,
    /// (state, attempt, seconds since it finished) of the latest change build.
    change: Option<String>,
    change_attempt: Option<i32>,
    change_age: Option<f64>,
    base: Option<String>,
    base_attempt: Option<i32>,
    base_age: Option<f64>,
}

/// The next build to submit, oldest check first, nearest packages first: a side without
/// a build, or whose latest attempt failed for infrastructure reasons and waited its
/// back-off. Existing baselines are recorded first.
pub async fn next(conn: &mut PgConnection, config: &Config) -> sqlx::Result<Option<PlannedBuild>> {
    // the common case, at every decision: no check is building
    let building: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM impact_check WHERE state = 'building')")
            .fetch_one(&mut *conn)
            .await?;
    if !building {
        return Ok(None);
    }
    reuse_existing_baselines(conn).await?;
    settle(conn, config).await?;
    let pending: Vec<Pending> = sqlx::query_as(
        "SELECT ip.check_id, ip.package_id, p.name AS package, i.side_tag, c.target,
                i.change_repo_id, i.base_repo_id, ip.base_resolved, c.dest_tag,
                c.build_tag, c.secondary_mode, p.arch_override,
                ch.state AS change, ch.attempt AS change_attempt,
                extract(epoch FROM now() AT TIME ZONE 'UTC' - ch.finished)::float8 AS change_age,
                bs.state AS base, bs.attempt AS base_attempt,
                extract(epoch FROM now() AT TIME ZONE 'UTC' - bs.finished)::float8 AS base_age
         FROM impact_check_package ip
         JOIN impact_check i ON i.id = ip.check_id
         JOIN package p ON p.id = ip.package_id
         JOIN collection c ON c.id = i.collection_id
         LEFT JOIN LATERAL (SELECT state, attempt, finished FROM impact_build b
                            WHERE b.check_id = ip.check_id AND b.package_id = ip.package_id
                              AND b.side = 'change' ORDER BY attempt DESC LIMIT 1) ch ON true
         LEFT JOIN LATERAL (SELECT state, attempt, finished FROM impact_build b
                            WHERE b.check_id = ip.check_id AND b.package_id = ip.package_id
                              AND b.side = 'base' ORDER BY attempt DESC LIMIT 1) bs ON true
         WHERE i.state = 'building' AND ip.build_planned AND ip.build_verdict IS NULL
           AND i.side_tag IS NOT NULL
         ORDER BY i.id, ip.distance NULLS LAST, p.name
         LIMIT 200",
    )
    .fetch_all(conn)
    .await?;
    let priorities = &config.priorities;
    let due = |state: &Option<String>, attempt: Option<i32>, age: Option<f64>| -> Option<i32> {
        match (state.as_deref(), attempt) {
            (None, _) => Some(1),
            (Some("infra-failure"), Some(a)) if a < MAX_ATTEMPTS => {
                let wait = (priorities.infra_retry_base as f64 * 2f64.powi(a - 1))
                    .min(priorities.infra_retry_cap as f64);
                (age.unwrap_or(0.0) >= wait).then_some(a + 1)
            }
            _ => None,
        }
    };
    for p in pending {
        let change = due(&p.change, p.change_attempt, p.change_age).map(|a| (Side::Change, a));
        let base = p
            .base_resolved
            .then(|| due(&p.base, p.base_attempt, p.base_age))
            .flatten()
            .map(|a| (Side::Base, a));
        if let Some((side, attempt)) = change.or(base) {
            // with the change, the side tag's own build of the package when it has one
            let (target, repo_id, dest_tag) = match side {
                Side::Change => (p.side_tag.clone(), p.change_repo_id, p.side_tag),
                Side::Base => (p.target, p.base_repo_id, p.dest_tag),
            };
            return Ok(Some(PlannedBuild {
                check_id: p.check_id,
                package_id: p.package_id,
                package: p.package,
                side,
                attempt,
                target,
                repo_id,
                dest_tag,
                build_tag: p.build_tag,
                secondary_mode: p.secondary_mode,
                arch_override: p.arch_override,
            }));
        }
    }
    Ok(None)
}

/// A package resolvable in the collection's repo whose builds include one on that very
/// repo (scratch or real, finished) needs no baseline build: that one is recorded.
async fn reuse_existing_baselines(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO impact_build (check_id, package_id, side, task_id, build_id, state,
                                   started, finished)
         SELECT ip.check_id, ip.package_id, 'base', b.task_id, b.id,
                CASE WHEN b.state = 3 THEN 'ok' ELSE 'failed' END, b.started, b.finished
         FROM impact_check_package ip
         JOIN impact_check i ON i.id = ip.check_id
         CROSS JOIN LATERAL (SELECT id, task_id, state, started, finished FROM build
                             WHERE package_id = ip.package_id AND repo_id = i.base_repo_id
                               AND state IN (3, 5)
                             ORDER BY started DESC LIMIT 1) b
         WHERE i.state = 'building' AND ip.build_planned AND ip.base_resolved
           AND ip.build_verdict IS NULL
           AND NOT EXISTS (SELECT 1 FROM impact_build x
                           WHERE x.check_id = ip.check_id AND x.package_id = ip.package_id
                             AND x.side = 'base')",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a submitted build (`task_id`), or Koji's refusal to take it (`None`, with
/// the reason: an infrastructure failure, retried like one).
pub async fn record_submitted(
    conn: &mut PgConnection,
    config: &Config,
    build: &PlannedBuild,
    task_id: Option<i64>,
    refusal: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO impact_build (check_id, package_id, side, attempt, task_id, state, note,
                                   finished)
         VALUES ($1, $2, $3, $4, $5, $6, $7,
                 CASE WHEN $6 = 'running' THEN NULL ELSE now() AT TIME ZONE 'UTC' END)",
    )
    .bind(build.check_id)
    .bind(build.package_id)
    .bind(build.side.as_str())
    .bind(build.attempt)
    .bind(task_id)
    .bind(if task_id.is_some() {
        "running"
    } else {
        "infra-failure"
    })
    .bind(refusal)
    .execute(&mut *conn)
    .await?;
    settle(conn, config).await
}

/// `(impact build id, task id)` of the running impact builds.
pub async fn running_tasks(conn: &mut PgConnection) -> sqlx::Result<Vec<(i32, i64)>> {
    sqlx::query_as(
        "SELECT id, task_id FROM impact_build WHERE state = 'running' AND task_id IS NOT NULL
         ORDER BY id",
    )
    .fetch_all(conn)
    .await
}

/// The running impact build of a Koji task, if any.
pub async fn by_task(conn: &mut PgConnection, task_id: i64) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar("SELECT id FROM impact_build WHERE task_id = $1 AND state = 'running'")
        .bind(task_id)
        .fetch_optional(conn)
        .await
}

/// Follows one running impact build to its end: a finished task is classified as an
/// ordinary build's (`classify_finished`: an infrastructure failure is not the
/// package's), a task running past `task_timeout` is canceled.
pub async fn update_task_state(
    backend: &Backend,
    impact_build_id: i32,
    task_state: TaskState,
) -> BackendResult<()> {
    let (pool, config) = (&backend.pool, &backend.config);
    let row: Option<(i64, NaiveDateTime)> = sqlx::query_as(
        "SELECT task_id, started FROM impact_build WHERE id = $1 AND state = 'running'",
    )
    .bind(impact_build_id)
    .fetch_optional(pool)
    .await?;
    let Some((task_id, started)) = row else {
        return Ok(());
    };
    let task = RunningTask {
        task_id,
        started,
        cancel_requested: false,
    };
    // the tree tells a finished task's outcome only
    let tree = match task_state {
        TaskState::Closed | TaskState::Failed => {
            let trees = fetch_task_trees(&backend.koji.primary, &[task_id]).await?;
            trees.into_iter().next().flatten()
        }
        _ => None,
    };
    let (state, note) = match task_outcome(backend, &task, task_state, tree.as_ref()).await? {
        None => return Ok(()),
        Some(Outcome::Finished(BuildState::Complete)) => ("ok", None),
        Some(Outcome::Finished(_)) => ("failed", None),
        Some(Outcome::Infra(_, reason)) => ("infra-failure", Some(reason)),
    };
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE impact_build SET state = $2, note = $3, finished = now() AT TIME ZONE 'UTC'
         WHERE id = $1 AND state = 'running'",
    )
    .bind(impact_build_id)
    .bind(state)
    .bind(&note)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 1 {
        settle(&mut tx, config).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Gives up a running impact build whose task Koji does not know (an infrastructure
/// failure, retried).
pub async fn give_up_unknown_task(
    conn: &mut PgConnection,
    config: &Config,
    impact_build_id: i32,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE impact_build SET state = 'infra-failure', note = 'Koji does not know the task',
             finished = now() AT TIME ZONE 'UTC'
         WHERE id = $1 AND state = 'running'",
    )
    .bind(impact_build_id)
    .execute(&mut *conn)
    .await?;
    settle(conn, config).await
}

/// Gives each chosen package whose builds are final its verdict, and completes the
/// checks left with nothing to build.
pub async fn settle(conn: &mut PgConnection, config: &Config) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "WITH latest AS (
             SELECT DISTINCT ON (check_id, package_id, side) check_id, package_id, side, state,
                    attempt
             FROM impact_build
             WHERE check_id IN (SELECT id FROM impact_check WHERE state = 'building')
             ORDER BY check_id, package_id, side, attempt DESC),
         final AS (
             SELECT check_id, package_id, side,
                    CASE WHEN state = 'infra-failure' AND attempt >= {MAX_ATTEMPTS} THEN 'infra'
                         WHEN state IN ('ok', 'failed') THEN state END AS outcome
             FROM latest),
         verdicts AS (
             SELECT ip.check_id, ip.package_id,
                    CASE WHEN ch.outcome = 'infra' OR bs.outcome = 'infra'
                              THEN 'infrastructure-failure'
                         WHEN ch.outcome = 'failed' AND bs.outcome = 'ok' THEN 'regression'
                         WHEN ch.outcome = 'ok' AND bs.outcome = 'ok' THEN 'passes'
                         WHEN ch.outcome = 'ok' THEN 'fixed'
                         ELSE 'still-failing' END AS verdict
             FROM impact_check_package ip
             JOIN final ch ON ch.check_id = ip.check_id AND ch.package_id = ip.package_id
                          AND ch.side = 'change' AND ch.outcome IS NOT NULL
             LEFT JOIN final bs ON bs.check_id = ip.check_id AND bs.package_id = ip.package_id
                               AND bs.side = 'base'
             WHERE ip.build_planned AND ip.build_verdict IS NULL
               AND (NOT ip.base_resolved OR bs.outcome IS NOT NULL
                    OR ch.outcome = 'infra'))
         UPDATE impact_check_package ip SET build_verdict = v.verdict
         FROM verdicts v WHERE ip.check_id = v.check_id AND ip.package_id = v.package_id"
    ))
    .execute(&mut *conn)
    .await?;
    let done: Vec<(i32, i64, i64)> = sqlx::query_as(
        "UPDATE impact_check i SET state = 'complete', finished = now() AT TIME ZONE 'UTC'
         WHERE state = 'building'
           AND NOT EXISTS (SELECT 1 FROM impact_check_package ip
                           WHERE ip.check_id = i.id AND ip.build_planned
                             AND ip.build_verdict IS NULL)
         RETURNING id,
             (SELECT count(*) FROM impact_check_package ip
              WHERE ip.check_id = i.id AND ip.build_verdict = 'regression'),
             (SELECT count(*) FROM impact_check_package ip
              WHERE ip.check_id = i.id AND ip.build_planned)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (id, regressions, built) in done {
        let note = format!("{built} packages built, {regressions} regressions");
        impact::enter_state(conn, config, id, impact::COMPLETE, Some(&note)).await?;
    }
    Ok(())
}
