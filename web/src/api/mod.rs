//! The JSON API under `/api/v1`: read endpoints for dashboards and tools
//! (the original's `koschei/frontend/api.py` had only `/api/v1/packages`).
//!
//! * [`types`]: the JSON objects answered, [`params`]: the parameters
//!   read; both also make the OpenAPI document ([`openapi`]), so what is
//!   documented is what is served.
//! * [`packages`], [`builds`], [`collections`], [`groups`]: the handlers.
//! * [`list`]: lists paged or whole, streamed from the database.
//!
//! Errors are JSON objects `{"error": "..."}`; an unknown collection is
//! always 404.

pub mod builds;
pub mod collections;
pub mod groups;
pub mod list;
pub mod openapi;
pub mod packages;
pub mod params;
pub mod types;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AppError;
use crate::http::context::{load_collections, Collection};
use crate::state::AppState;

/// Every API route with its documentation: the router serves exactly the
/// paths the document lists.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(openapi::openapi))
        .routes(routes!(packages::list_packages))
        .routes(routes!(packages::package_detail))
        .routes(routes!(builds::package_builds))
        .routes(routes!(packages::dependency_changes))
        .routes(routes!(builds::build_detail))
        .routes(routes!(collections::list_collections))
        .routes(routes!(collections::collection_detail))
        .routes(routes!(collections::collection_diff))
        .routes(routes!(groups::list_groups))
        .routes(routes!(groups::global_group))
        .routes(routes!(groups::namespaced_group))
}

/// The API's routes.
pub fn router() -> Router<AppState> {
    routes().split_for_parts().0
}

/// An [`AppError`] answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.status() {
            StatusCode::FOUND => StatusCode::UNAUTHORIZED,
            s => s,
        };
        let body = types::Error {
            error: self.0.public_message(),
        };
        (status, Json(body)).into_response()
    }
}

/// What a handler answers.
pub type ApiResult<T> = Result<T, ApiError>;

/// The collection named `name` (404 without it).
async fn find_collection(state: &AppState, name: &str) -> ApiResult<Collection> {
    let mut conn = state.pool.acquire().await?;
    load_collections(&mut conn)
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| AppError::NotFound(format!("Collection not found: {name}")).into())
}

/// The id of package `name` in `collection` (404 without it).
async fn package_id(state: &AppState, collection: &Collection, name: &str) -> ApiResult<i32> {
    sqlx::query_scalar("SELECT id FROM package WHERE collection_id = $1 AND name = $2")
        .bind(collection.id)
        .bind(name)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "Package {name} not found in collection {}",
                collection.name
            ))
            .into()
        })
}
