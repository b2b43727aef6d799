//! The cache of anonymous answers: a GET without a session cookie is
//! answered from memory when an answer to the same URL was stored under
//! tags that did not change since; otherwise its answer is stored while it
//! is sent (streamed answers too, up to a size), if the handler attached
//! [`Tags`]. Stored answers carry a weak ETag and are also kept gzipped,
//! compressed once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use koschei_core::config::PageCacheConfig;
use tokio::sync::{OnceCell, Semaphore};

use super::feed::ChangeFeed;
use super::tags::{Clock, Stamp, Tag, Tags};
use crate::http::conditional::etag_of;
use crate::http::session::COOKIE_NAME;

/// Largest answer stored (larger ones are sent, not kept).
const MAX_ENTRY: usize = 64 << 20;

/// Answers smaller than this are not worth gzipping.
const MIN_GZIP: usize = 1024;

/// Says whether an answer came from the cache (`hit`) or was made and may
/// be stored (`miss`); absent when the cache was not asked.
pub const X_CACHE: &str = "x-cache";

/// How long a request waits for another one making the same answer.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(2);

/// A request making the answer for a key; followers wait until it is
/// dropped (the answer stored or given up).
struct Flight {
    cache: Arc<PageCache>,
    key: String,
    landed: Arc<Semaphore>,
}

impl Drop for Flight {
    fn drop(&mut self) {
        let mut in_flight = self
            .cache
            .in_flight
            .lock()
            .expect("in-flight lock poisoned");
        if in_flight
            .get(&self.key)
            .is_some_and(|s| Arc::ptr_eq(s, &self.landed))
        {
            in_flight.remove(&self.key);
        }
        self.landed.close();
    }
}

/// One stored answer.
struct Entry {
    stamp: Stamp,
    tags: Vec<Tag>,
    expires: Option<Instant>,
    headers: HeaderMap,
    body: Bytes,
    gzipped: OnceCell<Option<Bytes>>,
}

impl Entry {
    fn weight(&self) -> u32 {
        u32::try_from(self.body.len() + 512).unwrap_or(u32::MAX)
    }
}

