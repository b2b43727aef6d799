//! The JSON API (`/api/v1`, spec §6.6 with its quirks fixed, plus read
//! endpoints for dashboards and tools). Described by [`crate::openapi`].
//! Errors are JSON objects `{"error": "..."}`; an unknown collection is
//! always 404.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use koschei_core::inspect;
use serde_json::{json, Value};

use crate::api_list::ListRequest;
use crate::error::AppError;
use crate::http::context::{load_collections, Collection};
use crate::http::query::{encode, QueryArgs};
use crate::pages::builds::{self, Build, KojiTask};
use crate::render::deps::{self, DepChange};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(crate::openapi::openapi))
        .route("/api/v1/packages", get(packages))
        .route("/api/v1/packages/{collection}/{name}", get(package_detail))
        .route(
            "/api/v1/packages/{collection}/{name}/builds",
            get(package_builds),
        )
        .route(
            "/api/v1/packages/{collection}/{name}/dependency-changes",
            get(dependency_changes),
        )
        .route("/api/v1/builds/{id}", get(build_detail))
        .route("/api/v1/collections", get(collections))
        .route("/api/v1/collections/{name}", get(collection_detail))
        .route("/api/v1/collections/diff/{c1}/{c2}", get(collection_diff))
        .route("/api/v1/groups", get(groups))
        .route("/api/v1/groups/{first}", get(group_global))
        .route("/api/v1/groups/{first}/{second}", get(group_namespaced))
}

/// An [`AppError`] answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.status() {
            StatusCode::FOUND => StatusCode::UNAUTHORIZED,
            s => s,
        };
        (status, Json(json!({ "error": self.0.public_message() }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

async fn find_collection(state: &AppState, name: &str) -> ApiResult<Collection> {
    let mut conn = state.pool.acquire().await?;
    load_collections(&mut conn)
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| AppError::NotFound(format!("Collection not found: {name}")).into())
}

#[derive(sqlx::FromRow)]
struct PackageSummaryRow {
    name: String,
    collection: String,
    state: String,
    task_id: Option<i32>,
    started: Option<chrono::NaiveDateTime>,
    finished: Option<chrono::NaiveDateTime>,
    epoch: Option<i32>,
    version: Option<String>,
    release: Option<String>,
}

/// An element of `/api/v1/packages` (spec §6.6).
#[derive(serde::Serialize)]
struct PackageSummary<'a> {
    name: &'a str,
    collection: &'a str,
    state: &'a str,
    last_complete_build: Option<LastBuild<'a>>,
}

#[derive(serde::Serialize)]
struct LastBuild<'a> {
    task_id: i32,
    time_started: chrono::NaiveDateTime,
    time_finished: Option<chrono::NaiveDateTime>,
    epoch: Option<i32>,
    version: Option<&'a str>,
    release: Option<&'a str>,
}

impl<'a> From<&'a PackageSummaryRow> for PackageSummary<'a> {
    fn from(r: &'a PackageSummaryRow) -> Self {
        PackageSummary {
            name: &r.name,
            collection: &r.collection,
            state: &r.state,
            last_complete_build: r
                .task_id
                .zip(r.started)
                .map(|(task_id, started)| LastBuild {
                    task_id,
                    time_started: started,
                    time_finished: r.finished,
                    epoch: r.epoch,
                    version: r.version.as_deref(),
                    release: r.release.as_deref(),
                }),
        }
    }
}

/// The packages `/api/v1/packages` lists: `$1` collection names, `$2`
/// package names (empty: all).
macro_rules! packages_where {
    () => {
        r#" FROM package p
           JOIN collection c ON c.id = p.collection_id
           LEFT JOIN build b ON b.id = p.last_complete_build_id
           WHERE (cardinality($1::text[]) = 0 OR c.name = ANY($1))
             AND (cardinality($2::text[]) = 0 OR p.name = ANY($2))"#
    };
}

