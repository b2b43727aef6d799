//! Fault tests against the private RabbitMQ and PostgreSQL of `scripts/test`:
//! duplicates, a burst of 10,000 task messages, the broker going away in the
//! middle of a stream (consumer and publisher), and the watcher killed
//! between a database commit and the acknowledgement. Nothing may be lost,
//! nothing applied twice, and no outbox row published under two ids.
//!
//! Every task message here is for a running build whose task Koji does not
//! know, so applying it records an infrastructure failure and increments
//! the package's `infra_failures`: a message applied twice would show as 2.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use koschei_core::fixtures::database_url;
use koschei_core::model::BuildState;
use koschei_watcher::consumer::CRASH_EXIT_CODE;
use koschei_watcher::service::{self, Options};
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

const INFRA: i32 = 7;

async fn wider_pool(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(40)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap()
}

async fn infra_failed(pool: &PgPool, collection: i32) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.collection_id = $1 AND b.state = $2",
    )
    .bind(collection)
    .bind(BuildState::InfraFailure.code())
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn the_same_message_twice_is_applied_once(pool: PgPool) {
    assert_eq!(BuildState::InfraFailure.code(), INFRA);
    let url = amqp_url();
    let sim = Sim::start().await;
    let config = config(&sim, &url, false);
    let collection = seed_running_builds(&pool, "f99", 3, 100_000_000).await;
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sim.sessions(),
        Options::default(),
    )
    .unwrap();
    let stats = watcher.stats().clone();
    let publisher = KojiPublisher::connect(&url).await;
    watcher.wait_consuming().await;
    let id = uuid::Uuid::new_v4().to_string();
    let key = format!("{}.task.state.change", config.fedmsg.topic);
    let body = task_body(100_000_001, "OPEN", "CLOSED");
    publisher
        .publish_all([
            (key.clone(), body.clone(), id.clone()),
            (key.clone(), body.clone(), id.clone()),
            (
                key,
                task_body(100_000_002, "OPEN", "CLOSED"),
                uuid::Uuid::new_v4().to_string(),
            ),
        ])
        .await;
    wait_for("three deliveries", Duration::from_secs(20), || {
        let s = stats.snapshot();
        async move { s.applied == 3 }
    })
    .await;
    watcher.stop().await;
    assert_eq!(infra_failed(&pool, collection).await, 2);
    assert_eq!(
        infra_failure_counts(&pool, collection).await,
        [(0, 1), (1, 2)],
        "the duplicate counted the failure twice"
    );
    delete_queue(&url, config.fedmsg.queue.as_deref().unwrap()).await;
}