/// The page cache of one web process.
pub struct PageCache {
    feed: Arc<ChangeFeed>,
    clock: Arc<Clock>,
    entries: moka::sync::Cache<String, Arc<Entry>>,
    time_dependent_max_age: Duration,
    /// Keys whose answer a request is making (closed when done).
    in_flight: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl PageCache {
    /// Starts the change feed on `pool`; `None` when the cache is disabled.
    pub fn start(pool: sqlx::PgPool, config: &PageCacheConfig) -> Option<Arc<PageCache>> {
        if !config.enabled {
            return None;
        }
        let clock = Arc::new(Clock::default());
        let feed = ChangeFeed::start(pool, clock.clone());
        let entries = moka::sync::Cache::builder()
            .max_capacity(config.size_mb.saturating_mul(1 << 20))
            .weigher(|_key: &String, e: &Arc<Entry>| e.weight())
            .build();
        Some(Arc::new(PageCache {
            feed,
            clock,
            entries,
            time_dependent_max_age: Duration::from_secs_f64(config.time_dependent_max_age.max(0.0)),
            in_flight: Mutex::new(HashMap::new()),
        }))
    }

    /// Makes the caller the one making `key`'s answer, or gives the
    /// semaphore closed when the current maker is done.
    fn take_off(self: &Arc<Self>, key: &str) -> Result<Flight, Arc<Semaphore>> {
        let mut in_flight = self.in_flight.lock().expect("in-flight lock poisoned");
        if let Some(landed) = in_flight.get(key) {
            return Err(landed.clone());
        }
        let landed = Arc::new(Semaphore::new(0));
        in_flight.insert(key.to_string(), landed.clone());
        Ok(Flight {
            cache: self.clone(),
            key: key.to_string(),
            landed,
        })
    }

    /// The stored answer for `key`, if still valid.
    fn lookup(&self, key: &str) -> Option<Arc<Entry>> {
        let entry = self.entries.get(key)?;
        let fresh = entry.expires.is_none_or(|t| Instant::now() < t)
            && self.clock.unchanged_since(entry.stamp, &entry.tags);
        if fresh {
            Some(entry)
        } else {
            self.entries.invalidate(key);
            None
        }
    }
}

/// The middleware: see the module documentation.
pub async fn layer(
    State(cache): State<Option<Arc<PageCache>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(cache) = cache.filter(|_| cacheable_request(&req)) else {
        return next.run(req).await;
    };
    let Some(stamp) = cache.feed.sync().await else {
        return next.run(req).await;
    };
    let key = req.uri().to_string();
    let gzip = accepts_gzip(req.headers());
    if let Some(entry) = cache.lookup(&key) {
        return answer(&entry, gzip).await;
    }
    // One request makes the answer; the others arriving meanwhile wait for it.
    let leader = match cache.take_off(&key) {
        Ok(leader) => Some(leader),
        Err(landed) => {
            let _ = tokio::time::timeout(FOLLOW_TIMEOUT, landed.acquire()).await;
            if let Some(entry) = cache.lookup(&key) {
                return answer(&entry, gzip).await;
            }
            None
        }
    };
    let response = next.run(req).await;
    let Some(tags) = response.extensions().get::<Tags>().cloned() else {
        return response;
    };
    if response.status() != StatusCode::OK
        || response.headers().contains_key(header::SET_COOKIE)
        || response.headers().contains_key(header::CONTENT_ENCODING)
    {
        return response;
    }
    let expires = tags
        .time_dependent
        .then(|| Instant::now() + cache.time_dependent_max_age);
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let headers = parts.headers.clone();
    let store = Store {
        cache: cache.clone(),
        key,
        stamp,
        tags: tags.tags,
        expires,
        headers,
        _leader: leader,
    };
    // A body already in memory is stored at once and answered with its
    // ETag; a streamed one is stored once it was sent.
    let whole = body.size_hint().exact().filter(|&n| n <= MAX_ENTRY as u64);
    let body = match whole {
        Some(n) => match axum::body::to_bytes(body, n as usize).await {
            Ok(bytes) => {
                parts
                    .headers
                    .insert(header::ETAG, store.finish(bytes.clone()));
                Body::from(bytes)
            }
            Err(e) => {
                tracing::error!("reading an answer to cache it: {e}");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        },
        None => tee(body, store),
    };
    let mut response = Response::from_parts(parts, body);
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(X_CACHE, HeaderValue::from_static("miss"));
    response
}

/// Only anonymous GETs: a session may carry a user or a flash message.
fn cacheable_request(req: &Request) -> bool {
    req.method() == Method::GET
        && !req.headers().contains_key(header::AUTHORIZATION)
        && !req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .any(|c| c.trim().split('=').next() == Some(COOKIE_NAME))
}

/// Whether `Accept-Encoding` allows gzip (not with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// A stored answer, gzipped when the client allows it and it is worth it.
async fn answer(entry: &Entry, gzip: bool) -> Response {
    let mut body = entry.body.clone();
    let mut encoded = false;
    if gzip && entry.body.len() >= MIN_GZIP {
        let gzipped = entry
            .gzipped
            .get_or_init(|| {
                let plain = entry.body.clone();
                async move {
                    tokio::task::spawn_blocking(move || compress(&plain))
                        .await
                        .ok()
                        .flatten()
                }
            })
            .await;
        if let Some(z) = gzipped {
            body = z.clone();
            encoded = true;
        }
    }
    let mut response = (StatusCode::OK, entry.headers.clone(), body).into_response();
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(X_CACHE, HeaderValue::from_static("hit"));
    if encoded {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// The stored gzip copy: made once per stored answer, so at the default
/// level (the compression layer uses the fastest, as it runs per request).
fn compress(plain: &[u8]) -> Option<Bytes> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(plain).ok()?;
    z.finish().ok().map(Bytes::from)
}

/// What is needed to store an answer once its body was sent whole.
struct Store {
    cache: Arc<PageCache>,
    key: String,
    stamp: Stamp,
    tags: Vec<Tag>,
    expires: Option<Instant>,
    headers: HeaderMap,
    /// Released when the answer is stored or given up.
    _leader: Option<Flight>,
}

impl Store {
    /// Stores the answer `body` (if nothing it depends on changed while it
    /// was made); its ETag.
    fn finish(mut self, body: Bytes) -> HeaderValue {
        let etag = etag_of(&body);
        self.headers.insert(header::ETAG, etag.clone());
        if !self.cache.clock.unchanged_since(self.stamp, &self.tags) {
            return etag;
        }
        let entry = Entry {
            stamp: self.stamp,
            tags: self.tags,
            expires: self.expires,
            headers: self.headers,
            body,
            gzipped: OnceCell::new(),
        };
        self.cache.entries.insert(self.key, Arc::new(entry));
        etag
    }
}

/// Passes `body` through, keeping a copy stored by `store` when it ended
/// without error and within [`MAX_ENTRY`].
fn tee(body: Body, store: Store) -> Body {
    Body::from_stream(Tee {
        inner: body.into_data_stream(),
        buf: Vec::new(),
        store: Some(store),
    })
}

/// The stream of [`tee`].
struct Tee {
    inner: axum::body::BodyDataStream,
    buf: Vec<u8>,
    store: Option<Store>,
}

impl futures_util::Stream for Tee {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = std::task::ready!(this.inner.poll_next_unpin(cx));
        match &item {
            Some(Ok(bytes)) if this.store.is_some() => {
                if this.buf.len() + bytes.len() <= MAX_ENTRY {
                    this.buf.extend_from_slice(bytes);
                } else {
                    this.store = None;
                    this.buf = Vec::new();
                }
            }
            Some(Ok(_)) => {}
            Some(Err(_)) => this.store = None,
            None => {
                if let Some(store) = this.store.take() {
                    // Too late for this answer's headers; the stored copy has it.
                    let _etag = store.finish(Bytes::from(std::mem::take(&mut this.buf)));
                }
            }
        }
        std::task::Poll::Ready(item)
    }
}
