//! `/badge/<collection>/<name>.svg` and `….png`: a status badge of a
//! package for READMEs and dashboards, drawn as SVG (and rasterised by
//! [`crate::render::badge_png`]). The original (`koschei/frontend/views.py`,
//! `badge`) serves both formats.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/badge/{collection}/{file}", get(badge))
}

/// The state's colour: the shields.io colours of the original's badges
/// (`aux/update-badges.sh`): ok brightgreen, failing and unresolved red,
/// blocked orange, untracked yellow, anything else light grey.
fn color(state: &str) -> &'static str {
    match state {
        "ok" => "#4c1",
        "failing" | "unresolved" => "#e05d44",
        "blocked" => "#fe7d37",
        "untracked" => "#dfb317",
        _ => "#9f9f9f",
    }
}

/// Approximate text width in the badge font (Verdana 11px), in whole
/// pixels so that the PNG has exactly the SVG's size.
fn text_width(text: &str) -> f64 {
    (text.chars().count() as f64 * 6.8 + 10.0).round()
}

/// The badge SVG for a state.
pub fn badge_svg(label: &str, state: &str) -> String {
    let (lw, rw) = (text_width(label), text_width(state));
    let w = lw + rw;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(w) height="20" role="img" aria-label={ (label) ": " (state) } {
            title { (label) ": " (state) }
            linearGradient id="s" x2="0" y2="100%" {
                stop offset="0" stop-color="#bbb" stop-opacity=".1" {}
                stop offset="1" stop-opacity=".1" {}
            }
            clipPath id="r" { rect width=(w) height="20" rx="3" fill="#fff" {} }
            g clip-path="url(#r)" {
                rect width=(lw) height="20" fill="#555" {}
                rect x=(lw) width=(rw) height="20" fill=(color(state)) {}
                rect width=(w) height="20" fill="url(#s)" {}
            }
            g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11" {
                text x=(lw / 2.0) y="15" fill="#010101" fill-opacity=".3" { (label) }
                text x=(lw / 2.0) y="14" { (label) }
                text x=(lw + rw / 2.0) y="15" fill="#010101" fill-opacity=".3" { (state) }
                text x=(lw + rw / 2.0) y="14" { (state) }
            }
        }
    }
    .into_string()
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
        Format::Png => match crate::render::badge_png::badge_png(LABEL, text) {
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
