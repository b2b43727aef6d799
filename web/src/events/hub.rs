//! The event hub of a web process: one reader of the event log that
//! broadcasts every new event to the open streams.
//!
//! A listener task keeps `LISTEN koschei_outbox` open (reconnecting with
//! back-off) and wakes the reader on each notification and on each
//! (re)connection; the reader also wakes every [`FALLBACK`]. Awake, it
//! reads the log after the last position it broadcast, page by page until
//! nothing is left, and broadcasts each event once, behind an `Arc`. As it
//! reads by position, a lost notification or connection delays events but
//! never loses one. It starts at the end of the log: streams replay older
//! events from the database themselves.

use std::sync::{Arc, Weak};
use std::time::Duration;

use koschei_koji::backoff::BackoffPolicy;
use sqlx::PgPool;
use tokio::sync::{broadcast, watch, Notify, OnceCell, OwnedSemaphorePermit, Semaphore};

use super::log::{EventLog, LogEvent, PAGE};

/// Events the broadcast holds; a stream this far behind is dropped.
pub const CAPACITY: usize = 4096;
/// The reader reads the log at least this often, notified or not.
pub const FALLBACK: Duration = Duration::from_secs(5);
/// The channel `message_outbox` inserts notify (at commit).
const CHANNEL: &str = "koschei_outbox";

/// The hub; clones share it. Nothing runs until [`EventHub::start`].
#[derive(Clone)]
pub struct EventHub {
    inner: Arc<Inner>,
}

struct Inner {
    log: EventLog,
    events: broadcast::Sender<Arc<LogEvent>>,
    /// The last position broadcast.
    position: watch::Sender<i64>,
    started: OnceCell<()>,
    /// A permit per open stream (`frontend.limits.max_event_streams`).
    streams: Arc<Semaphore>,
}

/// What a stream receives from the hub.
pub struct Subscription {
    /// Every event broadcast after subscribing.
    pub events: broadcast::Receiver<Arc<LogEvent>>,
    /// Changes after each batch broadcast: a stream waiting for its client
    /// checks then whether it fell [`CAPACITY`] events behind.
    pub position: watch::Receiver<i64>,
}

impl EventHub {
    /// A hub reading `pool`'s log, stripping `"<modname>."` from topics,
    /// with at most `max_streams` open streams.
    pub fn new(pool: PgPool, modname: &str, max_streams: usize) -> EventHub {
        EventHub {
            inner: Arc::new(Inner {
                log: EventLog {
                    pool,
                    prefix: format!("{modname}."),
                },
                events: broadcast::channel(CAPACITY).0,
                position: watch::channel(0).0,
                started: OnceCell::new(),
                streams: Arc::new(Semaphore::new(max_streams)),
            }),
        }
    }

    /// The log the hub reads (streams replay from it).
    pub fn log(&self) -> &EventLog {
        &self.inner.log
    }

    /// A stream's permit, or `None` when `max_streams` are open.
    pub fn open_stream(&self) -> Option<OwnedSemaphorePermit> {
        self.inner.streams.clone().try_acquire_owned().ok()
    }

    /// Starts the hub's tasks (once; later calls wait for the first): they
    /// broadcast every event after the log's current end and stop when the
    /// last handle of the hub is gone or the pool is closed.
    pub async fn start(&self) -> sqlx::Result<()> {
        self.inner
            .started
            .get_or_try_init(|| async {
                let last = self.inner.log.last_seq().await?;
                self.inner.position.send_replace(last);
                let wake = Arc::new(Notify::new());
                let hub = Arc::downgrade(&self.inner);
                let pool = self.inner.log.pool.clone();
                tokio::spawn(listen(pool, wake.clone(), hub.clone()));
                tokio::spawn(broadcast_new(hub, last, wake));
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Starts the hub if needed and subscribes: every event read after
    /// this call is received (older ones are in the database).
    pub async fn subscribe(&self) -> sqlx::Result<Subscription> {
        self.start().await?;
        Ok(Subscription {
            events: self.inner.events.subscribe(),
            position: self.inner.position.subscribe(),
        })
    }
}

/// Waits between failed reads of the log.
const RETRY: BackoffPolicy =
    BackoffPolicy::capped(Duration::from_millis(500), Duration::from_secs(30));

/// The listener task: wakes the reader on each notification and on each
/// (re)connection, on a connection of its own (`crate::listener`); ends
/// when the pool is closed or the hub is gone.
async fn listen(pool: PgPool, wake: Arc<Notify>, hub: Weak<Inner>) {
    while hub.strong_count() > 0 {
        let Some(mut listener) = crate::listener::listen(&pool, CHANNEL, "event hub").await else {
            return;
        };
        // Events committed while not listening.
        wake.notify_one();
        loop {
            let received = tokio::select! {
                r = listener.try_recv() => r,
                () = pool.close_event() => return,
            };
            match received {
                // A notification, or (`None`) a lost connection re-established.
                Ok(_) => wake.notify_one(),
                Err(e) => {
                    tracing::warn!("event hub: listening failed: {e}");
                    break;
                }
            }
            if hub.strong_count() == 0 {
                return;
            }
        }
    }
}

/// The reader task: on each wake-up, broadcasts the events after `last`.
async fn broadcast_new(hub: Weak<Inner>, mut last: i64, wake: Arc<Notify>) {
    let mut delays = RETRY.start();
    loop {
        let Some(inner) = hub.upgrade() else { return };
        let wait = match catch_up(&inner, &mut last).await {
            Ok(()) => {
                delays.reset();
                FALLBACK
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!("event hub: reading the event log failed: {e}");
                delays.next_delay()
            }
        };
        drop(inner);
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Broadcasts the events after `last`, page by page, advancing `last`.
async fn catch_up(inner: &Inner, last: &mut i64) -> sqlx::Result<()> {
    loop {
        let page = inner.log.read_after(*last).await?;
        let more = page.len() as i64 == PAGE;
        for event in page {
            *last = event.seq;
            // No subscriber is not an error.
            let _ = inner.events.send(Arc::new(event));
        }
        let at = *last;
        inner
            .position
            .send_if_modified(|p| std::mem::replace(p, at) != at);
        if !more {
            return Ok(());
        }
    }
}
