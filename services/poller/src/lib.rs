//! One polling pass (the original's `koschei/backend/services/polling.py`): running builds
//! (impact checks' too),
//! the package list, secondary mode's repo regeneration ([`repo_regen`]), the latest real
//! builds and the statistics. Every step runs for every collection even when another
//! collection's step fails, so one broken collection (say, a deleted tag) cannot stop the
//! others.

use koschei_core::builds::{give_up_unknown_task, update_build_state};
use koschei_core::model::BuildState;
use koschei_core::refresh::{
    koji_collections, refresh_latest_builds, refresh_packages, refresh_stats,
};
use koschei_core::{impact_builds, Backend};

pub mod repo_regen;

/// What a pass did (for logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub running_polled: usize,
    pub packages_added: u64,
    pub real_builds_registered: usize,
    /// Primary `newRepo` tasks started for secondary repos (secondary mode).
    pub repos_requested: usize,
    /// `collection: error` for steps that failed.
    pub errors: Vec<String>,
}

/// Asks Koji for the state of every running build (one multicall) and
/// updates each build accordingly.
pub async fn poll_running_builds(backend: &Backend) -> anyhow::Result<usize> {
    let Backend {
        pool,
        koji: sessions,
        config,
    } = backend;
    let running: Vec<(i32, i32)> =
        sqlx::query_as("SELECT id, task_id FROM build WHERE state = $1 ORDER BY id")
            .bind(BuildState::Running)
            .fetch_all(pool)
            .await?;
    let task_ids: Vec<i64> = running.iter().map(|(_, t)| i64::from(*t)).collect();
    let infos = sessions.primary.get_task_infos(&task_ids).await?;
    for ((build_id, task_id), info) in running.iter().zip(infos) {
        match info {
            Ok(Some(info)) => {
                if let Err(e) = update_build_state(backend, *build_id, info.state).await {
                    tracing::warn!(build_id, task_id, "cannot update build: {e}");
                }
            }
            Ok(None) => match give_up_unknown_task(pool, config, *build_id).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(build_id, task_id, "Koji does not know the task"),
                Err(e) => tracing::warn!(build_id, task_id, "cannot give the build up: {e}"),
            },
            Err(e) => tracing::warn!(build_id, task_id, "getTaskInfo failed: {e}"),
        }
    }
    Ok(running.len())
}

/// Asks Koji for the state of every running impact-check build (one multicall) and
/// records the finished ones.
pub async fn poll_running_impact_builds(backend: &Backend) -> anyhow::Result<usize> {
    let running = impact_builds::running_tasks(&mut *backend.pool.acquire().await?).await?;
    let task_ids: Vec<i64> = running.iter().map(|(_, t)| *t).collect();
    let infos = backend.koji.primary.get_task_infos(&task_ids).await?;
    for ((id, task_id), info) in running.iter().zip(infos) {
        let result = match info {
            Ok(Some(info)) => impact_builds::update_task_state(backend, *id, info.state)
                .await
                .map_err(anyhow::Error::from),
            Ok(None) => {
                let mut conn = backend.pool.acquire().await?;
                impact_builds::give_up_unknown_task(&mut conn, &backend.config, *id)
                    .await
                    .map_err(anyhow::Error::from)
            }
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            tracing::warn!(task_id, "cannot update impact build: {e:#}");
        }
    }
    Ok(running.len())
}

/// Runs one whole polling pass.
pub async fn poll(backend: &Backend) -> anyhow::Result<PollReport> {
    let Backend {
        pool,
        koji: sessions,
        ..
    } = backend;
    let mut report = PollReport {
        running_polled: poll_running_builds(backend).await?
            + poll_running_impact_builds(backend).await?,
        ..PollReport::default()
    };
    for collection in koji_collections(pool).await? {
        match refresh_packages(pool, sessions, &collection).await {
            Ok(r) => report.packages_added += r.added,
            Err(e) => report
                .errors
                .push(format!("{}: refreshing packages: {e}", collection.name)),
        }
        if collection.secondary_mode {
            match repo_regen::regen_collection(backend, &collection).await {
                Ok(repo_regen::Regen::Requested { .. }) => report.repos_requested += 1,
                Ok(repo_regen::Regen::UpToDate) => {}
                Err(e) => report.errors.push(format!(
                    "{}: requesting a primary repo: {e:#}",
                    collection.name
                )),
            }
        }
        match refresh_latest_builds(backend, &collection).await {
            Ok(r) => report.real_builds_registered += r.registered,
            Err(e) => report
                .errors
                .push(format!("{}: refreshing builds: {e}", collection.name)),
        }
    }
    refresh_stats(pool).await?;
    for e in &report.errors {
        tracing::error!("{e}");
    }
    Ok(report)
}
