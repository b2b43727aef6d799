//! Tag and untag messages reach every collection whose tags inherit the message's tag
//! (Koji tags on inheritance), and no other. Koschei registers the newer real build of a
//! tagged package from the message (`register_real_build` in
//! `koschei/plugins/fedmsg_plugin/backend/services/watcher.py`, with
//! `get_newer_build_if_exists` and `register_real_builds` of `koschei/backend/__init__.py`)
//! instead of waiting for the poller.
//!
//! The messages are the ones koji-sim published, classified as the consumer does and
//! applied by the watcher's handler.

mod common;

use common::{Sim, MIGRATIONS};
use koschei_core::config::Config;
use koschei_core::fixtures;
use koschei_core::koji_sessions::KojiSessions;
use koschei_koji::xmlrpc::Value;
use koschei_koji::{xstruct, KojiClient, KojiConfig};
use koschei_watcher::handler::{Applied, Handler};
use koschei_watcher::koji_message::{classify, Verdict};
use sqlx::PgPool;

/// A collection `name` with the given Koji tags, knowing package foo-app.
async fn collection(pool: &PgPool, name: &str, dest_tag: &str, build_tag: &str) -> i32 {
    let id = fixtures::collection(pool, name).await;
    sqlx::query("UPDATE collection SET dest_tag = $2, build_tag = $3 WHERE id = $1")
        .bind(id)
        .bind(dest_tag)
        .bind(build_tag)
        .execute(pool)
        .await
        .unwrap();
    fixtures::package(pool, id, "foo-app").await;
    id
}

/// Calls a koji-sim scripting method.
async fn script(koji: &KojiClient, method: &str, args: Vec<Value>) {
    koji.call(method, args).await.unwrap();
}

/// Applies the newest message koji-sim published, as the watcher does.
async fn apply_last_message(sim: &Sim, config: &Config, handler: &Handler) -> Applied {
    let message = sim.running.sim.recent_messages().pop().unwrap();
    let suffix = message.topic.strip_prefix("buildsys.").unwrap();
    let key = format!("{}.{suffix}", config.fedmsg.topic);
    let body = serde_json::to_vec(&message.body).unwrap();
    let Verdict::Handle(event) = classify(&config.fedmsg, &key, &body).unwrap() else {
        panic!("{key} not handled: {:?}", message.body);
    };
    handler.apply(&event).await.unwrap()
}

