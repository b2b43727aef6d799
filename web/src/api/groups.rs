//! Package groups in the API: the list with maintainers and package
//! counts, and one group, global or namespaced.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use koschei_core::error::DataError;

use super::error::ApiResult;
use super::list::ListRequest;
use super::params::{ApiQuery, Paging};
use super::types::{Error, Group, GroupSummary};
use crate::error::AppError;
use crate::state::AppState;

/// All package groups (global ones first) with maintainers and package count.
#[utoipa::path(
    get,
    path = "/api/v1/groups",
    tag = "groups",
    params(Paging),
    responses(
        (status = 200, description = "Groups", body = [GroupSummary], headers(
            ("X-Total-Count" = i64, description = "Length of the whole list"),
            ("Link" = String, description = "rel=\"prev\" and rel=\"next\" page URLs (paged requests)"),
        )),
        (status = 400, description = "Bad page or per_page, or an unpaged list too long", body = Error),
    )
)]
pub async fn list_groups(
    State(state): State<AppState>,
    paging: ApiQuery<Paging>,
) -> ApiResult<Response> {
    let list = ListRequest::new(&paging.params, &state.config.frontend.limits)?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM package_group")
        .fetch_one(&state.pool)
        .await?;
    list.check_total(total)?;
    let (limit, offset) = list.limit_offset();
    let rows = sqlx::query_as::<_, GroupSummary>(
        r#"SELECT COALESCE(g.namespace || '/', '') || g.name AS name, g.namespace,
                  (SELECT count(*) FROM package_group_relation r
                   JOIN base_package b ON b.id = r.base_id
                   WHERE r.group_id = g.id AND NOT b.all_blocked) AS package_count,
                  ARRAY(SELECT u.name FROM group_acl a JOIN "user" u ON u.id = a.user_id
                        WHERE a.group_id = g.id ORDER BY u.name) AS maintainers
           FROM package_group g
           ORDER BY g.namespace NULLS FIRST, g.name LIMIT $1 OFFSET $2"#,
    )
    .bind(limit)
    .bind(offset);
    Ok(list.respond(
        state.pool.clone(),
        total,
        "/api/v1/groups",
        &paging.args,
        rows,
        |buf, row| serde_json::to_writer(buf, &row),
    ))
}

/// The group named `full` (`namespace/name` or `name`).
async fn load(state: &AppState, full: &str) -> ApiResult<Json<Group>> {
    let mut conn = state.pool.acquire().await?;
    let group = koschei_core::groups::find_group(&mut conn, full)
        .await
        .map_err(|e| match e {
            DataError::InvalidGroupName(_) => {
                AppError::NotFound(format!("Group not found: {full}"))
            }
            other => other.into(),
        })?;
    let packages = koschei_core::groups::group_package_names(&mut conn, &group).await?;
    let maintainers: Vec<String> = sqlx::query_scalar(
        r#"SELECT u.name FROM group_acl a JOIN "user" u ON u.id = a.user_id
           WHERE a.group_id = $1 ORDER BY u.name"#,
    )
    .bind(group.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Json(Group {
        maintainers,
        name: group.full_name(),
        namespace: group.namespace,
        packages,
    }))
}

/// A global group.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}",
    tag = "groups",
    params(("name" = String, Path, description = "Group name")),
    responses(
        (status = 200, description = "The group", body = Group),
        (status = 404, description = "No such group", body = Error),
    )
)]
pub async fn global_group(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Group>> {
    load(&state, &name).await
}

/// A namespaced group (the namespace is its owner's name).
#[utoipa::path(
    get,
    path = "/api/v1/groups/{namespace}/{name}",
    tag = "groups",
    params(
        ("namespace" = String, Path, description = "Namespace (user name)"),
        ("name" = String, Path, description = "Group name"),
    ),
    responses(
        (status = 200, description = "The group", body = Group),
        (status = 404, description = "No such group", body = Error),
    )
)]
pub async fn namespaced_group(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
) -> ApiResult<Json<Group>> {
    load(&state, &format!("{namespace}/{name}")).await
}
