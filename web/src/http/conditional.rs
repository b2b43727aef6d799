//! Conditional GET (RFC 9110 §13): every complete `200` answer to a GET or
//! HEAD gets a weak `ETag` — the xxh3-128 hash of its body — unless its
//! handler set one, and a request whose `If-None-Match` lists that tag is
//! answered `304 Not Modified` without a body. Answers without their own
//! `Cache-Control` get `no-cache`: clients revalidate every time, which
//! costs a 304 when nothing changed.
//!
//! Only bodies already in memory (an exact size) are hashed: a streamed
//! body (the API's whole lists, `text/event-stream`) is passed on as it
//! comes, without an `ETag`. `no-store` answers (a logged-in session, a
//! CSRF token) are never revalidated, so they are not hashed either.
//! `Last-Modified` is not sent: the `ETag` says the same and more.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use xxhash_rust::xxh3::xxh3_128;

use super::compression;

/// Largest body hashed; a larger one is sent without an `ETag`.
const MAX_HASHED: u64 = 32 * 1024 * 1024;

/// The headers a `304` keeps from the `200` it stands for (RFC 9110
/// §15.4.5); the others describe a body that is not sent.
const KEPT_IN_304: [HeaderName; 6] = [
    header::ETAG,
    header::CACHE_CONTROL,
    header::VARY,
    header::EXPIRES,
    header::CONTENT_LOCATION,
    header::DATE,
];

/// Adds conditional GET to every route of `router`.
pub fn add(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(conditional))
}

async fn conditional(mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return next.run(req).await;
    }
    // axum empties the body of a HEAD answer before outer layers see it;
    // asked as GET, the body can be hashed (the router still leaves it out
    // of the HEAD answer).
    *req.method_mut() = Method::GET;
    let if_none_match: Vec<HeaderValue> = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .cloned()
        .collect();
    let mut response = next.run(req).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    let response = match response.headers().get(header::ETAG) {
        Some(_) => response,
        None if hashable(&response) => match with_etag(response).await {
            Ok(response) => response,
            Err(response) => return response,
        },
        None => return response,
    };
    let matched = response
        .headers()
        .get(header::ETAG)
        .is_some_and(|etag| if_none_match.iter().any(|v| lists(v, etag)));
    if matched {
        not_modified(response)
    } else {
        response
    }
}

/// Whether the body of a `200` is in memory and may be revalidated.
fn hashable(response: &Response) -> bool {
    let headers = response.headers();
    let event_stream = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let no_store = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .any(|v| String::from_utf8_lossy(v.as_bytes()).contains("no-store"));
    let in_memory = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= MAX_HASHED);
    !event_stream && !no_store && in_memory
}

/// `response` with the weak `ETag` of its body; a body that fails to be
/// read gives a 500 (`Err`).
async fn with_etag(response: Response) -> Result<Response, Response> {
    let (mut parts, body) = response.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!("reading an answer to hash it: {e}");
            let mut failed = Response::new(Body::empty());
            *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return Err(failed);
        }
    };
    parts.headers.insert(header::ETAG, etag_of(&bytes));
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// The weak ETag of a body: `W/"<xxh3-128 in hex>"`.
pub fn etag_of(body: &[u8]) -> HeaderValue {
    HeaderValue::from_str(&format!("W/\"{:032x}\"", xxh3_128(body)))
        .expect("hex is a valid header value")
}

/// The `304` standing for `response`: its validator and caching headers,
/// with the `Vary: Accept-Encoding` compression adds to the `200`.
fn not_modified(response: Response) -> Response {
    let compressible = compression::compressible(&response);
    let (mut parts, _) = response.into_parts();
    let mut kept = HeaderMap::new();
    for name in KEPT_IN_304 {
        for value in parts.headers.get_all(&name) {
            kept.append(name.clone(), value.clone());
        }
    }
    if compressible && !compression::varies_by_encoding(&kept) {
        kept.append(header::VARY, HeaderValue::from(header::ACCEPT_ENCODING));
    }
    parts.headers = kept;
    parts.status = StatusCode::NOT_MODIFIED;
    Response::from_parts(parts, Body::empty())
}