/// (collection, version, untagged) of foo-app's real builds.
async fn foo_app_builds(pool: &PgPool) -> Vec<(i32, String, bool)> {
    sqlx::query_as(
        "SELECT p.collection_id, b.version, b.untagged FROM build b
         JOIN package p ON p.id = b.package_id
         WHERE p.name = 'foo-app' AND b.real ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn tag_messages_reach_the_collections_inheriting_the_tag(pool: PgPool) {
    let sim = Sim::start().await;
    // Koji: `kid` inherits f99 (`kid-build` inherits `kid`); f98 and `side` are unrelated.
    {
        let mut st = sim.running.sim.lock();
        let f99 = st.tag_by_name("f99").unwrap().id;
        let kid = st.add_tag("kid", None, vec![f99]);
        st.add_tag("kid-build", Some("x86_64".into()), vec![kid]);
        let f98 = st.add_tag("f98", None, Vec::new());
        st.add_tag("f98-build", Some("x86_64".into()), vec![f98]);
        st.add_tag("side", None, Vec::new());
    }
    let inheritance_calls = || {
        let st = sim.running.sim.lock();
        st.call_counts
            .get("getFullInheritance")
            .copied()
            .unwrap_or(0)
    };
    let koji = KojiClient::anonymous(KojiConfig {
        max_retries: 1,
        ..KojiConfig::new(&sim.running.hub_url, &sim.running.topurl)
    })
    .unwrap();
    let config = Config::default();
    let handler = Handler::new(
        pool.clone(),
        KojiSessions::new(koji.clone(), None),
        config.clone(),
    );
    let f99 = collection(&pool, "f99", "f99", "f99-build").await;
    let kid = collection(&pool, "kid", "kid", "kid-build").await;
    collection(&pool, "f98", "f98", "f98-build").await; // never concerned
    let seeded = koji
        .list_tagged(
            "f99",
            &koschei_koji::ListTaggedOpts {
                latest: true,
                package: Some("foo-app".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .remove(0)
        .version;

    // foo-app 2.0 tagged into f99: registered in f99 and in kid, which inherits it
    let import = |version: &str| {
        Value::Struct(xstruct! {"name" => "foo-app", "version" => version, "release" => "1"})
    };
    script(&koji, "sim.importBuild", vec![import("2.0")]).await;
    let tag = |tag: &str, nvr: &str| vec![Value::str(tag), Value::str(nvr)];
    script(&koji, "sim.tagBuild", tag("f99", "foo-app-2.0-1")).await;
    let applied = apply_last_message(&sim, &config, &handler).await;
    assert_eq!(applied, Applied::Collections(2));
    assert_eq!(
        foo_app_builds(&pool).await,
        [(f99, "2.0".into(), false), (kid, "2.0".into(), false)]
    );
    assert!(inheritance_calls() > 0);

    // foo-app 3.0 in f99 (that message is lost) and in an unrelated tag: the unrelated
    // tag's message changes nothing, although a refresh would register 3.0
    script(&koji, "sim.importBuild", vec![import("3.0")]).await;
    script(&koji, "sim.tagBuild", tag("f99", "foo-app-3.0-1")).await;
    script(&koji, "sim.tagBuild", tag("side", "foo-app-3.0-1")).await;
    assert_eq!(
        apply_last_message(&sim, &config, &handler).await,
        Applied::Collections(0)
    );
    assert_eq!(
        foo_app_builds(&pool).await,
        [(f99, "2.0".into(), false), (kid, "2.0".into(), false)]
    );
    // the collection tags' inheritance is cached: the same message asks Koji nothing new
    let asked = inheritance_calls();
    apply_last_message(&sim, &config, &handler).await;
    assert_eq!(inheritance_calls(), asked);

    // untagging 3.0 and 2.0 from f99 makes the seeded build the latest again: both
    // collections mark 2.0 untagged and register the seeded build
    script(&koji, "sim.untagBuild", tag("f99", "foo-app-3.0-1")).await;
    script(&koji, "sim.untagBuild", tag("f99", "foo-app-2.0-1")).await;
    assert_eq!(
        apply_last_message(&sim, &config, &handler).await,
        Applied::Collections(2)
    );
    let mut expected = vec![
        (f99, "2.0".to_owned(), true),
        (f99, seeded.clone(), false),
        (kid, "2.0".to_owned(), true),
        (kid, seeded, false),
    ];
    expected.sort();
    assert_eq!(foo_app_builds(&pool).await, expected);
}

/// A repo.done of a side tag matching `impact.auto_side_tags` queues one impact check
/// per collection whose build tag the side tag inherits; a redelivered message adds
/// none; the side tag's next repo supersedes the open check; other tags queue nothing.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn side_tag_repos_queue_impact_checks(pool: PgPool) {
    let sim = Sim::start().await;
    {
        // f98-build is unrelated to the side tag
        let mut st = sim.running.sim.lock();
        let f98 = st.add_tag("f98", None, Vec::new());
        st.add_tag("f98-build", Some("x86_64".into()), vec![f98]);
    }
    let koji = KojiClient::anonymous(KojiConfig {
        max_retries: 1,
        ..KojiConfig::new(&sim.running.hub_url, &sim.running.topurl)
    })
    .unwrap();
    let mut config = Config::default();
    config.impact.auto_side_tags = vec!["f99-build-side-*".into()];
    let handler = Handler::new(
        pool.clone(),
        KojiSessions::new(koji.clone(), None),
        config.clone(),
    );
    let f99 = collection(&pool, "f99", "f99", "f99-build").await;
    collection(&pool, "f98", "f98", "f98-build").await;
    let logged_in = KojiClient::logged_in(KojiConfig {
        cert: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../koji/tests/data/client.pem"),
        ),
        login: koschei_koji::LoginMethod::Certificate,
        ..KojiConfig::new(&sim.running.hub_url, &sim.running.topurl)
    })
    .await
    .unwrap();
    let Value::Struct(side) = logged_in
        .call("createSideTag", vec![Value::str("f99-build")])
        .await
        .unwrap()
    else {
        panic!("createSideTag")
    };
    let Some(Value::String(side_tag)) = side.get("name").cloned() else {
        panic!("no name")
    };
    let checks = || async {
        sqlx::query_as::<_, (i32, i32, String, String, Option<i32>)>(
            "SELECT id, collection_id, side_tag, state, trigger_repo_id FROM impact_check
             ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    // createSideTag made the first repo and published its repo.done
    assert_eq!(
        apply_last_message(&sim, &config, &handler).await,
        Applied::RepoAnnounced
    );
    let first = checks().await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!((first[0].1, first[0].2.as_str()), (f99, side_tag.as_str()));
    assert_eq!(first[0].3, "queued");
    // redelivered: nothing new
    apply_last_message(&sim, &config, &handler).await;
    assert_eq!(checks().await.len(), 1);
    // the side tag's next repo: a new check, the open one superseded
    script(&koji, "sim.regenRepo", vec![Value::str(&side_tag)]).await;
    apply_last_message(&sim, &config, &handler).await;
    let both = checks().await;
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].3, "error");
    assert_eq!(both[1].3, "queued");
    assert_eq!(both[1].4, Some(both[0].4.unwrap() + 1));
    let note: Option<String> = sqlx::query_scalar("SELECT note FROM impact_check WHERE id = $1")
        .bind(both[0].0)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        note,
        Some(format!(
            "superseded by check {} of repo {}",
            both[1].0,
            both[1].4.unwrap()
        ))
    );
    // a repo of the collection's own build tag queues nothing
    script(&koji, "sim.regenRepo", vec![Value::str("f99-build")]).await;
    apply_last_message(&sim, &config, &handler).await;
    assert_eq!(checks().await.len(), 2);
}

/// A task message of an impact check's build finishes that build (and gives the verdict)
/// without touching any build of the package.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn task_messages_finish_impact_builds(pool: PgPool) {
    use koschei_koji::model::TaskState;
    use koschei_watcher::koji_message::KojiEvent;

    let sim = Sim::start().await;
    let koji = KojiClient::anonymous(KojiConfig {
        max_retries: 1,
        ..KojiConfig::new(&sim.running.hub_url, &sim.running.topurl)
    })
    .unwrap();
    let handler = Handler::new(
        pool.clone(),
        KojiSessions::new(koji.clone(), None),
        Config::default(),
    );
    let f99 = collection(&pool, "f99", "f99", "f99-build").await;
    // a scratch build of foo-app in Koji, as the scheduler would submit for a check
    let srpm = "../packages/foo-app/1.0/1/src/foo-app-1.0-1.src.rpm";
    let task = koji
        .build(
            srpm,
            Some("f99"),
            &koschei_koji::BuildOpts {
                scratch: true,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let check: i32 = sqlx::query_scalar(
        "INSERT INTO impact_check (collection_id, side_tag, state, requested_by, base_repo_id,
                                   change_repo_id)
         VALUES ($1, 'f99-build-side-1', 'building', 'tester', 1, 2) RETURNING id",
    )
    .bind(f99)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO impact_check_package (check_id, package_id, base_resolved, change_resolved,
                                           verdict, build_planned)
         SELECT $1, id, false, true, 'resolvable-with-change', true FROM package
         WHERE name = 'foo-app'",
    )
    .bind(check)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO impact_build (check_id, package_id, side, task_id, state)
         SELECT $1, id, 'change', $2, 'running' FROM package WHERE name = 'foo-app'",
    )
    .bind(check)
    .bind(task)
    .execute(&pool)
    .await
    .unwrap();
    loop {
        let info = koji.get_task_info(task, false).await.unwrap().unwrap();
        if info.state.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let builds_before: i64 = sqlx::query_scalar("SELECT count(*) FROM build")
        .fetch_one(&pool)
        .await
        .unwrap();
    let applied = handler
        .apply(&KojiEvent::TaskState {
            task_id: task,
            new: TaskState::Closed,
        })
        .await
        .unwrap();
    assert_eq!(applied, Applied::Builds(1));
    let (state, verdict, check_state): (String, Option<String>, String) = sqlx::query_as(
        "SELECT b.state, ip.build_verdict, i.state FROM impact_build b
         JOIN impact_check_package ip USING (check_id, package_id)
         JOIN impact_check i ON i.id = b.check_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), verdict.as_deref(), check_state.as_str()),
        ("ok", Some("fixed"), "complete")
    );
    let builds_after: i64 = sqlx::query_scalar("SELECT count(*) FROM build")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(builds_after, builds_before, "no build of the package");
    // a redelivered message changes nothing
    assert_eq!(
        handler
            .apply(&KojiEvent::TaskState {
                task_id: task,
                new: TaskState::Closed,
            })
            .await
            .unwrap(),
        Applied::Builds(0)
    );
}
