//! The package page (the original's `package_detail` in
//! `koschei/frontend/views.py`) and its edits: attributes and group
//! membership (`/package/<name>/edit`) and forced re-resolution
//! (`/package/<name>/resolve`).
//!
//! The page explains the package: its state, why its last build was
//! submitted (`build.submit_reason`), why it is or is not scheduled now
//! (the priority components against the threshold, or the skip reasons of
//! `package_skip_reasons()`), and it shows infrastructure failures as such.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDateTime;
use koschei_core::inspect::{self, PackageReport};
use koschei_core::installability;
use koschei_core::model::{BuildState, PackageState};
use koschei_core::packages::{self, PackageAttr, PackageRef};
use maud::{html, Markup};

use crate::cache::{Tag, Tags};
use crate::error::{AppError, AppResult};
use crate::http::context::{Collection, PageContext};
use crate::http::forms::FormData;
use crate::http::query::{encode, to_query};
use crate::http::session::{FlashKind, User};
use crate::pages::builds::{self, Build, KojiTask};
use crate::render::deps::{self, DepChange};
use crate::render::installability::card as installability_card;
use crate::render::layout::{self, Tab};
use crate::render::state_badges;
use crate::render::template;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/package/{name}", get(package_page))
        .route("/package/{name}/edit", post(edit_package))
        .route("/package/{name}/resolve", post(force_resolution))
}

/// Package columns the page needs beyond the inspector's report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PackageRow {
    pub id: i32,
    pub base_id: i32,
    pub name: String,
    pub collection_id: i32,
    pub state: String,
    pub infra_failures: i32,
    pub retry_after: Option<NaiveDateTime>,
    pub last_build_id: Option<i32>,
    pub last_complete_build_id: Option<i32>,
}

/// The package `name` in every collection where it exists.
pub async fn package_rows(ctx: &PageContext, name: &str) -> sqlx::Result<Vec<PackageRow>> {
    sqlx::query_as(
        "SELECT p.id, p.base_id, p.name, p.collection_id, package_state(p) AS state,
                p.infra_failures, p.retry_after, p.last_build_id, p.last_complete_build_id
         FROM package p WHERE p.name = $1",
    )
    .bind(name)
    .fetch_all(&ctx.pool)
    .await
}

/// One entry of the package history: a build or a resolution change.
enum HistoryEntry {
    Build(Box<Build>),
    Resolution {
        resolved: bool,
        timestamp: NaiveDateTime,
        problems: Vec<String>,
    },
}

impl HistoryEntry {
    fn time(&self) -> NaiveDateTime {
        match self {
            HistoryEntry::Build(b) => b.time,
            HistoryEntry::Resolution { timestamp, .. } => *timestamp,
        }
    }
}

/// Up to `limit` history entries strictly older than `before`.
async fn history(
    ctx: &PageContext,
    package_id: i32,
    before: Option<NaiveDateTime>,
    limit: i64,
) -> AppResult<(Vec<HistoryEntry>, Vec<KojiTask>, Vec<DepChange>)> {
    let keys: Vec<(String, i32)> = sqlx::query_as(
        r#"SELECT kind, id FROM (
             (SELECT 'build' AS kind, id, build_time(b) AS ts FROM build b
              WHERE package_id = $1 AND ($2::timestamp IS NULL OR build_time(b) < $2)
              ORDER BY build_time(b) DESC LIMIT $3)
             UNION ALL
             (SELECT 'resolution', id, "timestamp" FROM resolution_change
              WHERE package_id = $1 AND ($2::timestamp IS NULL OR "timestamp" < $2)
              ORDER BY "timestamp" DESC LIMIT $3)
           ) h ORDER BY ts DESC, id DESC LIMIT $3"#,
    )
    .bind(package_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&ctx.pool)
    .await?;
    let build_ids: Vec<i32> = keys
        .iter()
        .filter(|(k, _)| k == "build")
        .map(|(_, id)| *id)
        .collect();
    let resolution_ids: Vec<i32> = keys
        .iter()
        .filter(|(k, _)| k == "resolution")
        .map(|(_, id)| *id)
        .collect();
    let builds = builds::load_builds(&ctx.pool, &build_ids).await?;
    let tasks = builds::load_tasks(&ctx.pool, &build_ids).await?;
    let changes = deps::applied_changes(&ctx.pool, &build_ids).await?;
    let resolutions: Vec<(i32, bool, NaiveDateTime)> = sqlx::query_as(
        r#"SELECT id, resolved, "timestamp" FROM resolution_change WHERE id = ANY($1)"#,
    )
    .bind(&resolution_ids)
    .fetch_all(&ctx.pool)
    .await?;
    let problems: Vec<(i32, String)> = sqlx::query_as(
        "SELECT resolution_id, problem FROM resolution_problem
         WHERE resolution_id = ANY($1) ORDER BY id",
    )
    .bind(&resolution_ids)
    .fetch_all(&ctx.pool)
    .await?;
    let mut entries: Vec<HistoryEntry> = builds
        .into_iter()
        .map(|b| HistoryEntry::Build(Box::new(b)))
        .collect();
    entries.extend(resolutions.into_iter().map(|(id, resolved, timestamp)| {
        HistoryEntry::Resolution {
            resolved,
            timestamp,
            problems: problems
                .iter()
                .filter(|(r, _)| *r == id)
                .map(|(_, p)| p.clone())
                .collect(),
        }
    }));
    entries.sort_by_key(|e| std::cmp::Reverse(e.time()));
    Ok((entries, tasks, changes))
}

