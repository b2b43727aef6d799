//! The AMQP consumer (the original's
//! `koschei/plugins/fedmsg_plugin/backend/services/watcher.py`): declares the configured
//! exchanges and queues, binds them, and handles deliveries from every queue concurrently
//! (up to the prefetch count). A delivery is acknowledged only after its database
//! transaction committed. Malformed messages and messages whose data the database refuses
//! are rejected without requeueing (dead-lettered when the queue has a dead-letter
//! exchange). Transient failures are retried in process with back-off, then requeued; a
//! message handled [`RetryPolicy::max_deliveries`] times without success is rejected too,
//! so no message can loop for ever. Losing the broker means reconnecting with back-off;
//! unacked deliveries come back from the broker, and handling is idempotent.
//!
//! Strings from the bus (routing keys, message ids) are logged with Debug
//! formatting, so control characters cannot forge log lines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use koschei_core::config::FedmsgConfig;
use koschei_koji::backoff::{Backoff, BackoffPolicy};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::ExchangeKind;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::broker::{Broker, BrokerError};
use crate::bus::BusSettings;
use crate::handler::{HandleError, Handler};
use crate::health::{run_reconnecting, Beat, Reconnecting, BEAT_INTERVAL};
use crate::koji_message::{classify, Verdict};
use crate::stats::Stats;

/// Exit code of the `--crash-after-commits` fault injection.
pub const CRASH_EXIT_CODE: i32 = 86;

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per delivery before it is requeued.
    pub attempts: u32,
    /// Pause after the first failed attempt; doubles after each.
    pub first_pause: Duration,
    /// Deliveries of one message before it is rejected
    /// (`fedmsg.max_deliveries`). A delivery's number is the quorum
    /// queue's `x-delivery-count` header plus one when present, else
    /// counted in process by message id (a restart of the watcher starts
    /// counting again, so the bound is per process on classic queues).
    pub max_deliveries: u32,
}

impl RetryPolicy {
    /// The pauses between the attempts of one delivery: `first_pause`, doubling.
    pub fn pauses(&self) -> BackoffPolicy {
        BackoffPolicy::uncapped(self.first_pause)
    }
}

impl Default for RetryPolicy {
    /// 5 attempts per delivery (pauses of 1, 2, 4, 8 s), 10 deliveries.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_pause: Duration::from_secs(1),
            max_deliveries: 10,
        }
    }
}

/// Queue and delivery settings.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// The `[fedmsg]` section: Koji topic prefix and instance.
    pub fedmsg: FedmsgConfig,
    /// Exchanges, queues and bindings.
    pub bus: BusSettings,
    /// Unacknowledged deliveries in flight (also the handling concurrency).
    pub prefetch: u16,
    pub retry: RetryPolicy,
    /// Test-only fault injection: exit the process right after the N-th
    /// committed change, before acknowledging its message.
    pub crash_after_commits: Option<u64>,
}

/// Deliveries counted per message id, for queues without
/// `x-delivery-count`. Entries go when their message is settled; the map
/// is emptied when it reaches [`DeliveryCounts::CAPACITY`] (counts then
/// start again, still bounded).
#[derive(Debug, Default)]
struct DeliveryCounts(Mutex<HashMap<String, u32>>);

impl DeliveryCounts {
    const CAPACITY: usize = 10_000;

    /// The number of this delivery of `id`.
    fn this_delivery(&self, id: &str, delivery: &Delivery) -> u32 {
        let header = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-delivery-count").cloned())
            .and_then(|v| integer(&v))
            .map_or(0, |n| {
                u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1)
            });
        let counted = self.lock().get(id).copied().unwrap_or(0).saturating_add(1);
        let flagged = if delivery.redelivered { 2 } else { 1 };
        header.max(counted).max(flagged)
    }

    /// Records that delivery number `n` of `id` was requeued.
    fn requeued(&self, id: &str, n: u32) {
        let mut map = self.lock();
        if map.len() >= Self::CAPACITY {
            map.clear();
        }
        map.insert(id.to_owned(), n);
    }

    fn settled(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn integer(value: &AMQPValue) -> Option<i64> {
    match value {
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongLongInt(n) => Some(*n),
        _ => None,
    }
}

/// The key deliveries of one message are counted under: its message id,
/// else its routing key and body.
fn message_key(delivery: &Delivery) -> String {
    match delivery.properties.message_id() {
        Some(id) => format!("id:{id}"),
        None => {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            delivery.routing_key.as_str().hash(&mut hasher);
            delivery.data.hash(&mut hasher);
            format!("body:{:x}", hasher.finish())
        }
    }
}

/// The consumer loop's shared state.
pub struct Consumer {
    broker: Broker,
    handler: Arc<Handler>,
    settings: Arc<ConsumerSettings>,
    stats: Arc<Stats>,
    beat: Arc<Beat>,
    commits: Arc<AtomicU64>,
    counts: Arc<DeliveryCounts>,
    consuming: watch::Sender<bool>,
}

/// Why a consuming session ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionEnd {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("the broker cancelled the consumer")]
    Cancelled,
    #[error("the connection to the broker was lost")]
    Disconnected,
}