/// 10,000 task messages for 2,500 builds: every task's CLOSED message
/// arrives four times (in four rounds, as when Koji's plugin re-sends), so
/// copies race each other in the concurrent handlers. Each build must be
/// finished exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_10000_task_messages() {
    const N: i32 = 10_000;
    const BUILDS: i32 = N / 4;
    let url = amqp_url();
    let db = TestDb::create(40).await;
    let pool = db.pool.clone();
    let sim = Sim::start().await;
    let config = config(&sim, &url, false);
    let collection = seed_running_builds(&pool, "f99", BUILDS, 200_000_000).await;
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sim.sessions(),
        Options {
            prefetch: Some(64),
            ..Options::default()
        },
    )
    .unwrap();
    let stats = watcher.stats().clone();
    watcher.wait_consuming().await;
    let start = Instant::now();
    let topic = &config.fedmsg.topic;
    KojiPublisher::connect(&url)
        .await
        .publish_all((0..4).flat_map(|_| closed_task_messages(topic, 200_000_000, BUILDS)))
        .await;
    wait_for("10,000 applied messages", Duration::from_secs(120), || {
        let s = stats.snapshot();
        async move { s.applied >= N as u64 }
    })
    .await;
    let elapsed = start.elapsed();
    watcher.stop().await;
    eprintln!(
        "burst: {N} messages consumed and committed in {elapsed:?} ({:.0}/s)",
        f64::from(N) / elapsed.as_secs_f64()
    );
    assert_eq!(
        build_states(&pool, collection).await,
        [(INFRA, i64::from(BUILDS))]
    );
    assert_eq!(
        infra_failure_counts(&pool, collection).await,
        [(1, i64::from(BUILDS))],
        "a build was finished twice"
    );
    assert_eq!(stats.snapshot().applied, N as u64);
    delete_queue(&url, config.fedmsg.queue.as_deref().unwrap()).await;
    db.drop().await;
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn the_consumer_survives_a_broker_outage_mid_stream(pool: PgPool) {
    const N: i32 = 1_000;
    let url = amqp_url();
    let pool = wider_pool(&pool).await;
    let sim = Sim::start().await;
    let proxy = Proxy::start(&url).await;
    let mut config = config(&sim, &url, false);
    config.fedmsg.amqp_url = Some(proxy.url(&url));
    let collection = seed_running_builds(&pool, "f99", N, 300_000_000).await;
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sim.sessions(),
        Options::default(),
    )
    .unwrap();
    let stats = watcher.stats().clone();
    watcher.wait_consuming().await;
    KojiPublisher::connect(&url)
        .await
        .publish_all(closed_task_messages(&config.fedmsg.topic, 300_000_000, N))
        .await;
    wait_for("a part of the stream", Duration::from_secs(60), || {
        let s = stats.snapshot();
        async move { s.applied >= 300 }
    })
    .await;
    proxy.outage(Duration::from_millis(1500)).await;
    let during = stats.snapshot().applied;
    assert!(
        during < N as u64,
        "the outage came too late to test anything"
    );
    wait_for("every build updated", Duration::from_secs(90), || {
        let pool = pool.clone();
        async move { infra_failed(&pool, collection).await == i64::from(N) }
    })
    .await;
    watcher.stop().await;
    assert_eq!(
        infra_failure_counts(&pool, collection).await,
        [(1, i64::from(N))]
    );
    // Messages in flight at the cut came back from the broker.
    assert!(stats.snapshot().received >= N as u64);
    delete_queue(&url, config.fedmsg.queue.as_deref().unwrap()).await;
}