/// A group as shown in the package's Groups card.
#[derive(Debug, sqlx::FromRow)]
struct PackageGroup {
    id: i32,
    namespace: Option<String>,
    name: String,
    member: bool,
    editable: bool,
}

impl PackageGroup {
    fn full_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Groups containing the base package plus those the user may edit.
async fn package_groups(
    ctx: &PageContext,
    base_id: i32,
    user: Option<&User>,
) -> sqlx::Result<Vec<PackageGroup>> {
    sqlx::query_as(
        "SELECT g.id, g.namespace, g.name,
                EXISTS (SELECT 1 FROM package_group_relation r
                        WHERE r.group_id = g.id AND r.base_id = $1) AS member,
                COALESCE($3, false) OR EXISTS (SELECT 1 FROM group_acl a
                        WHERE a.group_id = g.id AND a.user_id = $2) AS editable
         FROM package_group g
         WHERE EXISTS (SELECT 1 FROM package_group_relation r
                       WHERE r.group_id = g.id AND r.base_id = $1)
            OR EXISTS (SELECT 1 FROM group_acl a WHERE a.group_id = g.id AND a.user_id = $2)
         ORDER BY g.namespace NULLS FIRST, g.name",
    )
    .bind(base_id)
    .bind(user.map(|u| u.id))
    .bind(user.map(|u| u.admin))
    .fetch_all(&ctx.pool)
    .await
}

/// Configured external links with `{package.…}` filled in; a link whose
/// value is missing is hidden.
fn external_links(ctx: &PageContext, name: &str, collection: &Collection) -> Vec<(String, String)> {
    let lookup = |key: &str| -> Option<String> {
        match key {
            "package.name" | "name" => Some(name.to_string()),
            "package.collection.name" => Some(collection.name.clone()),
            "package.collection.display_name" => Some(collection.display_name.clone()),
            "package.collection.target" => Some(collection.target.clone()),
            "package.collection.dest_tag" => Some(collection.dest_tag.clone()),
            "package.collection.build_tag" => Some(collection.build_tag.clone()),
            "package.collection.bugzilla_product" => collection.bugzilla_product.clone(),
            "package.collection.bugzilla_version" => collection.bugzilla_version.clone(),
            _ => None,
        }
    };
    ctx.config
        .links
        .iter()
        .filter_map(|l| Some((l.name.clone(), template::interpolate(&l.url, lookup, true)?)))
        .collect()
}

fn state_explanation(state: &str) -> &'static str {
    match state.parse::<PackageState>() {
        Ok(PackageState::Ok) => "The last complete build succeeded.",
        Ok(PackageState::Failing) => "The last complete build failed.",
        Ok(PackageState::Unresolved) => {
            "The build dependencies cannot be installed, so no build is attempted."
        }
        Ok(PackageState::Blocked) => "The package is blocked in Koji.",
        Ok(PackageState::Untracked) => "Koschei does not track this package in this collection.",
        Ok(PackageState::Unknown) | Err(_) => {
            "Not known yet: no finished build or no resolution result."
        }
    }
}

