//! One scheduling decision (the original's `koschei/backend/services/scheduler.py`; where
//! the priority comes from: ARCHITECTURE.md, "Where does X live"): pick the package to
//! build next and submit it, at most one per call.
//!
//! * Several schedulers may run: a session-level advisory lock on a connection of
//!   the decision's own serialises decisions, so the running-build cap holds across
//!   instances. No transaction stays open across a Koji call: the candidates are read
//!   in a short transaction, every write after a Koji answer commits at once.
//! * Candidates come from the single SQL priority definition
//!   (`package_priority`), highest first, but collections share the build
//!   slots fairly (koschei#351); [`crate::candidates`] reads only the packages that
//!   can be among them.
//! * A Koji fault suspends the collection (with a notice) only when Koji confirms
//!   that the collection's target or tags are gone — a fault's text cannot tell that
//!   from a passing "No such repo"; any other refusal postpones only the package
//!   (exponential back-off), so nothing starves the others. Authentication faults
//!   (after the client's one new login) fail the decision instead: they are nobody's
//!   package's fault.
//! * Packages without SRPM or allowed arch get their skip reason persisted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use koschei_core::builds::{
    schedule_retry, submit_build, submit_reason, Submission, SubmitRequest,
};
use koschei_core::impact_builds;
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::model::{BuildState, SkipReason};
use koschei_core::service::Service;
use koschei_core::task_adoption::adopt_unrecorded_builds;
use koschei_core::{notices, Config};
use koschei_koji::error::KojiError;
use koschei_koji::load::koji_load;
use koschei_koji::model::Nvra;
use koschei_koji::srpm_arches::get_srpm_arches;
use koschei_koji::xmlrpc::FaultKind;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, PgPool, Postgres};

pub use crate::candidates::{candidates, Candidate};

/// Advisory lock (namespace, key) serialising scheduling decisions.
const SCHEDULER_LOCK: (i32, i32) = (3, 0);
/// Candidates examined per decision (more than one, since some are skipped).
const CANDIDATES: i64 = 20;

/// What one decision did.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// A build was submitted.
    Submitted {
        package: String,
        collection: String,
        task_id: i64,
        priority: f64,
    },
    /// `max_builds` builds are running.
    AtCapacity { running: i64 },
    /// No package reaches the threshold.
    NothingToSchedule,
    /// Koji is too busy for the best candidate's arches.
    KojiOverloaded { load: f64 },
    /// A build of an impact check was submitted (or Koji refused it: `task_id` `None`).
    ImpactBuild {
        check_id: i32,
        package: String,
        side: &'static str,
        task_id: Option<i64>,
    },
}

/// The outcome of trying one package.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Submitted, or Koji too busy: the decision is made.
    Decided(Decision),
    /// Koji has no SRPM for the package (skip reason persisted).
    NoSrpm,
    /// No build architecture is allowed (skip reason persisted).
    NoArch,
    /// A permanent Koji fault suspended the package's collection.
    Suspended(String),
    /// A transient Koji fault postponed the package (back-off).
    Postponed(String),
}

/// Makes scheduling decisions; keeps the tag-arch cache between them.
pub struct Scheduler {
    pool: PgPool,
    pub(crate) sessions: KojiSessions,
    pub(crate) config: Config,
    tag_arches: HashMap<String, (Instant, Vec<String>)>,
    /// When Koji's task list was last reconciled with the database
    /// ([`adopt_unrecorded_builds`]); `None` = before the next decision.
    adopted_at: Option<Instant>,
}

/// How often Koji's task list is reconciled when nothing failed.
const ADOPTION_INTERVAL: Duration = Duration::from_secs(3600);

/// How long the arches of a build tag are cached (as Koschei: 1 h).
const TAG_ARCHES_TTL: Duration = Duration::from_secs(3600);

impl Scheduler {
    pub fn new(pool: PgPool, sessions: KojiSessions, config: Config) -> Self {
        Scheduler {
            pool,
            sessions,
            config,
            tag_arches: HashMap::new(),
            adopted_at: None,
        }
    }

