//! The build lifecycle shared by the scheduler, poller and watcher (the
//! original's `koschei/backend/__init__.py`): submitting scratch builds,
//! following them to their end, and registering real builds.
//!
//! Differences from the original: canceled, timed-out and infrastructure
//! failed builds are kept as history rows with a state of their own instead
//! of being deleted; they never change the package's state nor send a
//! message, and the package is retried with exponential back-off.

use chrono::{Duration, NaiveDateTime, Utc};
use koschei_koji::client::calls::{BuildOpts, ListTaggedOpts};
use koschei_koji::error::KojiError;
use koschei_koji::model::{BuildInfo, RpmInfo, TaskState};
use koschei_koji::xmlrpc::FaultKind;
use koschei_koji::{KojiClient, KojiResult};
use serde_json::json;
use sqlx::{PgConnection, PgPool, QueryBuilder};

use crate::backend::Backend;
use crate::config::{Config, PriorityConfig};
use crate::koji_sessions::KojiSessions;
use crate::model::{BuildState, MessageState};
use crate::outbox;
use crate::tasks::{fetch_task_trees, secondary_repo_id, store_arch_tasks, TaskTree};

/// Errors of backend operations.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("Koji: {0}")]
    Koji(#[from] KojiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A number from Koji that the database's integer column cannot hold.
    #[error("{what} {value} from Koji does not fit the database's integer column")]
    OutOfRange { what: &'static str, value: i64 },
}

/// A Koji number (task id, epoch) as the database's `integer`, never truncated.
pub fn db_int(what: &'static str, value: i64) -> BackendResult<i32> {
    i32::try_from(value).map_err(|_| BackendError::OutOfRange { what, value })
}

pub type BackendResult<T> = Result<T, BackendError>;

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// How a finished Koji task is recorded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Complete or failed: a verdict about the package.
    Finished(BuildState),
    /// Canceled, timed out or infrastructure failure: history only.
    Infra(BuildState, String),
}

/// Whether a fault from `getTaskResult` means Koji itself failed rather
/// than the package (Koschei's rule: LockError and faults outside Koji's
/// GenericError family are Koji faults).
pub fn is_koji_fault(kind: FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::LockError | FaultKind::Other | FaultKind::ServerOffline | FaultKind::AuthError
    )
}

/// A build's Koji task in state RUNNING (or queued) when last seen.
pub(crate) struct RunningTask {
    pub task_id: i64,
    pub started: NaiveDateTime,
    /// A user asked for the build to be canceled.
    pub cancel_requested: bool,
}

/// How a build's task ended now that it is in `task_state`, or `None` while it runs on:
/// canceled in Koji, finished ([`classify_finished`], with the task's `tree`), or
/// canceled here after running longer than `task_timeout` or on request.
pub(crate) async fn task_outcome(
    backend: &Backend,
    task: &RunningTask,
    task_state: TaskState,
    tree: Option<&TaskTree>,
) -> BackendResult<Option<Outcome>> {
    let (sessions, config) = (&backend.koji, &backend.config);
    let task_id = task.task_id;
    let (state, reason) = match task_state {
        TaskState::Canceled => {
            return Ok(Some(Outcome::Infra(
                BuildState::Canceled,
                "canceled in Koji".into(),
            )))
        }
        TaskState::Closed | TaskState::Failed => {
            return classify_finished(sessions, task_id, task_state, tree)
                .await
                .map(Some)
        }
        _ if task.started + Duration::seconds(config.koji_config.task_timeout as i64) < now() => (
            BuildState::TimedOut,
            format!(
                "canceled after running {} hours",
                config.koji_config.task_timeout / 3600
            ),
        ),
        _ if task.cancel_requested => (BuildState::Canceled, "canceled on request".to_string()),
        _ => return Ok(None),
    };
    if let Err(e) = sessions.primary.cancel_task(task_id).await {
        // Koji refuses to cancel a task that already ended.
        if e.fault().is_none() {
            return Err(e.into());
        }
        tracing::warn!(task_id, "cancelTask: {e}");
    }
    Ok(Some(Outcome::Infra(state, reason)))
}