/// `GET /api/v1/packages[?collection=…][&name=…][&page=N&per_page=M]`:
/// packages (tracked or not, blocked or not) with their state and last
/// complete build, ordered by name; the whole list (up to
/// `frontend.limits.max_unpaginated`) without `page`.
async fn packages(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryArgs::parse(raw.as_deref());
    let list = ListRequest::parse(&query, &state.config.frontend.limits)?;
    let collections: Vec<String> = query
        .get_all("collection")
        .flat_map(|v| v.split(','))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    let names: Vec<String> = query.get_all("name").map(str::to_string).collect();
    if !collections.is_empty() {
        let known: Vec<String> =
            sqlx::query_scalar("SELECT name FROM collection WHERE name = ANY($1)")
                .bind(&collections)
                .fetch_all(&state.pool)
                .await?;
        if let Some(unknown) = collections.iter().find(|c| !known.contains(c)) {
            return Err(AppError::NotFound(format!("Collection not found: {unknown}")).into());
        }
    }
    let total: i64 = sqlx::query_scalar(concat!("SELECT count(*)", packages_where!()))
        .bind(&collections)
        .bind(&names)
        .fetch_one(&state.pool)
        .await?;
    list.check_total(total)?;
    let (limit, offset) = list.limit_offset();
    let rows = sqlx::query_as::<_, PackageSummaryRow>(concat!(
        "SELECT p.name, c.name AS collection, package_state(p) AS state, b.task_id,
                b.started, b.finished, b.epoch, b.version, b.release",
        packages_where!(),
        r#" ORDER BY p.name, c."order" DESC, c.name DESC LIMIT $3 OFFSET $4"#
    ))
    .bind(collections)
    .bind(names)
    .bind(limit)
    .bind(offset);
    Ok(list.respond(
        state.pool.clone(),
        total,
        "/api/v1/packages",
        &query,
        rows,
        |buf, row| serde_json::to_writer(buf, &PackageSummary::from(&row)),
    ))
}

/// Appends a JSON text made by PostgreSQL.
fn write_raw(buf: &mut Vec<u8>, (json,): (String,)) -> serde_json::Result<()> {
    buf.extend_from_slice(json.as_bytes());
    Ok(())
}

/// Packages whose state differs between collections `$1` and `$2`.
macro_rules! diff_where {
    () => {
        " FROM package p1 JOIN package p2 ON p2.base_id = p1.base_id
         WHERE p1.collection_id = $1 AND p2.collection_id = $2
           AND package_state(p1) <> package_state(p2)"
    };
}

/// `GET /api/v1/collections/diff/<c1>/<c2>[?page=N&per_page=M]`: packages
/// whose state differs between two collections, by name.
async fn collection_diff(
    State(state): State<AppState>,
    Path((c1, c2)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryArgs::parse(raw.as_deref());
    let list = ListRequest::parse(&query, &state.config.frontend.limits)?;
    let a = find_collection(&state, &c1).await?;
    let b = find_collection(&state, &c2).await?;
    let total: i64 = sqlx::query_scalar(concat!("SELECT count(*)", diff_where!()))
        .bind(a.id)
        .bind(b.id)
        .fetch_one(&state.pool)
        .await?;
    list.check_total(total)?;
    let (limit, offset) = list.limit_offset();
    let rows = sqlx::query_as::<_, (String,)>(concat!(
        "SELECT json_build_object(
                    'name', p1.name,
                    'state', json_build_object($3::text, package_state(p1), $4::text, package_state(p2)))::text",
        diff_where!(),
        " ORDER BY p1.name LIMIT $5 OFFSET $6"
    ))
    .bind(a.id)
    .bind(b.id)
    .bind(a.name.clone())
    .bind(b.name.clone())
    .bind(limit)
    .bind(offset);
    let path = format!(
        "/api/v1/collections/diff/{}/{}",
        encode(&a.name),
        encode(&b.name)
    );
    Ok(list.respond(state.pool.clone(), total, &path, &query, rows, write_raw))
}

/// JSON of a build: its columns, state name, whether it was an
/// infrastructure failure, its Koji tasks and (when given) its changes.
fn build_json(b: &Build, tasks: &[KojiTask], changes: Option<&[DepChange]>) -> Value {
    let mut v = serde_json::to_value(b).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.remove("state_code");
        map.insert(
            "state".into(),
            json!(b.state().map(|s| s.as_str()).unwrap_or("unknown")),
        );
        map.insert("infrastructure_failure".into(), json!(b.is_infra()));
        map.insert(
            "tasks".into(),
            json!(tasks
                .iter()
                .filter(|t| t.build_id == b.id)
                .map(|t| json!({
                    "task_id": t.task_id, "arch": t.arch, "started": t.started,
                    "finished": t.finished,
                    "state": koschei_core::model::KojiTaskState::try_from(i64::from(t.state))
                        .map(|s| s.name()).unwrap_or("UNKNOWN"),
                }))
                .collect::<Vec<_>>()),
        );
        if let Some(changes) = changes {
            map.insert(
                "dependency_changes".into(),
                json!(changes
                    .iter()
                    .filter(|c| c.build_id == Some(b.id))
                    .map(change_json)
                    .collect::<Vec<_>>()),
            );
        }
    }
    v
}

