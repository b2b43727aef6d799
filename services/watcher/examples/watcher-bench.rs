//! Watcher benchmark: prints one JSON object with
//!
//! * `task_msgs_per_s`: task.state.change messages from publish to
//!   committed build state change (each costs three Koji calls to an
//!   in-process koji-sim and one transaction);
//! * `repo_done_msgs_per_s`: repo.done messages from publish to committed
//!   NOTIFY (the consumer's own overhead, no Koji);
//! * `outbox_rows_per_s`: outbox rows to broker confirm and `sent` mark;
//! * `outbox_latency_ms_p50`/`_max`: one row inserted → marked sent (the
//!   LISTEN/NOTIFY wake-up path).
//!
//! Needs `DATABASE_URL` and `AMQP_URL` like the tests:
//! `source scripts/lib.sh && pg_start && rmq_start`, then
//! `cargo run -p koschei-watcher --example watcher-bench [TASKS] [ROWS]`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use koschei_watcher::service::{self, Options};
use serde_json::json;
use sqlx::PgPool;

async fn unsent(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM message_outbox WHERE sent IS NULL AND publish")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let tasks: i32 = args.next().map_or(5_000, |a| a.parse().expect("TASKS"));
    let rows: i32 = args.next().map_or(20_000, |a| a.parse().expect("ROWS"));
    let url = amqp_url();
    let db = TestDb::create(40).await;
    let pool = db.pool.clone();
    let sim = Sim::start().await;
    let mut config = config(&sim, &url, false);
    let collection = seed_running_builds(&pool, "f99", tasks, 500_000_000).await;

    // Consume → commit, with Koji.
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
    watcher.wait_consuming().await;
    let stats = watcher.stats().clone();
    let publisher = KojiPublisher::connect(&url).await;
    let start = Instant::now();
    publisher
        .publish_all(closed_task_messages(
            &config.fedmsg.topic,
            500_000_000,
            tasks,
        ))
        .await;
    wait_for("task messages", Duration::from_secs(600), || {
        let s = stats.snapshot();
        async move { s.applied >= tasks as u64 }
    })
    .await;
    let task_rate = f64::from(tasks) / start.elapsed().as_secs_f64();
    assert_eq!(
        infra_failure_counts(&pool, collection).await,
        [(1, i64::from(tasks))]
    );

    // Consume → commit, no Koji (repo.done → NOTIFY).
    let repos = tasks * 4;
    let before = stats.snapshot().applied;
    let start = Instant::now();
    publisher
        .publish_all((0..repos).map(|i| {
            (
                format!("{}.repo.done", config.fedmsg.topic),
                json!({"tag": "f99-build", "tag_id": 2, "repo_id": i, "instance": "primary"}),
                uuid::Uuid::new_v4().to_string(),
            )
        }))
        .await;
    wait_for("repo.done messages", Duration::from_secs(600), || {
        let s = stats.snapshot();
        async move { s.applied >= before + repos as u64 }
    })
    .await;
    let repo_rate = f64::from(repos) / start.elapsed().as_secs_f64();
    watcher.stop().await;
    delete_queue(&url, config.fedmsg.queue.as_deref().unwrap()).await;

    // Outbox → broker confirm.
    config.fedmsg_publisher.enabled = true;
    sqlx::query(
        "INSERT INTO message_outbox (topic, body)
         SELECT 'koschei.package.state.change',
                jsonb_build_object('name', 'pkg' || i, 'old', 'ok', 'new', 'failing',
                    'koji_instance', 'primary', 'repo', 'f99', 'collection', 'f99',
                    'collection_name', 'Fedora 99', 'groups', jsonb_build_array('g'))
         FROM generate_series(1, $1) i",
    )
    .bind(rows)
    .execute(&pool)
    .await
    .unwrap();
    let start = Instant::now();
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sim.sessions(),
        Options::default(),
    )
    .unwrap();
    wait_for("the outbox", Duration::from_secs(600), || {
        let pool = pool.clone();
        async move { unsent(&pool).await == 0 }
    })
    .await;
    let outbox_rate = f64::from(rows) / start.elapsed().as_secs_f64();

    // Latency of single rows (LISTEN/NOTIFY wake-up).
    let mut latencies = Vec::new();
    for i in 0..20 {
        let start = Instant::now();
        sqlx::query(
            "INSERT INTO message_outbox (topic, body) VALUES ('koschei.package.state.change', $1)",
        )
        .bind(
            json!({"name": format!("late{i}"), "old": "ok", "new": "failing",
                         "koji_instance": "primary", "collection": "f99",
                         "collection_name": "Fedora 99", "groups": []}),
        )
        .execute(&pool)
        .await
        .unwrap();
        while unsent(&pool).await > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    watcher.stop().await;
    db.drop().await;

    println!(
        "{}",
        json!({
            "task_messages": tasks,
            "task_msgs_per_s": task_rate.round(),
            "repo_done_messages": repos,
            "repo_done_msgs_per_s": repo_rate.round(),
            "outbox_rows": rows,
            "outbox_rows_per_s": outbox_rate.round(),
            "outbox_latency_ms_p50": (latencies[latencies.len() / 2] * 10.0).round() / 10.0,
            "outbox_latency_ms_max": (latencies[latencies.len() - 1] * 10.0).round() / 10.0,
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        })
    );
}
