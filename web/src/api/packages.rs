//! Packages in the API: the list of every package (the original's
//! `koschei/frontend/api.py`), one package explained, and its pending
//! dependency changes.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use koschei_core::inspect;
use koschei_core::installability::{self, PackageInstallability};

use super::builds::{build, dependency_change};
use super::error::ApiResult;
use super::list::{KeysetPage, ListRequest};
use super::lookup::{check_collections, find_collection, package_id};
use super::params::{After, ApiQuery, PackagePath, PackagesFilter, Paging};
use super::types::{self, Error, LastBuild, PackageSummary};
use crate::cache::{Tag, Tags};
use crate::http::query::encode;
use crate::pages::builds;
use crate::render::deps;
use crate::state::AppState;

#[derive(sqlx::FromRow)]
struct PackageSummaryRow {
    name: String,
    collection: String,
    collection_order: i32,
    state: String,
    task_id: Option<i32>,
    started: Option<chrono::NaiveDateTime>,
    finished: Option<chrono::NaiveDateTime>,
    epoch: Option<i32>,
    version: Option<String>,
    release: Option<String>,
}

impl From<PackageSummaryRow> for PackageSummary {
    fn from(r: PackageSummaryRow) -> Self {
        PackageSummary {
            last_complete_build: r
                .task_id
                .zip(r.started)
                .map(|(task_id, started)| LastBuild {
                    task_id,
                    time_started: started,
                    time_finished: r.finished,
                    epoch: r.epoch,
                    version: r.version,
                    release: r.release,
                }),
            name: r.name,
            collection: r.collection,
            state: r.state,
        }
    }
}

/// Where a row stands in `/api/v1/packages`: package name, the order and
/// name of its collection (see `packages_order!`).
type PackageKey = (String, i32, String);

impl PackageSummaryRow {
    fn key(&self) -> PackageKey {
        (
            self.name.clone(),
            self.collection_order,
            self.collection.clone(),
        )
    }

    fn write(buf: &mut Vec<u8>, row: PackageSummaryRow) -> serde_json::Result<()> {
        serde_json::to_writer(buf, &PackageSummary::from(row))
    }
}

/// The columns of a [`PackageSummaryRow`].
macro_rules! packages_columns {
    () => {
        r#"SELECT p.name, c.name AS collection, c."order" AS collection_order,
                  package_state(p) AS state, b.task_id, b.started, b.finished,
                  b.epoch, b.version, b.release"#
    };
}

/// The order of `/api/v1/packages`: by name (the index `ix_package_name`),
/// then the collection shown first. Collection names are unique and a
/// package name is in a collection once, so the key is a row's own.
macro_rules! packages_order {
    () => {
        r#" ORDER BY p.name, c."order" DESC, c.name DESC"#
    };
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

/// All packages with their state and last complete build, ordered by name.
///
/// Tracked or not, blocked or not; for the same name the collection shown
/// first comes first.
#[utoipa::path(
    get,
    path = "/api/v1/packages",
    tag = "packages",
    params(PackagesFilter, Paging, After),
    responses(
        (status = 200, description = "Packages", body = [PackageSummary], headers(
            ("X-Total-Count" = i64, description = "Length of the whole list (not on keyset pages)"),
            ("Link" = String, description = "rel=\"prev\" and rel=\"next\" page URLs (paged requests); rel=\"next\" with the next `after` (keyset pages)"),
        )),
        (status = 400, description = "Bad page, per_page or after, page with after, or an unpaged list too long", body = Error),
        (status = 404, description = "Unknown collection", body = Error),
    )
)]
pub async fn list_packages(
    State(state): State<AppState>,
    filter: ApiQuery<PackagesFilter>,
    paging: ApiQuery<Paging>,
    after: ApiQuery<After>,
) -> ApiResult<Response> {
    let list =
        ListRequest::with_after(&paging.params, &after.params, &state.config.frontend.limits)?;
    let keyset = list.keyset::<PackageKey>()?;
    let collections = filter.params.collections();
    let names = filter.params.name;
    check_collections(&state, &collections).await?;
    if let Some(page) = keyset {
        let rows = keyset_page(&state, &collections, &names, page).await?;
        let path = "/api/v1/packages";
        let key = PackageSummaryRow::key;
        let answer =
            list.respond_keyset(path, &paging.args, rows, key, PackageSummaryRow::write)?;
        return Ok(cache_tags().attach(answer));
    }
    let total: i64 = sqlx::query_scalar(concat!("SELECT count(*)", packages_where!()))
        .bind(&collections)
        .bind(&names)
        .fetch_one(&state.pool)
        .await?;
    list.check_total(total)?;
    let (limit, offset) = list.limit_offset();
    let rows = sqlx::query_as::<_, PackageSummaryRow>(concat!(
        packages_columns!(),
        packages_where!(),
        packages_order!(),
        " LIMIT $3 OFFSET $4"
    ))
    .bind(collections)
    .bind(names)
    .bind(limit)
    .bind(offset);
    let answer = list.respond(
        state.pool.clone(),
        total,
        "/api/v1/packages",
        &paging.args,
        rows,
        PackageSummaryRow::write,
    );
    Ok(cache_tags().attach(answer))
}

/// The package list depends on the collections and on every package, for
/// the page cache.
fn cache_tags() -> Tags {
    Tags::new([Tag::Site, Tag::Packages])
}