/// Classifies a finished (CLOSED/FAILED) task.
pub(crate) async fn classify_finished(
    sessions: &KojiSessions,
    task_id: i64,
    state: TaskState,
    tree: Option<&TaskTree>,
) -> BackendResult<Outcome> {
    let fault = match sessions.primary.get_task_result(task_id).await {
        Ok(_) => None,
        Err(e) => match e.fault() {
            Some(f) if is_koji_fault(f.kind) => Some(format!("Koji fault: {}", f.message)),
            Some(_) => None,
            None => return Err(e.into()),
        },
    };
    if let Some(reason) = fault {
        return Ok(Outcome::Infra(BuildState::InfraFailure, reason));
    }
    let Some(tree) = tree else {
        return Ok(Outcome::Infra(
            BuildState::InfraFailure,
            "Koji returned no information about the task".into(),
        ));
    };
    if state == TaskState::Failed && tree.failed_before_build() {
        return Ok(Outcome::Infra(
            BuildState::InfraFailure,
            "SRPM rebuild failed before the build started".into(),
        ));
    }
    if tree.repo_id.is_none() {
        return Ok(Outcome::Infra(
            BuildState::InfraFailure,
            "Koji reported no repo id for the build".into(),
        ));
    }
    Ok(Outcome::Finished(if state == TaskState::Closed {
        BuildState::Complete
    } else {
        BuildState::Failed
    }))
}

#[derive(sqlx::FromRow)]
struct RunningBuild {
    id: i32,
    package_id: i32,
    task_id: i32,
    state: BuildState,
    started: NaiveDateTime,
    cancel_requested: bool,
    repo_id: Option<i32>,
    real: bool,
    secondary_mode: bool,
}

async fn load_build(
    conn: &mut PgConnection,
    build_id: i32,
    lock: bool,
) -> sqlx::Result<Option<RunningBuild>> {
    let mut query = QueryBuilder::new(
        "SELECT b.id, b.package_id, b.task_id, b.state, b.started, b.cancel_requested, b.repo_id, b.real,
                c.secondary_mode
         FROM build b JOIN package p ON p.id = b.package_id JOIN collection c ON c.id = p.collection_id
         WHERE b.id = ",
    );
    query.push_bind(build_id);
    if lock {
        query.push(" FOR UPDATE OF b");
    }
    query.build_query_as().fetch_optional(conn).await
}

