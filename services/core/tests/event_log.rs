//! The outbox as the event log (issue #15, contract B), on a real PostgreSQL:
//! `seq` in commit order, the build events of the `build` triggers, and
//! state changes written with `publish = false` while the bus publisher is
//! disabled.

use koschei_core::config::Config;
use koschei_core::fixtures::{self, NewBuild};
use koschei_core::model::{BuildState, CollectionState, MessageState};
use koschei_core::outbox;
use serde_json::{json, Value as Json};
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;

async fn insert_row(conn: &mut sqlx::PgConnection, topic: &str) {
    sqlx::query("INSERT INTO message_outbox (topic, body) VALUES ($1, '{}')")
        .bind(topic)
        .execute(conn)
        .await
        .unwrap();
}

/// `(topic, seq)` of every row, by seq.
async fn by_seq(pool: &PgPool) -> Vec<(String, Option<i64>)> {
    sqlx::query_as("SELECT topic, seq FROM message_outbox ORDER BY seq, id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn seq_follows_commit_order_not_insert_order(pool: PgPool) {
    let mut first = pool.begin().await.unwrap();
    let mut second = pool.begin().await.unwrap();
    insert_row(&mut first, "first.a").await;
    insert_row(&mut second, "second.a").await;
    insert_row(&mut first, "first.b").await;
    sqlx::query(
        "INSERT INTO message_outbox (topic, body)
         SELECT 'second.' || i, '{}' FROM generate_series(1, 3) i",
    )
    .execute(&mut *second)
    .await
    .unwrap();
    // Uncommitted rows have no position yet.
    let pending: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM message_outbox")
        .fetch_one(&mut *second)
        .await
        .unwrap();
    assert_eq!(pending, None);
    second.commit().await.unwrap();
    first.commit().await.unwrap();

    let rows = by_seq(&pool).await;
    let topics: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        topics,
        ["second.a", "second.1", "second.2", "second.3", "first.a", "first.b"]
    );
    assert!(rows.iter().all(|(_, seq)| seq.is_some()), "{rows:?}");

    // A rolled-back transaction leaves nothing; later commits continue the order.
    let mut rolled_back = pool.begin().await.unwrap();
    insert_row(&mut rolled_back, "rolled.back").await;
    rolled_back.rollback().await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    insert_row(&mut conn, "autocommit").await;
    let rows = by_seq(&pool).await;
    assert_eq!(rows.len(), 7);
    assert_eq!(rows.last().unwrap().0, "autocommit");
    assert!(rows[6].1 > rows[5].1);
}

