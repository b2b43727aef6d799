//! Response compression with tower-http's `CompressionLayer`: gzip at
//! level 1 for every client that accepts gzip, brotli (quality 0) only for
//! those that accept brotli and not gzip. Answers are compressed on every
//! request, so the level is the fastest; and at these levels brotli is
//! both slower and larger than gzip on our answers (a browser offering
//! both gets gzip; web/README.md has the figures).
//!
//! tower-http's default predicate decides what is compressed: not bodies
//! of 32 bytes or less, images (except SVG), gRPC or `text/event-stream`.
//! An answer that already has a `Content-Encoding` (a body stored
//! compressed) is passed on untouched. Every compressible answer says
//! `Vary: Accept-Encoding`, compressed or not.

use axum::body::HttpBody;
use axum::http::{header, HeaderMap, Response};
use axum::Router;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Compresses the answers of `router`.
pub fn add(router: Router) -> Router {
    let layer = || {
        CompressionLayer::new()
            .quality(CompressionLevel::Fastest)
            .compress_when(DefaultPredicate::new())
    };
    // The inner layer takes every client that accepts gzip; what it left
    // plain, the outer one compresses for a client that accepts brotli.
    router.layer(layer().no_br()).layer(layer().no_gzip())
}

/// Whether `response` would be compressed for a client that accepts it
/// (and so says `Vary: Accept-Encoding`).
pub fn compressible<B: HttpBody>(response: &Response<B>) -> bool {
    !response.headers().contains_key(header::CONTENT_ENCODING)
        && !response.headers().contains_key(header::CONTENT_RANGE)
        && DefaultPredicate::new().should_compress(response)
}

/// Whether `headers` already say `Vary: Accept-Encoding` (or `*`).
pub fn varies_by_encoding(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|v| v == "*" || v.eq_ignore_ascii_case("accept-encoding"))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// A body stored compressed passes as it is, whatever the client
    /// accepts; a plain one is compressed.
    #[tokio::test]
    async fn stored_encodings_pass_untouched() {
        let stored: Vec<u8> = b"\x1f\x8b pretend gzip ".repeat(10);
        let plain = "plain text ".repeat(20);
        let app = add(Router::new()
            .route(
                "/stored",
                get({
                    let stored = stored.clone();
                    move || async move {
                        (
                            [
                                (header::CONTENT_TYPE, "text/html"),
                                (header::CONTENT_ENCODING, "gzip"),
                            ],
                            stored,
                        )
                    }
                }),
            )
            .route("/plain", get(move || async move { plain })));
        for (path, accept, encoding) in [
            ("/stored", "br", "gzip"),
            ("/stored", "gzip", "gzip"),
            ("/plain", "br", "br"),
            ("/plain", "br, gzip", "gzip"),
        ] {
            let res = app
                .clone()
                .oneshot(
                    Request::get(path)
                        .header(header::ACCEPT_ENCODING, accept)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(
                res.headers()[header::CONTENT_ENCODING],
                encoding,
                "{path} {accept}"
            );
            let body = res.into_body().collect().await.unwrap().to_bytes();
            if path == "/stored" {
                assert_eq!(body, stored);
            } else {
                assert!(body.len() < 220, "{path} {accept}");
            }
        }
    }

    #[test]
    fn vary_lists() {
        let mut headers = HeaderMap::new();
        assert!(!varies_by_encoding(&headers));
        headers.append(header::VARY, "Cookie".parse().unwrap());
        assert!(!varies_by_encoding(&headers));
        headers.append(header::VARY, "origin, Accept-Encoding".parse().unwrap());
        assert!(varies_by_encoding(&headers));
    }
}
