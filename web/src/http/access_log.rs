//! The access log: one line per request with method, path and query, peer
//! address, status and latency (tower-http's `TraceLayer`, at INFO under
//! the `koschei_web::access` target). Request strings are logged with
//! Rust's debug escaping, so a client cannot inject control characters or
//! fake log lines.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::http::peer::peer_addr;

/// Logs every request of `router`.
pub fn add(router: Router) -> Router {
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &Request<Body>| {
                let target = req
                    .uri()
                    .path_and_query()
                    .map_or(req.uri().path(), |pq| pq.as_str());
                tracing::info_span!(
                    "request",
                    method = ?req.method().as_str(),
                    path = ?target,
                    peer = %peer_addr(req.extensions()).map_or("-".into(), |a| a.to_string()),
                )
            })
            .on_request(())
            .on_response(|res: &Response<Body>, latency: Duration, _: &Span| {
                tracing::info!(
                    target: "koschei_web::access",
                    status = res.status().as_u16(),
                    latency_ms = latency.as_secs_f64() * 1000.0,
                    "served"
                );
            })
            .on_failure(()),
    )
}
