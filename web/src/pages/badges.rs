//! `/badge/<collection>/<name>.svg` and `….png`: a status badge of a
//! package for READMEs and dashboards, drawn by [`crate::render::badge`]
//! (and rasterised by [`crate::render::badge_png`]). The original (`koschei/frontend/views.py`,
//! `badge`) serves both formats.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::render::badge::badge_svg;
use crate::render::badge_png::badge_png;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/badge/{collection}/{file}", get(badge))
}

/// The image formats of badges.
#[derive(Clone, Copy)]
enum Format {
    Svg,
    Png,
}

async fn badge(
    State(state): State<AppState>,
    Path((collection, file)): Path<(String, String)>,
) -> Result<Response, crate::error::AppError> {
    let (name, format) = if let Some(name) = file.strip_suffix(".svg") {
        (name, Format::Svg)
    } else if let Some(name) = file.strip_suffix(".png") {
        (name, Format::Png)
    } else {
        return Err(crate::error::AppError::NotFound(
            "Badges are served as .svg or .png".into(),
        ));
    };
    let found: Option<String> = sqlx::query_scalar(
        "SELECT package_state(p) FROM package p JOIN collection c ON c.id = p.collection_id
         WHERE c.name = $1 AND p.name = $2",
    )
    .bind(&collection)
    .bind(name)
    .fetch_optional(&state.pool)
    .await?;
    let (status, text) = match &found {
        Some(s) => (StatusCode::OK, s.as_str()),
        None => (StatusCode::NOT_FOUND, "not found"),
    };
    let cache = (header::CACHE_CONTROL, "max-age=300");
    Ok(match format {
        Format::Svg => (
            status,
            [
                (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
                cache,
            ],
            badge_svg(LABEL, text),
        )
            .into_response(),
        Format::Png => match badge_png(LABEL, text) {
            Ok(png) => (status, [(header::CONTENT_TYPE, "image/png"), cache], png).into_response(),
            Err(e) => {
                tracing::error!("rendering the PNG badge {text:?}: {e:#}");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
    })
}

/// The left half of every badge.
const LABEL: &str = "koschei";
