//! `/user/<name>`: the packages of a user (`user_packages` in
//! `koschei/frontend/views.py`). With `pagure.owner_alias_url` set, those
//! are the packages the user maintains in dist-git
//! (`koschei/plugins/pagure_plugin/frontend.py`) together with the packages
//! of the groups the user maintains; without it, the groups' packages only.
//! When dist-git cannot be read, the page lists the groups' packages under
//! a notice.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use crate::error::{AppError, AppResult};
use crate::http::context::PageContext;
use crate::render::layout::{self, Tab};
use crate::render::package_table::{self, NameFilter, TableOptions};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/user/{name}", get(user_packages))
}

/// Names of the base packages in the groups `user_id` maintains.
async fn group_package_names(ctx: &PageContext, user_id: i32) -> AppResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT b.name FROM package_group_relation r
         JOIN group_acl a ON a.group_id = r.group_id
         JOIN base_package b ON b.id = r.base_id
         WHERE a.user_id = $1 ORDER BY b.name",
    )
    .bind(user_id)
    .fetch_all(&ctx.pool)
    .await?)
}

/// "1 package", "2 packages".
fn packages(n: usize) -> String {
    format!("{n} package{}", if n == 1 { "" } else { "s" })
}

async fn user_packages(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(name): Path<String>,
) -> AppResult<Response> {
    ctx.require_user()?;
    let user_id: Option<i32> = sqlx::query_scalar(r#"SELECT id FROM "user" WHERE name = $1"#)
        .bind(&name)
        .fetch_optional(&ctx.pool)
        .await?;
    // Without dist-git a user is known to Koschei or has no page; dist-git
    // knows maintainers who never logged in to Koschei.
    let (filter, sources) = match (&state.pagure, user_id) {
        (None, None) => return Err(AppError::NotFound(format!("User {name} not found"))),
        (None, Some(id)) => (NameFilter::MaintainedBy(id), None),
        (Some(pagure), id) => {
            let from_groups = match id {
                Some(id) => group_package_names(&ctx, id).await?,
                None => Vec::new(),
            };
            let from_dist_git = pagure.packages_of(&name).await;
            let mut names = from_groups.clone();
            names.extend(from_dist_git.iter().flatten().cloned());
            names.sort();
            names.dedup();
            (
                NameFilter::Names(names),
                Some((from_dist_git.map(|p| p.len()), from_groups.len())),
            )
        }
    };
    let table = package_table::render(
        &ctx,
        TableOptions {
            filter,
            untracked_toggle: true,
        },
    )
    .await?;
    let own = ctx.user.as_ref().is_some_and(|u| u.name == name);
    let title = format!("{name}'s packages");
    let content = html! {
        h1 { (title) }
        @match sources {
            None => p.muted { "Packages of the groups " (name) " maintains." },
            Some((Ok(dist_git), groups)) => p.muted.sources {
                (packages(dist_git)) " " (name) " maintains in dist-git; "
                (packages(groups)) " in the groups " (name) " maintains."
            },
            Some((Err(_), groups)) => {
                div.alert.alert-danger.notice role="status" {
                    "Error retrieving user's packages from dist-git; only the packages of the groups "
                    (name) " maintains are listed."
                }
                p.muted.sources { (packages(groups)) " in the groups " (name) " maintains." }
            },
        }
        (layout::collection_tabs(&ctx, true, None))
        (table)
    };
    let tab = if own { Tab::MyPackages } else { Tab::None };
    Ok(layout::page(&ctx, &title, tab, content).into_response())
}
