//! Static assets vendored in `web/static` and embedded in the binary (no
//! CDN, nothing fetched at run time), and `robots.txt`.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// `(file name, content type, content)`.
const FILES: &[(&str, &str, &str)] = &[
    (
        "koschei.css",
        "text/css; charset=utf-8",
        include_str!("../../static/koschei.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../static/favicon.svg"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/live.js"),
    ),
];

const ROBOTS: &str = "User-agent: *\nDisallow: /login\nDisallow: /bugreport\nDisallow: /affected-by\nCrawl-delay: 1\n";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{file}", get(static_file))
        .route(
            "/robots.txt",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain")], ROBOTS) }),
        )
}

async fn static_file(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
