//! The event stream `/api/v1/events` served on a real socket over a real
//! database: live events as written by the real code paths (outbox writes,
//! build triggers), exactly-once resumption, filters, the stream cap, slow
//! clients, and the live icons of the pages.

mod common;

use std::time::Duration;

use common::{world, World, MIGRATIONS};
use koschei_core::fixtures::{self, NewBuild};
use koschei_core::model::{BuildState, CollectionState, MessageState};
use koschei_core::{outbox, Config};
use koschei_web::events::hub::CAPACITY;
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Guard against a hanging test (not a timing assertion).
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The test configuration, with the bus publisher's outbox writes on.
fn config() -> Config {
    let mut c = common::config();
    c.fedmsg_publisher.enabled = true;
    c
}

/// One event as received.
#[derive(Debug, Clone, PartialEq)]
struct Received {
    id: i64,
    event: String,
    data: Value,
}

/// A tiny reader of the SSE wire format over a streamed reqwest answer.
struct EventStream {
    res: reqwest::Response,
    buf: Vec<u8>,
}

/// GETs `/api/v1/events?<query>` with an optional `Last-Event-ID`.
async fn get_events(base: &str, query: &str, last_id: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{base}/api/v1/events?{query}"));
    if let Some(id) = last_id {
        req = req.header("Last-Event-ID", id);
    }
    req.send().await.unwrap()
}

impl EventStream {
    /// Opens a stream; the server has subscribed when this returns.
    async fn open(base: &str, query: &str, last_id: Option<&str>) -> EventStream {
        let res = get_events(base, query, last_id).await;
        assert_eq!(res.status(), 200, "{query}");
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        EventStream {
            res,
            buf: Vec::new(),
        }
    }

    /// The next event (comments skipped); `None` when the stream ended.
    async fn next(&mut self) -> Option<Received> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                if let Some(event) = parse_block(&String::from_utf8(block).unwrap()) {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout(HANG_GUARD, self.res.chunk())
                .await
                .expect("an event within the hang guard");
            match chunk {
                Ok(Some(bytes)) => self.buf.extend_from_slice(&bytes),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next `n` events.
    async fn take(&mut self, n: usize) -> Vec<Received> {
        let mut events = Vec::new();
        while events.len() < n {
            events.push(self.next().await.expect("the stream goes on"));
        }
        events
    }

    /// Events up to and including the first with an id from `seq`.
    async fn until(&mut self, seq: i64) -> Vec<Received> {
        let mut events = Vec::new();
        loop {
            let e = self.next().await.expect("the stream goes on");
            let done = e.id >= seq;
            events.push(e);
            if done {
                return events;
            }
        }
    }
}

/// An event of one `\n\n`-terminated block; `None` for comments only.
fn parse_block(block: &str) -> Option<Received> {
    let (mut id, mut event, mut data) = (None, None, Vec::new());
    for line in block
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(':'))
    {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.parse().expect("numeric id")),
            "event" => event = Some(value.to_string()),
            "data" => data.push(value),
            other => panic!("unexpected field {other:?}"),
        }
    }
    let id = id?;
    Some(Received {
        id,
        event: event.expect("an event name"),
        data: serde_json::from_str(&data.join("\n")).expect("JSON data"),
    })
}

