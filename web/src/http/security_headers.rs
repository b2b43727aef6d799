//! Security headers on every response (pages, API, static files, errors):
//! a Content-Security-Policy allowing only this site's own resources (its
//! own script file, no inline script) and no framing, `nosniff`, and a
//! referrer policy that keeps URLs on this site.

use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy: scripts only from this site's files (`live.js`, which the
/// pages do without; no inline script) connecting only here (the event
/// stream), styles and images from this site (inline style attributes for
/// chart swatches), forms posting only here, no framing by other sites.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the headers to every response of `router` that does not set them.
pub fn add(router: Router) -> Router {
    let headers = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}
