//! `/add-packages`: track packages of a collection, optionally adding them
//! to one of the user's groups.

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use koschei_core::error::{is_valid_name, DataError};
use koschei_core::groups as core_groups;
use koschei_core::packages;
use maud::html;

use crate::error::{AppError, AppResult};
use crate::http::auth::safe_next;
use crate::http::context::PageContext;
use crate::http::forms::FormData;
use crate::http::query::split_names;
use crate::http::session::FlashKind;
use crate::render::layout::{self, Tab};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/add-packages", get(form_page).post(submit))
}

/// Groups the user may add packages to: `(id, full name)`.
async fn user_groups(
    ctx: &PageContext,
    user_id: i32,
    admin: bool,
) -> sqlx::Result<Vec<(i32, String)>> {
    sqlx::query_as(
        "SELECT g.id, COALESCE(g.namespace || '/', '') || g.name FROM package_group g
         WHERE $2 OR g.id IN (SELECT group_id FROM group_acl WHERE user_id = $1)
         ORDER BY g.namespace NULLS FIRST, g.name",
    )
    .bind(user_id)
    .bind(admin)
    .fetch_all(&ctx.pool)
    .await
}

fn render(
    ctx: &PageContext,
    groups: &[(i32, String)],
    packages: &str,
    selected: Option<&str>,
) -> Response {
    let next = ctx.query.get("next").unwrap_or("");
    let content = html! {
        h1 { "Add packages" }
        p { "Tracked packages are rebuilt by Koschei when their dependencies change." }
        form.add-packages method="post" action={ "/add-packages" (crate::http::query::to_query(&[("next", next)])) } {
            (layout::csrf_field(ctx))
            label { "Package names (separated by commas, spaces or new lines)"
                textarea name="packages" rows="8" required { (packages) }
            }
            label { "Collection"
                select name="collection" {
                    @for c in &ctx.collections {
                        option value=(c.name) selected[selected == Some(c.name.as_str())] { (c.display_name) }
                    }
                }
            }
            label { "Add to group (optional)"
                select name="group" {
                    option value="" { "—" }
                    @for (id, name) in groups { option value=(id) { (name) } }
                }
            }
            button type="submit" { "Add packages" }
        }
    };
    layout::page(ctx, "Add packages", Tab::AddPackages, content).into_response()
}

async fn form_page(ctx: PageContext) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let groups = user_groups(&ctx, user.id, user.admin).await?;
    Ok(render(&ctx, &groups, "", None))
}

async fn submit(ctx: PageContext, Form(form): Form<FormData>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let groups = user_groups(&ctx, user.id, user.admin).await?;
    let text = form.text("packages");
    let collection_name = form.text("collection");
    let fail = |ctx: &PageContext, message: String| {
        ctx.session.flash(FlashKind::Danger, message);
        Ok(render(ctx, &groups, &text, Some(&collection_name)))
    };
    let names = split_names(&text);
    if names.is_empty() {
        return fail(&ctx, "No package names given".into());
    }
    if let Some(bad) = names.iter().find(|n| !is_valid_name(n)) {
        return fail(&ctx, format!("Invalid package name {bad:?}"));
    }
    let Some(collection) = ctx.collection(&collection_name).cloned() else {
        return fail(&ctx, format!("Collection not found: {collection_name}"));
    };
    let group = match form.get("group").map(str::trim).filter(|g| !g.is_empty()) {
        None => None,
        Some(id) => {
            let id: i32 = id
                .parse()
                .map_err(|_| AppError::BadRequest(format!("Invalid group {id:?}")))?;
            if !groups.iter().any(|(g, _)| *g == id) {
                return Err(AppError::BadRequest(
                    "You don't have permission to edit this group".into(),
                ));
            }
            Some(id)
        }
    };
    let actor = user.actor();
    let cref = koschei_core::collections::CollectionRef {
        id: collection.id,
        name: collection.name.clone(),
        display_name: collection.display_name.clone(),
    };
    let mut tx = ctx.pool.begin().await?;
    let result = async {
        let added = packages::track_packages(&mut tx, &actor, &cref, &names).await?;
        if let Some(id) = group {
            let group = crate::pages::groups::group_by_id(&mut tx, id)
                .await?
                .ok_or_else(|| DataError::GroupNotFound(id.to_string()))?;
            core_groups::set_group_content(&mut tx, &actor, &group, &names, true).await?;
        }
        Ok::<_, DataError>(added)
    }
    .await;
    match result {
        Ok(added) => {
            tx.commit().await?;
            if added.is_empty() {
                ctx.session
                    .flash(FlashKind::Info, "The packages were already tracked.");
            } else {
                ctx.session.flash(
                    FlashKind::Success,
                    format!("Packages added: {}", added.join(",")),
                );
            }
            Ok(crate::http::redirect::found(&safe_next(
                ctx.query.get_nonempty("next"),
            )))
        }
        Err(DataError::Db(e)) => Err(e.into()),
        Err(e @ DataError::PackagesDontExist(_)) => fail(
            &ctx,
            format!("{e}. Packages that are new in Koji appear here after the backend polls Koji."),
        ),
        Err(e) => fail(&ctx, e.to_string()),
    }
}