impl Reconnecting for Consumer {
    type End = SessionEnd;
    const NAME: &'static str = "consumer";

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

impl Consumer {
    pub fn new(
        broker: Broker,
        handler: Arc<Handler>,
        settings: ConsumerSettings,
        stats: Arc<Stats>,
        beat: Arc<Beat>,
    ) -> Consumer {
        Consumer {
            broker,
            handler,
            settings: Arc::new(settings),
            stats,
            beat,
            commits: Arc::new(AtomicU64::new(0)),
            counts: Arc::default(),
            consuming: watch::channel(false).0,
        }
    }

    /// Turns true while the queue is bound and consumed.
    pub fn consuming(&self) -> watch::Receiver<bool> {
        self.consuming.subscribe()
    }

    /// Consumes until `shutdown` turns true, reconnecting with back-off.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        run_reconnecting(self, shutdown).await
    }

    /// One connection's life: set up, then consume until the connection
    /// fails (Err) or shutdown (Ok).
    async fn one_session(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Result<(), SessionEnd> {
        let bus = &self.settings.bus;
        let conn = self.broker.connect("koschei-watcher consumer").await?;
        let channel = conn.create_channel().await?;
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        let passive = bus.passive_declares;
        for exchange in &bus.exchanges {
            channel
                .exchange_declare(
                    exchange.name.as_str().into(),
                    ExchangeKind::Custom(exchange.kind.clone()),
                    ExchangeDeclareOptions {
                        passive,
                        durable: exchange.durable,
                        auto_delete: exchange.auto_delete,
                        ..ExchangeDeclareOptions::default()
                    },
                    exchange.arguments.clone(),
                )
                .await?;
        }
        let mut consumers = Vec::with_capacity(bus.queues.len());
        let mut names = Vec::with_capacity(bus.queues.len());
        for queue in &bus.queues {
            // An empty name asks the broker for a private, server-named queue.
            let declared = channel
                .queue_declare(
                    queue.name.as_str().into(),
                    QueueDeclareOptions {
                        passive,
                        durable: queue.durable,
                        exclusive: queue.exclusive,
                        auto_delete: queue.auto_delete,
                        ..QueueDeclareOptions::default()
                    },
                    queue.arguments.clone(),
                )
                .await?;
            let name = declared.name().clone();
            for (exchange, key) in &queue.bindings {
                channel
                    .queue_bind(
                        name.clone(),
                        exchange.as_str().into(),
                        key.as_str().into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
            consumers.push(
                channel
                    .basic_consume(
                        name.clone(),
                        format!("koschei-watcher-{}", consumers.len())
                            .as_str()
                            .into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await?,
            );
            names.push(name.to_string());
        }
        let mut deliveries = stream::select_all(consumers);
        backoff.reset();
        self.consuming.send_replace(true);
        tracing::info!(
            queues = ?names,
            topic = self.settings.fedmsg.topic,
            "consuming Koji messages"
        );
        let limit = usize::from(self.settings.prefetch.max(1));
        let mut inflight = JoinSet::new();
        // Tells handlers waiting for an acknowledgement that it will never come.
        let (lost, lost_rx) = watch::channel(false);
        let mut tick = tokio::time::interval(BEAT_INTERVAL);
        let end = loop {
            tokio::select! {
                _ = tick.tick() => {
                    self.beat.beat();
                    if !conn.status().connected() {
                        break Err(SessionEnd::Disconnected);
                    }
                }
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    if let Err(e) = done {
                        // Its delivery stays unacknowledged until the
                        // connection closes, then comes back.
                        tracing::error!("message handler panicked: {e}");
                    }
                }
                next = deliveries.next(), if inflight.len() < limit => match next {
                    Some(Ok(delivery)) => {
                        let task = Delivered {
                            handler: self.handler.clone(),
                            settings: self.settings.clone(),
                            stats: self.stats.clone(),
                            beat: self.beat.clone(),
                            commits: self.commits.clone(),
                            counts: self.counts.clone(),
                            lost: lost_rx.clone(),
                        };
                        inflight.spawn(task.process(delivery));
                    }
                    Some(Err(e)) => break Err(SessionEnd::Amqp(e)),
                    None => break Err(SessionEnd::Cancelled),
                },
                _ = shutdown.changed() => break Ok(()),
            }
        };
        self.consuming.send_replace(false);
        if end.is_err() {
            let _ = lost.send(true);
        }
        // Let started handlers finish: their commits must not race a
        // second copy of the message after reconnecting.
        while inflight.join_next().await.is_some() {}
        if end.is_ok() {
            let _ = conn.close(200, "shutdown".into()).await;
        }
        end
    }
}

/// What handling one delivery needs.
struct Delivered {
    handler: Arc<Handler>,
    settings: Arc<ConsumerSettings>,
    stats: Arc<Stats>,
    beat: Arc<Beat>,
    commits: Arc<AtomicU64>,
    counts: Arc<DeliveryCounts>,
    /// Turns true when the connection is known to be lost.
    lost: watch::Receiver<bool>,
}

impl Delivered {
    async fn process(self, delivery: Delivery) {
        self.beat.beat();
        Stats::inc(&self.stats.received);
        let key = delivery.routing_key.as_str();
        let message_id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default();
        let counted_as = message_key(&delivery);
        let number = self.counts.this_delivery(&counted_as, &delivery);
        if number > 1 {
            Stats::inc(&self.stats.redelivered);
            tracing::info!(?message_id, topic = ?key, delivery = number, "redelivered message");
        }
        let event = match classify(&self.settings.fedmsg, key, &delivery.data) {
            Ok(Verdict::Handle(event)) => event,
            Ok(Verdict::Ignore(reason)) => {
                tracing::debug!(?message_id, topic = ?key, "ignored: {reason}");
                Stats::inc(&self.stats.ignored);
                self.ack(&delivery, &counted_as).await;
                return;
            }
            Err(e) => {
                tracing::warn!(?message_id, topic = ?key, "malformed message rejected: {e}");
                Stats::inc(&self.stats.rejected);
                self.reject(&delivery, &counted_as).await;
                return;
            }
        };
        let retry = self.settings.retry;
        let mut pauses = retry.pauses().start();
        for attempt in 1..=retry.attempts.max(1) {
            let error = match self.handler.apply(&event).await {
                Ok(applied) => {
                    tracing::debug!(?message_id, topic = ?key, ?applied, "applied");
                    Stats::inc(&self.stats.applied);
                    if applied.changed_anything() {
                        self.maybe_crash();
                    }
                    self.ack(&delivery, &counted_as).await;
                    return;
                }
                Err(HandleError::Permanent(e)) => {
                    tracing::error!(?message_id, topic = ?key, ?event, "rejected: {e}");
                    Stats::inc(&self.stats.rejected);
                    self.reject(&delivery, &counted_as).await;
                    return;
                }
                Err(HandleError::Transient(e)) => e,
            };
            Stats::inc(&self.stats.retried);
            if attempt < retry.attempts {
                let pause = pauses.next_delay();
                tracing::warn!(
                    ?message_id,
                    topic = ?key,
                    attempt,
                    "retrying in {pause:?}: {error}"
                );
                tokio::time::sleep(pause).await;
            } else if number >= retry.max_deliveries {
                tracing::error!(
                    ?message_id,
                    topic = ?key,
                    ?event,
                    "rejected after {number} deliveries: {error}"
                );
                Stats::inc(&self.stats.rejected);
                self.reject(&delivery, &counted_as).await;
            } else {
                tracing::warn!(
                    ?message_id,
                    topic = ?key,
                    delivery = number,
                    "requeued after {attempt} attempts: {error}"
                );
                self.counts.requeued(&counted_as, number);
                let requeue = BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                };
                settle("nack", self.lost.clone(), delivery.nack(requeue)).await;
            }
        }
    }

    /// The `--crash-after-commits` fault injection: dies between a commit
    /// and its acknowledgement, like a power cut would.
    fn maybe_crash(&self) {
        let Some(limit) = self.settings.crash_after_commits else {
            return;
        };
        if self.commits.fetch_add(1, Ordering::SeqCst) + 1 >= limit {
            tracing::error!(
                "fault injection: exiting after commit {limit}, before its acknowledgement"
            );
            std::process::exit(CRASH_EXIT_CODE);
        }
    }
}

/// How long an acknowledgement may take; on a dead connection lapin's
/// promise may never resolve.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Settles a delivery. A failed or timed-out acknowledgement means the
/// connection is gone: the broker requeues the message and the idempotent
/// handler sees it again.
async fn settle<F>(what: &str, mut lost: watch::Receiver<bool>, settle: F)
where
    F: std::future::Future<Output = lapin::Result<bool>>,
{
    tokio::select! {
        result = tokio::time::timeout(ACK_TIMEOUT, settle) => match result {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!("{what}: {e}"),
            Err(_) => tracing::debug!("{what}: timed out"),
        },
        _ = lost.wait_for(|lost| *lost) => tracing::debug!("{what}: connection lost"),
    }
}

impl Delivered {
    async fn ack(&self, delivery: &Delivery, counted_as: &str) {
        self.counts.settled(counted_as);
        settle(
            "ack",
            self.lost.clone(),
            delivery.ack(BasicAckOptions::default()),
        )
        .await;
    }

    async fn reject(&self, delivery: &Delivery, counted_as: &str) {
        self.counts.settled(counted_as);
        let options = BasicRejectOptions { requeue: false };
        settle("reject", self.lost.clone(), delivery.reject(options)).await;
    }
}