fn change_json(c: &DepChange) -> Value {
    json!({
        "name": c.name,
        "kind": c.kind(),
        "prev": c.prev().map(|e| json!({"epoch": e.epoch, "version": e.version, "release": e.release})),
        "curr": c.curr().map(|e| json!({"epoch": e.epoch, "version": e.version, "release": e.release})),
        "distance": c.distance,
    })
}

async fn package_id(state: &AppState, collection: &Collection, name: &str) -> ApiResult<i32> {
    sqlx::query_scalar("SELECT id FROM package WHERE collection_id = $1 AND name = $2")
        .bind(collection.id)
        .bind(name)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "Package {name} not found in collection {}",
                collection.name
            ))
            .into()
        })
}

/// `GET /api/v1/packages/<collection>/<name>`: state, priority breakdown,
/// skip reasons, pending dependency changes, recent builds (with submit
/// reasons) and resolution changes.
async fn package_detail(
    State(state): State<AppState>,
    Path((collection, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let c = find_collection(&state, &collection).await?;
    let id = package_id(&state, &c, &name).await?;
    let report = {
        let mut conn = state.pool.acquire().await?;
        inspect::package_report(&mut conn, &name, &c.name, &state.config.priorities, 0).await?
    };
    let limit = state.config.frontend.builds_per_page;
    let builds = builds::package_builds(&state.pool, id, None, limit).await?;
    let ids: Vec<i32> = builds.iter().map(|b| b.id).collect();
    let tasks = builds::load_tasks(&state.pool, &ids).await?;
    let resolutions: Vec<(bool, chrono::NaiveDateTime, Vec<String>)> = sqlx::query_as(
        r#"SELECT r.resolved, r."timestamp",
                  ARRAY(SELECT problem FROM resolution_problem WHERE resolution_id = r.id ORDER BY id)
           FROM resolution_change r WHERE r.package_id = $1
           ORDER BY r."timestamp" DESC LIMIT $2"#,
    )
    .bind(id)
    .bind(limit)
    .fetch_all(&state.pool)
    .await?;
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT COALESCE(g.namespace || '/', '') || g.name FROM package_group g
         JOIN package_group_relation r ON r.group_id = g.id
         JOIN package p ON p.base_id = r.base_id WHERE p.id = $1
         ORDER BY g.namespace NULLS FIRST, g.name",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let verdict = report.verdict();
    let mut v = serde_json::to_value(&report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("verdict".into(), json!(verdict));
        map.insert("groups".into(), json!(groups));
        map.insert(
            "builds".into(),
            json!(builds
                .iter()
                .map(|b| build_json(b, &tasks, None))
                .collect::<Vec<_>>()),
        );
        map.insert(
            "resolution_changes".into(),
            json!(resolutions
                .iter()
                .map(|(resolved, ts, problems)| json!({
                    "resolved": resolved, "timestamp": ts, "problems": problems
                }))
                .collect::<Vec<_>>()),
        );
    }
    Ok(Json(v))
}

/// `GET /api/v1/packages/<collection>/<name>/builds[?before=<build id>][&limit=N]`.
async fn package_builds(
    State(state): State<AppState>,
    Path((collection, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = QueryArgs::parse(raw.as_deref());
    let before = match query.get("before") {
        Some(b) => Some(
            b.parse::<i32>()
                .map_err(|_| AppError::BadRequest("before must be a build id".into()))?,
        ),
        None => None,
    };
    let limit = match query.get("limit") {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| AppError::BadRequest("limit must be between 1 and 100".into()))?,
        None => state.config.frontend.builds_per_page,
    };
    let c = find_collection(&state, &collection).await?;
    let id = package_id(&state, &c, &name).await?;
    let builds = builds::package_builds(&state.pool, id, before, limit).await?;
    let ids: Vec<i32> = builds.iter().map(|b| b.id).collect();
    let tasks = builds::load_tasks(&state.pool, &ids).await?;
    let changes = deps::applied_changes(&state.pool, &ids).await?;
    Ok(Json(json!(builds
        .iter()
        .map(|b| build_json(b, &tasks, Some(&changes)))
        .collect::<Vec<_>>())))
}

/// `GET /api/v1/packages/<collection>/<name>/dependency-changes[?page=N&per_page=M]`:
/// changes since the last build, nearest first (as many as the package
/// has dependencies).
async fn dependency_changes(
    State(state): State<AppState>,
    Path((collection, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryArgs::parse(raw.as_deref());
    let list = ListRequest::parse(&query, &state.config.frontend.limits)?;
    let c = find_collection(&state, &collection).await?;
    let id = package_id(&state, &c, &name).await?;
    let changes = deps::unapplied_changes(&state.pool, id).await?;
    let total = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    list.check_total(total)?;
    let (limit, offset) = list.limit_offset();
    let page: Vec<Value> = changes
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(change_json)
        .collect();
    let path = format!(
        "/api/v1/packages/{}/{}/dependency-changes",
        encode(&c.name),
        encode(&name)
    );
    Ok((list.headers(total, &path, &query), Json(json!(page))).into_response())
}

/// `GET /api/v1/builds/<id>`.
async fn build_detail(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> ApiResult<Json<Value>> {
    let build = builds::load_builds(&state.pool, &[id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::NotFound(format!("Build {id} not found")))?;
    let tasks = builds::load_tasks(&state.pool, &[id]).await?;
    let changes = deps::applied_changes(&state.pool, &[id]).await?;
    Ok(Json(build_json(&build, &tasks, Some(&changes))))
}

async fn collections_json(state: &AppState, only: Option<&str>) -> ApiResult<Vec<Value>> {
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
        .iter()
        .filter(|c| only.is_none_or(|n| n == c.name))
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut v {
                map.remove("id");
                let by_state: serde_json::Map<String, Value> = counts
                    .iter()
                    .filter(|(id, _, _)| *id == c.id)
                    .map(|(_, s, n)| (s.clone(), json!(n)))
                    .collect();
                map.insert("packages_by_state".into(), Value::Object(by_state));
                map.insert(
                    "buildroot_problems".into(),
                    json!(problems
                        .iter()
                        .filter(|(id, _)| *id == c.id)
                        .map(|(_, p)| p)
                        .collect::<Vec<_>>()),
                );
            }
            v
        })
        .collect())
}

/// `GET /api/v1/collections`.
async fn collections(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(collections_json(&state, None).await?)))
}

/// `GET /api/v1/collections/<name>`.
async fn collection_detail(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    collections_json(&state, Some(&name))
        .await?
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("Collection not found: {name}")).into())
}