/// The stream's end now.
async fn last_seq(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM message_outbox")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// `(seq, topic, message_id, body)` of the log after `after`, in order.
async fn log_after(pool: &PgPool, after: i64) -> Vec<(i64, String, String, Value)> {
    sqlx::query_as(
        "SELECT seq, topic, message_id::text, body FROM message_outbox
         WHERE seq > $1 ORDER BY seq",
    )
    .bind(after)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A package state change written as the services write it, committed.
async fn package_change(pool: &PgPool, package: i32, old: MessageState, new: MessageState) {
    let mut tx = pool.begin().await.unwrap();
    let written = outbox::packages_state_changed(&mut tx, &config(), &[(package, old, new)])
        .await
        .unwrap();
    assert_eq!(written, 1);
    tx.commit().await.unwrap();
}

/// `n` package events of collection f25 in one transaction, each body
/// padded by `padding` bytes.
async fn bulk_events(pool: &PgPool, n: i32, padding: i32) {
    sqlx::query(
        "INSERT INTO message_outbox (topic, body, publish)
         SELECT 'koschei.package.state.change',
                jsonb_build_object('name', 'bulk' || i, 'collection', 'f25', 'old', 'ok',
                                   'new', 'failing', 'groups', '[]'::jsonb,
                                   'padding', repeat('x', $2)), false
           FROM generate_series(1, $1) i ORDER BY i",
    )
    .bind(n)
    .bind(padding)
    .execute(pool)
    .await
    .unwrap();
}

async fn serve(pool: &PgPool, config: Config) -> String {
    common::serve(pool, config).await
}

fn ids(events: &[Received]) -> Vec<i64> {
    events.iter().map(|e| e.id).collect()
}

/// Asserts equal id lists, reporting the first difference only.
#[track_caller]
fn assert_ids(got: &[i64], want: &[i64]) {
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "{} ids, {} expected; first difference at {i}: {:?} instead of {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn state_changes_and_builds_arrive_live(pool: PgPool) {
    let w: World = world(&pool).await;
    let base = serve(&pool, config()).await;
    let mut stream = EventStream::open(&base, "", None).await;
    let before = last_seq(&pool).await;

    package_change(&pool, w.rnv, MessageState::Ok, MessageState::Failing).await;
    let mut conn = pool.acquire().await.unwrap();
    let c = config();
    assert!(outbox::collection_state_changed(
        &mut conn,
        &c,
        w.f25,
        CollectionState::Ok,
        CollectionState::Unresolved
    )
    .await
    .unwrap());
    let build = fixtures::build(&pool, w.eclipse, NewBuild::new(BuildState::Running, 0.0)).await;
    sqlx::query("UPDATE build SET state = 3, finished = started + interval '1 hour' WHERE id = $1")
        .bind(build)
        .execute(&pool)
        .await
        .unwrap();

    let log = log_after(&pool, before).await;
    assert_eq!(log.len(), 4, "{log:?}");
    let events = stream.take(4).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "package.state.change",
            "collection.state.change",
            "build.started",
            "build.finished"
        ]
    );
    for (e, (seq, topic, message_id, body)) in events.iter().zip(&log) {
        assert_eq!(e.id, *seq);
        assert_eq!(e.data["id"], *seq);
        assert_eq!(e.data["topic"], topic.as_str());
        assert_eq!(e.data["message_id"], message_id.as_str());
        assert_eq!(e.data["body"], *body);
        assert!(
            e.data["time"].as_str().is_some_and(|t| t.contains('T')),
            "{e:?}"
        );
    }
    assert_eq!(events[0].data["topic"], "koschei.package.state.change");
    let body = &events[0].data["body"];
    assert_eq!(
        (
            &body["name"],
            &body["collection"],
            &body["old"],
            &body["new"]
        ),
        (
            &"rnv".into(),
            &"f25".into(),
            &"ok".into(),
            &"failing".into()
        )
    );
    assert_eq!(body["groups"], serde_json::json!(["java"]));
    assert_eq!(events[1].data["body"]["new"], "unresolved");
    assert_eq!(events[2].data["topic"], "build.started");
    assert_eq!(events[2].data["body"]["build_id"], build);
    assert_eq!(events[2].data["body"]["state"], "running");
    assert_eq!(events[3].data["body"]["name"], "eclipse");
    assert_eq!(events[3].data["body"]["state"], "complete");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn reconnecting_with_last_event_id_misses_and_repeats_nothing(pool: PgPool) {
    let w = world(&pool).await;
    let base = serve(&pool, config()).await;
    let start = last_seq(&pool).await;
    let mut first = EventStream::open(&base, "", None).await;
    for new in [
        MessageState::Failing,
        MessageState::Ok,
        MessageState::Failing,
    ] {
        let old = if new == MessageState::Ok {
            MessageState::Failing
        } else {
            MessageState::Ok
        };
        package_change(&pool, w.rnv, old, new).await;
    }
    let seen = first.take(2).await;
    drop(first);
    // Missed: the third change, then more than a replay page.
    bulk_events(&pool, 1200, 0).await;
    let resume = seen[1].id.to_string();
    // More events committed while the client replays.
    let producer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                bulk_events(&pool, 7, 0).await;
                tokio::task::yield_now().await;
            }
        })
    };
    let mut second = EventStream::open(&base, "", Some(&resume)).await;
    producer.await.unwrap();
    package_change(&pool, w.eclipse, MessageState::Ok, MessageState::Failing).await;
    let end = last_seq(&pool).await;
    let received = second.until(end).await;
    let expected: Vec<i64> = log_after(&pool, seen[1].id)
        .await
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(expected.len(), 1 + 1200 + 140 + 1);
    assert_ids(&ids(&received), &expected);
    let first_two: Vec<i64> = log_after(&pool, start).await[..2]
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids(&seen), first_two);
    // The query parameter resumes as the header does.
    let mut third =
        EventStream::open(&base, &format!("last_event_id={}", expected[1199]), None).await;
    assert_ids(&ids(&third.until(end).await), &expected[1200..]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn filters_select_collections_packages_and_groups(pool: PgPool) {
    let w = world(&pool).await;
    let base = serve(&pool, config()).await;
    let queries = [
        "collection=f26",
        "package=rnv",
        "group=java",
        "group=alice/mine",
        "collection=f25&package=eclipse,foo",
        "collection=f25&collection=f26&group=java",
    ];
    let mut streams = Vec::new();
    for q in queries {
        streams.push(EventStream::open(&base, q, None).await);
    }
    let before = last_seq(&pool).await;
    use MessageState::{Failing, Ok};
    package_change(&pool, w.rnv, Ok, Failing).await; // f25, java
    package_change(&pool, w.unresolvable, Ok, Failing).await; // foo: f25, alice/mine
    let mut conn = pool.acquire().await.unwrap();
    let c = config();
    outbox::collection_state_changed(
        &mut conn,
        &c,
        w.f26,
        CollectionState::Ok,
        CollectionState::Unresolved,
    )
    .await
    .unwrap();
    drop(conn);
    fixtures::build(&pool, w.eclipse, NewBuild::new(BuildState::Running, 0.0)).await; // f25, java
                                                                                      // Markers: every stream wants one of them.
    package_change(&pool, w.rnv_f26, Ok, Failing).await; // f26, java
    package_change(&pool, w.unresolvable, Failing, Ok).await; // foo: f25, alice/mine
    let log = log_after(&pool, before).await;
    assert_eq!(log.len(), 6);
    let seq = |i: usize| log[i].0;
    let expected: [&[i64]; 6] = [
        &[seq(2), seq(4)],
        &[seq(0), seq(4)],
        &[seq(0), seq(3), seq(4)],
        &[seq(1), seq(5)],
        &[seq(1), seq(3), seq(5)],
        &[seq(0), seq(3), seq(4)],
    ];
    for ((stream, want), q) in streams.iter_mut().zip(expected).zip(queries) {
        let got = stream.until(*want.last().unwrap()).await;
        assert_eq!(ids(&got), want, "{q}");
    }
    // An unknown collection is 404, as everywhere in the API.
    let res = get_events(&base, "collection=f25,nosuch", None).await;
    assert_eq!(res.status(), 404);
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body["error"], "Collection not found: nosuch");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn malformed_last_event_id_is_400(pool: PgPool) {
    world(&pool).await;
    let base = serve(&pool, config()).await;
    for (query, header) in [
        ("", Some("abc")),
        ("", Some("-1")),
        ("last_event_id=1x", None),
    ] {
        let res = get_events(&base, query, header).await;
        assert_eq!(res.status(), 400, "{query} {header:?}");
        let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("event id"),
            "{body}"
        );
    }
    // The header wins over the query.
    let res = get_events(&base, "last_event_id=x", Some("0")).await;
    assert_eq!(res.status(), 200);
    let res = get_events(&base, "last_event_id=0", Some("x")).await;
    assert_eq!(res.status(), 400);
}

