//! Builds: the build page with its Koji task tree, logs, dependency changes
//! and the reason it was submitted, and the administrators' cancel action.
//! The rendering helpers here are shared with the package page's history.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDateTime;
use koschei_core::model::{BuildState, KojiTaskState};
use maud::{html, Markup};
use sqlx::PgPool;

use crate::error::{AppError, AppResult};
use crate::http::context::PageContext;
use crate::http::query::encode;
use crate::http::session::FlashKind;
use crate::render::deps;
use crate::render::layout::{self, Tab};
use crate::render::state_badges;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/build/{id}", get(build_page))
        .route("/build/{id}/cancel", post(cancel_build))
}

/// A build with its package and collection names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Build {
    pub id: i32,
    pub package_id: i32,
    pub package_name: String,
    pub collection: String,
    pub collection_secondary: bool,
    pub state_code: i32,
    pub task_id: i32,
    pub started: NaiveDateTime,
    pub finished: Option<NaiveDateTime>,
    /// When a real build was (last) seen tagged into the collection.
    pub tagged: Option<NaiveDateTime>,
    /// `build_time(b)`: the time the build counts from (tagging time for
    /// real builds merged later, else its start).
    pub time: NaiveDateTime,
    pub epoch: Option<i32>,
    pub version: Option<String>,
    pub release: Option<String>,
    pub repo_id: Option<i32>,
    pub real: bool,
    pub untagged: bool,
    pub deps_resolved: Option<bool>,
    pub cancel_requested: bool,
    /// Priority components at submission: why the build was made.
    pub submit_reason: Option<serde_json::Value>,
    /// Cause of an infrastructure failure.
    pub failure_reason: Option<String>,
}

const BUILD_COLUMNS: &str = "b.id, b.package_id, p.name AS package_name, c.name AS collection,
    c.secondary_mode AS collection_secondary, b.state AS state_code, b.task_id, b.started,
    b.finished, b.tagged, build_time(b) AS time, b.epoch, b.version, b.release, b.repo_id, b.real, b.untagged, b.deps_resolved,
    b.cancel_requested, b.submit_reason, b.failure_reason";

/// Loads builds by id (newest first).
pub async fn load_builds(pool: &PgPool, ids: &[i32]) -> sqlx::Result<Vec<Build>> {
    sqlx::query_as(&format!(
        "SELECT {BUILD_COLUMNS} FROM build b
         JOIN package p ON p.id = b.package_id JOIN collection c ON c.id = p.collection_id
         WHERE b.id = ANY($1) ORDER BY build_time(b) DESC, b.id DESC"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// Builds of a package, newest first, optionally only those older than
/// build `before` (keyset pagination).
pub async fn package_builds(
    pool: &PgPool,
    package_id: i32,
    before: Option<i32>,
    limit: i64,
) -> sqlx::Result<Vec<Build>> {
    sqlx::query_as(&format!(
        "SELECT {BUILD_COLUMNS} FROM build b
         JOIN package p ON p.id = b.package_id JOIN collection c ON c.id = p.collection_id
         WHERE b.package_id = $1
           AND ($2::int IS NULL OR (build_time(b), b.id) <
                (SELECT build_time(o), o.id FROM build o WHERE o.id = $2))
         ORDER BY build_time(b) DESC, b.id DESC LIMIT $3"
    ))
    .bind(package_id)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

impl Build {
    pub fn state(&self) -> Option<BuildState> {
        BuildState::from_code(self.state_code).ok()
    }

    /// Canceled, timed out or infrastructure failure: says nothing about
    /// the package.
    pub fn is_infra(&self) -> bool {
        self.state().is_some_and(BuildState::is_infra_outcome)
    }

    /// `name-version-release` when known.
    pub fn nvr(&self) -> Option<String> {
        Some(format!(
            "{}-{}-{}",
            self.package_name,
            self.version.as_deref()?,
            self.release.as_deref()?
        ))
    }
}

/// A Koji task of a build (one per arch).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KojiTask {
    pub build_id: i32,
    pub task_id: i32,
    pub arch: String,
    pub state: i32,
    pub started: NaiveDateTime,
    pub finished: Option<NaiveDateTime>,
}

/// The Koji tasks of the given builds.
pub async fn load_tasks(pool: &PgPool, build_ids: &[i32]) -> sqlx::Result<Vec<KojiTask>> {
    if build_ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT build_id, task_id, arch, state, started, finished FROM koji_task
         WHERE build_id = ANY($1) ORDER BY arch",
    )
    .bind(build_ids)
    .fetch_all(pool)
    .await
}

/// Koji web and files URLs for a build (secondary hub for real builds of
/// secondary-mode collections).
fn koji_urls<'a>(ctx: &'a PageContext, build: &Build) -> (&'a str, &'a str) {
    let k = if build.real && build.collection_secondary {
        &ctx.config.secondary_koji_config
    } else {
        &ctx.config.koji_config
    };
    (&k.weburl, &k.topurl)
}

fn task_state_name(code: i32) -> &'static str {
    KojiTaskState::try_from(i64::from(code))
        .map(KojiTaskState::name)
        .unwrap_or("?")
}

