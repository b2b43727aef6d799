//! `/user/<name>`: the packages of a user. Koschei asked Pagure for the
//! packages a user maintains; without that service, a user's packages are
//! those of the groups the user maintains.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use crate::context::PageContext;
use crate::error::{AppError, AppResult};
use crate::layout::{self, Tab};
use crate::package_table::{self, NameFilter, TableOptions};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/user/{name}", get(user_packages))
}

async fn user_packages(ctx: PageContext, Path(name): Path<String>) -> AppResult<Response> {
    ctx.require_user()?;
    let user_id: i32 = sqlx::query_scalar(r#"SELECT id FROM "user" WHERE name = $1"#)
        .bind(&name)
        .fetch_optional(&ctx.pool)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("User {name} not found")))?;
    let table = package_table::render(
        &ctx,
        TableOptions {
            filter: NameFilter::MaintainedBy(user_id),
            untracked_toggle: true,
        },
    )
    .await?;
    let own = ctx.user.as_ref().is_some_and(|u| u.name == name);
    let content = html! {
        h1 { "Packages of " (name) }
        p.muted { "Packages of the groups " (name) " maintains." }
        (layout::collection_tabs(&ctx, true, None))
        (table)
    };
    let tab = if own { Tab::MyPackages } else { Tab::None };
    Ok(layout::page(&ctx, &format!("Packages of {name}"), tab, content).into_response())
}
