//! Impact checks in the API: the newest checks, one check's report, and queuing a
//! check (`POST`, by a logged-in session: its cookie and its CSRF token in `X-CSRF-Token`,
//! checked by the session layer before the handler runs).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use koschei_core::impact::{self, ImpactCheck, ImpactReport, NewImpactCheck};
use utoipa::openapi::{RefOr, Schema};
use utoipa::PartialSchema;

use super::error::ApiResult;
use super::types::{Created, Error};
use crate::error::AppError;
use crate::http::session::User;
use crate::pages::impact::{load_report, queue, LISTED};
use crate::state::AppState;

/// The newest impact checks (at most 100), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/impact-checks",
    tag = "impact-checks",
    responses((status = 200, description = "Checks, newest first", body = [ImpactCheck]))
)]
pub async fn list_impact_checks(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<ImpactCheck>>> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(impact::list(&mut conn, LISTED).await?))
}

/// One impact check: its options and state, counts, the affected packages (regressions
/// first, then the packages unresolvable with the change) with their builds, and its
/// history.
#[utoipa::path(
    get,
    path = "/api/v1/impact-checks/{id}",
    tag = "impact-checks",
    params(("id" = i32, Path, description = "Impact check id")),
    responses(
        (status = 200, description = "The check's report", body = ImpactReport),
        (status = 404, description = "No such check", body = Error),
    )
)]
pub async fn impact_check_report(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ImpactReport>> {
    Ok(Json(load_report(&state.pool, &id, None).await?))
}

/// Queues an impact check of a side tag against a collection.
///
/// Needs a logged-in session: its cookie (`koschei_session`, from `/login`) and its CSRF
/// token in the `X-CSRF-Token` header (the token every form of the site carries).
/// Unknown fields are refused.
#[utoipa::path(
    post,
    path = "/api/v1/impact-checks",
    tag = "impact-checks",
    request_body(content = NewImpactCheck, content_type = "application/json"),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Queued", body = Created, headers(
            ("Location" = String, description = "The check's report in the API"),
        )),
        (status = 400, description = "Malformed or invalid request (the message names the problem), or a body over 1 MiB", body = Error),
        (status = 401, description = "Not logged in", body = Error),
        (status = 403, description = "Missing or wrong CSRF token", body = Error),
    )
)]
pub async fn create_impact_check(
    State(state): State<AppState>,
    user: Option<Extension<User>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Some(Extension(user)) = user else {
        return Err(AppError::Unauthorized("Log in first".into()).into());
    };
    let new = parse_new_check(&headers, &body)?;
    let id = queue(&state.pool, &state.config, &user, &new)
        .await?
        .map_err(AppError::BadRequest)?;
    let location = format!("/api/v1/impact-checks/{id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Created { id }),
    )
        .into_response())
}

/// The request body as a [`NewImpactCheck`]: a JSON object with no field its schema does
/// not name.
fn parse_new_check(headers: &HeaderMap, body: &[u8]) -> Result<NewImpactCheck, AppError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(AppError::BadRequest(
            "Expected a JSON body (Content-Type: application/json)".into(),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("Malformed JSON: {e}")))?;
    // serde would also read a struct from an array of its fields
    let Some(object) = value.as_object() else {
        return Err(AppError::BadRequest(
            "Expected a JSON object of the check's fields".into(),
        ));
    };
    let known = fields::<NewImpactCheck>();
    if let Some(unknown) = object.keys().find(|k| !known.contains(k)) {
        return Err(AppError::BadRequest(format!(
            "Unknown field {unknown:?}: expected {}",
            known.join(", ")
        )));
    }
    serde_json::from_value(value)
        .map_err(|e| AppError::BadRequest(format!("Invalid impact check: {e}")))
}

/// The properties the schema of `T` documents.
fn fields<T: PartialSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.properties.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_fields_are_the_documented_ones() {
        let mut known = fields::<NewImpactCheck>();
        known.sort();
        assert_eq!(
            known,
            [
                "builds",
                "collection",
                "depth",
                "max_builds",
                "repo_url",
                "side_tag"
            ]
        );
    }
}
