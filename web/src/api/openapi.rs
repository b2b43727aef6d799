//! The OpenAPI 3.1 document of the API, generated from the handlers'
//! `#[utoipa::path]` attributes and the types of [`super::types`] and
//! [`super::params`], served at `/api/v1/openapi.json`.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::{RefOr, Schema};
use utoipa::OpenApi;

/// The document's head; [`super::routes()`] adds every path and schema.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Koschei API",
        version = "1",
        description = "Read-only data of Koschei: package states, builds and the reasons they \
            were submitted, dependency changes, collections and groups. Times are UTC, ISO 8601 \
            without zone."
    ),
    components(schemas(super::types::Error))
)]
pub struct ApiDoc;

/// Properties an answer may leave out (`skip_serializing_if`), by schema.
const OMITTED_WHEN_EMPTY: &[(&str, &str)] = &[("Build", "dependency_changes")];

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = super::routes().into_openapi();
    // Not taken from Cargo.toml: the API's own head only.
    doc.info.license = None;
    doc.info.contact = None;
    // serde writes every field, `null` or not: every property is required
    // (utoipa leaves `Option` fields out of `required`).
    for (name, schema) in doc.components.iter_mut().flat_map(|c| c.schemas.iter_mut()) {
        if let RefOr::T(Schema::Object(object)) = schema {
            object.required = object
                .properties
                .keys()
                .filter(|p| !OMITTED_WHEN_EMPTY.contains(&(name.as_str(), p.as_str())))
                .cloned()
                .collect();
        }
    }
    doc
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
