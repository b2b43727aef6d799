//! Interoperability with the real fedora-messaging stack (Python venv from
//! `scripts/test`): Koji messages published by the fedora-messaging client
//! with the koji-fedoramessaging-messages schema classes drive the watcher,
//! and Koschei's messages are consumed by fedora-messaging and validated
//! with the koschei-messages schema classes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use koschei_core::fixtures;
use koschei_core::model::{BuildState, CollectionState, MessageState};
use koschei_core::outbox;
use koschei_koji::xmlrpc::Value;
use koschei_koji::{xstruct, ListTaggedOpts};
use koschei_watcher::handler::REPO_DONE_CHANNEL;
use koschei_watcher::service::{self, Options};
use serde_json::{json, Value as Json};
use sqlx::postgres::PgListener;
use sqlx::PgPool;

/// Runs the watcher until a fedora-messaging consumer bound with `bindings` received
/// `count` messages; returns what `fm_consume.py` printed of each.
async fn publish_and_consume(
    config: &koschei_core::Config,
    pool: &PgPool,
    sim: &Sim,
    count: usize,
    bindings: &[String],
) -> Vec<Json> {
    let url = config.fedmsg.amqp_url.clone().unwrap();
    let mut consumer = Command::new(python())
        .arg(python_script("fm_consume.py"))
        .args([&url, &unique("fm-consumer"), &count.to_string(), "30"])
        .args(bindings)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run fm_consume.py");
    let mut lines = BufReader::new(consumer.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "READY");
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sim.sessions(),
        Options::default(),
    )
    .unwrap();
    let received: Vec<Json> = tokio::task::spawn_blocking(move || {
        lines
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect()
    })
    .await
    .unwrap();
    assert!(consumer.wait().unwrap().success(), "fm_consume.py failed");
    watcher.stop().await;
    received
}

