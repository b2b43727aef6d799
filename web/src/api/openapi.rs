//! The OpenAPI 3.1 document's head and finishing touches; the paths and
//! schemas come from the handlers' `#[utoipa::path]` attributes and the
//! types of [`super::types`] and [`super::params`], gathered by
//! [`super::routes`](mod@super::routes).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::OpenApi;

/// The document's head; [`super::routes::routes()`] adds every path and
/// schema.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Koschei API",
        version = "1",
        description = "Data of Koschei: package states, builds and the reasons they were \
            submitted, dependency changes, collections, groups and impact checks of side tags. \
            Everything is read-only but queuing an impact check, which needs a logged-in \
            session (its cookie and its CSRF token). Times are UTC, ISO 8601 without zone."
    ),
    components(schemas(super::types::Error))
)]
pub struct ApiDoc;

/// Properties an answer may leave out (`skip_serializing_if`), by schema.
const OMITTED_WHEN_EMPTY: &[(&str, &str)] = &[("Build", "dependency_changes")];

/// Schemas of request bodies: their properties with defaults stay optional.
const REQUEST_BODIES: &[&str] = &["NewImpactCheck"];

/// `doc`, as gathered from the routes, made to say what is served.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    // Not taken from Cargo.toml: the API's own head only.
    doc.info.license = None;
    doc.info.contact = None;
    // serde writes every field, `null` or not: every property is required
    // (utoipa leaves `Option` fields out of `required`).
    for (name, schema) in doc
        .components
        .iter_mut()
        .flat_map(|c| c.schemas.iter_mut())
        .filter(|(name, _)| !REQUEST_BODIES.contains(&name.as_str()))
    {
        if let RefOr::T(Schema::Object(object)) = schema {
            object.required = object
                .properties
                .keys()
                .filter(|p| !OMITTED_WHEN_EMPTY.contains(&(name.as_str(), p.as_str())))
                .cloned()
                .collect();
        }
    }
    // What the one write (`POST /api/v1/impact-checks`) needs: a logged-in session.
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::http::session::COOKIE_NAME,
                "The session cookie /login sets",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                crate::http::session::CSRF_HEADER,
                "The session's CSRF token (in every form of the site)",
            ))),
        );
    }
    doc
}
