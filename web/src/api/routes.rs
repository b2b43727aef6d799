//! The API's route list, and the OpenAPI document made from it and served
//! at `/api/v1/openapi.json`: the router serves exactly the paths the
//! document lists.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{finish, ApiDoc};
use super::{builds, collections, groups, impact, packages};
use crate::state::AppState;

/// Every API route with its documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(openapi))
        .routes(routes!(packages::list_packages))
        .routes(routes!(packages::package_detail))
        .routes(routes!(builds::package_builds))
        .routes(routes!(packages::dependency_changes))
        .routes(routes!(packages::package_installability))
        .routes(routes!(builds::build_detail))
        .routes(routes!(collections::list_collections))
        .routes(routes!(collections::collection_detail))
        .routes(routes!(collections::collection_diff))
        .routes(routes!(collections::collection_installability))
        .routes(routes!(groups::list_groups))
        .routes(routes!(groups::global_group))
        .routes(routes!(groups::namespaced_group))
        .routes(routes!(
            impact::list_impact_checks,
            impact::create_impact_check
        ))
        .routes(routes!(impact::impact_check_report))
        .routes(routes!(crate::events::stream::events))
}

/// The API's routes.
pub fn router() -> Router<AppState> {
    routes().split_for_parts().0
}

/// The whole OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(routes().into_openapi())
}

/// The document as served, made once.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string(&document()).expect("the OpenAPI document serialises"));

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}
