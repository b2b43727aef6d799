//! Lists of the JSON API, in three forms:
//!
//! * whole, up to `frontend.limits.max_unpaginated` elements (the
//!   original's unpaginated `/api/v1/packages`): a JSON array streamed
//!   from the database row by row, never built in memory;
//! * paged with `page` and `per_page`, streamed the same way;
//! * keyset pages with `after` (where the list has a stable sort key):
//!   `per_page` rows after a cursor, read through an index however deep
//!   the page, answered whole (so they get an `ETag`).
//!
//! `X-Total-Count` gives the length of the whole list (not for keyset
//! pages: they never count), `Link` the next and previous pages.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::BoxError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::StreamExt;
use koschei_core::config::WebLimits;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryAs;
use sqlx::{FromRow, PgPool, Postgres};

use super::params::{After, Paging};
use crate::error::AppError;
use crate::http::query::{page_number, QueryArgs};

/// Bytes serialised before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// Which part of a list was asked for.
#[derive(Debug, Clone)]
enum Part {
    /// The whole list.
    Whole,
    /// Page `page` (from 1) of `per_page` elements.
    Page { page: i64, per_page: i64 },
    /// `per_page` elements after the one whose sort key `cursor` holds
    /// (`None`: from the first).
    After {
        cursor: Option<String>,
        per_page: i64,
    },
}

/// Which part of a list was asked for, and the limits of the answer.
#[derive(Debug, Clone)]
pub struct ListRequest {
    part: Part,
    max_unpaginated: i64,
    /// How long streaming the answer may take.
    time_limit: Duration,
}

/// A keyset page to read: the sort key of the row it starts after
/// (`None`: from the first row) and how many rows to read — one more
/// than the page, to know whether another page follows.
#[derive(Debug, PartialEq)]
pub struct KeysetPage<K> {
    pub after: Option<K>,
    pub limit: i64,
}

impl ListRequest {
    /// Checks `page` (from 1) and `per_page` (1 to `max_per_page`,
    /// default 100); a list without either is asked whole.
    pub fn new(paging: &Paging, limits: &WebLimits) -> Result<ListRequest, AppError> {
        ListRequest::with_after(paging, &After::default(), limits)
    }

    /// As [`ListRequest::new`], for a list that also takes `after` (not
    /// together with `page`).
    pub fn with_after(
        paging: &Paging,
        after: &After,
        limits: &WebLimits,
    ) -> Result<ListRequest, AppError> {
        let per_page = match paging.per_page.as_deref() {
            None => 100.min(limits.max_per_page),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=limits.max_per_page).contains(n))
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "per_page must be between 1 and {}",
                        limits.max_per_page
                    ))
                })?,
        };
        let page = paging.page.as_deref();
        if page.is_some_and(|p| p.trim().parse::<i64>().map_or(true, |p| p < 1)) {
            return Err(AppError::BadRequest("page must be a number from 1".into()));
        }
        let part = match (&after.after, page) {
            (Some(_), Some(_)) => {
                return Err(AppError::BadRequest(
                    "page and after cannot be used together".into(),
                ))
            }
            (Some(cursor), None) => Part::After {
                cursor: Some(cursor.trim())
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
                per_page,
            },
            (None, _) if page.is_some() || paging.per_page.is_some() => Part::Page {
                page: page_number(page),
                per_page,
            },
            (None, _) => Part::Whole,
        };
        Ok(ListRequest {
            part,
            max_unpaginated: limits.max_unpaginated.max(0),
            time_limit: Duration::from_secs_f64(limits.request_timeout.max(0.001)),
        })
    }

    /// The keyset page asked for, if `after` was given; its cursor read
    /// as the list's sort key `K` (one that is not gives 400).
    pub fn keyset<K: DeserializeOwned>(&self) -> Result<Option<KeysetPage<K>>, AppError> {
        let Part::After { cursor, per_page } = &self.part else {
            return Ok(None);
        };
        let after = match cursor {
            Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
                AppError::BadRequest(
                    "after must be a cursor from a rel=\"next\" link of this list".into(),
                )
            })?),
            None => None,
        };
        Ok(Some(KeysetPage {
            after,
            limit: per_page + 1,
        }))
    }

    /// `LIMIT` and `OFFSET` of the query of a whole list or a page.
    pub fn limit_offset(&self) -> (i64, i64) {
        match self.part {
            Part::Page { page, per_page } => (per_page, (page - 1) * per_page),
            Part::Whole | Part::After { .. } => (self.max_unpaginated, 0),
        }
    }

    /// Refuses a whole list longer than the cap.
    pub fn check_total(&self, total: i64) -> Result<(), AppError> {
        if matches!(self.part, Part::Whole) && total > self.max_unpaginated {
            return Err(AppError::BadRequest(format!(
                "{total} results, more than the {} an unpaged list may have: \
                 ask page by page (?page=1&per_page=1000) or filter",
                self.max_unpaginated
            )));
        }
        Ok(())
    }

    /// The answer: `query`'s rows written by `write` as a JSON array, with
    /// `total` and the links to the neighbouring pages of `path?query`.
    pub fn respond<R>(
        &self,
        pool: PgPool,
        total: i64,
        path: &str,
        query: &QueryArgs,
        rows: QueryAs<'static, Postgres, R, PgArguments>,
        write: fn(&mut Vec<u8>, R) -> serde_json::Result<()>,
    ) -> Response
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
    {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, BoxError>>(2);
        let time_limit = self.time_limit;
        tokio::spawn(async move {
            // A slow reader must not hold a database connection for ever.
            let streamed = tokio::time::timeout(time_limit, stream_rows(pool, rows, write, &tx));
            let result = match streamed.await {
                Ok(result) => result,
                Err(_) => Err("streaming the list took too long".into()),
            };
            if let Err(e) = result {
                tracing::warn!("list answer aborted: {e}");
                let _ = tx.send(Err(e)).await;
            }
        });
        let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        (
            [(header::CONTENT_TYPE, "application/json")],
            self.headers(total, path, query),
            body,
        )
            .into_response()
    }

    /// The answer to a keyset page: the `rows` read for
    /// [`KeysetPage::limit`], the page's ones written by `write` as a JSON
    /// array, and a `Link` to the next page of `path?query` (after the
    /// sort key `key` gives of its last row) when there is one.
    pub fn respond_keyset<R, K: Serialize>(
        &self,
        path: &str,
        query: &QueryArgs,
        mut rows: Vec<R>,
        key: fn(&R) -> K,
        write: fn(&mut Vec<u8>, R) -> serde_json::Result<()>,
    ) -> Result<Response, AppError> {
        let per_page = match self.part {
            Part::After { per_page, .. } => usize::try_from(per_page).unwrap_or(usize::MAX),
            _ => rows.len(),
        };
        let mut headers = HeaderMap::new();
        if rows.len() > per_page {
            rows.truncate(per_page);
            if let Some(last) = rows.last() {
                let next = format!(
                    "<{path}{}>; rel=\"next\"",
                    query.with("after", Some(&encode_cursor(&key(last))))
                );
                if let Ok(v) = HeaderValue::from_str(&next) {
                    headers.insert(header::LINK, v);
                }
            }
        }
        let mut body = Vec::with_capacity(rows.len() * 256 + 2);
        body.push(b'[');
        for (i, row) in rows.into_iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            // Writing a row is the end of reading it: a failure is one of
            // the database's rows, as in a streamed list.
            write(&mut body, row).map_err(|e| AppError::Db(sqlx::Error::Decode(e.into())))?;
        }
        body.push(b']');
        Ok(([(header::CONTENT_TYPE, "application/json")], headers, body).into_response())
    }

    /// `X-Total-Count` and the `Link`s to the neighbouring pages of
    /// `path?query`.
    pub fn headers(&self, total: i64, path: &str, query: &QueryArgs) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-total-count", HeaderValue::from(total));
        if let Part::Page { page, per_page } = self.part {
            let link = |page: i64, rel: &str| {
                format!(
                    "<{path}{}>; rel=\"{rel}\"",
                    query.with("page", Some(&page.to_string()))
                )
            };
            let mut links = Vec::new();
            if page > 1 {
                links.push(link(page - 1, "prev"));
            }
            if page.saturating_mul(per_page) < total {
                links.push(link(page + 1, "next"));
            }
            if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
                if !links.is_empty() {
                    headers.insert(header::LINK, v);
                }
            }
        }
        headers
    }
}