/// The build events, by id: `(topic, publish, body)`.
async fn build_events(pool: &PgPool) -> Vec<(String, bool, Json)> {
    sqlx::query_as(
        "SELECT topic, publish, body FROM message_outbox WHERE topic LIKE 'build.%' ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn builds_starting_and_finishing_are_events(pool: PgPool) {
    let f25 = fixtures::collection(&pool, "f25").await;
    let foo = fixtures::package(&pool, f25, "foo").await;
    sqlx::raw_sql(
        "INSERT INTO package_group (namespace, name) VALUES (NULL, 'tools'), ('ns', 'base');
         INSERT INTO package_group_relation (group_id, base_id)
         SELECT g.id, p.base_id FROM package_group g, package p WHERE p.name = 'foo'",
    )
    .execute(&pool)
    .await
    .unwrap();

    let running = NewBuild::new(BuildState::Running, 1.0);
    let task_id = running.task_id;
    let started = running.started;
    let build = fixtures::build(&pool, foo, running).await;
    let events = build_events(&pool).await;
    assert_eq!(events.len(), 1);
    let (topic, publish, body) = &events[0];
    assert_eq!(topic, "build.started");
    assert!(!publish, "build events are not for the bus");
    let mut body = body.clone();
    // An ISO timestamp (UTC, as stored: microseconds).
    let stored: chrono::NaiveDateTime = serde_json::from_value(body["started"].take()).unwrap();
    assert!((stored - started).num_microseconds().unwrap().abs() <= 1);
    assert_eq!(
        body,
        json!({
            "build_id": build, "name": "foo", "collection": "f25",
            "collection_name": "Fedora Rawhide", "groups": ["ns/base", "tools"],
            "task_id": task_id, "state": "running", "real": false,
            "started": null, "finished": null, "version": "1", "release": "1.fc25",
        })
    );

    // Updates that leave the build running are no events; leaving running is.
    sqlx::query("UPDATE build SET cancel_requested = true WHERE id = $1")
        .bind(build)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(build_events(&pool).await.len(), 1);
    sqlx::query(
        "UPDATE build SET state = $2, finished = started + interval '1 hour' WHERE id = $1",
    )
    .bind(build)
    .bind(BuildState::Failed)
    .execute(&pool)
    .await
    .unwrap();
    let events = build_events(&pool).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].0, "build.finished");
    assert_eq!(events[1].2["state"], "failed");
    assert_eq!(events[1].2["build_id"], build);
    assert!(events[1].2["finished"].is_string());
    // A finished build changing again is no event.
    sqlx::query("UPDATE build SET state = $2 WHERE id = $1")
        .bind(build)
        .bind(BuildState::Complete)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(build_events(&pool).await.len(), 2);

    // A real build arrives complete; a scratch build timed out.
    let real = fixtures::build(
        &pool,
        foo,
        NewBuild {
            real: true,
            ..NewBuild::new(BuildState::Complete, 0.5)
        },
    )
    .await;
    fixtures::build(&pool, foo, NewBuild::new(BuildState::TimedOut, 0.2)).await;
    let events = build_events(&pool).await;
    assert_eq!(events.len(), 4);
    assert_eq!(events[2].0, "build.finished");
    assert_eq!(events[2].2["build_id"], real);
    assert_eq!(events[2].2["real"], true);
    assert_eq!(events[2].2["state"], "complete");
    assert_eq!(events[3].2["state"], "timed out");
    let unnumbered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM message_outbox WHERE seq IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unnumbered, 0);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn state_changes_are_written_for_the_stream_when_the_bus_is_off(pool: PgPool) {
    let f25 = fixtures::collection(&pool, "f25").await;
    let foo = fixtures::package(&pool, f25, "foo").await;
    let mut off = Config::default();
    off.fedmsg_publisher.enabled = false;
    let mut on = off.clone();
    on.fedmsg_publisher.enabled = true;

    let mut conn = pool.acquire().await.unwrap();
    for config in [&off, &on] {
        assert!(outbox::package_state_changed(
            &mut conn,
            config,
            foo,
            MessageState::Ok,
            MessageState::Failing
        )
        .await
        .unwrap());
        assert!(outbox::collection_state_changed(
            &mut conn,
            config,
            f25,
            CollectionState::Ok,
            CollectionState::Unresolved
        )
        .await
        .unwrap());
        // No change, no row.
        assert!(!outbox::package_state_changed(
            &mut conn,
            config,
            foo,
            MessageState::Ok,
            MessageState::Ok
        )
        .await
        .unwrap());
    }
    let rows: Vec<(String, bool, Json)> =
        sqlx::query_as("SELECT topic, publish, body FROM message_outbox ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let summary: Vec<(&str, bool)> = rows.iter().map(|(t, p, _)| (t.as_str(), *p)).collect();
    assert_eq!(
        summary,
        [
            ("koschei.package.state.change", false),
            ("koschei.collection.state.change", false),
            ("koschei.package.state.change", true),
            ("koschei.collection.state.change", true),
        ]
    );
    // The same bodies either way.
    assert_eq!(rows[0].2, rows[2].2);
    assert_eq!(rows[1].2, rows[3].2);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn build_event_state_names_are_the_rust_names(pool: PgPool) {
    for state in BuildState::ALL {
        let name: String = sqlx::query_scalar("SELECT build_state_name($1)")
            .bind(state)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(name, state.as_str());
    }
}