/// GETs the stream until it is answered 200 (after earlier streams'
/// slots were freed).
async fn open_when_free(base: &str) -> EventStream {
    let give_up = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        let res = get_events(base, "", None).await;
        if res.status() == 200 {
            return EventStream {
                res,
                buf: Vec::new(),
            };
        }
        assert_eq!(res.status(), 503);
        assert!(tokio::time::Instant::now() < give_up, "no slot freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn streams_over_the_cap_are_refused_with_retry_after(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = config();
    c.frontend.limits.max_event_streams = 2;
    // Open streams hold no request slot and outlive the request time limit.
    c.frontend.limits.max_concurrent_requests = 1;
    c.frontend.limits.request_timeout = 2.0;
    let base = serve(&pool, c).await;
    let mut one = EventStream::open(&base, "", None).await;
    let two = EventStream::open(&base, "collection=f25", None).await;
    let refused = get_events(&base, "", None).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "10");
    let body: Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("event streams"),
        "{body}"
    );
    // Other requests still go through.
    let other = reqwest::get(format!("{base}/api/v1/collections"))
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    package_change(&pool, w.rnv, MessageState::Ok, MessageState::Failing).await;
    assert_eq!(one.next().await.unwrap().event, "package.state.change");
    // A closed stream frees its slot.
    drop(two);
    let mut three = open_when_free(&base).await;
    package_change(&pool, w.rnv, MessageState::Failing, MessageState::Ok).await;
    assert_eq!(three.next().await.unwrap().data["body"]["new"], "ok");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_client_that_does_not_read_is_dropped_and_others_go_on(pool: PgPool) {
    world(&pool).await;
    let mut c = config();
    c.frontend.limits.max_event_streams = 2;
    let base = serve(&pool, c).await;
    let addr = base.strip_prefix("http://").unwrap();
    // A client that reads the answer's head and then nothing.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(addr.parse().unwrap()).await.unwrap();
    slow.write_all(b"GET /api/v1/events HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        slow.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let start = last_seq(&pool).await;
    let mut reader = EventStream::open(&base, "", None).await;
    let mut received = Vec::new();
    // Batches of 500 events of 2 kB the reader keeps up with, until the
    // slow client's slot is free again.
    let mut freed = false;
    for _ in 0..60 {
        bulk_events(&pool, 500, 2000).await;
        received.extend(reader.until(last_seq(&pool).await).await);
        let res = get_events(&base, "", None).await;
        if res.status() == 200 {
            freed = true;
            break;
        }
        assert_eq!(res.status(), 503);
    }
    assert!(freed, "the slow client was never dropped");
    // The reader got every event, in order, without reconnecting.
    let expected: Vec<i64> = log_after(&pool, start).await.iter().map(|r| r.0).collect();
    assert!(expected.len() > CAPACITY);
    assert_ids(&ids(&received), &expected);
    // The slow client gets what was buffered for it, then the answer ends.
    let mut rest = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    while !rest.ends_with(b"\r\n0\r\n\r\n") {
        let n = tokio::time::timeout(HANG_GUARD, slow.read(&mut chunk))
            .await
            .expect("the dropped stream ends")
            .unwrap();
        assert!(n > 0, "connection closed before the answer ended");
        rest.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&rest);
    let got: Vec<i64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.parse().unwrap())
        .collect();
    assert!(!got.is_empty(), "nothing before the end");
    assert_ids(&got, &expected[..got.len()]);
    // It was dropped once a whole broadcast buffer behind what it got (the
    // hub's pages and these batches of 500 give the margin), not later.
    assert!(
        expected.len() <= got.len() + CAPACITY + 2000,
        "dropped after {} events, {} of them sent to it",
        expected.len(),
        got.len()
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn pages_mark_state_icons_for_the_live_script(pool: PgPool) {
    world(&pool).await;
    let base = serve(&pool, config()).await;
    let get = |path: &str| reqwest::get(format!("{base}{path}"));
    let js = get("/static/live.js").await.unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let csp = js.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    for part in [
        "script-src 'self'",
        "connect-src 'self'",
        "default-src 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(js.text().await.unwrap().contains("/api/v1/events"));
    for (path, marked) in [
        (
            "/packages?collection=f25",
            r#"data-package="rnv" data-collection="f25""#,
        ),
        ("/packages", r#"data-package="rnv" data-collection="f26""#),
        (
            "/groups/java",
            r#"data-package="eclipse" data-collection="f25""#,
        ),
        (
            "/package/rnv?collection=f25",
            r#"data-package="rnv" data-collection="f26""#,
        ),
    ] {
        let page = get(path).await.unwrap().text().await.unwrap();
        assert!(page.contains(marked), "{path}: {marked}");
        assert!(
            page.contains(r#"<script src="/static/live.js" defer></script>"#),
            "{path}"
        );
        assert!(page.contains(r#"<template id="state-icons">"#), "{path}");
        assert!(!page.contains("<script>"), "{path}: inline script");
    }
}