/// The Koji task tree of a build: the parent task and per-arch subtasks
/// with their logs.
pub fn task_tree(ctx: &PageContext, build: &Build, tasks: &[KojiTask]) -> Markup {
    let (weburl, topurl) = koji_urls(ctx, build);
    let logs = |task_id: i32| format!("{topurl}/work/tasks/{}/{task_id}", task_id % 10000);
    html! {
        div.task-tree {
            (state_badges::build_state_badge(build.state_code)) " "
            a href=(layout::koji_task_url(weburl, build.task_id)) { "Task " (build.task_id) } " "
            (layout::time(ctx, build.started))
            @if build.real {
                @if let (Some(v), Some(r)) = (&build.version, &build.release) {
                    " · " a href={ (weburl) "/search?match=exact&type=build&terms=" (encode(&format!("{}-{v}-{r}", build.package_name))) } { "real build" }
                }
            }
            " · " a href={ "/build/" (build.id) } { "details" }
            @let own: Vec<&KojiTask> = tasks.iter().filter(|t| t.build_id == build.id).collect();
            @if !own.is_empty() {
                ul.subtasks {
                    @for t in own {
                        li {
                            span class={ "task-state task-" (task_state_name(t.state).to_lowercase()) } { (task_state_name(t.state)) } " "
                            (t.arch) " "
                            a href=(layout::koji_task_url(weburl, t.task_id)) { (t.task_id) } " "
                            a href={ (logs(t.task_id)) "/build.log" } { "build.log" } " "
                            a href={ (logs(t.task_id)) "/root.log" } { "root.log" }
                        }
                    }
                }
            }
        }
    }
}

/// Says what an outcome means for the package; infrastructure outcomes are
/// never package failures.
pub fn outcome_note(build: &Build) -> Markup {
    match build.state() {
        Some(BuildState::Canceled | BuildState::TimedOut | BuildState::InfraFailure) => html! {
            p.infra-note {
                strong { "Infrastructure problem, not a package failure" }
                @if let Some(reason) = &build.failure_reason { ": " (reason) }
                ". It does not change the package's state; the package is retried after a back-off."
            }
        },
        Some(BuildState::Failed) => html! {
            p.failed-note { "The package failed to build." }
        },
        _ => html! {},
    }
}

/// Display order of the recorded priority components.
const REASON_ORDER: [&str; 8] = [
    "priority",
    "threshold",
    "manual",
    "static",
    "dependency",
    "build",
    "time",
    "coefficient",
];

fn label(key: &str) -> String {
    match key {
        "manual" | "manual_priority" => "Manual priority".into(),
        "static" | "static_priority" => "Static priority".into(),
        "dependency" | "dependency_priority" => "Dependency priority".into(),
        "build" | "build_priority" => "Build priority".into(),
        "time" | "time_priority" => "Time priority".into(),
        "coefficient" | "priority_coefficient" => "Collection coefficient".into(),
        "current" | "priority" | "total" => "Priority at submission".into(),
        "threshold" | "build_threshold" => "Threshold".into(),
        other => other.replace('_', " "),
    }
}

fn json_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 => format!("{f:.2}"),
            _ => n.to_string(),
        },
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// Why a build was submitted: the priority components recorded at
/// submission (`build.submit_reason`).
pub fn submit_reason(build: &Build) -> Markup {
    if build.real {
        return html! { p { "A real (non-scratch) build registered from Koji." } };
    }
    match &build.submit_reason {
        Some(serde_json::Value::Object(map)) => {
            // Known components first, in formula order, then anything else.
            let mut keys: Vec<&String> = REASON_ORDER
                .iter()
                .filter_map(|k| map.get_key_value(*k).map(|(k, _)| k))
                .collect();
            keys.extend(map.keys().filter(|k| !REASON_ORDER.contains(&k.as_str())));
            html! {
                p { "Submitted by the scheduler because its priority reached the threshold:" }
                table.kv.submit-reason {
                    @for k in keys { tr { th { (label(k)) } td { (json_value(&map[k])) } } }
                }
            }
        }
        Some(serde_json::Value::String(text)) => html! { p { (text) } },
        Some(other) => html! { p { "Submit reason: " code { (other.to_string()) } } },
        None => html! { p.muted { "No submit reason was recorded for this build." } },
    }
}

