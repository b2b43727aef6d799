//! Package groups: the group list, a group's page (maintainers and package
//! table) and creating, editing and deleting groups (the original's
//! `koschei/frontend/views.py`, `templates/group-detail.html`).
//! Editable = administrator or listed maintainer; new groups belong to the
//! creator's namespace; global groups are created and renamed by the CLI.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use koschei_core::audit::Actor;
use koschei_core::error::{is_valid_name, is_valid_user_name, DataError};
use koschei_core::groups::{self as core_groups, GroupRef};
use maud::{html, Markup};
use sqlx::PgConnection;

use crate::error::{AppError, AppResult};
use crate::http::context::PageContext;
use crate::http::forms::FormData;
use crate::http::query::split_names;
use crate::http::session::FlashKind;
use crate::http::session::User;
use crate::render::layout::{self, Tab};
use crate::render::package_table::{self, NameFilter, TableOptions};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list_handler))
        .route("/groups/{first}", get(detail_global))
        .route("/groups/{first}/{second}", get(detail_namespaced))
        .route(
            "/groups/{first}/edit",
            get(edit_global).post(edit_global_post),
        )
        .route(
            "/groups/{first}/{second}/edit",
            get(edit_namespaced).post(edit_namespaced_post),
        )
        .route(
            "/groups/{first}/delete",
            get(delete_global).post(delete_global_post),
        )
        .route(
            "/groups/{first}/{second}/delete",
            get(delete_namespaced).post(delete_namespaced_post),
        )
        .route("/add-group", get(add_group).post(add_group_post))
}