    pub(crate) async fn tag_arches(&mut self, build_tag: &str) -> Result<Vec<String>, KojiError> {
        if let Some((at, arches)) = self.tag_arches.get(build_tag) {
            if at.elapsed() < TAG_ARCHES_TTL {
                return Ok(arches.clone());
            }
        }
        let arches = self
            .sessions
            .primary
            .get_build_config(build_tag)
            .await?
            .arch_list();
        self.tag_arches
            .insert(build_tag.to_string(), (Instant::now(), arches.clone()));
        Ok(arches)
    }

    /// Makes one decision and commits it. Before the first decision, after a failed
    /// one and hourly, first records the builds Koji runs for us that the database
    /// does not know (a submission interrupted between Koji and the commit).
    pub async fn decide(&mut self) -> anyhow::Result<Decision> {
        let result = self.decide_once().await;
        if result.is_err() {
            self.adopted_at = None;
        }
        result
    }

    async fn decide_once(&mut self) -> anyhow::Result<Decision> {
        if self
            .adopted_at
            .is_none_or(|at| at.elapsed() >= ADOPTION_INTERVAL)
        {
            let mut lock = SchedulerLock::acquire(&self.pool).await?;
            let adoption = adopt_unrecorded_builds(&mut lock, &self.sessions).await?;
            lock.release().await?;
            tracing::info!(
                listed = adoption.listed,
                adopted = adoption.adopted.len(),
                unmatched = adoption.unmatched.len(),
                "reconciled our recent Koji build tasks with the database"
            );
            self.adopted_at = Some(Instant::now());
        }
        let mut lock = SchedulerLock::acquire(&self.pool).await?;
        let ordinary: i64 = sqlx::query_scalar("SELECT count(*) FROM build WHERE state = $1")
            .bind(BuildState::Running)
            .fetch_one(&mut *lock)
            .await?;
        let impact_running = impact_builds::running(&mut lock).await?;
        let running = ordinary + impact_running;
        // impact checks' builds first, within their share: ordinary rebuilds keep the rest
        let koji = &self.config.koji_config;
        if impact_running < koji.impact_build_limit() && running < koji.max_builds {
            if let Some(decision) = self.submit_impact_build(&mut lock).await? {
                lock.release().await?;
                return Ok(decision);
            }
        }
        if running >= self.config.koji_config.max_builds {
            lock.release().await?;
            return Ok(Decision::AtCapacity { running });
        }
        let candidates = {
            let mut tx = lock.begin().await?;
            let candidates = candidates(&mut tx, &self.config, CANDIDATES).await?;
            tx.commit().await?;
            candidates
        };
        let mut decision = Decision::NothingToSchedule;
        for cand in candidates {
            if let Attempt::Decided(d) = self.try_candidate(&mut lock, &cand, true).await? {
                decision = d;
                break;
            }
        }
        lock.release().await?;
        Ok(decision)
    }

