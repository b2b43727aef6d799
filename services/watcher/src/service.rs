//! The watcher service assembled: the consumer (when an AMQP URL is set),
//! the outbox publisher (when `fedmsg-publisher.enabled` too) and the
//! systemd watchdog, running until stopped.

use std::sync::Arc;

use koschei_core::config::Config;
use koschei_core::koji_sessions::KojiSessions;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::broker::{Broker, BrokerError};
use crate::consumer::{Consumer, ConsumerSettings};
use crate::handler::Handler;
use crate::health::{feed_watchdog, Beat};
use crate::publisher::{Publisher, PublisherSettings};
use crate::stats::Stats;

/// Tunables that are not part of Koschei's configuration file.
#[derive(Debug, Clone)]
pub struct Options {
    /// Deliveries handled concurrently (AMQP prefetch).
    pub prefetch: u16,
    /// Outbox rows per publishing batch.
    pub publish_batch: i64,
    /// Test-only fault injection, see [`ConsumerSettings::crash_after_commits`].
    pub crash_after_commits: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            prefetch: 32,
            publish_batch: 200,
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
    let broker = Broker::from_config(&config.fedmsg)?;
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
            prefetch: options.prefetch,
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
                exchange: config.fedmsg.exchange.clone(),
                topic_prefix: config.fedmsg_publisher.topic_prefix.clone(),
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