/// `GET /api/v1/groups[?page=N&per_page=M]`: groups with maintainers and
/// package count.
async fn groups(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryArgs::parse(raw.as_deref());
    let list = ListRequest::parse(&query, &state.config.frontend.limits)?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM package_group")
        .fetch_one(&state.pool)
        .await?;
    list.check_total(total)?;
    let (limit, offset) = list.limit_offset();
    let rows = sqlx::query_as::<_, (String,)>(
        r#"SELECT json_build_object(
                'name', COALESCE(g.namespace || '/', '') || g.name,
                'namespace', g.namespace,
                'package_count', (SELECT count(*) FROM package_group_relation r
                                  JOIN base_package b ON b.id = r.base_id
                                  WHERE r.group_id = g.id AND NOT b.all_blocked),
                'maintainers', ARRAY(SELECT u.name FROM group_acl a JOIN "user" u ON u.id = a.user_id
                                     WHERE a.group_id = g.id ORDER BY u.name))::text
           FROM package_group g
           ORDER BY g.namespace NULLS FIRST, g.name LIMIT $1 OFFSET $2"#,
    )
    .bind(limit)
    .bind(offset);
    Ok(list.respond(
        state.pool.clone(),
        total,
        "/api/v1/groups",
        &query,
        rows,
        write_raw,
    ))
}

async fn group_json(state: &AppState, full: &str) -> ApiResult<Json<Value>> {
    let mut conn = state.pool.acquire().await?;
    let group = koschei_core::groups::find_group(&mut conn, full)
        .await
        .map_err(|e| match e {
            koschei_core::error::DataError::InvalidGroupName(_) => {
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
    Ok(Json(json!({
        "name": group.full_name(),
        "namespace": group.namespace,
        "maintainers": maintainers,
        "packages": packages,
    })))
}

/// `GET /api/v1/groups/<name>` (global group).
async fn group_global(
    State(state): State<AppState>,
    Path(first): Path<String>,
) -> ApiResult<Json<Value>> {
    group_json(&state, &first).await
}

/// `GET /api/v1/groups/<namespace>/<name>`.
async fn group_namespaced(
    State(state): State<AppState>,
    Path((first, second)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    group_json(&state, &format!("{first}/{second}")).await
}