/// The rows of a keyset page of `/api/v1/packages`: a range of
/// `ix_package_name` from the cursor's name on, never a sort of the
/// whole list (two statements, so that neither plan depends on whether
/// a cursor was given).
async fn keyset_page(
    state: &AppState,
    collections: &[String],
    names: &[String],
    page: KeysetPage<PackageKey>,
) -> sqlx::Result<Vec<PackageSummaryRow>> {
    let Some((name, order, collection)) = page.after else {
        return sqlx::query_as(concat!(
            packages_columns!(),
            packages_where!(),
            packages_order!(),
            " LIMIT $3"
        ))
        .bind(collections)
        .bind(names)
        .bind(page.limit)
        .fetch_all(&state.pool)
        .await;
    };
    sqlx::query_as(concat!(
        packages_columns!(),
        packages_where!(),
        r#" AND p.name >= $3 AND (p.name > $3 OR (c."order", c.name) < ($4, $5))"#,
        packages_order!(),
        " LIMIT $6"
    ))
    .bind(collections)
    .bind(names)
    .bind(name)
    .bind(order)
    .bind(collection)
    .bind(page.limit)
    .fetch_all(&state.pool)
    .await
}

/// A package explained: state, priority components, skip reasons, pending
/// dependency changes, recent builds with submit reasons, resolution
/// changes, groups.
#[utoipa::path(
    get,
    path = "/api/v1/packages/{collection}/{name}",
    tag = "packages",
    params(PackagePath),
    responses(
        (status = 200, description = "The package", body = types::PackageDetail),
        (status = 404, description = "Unknown collection or package", body = Error),
    )
)]
pub async fn package_detail(
    State(state): State<AppState>,
    Path(path): Path<PackagePath>,
) -> ApiResult<Json<types::PackageDetail>> {
    let c = find_collection(&state, &path.collection).await?;
    let id = package_id(&state, &c, &path.name).await?;
    let report = {
        let mut conn = state.pool.acquire().await?;
        inspect::package_report(&mut conn, &path.name, &c.name, &state.config.priorities, 0).await?
    };
    let limit = state.config.frontend.builds_per_page;
    let found = builds::package_builds(&state.pool, id, None, limit).await?;
    let ids: Vec<i32> = found.iter().map(|b| b.id).collect();
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
    Ok(Json(types::PackageDetail {
        arch_override: report.arch_override,
        blocked: report.blocked,
        builds: found.into_iter().map(|b| build(b, &tasks, None)).collect(),
        collection: report.collection,
        collection_display_name: report.collection_display_name,
        dependency_changes: report
            .dependency_changes
            .into_iter()
            .map(|c| types::PendingChange {
                curr_evr: c.curr_evr,
                distance: c.distance,
                name: c.name,
                prev_evr: c.prev_evr,
            })
            .collect(),
        groups,
        name: report.name,
        priority: report.priority.into(),
        resolution_changes: resolutions
            .into_iter()
            .map(|(resolved, timestamp, problems)| types::ResolutionChange {
                problems,
                resolved,
                timestamp,
            })
            .collect(),
        resolved: report.resolved,
        skip_reasons: report.skip_reasons,
        skip_resolution: report.skip_resolution,
        state: report.state,
        tracked: report.tracked,
        verdict,
    }))
}

/// Dependency changes since the package's last build, nearest first.
///
/// As many as the package has dependencies, answered page by page like
/// the other lists.
#[utoipa::path(
    get,
    path = "/api/v1/packages/{collection}/{name}/dependency-changes",
    tag = "packages",
    params(PackagePath, Paging),
    responses(
        (status = 200, description = "Changes", body = [types::DependencyChange], headers(
            ("X-Total-Count" = i64, description = "Length of the whole list"),
            ("Link" = String, description = "rel=\"prev\" and rel=\"next\" page URLs (paged requests)"),
        )),
        (status = 400, description = "Bad page or per_page, or an unpaged list too long", body = Error),
        (status = 404, description = "Unknown collection or package", body = Error),
    )
)]
pub async fn dependency_changes(
    State(state): State<AppState>,
    Path(path): Path<PackagePath>,
    paging: ApiQuery<Paging>,
) -> ApiResult<Response> {
    let list = ListRequest::new(&paging.params, &state.config.frontend.limits)?;
    let c = find_collection(&state, &path.collection).await?;
    let id = package_id(&state, &c, &path.name).await?;
    let changes = deps::unapplied_changes(&state.pool, id).await?;
    let total = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    list.check_total(total)?;
    let (limit, offset) = list.limit_offset();
    let page: Vec<types::DependencyChange> = changes
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(dependency_change)
        .collect();
    let url = format!(
        "/api/v1/packages/{}/{}/dependency-changes",
        encode(&c.name),
        encode(&path.name)
    );
    Ok((list.headers(total, &url, &paging.args), Json(page)).into_response())
}

/// The installability of the binary packages built from this source package in the
/// collection's latest checked repo (each installed alone into an empty root:
/// installable?, libsolv's problems, the install set's package count, download and
/// installed size), with their history: a row when a binary appeared, left, changed
/// version, outcome or package count, or a size moved by 1 % or more.
#[utoipa::path(
    get,
    path = "/api/v1/packages/{collection}/{name}/installability",
    tag = "packages",
    params(PackagePath),
    responses(
        (status = 200, description = "Binaries and history", body = PackageInstallability),
        (status = 404, description = "Unknown collection, or a package the collection neither tracks nor has binaries of", body = Error),
    )
)]
pub async fn package_installability(
    State(state): State<AppState>,
    Path(path): Path<PackagePath>,
) -> ApiResult<Json<PackageInstallability>> {
    let mut conn = state.pool.acquire().await?;
    let report =
        installability::package_installability(&mut conn, &path.name, &path.collection).await?;
    Ok(Json(report))
}