/// Publishes `(full topic, schema, body)` with fedora-messaging; returns
/// the message ids it assigned.
fn fedora_messaging_publish(url: &str, messages: &[(String, String, Json)]) -> Vec<String> {
    let mut child = Command::new(python())
        .arg(python_script("fm_publish.py"))
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run fm_publish.py");
    {
        let mut stdin = child.stdin.take().unwrap();
        for (topic, schema, body) in messages {
            let line = json!({"topic": topic, "schema": schema, "body": body});
            writeln!(stdin, "{line}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "fm_publish.py failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The Koji topic of a koji-sim message under the test's prefix.
fn our_topic(config_topic: &str, sim_topic: &str) -> String {
    let suffix = sim_topic
        .strip_prefix("org.fedoraproject.prod.buildsys")
        .or_else(|| sim_topic.strip_prefix("buildsys"))
        .unwrap();
    format!("{config_topic}{suffix}")
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn koji_messages_from_fedora_messaging_drive_the_watcher(pool: PgPool) {
    let url = amqp_url();
    let sim = Sim::start().await;
    let koji = sim.client();
    let config = config(&sim, &url, true);

    // Two collections build into tag f99, a third into f98.
    let f99 = fixtures::collection(&pool, "f99").await;
    let side = fixtures::collection(&pool, "f99-side").await;
    let f98 = fixtures::collection(&pool, "f98").await;
    sqlx::query("UPDATE collection SET dest_tag = 'f99' WHERE id = $1")
        .bind(side)
        .execute(&pool)
        .await
        .unwrap();
    for c in [f99, side, f98] {
        fixtures::package(&pool, c, "foo-app").await;
    }
    // A running Koschei build whose Koji task (seeded, closed) is real.
    let py_tool = fixtures::package(&pool, f99, "py-tool").await;
    let seeded = koji
        .list_tagged(
            "f99",
            &ListTaggedOpts {
                latest: true,
                package: Some("py-tool".into()),
                ..ListTaggedOpts::default()
            },
        )
        .await
        .unwrap();
    let task_id = seeded[0].task_id.expect("seeded builds have tasks");
    let seeded_foo_app = koji
        .list_tagged(
            "f99",
            &ListTaggedOpts {
                latest: true,
                package: Some("foo-app".into()),
                ..ListTaggedOpts::default()
            },
        )
        .await
        .unwrap()
        .remove(0);
    let mut build = fixtures::NewBuild::new(BuildState::Running, 0.1);
    build.task_id = i32::try_from(task_id).unwrap();
    build.repo_id = None;
    let build_id = fixtures::build(&pool, py_tool, build).await;

    // Koji events: a new foo-app tagged into f99, a new repo.
    koji.call(
        "sim.importBuild",
        vec![Value::Struct(
            xstruct! {"name" => "foo-app", "version" => "2.0", "release" => "1"},
        )],
    )
    .await
    .unwrap();
    koji.call(
        "sim.tagBuild",
        vec![Value::str("f99"), Value::str("foo-app-2.0-1")],
    )
    .await
    .unwrap();
    let repo_id = koji
        .call("sim.regenRepo", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    let mut messages: Vec<(String, String, Json)> = sim
        .running
        .sim
        .recent_messages()
        .into_iter()
        .filter(|m| {
            (m.topic == "buildsys.tag" && m.body["name"] == "foo-app")
                || (m.topic == "buildsys.repo.done" && m.body["repo_id"] == repo_id)
        })
        .map(|m| {
            (
                our_topic(&config.fedmsg.topic, &m.topic),
                m.schema.to_owned(),
                m.body,
            )
        })
        .collect();
    assert_eq!(messages.len(), 2, "koji-sim published tag and repo.done");
    let task_topic = format!("{}.task.state.change", config.fedmsg.topic);
    let task_schema = "koji_fedoramessaging.task.TaskStateChangeV1".to_owned();
    messages.push((
        task_topic.clone(),
        task_schema.clone(),
        task_body(task_id, "OPEN", "CLOSED"),
    ));
    // Another Koji instance's message is ignored…
    let mut foreign = task_body(task_id, "OPEN", "FAILED");
    foreign["instance"] = json!("s390");
    messages.push((task_topic.clone(), task_schema, foreign));
    // …and a generic message without the fields is rejected, not fatal.
    messages.push((
        task_topic,
        "base.message".into(),
        json!({"instance": "primary", "attribute": "state"}),
    ));

    let mut listener = PgListener::connect_with(&pool).await.unwrap();
    listener.listen(REPO_DONE_CHANNEL).await.unwrap();
    let watcher = service::start(
        config.clone(),
        pool.clone(),
        sim.sessions(),
        Options::default(),
    )
    .unwrap();
    let stats = watcher.stats().clone();
    watcher.wait_consuming().await;
    let ids = fedora_messaging_publish(&url, &messages);
    assert_eq!(ids.len(), 5);
    wait_for("all five messages", Duration::from_secs(30), || {
        let s = stats.snapshot();
        async move { s.applied + s.ignored + s.rejected == 5 }
    })
    .await;
    let s = stats.snapshot();
    assert_eq!((s.applied, s.ignored, s.rejected), (3, 1, 1), "{s}");

    // repo.done woke the resolver's channel.
    let note = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .expect("NOTIFY koschei_repo_done")
        .unwrap();
    assert_eq!(note.payload(), format!("f99-build:{repo_id}"));

    // The task message finished the build with Koji's verdict.
    let state: i32 = sqlx::query_scalar("SELECT state FROM build WHERE id = $1")
        .bind(build_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, BuildState::Complete.code());

    // The tag message registered foo-app 2.0 in both f99 collections only.
    let registered: Vec<(i32, String)> = sqlx::query_as(
        "SELECT p.collection_id, b.version FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.name = 'foo-app' AND b.real ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(registered, [(f99, "2.0".into()), (side, "2.0".into())]);

    // Untagging foo-app 2.0 makes the seeded build Koji's latest again:
    // both f99 collections mark their 2.0 build untagged and register the
    // older build they had not seen.
    let tags_before = sim.running.sim.recent_messages().len();
    koji.call(
        "sim.untagBuild",
        vec![Value::str("f99"), Value::str("foo-app-2.0-1")],
    )
    .await
    .unwrap();
    let untag: Vec<(String, String, Json)> = sim.running.sim.recent_messages()[tags_before..]
        .iter()
        .filter(|m| m.topic == "buildsys.untag")
        .map(|m| {
            (
                our_topic(&config.fedmsg.topic, &m.topic),
                m.schema.to_owned(),
                m.body.clone(),
            )
        })
        .collect();
    assert_eq!(untag.len(), 1);
    fedora_messaging_publish(&url, &untag);
    wait_for("the untag message", Duration::from_secs(30), || {
        let s = stats.snapshot();
        async move { s.applied == 4 }
    })
    .await;
    let untagged: Vec<(i32, String, bool)> = sqlx::query_as(
        "SELECT p.collection_id, b.version, b.untagged FROM build b
         JOIN package p ON p.id = b.package_id
         WHERE p.name = 'foo-app' AND b.real ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let seeded_version = seeded_foo_app.version.clone();
    assert_eq!(
        untagged,
        [
            (f99, seeded_version.clone(), false),
            (f99, "2.0".into(), true),
            (side, seeded_version, false),
            (side, "2.0".into(), true),
        ]
    );

    // Whatever state changes that caused were published and confirmed.
    wait_for("the outbox drained", Duration::from_secs(10), || {
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
    delete_queue(&url, config.fedmsg.queue.as_deref().unwrap()).await;
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn our_messages_validate_with_fedora_messaging_and_koschei_messages(pool: PgPool) {
    let url = amqp_url();
    let sim = Sim::start().await;
    let config = config(&sim, &url, true);
    let prefix = config.fedmsg_publisher.topic_prefix.clone().unwrap();

    let f25 = fixtures::collection(&pool, "f25").await;
    let foo = fixtures::package(&pool, f25, "foo").await;
    sqlx::raw_sql(
        "INSERT INTO package_group (namespace, name) VALUES (NULL, 'bar'), ('ns', 'baz');
         INSERT INTO package_group_relation (group_id, base_id)
         SELECT g.id, p.base_id FROM package_group g, package p WHERE p.name = 'foo'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    // First, rows for the event stream only (publish = false), which the
    // publisher must skip: a state change written with the bus publisher
    // disabled, and a build event.
    let mut disabled = config.clone();
    disabled.fedmsg_publisher.enabled = false;
    assert!(outbox::package_state_changed(
        &mut conn,
        &disabled,
        foo,
        MessageState::Unresolved,
        MessageState::Ok
    )
    .await
    .unwrap());
    fixtures::build(
        &pool,
        foo,
        fixtures::NewBuild::new(BuildState::Running, 0.1),
    )
    .await;
    assert!(outbox::package_state_changed(
        &mut conn,
        &config,
        foo,
        MessageState::Ok,
        MessageState::Failing
    )
    .await
    .unwrap());
    assert!(outbox::package_state_changed(
        &mut conn,
        &config,
        foo,
        MessageState::Ignored,
        MessageState::Ok
    )
    .await
    .unwrap());
    assert!(outbox::collection_state_changed(
        &mut conn,
        &config,
        f25,
        CollectionState::Ok,
        CollectionState::Unresolved
    )
    .await
    .unwrap());
    // our own schema (koschei-rs-messages): a binary broke, and a rebuild would fix it
    let broken = outbox::BinaryInstallability {
        name: "foo-libs".into(),
        arch: "x86_64".into(),
        evr: "1:2.0-3.fc25".into(),
        installable: false,
        problems: vec!["nothing provides libbar.so.1()(64bit) needed by foo-libs".into()],
    };
    let rebuilt = outbox::BinaryInstallability {
        installable: true,
        problems: vec![],
        ..broken.clone()
    };
    let changes = [
        outbox::InstallabilityChange {
            name: "foo".into(),
            old: outbox::Installable::Installable,
            new: outbox::Installable::Uninstallable,
            binaries: vec![broken],
            fixed_by_rebuild: None,
        },
        outbox::InstallabilityChange {
            name: "foo".into(),
            old: outbox::Installable::Uninstallable,
            new: outbox::Installable::Uninstallable,
            binaries: vec![rebuilt],
            fixed_by_rebuild: Some(4242),
        },
    ];
    assert_eq!(
        outbox::installability_changed(&mut conn, &config, f25, 123, &changes)
            .await
            .unwrap(),
        2
    );
    drop(conn);
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT message_id, topic FROM message_outbox WHERE publish ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();

    let received =
        publish_and_consume(&config, &pool, &sim, 5, &[format!("{prefix}.koschei.#")]).await;
    assert_eq!(received.len(), 5);

    for (msg, (id, topic)) in received.iter().zip(&rows) {
        assert_eq!(
            msg["id"],
            json!(id.to_string()),
            "message id = outbox row id"
        );
        assert_eq!(msg["topic"], json!(format!("{prefix}.{topic}")));
        assert_eq!(msg["content_type"], "application/json");
        assert_eq!(msg["content_encoding"], "utf-8");
        assert_eq!(msg["delivery_mode"], 2);
        assert_eq!(msg["severity"], 20);
        assert!(msg["sent_at"].as_str().unwrap().ends_with("+00:00"));
        // Exactly the headers fedora-messaging sets for this class and body.
        assert_eq!(msg["headers"], msg["expected_headers"], "{msg:#}");
    }
    let classes: Vec<&str> = received
        .iter()
        .map(|m| m["class"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        [
            "koschei_messages.package.PackageStateChange",
            "koschei_messages.package.PackageStateChange",
            "koschei_messages.collection.CollectionStateChange",
            "koschei_rs_messages.installability.PackageInstallabilityChange",
            "koschei_rs_messages.installability.PackageInstallabilityChange",
        ]
    );
    assert_eq!(
        received[3]["summary"],
        "foo's binaries became uninstallable in f25"
    );
    assert_eq!(
        received[4]["summary"],
        "foo is not installable in f25, but a rebuild would fix it (task 4242)"
    );
    for msg in &received[3..] {
        assert_eq!(
            msg["headers"]["fedora_messaging_schema_package"],
            "koschei_rs_messages"
        );
        assert_eq!(msg["headers"]["fedora_messaging_rpm_foo"], true);
        assert_eq!(msg["headers"]["fedora_messaging_group_ns/baz"], true);
        assert_eq!(msg["body"]["repo_id"], "123");
    }
    assert_eq!(
        received[0]["summary"],
        "foo's builds started to fail in f25"
    );
    assert_eq!(received[1]["summary"], "foo added to Koschei in f25");
    assert_eq!(received[0]["packages"], json!(["foo"]));
    assert_eq!(received[0]["body"]["groups"], json!(["bar", "ns/baz"]));
    assert_eq!(
        received[0]["headers"]["fedora_messaging_schema"],
        "koschei.package.state.change"
    );
    assert_eq!(received[0]["headers"]["fedora_messaging_rpm_foo"], true);
    assert_eq!(received[2]["body"]["repo_id"], "123");
    assert_eq!(
        received[2]["headers"]["fedora_messaging_schema"],
        "koschei.collection.state.change"
    );
    let unsent: (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE publish), count(*) FILTER (WHERE NOT publish)
         FROM message_outbox WHERE sent IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        unsent,
        (0, 2),
        "the bus rows sent, the stream-only rows never"
    );
}

/// The installability schema (services/watcher/messages) is no rubber stamp: the body
/// the resolver writes passes, each way of getting it wrong fails.
#[test]
fn the_installability_schema_takes_our_bodies_and_refuses_others() {
    let body = serde_json::to_value(outbox::PackageInstallabilityChange {
        name: "foo".into(),
        old: outbox::Installable::Installable,
        new: outbox::Installable::Uninstallable,
        koji_instance: "primary".into(),
        collection: "f42".into(),
        collection_name: "Fedora 42".into(),
        repo_id: "7".into(),
        groups: vec!["ns/tools".into()],
        binaries: vec![outbox::BinaryInstallability {
            name: "foo".into(),
            arch: "x86_64".into(),
            evr: "1-1".into(),
            installable: false,
            problems: vec!["nothing provides bar".into()],
        }],
        fixed_by_rebuild: false,
        task_id: None,
    })
    .unwrap();
    let with = |edit: &dyn Fn(&mut Json)| {
        let mut b = body.clone();
        edit(&mut b);
        b
    };
    let bodies = [
        body.clone(),
        with(&|b| {
            b.as_object_mut().unwrap().remove("binaries");
        }),
        with(&|b| b["new"] = json!("broken")),
        with(&|b| b["task_id"] = json!("12")),
        with(&|b| b["repo_id"] = json!(7)),
        with(&|b| b["binaries"][0]["installable"] = json!("no")),
        with(&|b| {
            b["binaries"][0].as_object_mut().unwrap().remove("problems");
        }),
    ];
    let items: Vec<(String, Json)> = bodies
        .iter()
        .map(|b| {
            (
                "koschei.package.installability.change".to_string(),
                b.clone(),
            )
        })
        .collect();
    let verdicts = validate("fm_validate.py", &[], &items);
    assert_eq!(
        verdicts,
        ["ok", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid"]
    );
}

/// Runs a validator script (`fm_validate.py`: fedora-messaging's schema classes;
/// `ci_validate.py DIR`: JSON schema files) over `(schema, body)` pairs; one verdict a
/// pair: `ok` or `invalid`.
fn validate(script: &str, args: &[String], items: &[(String, Json)]) -> Vec<String> {
    let input: String = items
        .iter()
        .map(|(schema, body)| json!({"schema": schema, "body": body}).to_string() + "\n")
        .collect();
    let mut child = Command::new(python())
        .arg(python_script(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{script} failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split(':').next().unwrap().to_owned())
        .collect()
}

/// [`validate`] against the Fedora CI message specification's schemas
/// (../shared/fixtures/koschei/schema).
fn ci_validate(items: &[(String, Json)]) -> Vec<String> {
    let schemas = koschei_core::testdata::shared_path("fixtures/koschei/schema");
    validate("ci_validate.py", &[schemas.display().to_string()], items)
}

/// An impact check's messages: ours validate with their schema class (koschei-rs-messages)
/// and carry fedora-messaging's headers; the Fedora CI koji-build-group messages
/// validate against the CI specification's schemas, for all four events.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn impact_check_messages_validate_with_their_schemas(pool: PgPool) {
    use koschei_core::impact::{self, BUILDING, COMPLETE, ERROR, RESOLVING};
    use koschei_core::impact_messages::{self, BuildGroupArtifact};

    let url = amqp_url();
    let sim = Sim::start().await;
    let config = config(&sim, &url, true);
    let prefix = config.fedmsg_publisher.topic_prefix.clone().unwrap();
    let f25 = fixtures::collection(&pool, "f25").await;
    fixtures::package(&pool, f25, "foo").await;
    fixtures::package(&pool, f25, "bar").await;
    let mut conn = pool.acquire().await.unwrap();
    let new = |tag: &str| impact::NewImpactCheck::new("f25", tag);
    let actor = koschei_core::audit::Actor::backend();
    let good = impact::create(&mut conn, &config.impact, &actor, &new("f25-build-side-1"))
        .await
        .unwrap();
    let bad = impact::create(&mut conn, &config.impact, &actor, &new("f25-build-side-2"))
        .await
        .unwrap();
    let artifact = BuildGroupArtifact::new(
        vec![
            (
                301,
                "alice".into(),
                "libfoo".into(),
                "libfoo-2.0-1.fc25".into(),
            ),
            (300, "alice".into(), "foo".into(), "foo-1.1-1.fc25".into()),
        ],
        "https://kojipkgs.example.org/repos/f25-build-side-1/77/x86_64".into(),
    );
    // "sha256:" + SHA-256 of the sorted ids, concatenated: "300301"
    assert_eq!(artifact.id, format!("sha256:{}", sha256_hex("300301")));
    for id in [good, bad] {
        impact::enter_state(&mut conn, &config, id, RESOLVING, None)
            .await
            .unwrap();
        impact_messages::artifact_known(&mut conn, &config, id, &artifact)
            .await
            .unwrap();
    }
    // the same artifact again sends nothing
    impact_messages::artifact_known(&mut conn, &config, good, &artifact)
        .await
        .unwrap();
    sqlx::raw_sql(&format!(
        "UPDATE impact_check SET base_repo_id = 76, change_repo_id = 77 WHERE id = {good};
         INSERT INTO impact_check_package (check_id, package_id, base_resolved, change_resolved,
             change_problems, verdict, build_planned, build_verdict)
         SELECT {good}, id, true, false, ARRAY['No package found for: libfoo-devel'],
                'unresolvable-with-change', false, NULL FROM package WHERE name = 'bar'
         UNION ALL
         SELECT {good}, id, true, true, '{{}}', 'dependencies-changed', true, 'regression'
         FROM package WHERE name = 'foo';"
    ))
    .execute(&mut *conn)
    .await
    .unwrap();
    impact::enter_state(&mut conn, &config, good, BUILDING, Some("2 affected"))
        .await
        .unwrap();
    impact::enter_state(&mut conn, &config, good, COMPLETE, Some("1 regression"))
        .await
        .unwrap();
    impact::enter_state(&mut conn, &config, bad, ERROR, Some("side tag removed"))
        .await
        .unwrap();
    drop(conn);
    let rows: Vec<(String, Json)> =
        sqlx::query_as("SELECT topic, body FROM message_outbox WHERE publish ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let topics: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        topics,
        [
            "koschei.impact-check.state.change",
            "ci.koschei.koji-build-group.test.queued",
            "koschei.impact-check.state.change",
            "ci.koschei.koji-build-group.test.queued",
            "koschei.impact-check.state.change",
            "ci.koschei.koji-build-group.test.running",
            "koschei.impact-check.state.change",
            "ci.koschei.koji-build-group.test.complete",
            "koschei.impact-check.state.change",
            "ci.koschei.koji-build-group.test.error",
        ]
    );
    let complete = &rows[6].1;
    assert_eq!(complete["old"], "building");
    assert_eq!(complete["new"], "complete");
    assert_eq!(complete["regressions"], json!(["foo"]));
    assert_eq!(complete["unresolvable_with_change"], json!(["bar"]));
    assert_eq!(rows[7].1["test"]["result"], "failed");
    assert_eq!(rows[9].1["error"]["reason"], "side tag removed");

    // Fedora CI's schemas take the four CI messages and refuse broken ones
    let mut items: Vec<(String, Json)> = rows
        .iter()
        .filter_map(|(topic, body)| {
            let event = topic.strip_prefix("ci.koschei.koji-build-group.test.")?;
            Some((format!("koji-build-group.test.{event}"), body.clone()))
        })
        .collect();
    assert_eq!(items.len(), 5);
    let mut no_artifact_id = items[3].1.clone();
    no_artifact_id["artifact"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    let mut bad_result = items[3].1.clone();
    bad_result["test"]["result"] = json!("broken");
    let mut no_reason = items[4].1.clone();
    no_reason["error"].as_object_mut().unwrap().remove("reason");
    items.push(("koji-build-group.test.complete".into(), no_artifact_id));
    items.push(("koji-build-group.test.complete".into(), bad_result));
    items.push(("koji-build-group.test.error".into(), no_reason));
    assert_eq!(
        ci_validate(&items),
        ["ok", "ok", "ok", "ok", "ok", "invalid", "invalid", "invalid"]
    );
    // and ours refuses what is not its body
    let body = complete.clone();
    let with = |edit: &dyn Fn(&mut Json)| {
        let mut b = body.clone();
        edit(&mut b);
        ("koschei.impact-check.state.change".to_string(), b)
    };
    let ours = [
        with(&|_| {}),
        with(&|b| {
            b.as_object_mut().unwrap().remove("regressions");
        }),
        with(&|b| b["new"] = json!("done")),
        with(&|b| b["affected"] = json!(-1)),
        with(&|b| b["surprise"] = json!(true)),
        // a check of a repository instead of a side tag
        with(&|b| {
            b["side_tag"] = Json::Null;
            b["repo_url"] = json!("https://download.copr.fedorainfracloud.org/results/a/b/");
        }),
        with(&|b| {
            b.as_object_mut().unwrap().remove("repo_url");
        }),
    ];
    assert_eq!(
        validate("fm_validate.py", &[], &ours),
        ["ok", "invalid", "invalid", "invalid", "invalid", "ok", "invalid"]
    );

    // the watcher publishes them all; fedora-messaging reads ours with our class
    let bindings = [format!("{prefix}.koschei.#"), format!("{prefix}.ci.#")];
    let received = publish_and_consume(&config, &pool, &sim, 10, &bindings).await;
    assert_eq!(received.len(), 10);
    for msg in &received {
        assert_eq!(msg["headers"], msg["expected_headers"], "{msg:#}");
        let ours = msg["topic"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{prefix}.koschei."));
        let class = if ours {
            "koschei_rs_messages.impact.ImpactCheckStateChange"
        } else {
            "fedora_messaging.message.Message"
        };
        assert_eq!(msg["class"], class, "{msg:#}");
    }
    let done = received
        .iter()
        .find(|m| m["body"]["new"] == "complete")
        .unwrap();
    assert_eq!(
        done["summary"],
        format!("impact check {good} of side tag f25-build-side-1 on f25: 1 regressions, 1 packages unresolvable")
    );
    assert_eq!(done["packages"], json!(["bar", "foo"]));
    assert_eq!(done["headers"]["fedora_messaging_rpm_foo"], true);
}

/// Hex SHA-256 of a string, as `sha256sum` prints it.
fn sha256_hex(s: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}