    /// Submits one package now, whatever its priority (`koschei-admin
    /// submit-build`): no capacity or load check; `reason` is recorded.
    pub async fn submit_now(
        &mut self,
        conn: &mut PgConnection,
        package_id: i32,
        reason: serde_json::Value,
    ) -> anyhow::Result<Attempt> {
        let p = &self.config.priorities;
        let mut cand: Candidate = sqlx::query_as(
            "SELECT p.id AS package_id, p.name, c.id AS collection_id, c.name AS collection, c.dest_tag,
                    c.build_tag, c.target, c.secondary_mode, c.latest_repo_id, p.arch_override,
                    lcb.version, lcb.release,
                    COALESCE(package_priority(p, c, lb, $2, $3, $4), 0) AS priority,
                    p.manual_priority AS manual, p.static_priority, p.dependency_priority AS dependency,
                    p.build_priority AS build, COALESCE(time_priority(build_time(lb), $2, $3, $4), 0) AS time,
                    c.priority_coefficient AS coefficient, $4::float8 AS threshold
             FROM package p JOIN collection c ON c.id = p.collection_id
             JOIN build lcb ON lcb.id = p.last_complete_build_id
             LEFT JOIN build lb ON lb.id = p.last_build_id
             WHERE p.id = $1 AND c.latest_repo_id IS NOT NULL",
        )
        .bind(package_id)
        .bind(p.t0)
        .bind(p.t1)
        .bind(p.build_threshold)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("package has no complete build or its collection no resolved repo"))?;
        cand.reason_override = Some(reason);
        self.try_candidate(conn, &cand, false).await
    }

    /// Tries to submit one candidate (checking Koji's load when asked).
    async fn try_candidate(
        &mut self,
        conn: &mut PgConnection,
        cand: &Candidate,
        check_load: bool,
    ) -> anyhow::Result<Attempt> {
        let tag_arches = match self.tag_arches(&cand.build_tag).await {
            Ok(a) => a,
            Err(e) => {
                if let Some(gone) = self.missing_in_koji(cand, &e).await? {
                    self.suspend(conn, cand, &gone, &e).await?;
                    return Ok(Attempt::Suspended(gone));
                }
                return Err(e.into());
            }
        };
        let srpm = Nvra {
            name: cand.name.clone(),
            version: cand.version.clone(),
            release: cand.release.clone(),
            arch: "src".into(),
        };
        let data = self.sessions.for_collection(cand.secondary_mode);
        let arches = get_srpm_arches(
            data,
            &tag_arches,
            &srpm,
            cand.arch_override.as_deref(),
            &self.config.koji_config.build_arches,
        )
        .await?;
        let Some(arches) = arches else {
            set_skip_reason(conn, cand, SkipReason::NoSrpm).await?;
            return Ok(Attempt::NoSrpm);
        };
        if arches.is_empty() {
            set_skip_reason(conn, cand, SkipReason::NoArch).await?;
            return Ok(Attempt::NoArch);
        }
        let arches: Vec<String> = arches.into_iter().collect();
        let threshold = self.config.koji_config.load_threshold;
        if check_load && threshold < 1.0 {
            let load = koji_load(&self.sessions.primary, &tag_arches, &arches).await?;
            if load > threshold {
                tracing::info!(load, threshold, "Koji is too busy; not submitting");
                return Ok(Attempt::Decided(Decision::KojiOverloaded { load }));
            }
        }
        let noarch = arches.iter().any(|a| a == "noarch");
        let request = SubmitRequest {
            package_id: cand.package_id,
            name: cand.name.clone(),
            dest_tag: cand.dest_tag.clone(),
            target: cand.target.clone(),
            secondary_mode: cand.secondary_mode,
            latest_repo_id: cand.latest_repo_id,
            arch_override: (!noarch).then(|| arches.join(" ")),
            reason: cand
                .reason_override
                .clone()
                .unwrap_or_else(|| submit_reason(&cand.components)),
        };
        match submit_build(conn, &self.sessions, &self.config, &request).await {
            Ok(Submission::Submitted { task_id, .. }) => {
                sqlx::query("UPDATE package SET scheduler_skip_reason = NULL, manual_priority = 0 WHERE id = $1")
                    .bind(cand.package_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(Attempt::Decided(Decision::Submitted {
                    package: cand.name.clone(),
                    collection: cand.collection.clone(),
                    task_id,
                    priority: cand.components.priority,
                }))
            }
            Ok(Submission::NoSrpm) => {
                set_skip_reason(conn, cand, SkipReason::NoSrpm).await?;
                Ok(Attempt::NoSrpm)
            }
            // a retried `build` whose first attempt reached Koji: the task may exist,
            // so the decision fails and the next one reconciles with Koji first
            Err(koschei_core::builds::BackendError::Koji(e))
                if e.fault_kind() == Some(FaultKind::RetryError) =>
            {
                Err(anyhow::Error::new(e)
                    .context(format!("submitting {} may have reached Koji", cand.name)))
            }
            Err(koschei_core::builds::BackendError::Koji(e)) if e.fault().is_some() => {
                if let Some(gone) = self.missing_in_koji(cand, &e).await? {
                    self.suspend(conn, cand, &gone, &e).await?;
                    return Ok(Attempt::Suspended(gone));
                }
                tracing::warn!(package = %cand.name, "Koji refused the build, retrying later: {e}");
                schedule_retry(conn, &self.config.priorities, cand.package_id).await?;
                Ok(Attempt::Postponed(e.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// After Koji refused a call with `fault`: whether the collection's build target
    /// (when builds name it) or its tags are gone, asked of Koji itself. Authentication
    /// faults and failures of the check itself are errors of the decision.
    async fn missing_in_koji(
        &self,
        cand: &Candidate,
        fault: &KojiError,
    ) -> Result<Option<String>, KojiError> {
        match fault.fault_kind() {
            None => return Ok(None),
            Some(kind) if kind.is_auth_error() => return Ok(None),
            Some(_) => {}
        }
        let koji = &self.sessions.primary;
        if !self.config.koji_config.build_from_repo_id
            && koji.get_build_target(cand.target.as_str()).await?.is_none()
        {
            return Ok(Some(format!(
                "Koji build target {} does not exist",
                cand.target
            )));
        }
        for tag in [&cand.build_tag, &cand.dest_tag] {
            if koji.get_tag(tag.as_str()).await?.is_none() {
                return Ok(Some(format!("Koji tag {tag} does not exist")));
            }
        }
        Ok(None)
    }

    async fn suspend(
        &mut self,
        conn: &mut PgConnection,
        cand: &Candidate,
        gone: &str,
        fault: &KojiError,
    ) -> sqlx::Result<()> {
        tracing::error!(collection = %cand.collection, "{gone}; suspending scheduling ({fault})");
        let mut tx = conn.begin().await?;
        notices::suspend_scheduling(&mut tx, cand.collection_id, &format!("{gone} ({fault})"))
            .await?;
        tx.commit().await
    }
}

/// The scheduler service: one decision per iteration.
impl Service for Scheduler {
    async fn iteration(&mut self) -> anyhow::Result<()> {
        let decision = self.decide().await?;
        tracing::debug!("{decision:?}");
        Ok(())
    }
}

/// The scheduler lock: a session-level advisory lock on a pooled connection of its
/// own, held across a decision (Koji calls included) without a transaction. Released by
/// [`SchedulerLock::release`]; a decision that fails half-way drops the guard, which
/// closes the connection and so ends the lock with its session.
struct SchedulerLock {
    conn: Option<PoolConnection<Postgres>>,
}

impl SchedulerLock {
    async fn acquire(pool: &PgPool) -> sqlx::Result<SchedulerLock> {
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1, $2)")
            .bind(SCHEDULER_LOCK.0)
            .bind(SCHEDULER_LOCK.1)
            .execute(&mut *conn)
            .await?;
        Ok(SchedulerLock { conn: Some(conn) })
    }

    async fn release(mut self) -> sqlx::Result<()> {
        if let Some(mut conn) = self.conn.take() {
            sqlx::query("SELECT pg_advisory_unlock($1, $2)")
                .bind(SCHEDULER_LOCK.0)
                .bind(SCHEDULER_LOCK.1)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

impl std::ops::Deref for SchedulerLock {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("held until released")
    }
}

impl std::ops::DerefMut for SchedulerLock {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("held until released")
    }
}

impl Drop for SchedulerLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}

async fn set_skip_reason(
    conn: &mut PgConnection,
    cand: &Candidate,
    reason: SkipReason,
) -> sqlx::Result<()> {
    tracing::info!(package = %cand.name, collection = %cand.collection, "skipped: {reason:?}");
    sqlx::query("UPDATE package SET scheduler_skip_reason = $2 WHERE id = $1")
        .bind(cand.package_id)
        .bind(reason)
        .execute(conn)
        .await?;
    Ok(())
}
