//! The watcher service assembled: the consumer, the outbox publisher (when
//! `fedmsg-publisher.enabled`) and the systemd watchdog, running until
//! stopped. The bus settings are `[fedmsg]` over fedora-messaging's
//! configuration file (see [`crate::bus`]).

use std::sync::Arc;

use koschei_core::config::Config;
use koschei_core::koji_sessions::KojiSessions;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::broker::{Broker, BrokerError};
use crate::bus::BusSettings;
use crate::consumer::{Consumer, ConsumerSettings, RetryPolicy};
use crate::fedora_messaging_conf::FedoraMessagingConf;
use crate::handler::Handler;
use crate::health::{feed_watchdog, Beat};
use crate::publisher::{Publisher, PublisherSettings};
use crate::stats::Stats;

/// Tunables that are not part of Koschei's configuration file.
#[derive(Debug, Clone)]
pub struct Options {
    /// Deliveries handled concurrently (AMQP prefetch); default: the file's
    /// `qos.prefetch_count`, else 32.
    pub prefetch: Option<u16>,
    /// Outbox rows per publishing batch.
    pub publish_batch: i64,
    /// fedora-messaging's configuration file, read by the caller
    /// ([`FedoraMessagingConf::load_from_env`] in the binary).
    pub fedora_messaging: Option<FedoraMessagingConf>,
    /// In-process retries of transient failures; `max_deliveries` is
    /// replaced by `fedmsg.max_deliveries`.
    pub retry: RetryPolicy,
    /// Test-only fault injection, see [`ConsumerSettings::crash_after_commits`].
    pub crash_after_commits: Option<u64>,
}

/// The prefetch count when neither the option nor the file sets one.
pub const DEFAULT_PREFETCH: u16 = 32;

impl Options {
    /// The effective prefetch count.
    pub fn prefetch(&self) -> u16 {
        self.prefetch
            .or_else(|| {
                self.fedora_messaging
                    .as_ref()
                    .and_then(|f| f.qos.as_ref()?.prefetch_count)
            })
            .unwrap_or(DEFAULT_PREFETCH)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            prefetch: None,
            publish_batch: 200,
            fedora_messaging: None,
            retry: RetryPolicy::default(),
            crash_after_commits: None,
        }
    }
}

/// A started watcher.
pub struct Running {
    stats: Arc<Stats>,
    shutdown: watch::Sender<bool>,
    loops: Vec<JoinHandle<()>>,
    watchdog: JoinHandle<()>,
    consuming: watch::Receiver<bool>,
}

/// Starts the consumer and, when enabled, the publisher.
pub fn start(
    config: Config,
    pool: PgPool,
    sessions: KojiSessions,
    options: Options,
) -> Result<Running, BrokerError> {
    let bus = BusSettings::resolve(
        &config.fedmsg,
        &config.fedmsg_publisher,
        options.fedora_messaging.as_ref(),
    );
    let broker = Broker::from_settings(&bus)?;
    if let Some(file) = &options.fedora_messaging {
        tracing::info!(path = %file.path.display(), "fedora-messaging configuration read");
    }
    if broker.uses_external_auth() {
        tracing::info!("authenticating to the broker with the client certificate (SASL EXTERNAL)");
    }
    let stats = Arc::new(Stats::default());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut loops = Vec::new();
    let mut beats = Vec::new();

    let consumer_beat = Beat::new();
    beats.push(("consumer", consumer_beat.clone()));
    let consumer = Consumer::new(
        broker.clone(),
        Arc::new(Handler::new(pool.clone(), sessions, config.clone())),
        ConsumerSettings {
            fedmsg: config.fedmsg.clone(),
            bus: bus.clone(),
            prefetch: options.prefetch(),
            retry: RetryPolicy {
                max_deliveries: config.fedmsg.max_deliveries.max(1),
                ..options.retry
            },
            crash_after_commits: options.crash_after_commits,
        },
        stats.clone(),
        consumer_beat,
    );
    let consuming = consumer.consuming();
    let rx = shutdown_rx.clone();
    loops.push(tokio::spawn(async move { consumer.run(rx).await }));

    if config.fedmsg_publisher.enabled {
        let publisher_beat = Beat::new();
        beats.push(("publisher", publisher_beat.clone()));
        let publisher = Publisher::new(
            broker,
            pool,
            PublisherSettings {
                exchange: bus.exchange.clone(),
                topic_prefix: bus.topic_prefix.clone(),
                priority: bus.publish_priority,
                batch: options.publish_batch,
            },
            stats.clone(),
            publisher_beat,
        );
        loops.push(tokio::spawn(
            async move { publisher.run(shutdown_rx).await },
        ));
    } else {
        tracing::info!("fedmsg-publisher.enabled is false: not publishing the outbox");
    }
    let watchdog = tokio::spawn(feed_watchdog(beats, config.service("watcher")));
    Ok(Running {
        stats,
        shutdown,
        loops,
        watchdog,
        consuming,
    })
}

impl Running {
    /// The message counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Waits until the consumer's queue is bound and consumed (messages
    /// published from then on reach it).
    pub async fn wait_consuming(&self) {
        let mut consuming = self.consuming.clone();
        let _ = consuming.wait_for(|c| *c).await;
    }

    /// Stops consuming and publishing; handlers in flight finish first.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for l in self.loops {
            let _ = l.await;
        }
        self.watchdog.abort();
        tracing::info!("watcher stopped: {}", self.stats.snapshot());
    }
}
