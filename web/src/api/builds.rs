//! Builds in the API: one build, a package's builds page by page, and the
//! conversion of build rows, Koji tasks and dependency changes into their
//! [`types`] (also used by the package detail).

use axum::extract::{Path, State};
use axum::Json;
use koschei_core::model::KojiTaskState;

use super::error::ApiResult;
use super::lookup::{find_collection, package_id};
use super::params::{ApiQuery, BuildsQuery, PackagePath};
use super::types::{self, Error};
use crate::error::AppError;
use crate::pages::builds::{self, Build, KojiTask};
use crate::render::deps::{self, DepChange};
use crate::state::AppState;

/// A build with its tasks and, when `changes` are given, the dependency
/// changes it applied.
pub fn build(b: Build, tasks: &[KojiTask], changes: Option<&[DepChange]>) -> types::Build {
    let state = b.state().map_or("unknown", |s| s.as_str());
    let infrastructure_failure = b.is_infra();
    types::Build {
        tasks: tasks
            .iter()
            .filter(|t| t.build_id == b.id)
            .map(task)
            .collect(),
        dependency_changes: changes.map(|changes| {
            changes
                .iter()
                .filter(|c| c.build_id == Some(b.id))
                .map(dependency_change)
                .collect()
        }),
        cancel_requested: b.cancel_requested,
        collection: b.collection,
        deps_resolved: b.deps_resolved,
        epoch: b.epoch,
        failure_reason: b.failure_reason,
        finished: b.finished,
        id: b.id,
        infrastructure_failure,
        package_id: b.package_id,
        package_name: b.package_name,
        real: b.real,
        release: b.release,
        repo_id: b.repo_id,
        started: b.started,
        state,
        submit_reason: b.submit_reason,
        tagged: b.tagged,
        task_id: b.task_id,
        time: b.time,
        untagged: b.untagged,
        version: b.version,
    }
}

fn task(t: &KojiTask) -> types::Task {
    types::Task {
        arch: t.arch.clone(),
        finished: t.finished,
        started: t.started,
        state: KojiTaskState::try_from(i64::from(t.state)).map_or("UNKNOWN", |s| s.name()),
        task_id: t.task_id,
    }
}

/// A dependency change with its kind and both versions.
pub fn dependency_change(c: &DepChange) -> types::DependencyChange {
    types::DependencyChange {
        curr: c.curr().map(Into::into),
        distance: c.distance,
        kind: c.kind(),
        name: c.name.clone(),
        prev: c.prev().map(Into::into),
    }
}

/// A build with its Koji tasks, submit reason and applied dependency changes.
#[utoipa::path(
    get,
    path = "/api/v1/builds/{id}",
    tag = "builds",
    params(("id" = i32, Path, description = "Build id")),
    responses(
        (status = 200, description = "The build", body = types::Build),
        (status = 404, description = "No such build", body = Error),
    )
)]
pub async fn build_detail(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> ApiResult<Json<types::Build>> {
    let found = builds::load_builds(&state.pool, &[id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::NotFound(format!("Build {id} not found")))?;
    let tasks = builds::load_tasks(&state.pool, &[id]).await?;
    let changes = deps::applied_changes(&state.pool, &[id]).await?;
    Ok(Json(build(found, &tasks, Some(&changes))))
}

/// Builds of a package, newest first, with tasks and applied dependency changes.
///
/// Older builds: `before` the id of the last one received.
#[utoipa::path(
    get,
    path = "/api/v1/packages/{collection}/{name}/builds",
    tag = "builds",
    params(PackagePath, BuildsQuery),
    responses(
        (status = 200, description = "Builds", body = [types::Build]),
        (status = 400, description = "Bad before or limit", body = Error),
        (status = 404, description = "Unknown collection or package", body = Error),
    )
)]
pub async fn package_builds(
    State(state): State<AppState>,
    Path(path): Path<PackagePath>,
    query: ApiQuery<BuildsQuery>,
) -> ApiResult<Json<Vec<types::Build>>> {
    let (before, limit) = query.params.parse(state.config.frontend.builds_per_page)?;
    let c = find_collection(&state, &path.collection).await?;
    let id = package_id(&state, &c, &path.name).await?;
    let found = builds::package_builds(&state.pool, id, before, limit).await?;
    let ids: Vec<i32> = found.iter().map(|b| b.id).collect();
    let tasks = builds::load_tasks(&state.pool, &ids).await?;
    let changes = deps::applied_changes(&state.pool, &ids).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|b| build(b, &tasks, Some(&changes)))
            .collect(),
    ))
}
