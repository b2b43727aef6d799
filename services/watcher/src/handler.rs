//! Applying a [`KojiEvent`] to the database (the original's
//! `koschei/plugins/fedmsg_plugin/backend/services/watcher.py`). Every operation is
//! idempotent, so a redelivered message changes nothing twice: finished
//! builds (impact checks' too) are left alone by `update_build_state`, and tag messages re-read
//! Koji's *current* latest build instead of trusting the message, in every
//! collection whose tags see the message's tag ([`crate::tag_scope`]).

use koschei_core::builds::{update_build_state, BackendError};
use koschei_core::config::Config;
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::model::BuildState;
use koschei_core::refresh::{latest_builds_changed, KojiCollection};
use koschei_core::Backend;
use koschei_core::{impact, impact_builds};
use koschei_koji::client::calls::ListTaggedOpts;
use koschei_koji::KojiError;
use sqlx::PgPool;

use crate::koji_message::KojiEvent;
use crate::tag_scope::TagScope;

/// The channel `repo.done` is announced on: payload `<tag>:<repo_id>`.
pub const REPO_DONE_CHANNEL: &str = "koschei_repo_done";

/// What handling an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The running builds of the task were brought up to date.
    Builds(usize),
    /// Collections whose latest builds were refreshed.
    Collections(usize),
    /// The resolver was notified of a new repo.
    RepoAnnounced,
}

impl Applied {
    /// Whether a database change was committed.
    pub fn changed_anything(self) -> bool {
        !matches!(self, Applied::Builds(0) | Applied::Collections(0))
    }
}

/// A failure while applying an event.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Koji refused the call (a fault, a 4xx answer) or the database
    /// refused the message's data: retrying the same message will not help.
    #[error("refused: {0}")]
    Permanent(BackendError),
    /// Database or Koji unreachable, busy or in maintenance: retry later.
    #[error("{0}")]
    Transient(BackendError),
}

impl From<BackendError> for HandleError {
    fn from(e: BackendError) -> Self {
        let permanent = match &e {
            BackendError::Koji(k) => !koji_may_recover(k),
            BackendError::Db(db) => refuses_data(db),
            BackendError::OutOfRange { .. } => true,
        };
        if permanent {
            HandleError::Permanent(e)
        } else {
            HandleError::Transient(e)
        }
    }
}

impl From<sqlx::Error> for HandleError {
    fn from(e: sqlx::Error) -> Self {
        BackendError::Db(e).into()
    }
}

/// Whether a failed Koji call may succeed later: what the client retries
/// itself (transport errors, 5xx, `ServerOffline`), 408 and 429 (the hub or
/// its proxy asks to come back later), and replies that are not XML-RPC at
/// all, such as a proxy's HTML maintenance page served with status 200:
/// Koji is down, the message is fine.
pub fn koji_may_recover(e: &KojiError) -> bool {
    e.is_retryable()
        || matches!(
            e,
            KojiError::Decode { .. }
                | KojiError::Http {
                    status: 408 | 429,
                    ..
                }
        )
}

/// Whether the database refused the data itself, so the same message
/// fails the same way every time: SQLSTATE class 22 (data exception: a
/// NUL byte or invalid UTF-8, a NOTIFY payload over 8000 bytes, a value out
/// of range), class 23 (integrity) except unique and exclusion violations
/// (a concurrent writer's row; the retry sees it), class 54 (program limit
/// exceeded), and values the client could not encode.
pub fn refuses_data(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.get(..2) {
                Some("22" | "54") => true,
                Some("23") => !matches!(&*code, "23505" | "23P01"),
                _ => false,
            }
        }
        sqlx::Error::Encode(_) => true,
        _ => false,
    }
}

/// Applies Koji events with the service's database pool and Koji sessions.
pub struct Handler {
    backend: Backend,
    tag_scope: TagScope,
}

impl Handler {
    pub fn new(pool: PgPool, sessions: KojiSessions, config: Config) -> Handler {
        Handler {
            backend: Backend::new(pool, sessions, config),
            tag_scope: TagScope::default(),
        }
    }

    /// The database pool.
    pub fn pool(&self) -> &PgPool {
        &self.backend.pool
    }

