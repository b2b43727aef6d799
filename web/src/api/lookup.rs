//! Lookups shared by the handlers: a collection or package by name, 404
//! when missing.

use super::error::ApiResult;
use crate::error::AppError;
use crate::http::context::{load_collections, Collection};
use crate::state::AppState;

/// The collection named `name` (404 without it).
pub(super) async fn find_collection(state: &AppState, name: &str) -> ApiResult<Collection> {
    let mut conn = state.pool.acquire().await?;
    load_collections(&mut conn)
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| AppError::NotFound(format!("Collection not found: {name}")).into())
}

/// Checks that every collection of `names` exists (404 for the first that
/// does not); nothing to check for none.
pub(crate) async fn check_collections(state: &AppState, names: &[String]) -> ApiResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = sqlx::query_scalar("SELECT name FROM collection WHERE name = ANY($1)")
        .bind(names)
        .fetch_all(&state.pool)
        .await?;
    match names.iter().find(|n| !known.contains(n)) {
        Some(unknown) => Err(AppError::NotFound(format!("Collection not found: {unknown}")).into()),
        None => Ok(()),
    }
}

/// The id of package `name` in `collection` (404 without it).
pub(super) async fn package_id(
    state: &AppState,
    collection: &Collection,
    name: &str,
) -> ApiResult<i32> {
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