/// Why the package is or is not scheduled now.
fn scheduling_card(ctx: &PageContext, report: &PackageReport, row: &PackageRow) -> Markup {
    let p = &report.priority;
    let scheduled_now = p.current.is_some_and(|c| c >= p.threshold);
    html! {
        section.card #scheduling {
            h2 { "Scheduling" }
            p.verdict class=@if scheduled_now { "verdict-go" } @else if p.current.is_some() { "verdict-wait" } @else { "verdict-skip" } {
                (report.verdict())
            }
            @if !report.skip_reasons.is_empty() {
                p { "Not scheduled because:" }
                ul.skip-reasons { @for r in &report.skip_reasons { li { (r) } } }
            }
            @if row.infra_failures > 0 {
                p.infra-note {
                    (row.infra_failures) " consecutive infrastructure failure(s) since the last finished build"
                    @if let Some(t) = row.retry_after { "; next attempt not before " (layout::time(ctx, t)) " UTC" }
                    ". These are not package failures."
                }
            }
            table.kv.priority {
                tr { th { "Current priority" } td { @match p.current { Some(c) => (format!("{c:.2}")), None => span.muted { "none (not schedulable)" } } } }
                tr { th { "Threshold" } td { (p.threshold) } }
                tr { th { "Manual priority" } td { (p.manual) } }
                tr { th { "Static priority" } td { (p.r#static) } }
                tr { th { "Dependency priority" } td { (p.dependency) } }
                tr { th { "Build priority" } td { (p.build) } }
                tr { th { "Time priority" } td { @match p.time { Some(t) => (format!("{t:.2}")), None => "—" } } }
                tr { th { "Collection coefficient" } td { (p.coefficient) } }
            }
            p.formula.muted { "priority = manual + static + coefficient × (dependency + build + time)" }
        }
    }
}

/// The scheduler parameters and (for logged-in users) the edit form.
fn parameters_card(
    ctx: &PageContext,
    report: &PackageReport,
    collection: &Collection,
    name: &str,
) -> Markup {
    let p = &report.priority;
    html! {
        section.card #parameters {
            h2 { "Scheduler parameters" }
            table.kv {
                tr { th { "Tracked" } td { (if report.tracked { "yes" } else { "no" }) } }
                tr { th { "Manual priority" } td { (p.manual) } }
                tr { th { "Static priority" } td { (p.r#static) } }
                tr { th { "Arch override" } td { (report.arch_override.as_deref().unwrap_or("—")) } }
                tr { th { "Skip resolution" } td { (if report.skip_resolution { "yes" } else { "no" }) } }
                tr { th { "Resolved" } td { (match report.resolved { Some(true) => "yes", Some(false) => "no", None => "not yet" }) } }
            }
            @if ctx.user.is_some() {
                details.edit #edit-package {
                    summary { "Edit" }
                    form method="post" action={ "/package/" (encode(name)) "/edit" } {
                        (layout::csrf_field(ctx))
                        input type="hidden" name="collection_id" value=(collection.id);
                        input type="hidden" name="tracked__present" value="1";
                        input type="hidden" name="skip_resolution__present" value="1";
                        label { input type="checkbox" name="tracked" value="1" checked[report.tracked]; " Tracked" }
                        label { "Manual priority " input type="number" name="manual_priority" min=(-packages::PRIORITY_LIMIT) max=(packages::PRIORITY_LIMIT) value=(p.manual); }
                        label { input type="checkbox" name="skip_resolution" value="1" checked[report.skip_resolution]; " Skip resolution" }
                        label { "Arch override " input type="text" name="arch_override" value=(report.arch_override.as_deref().unwrap_or(""))
                            placeholder=(ctx.config.koji_config.build_arches.join(" ")); }
                        button type="submit" { "Save" }
                    }
                }
                form.inline method="post" action={ "/package/" (encode(name)) "/resolve" } {
                    (layout::csrf_field(ctx))
                    input type="hidden" name="collection_id" value=(collection.id);
                    button type="submit" title="Ask the resolver to check the build dependencies again" { "Force re-resolution" }
                }
            }
        }
    }
}

fn groups_card(
    ctx: &PageContext,
    groups: &[PackageGroup],
    collection: &Collection,
    name: &str,
) -> Markup {
    let shown: Vec<&PackageGroup> = groups
        .iter()
        .filter(|g| g.member && (g.namespace.is_none() || g.editable))
        .collect();
    let editable: Vec<&PackageGroup> = groups.iter().filter(|g| g.editable).collect();
    html! {
        section.card #groups {
            h2 { "Groups" }
            @if shown.is_empty() { p.muted { "In no group." } }
            ul { @for g in &shown { li { a href={ "/groups/" (g.full_name()) } { (g.full_name()) } } } }
            @if ctx.user.is_some() && !editable.is_empty() {
                details.edit {
                    summary { "Edit groups" }
                    form method="post" action={ "/package/" (encode(name)) "/edit" } {
                        (layout::csrf_field(ctx))
                        input type="hidden" name="collection_id" value=(collection.id);
                        @for g in &editable {
                            input type="hidden" name={ "group-prev-" (g.id) } value=(if g.member { "true" } else { "false" });
                            label { input type="checkbox" name={ "group-" (g.id) } value="1" checked[g.member]; " " (g.full_name()) }
                        }
                        button type="submit" { "Save groups" }
                    }
                }
            }
        }
    }
}

fn history_card(
    ctx: &PageContext,
    entries: &[HistoryEntry],
    tasks: &[KojiTask],
    changes: &[DepChange],
    collection: &Collection,
    name: &str,
    full_page: bool,
) -> Markup {
    let older = entries.last().filter(|_| full_page).map(|e| {
        format!(
            "/package/{}{}",
            encode(name),
            to_query(&[
                ("last_seen_ts", &e.time().and_utc().timestamp().to_string()),
                ("collection", &collection.name)
            ])
        )
    });
    html! {
        section.card.wide #history {
            h2 { @if ctx.query.has("last_seen_ts") { "Historical builds" } @else { "Most recent builds" } }
            @if entries.is_empty() { p.muted { "No builds or resolution changes." } }
            ul.history {
                @for e in entries {
                    @match e {
                        HistoryEntry::Build(b) => {
                            @let class = if b.is_infra() { "infra" } else if b.state() == Some(BuildState::Failed) { "failed" } else if b.real { "real" } else if b.untagged { "untagged" } else { "build" };
                            li class={ "entry entry-" (class) } {
                                (builds::task_tree(ctx, b, tasks))
                                @if b.untagged { p.muted { "This build is no longer tagged." } }
                                (builds::outcome_note(b))
                                details {
                                    summary { "Why it was built" }
                                    (builds::submit_reason(b))
                                }
                                (builds::build_changes(b, changes, 10))
                            }
                        }
                        HistoryEntry::Resolution { resolved, timestamp, problems } => {
                            li class={ "entry entry-resolution-" (if *resolved { "ok" } else { "failed" }) } {
                                (layout::time(ctx, *timestamp)) " "
                                @if *resolved { "Dependencies resolved successfully." } @else {
                                    "Dependency resolution failed:"
                                    ul.problems { @for p in problems.iter().take(5) { li { (p) } } }
                                    @if problems.len() > 5 {
                                        details { summary { "Show " (problems.len() - 5) " more problems" }
                                            ul.problems { @for p in problems.iter().skip(5) { li { (p) } } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(href) = older { p { a.button href=(href) { "Previous history" } } }
        }
    }
}

/// Picks the collection: the selected one, else the first (in display
/// order) where the package exists.
fn choose_collection<'a>(ctx: &'a PageContext, rows: &[PackageRow]) -> &'a Collection {
    if ctx.collection_selected {
        return &ctx.current[0];
    }
    ctx.collections
        .iter()
        .find(|c| rows.iter().any(|r| r.collection_id == c.id))
        .unwrap_or(&ctx.collections[0])
}

async fn package_page(ctx: PageContext, Path(name): Path<String>) -> AppResult<Response> {
    let before = match ctx.query.get("last_seen_ts") {
        Some(ts) => Some(
            ts.parse::<i64>()
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .map(|d| d.naive_utc())
                .ok_or_else(|| AppError::BadRequest("last_seen_ts must be an integer".into()))?,
        ),
        None => None,
    };
    let rows = package_rows(&ctx, &name).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound(format!("Package {name} not found")));
    }
    let collection = choose_collection(&ctx, &rows).clone();
    let tabs = html! {
        nav.collection-tabs aria-label="Collections" {
            @for c in &ctx.collections {
                @let state = rows.iter().find(|r| r.collection_id == c.id).map(|r| r.state.as_str());
                a href={ "/package/" (encode(&name)) "?collection=" (encode(&c.name)) }
                  class=@if c.id == collection.id { "active" } @else if state.is_none() { "absent" }
                  data-package=[state.map(|_| &name)] data-collection=[state.map(|_| &c.name)] {
                    (c.display_name) @if let Some(s) = state { " " (state_badges::state_icon(s)) }
                }
            }
        }
    };
    let Some(row) = rows.iter().find(|r| r.collection_id == collection.id) else {
        let content = html! {
            h1 { (name) }
            (tabs)
            div.alert.alert-danger { "Package " (name) " doesn't exist in collection " (collection.display_name) "." }
        };
        return Ok((
            axum::http::StatusCode::NOT_FOUND,
            layout::page(&ctx, &name, Tab::Packages, content),
        )
            .into_response());
    };
    let report = {
        let mut conn = ctx.pool.acquire().await?;
        inspect::package_report(
            &mut conn,
            &name,
            &collection.name,
            &ctx.config.priorities,
            0,
        )
        .await?
    };
    let unapplied = deps::unapplied_changes(&ctx.pool, row.id).await?;
    let installability = {
        let mut conn = ctx.pool.acquire().await?;
        installability::package_installability(&mut conn, &name, &collection.name).await?
    };
    let groups = package_groups(&ctx, row.base_id, ctx.user.as_ref()).await?;
    let (entries, tasks, changes) =
        history(&ctx, row.id, before, ctx.config.frontend.builds_per_page).await?;
    let full_page = entries.len() as i64 >= ctx.config.frontend.builds_per_page;
    let links = external_links(&ctx, &name, &collection);
    let bug_link = collection.bugzilla_product.is_some()
        && collection.bugzilla_version.is_some()
        && row.last_complete_build_id.is_some();
    let content = html! {
        h1 { (name) }
        (tabs)
        div.cards {
            section.card #info {
                h2 { "Package information" }
                p { (state_badges::state_badge(&report.state)) " " (state_explanation(&report.state)) }
                p.links {
                    @for (label, href) in &links { a.ext href=(href) { (label) } " " }
                }
                @if bug_link {
                    p { a.button href={ "/bugreport/" (encode(&name)) "?collection=" (encode(&collection.name)) } { "File new FTBFS bug" } }
                }
                h3 { "State overview" }
                ul.state-overview {
                    @for c in &ctx.collections {
                        @if let Some(r) = rows.iter().find(|r| r.collection_id == c.id) {
                            li { a href={ "/package/" (encode(&name)) "?collection=" (encode(&c.name)) }
                                   data-package=(name) data-collection=(c.name) {
                                (state_badges::state_icon(&r.state)) " " (c.display_name) } }
                        }
                    }
                }
            }
            (scheduling_card(&ctx, &report, row))
            (parameters_card(&ctx, &report, &collection, &name))
            (groups_card(&ctx, &groups, &collection, &name))
            section.card.wide #changes {
                h2 { "Dependency changes since last build" }
                @if unapplied.is_empty() { p.muted { "No dependency changes." } }
                @else { (deps::render_changes(&unapplied, &collection.name, 10)) }
            }
            (installability_card(&installability, &ctx.config.koji_config.weburl))
            (history_card(&ctx, &entries, &tasks, &changes, &collection, &name, full_page))
        }
    };
    let page = layout::page(&ctx, &name, Tab::Packages, content).into_response();
    // Every collection's row of this name, its groups and the frame; the
    // priorities and relative times change with time.
    let tags = Tags::new([Tag::Site, Tag::Groups, Tag::Base(row.base_id)]).time_dependent();
    Ok(tags.attach(page))
}

/// The collection named by the form's `collection_id` (400 when unknown)
/// and the package in it (404 when missing).
async fn form_package(
    ctx: &PageContext,
    form: &FormData,
    name: &str,
) -> AppResult<(Collection, PackageRef)> {
    let collection = form
        .get("collection_id")
        .and_then(|id| id.parse::<i32>().ok())
        .and_then(|id| ctx.collection_by_id(id))
        .cloned()
        .ok_or_else(|| AppError::BadRequest("Unknown collection".into()))?;
    let mut conn = ctx.pool.acquire().await?;
    let package = packages::packages_named(&mut conn, collection.id, &[name.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "Package {name} not found in collection {}",
                collection.name
            ))
        })?;
    Ok((collection, package))
}

fn package_url(name: &str, collection: &str) -> String {
    format!(
        "/package/{}?collection={}",
        encode(name),
        encode(collection)
    )
}

/// `POST /package/<name>/edit`: attributes (a checkbox counts only with its
/// `<name>__present` marker; absent fields stay unchanged) and group
/// membership (`group-<id>` against `group-prev-<id>`).
async fn edit_package(
    ctx: PageContext,
    Path(name): Path<String>,
    Form(form): Form<FormData>,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let (collection, package) = form_package(&ctx, &form, &name).await?;
    let back = crate::http::redirect::found(&package_url(&name, &collection.name));

    let mut attrs = Vec::new();
    let mut errors = Vec::new();
    if form.has("tracked__present") {
        attrs.push(PackageAttr::Tracked(form.checked("tracked")));
    }
    if form.has("skip_resolution__present") {
        attrs.push(PackageAttr::SkipResolution(form.checked("skip_resolution")));
    }
    if let Some(value) = form.get("manual_priority") {
        match packages::parse_priority(value) {
            Ok(v) => attrs.push(PackageAttr::ManualPriority(v)),
            Err(e) => errors.push(format!("Manual priority: {e}")),
        }
    }
    if let Some(value) = form.get("arch_override") {
        match packages::parse_arch_override(value, &ctx.config.koji_config.build_arches) {
            Ok(v) => attrs.push(PackageAttr::ArchOverride(v)),
            Err(e) => errors.push(format!("Arch override: {e}")),
        }
    }
    if !errors.is_empty() {
        ctx.session.flash(
            FlashKind::Danger,
            format!("Validation errors: {}", errors.join("; ")),
        );
        return Ok(back);
    }

    let mut tx = ctx.pool.begin().await?;
    let actor = user.actor();
    // Group membership changes; every changed group must be editable.
    let mut group_changes = Vec::new();
    for (key, prev) in form.pairs() {
        let Some(id) = key
            .strip_prefix("group-prev-")
            .and_then(|id| id.parse::<i32>().ok())
        else {
            continue;
        };
        // "true"/"false", as the original's package page sends them.
        let was = matches!(prev, "true" | "1");
        let now = form.checked(&format!("group-{id}"));
        if was != now {
            let group = crate::pages::groups::group_by_id(&mut tx, id)
                .await?
                .ok_or_else(|| AppError::BadRequest(format!("Unknown group id {id}")))?;
            if !crate::pages::groups::can_edit(&mut tx, &user, group.id).await? {
                return Err(AppError::Forbidden(
                    "You don't have permission to edit this group".into(),
                ));
            }
            group_changes.push((group, now));
        }
    }
    for (group, add) in &group_changes {
        crate::pages::groups::set_membership(&mut tx, &actor, group, package.base_id, &name, *add)
            .await?;
    }
    for attr in attrs {
        packages::set_attribute(
            &mut tx,
            &actor,
            &collection_ref(&collection),
            &package,
            attr,
        )
        .await?;
    }
    tx.commit().await?;
    ctx.session.flash(FlashKind::Success, "Package modified");
    Ok(back)
}

fn collection_ref(c: &Collection) -> koschei_core::collections::CollectionRef {
    koschei_core::collections::CollectionRef {
        id: c.id,
        name: c.name.clone(),
        display_name: c.display_name.clone(),
    }
}

/// `POST /package/<name>/resolve`: clears the resolution result so the
/// resolver checks the package's dependencies again.
async fn force_resolution(
    ctx: PageContext,
    Path(name): Path<String>,
    Form(form): Form<FormData>,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let (collection, package) = form_package(&ctx, &form, &name).await?;
    let mut tx = ctx.pool.begin().await?;
    koschei_core::resolution::request_reresolution(&mut tx, collection.id, Some(&[package.id]))
        .await?;
    user.actor()
        .log(
            &mut tx,
            &format!(
                "Package {name} (collection {}): re-resolution requested",
                collection.name
            ),
            Some(package.base_id),
        )
        .await?;
    tx.commit().await?;
    ctx.session.flash(
        FlashKind::Success,
        format!(
            "Re-resolution of {name} requested: the resolver will check its dependencies again."
        ),
    );
    Ok(crate::http::redirect::found(&package_url(
        &name,
        &collection.name,
    )))
}
