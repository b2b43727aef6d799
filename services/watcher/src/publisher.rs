//! The outbox publisher (the original's
//! `koschei/plugins/fedmsg_plugin/backend/publisher.py`): drains `message_outbox` in id
//! order and publishes each row with its fedora-messaging envelope and
//! publisher confirms. Only rows with `publish` are for the bus; the others
//! (build events, state changes written while publishing was disabled) are
//! for the event stream only and stay unsent. A row is marked sent only
//! after the broker confirmed it, inside the transaction that locked it: a
//! crash or a lost connection can only lead to publishing the same row
//! again, with the same message id.
//!
//! It wakes on `NOTIFY koschei_outbox` (sent by the outbox trigger) and
//! polls every [`POLL_INTERVAL`] in case a notification was missed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use koschei_koji::backoff::Backoff;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::Channel;
use lapin::Confirmation;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::broker::{Broker, BrokerError};
use crate::envelope::{Envelope, OutboxRow};
use crate::health::{run_reconnecting, Beat, Reconnecting};
use crate::stats::Stats;

/// The channel the outbox trigger notifies on each insert.
pub const OUTBOX_CHANNEL: &str = "koschei_outbox";
/// How long the broker may take to accept and confirm a message; on a dead
/// connection lapin's promises may never resolve.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// Fallback polling period.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Publisher settings.
#[derive(Debug, Clone)]
pub struct PublisherSettings {
    /// Exchange to publish to (`fedmsg.exchange`, fedora-messaging's
    /// `publish_exchange`, `amq.topic`).
    pub exchange: String,
    /// `fedmsg-publisher.topic_prefix`, fedora-messaging's `topic_prefix`.
    pub topic_prefix: String,
    /// fedora-messaging's `publish_priority`.
    pub priority: Option<u8>,
    /// Rows per batch (published back to back, then confirmed together).
    pub batch: i64,
}

/// Why a publishing session ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionEnd {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the broker did not confirm message {0}")]
    Nacked(uuid::Uuid),
    #[error("the broker did not answer in time")]
    Timeout,
}

/// The publisher loop.
pub struct Publisher {
    broker: Broker,
    pool: PgPool,
    settings: PublisherSettings,
    stats: Arc<Stats>,
    beat: Arc<Beat>,
}

impl Reconnecting for Publisher {
    type End = SessionEnd;
    const NAME: &'static str = "publisher";

    fn beat(&self) -> &Beat {
        &self.beat
    }

    async fn session(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Result<(), SessionEnd> {
        self.one_session(shutdown, backoff).await
    }
}

impl Publisher {
    pub fn new(
        broker: Broker,
        pool: PgPool,
        settings: PublisherSettings,
        stats: Arc<Stats>,
        beat: Arc<Beat>,
    ) -> Publisher {
        Publisher {
            broker,
            pool,
            settings,
            stats,
            beat,
        }
    }

    /// Publishes until `shutdown` turns true, reconnecting with back-off.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        run_reconnecting(self, shutdown).await
    }

    async fn one_session(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Result<(), SessionEnd> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(OUTBOX_CHANNEL).await?;
        let conn = self.broker.connect("koschei-watcher publisher").await?;
        let channel = conn.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        backoff.reset();
        tracing::info!(
            exchange = self.settings.exchange,
            prefix = self.settings.topic_prefix,
            "publishing the outbox"
        );
        loop {
            self.beat.beat();
            if *shutdown.borrow() {
                let _ = conn.close(200, "shutdown".into()).await;
                return Ok(());
            }
            let published = self.publish_batch(&channel).await?;
            if published > 0 {
                continue;
            }
            tokio::select! {
                notification = listener.recv() => { notification?; }
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Publishes the oldest unsent `publish` rows and marks the confirmed ones sent;
    /// returns how many were sent.
    async fn publish_batch(&self, channel: &Channel) -> Result<usize, SessionEnd> {
        let mut tx = self.pool.begin().await?;
        // The row locks keep a second watcher from publishing the same rows
        // concurrently (it waits, then skips them as sent).
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, message_id, topic, body FROM message_outbox
             WHERE sent IS NULL AND publish ORDER BY id LIMIT $1 FOR UPDATE",
        )
        .bind(self.settings.batch)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let now = Utc::now();
        let mut confirms = Vec::with_capacity(rows.len());
        for row in &rows {
            let e = Envelope::for_row(row, &self.settings.topic_prefix, now)
                .with_priority(self.settings.priority);
            let publish = channel.basic_publish(
                self.settings.exchange.as_str().into(),
                e.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                &e.payload,
                e.properties,
            );
            let confirm = tokio::time::timeout(CONFIRM_TIMEOUT, publish)
                .await
                .map_err(|_| SessionEnd::Timeout)??;
            confirms.push(confirm);
        }
        // Only the confirmed prefix is marked sent, so the order of the
        // outbox is kept when the broker refuses one message.
        let mut confirmed = Vec::with_capacity(rows.len());
        let mut refused = None;
        for (row, confirm) in rows.iter().zip(confirms) {
            let confirmation = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
                .await
                .map_err(|_| SessionEnd::Timeout)??;
            match confirmation {
                Confirmation::Ack(_) if refused.is_none() => confirmed.push(row.id),
                Confirmation::Ack(_) => {}
                Confirmation::Nack(_) | Confirmation::NotRequested => {
                    refused.get_or_insert(row.message_id);
                }
            }
        }
        sqlx::query(
            "UPDATE message_outbox SET sent = clock_timestamp() AT TIME ZONE 'UTC'
             WHERE id = ANY($1)",
        )
        .bind(&confirmed)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.stats
            .published
            .fetch_add(confirmed.len() as u64, std::sync::atomic::Ordering::Relaxed);
        match refused {
            Some(id) => Err(SessionEnd::Nacked(id)),
            None => Ok(confirmed.len()),
        }
    }
}
