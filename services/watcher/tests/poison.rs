//! Poison messages against the private RabbitMQ and PostgreSQL: data the
//! database refuses (a `repo.done` whose NOTIFY payload exceeds 8000 bytes,
//! NUL characters) is rejected once and dead-lettered while valid messages
//! behind it pass; Koji in maintenance (an HTML page with status 200, 429,
//! 503) is retried, not a reason to drop the message; a message that keeps
//! failing transiently is dead-lettered after `fedmsg.max_deliveries`; bus
//! strings cannot forge log lines.
//!
//! The queue and its dead-letter arguments come from a fedora-messaging
//! configuration file, as in production.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use koschei_core::config::Config;
use koschei_core::fixtures::database_url;
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::model::BuildState;
use koschei_koji::{KojiClient, KojiConfig};
use koschei_watcher::consumer::RetryPolicy;
use koschei_watcher::fedora_messaging_conf::FedoraMessagingConf;
use koschei_watcher::service::{self, Options};
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use serde_json::json;
use sqlx::PgPool;

/// A fast retry policy; `max_deliveries` comes from `fedmsg.max_deliveries`.
const RETRY: RetryPolicy = RetryPolicy {
    attempts: 2,
    first_pause: Duration::from_millis(50),
    max_deliveries: 0,
};

/// The watcher's queue, declared from a fedora-messaging file whose
/// arguments dead-letter rejected messages to `<queue>-dead`, and that
/// dead-letter queue.
struct DeadLettered {
    queue: String,
    dead: String,
    file: FedoraMessagingConf,
}