/// Brings a Koschei build up to date with the state of its Koji task
/// (`update_build_state`). Running builds get their subtasks
/// and repo id synced; builds running longer than `task_timeout` or with a
/// cancellation request are canceled in Koji. Safe to call concurrently and
/// repeatedly: a build already past `running` is left alone.
pub async fn update_build_state(
    backend: &Backend,
    build_id: i32,
    task_state: TaskState,
) -> BackendResult<()> {
    let Backend {
        pool,
        koji: sessions,
        config,
    } = backend;
    let Some(build) = load_build(&mut *pool.acquire().await?, build_id, false).await? else {
        return Ok(());
    };
    if build.state != BuildState::Running {
        return Ok(());
    }
    let task_id = i64::from(build.task_id);
    let trees = fetch_task_trees(&sessions.primary, &[task_id]).await?;
    let tree = trees.into_iter().next().flatten();

    let task = RunningTask {
        task_id,
        started: build.started,
        cancel_requested: build.cancel_requested,
    };
    let Some(outcome) = task_outcome(backend, &task, task_state, tree.as_ref()).await? else {
        sync_running(pool, &build, tree.as_ref()).await?;
        return Ok(());
    };

    let mut tx = pool.begin().await?;
    // Lock order everywhere: build, then package.
    let Some(locked) = load_build(&mut tx, build_id, true).await? else {
        return Ok(());
    };
    if locked.state != BuildState::Running {
        return Ok(());
    }
    let repo_id = match &tree {
        Some(t) => resolve_repo_id(&mut tx, &locked, t.repo_id).await?,
        None => locked.repo_id,
    };
    if let Some(t) = &tree {
        store_arch_tasks(&mut tx, build_id, &t.arch_tasks).await?;
    }
    let finished = tree.as_ref().and_then(|t| t.finished).unwrap_or_else(now);
    match outcome {
        Outcome::Infra(state, reason) => {
            tracing::info!(build_id, task_id, %state, "{reason}");
            end_as_history(&mut tx, config, &locked, state, finished, &reason, repo_id).await?;
        }
        Outcome::Finished(state) => {
            sqlx::query("SELECT 1 FROM package WHERE id = $1 FOR UPDATE")
                .bind(locked.package_id)
                .execute(&mut *tx)
                .await?;
            let before = outbox::package_msg_state(&mut tx, locked.package_id).await?;
            clear_priority_data(&mut tx, &[locked.package_id]).await?;
            sqlx::query("UPDATE build SET state = $2, finished = $3, repo_id = $4 WHERE id = $1")
                .bind(build_id)
                .bind(state)
                .bind(finished)
                .bind(repo_id)
                .execute(&mut *tx)
                .await?;
            if state == BuildState::Failed {
                apply_failed_build_priority(&mut tx, &config.priorities, build_id).await?;
            }
            emit_state_change(&mut tx, config, locked.package_id, before).await?;
            tracing::info!(build_id, task_id, %state, "build finished");
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The repo id to store: Koji's (translated for secondary-mode scratch
/// builds), unless the build already has one.
async fn resolve_repo_id(
    conn: &mut PgConnection,
    build: &RunningBuild,
    koji: Option<i32>,
) -> sqlx::Result<Option<i32>> {
    if build.repo_id.is_some() {
        return Ok(build.repo_id);
    }
    match koji {
        Some(id) if build.secondary_mode && !build.real => secondary_repo_id(conn, id).await,
        other => Ok(other),
    }
}

/// Stores subtasks and the repo id of a still running build, so the build
/// resolver can start early.
async fn sync_running(
    pool: &PgPool,
    build: &RunningBuild,
    tree: Option<&TaskTree>,
) -> BackendResult<()> {
    let Some(tree) = tree else { return Ok(()) };
    let mut tx = pool.begin().await?;
    let Some(locked) = load_build(&mut tx, build.id, true).await? else {
        return Ok(());
    };
    if locked.state != BuildState::Running {
        return Ok(());
    }
    store_arch_tasks(&mut tx, build.id, &tree.arch_tasks).await?;
    let repo_id = resolve_repo_id(&mut tx, &locked, tree.repo_id).await?;
    sqlx::query("UPDATE build SET repo_id = $2 WHERE id = $1 AND repo_id IS NULL")
        .bind(build.id)
        .bind(repo_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends a running build with a state that is history only (canceled, timed out,
/// infrastructure failure): no verdict about the package, which is retried with
/// back-off.
async fn end_as_history(
    conn: &mut PgConnection,
    config: &Config,
    build: &RunningBuild,
    state: BuildState,
    finished: NaiveDateTime,
    reason: &str,
    repo_id: Option<i32>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE build SET state = $2, finished = $3, failure_reason = $4,
                          repo_id = COALESCE(repo_id, $5)
         WHERE id = $1",
    )
    .bind(build.id)
    .bind(state)
    .bind(finished)
    .bind(reason)
    .bind(repo_id)
    .execute(&mut *conn)
    .await?;
    schedule_retry(conn, &config.priorities, build.package_id).await
}

/// How long a running build's task may be unknown to Koji before the build is
/// given up (a hub that lost its tasks, e.g. a reset koji-sim; a real hub knows a task
/// as soon as `build` returns).
pub const UNKNOWN_TASK_GRACE_MINUTES: i64 = 10;

/// Gives up a running build whose task Koji does not know, once it was submitted
/// more than [`UNKNOWN_TASK_GRACE_MINUTES`] ago: it ends as an infrastructure failure
/// (history only, the package is retried). Returns whether it did.
pub async fn give_up_unknown_task(
    pool: &PgPool,
    config: &Config,
    build_id: i32,
) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(build) = load_build(&mut tx, build_id, true).await? else {
        return Ok(false);
    };
    let grace = Duration::minutes(UNKNOWN_TASK_GRACE_MINUTES);
    if build.state != BuildState::Running || build.started + grace > now() {
        return Ok(false);
    }
    let reason = format!("Koji does not know task {}", build.task_id);
    tracing::warn!(
        build_id,
        task_id = build.task_id,
        "{reason}; giving the build up"
    );
    let state = BuildState::InfraFailure;
    end_as_history(&mut tx, config, &build, state, now(), &reason, None).await?;
    tx.commit().await?;
    Ok(true)
}

/// Counts one more consecutive infrastructure failure and sets the time
/// before which the package is not scheduled again: base · 2^(n−1), capped.
pub async fn schedule_retry(
    conn: &mut PgConnection,
    priorities: &PriorityConfig,
    package_id: i32,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE package SET infra_failures = infra_failures + 1,
             retry_after = (now() AT TIME ZONE 'UTC')
                 + make_interval(secs => least($2::float8 * power(2, least(infra_failures, 30)), $3::float8))
         WHERE id = $1",
    )
    .bind(package_id)
    .bind(priorities.infra_retry_base as f64)
    .bind(priorities.infra_retry_cap as f64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Resets what a finished build answers: manual, dependency and build
/// priority, pending dependency changes, skip reason and retry back-off.
async fn clear_priority_data(conn: &mut PgConnection, package_ids: &[i32]) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE package SET manual_priority = 0, dependency_priority = 0, build_priority = 0,
                            scheduler_skip_reason = NULL, infra_failures = 0, retry_after = NULL
         WHERE id = ANY($1)",
    )
    .bind(package_ids)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM unapplied_changes WHERE package_id = ANY($1)")
        .bind(package_ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// A package that starts failing gets `failed_build_priority`: when the
/// previous finished build *of the same package* did not fail (the original
/// looked at any package's previous build).
async fn apply_failed_build_priority(
    conn: &mut PgConnection,
    priorities: &PriorityConfig,
    build_id: i32,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE package p SET build_priority = $2
         FROM build b
         WHERE b.id = $1 AND p.id = b.package_id
           AND (SELECT prev.state FROM build prev
                WHERE prev.package_id = b.package_id AND prev.id <> b.id AND prev.state = ANY($3)
                  AND prev.started < b.started
                ORDER BY prev.started DESC LIMIT 1) IS DISTINCT FROM $4",
    )
    .bind(build_id)
    .bind(priorities.failed_build_priority)
    .bind(BuildState::FINISHED)
    .bind(BuildState::Failed)
    .execute(conn)
    .await?;
    Ok(())
}

/// Result of [`submit_build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// The scratch build was submitted and recorded.
    Submitted { build_id: i32, task_id: i64 },
    /// Koji has no SRPM for the package's latest tagged build.
    NoSrpm,
}

/// What [`submit_build`] needs to know about the package.
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    pub package_id: i32,
    pub name: String,
    pub dest_tag: String,
    pub target: String,
    pub secondary_mode: bool,
    pub latest_repo_id: i32,
    /// Space-separated arch override passed to Koji (`None` for all arches).
    pub arch_override: Option<String>,
    /// Why the build is submitted (priority components), stored with it.
    pub reason: serde_json::Value,
}

/// Submits a scratch build of the package's latest tagged SRPM and records
/// it as running (`submit_build`). The caller's transaction `conn` gets the
/// new row; Koji is called before it is written.
pub async fn submit_build(
    conn: &mut PgConnection,
    sessions: &KojiSessions,
    config: &Config,
    req: &SubmitRequest,
) -> BackendResult<Submission> {
    let build = ScratchBuild {
        name: &req.name,
        dest_tag: &req.dest_tag,
        target: &req.target,
        repo_id: req.latest_repo_id,
        secondary_mode: req.secondary_mode,
        arch_override: req.arch_override.as_deref(),
    };
    let Some((srpm, task_id)) = scratch_build(sessions, config, &build).await? else {
        return Ok(Submission::NoSrpm);
    };
    let from_repo = config.koji_config.build_from_repo_id;
    let build_id: i32 = sqlx::query_scalar(
        "INSERT INTO build (package_id, state, task_id, started, epoch, version, release, repo_id, submit_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(req.package_id)
    .bind(BuildState::Running)
    .bind(db_int("task id", task_id)?)
    .bind(now())
    .bind(srpm.epoch.map(|e| db_int("epoch", e)).transpose()?)
    .bind(&srpm.version)
    .bind(&srpm.release)
    .bind(from_repo.then_some(req.latest_repo_id))
    .bind(&req.reason)
    .fetch_one(&mut *conn)
    .await?;
    tracing::info!(package = %req.name, task_id, build_id, "submitted scratch build");
    Ok(Submission::Submitted { build_id, task_id })
}

/// A scratch build to ask Koji for.
#[derive(Debug, Clone)]
pub struct ScratchBuild<'a> {
    /// Package name.
    pub name: &'a str,
    /// The tag its latest SRPM is taken from (with inheritance).
    pub dest_tag: &'a str,
    /// The build target, unless `koji_config.build_from_repo_id`.
    pub target: &'a str,
    /// The repo to build from with `koji_config.build_from_repo_id`.
    pub repo_id: i32,
    /// Whether the SRPM comes from the secondary Koji.
    pub secondary_mode: bool,
    /// Space-separated arch override (`None` for all arches).
    pub arch_override: Option<&'a str>,
}

/// Asks Koji for a scratch build of the package's latest tagged SRPM with the configured
/// options and priority; the SRPM and the task id, or `None` when no SRPM is tagged.
pub async fn scratch_build(
    sessions: &KojiSessions,
    config: &Config,
    build: &ScratchBuild<'_>,
) -> KojiResult<Option<(RpmInfo, i64)>> {
    let data = sessions.for_collection(build.secondary_mode);
    let Some((srpm, url)) = latest_srpm(data, config, build.dest_tag, build.name).await? else {
        return Ok(None);
    };
    let koji = &config.koji_config;
    let from_repo = koji.build_from_repo_id;
    let opts = BuildOpts {
        scratch: true,
        arch_override: build.arch_override.map(str::to_string),
        repo_id: from_repo.then_some(i64::from(build.repo_id)),
        extra: build_opts_struct(&koji.build_opts),
    };
    let target = (!from_repo).then_some(build.target);
    let task_id = sessions
        .primary
        .build(&url, target, &opts, Some(i64::from(koji.task_priority)))
        .await?;
    tracing::debug!(package = build.name, task_id, "scratch build of {url}");
    Ok(Some((srpm, task_id)))
}

/// The SRPM of a package's latest build tagged into `dest_tag` (with inheritance) and
/// the URL Koji builds it from; `None` when there is none.
async fn latest_srpm(
    data: &KojiClient,
    config: &Config,
    dest_tag: &str,
    name: &str,
) -> KojiResult<Option<(RpmInfo, String)>> {
    let opts = ListTaggedOpts {
        latest: true,
        inherit: true,
        package: Some(name.to_string()),
        ..ListTaggedOpts::default()
    };
    let Some(tagged) = data.list_tagged(dest_tag, &opts).await?.into_iter().next() else {
        return Ok(None);
    };
    let Some(srpm) = data
        .list_rpms(tagged.id, Some("src"))
        .await?
        .into_iter()
        .find(|r| r.arch == "src")
    else {
        return Ok(None);
    };
    let url = format!(
        "{}/packages/{n}/{v}/{r}/src/{n}-{v}-{r}.src.rpm",
        config.koji_config.srpm_relative_path_root,
        n = srpm.name,
        v = srpm.version,
        r = srpm.release
    );
    Ok(Some((srpm, url)))
}

/// `koji_config.build_opts` as an XML-RPC struct.
fn build_opts_struct(opts: &toml::Table) -> koschei_koji::xmlrpc::Struct {
    opts.iter()
        .filter_map(|(k, v)| {
            let json = serde_json::to_value(v).ok()?;
            Some((k.clone(), koschei_koji::xmlrpc::Value::from_json(json)))
        })
        .collect()
}

/// Maps a Koji build state to a build row state (COMPLETE → complete,
/// FAILED → failed; others are not registered).
fn real_build_state(info: &BuildInfo) -> Option<BuildState> {
    match info.state {
        koschei_koji::model::BuildState::Complete => Some(BuildState::Complete),
        koschei_koji::model::BuildState::Failed => Some(BuildState::Failed),
        _ => None,
    }
}

/// Registers real (tagged) builds of a collection's packages (`register_real_builds`):
/// syncs their task trees from the collection's Koji, drops builds without
/// a repo id or already known, inserts them — tagged "now" when the package
/// has builds already, so a build merged from a side tag becomes the last
/// build (koschei#361); a package's first build counts from when it was built —
/// and resets the packages' priority data. Sends state-change messages for packages whose state
/// moved. Returns the number of builds registered.
pub async fn register_real_builds(
    backend: &Backend,
    secondary_mode: bool,
    builds: &[(i32, BuildInfo)],
) -> BackendResult<usize> {
    let Backend {
        pool,
        koji: sessions,
        config,
    } = backend;
    let koji = sessions.for_collection(secondary_mode);
    let mut registered = 0;
    for chunk in builds.chunks(config.real_builds_insert_chunk.max(1)) {
        let candidates: Vec<&(i32, BuildInfo)> = chunk
            .iter()
            .filter(|(_, b)| b.task_id.is_some() && real_build_state(b).is_some())
            .collect();
        let task_ids: Vec<i64> = candidates.iter().filter_map(|(_, b)| b.task_id).collect();
        let trees = fetch_task_trees(koji, &task_ids).await?;

        let mut tx = pool.begin().await?;
        let mut package_ids: Vec<i32> = candidates.iter().map(|(p, _)| *p).collect();
        package_ids.sort_unstable();
        package_ids.dedup();
        sqlx::query("SELECT id FROM package WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&package_ids)
            .execute(&mut *tx)
            .await?;
        let mut before = Vec::with_capacity(package_ids.len());
        for id in &package_ids {
            before.push((*id, outbox::package_msg_state(&mut tx, *id).await?));
        }
        let mut touched = Vec::new();
        for ((package_id, info), tree) in candidates.into_iter().zip(trees) {
            let Some(tree) = tree else { continue };
            let Some(repo_id) = tree.repo_id else {
                tracing::info!(build = %info.nvr.as_deref().unwrap_or(&info.name), "real build has no repo id; ignored");
                continue;
            };
            let numbers = db_int("task id", info.task_id.expect("filtered"))
                .and_then(|task| Ok((task, info.epoch.map(|e| db_int("epoch", e)).transpose()?)));
            let (task_id, epoch) = match numbers {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(build = %info.nvr.as_deref().unwrap_or(&info.name), "real build ignored: {e}");
                    continue;
                }
            };
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM build WHERE package_id = $1 AND task_id = $2 AND real)",
            )
            .bind(package_id)
            .bind(task_id)
            .fetch_one(&mut *tx)
            .await?;
            if exists {
                continue;
            }
            tracing::info!(
                "Registering real build {}-{}-{} (task {task_id})",
                info.name,
                info.version,
                info.release
            );
            let started = tree.started.unwrap_or_else(now);
            let build_id: i32 = sqlx::query_scalar(
                "INSERT INTO build (package_id, state, task_id, started, finished, epoch, version, release,
                                    repo_id, real, tagged)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true,
                         CASE WHEN EXISTS (SELECT 1 FROM build WHERE package_id = $1) THEN $10 END)
                 RETURNING id",
            )
            .bind(package_id)
            .bind(real_build_state(info).expect("filtered"))
            .bind(task_id)
            .bind(started)
            .bind(tree.finished.or(Some(started)))
            .bind(epoch)
            .bind(&info.version)
            .bind(&info.release)
            .bind(repo_id)
            .bind(now().max(started))
            .fetch_one(&mut *tx)
            .await?;
            store_arch_tasks(&mut tx, build_id, &tree.arch_tasks).await?;
            touched.push(*package_id);
            registered += 1;
        }
        clear_priority_data(&mut tx, &touched).await?;
        for (id, old) in before {
            emit_state_change(&mut tx, config, id, old).await?;
        }
        tx.commit().await?;
    }
    Ok(registered)
}

/// The reason recorded with a submitted build: the priority components.
pub fn submit_reason(components: &PriorityComponents) -> serde_json::Value {
    json!({
        "priority": components.priority,
        "manual": components.manual,
        "static": components.static_priority,
        "dependency": components.dependency,
        "build": components.build,
        "time": components.time,
        "coefficient": components.coefficient,
        "threshold": components.threshold,
    })
}

/// The priority of a package split into its parts (`Package.current_priority_expression`
/// in `koschei/models.py`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PriorityComponents {
    pub priority: f64,
    pub manual: i32,
    pub static_priority: i32,
    pub dependency: i32,
    pub build: i32,
    pub time: f64,
    pub coefficient: f64,
    pub threshold: f64,
}

/// Queues a state-change message when the package's message state now
/// differs from `before` (read before the change in the same transaction).
pub async fn emit_state_change(
    conn: &mut PgConnection,
    config: &Config,
    package_id: i32,
    before: MessageState,
) -> sqlx::Result<()> {
    let after = outbox::package_msg_state(conn, package_id).await?;
    outbox::package_state_changed(conn, config, package_id, before, after).await?;
    Ok(())
}