/// The applied dependency changes of a build, or why there are none.
pub fn build_changes(build: &Build, changes: &[deps::DepChange], shown: usize) -> Markup {
    let own: Vec<deps::DepChange> = changes
        .iter()
        .filter(|c| c.build_id == Some(build.id))
        .cloned()
        .collect();
    match build.deps_resolved {
        Some(false) => html! { p.muted { "Dependency changes couldn't be processed." } },
        None if build.repo_id.is_some() => {
            html! { p.muted { "Dependency changes weren't processed yet." } }
        }
        _ if own.is_empty() => html! { p.muted { "No dependency changes." } },
        _ => deps::render_changes(&own, &build.collection, shown),
    }
}

async fn build_page(ctx: PageContext, Path(id): Path<i32>) -> AppResult<Response> {
    let build = load_builds(&ctx.pool, &[id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::NotFound(format!("Build {id} not found")))?;
    let tasks = load_tasks(&ctx.pool, &[id]).await?;
    let changes = deps::applied_changes(&ctx.pool, &[id]).await?;
    let admin = ctx.user.as_ref().is_some_and(|u| u.admin);
    let nvr = build.nvr();
    let content = html! {
        h1 { "Build of " a href={ "/package/" (encode(&build.package_name)) "?collection=" (encode(&build.collection)) } { (build.package_name) } }
        div.cards {
            section.card {
                h2 { "Build information" }
                table.kv {
                    tr { th { "State" } td { (state_badges::build_state_badge(build.state_code))
                        @if build.cancel_requested { " " span.badge { "cancelation requested" } } } }
                    tr { th { "Package" } td { (build.package_name) } }
                    tr { th { "Collection" } td { a href={ "/collection/" (encode(&build.collection)) } { (build.collection) } } }
                    tr { th { "Epoch" } td { (build.epoch.map(|e| e.to_string()).unwrap_or_default()) } }
                    tr { th { "Version" } td { (build.version.as_deref().unwrap_or("")) } }
                    tr { th { "Release" } td { (build.release.as_deref().unwrap_or("")) } }
                    tr { th { "Started" } td { (layout::time(&ctx, build.started)) } }
                    tr { th { "Finished" } td { (layout::time_opt(&ctx, build.finished)) } }
                    @if let Some(tagged) = build.tagged { tr { th { "Tagged" } td { (layout::time(&ctx, tagged)) } } }
                    tr { th { "Koji repo id" } td { (build.repo_id.map(|r| r.to_string()).unwrap_or_default()) } }
                    tr { th { "Kind" } td { (if build.real { "real build" } else { "scratch build" })
                        @if build.untagged { " (no longer tagged)" } } }
                    @if let Some(nvr) = &nvr { tr { th { "NVR" } td { (nvr) } } }
                }
                (outcome_note(&build))
            }
            section.card {
                h2 { "Why it was built" }
                (submit_reason(&build))
            }
            section.card.wide {
                h2 { "Koji tasks" }
                (task_tree(&ctx, &build, &tasks))
                @if admin && build.state() == Some(BuildState::Running) && !build.cancel_requested {
                    form.inline method="post" action={ "/build/" (build.id) "/cancel" } {
                        (layout::csrf_field(&ctx))
                        button.danger type="submit" { "Cancel build" }
                    }
                }
            }
            section.card.wide {
                h2 { "Dependency changes from the previous build" }
                (build_changes(&build, &changes, usize::MAX))
            }
        }
    };
    Ok(layout::page(
        &ctx,
        &format!("{} - build {}", build.package_name, build.task_id),
        Tab::Packages,
        content,
    )
    .into_response())
}

/// `POST /build/<id>/cancel` (admins): asks the backend to cancel a running
/// build.
async fn cancel_build(ctx: PageContext, Path(id): Path<i32>) -> AppResult<Response> {
    let user = ctx.require_admin()?;
    let mut tx = ctx.pool.begin().await?;
    let row: Option<(BuildState, i32, bool)> = sqlx::query_as(
        "SELECT state, task_id, cancel_requested FROM build WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (state, task_id, requested) =
        row.ok_or_else(|| AppError::NotFound(format!("Build {id} not found")))?;
    if state != BuildState::Running {
        ctx.session
            .flash(FlashKind::Danger, "Only running builds can be canceled.");
    } else if requested {
        ctx.session.flash(
            FlashKind::Danger,
            "Build already has pending cancelation request.",
        );
    } else {
        sqlx::query("UPDATE build SET cancel_requested = true WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let actor = user.actor();
        let base_id: i32 = sqlx::query_scalar(
            "SELECT p.base_id FROM build b JOIN package p ON p.id = b.package_id WHERE b.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        actor
            .log(
                &mut tx,
                &format!("Build (id={id}, task_id={task_id}) cancelation requested"),
                Some(base_id),
            )
            .await?;
        tx.commit().await?;
        ctx.session
            .flash(FlashKind::Success, "Cancelation request sent.");
    }
    Ok(crate::http::redirect::found(&format!("/build/{id}")))
}