impl DeadLettered {
    async fn new(url: &str) -> DeadLettered {
        let queue = unique("koschei-poison");
        let dead = format!("{queue}-dead");
        let file = FedoraMessagingConf::parse(&format!(
            r#"
[queues.{queue}]
durable = false
auto_delete = false
exclusive = false
arguments = {{ "x-dead-letter-exchange" = "", "x-dead-letter-routing-key" = "{dead}" }}
"#
        ))
        .unwrap();
        let conn = Connection::connect(url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        channel
            .queue_declare(
                dead.as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let _ = conn.close(200, "bye".into()).await;
        DeadLettered { queue, dead, file }
    }

    fn options(&self) -> Options {
        Options {
            fedora_messaging: Some(self.file.clone()),
            retry: RETRY,
            ..Options::default()
        }
    }

    /// Waits for `n` dead-lettered messages; returns each one's routing key
    /// and `x-death` (reason, count).
    async fn wait_dead(&self, url: &str, n: usize) -> Vec<(String, String, i64)> {
        let conn = Connection::connect(url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        let mut dead = Vec::new();
        let start = std::time::Instant::now();
        while dead.len() < n {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {n} dead-lettered messages, got {dead:?}"
            );
            let got = channel
                .basic_get(self.dead.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap();
            let Some(message) = got else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let delivery = message.delivery;
            let death = delivery
                .properties
                .headers()
                .as_ref()
                .and_then(|h| h.inner().get("x-death").cloned());
            let Some(AMQPValue::FieldArray(deaths)) = death else {
                panic!("no x-death header");
            };
            let AMQPValue::FieldTable(first) = &deaths.as_slice()[0] else {
                panic!("x-death entry");
            };
            let reason = match first.inner().get("reason") {
                Some(AMQPValue::LongString(s)) => s.to_string(),
                other => panic!("reason {other:?}"),
            };
            let count = match first.inner().get("count") {
                Some(AMQPValue::LongLongInt(c)) => *c,
                other => panic!("count {other:?}"),
            };
            dead.push((delivery.routing_key.to_string(), reason, count));
        }
        let _ = conn.close(200, "bye".into()).await;
        dead
    }

    async fn delete(&self, url: &str) {
        delete_queue(url, &self.queue).await;
        delete_queue(url, &self.dead).await;
    }
}

/// The test configuration with the queue left to the fedora-messaging file.
fn poison_config(sim: &Sim, url: &str) -> Config {
    let mut c = config(sim, url, false);
    c.fedmsg.queue = None;
    c.fedmsg.queue_durable = None;
    c.fedmsg.max_deliveries = 3;
    c
}

async fn build_state(pool: &PgPool, collection: i32) -> i32 {
    sqlx::query_scalar(
        "SELECT b.state FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.collection_id = $1",
    )
    .bind(collection)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn data_the_database_refuses_is_dead_lettered_once_and_valid_messages_pass(pool: PgPool) {
    let url = amqp_url();
    let sim = Sim::start().await;
    let config = poison_config(&sim, &url);
    let topic = config.fedmsg.topic.clone();
    let collection = seed_running_builds(&pool, "f99", 1, 300_000_000).await;
    let queues = DeadLettered::new(&url).await;
    let watcher = service::start(config, pool.clone(), sim.sessions(), queues.options()).unwrap();
    let stats = watcher.stats().clone();
    watcher.wait_consuming().await;

    let long_tag = "x".repeat(8 * 1024);
    KojiPublisher::connect(&url)
        .await
        .publish_all([
            // NOTIFY refuses payloads of 8000 bytes and more (SQLSTATE 22023).
            (
                format!("{topic}.repo.done"),
                json!({"tag": long_tag, "tag_id": 1, "repo_id": 7, "instance": "primary"}),
                id(),
            ),
            // PostgreSQL text cannot hold NUL (SQLSTATE 22021).
            (
                format!("{topic}.repo.done"),
                json!({"tag": "f99\u{0}-build", "tag_id": 1, "repo_id": 8, "instance": "primary"}),
                id(),
            ),
            (
                format!("{topic}.tag"),
                json!({"tag": "f99", "name": "pkg\u{0}1", "instance": "primary"}),
                id(),
            ),
            (
                format!("{topic}.task.state.change"),
                task_body(300_000_001, "OPEN", "CLOSED"),
                id(),
            ),
        ])
        .await;

    let dead = queues.wait_dead(&url, 3).await;
    for (key, reason, count) in &dead {
        assert_eq!((reason.as_str(), *count), ("rejected", 1), "{key}");
    }
    wait_for("the valid message", Duration::from_secs(30), || {
        let pool = pool.clone();
        async move { build_state(&pool, collection).await == BuildState::InfraFailure.code() }
    })
    .await;
    let s = stats.snapshot();
    // Refused data is neither retried nor redelivered.
    assert_eq!((s.rejected, s.retried, s.redelivered), (3, 0, 0), "{s}");
    watcher.stop().await;
    queues.delete(&url).await;
}

/// Koji answers through `front`; the watcher's retries are fast.
fn sessions_through(front: &FlakyHttp, sim: &Sim) -> KojiSessions {
    let client = KojiClient::anonymous(KojiConfig {
        retry_interval: Duration::from_millis(20),
        max_retries: 2,
        ..KojiConfig::new(&front.url, &sim.running.topurl)
    })
    .unwrap();
    KojiSessions::new(client, None)
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn koji_in_maintenance_is_retried_and_the_message_then_processed(pool: PgPool) {
    let url = amqp_url();
    let sim = Sim::start().await;
    let config = poison_config(&sim, &url);
    let collection = seed_running_builds(&pool, "f99", 1, 310_000_000).await;
    // The maintenance page (status 200), "too many requests", "service
    // unavailable", then Koji is back.
    let script = vec![
        Canned::MaintenancePage,
        Canned::MaintenancePage,
        Canned::Status(429),
        Canned::Status(503),
        Canned::Status(503),
        Canned::Status(503),
    ];
    let front = FlakyHttp::start(&sim.running.hub_url, script, None).await;
    let queues = DeadLettered::new(&url).await;
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sessions_through(&front, &sim),
        queues.options(),
    )
    .unwrap();
    let stats = watcher.stats().clone();
    watcher.wait_consuming().await;
    KojiPublisher::connect(&url)
        .await
        .publish_all(closed_task_messages(&config.fedmsg.topic, 310_000_000, 1))
        .await;
    wait_for("the message applied", Duration::from_secs(30), || {
        let s = stats.snapshot();
        async move { s.applied == 1 }
    })
    .await;
    assert_eq!(
        build_state(&pool, collection).await,
        BuildState::InfraFailure.code()
    );
    assert_eq!(front.canned(), 6, "every canned reply was seen");
    let s = stats.snapshot();
    // Retried (by the Koji client and by the watcher), never rejected; how the six
    // failures split between the client's retries and redeliveries is the client's policy.
    assert_eq!((s.applied, s.rejected), (1, 0), "{s}");
    assert!(s.retried >= 1, "{s}");
    watcher.stop().await;
    queues.delete(&url).await;
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_message_failing_transiently_for_ever_is_dead_lettered_after_max_deliveries(
    pool: PgPool,
) {
    let url = amqp_url();
    let sim = Sim::start().await;
    let config = poison_config(&sim, &url);
    let collection = seed_running_builds(&pool, "f99", 1, 320_000_000).await;
    let front = FlakyHttp::start(&sim.running.hub_url, Vec::new(), Some(Canned::Status(503))).await;
    let queues = DeadLettered::new(&url).await;
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sessions_through(&front, &sim),
        queues.options(),
    )
    .unwrap();
    let stats = watcher.stats().clone();
    watcher.wait_consuming().await;
    KojiPublisher::connect(&url)
        .await
        .publish_all(closed_task_messages(&config.fedmsg.topic, 320_000_000, 1))
        .await;
    let dead = queues.wait_dead(&url, 1).await;
    assert_eq!((dead[0].1.as_str(), dead[0].2), ("rejected", 1));
    let s = stats.snapshot();
    // max_deliveries = 3: received three times, rejected on the third.
    assert_eq!((s.received, s.redelivered, s.rejected), (3, 2, 1), "{s}");
    assert_eq!(
        build_state(&pool, collection).await,
        BuildState::Running.code()
    );
    watcher.stop().await;
    queues.delete(&url).await;
}

/// Strings from a message (here the Koji instance, logged when the message
/// is ignored) are logged escaped: a newline in them cannot start a line of
/// its own that looks like another log record.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn bus_strings_cannot_forge_log_lines(pool: PgPool) {
    let url = amqp_url();
    let sim = Sim::start().await;
    let config = config(&sim, &url, false);
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("koschei.toml");
    std::fs::write(
        &config_file,
        format!(
            "[fedmsg]\ntopic = \"{}\"\namqp_url = \"{url}\"\nqueue = \"{}\"\nqueue_durable = false\n\
             [koji_config]\nserver = \"{}\"\ntopurl = \"{}\"\n",
            config.fedmsg.topic,
            config.fedmsg.queue.as_deref().unwrap(),
            sim.running.hub_url,
            sim.running.topurl,
        ),
    )
    .unwrap();
    let log = dir.path().join("watcher.log");
    let mut watcher = tokio::process::Command::new(env!("CARGO_BIN_EXE_koschei-watcher"))
        .env("KOSCHEI_CONFIG", &config_file)
        .env("DATABASE_URL", database_url(&pool))
        .env(
            "FEDORA_MESSAGING_CONF",
            dir.path().join("absent-is-an-error.toml"),
        )
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // A named fedora-messaging file that does not exist stops the start.
    let status = tokio::time::timeout(Duration::from_secs(30), watcher.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("absent-is-an-error.toml"),
        "the error names the file:\n{text}"
    );

    let mut watcher = tokio::process::Command::new(env!("CARGO_BIN_EXE_koschei-watcher"))
        .env("KOSCHEI_CONFIG", &config_file)
        .env("DATABASE_URL", database_url(&pool))
        .env_remove("FEDORA_MESSAGING_CONF")
        .env("RUST_LOG", "debug,sqlx=warn,lapin=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for("the watcher consuming", Duration::from_secs(30), || {
        let text = read_log();
        async move { text.contains("consuming Koji messages") }
    })
    .await;
    let forged = "forged\n2026-01-01T00:00:00.000000Z ERROR koschei_watcher: FORGED RECORD";
    let mut body = task_body(1, "OPEN", "CLOSED");
    body["instance"] = json!(forged);
    KojiPublisher::connect(&url)
        .await
        .publish_all([(
            format!("{}.task.state.change", config.fedmsg.topic),
            body,
            forged.to_owned(),
        )])
        .await;
    wait_for("the message ignored", Duration::from_secs(30), || {
        let text = read_log();
        async move { text.contains("ignored: Koji instance") }
    })
    .await;
    watcher.start_kill().unwrap();
    let _ = watcher.wait().await;
    let text = read_log();
    assert!(
        !text
            .lines()
            .any(|l| l.contains("FORGED RECORD") && !l.contains("ignored")),
        "a bus string started a log line of its own:\n{text}"
    );
    assert!(text.contains(r"forged\n"), "logged escaped:\n{text}");
    delete_queue(&url, config.fedmsg.queue.as_deref().unwrap()).await;
}
