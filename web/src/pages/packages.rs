//! The front page, the package list ("Package summary") and search.

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use crate::error::AppResult;
use crate::http::context::PageContext;
use crate::render::layout::{self, Tab};
use crate::render::package_table::{self, NameFilter, TableOptions};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(frontpage))
        .route("/packages", get(package_list))
        .route("/search", get(search))
}

/// `/`: the page named by `frontend.frontpage` (default `package_list`).
async fn frontpage(ctx: PageContext) -> AppResult<Response> {
    match ctx.config.frontend.frontpage.as_str() {
        "collection_list" => crate::pages::collections::collection_list(ctx).await,
        "groups" | "group_list" => crate::pages::groups::group_list(ctx).await,
        "stats" => crate::pages::stats::stats(ctx).await,
        "documentation" => Ok(crate::pages::docs::documentation(ctx).await.into_response()),
        _ => package_list(ctx).await,
    }
}

/// `/packages`: the package table with a collection chooser.
pub async fn package_list(ctx: PageContext) -> AppResult<Response> {
    let table = package_table::render(
        &ctx,
        TableOptions {
            filter: NameFilter::All,
            untracked_toggle: false,
        },
    )
    .await?;
    let content = html! {
        h1 { "Package summary" }
        (layout::collection_tabs(&ctx, true, None))
        (table)
    };
    let page = layout::page(&ctx, "Packages", Tab::Packages, content).into_response();
    Ok(package_table::cache_tags(&ctx).attach(page))
}

/// `/search?q=`: case-insensitive substring search, `*` as wildcard; an
/// empty query goes back to the front page.
async fn search(ctx: PageContext) -> AppResult<Response> {
    let Some(q) = ctx.query.get_nonempty("q").map(str::to_string) else {
        return Ok(crate::http::redirect::found("/"));
    };
    let table = package_table::render(
        &ctx,
        TableOptions {
            filter: NameFilter::Pattern(package_table::search_pattern(&q)),
            untracked_toggle: true,
        },
    )
    .await?;
    let content = html! {
        h1 { "Search results for “" (q) "”" }
        (layout::collection_tabs(&ctx, true, None))
        (table)
    };
    let page = layout::page(&ctx, &format!("Search: {q}"), Tab::Packages, content).into_response();
    Ok(package_table::cache_tags(&ctx).attach(page))
}