    /// Applies one event; returns once its transactions have committed.
    pub async fn apply(&self, event: &KojiEvent) -> Result<Applied, HandleError> {
        match event {
            KojiEvent::TaskState { task_id, new } => {
                let impact_build = {
                    let mut conn = self.backend.pool.acquire().await?;
                    impact_builds::by_task(&mut conn, *task_id).await?
                };
                if let Some(id) = impact_build {
                    impact_builds::update_task_state(&self.backend, id, *new).await?;
                    return Ok(Applied::Builds(1));
                }
                let Ok(task_id) = i32::try_from(*task_id) else {
                    // Koschei stores task ids as integers: not one of ours.
                    return Ok(Applied::Builds(0));
                };
                let builds: Vec<i32> = sqlx::query_scalar(
                    "SELECT id FROM build WHERE task_id = $1 AND state = $2 ORDER BY id",
                )
                .bind(task_id)
                .bind(BuildState::Running)
                .fetch_all(&self.backend.pool)
                .await?;
                for &build_id in &builds {
                    update_build_state(&self.backend, build_id, *new).await?;
                }
                Ok(Applied::Builds(builds.len()))
            }
            KojiEvent::Tagging { tag, package, .. } => {
                // Every collection that knows the package and whose dest or build tag
                // is the tag or inherits it (the original refreshed only the first
                // package of that name, whatever its collection and the tag).
                let candidates: Vec<KojiCollection> = sqlx::query_as(
                    "SELECT c.id, c.name, c.dest_tag, c.build_tag, c.target, c.secondary_mode,
                            c.poll_untracked
                     FROM collection c
                     WHERE EXISTS (SELECT 1 FROM package p WHERE p.collection_id = c.id AND p.name = $1)
                     ORDER BY c.id",
                )
                .bind(package)
                .fetch_all(&self.backend.pool)
                .await?;
                let collections = self
                    .tag_scope
                    .collections_seeing(&self.backend.koji, candidates, tag)
                    .await
                    .map_err(BackendError::from)?;
                let opts = ListTaggedOpts {
                    latest: true,
                    inherit: true,
                    package: Some(package.clone()),
                    ..ListTaggedOpts::default()
                };
                for collection in &collections {
                    let koji = self.backend.koji.for_collection(collection.secondary_mode);
                    let tagged = koji
                        .list_tagged(collection.dest_tag.as_str(), &opts)
                        .await
                        .map_err(BackendError::from)?;
                    let outcome = latest_builds_changed(&self.backend, collection, tagged).await?;
                    tracing::info!(
                        collection = collection.name,
                        package,
                        registered = outcome.registered,
                        untagged = outcome.untagged,
                        retagged = outcome.retagged,
                        "latest builds refreshed"
                    );
                }
                Ok(Applied::Collections(collections.len()))
            }
            KojiEvent::RepoDone { tag, repo_id } => {
                if self.backend.config.impact.auto_checks(tag) {
                    self.check_side_tag(tag, *repo_id).await?;
                }
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(REPO_DONE_CHANNEL)
                    .bind(format!("{tag}:{repo_id}"))
                    .execute(&self.backend.pool)
                    .await?;
                Ok(Applied::RepoAnnounced)
            }
        }
    }
}

impl Handler {
    /// Queues the automatic impact checks of a side tag's new repo: one per collection
    /// whose build tag the side tag inherits (none twice for one repo).
    async fn check_side_tag(&self, tag: &str, repo_id: i64) -> Result<(), HandleError> {
        let Ok(repo_id) = i32::try_from(repo_id) else {
            return Ok(());
        };
        let candidates: Vec<KojiCollection> = sqlx::query_as(
            "SELECT id, name, dest_tag, build_tag, target, secondary_mode, poll_untracked
             FROM collection ORDER BY id",
        )
        .fetch_all(&self.backend.pool)
        .await?;
        let collections = self
            .tag_scope
            .collections_under(&self.backend.koji, candidates, tag)
            .await
            .map_err(BackendError::from)?;
        let mut conn = self.backend.pool.acquire().await?;
        for c in collections {
            let id = impact::create_automatic(&mut conn, &self.backend.config, c.id, tag, repo_id)
                .await?;
            if let Some(id) = id {
                tracing::info!(
                    "impact check {id}: side tag {tag} (repo {repo_id}) against {}",
                    c.name
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> KojiError {
        KojiError::Http {
            method: "getTaskInfo".into(),
            status,
        }
    }

    #[test]
    fn koji_unavailable_is_transient_and_refusals_are_permanent() {
        for status in [429, 408, 500, 502, 503] {
            assert!(koji_may_recover(&http(status)), "{status}");
        }
        let page = koschei_koji::xmlrpc::parse_response(b"<html><body>maintenance</body></html>")
            .unwrap_err();
        assert!(koji_may_recover(&KojiError::Decode {
            method: "getTaskInfo".into(),
            source: page,
        }));
        for status in [400, 403, 404] {
            assert!(!koji_may_recover(&http(status)), "{status}");
        }
    }
}
