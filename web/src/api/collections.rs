//! Collections in the API: all of them or one, with package counts and
//! buildroot problems, and the packages whose state differs between two.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use koschei_core::installability::{self, CollectionInstallability};

use super::error::ApiResult;
use super::list::ListRequest;
use super::lookup::find_collection;
use super::params::{ApiQuery, DiffPath, Paging};
use super::types::{self, CollectionDiff, Error};
use crate::error::AppError;
use crate::http::context::load_collections;
use crate::http::query::encode;
use crate::state::AppState;

/// The collections in display order, or only the one named `only`.
async fn load(state: &AppState, only: Option<&str>) -> ApiResult<Vec<types::Collection>> {
    let mut conn = state.pool.acquire().await?;
    let all = load_collections(&mut conn).await?;
    let counts: Vec<(i32, String, i64)> = sqlx::query_as(
        "SELECT collection_id, package_state(p), count(*) FROM package p GROUP BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    let problems: Vec<(i32, String)> =
        sqlx::query_as("SELECT collection_id, problem FROM buildroot_problem ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    Ok(all
        .into_iter()
        .filter(|c| only.is_none_or(|n| n == c.name))
        .map(|c| types::Collection {
            packages_by_state: counts
                .iter()
                .filter(|(id, _, _)| *id == c.id)
                .map(|(_, s, n)| (s.clone(), *n))
                .collect::<BTreeMap<_, _>>(),
            buildroot_problems: problems
                .iter()
                .filter(|(id, _)| *id == c.id)
                .map(|(_, p)| p.clone())
                .collect(),
            bugzilla_product: c.bugzilla_product,
            bugzilla_version: c.bugzilla_version,
            build_group: c.build_group,
            build_tag: c.build_tag,
            dest_tag: c.dest_tag,
            display_name: c.display_name,
            latest_repo_id: c.latest_repo_id,
            latest_repo_resolved: c.latest_repo_resolved,
            name: c.name,
            order: c.order,
            poll_untracked: c.poll_untracked,
            priority_coefficient: c.priority_coefficient,
            scheduling_suspended: c.scheduling_suspended,
            secondary_mode: c.secondary_mode,
            state: c.state,
            target: c.target,
        })
        .collect())
}

/// All collections with package counts by state and buildroot problems.
#[utoipa::path(
    get,
    path = "/api/v1/collections",
    tag = "collections",
    responses((status = 200, description = "Collections in display order", body = [types::Collection]))
)]
pub async fn list_collections(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<types::Collection>>> {
    Ok(Json(load(&state, None).await?))
}

/// One collection.
#[utoipa::path(
    get,
    path = "/api/v1/collections/{collection}",
    tag = "collections",
    params(("collection" = String, Path, description = "Collection name, e.g. f25")),
    responses(
        (status = 200, description = "The collection", body = types::Collection),
        (status = 404, description = "Unknown collection", body = Error),
    )
)]
pub async fn collection_detail(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<types::Collection>> {
    load(&state, Some(&name))
        .await?
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("Collection not found: {name}")).into())
}

/// The collection's uninstallable binary packages (grouped by source package) and its
/// counts of each checked repo.
#[utoipa::path(
    get,
    path = "/api/v1/collections/{collection}/installability",
    tag = "collections",
    params(("collection" = String, Path, description = "Collection name, e.g. f25")),
    responses(
        (status = 200, description = "Uninstallable binaries and counts", body = CollectionInstallability),
        (status = 404, description = "Unknown collection", body = Error),
    )
)]
pub async fn collection_installability(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<CollectionInstallability>> {
    let mut conn = state.pool.acquire().await?;
    let report = installability::collection_installability(&mut conn, &name).await?;
    Ok(Json(report))
}

/// Packages whose state differs between collections `$1` and `$2`.
macro_rules! diff_where {
    () => {
        " FROM package p1 JOIN package p2 ON p2.base_id = p1.base_id
         WHERE p1.collection_id = $1 AND p2.collection_id = $2
           AND package_state(p1) <> package_state(p2)"
    };
}

/// Packages whose state differs between two collections, ordered by name.
#[utoipa::path(
    get,
    path = "/api/v1/collections/diff/{c1}/{c2}",
    tag = "collections",
    params(DiffPath, Paging),
    responses(
        (status = 200, description = "Differences", body = [CollectionDiff], headers(
            ("X-Total-Count" = i64, description = "Length of the whole list"),
            ("Link" = String, description = "rel=\"prev\" and rel=\"next\" page URLs (paged requests)"),
        )),
        (status = 400, description = "Bad page or per_page, or an unpaged list too long", body = Error),
        (status = 404, description = "Unknown collection", body = Error),
    )
)]
pub async fn collection_diff(
    State(state): State<AppState>,
    Path(path): Path<DiffPath>,
    paging: ApiQuery<Paging>,
) -> ApiResult<Response> {
    let list = ListRequest::new(&paging.params, &state.config.frontend.limits)?;
    let a = find_collection(&state, &path.c1).await?;
    let b = find_collection(&state, &path.c2).await?;
    let total: i64 = sqlx::query_scalar(concat!("SELECT count(*)", diff_where!()))
        .bind(a.id)
        .bind(b.id)
        .fetch_one(&state.pool)
        .await?;
    list.check_total(total)?;
    let (limit, offset) = list.limit_offset();
    let rows = sqlx::query_as::<_, CollectionDiff>(concat!(
        "SELECT p1.name, $3::text AS c1, package_state(p1) AS s1,
                $4::text AS c2, package_state(p2) AS s2",
        diff_where!(),
        " ORDER BY p1.name LIMIT $5 OFFSET $6"
    ))
    .bind(a.id)
    .bind(b.id)
    .bind(a.name.clone())
    .bind(b.name.clone())
    .bind(limit)
    .bind(offset);
    let url = format!(
        "/api/v1/collections/diff/{}/{}",
        encode(&a.name),
        encode(&b.name)
    );
    Ok(list.respond(
        state.pool.clone(),
        total,
        &url,
        &paging.args,
        rows,
        |buf, row| serde_json::to_writer(buf, &row),
    ))
}