/// A sort key as a cursor: base64url of its JSON.
fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("a sort key serialises"))
}

/// The sort key a cursor holds, if it is one.
fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Option<K> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()
}

/// Sends `[row, row, …]` in chunks; stops when the client went away.
async fn stream_rows<R>(
    pool: PgPool,
    rows: QueryAs<'static, Postgres, R, PgArguments>,
    write: fn(&mut Vec<u8>, R) -> serde_json::Result<()>,
    tx: &tokio::sync::mpsc::Sender<Result<Bytes, BoxError>>,
) -> Result<(), BoxError>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    let mut stream = rows.fetch(&pool);
    let mut buf = Vec::with_capacity(CHUNK + 1024);
    buf.push(b'[');
    let mut first = true;
    while let Some(row) = stream.next().await {
        if !first {
            buf.push(b',');
        }
        first = false;
        write(&mut buf, row?)?;
        if buf.len() >= CHUNK {
            let chunk = Bytes::from(std::mem::replace(
                &mut buf,
                Vec::with_capacity(CHUNK + 1024),
            ));
            if tx.send(Ok(chunk)).await.is_err() {
                return Ok(());
            }
        }
    }
    buf.push(b']');
    let _ = tx.send(Ok(Bytes::from(buf))).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(page: Option<&str>, per_page: Option<&str>, after: Option<&str>) -> ListRequest {
        let paging = Paging {
            page: page.map(str::to_string),
            per_page: per_page.map(str::to_string),
        };
        let after = After {
            after: after.map(str::to_string),
        };
        ListRequest::with_after(&paging, &after, &WebLimits::default()).unwrap()
    }

    #[test]
    fn cursors_hold_the_sort_key() {
        let key = ("rnv".to_string(), 100, "f25".to_string());
        let cursor = encode_cursor(&key);
        assert!(cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let list = request(None, Some("2"), Some(&cursor));
        assert_eq!(
            list.keyset::<(String, i32, String)>().unwrap(),
            Some(KeysetPage {
                after: Some(key),
                limit: 3
            })
        );
        // Empty: from the first row.
        let first = request(None, None, Some("")).keyset::<(String, i32, String)>();
        assert_eq!(first.unwrap().unwrap().after, None);
        // Not a cursor, or one of another list.
        for bad in ["!!", "e30", &encode_cursor(&(1, 2))] {
            let err = request(None, None, Some(bad))
                .keyset::<(String, i32, String)>()
                .unwrap_err();
            assert!(err.public_message().starts_with("after must be"), "{bad}");
        }
        assert_eq!(
            request(Some("1"), None, None).keyset::<i32>().unwrap(),
            None
        );
    }

    #[test]
    fn page_and_after_exclude_each_other() {
        let paging = Paging {
            page: Some("2".into()),
            per_page: None,
        };
        let after = After {
            after: Some(String::new()),
        };
        let err = ListRequest::with_after(&paging, &after, &WebLimits::default()).unwrap_err();
        assert_eq!(
            err.public_message(),
            "page and after cannot be used together"
        );
    }
}
