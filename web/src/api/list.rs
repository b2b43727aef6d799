//! Lists of the JSON API: paged with `page` and `per_page`, or whole up to
//! `frontend.limits.max_unpaginated` elements (the original's unpaginated
//! `/api/v1/packages`); always a JSON array streamed from the database
//! row by row, never built in memory. `X-Total-Count` gives the length of
//! the whole list, `Link` the next and previous pages.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::BoxError;
use futures_util::StreamExt;
use koschei_core::config::WebLimits;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryAs;
use sqlx::{FromRow, PgPool, Postgres};

use super::params::Paging;
use crate::error::AppError;
use crate::http::query::{page_number, QueryArgs};

/// Bytes serialised before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// Which part of a list was asked for.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// `(page, per_page)`, `None` for the whole list.
    page: Option<(i64, i64)>,
    max_unpaginated: i64,
    /// How long streaming the answer may take.
    time_limit: Duration,
}

impl ListRequest {
    /// Checks `page` (from 1) and `per_page` (1 to `max_per_page`,
    /// default 100); a list without either is asked whole.
    pub fn new(paging: &Paging, limits: &WebLimits) -> Result<ListRequest, AppError> {
        let page = if paging.page.is_some() || paging.per_page.is_some() {
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
            Some((page_number(page), per_page))
        } else {
            None
        };
        Ok(ListRequest {
            page,
            max_unpaginated: limits.max_unpaginated.max(0),
            time_limit: Duration::from_secs_f64(limits.request_timeout.max(0.001)),
        })
    }

    /// `LIMIT` and `OFFSET` of the query.
    pub fn limit_offset(&self) -> (i64, i64) {
        match self.page {
            Some((page, per_page)) => (per_page, (page - 1) * per_page),
            None => (self.max_unpaginated, 0),
        }
    }

    /// Refuses a whole list longer than the cap.
    pub fn check_total(&self, total: i64) -> Result<(), AppError> {
        if self.page.is_none() && total > self.max_unpaginated {
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

    /// `X-Total-Count` and the `Link`s to the neighbouring pages of
    /// `path?query`.
    pub fn headers(&self, total: i64, path: &str, query: &QueryArgs) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-total-count", HeaderValue::from(total));
        if let Some((page, per_page)) = self.page {
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