/// A group by id.
pub async fn group_by_id(conn: &mut PgConnection, id: i32) -> sqlx::Result<Option<GroupRef>> {
    sqlx::query_as("SELECT id, namespace, name FROM package_group WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Whether `user` may edit the group (administrator or maintainer).
pub async fn can_edit(conn: &mut PgConnection, user: &User, group_id: i32) -> sqlx::Result<bool> {
    if user.admin {
        return Ok(true);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM group_acl WHERE group_id = $1 AND user_id = $2)",
    )
    .bind(group_id)
    .bind(user.id)
    .fetch_one(conn)
    .await
}

/// Adds or removes one base package, with the audit entry
/// `Group <name> modified: package <p> added/removed`.
pub async fn set_membership(
    conn: &mut PgConnection,
    actor: &Actor,
    group: &GroupRef,
    base_id: i32,
    name: &str,
    add: bool,
) -> sqlx::Result<()> {
    let changed = if add {
        sqlx::query(
            "INSERT INTO package_group_relation (group_id, base_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
    } else {
        sqlx::query("DELETE FROM package_group_relation WHERE group_id = $1 AND base_id = $2")
    }
    .bind(group.id)
    .bind(base_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if changed {
        let verb = if add { "added" } else { "removed" };
        actor
            .log(
                conn,
                &format!(
                    "Group {} modified: package {name} {verb}",
                    group.full_name()
                ),
                Some(base_id),
            )
            .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct GroupSummary {
    namespace: Option<String>,
    name: String,
    package_count: i64,
}

impl GroupSummary {
    fn full_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

fn group_table(groups: &[GroupSummary]) -> Markup {
    html! {
        table.groups {
            thead { tr { th { "Group" } th.num { "Packages" } } }
            tbody {
                @for g in groups {
                    tr {
                        td { a href={ "/groups/" (g.full_name()) } { (g.full_name()) } }
                        td.num { span.badge { (g.package_count) } }
                    }
                }
                @if groups.is_empty() { tr { td colspan="2" .muted { "No groups." } } }
            }
        }
    }
}

async fn list_handler(ctx: PageContext) -> AppResult<Response> {
    group_list(ctx).await
}

/// `/groups`: global groups, and the user's own groups when logged in.
pub async fn group_list(ctx: PageContext) -> AppResult<Response> {
    let user = ctx.user.as_ref();
    let groups: Vec<(bool, GroupSummary)> =
        sqlx::query_as::<_, (bool, String, Option<String>, i64)>(
            "SELECT g.namespace IS NULL AS global, g.name, g.namespace,
                count(b.id) FILTER (WHERE NOT b.all_blocked) AS package_count
         FROM package_group g
         LEFT JOIN package_group_relation r ON r.group_id = g.id
         LEFT JOIN base_package b ON b.id = r.base_id
         WHERE g.namespace IS NULL OR g.namespace = $1
            OR g.id IN (SELECT group_id FROM group_acl WHERE user_id = $2)
         GROUP BY g.id ORDER BY g.namespace NULLS FIRST, g.name",
        )
        .bind(user.map(|u| u.name.clone()))
        .bind(user.map(|u| u.id))
        .fetch_all(&ctx.pool)
        .await?
        .into_iter()
        .map(|(global, name, namespace, package_count)| {
            (
                global,
                GroupSummary {
                    namespace,
                    name,
                    package_count,
                },
            )
        })
        .collect();
    let (global, mine): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(g, _)| *g);
    let global: Vec<GroupSummary> = global.into_iter().map(|(_, g)| g).collect();
    let mine: Vec<GroupSummary> = mine.into_iter().map(|(_, g)| g).collect();
    let content = html! {
        h1 { "Groups" }
        @if user.is_some() {
            p { a.button href="/add-group" { "Create new group" } }
        }
        div.cards {
            section.card { h2 { "Global Groups" } (group_table(&global)) }
            @if user.is_some() {
                section.card #my-groups { h2 { "My Groups" } (group_table(&mine)) }
            }
        }
    };
    Ok(layout::page(&ctx, "Groups", Tab::Groups, content).into_response())
}

fn full_name(first: &str, second: Option<&str>) -> String {
    match second {
        Some(second) => format!("{first}/{second}"),
        None => first.to_string(),
    }
}

async fn find(ctx: &PageContext, full: &str) -> AppResult<GroupRef> {
    let mut conn = ctx.pool.acquire().await?;
    match core_groups::find_group(&mut conn, full).await {
        Ok(g) => Ok(g),
        Err(DataError::InvalidGroupName(_)) | Err(DataError::GroupNotFound(_)) => {
            Err(AppError::NotFound(format!("Group {full} not found")))
        }
        Err(e) => Err(e.into()),
    }
}

async fn maintainers(ctx: &PageContext, group: &GroupRef) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        r#"SELECT u.name FROM group_acl a JOIN "user" u ON u.id = a.user_id
           WHERE a.group_id = $1 ORDER BY u.name"#,
    )
    .bind(group.id)
    .fetch_all(&ctx.pool)
    .await
}

async fn editable(ctx: &PageContext, group: &GroupRef) -> AppResult<bool> {
    match &ctx.user {
        Some(user) => Ok(can_edit(&mut *ctx.pool.acquire().await?, user, group.id).await?),
        None => Ok(false),
    }
}

async fn detail_global(ctx: PageContext, Path(first): Path<String>) -> AppResult<Response> {
    group_detail(ctx, full_name(&first, None)).await
}

async fn detail_namespaced(
    ctx: PageContext,
    Path((first, second)): Path<(String, String)>,
) -> AppResult<Response> {
    group_detail(ctx, full_name(&first, Some(&second))).await
}

/// A group's page: maintainers and its package table.
async fn group_detail(ctx: PageContext, full: String) -> AppResult<Response> {
    let group = find(&ctx, &full).await?;
    let maintainers = maintainers(&ctx, &group).await?;
    let can_edit = editable(&ctx, &group).await?;
    let table = package_table::render(
        &ctx,
        TableOptions {
            filter: NameFilter::Group(group.id),
            untracked_toggle: true,
        },
    )
    .await?;
    let content = html! {
        h1 { "Group " (full) }
        p.maintainers {
            "Maintainers: "
            @for (i, m) in maintainers.iter().enumerate() {
                @if i > 0 { ", " }
                a href={ "/user/" (crate::http::query::encode(m)) } { (m) }
            }
            @if maintainers.is_empty() { span.muted { "none" } }
        }
        @if can_edit {
            p.actions {
                a.button href={ "/groups/" (full) "/edit" } { "Edit group" } " "
                a.button.danger href={ "/groups/" (full) "/delete" } { "Delete group" }
            }
        }
        (layout::collection_tabs(&ctx, true, None))
        (table)
    };
    Ok(layout::page(&ctx, &format!("{full} group"), Tab::Groups, content).into_response())
}

/// Values of the group form.
#[derive(Default)]
struct GroupForm {
    name: String,
    maintainers: String,
    packages: String,
}

fn group_form(ctx: &PageContext, action: &str, form: &GroupForm, global: bool) -> Markup {
    html! {
        form.group-form method="post" action=(action) {
            (layout::csrf_field(ctx))
            label { "Name"
                input type="text" name="name" value=(form.name) required pattern="[a-zA-Z0-9.+_-]+" disabled[global];
            }
            @if global { p.muted { "Global groups can only be renamed with koschei-admin." } }
            label { "Maintainers (user names, separated by commas or spaces)"
                input type="text" name="owners" value=(form.maintainers) required;
            }
            label { "Packages (one per line or separated by commas or spaces)"
                textarea name="packages" rows="12" required { (form.packages) }
            }
            button type="submit" { "Save" }
        }
    }
}

fn form_page(
    ctx: &PageContext,
    title: &str,
    action: &str,
    form: &GroupForm,
    global: bool,
) -> Response {
    let content = html! { h1 { (title) } (group_form(ctx, action, form, global)) };
    layout::page(ctx, title, Tab::Groups, content).into_response()
}

/// Checks the fields; returns (name, maintainers, packages) or the message
/// naming the problem.
fn validate(
    form: &FormData,
    require_name: bool,
) -> Result<(String, Vec<String>, Vec<String>), String> {
    let name = form.text("name");
    if require_name && !is_valid_name(&name) {
        return Err(format!(
            "Invalid group name {name:?}: use letters, digits and .+_-"
        ));
    }
    let maintainers = split_names(&form.text(OWNERS_FIELD));
    if maintainers.is_empty() {
        return Err("Maintainers: at least one user name is required".into());
    }
    if let Some(bad) = maintainers.iter().find(|m| !is_valid_user_name(m)) {
        return Err(format!(
            "Invalid maintainer name {bad:?}: no control characters or / ? # \\ %"
        ));
    }
    let packages = split_names(&form.text("packages"));
    if packages.is_empty() {
        return Err("Packages: at least one package is required".into());
    }
    if let Some(bad) = packages.iter().find(|p| !is_valid_name(p)) {
        return Err(format!("Invalid package name {bad:?}"));
    }
    Ok((name, maintainers, packages))
}

/// The form field of the group's maintainers, named as in the original's
/// `GroupForm` (`koschei/frontend/forms.py`).
const OWNERS_FIELD: &str = "owners";

fn submitted(form: &FormData) -> GroupForm {
    GroupForm {
        name: form.text("name"),
        maintainers: form.text(OWNERS_FIELD),
        packages: form.text("packages"),
    }
}

async fn add_group(ctx: PageContext) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let form = GroupForm {
        maintainers: user.name.clone(),
        ..GroupForm::default()
    };
    Ok(form_page(
        &ctx,
        "Create new group",
        "/add-group",
        &form,
        false,
    ))
}

async fn add_group_post(ctx: PageContext, Form(form): Form<FormData>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let fail = |ctx: &PageContext, message: String| {
        ctx.session.flash(FlashKind::Danger, message);
        Ok(form_page(
            ctx,
            "Create new group",
            "/add-group",
            &submitted(&form),
            false,
        ))
    };
    let (name, maintainers, packages) = match validate(&form, true) {
        Ok(v) => v,
        Err(message) => return fail(&ctx, message),
    };
    let full = format!("{}/{name}", user.name);
    let mut tx = ctx.pool.begin().await?;
    let actor = user.actor();
    let result = async {
        let group = core_groups::create_group(&mut tx, &actor, &full).await?;
        core_groups::set_group_content(&mut tx, &actor, &group, &packages, false).await?;
        core_groups::set_group_maintainers(&mut tx, &actor, &group, &maintainers, false).await?;
        Ok::<_, DataError>(group)
    }
    .await;
    match result {
        Ok(_) => {
            tx.commit().await?;
            ctx.session.flash(FlashKind::Success, "Group created");
            Ok(crate::http::redirect::found(&format!("/groups/{full}")))
        }
        Err(DataError::Db(e)) => Err(e.into()),
        Err(DataError::GroupExists(_)) => fail(&ctx, "Group already exists".into()),
        Err(e) => fail(&ctx, e.to_string()),
    }
}

/// The group, if the logged-in user may edit it (`denied` otherwise).
async fn editable_group(
    ctx: &PageContext,
    full: &str,
    denied: fn(String) -> AppError,
) -> AppResult<(User, GroupRef)> {
    let user = ctx.require_user()?.clone();
    let group = find(ctx, full).await?;
    if !can_edit(&mut *ctx.pool.acquire().await?, &user, group.id).await? {
        return Err(denied(
            "You don't have permission to edit this group".into(),
        ));
    }
    Ok((user, group))
}

async fn edit_form(ctx: PageContext, full: String) -> AppResult<Response> {
    let (_, group) = editable_group(&ctx, &full, AppError::Forbidden).await?;
    let packages =
        core_groups::group_package_names(&mut *ctx.pool.acquire().await?, &group).await?;
    let form = GroupForm {
        name: group.name.clone(),
        maintainers: maintainers(&ctx, &group).await?.join(", "),
        packages: packages.join("\n"),
    };
    Ok(form_page(
        &ctx,
        &format!("Edit group {full}"),
        &format!("/groups/{full}/edit"),
        &form,
        group.namespace.is_none(),
    ))
}

async fn edit_submit(ctx: PageContext, full: String, form: FormData) -> AppResult<Response> {
    let (user, group) = editable_group(&ctx, &full, AppError::Forbidden).await?;
    let global = group.namespace.is_none();
    let title = format!("Edit group {full}");
    let action = format!("/groups/{full}/edit");
    let fail = |ctx: &PageContext, message: String| {
        ctx.session.flash(FlashKind::Danger, message);
        let mut values = submitted(&form);
        if global {
            values.name = group.name.clone();
        }
        Ok(form_page(ctx, &title, &action, &values, global))
    };
    let (name, maintainers, packages) = match validate(&form, !global) {
        Ok(v) => v,
        Err(message) => return fail(&ctx, message),
    };
    let mut tx = ctx.pool.begin().await?;
    let actor = user.actor();
    let result = async {
        let group = if global {
            group.clone()
        } else {
            core_groups::rename_group(&mut tx, &actor, &group, Some(&name), None).await?
        };
        core_groups::set_group_content(&mut tx, &actor, &group, &packages, false).await?;
        core_groups::set_group_maintainers(&mut tx, &actor, &group, &maintainers, false).await?;
        Ok::<_, DataError>(group)
    }
    .await;
    match result {
        Ok(renamed) => {
            tx.commit().await?;
            ctx.session.flash(FlashKind::Success, "Group modified");
            Ok(crate::http::redirect::found(&format!(
                "/groups/{}",
                renamed.full_name()
            )))
        }
        Err(DataError::Db(e)) => Err(e.into()),
        Err(DataError::GroupExists(_)) => fail(&ctx, "Group already exists".into()),
        Err(e) => fail(&ctx, e.to_string()),
    }
}

async fn edit_global(ctx: PageContext, Path(first): Path<String>) -> AppResult<Response> {
    edit_form(ctx, full_name(&first, None)).await
}

async fn edit_namespaced(
    ctx: PageContext,
    Path((first, second)): Path<(String, String)>,
) -> AppResult<Response> {
    edit_form(ctx, full_name(&first, Some(&second))).await
}

async fn edit_global_post(
    ctx: PageContext,
    Path(first): Path<String>,
    Form(form): Form<FormData>,
) -> AppResult<Response> {
    edit_submit(ctx, full_name(&first, None), form).await
}

async fn edit_namespaced_post(
    ctx: PageContext,
    Path((first, second)): Path<(String, String)>,
    Form(form): Form<FormData>,
) -> AppResult<Response> {
    edit_submit(ctx, full_name(&first, Some(&second)), form).await
}

async fn delete_confirm(ctx: PageContext, full: String) -> AppResult<Response> {
    editable_group(&ctx, &full, AppError::Unauthorized).await?;
    let content = html! {
        h1 { "Delete group " (full) }
        p { "The group is deleted; its packages stay tracked." }
        form method="post" action={ "/groups/" (full) "/delete" } {
            (layout::csrf_field(&ctx))
            button.danger type="submit" { "Delete group " (full) }
        }
    };
    Ok(layout::page(&ctx, &format!("Delete group {full}"), Tab::Groups, content).into_response())
}

async fn delete_submit(ctx: PageContext, full: String) -> AppResult<Response> {
    let (user, group) = editable_group(&ctx, &full, AppError::Unauthorized).await?;
    let mut tx = ctx.pool.begin().await?;
    core_groups::delete_group(&mut tx, &user.actor(), &group).await?;
    tx.commit().await?;
    ctx.session.flash(FlashKind::Success, "Group was deleted");
    Ok(crate::http::redirect::found("/groups"))
}

async fn delete_global(ctx: PageContext, Path(first): Path<String>) -> AppResult<Response> {
    delete_confirm(ctx, full_name(&first, None)).await
}

async fn delete_namespaced(
    ctx: PageContext,
    Path((first, second)): Path<(String, String)>,
) -> AppResult<Response> {
    delete_confirm(ctx, full_name(&first, Some(&second))).await
}

async fn delete_global_post(ctx: PageContext, Path(first): Path<String>) -> AppResult<Response> {
    delete_submit(ctx, full_name(&first, None)).await
}

async fn delete_namespaced_post(
    ctx: PageContext,
    Path((first, second)): Path<(String, String)>,
) -> AppResult<Response> {
    delete_submit(ctx, full_name(&first, Some(&second))).await
}
