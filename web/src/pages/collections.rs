//! Collections: the list grouped by collection group, a collection's
//! attributes, and the administrators' collection-wide forced
//! re-resolution. Editing collections is done with koschei-admin.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use koschei_core::installability;
use maud::{html, Markup};

use crate::error::{AppError, AppResult};
use crate::http::context::{Collection, PageContext};
use crate::http::query::encode;
use crate::http::session::FlashKind;
use crate::render::installability as render_installability;
use crate::render::layout::{self, Tab};
use crate::render::state_badges;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections", get(list_handler))
        .route("/collection/{name}", get(collection_detail))
        .route("/collection/{name}/edit", post(edit_collection))
        .route("/collection/{name}/resolve", post(force_resolution))
}

async fn list_handler(ctx: PageContext) -> AppResult<Response> {
    collection_list(ctx).await
}

fn collection_item(c: &Collection) -> Markup {
    html! {
        li {
            a href={ "/packages?collection=" (encode(&c.name)) } { (c.display_name) }
            " " span.muted { "(" (c.name) ")" } " "
            (state_badges::buildroot_state_badge(&c.state))
            " " a.settings href={ "/collection/" (encode(&c.name)) } title="Collection details" { "⚙" }
        }
    }
}

/// `/collections`: a card per collection group and one for the others.
pub async fn collection_list(ctx: PageContext) -> AppResult<Response> {
    let groups: Vec<(String, String, Vec<i32>)> = sqlx::query_as(
        "SELECT g.name, g.display_name, array_agg(r.collection_id ORDER BY r.collection_id)
         FROM collection_group g JOIN collection_group_relation r ON r.group_id = g.id
         GROUP BY g.id ORDER BY g.display_name",
    )
    .fetch_all(&ctx.pool)
    .await?;
    let grouped: Vec<i32> = groups.iter().flat_map(|g| g.2.iter().copied()).collect();
    let uncategorized: Vec<&Collection> = ctx
        .collections
        .iter()
        .filter(|c| !grouped.contains(&c.id))
        .collect();
    let content = html! {
        h1 { "Collections" }
        div.cards {
            @for (_, display_name, ids) in &groups {
                @let members: Vec<&Collection> = ctx.collections.iter().filter(|c| ids.contains(&c.id)).collect();
                @let names = members.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(",");
                section.card {
                    h2 {
                        a href={ "/packages?collection=" (encode(&names)) } { (display_name) }
                        " " span.badge { (members.len()) }
                    }
                    ul.collections { @for c in members { (collection_item(c)) } }
                }
            }
            @if !uncategorized.is_empty() {
                section.card {
                    h2 { "Uncategorized" " " span.badge { (uncategorized.len()) } }
                    ul.collections { @for c in uncategorized { (collection_item(c)) } }
                }
            }
        }
    };
    Ok(layout::page(&ctx, "Collections", Tab::Collections, content).into_response())
}

fn find<'a>(ctx: &'a PageContext, name: &str) -> AppResult<&'a Collection> {
    ctx.collection(name)
        .ok_or_else(|| AppError::NotFound(format!("Collection not found: {name}")))
}

async fn collection_detail(ctx: PageContext, Path(name): Path<String>) -> AppResult<Response> {
    let c = find(&ctx, &name)?;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT package_state(p), count(*) FROM package p WHERE p.collection_id = $1
         GROUP BY 1 ORDER BY 1",
    )
    .bind(c.id)
    .fetch_all(&ctx.pool)
    .await?;
    let installability = {
        let mut conn = ctx.pool.acquire().await?;
        installability::collection_installability(&mut conn, &c.name).await?
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let admin = ctx.user.as_ref().is_some_and(|u| u.admin);
    let content = html! {
        h1 { "Collection " (c.display_name) }
        div.cards {
            section.card {
                h2 { "Attributes" }
                table.kv {
                    tr { th { "Name" } td { (c.name) } }
                    tr { th { "Display name" } td { (c.display_name) } }
                    tr { th { "Order" } td { (c.order) } }
                    tr { th { "Priority coefficient" } td { (c.priority_coefficient) } }
                    tr { th { "Target" } td { (c.target) } }
                    tr { th { "Build tag" } td { (c.build_tag) } }
                    tr { th { "Destination tag" } td { (c.dest_tag) } }
                    tr { th { "Build group" } td { (c.build_group) } }
                    tr { th { "Bugzilla product" } td { (opt(&c.bugzilla_product)) } }
                    tr { th { "Bugzilla version" } td { (opt(&c.bugzilla_version)) } }
                    tr { th { "Poll untracked" } td { (if c.poll_untracked { "yes" } else { "no" }) } }
                    tr { th { "Secondary mode" } td { (if c.secondary_mode { "yes" } else { "no" }) } }
                    tr { th { "Latest repo" } td { (c.latest_repo_id.map(|r| r.to_string()).unwrap_or_else(|| "—".into())) } }
                    tr { th { "Base buildroot" } td { (c.state) } }
                    @if let Some(reason) = &c.scheduling_suspended {
                        tr { th { "Scheduling" } td.alert-danger { "suspended: " (reason) } }
                    }
                }
                p { a href={ "/packages?collection=" (encode(&c.name)) } { "Packages of " (c.display_name) } }
            }
            section.card {
                h2 { "Packages by state" }
                table.kv { @for (state, n) in &counts { tr { th { (state_badges::state_badge(state)) } td.num { (n) } } } }
                @if admin {
                    form method="post" action={ "/collection/" (encode(&c.name)) "/resolve" } {
                        (layout::csrf_field(&ctx))
                        button type="submit" title="Clear every package's resolution result so the resolver checks them all again" {
                            "Force re-resolution of all packages"
                        }
                    }
                }
            }
            (render_installability::collection_card(&installability))
        }
    };
    Ok(layout::page(&ctx, &c.display_name, Tab::Collections, content).into_response())
}

/// Editing collections on the web is not implemented (koschei-admin
/// edit-collection does it): 501 for administrators, 403 for others.
async fn edit_collection(ctx: PageContext, Path(name): Path<String>) -> AppResult<Response> {
    ctx.require_admin()?;
    find(&ctx, &name)?;
    Err(AppError::NotImplemented(
        "Editing collections is done with koschei-admin edit-collection".into(),
    ))
}

/// `POST /collection/<name>/resolve` (admins): clears the resolution result
/// of every package of the collection.
async fn force_resolution(ctx: PageContext, Path(name): Path<String>) -> AppResult<Response> {
    let user = ctx.require_admin()?;
    let c = find(&ctx, &name)?;
    let mut tx = ctx.pool.begin().await?;
    let n = koschei_core::resolution::request_reresolution(&mut tx, c.id, None).await?;
    user.actor()
        .log(
            &mut tx,
            &format!(
                "Collection {}: re-resolution of all packages requested ({n} packages)",
                c.name
            ),
            None,
        )
        .await?;
    tx.commit().await?;
    ctx.session.flash(
        FlashKind::Success,
        format!(
            "Re-resolution of {n} packages of {} requested.",
            c.display_name
        ),
    );
    Ok(crate::http::redirect::found(&format!(
        "/collection/{}",
        encode(&c.name)
    )))
}