/// Bulk outbox rows like `koschei_core::outbox` writes them.
async fn fill_outbox(pool: &PgPool, n: i32) {
    sqlx::query(
        "INSERT INTO message_outbox (topic, body)
         SELECT 'koschei.package.state.change',
                jsonb_build_object('name', 'pkg' || i, 'old', 'ok', 'new', 'failing',
                    'koji_instance', 'primary', 'repo', 'f99', 'collection', 'f99',
                    'collection_name', 'Fedora 99', 'groups', jsonb_build_array())
         FROM generate_series(1, $1) i",
    )
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn the_publisher_survives_a_broker_outage_without_new_ids(pool: PgPool) {
    const N: i32 = 3_000;
    let url = amqp_url();
    let sim = Sim::start().await;
    let proxy = Proxy::start(&url).await;
    let mut config = config(&sim, &url, true);
    config.fedmsg.amqp_url = Some(proxy.url(&url));
    let prefix = config.fedmsg_publisher.topic_prefix.clone().unwrap();

    // Our own consumer, directly on the broker, sees every publication.
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let queue = unique("outbox-observer");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.as_str().into(),
            "amq.topic".into(),
            format!("{prefix}.#").as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut deliveries = channel
        .basic_consume(
            queue.as_str().into(),
            "observer".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();

    fill_outbox(&pool, N).await;
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sim.sessions(),
        Options {
            publish_batch: 100,
            ..Options::default()
        },
    )
    .unwrap();
    let stats = watcher.stats().clone();
    wait_for("a part of the outbox", Duration::from_secs(60), || {
        let s = stats.snapshot();
        async move { s.published >= 500 }
    })
    .await;
    proxy.outage(Duration::from_millis(1500)).await;
    assert!(
        stats.snapshot().published < N as u64,
        "the outage came too late"
    );
    wait_for("every row marked sent", Duration::from_secs(90), || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM message_outbox WHERE sent IS NULL AND publish",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
                == 0
        }
    })
    .await;
    watcher.stop().await;

    let rows: HashMap<String, String> = sqlx::query_as::<_, (uuid::Uuid, serde_json::Value)>(
        "SELECT message_id, body FROM message_outbox",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(id, body)| (id.to_string(), body["name"].as_str().unwrap().to_owned()))
    .collect();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let drain_until = Instant::now() + Duration::from_secs(30);
    while seen.len() < rows.len() && Instant::now() < drain_until {
        let Ok(Some(Ok(d))) = tokio::time::timeout(Duration::from_secs(5), deliveries.next()).await
        else {
            break;
        };
        let id = d.properties.message_id().as_ref().unwrap().to_string();
        let body: serde_json::Value = serde_json::from_slice(&d.data).unwrap();
        // Every publication carries its row's id and content.
        assert_eq!(
            rows.get(&id).map(String::as_str),
            body["name"].as_str(),
            "message id {id} is not the id of its outbox row"
        );
        *seen.entry(id).or_default() += 1;
    }
    let missing: HashSet<_> = rows.keys().filter(|id| !seen.contains_key(*id)).collect();
    assert!(missing.is_empty(), "{} rows never arrived", missing.len());
    let republished = seen.values().filter(|&&c| c > 1).count();
    eprintln!("publisher outage: {republished} rows published again under the same id");
    assert_eq!(stats.snapshot().published, N as u64);
    let _ = conn.close(200, "bye".into()).await;
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_watcher_killed_between_commit_and_ack_loses_and_repeats_nothing(pool: PgPool) {
    const N: i32 = 400;
    let url = amqp_url();
    let sim = Sim::start().await;
    let config = config(&sim, &url, false);
    let collection = seed_running_builds(&pool, "f99", N, 400_000_000).await;
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("koschei.toml");
    std::fs::write(
        &config_file,
        format!(
            r#"
[fedmsg]
topic = "{topic}"
amqp_url = "{url}"
queue = "{queue}"
queue_durable = false

[koji_config]
server = "{hub}"
topurl = "{topurl}"

[koji_config.session_opts]
max_retries = 2
retry_interval = 0.05
timeout = 30
"#,
            topic = config.fedmsg.topic,
            queue = config.fedmsg.queue.as_deref().unwrap(),
            hub = sim.running.hub_url,
            topurl = sim.running.topurl,
        ),
    )
    .unwrap();
    let database_url = database_url(&pool);
    let run = |extra: &[&str], log: &str| {
        let log = std::fs::File::create(dir.path().join(log)).unwrap();
        tokio::process::Command::new(env!("CARGO_BIN_EXE_koschei-watcher"))
            .args(extra)
            .env("KOSCHEI_CONFIG", &config_file)
            .env("DATABASE_URL", &database_url)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };

    let mut first = run(&["--crash-after-commits", "150"], "first.log");
    // The queue exists once the first watcher consumes; publish after that.
    wait_for("the first watcher's queue", Duration::from_secs(30), || {
        let log = dir.path().join("first.log");
        async move {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .contains("consuming Koji messages")
        }
    })
    .await;
    KojiPublisher::connect(&url)
        .await
        .publish_all(closed_task_messages(&config.fedmsg.topic, 400_000_000, N))
        .await;
    let status = tokio::time::timeout(Duration::from_secs(60), first.wait())
        .await
        .expect("the fault injection fired")
        .unwrap();
    assert_eq!(status.code(), Some(CRASH_EXIT_CODE));
    let committed_before = infra_failed(&pool, collection).await;
    assert!(
        (150..i64::from(N)).contains(&committed_before),
        "{committed_before} committed at the crash"
    );

    let mut second = run(&[], "second.log");
    wait_for("every build updated", Duration::from_secs(60), || {
        let pool = pool.clone();
        async move { infra_failed(&pool, collection).await == i64::from(N) }
    })
    .await;
    second.start_kill().unwrap();
    let _ = second.wait().await;
    assert_eq!(
        infra_failure_counts(&pool, collection).await,
        [(1, i64::from(N))],
        "a message was applied twice"
    );
    // The message whose change committed just before the crash was not
    // acknowledged: the broker delivered it again, and it changed nothing.
    let second_log = std::fs::read_to_string(dir.path().join("second.log")).unwrap();
    assert!(
        second_log.contains("redelivered message"),
        "no redelivery after the crash:\n{second_log}"
    );
    delete_queue(&url, config.fedmsg.queue.as_deref().unwrap()).await;
}
