//! `GET /api/v1/events`: the event log as Server-Sent Events, filtered,
//! resumable with `Last-Event-ID`, each event exactly once and in order.
//!
//! A stream subscribes to the [hub](super::hub) first, then replays the
//! events after the client's `Last-Event-ID` from the database, then sends
//! the hub's events it has not sent yet. A task per stream feeds a small
//! buffer of event batches the response body drains, one write per batch
//! of frames encoded once by the hub; a client whose socket does not drain
//! while the hub moves [`CAPACITY`] events ahead is dropped (the
//! connection ends; the client reconnects with its last id and loses
//! nothing), so a slow client costs a bounded amount of memory.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, OwnedSemaphorePermit};
use utoipa::IntoParams;

use super::filter::EventFilter;
use super::hub::{Subscription, CAPACITY};
use super::log::{EventLog, LogEvent, PAGE};
use crate::api::error::ApiResult;
use crate::api::lookup::check_collections;
use crate::api::params::ApiQuery;
use crate::api::types::Error;
use crate::error::AppError;
use crate::state::AppState;

/// Batches a stream buffers for its client beyond what the socket holds.
const CLIENT_BUFFER: usize = 4;
/// Most events in one batch (one write to the client).
const MAX_BATCH: usize = 1024;
/// A comment is sent after this long without an event.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The header a reconnecting `EventSource` sends.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Query parameters of `/api/v1/events`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events of these collections (repeatable or comma-separated);
    /// an unknown name gives 404.
    #[serde(default)]
    #[param(style = Form, explode)]
    pub collection: Vec<String>,
    /// Only events of these packages (repeatable or comma-separated);
    /// collection-level events are left out.
    #[serde(default)]
    #[param(style = Form, explode)]
    pub package: Vec<String>,
    /// Only events of packages in these groups (`namespace/name`, or `name`
    /// of a global group; repeatable or comma-separated).
    #[serde(default)]
    #[param(style = Form, explode)]
    pub group: Vec<String>,
    /// Resume after this event id, for clients that cannot send the
    /// `Last-Event-ID` header (the header wins).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub last_event_id: Option<String>,
}

/// Package and collection state changes and build starts and ends, live, as
/// Server-Sent Events: `id` is the event's position in the stream, `event`
/// its topic without the `<modname>.` prefix (`package.state.change`,
/// `collection.state.change`, `build.started`, `build.finished`), `data`
/// `{"id", "message_id", "topic", "time", "body"}` with the bus message's
/// body. A client reconnecting with `Last-Event-ID` receives every event
/// after it exactly once, in order. A comment is sent every 15 s without an
/// event; a client that cannot keep up is disconnected (to reconnect).
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "Malformed Last-Event-ID", body = Error),
        (status = 404, description = "Unknown collection", body = Error),
        (status = 503, description = "Too many open streams (frontend.limits.max_event_streams)", body = Error,
            headers(("Retry-After" = i64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: ApiQuery<EventsQuery>,
) -> ApiResult<Response> {
    let q = query.params;
    let resume = resume_after(&headers, q.last_event_id.as_deref())?;
    let filter = EventFilter::new(&q.collection, &q.package, &q.group);
    check_collections(&state, &filter.collections).await?;
    let Some(slot) = state.events.open_stream() else {
        tracing::warn!("too many event streams: refused one");
        return Ok(busy());
    };
    let subscription = state.events.subscribe().await?;
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    let feed = Feed {
        log: state.events.log().clone(),
        filter,
        tx,
        _slot: slot,
    };
    tokio::spawn(feed.run(subscription, resume));
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            // Reverse proxies must pass events on at once.
            (HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(wire(rx)),
    )
        .into_response())
}

/// The response body: each batch as one chunk of frames, and a comment
/// after [`KEEP_ALIVE`] without events.
fn wire(rx: mpsc::Receiver<Batch>) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        let chunk = match tokio::time::timeout(KEEP_ALIVE, rx.recv()).await {
            Ok(Some(batch)) => {
                let mut chunk = Vec::with_capacity(batch.iter().map(|e| e.frame.len()).sum());
                for event in &batch {
                    chunk.extend_from_slice(&event.frame);
                }
                Bytes::from(chunk)
            }
            Ok(None) => return None,
            Err(_) => Bytes::from_static(b":\n\n"),
        };
        Some((Ok(chunk), rx))
    })
}