/// Whether the `If-None-Match` value `value` is `*` or lists `etag`, by
/// the weak comparison (`W/` ignored). A malformed list matches only up
/// to where it stops making sense.
fn lists(value: &HeaderValue, etag: &HeaderValue) -> bool {
    let opaque = |tag: &[u8]| -> Vec<u8> { tag.strip_prefix(b"W/").unwrap_or(tag).to_vec() };
    let wanted = opaque(etag.as_bytes());
    let mut rest = value.as_bytes();
    loop {
        rest = trim_start(rest, |b| b == b',' || b == b' ' || b == b'\t');
        if rest.is_empty() {
            return false;
        }
        if rest[0] == b'*' {
            return true;
        }
        let tag = rest.strip_prefix(b"W/").unwrap_or(rest);
        let Some(end) = tag
            .strip_prefix(b"\"")
            .and_then(|t| t.iter().position(|&b| b == b'"'))
        else {
            return false;
        };
        if tag[..end + 2] == wanted[..] {
            return true;
        }
        rest = &tag[end + 2..];
    }
}

fn trim_start(mut bytes: &[u8], skip: impl Fn(u8) -> bool) -> &[u8] {
    while let Some((&first, rest)) = bytes.split_first() {
        if !skip(first) {
            break;
        }
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn ask(app: &Router, method: Method, path: &str, tag: Option<&str>) -> (Response, Bytes) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(tag) = tag {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (Response::from_parts(parts, Body::empty()), bytes)
    }

    fn streamed() -> Body {
        let chunks = ["[1,", "2]"].map(|c| Ok::<_, std::io::Error>(Bytes::from(c)));
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    /// Which answers get a tag and a 304, and which pass as they are.
    #[tokio::test]
    async fn tags_only_complete_revalidable_answers() {
        let app = add(Router::new()
            .route("/page", get(|| async { "a page" }))
            .route("/stream", get(|| async { streamed() }))
            .route(
                "/events",
                get(|| async { ([(header::CONTENT_TYPE, "text/event-stream")], "data: 1\n\n") }),
            )
            .route(
                "/tagged",
                get(|| async { ([(header::ETAG, "\"v1\"")], streamed()) }),
            )
            .route(
                "/private",
                get(|| async { ([(header::CACHE_CONTROL, "private, no-store")], "mine") }),
            ));
        let (page, body) = ask(&app, Method::GET, "/page", None).await;
        let etag = page.headers()[header::ETAG].to_str().unwrap().to_string();
        assert_eq!(etag, format!("W/\"{:032x}\"", xxh3_128(b"a page")));
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(body, "a page");
        let (head, body) = ask(&app, Method::HEAD, "/page", None).await;
        assert_eq!(head.headers()[header::ETAG], etag.as_str());
        assert!(body.is_empty());
        let (res, body) = ask(&app, Method::GET, "/page", Some(&etag)).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());

        for path in ["/stream", "/events"] {
            let (res, body) = ask(&app, Method::GET, path, Some("*")).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(res.headers().get(header::ETAG).is_none(), "{path}");
            assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "{path}");
            assert!(!body.is_empty(), "{path}");
        }
        let (res, _) = ask(&app, Method::GET, "/private", Some("*")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get(header::ETAG).is_none());
        assert_eq!(res.headers()[header::CACHE_CONTROL], "private, no-store");
        // A handler's own tag is kept, and honoured even on a stream.
        let (res, _) = ask(&app, Method::GET, "/tagged", Some("W/\"v1\"")).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(res.headers()[header::ETAG], "\"v1\"");
        let (res, body) = ask(&app, Method::GET, "/tagged", Some("\"v2\"")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body, "[1,2]");
        // Errors and other methods pass untouched.
        let (res, _) = ask(&app, Method::GET, "/nothing", Some("*")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(res.headers().get(header::CACHE_CONTROL).is_none());
    }

    #[test]
    fn if_none_match_by_weak_comparison() {
        let etag = HeaderValue::from_static("W/\"abc\"");
        let yes = [
            "W/\"abc\"",
            "\"abc\"",
            "*",
            "\"x\", W/\"abc\"",
            "\"x\",W/\"abc\"",
            " \"a,b\" ,  \"abc\"",
        ];
        let no = [
            "",
            "\"abcd\"",
            "W/\"ab\"",
            "abc",
            "\"x\", abc, \"abc\"",
            "W/abc",
            "\"abc",
        ];
        for v in yes {
            assert!(lists(&HeaderValue::from_static(v), &etag), "{v}");
        }
        for v in no {
            assert!(!lists(&HeaderValue::from_static(v), &etag), "{v}");
        }
        // A strong tag set by a handler compares the same way.
        assert!(lists(
            &HeaderValue::from_static("W/\"v1\""),
            &HeaderValue::from_static("\"v1\"")
        ));
    }
}
