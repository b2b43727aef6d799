//! The AMQP consumer (spec §1.3): declares the queue, binds Koji's routing
//! keys on the exchange, and handles deliveries concurrently (up to the
//! prefetch count). A delivery is acknowledged only after its database
//! transaction committed; malformed or permanently failing messages are
//! rejected without requeueing (dead-lettered when the queue has a
//! dead-letter exchange); transient failures are retried and finally
//! requeued. Losing the broker means reconnecting with back-off; unacked
//! deliveries come back from the broker, and handling is idempotent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use koschei_core::config::FedmsgConfig;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::broker::{Backoff, Broker, BrokerError};
use crate::handler::{HandleError, Handler};
use crate::health::{run_reconnecting, Beat, Reconnecting, BEAT_INTERVAL};
use crate::koji_message::{binding_keys, classify, Verdict};
use crate::stats::Stats;

/// Exit code of the `--crash-after-commits` fault injection.
pub const CRASH_EXIT_CODE: i32 = 86;

/// How many times a transiently failing message is retried before it is
/// requeued (pauses of 1, 2, 4, 8 s).
const TRANSIENT_ATTEMPTS: u32 = 5;

/// Queue and delivery settings.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// The `[fedmsg]` section: topic prefix, instance, exchange, queue.
    pub fedmsg: FedmsgConfig,
    /// Unacknowledged deliveries in flight (also the handling concurrency).
    pub prefetch: u16,
    /// Test-only fault injection: exit the process right after the N-th
    /// committed change, before acknowledging its message.
    pub crash_after_commits: Option<u64>,
}

/// The consumer loop's shared state.
pub struct Consumer {
    broker: Broker,
    handler: Arc<Handler>,
    settings: Arc<ConsumerSettings>,
    stats: Arc<Stats>,
    beat: Arc<Beat>,
    commits: Arc<AtomicU64>,
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
        let fedmsg = &self.settings.fedmsg;
        let conn = self.broker.connect("koschei-watcher consumer").await?;
        let channel = conn.create_channel().await?;
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        // An empty name asks the broker for a private, server-named queue.
        let server_named = fedmsg.queue.is_empty();
        let queue = channel
            .queue_declare(
                fedmsg.queue.as_str().into(),
                QueueDeclareOptions {
                    durable: fedmsg.queue_durable && !server_named,
                    exclusive: server_named,
                    auto_delete: server_named,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let queue_name = queue.name().clone();
        for key in binding_keys(fedmsg) {
            channel
                .queue_bind(
                    queue_name.clone(),
                    fedmsg.exchange.as_str().into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        let mut deliveries = channel
            .basic_consume(
                queue_name.clone(),
                "koschei-watcher".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        backoff.reset();
        self.consuming.send_replace(true);
        tracing::info!(
            queue = queue_name.as_str(),
            exchange = fedmsg.exchange,
            topic = fedmsg.topic,
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
        if delivery.redelivered {
            Stats::inc(&self.stats.redelivered);
            tracing::info!(message_id, topic = key, "redelivered message");
        }
        let event = match classify(&self.settings.fedmsg, key, &delivery.data) {
            Ok(Verdict::Handle(event)) => event,
            Ok(Verdict::Ignore(reason)) => {
                tracing::debug!(message_id, topic = key, "ignored: {reason}");
                Stats::inc(&self.stats.ignored);
                self.ack(&delivery).await;
                return;
            }
            Err(e) => {
                tracing::warn!(message_id, topic = key, "malformed message rejected: {e}");
                Stats::inc(&self.stats.rejected);
                self.reject(&delivery).await;
                return;
            }
        };
        let mut pause = Duration::from_secs(1);
        for attempt in 1..=TRANSIENT_ATTEMPTS {
            match self.handler.apply(&event).await {
                Ok(applied) => {
                    tracing::debug!(message_id, topic = key, ?applied, "applied");
                    Stats::inc(&self.stats.applied);
                    if applied.changed_anything() {
                        self.maybe_crash();
                    }
                    self.ack(&delivery).await;
                    return;
                }
                Err(HandleError::Permanent(e)) => {
                    tracing::error!(message_id, topic = key, ?event, "rejected: {e}");
                    Stats::inc(&self.stats.rejected);
                    self.reject(&delivery).await;
                    return;
                }
                Err(HandleError::Transient(e)) if attempt < TRANSIENT_ATTEMPTS => {
                    tracing::warn!(
                        message_id,
                        topic = key,
                        attempt,
                        "retrying in {pause:?}: {e}"
                    );
                    Stats::inc(&self.stats.retried);
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(HandleError::Transient(e)) => {
                    tracing::error!(
                        message_id,
                        topic = key,
                        "requeued after {attempt} attempts: {e}"
                    );
                    Stats::inc(&self.stats.retried);
                    let requeue = BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    };
                    settle("nack", self.lost.clone(), delivery.nack(requeue)).await;
                }
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
    async fn ack(&self, delivery: &Delivery) {
        settle(
            "ack",
            self.lost.clone(),
            delivery.ack(BasicAckOptions::default()),
        )
        .await;
    }

    async fn reject(&self, delivery: &Delivery) {
        let options = BasicRejectOptions { requeue: false };
        settle("reject", self.lost.clone(), delivery.reject(options)).await;
    }
}