/// The id to resume after: the `Last-Event-ID` header, else the query's
/// `last_event_id`; empty is none, anything but a number from 0 is 400.
fn resume_after(headers: &HeaderMap, query: Option<&str>) -> Result<Option<i64>, AppError> {
    let header = match headers.get(LAST_EVENT_ID) {
        Some(v) => Some(v.to_str().map_err(|_| malformed("Last-Event-ID"))?),
        None => None,
    };
    let (name, value) = match (header, query) {
        (Some(h), _) => ("Last-Event-ID", h),
        (None, Some(q)) => ("last_event_id", q),
        (None, None) => return Ok(None),
    };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(id) if id >= 0 => Ok(Some(id)),
        _ => Err(malformed(name)),
    }
}

fn malformed(name: &str) -> AppError {
    AppError::BadRequest(format!("{name} must be an event id (a number from 0)"))
}

/// The answer over `max_event_streams`.
fn busy() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "10")],
        Json(Error {
            error: "Too many event streams are open; try again later.".into(),
        }),
    )
        .into_response()
}

/// A stream's task: what it sends and where.
struct Feed {
    log: EventLog,
    filter: EventFilter,
    tx: mpsc::Sender<Batch>,
    /// Held while the task runs.
    _slot: OwnedSemaphorePermit,
}

/// Events sent to the client in one write.
type Batch = Vec<Arc<LogEvent>>;

impl Feed {
    /// Replays the events after `resume`, then sends the hub's; returns
    /// when the client is gone or dropped.
    async fn run(self, mut sub: Subscription, resume: Option<i64>) {
        let mut last = i64::MIN;
        if let Some(after) = resume {
            last = after;
            loop {
                let page = match self.log.read_after(last).await {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::warn!("event stream: replay failed: {e}");
                        return;
                    }
                };
                let more = page.len() as i64 == PAGE;
                let mut batch = Batch::new();
                for event in page {
                    last = event.seq;
                    if self.filter.matches(&event) {
                        batch.push(Arc::new(event));
                    }
                }
                if !self.send(&mut sub, batch).await {
                    return;
                }
                if !more {
                    break;
                }
            }
        }
        loop {
            let first = tokio::select! {
                received = sub.events.recv() => received,
                () = self.tx.closed() => return,
            };
            // The first event and every one already waiting, in one batch.
            let mut batch = Batch::new();
            let mut received = first;
            loop {
                match received {
                    Ok(event) if event.seq > last => {
                        last = event.seq;
                        if self.filter.matches(&event) {
                            batch.push(event);
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        tracing::info!("event stream: client lagged, dropped");
                        return;
                    }
                    Err(RecvError::Closed) => return,
                }
                if batch.len() >= MAX_BATCH {
                    break;
                }
                received = match sub.events.try_recv() {
                    Ok(event) => Ok(event),
                    Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                    Err(TryRecvError::Closed) => Err(RecvError::Closed),
                    Err(TryRecvError::Empty) => break,
                };
            }
            if !self.send(&mut sub, batch).await {
                return;
            }
        }
    }

    /// Queues `batch` (if not empty) for the client, waiting for room;
    /// false when the client is gone or fell [`CAPACITY`] events behind the
    /// hub meanwhile.
    async fn send(&self, sub: &mut Subscription, batch: Batch) -> bool {
        if batch.is_empty() {
            return !self.tx.is_closed();
        }
        loop {
            tokio::select! {
                permit = self.tx.reserve() => {
                    return match permit {
                        Ok(permit) => {
                            permit.send(batch);
                            true
                        }
                        Err(_) => false,
                    };
                }
                changed = sub.position.changed() => {
                    if changed.is_err() || lagging(&sub.events) {
                        tracing::info!("event stream: client does not keep up, dropped");
                        return false;
                    }
                }
            }
        }
    }
}

/// Whether a receiver is a whole broadcast buffer behind.
fn lagging(events: &broadcast::Receiver<Arc<LogEvent>>) -> bool {
    events.len() >= CAPACITY
}
