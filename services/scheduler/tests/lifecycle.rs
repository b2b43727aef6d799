//! The scheduler and the poller against koji-sim (a Koji speaking real
//! XML-RPC, building in its repos with libsolv) and a real PostgreSQL:
//! submission by priority under the running-build cap, the build lifecycle
//! to complete / failed, infrastructure failures kept as history with
//! back-off, cancellation and timeout, permanent faults suspending one
//! collection, fair sharing, real builds tagged, untagged and re-tagged, and Koji's and
//! the database's limits (expired sessions, slow calls, out-of-range numbers, extreme
//! priorities).

use std::time::Duration;

use koschei_core::koji_sessions::{client_config, KojiSessions};
use koschei_core::model::BuildState;
use koschei_core::{Backend, Config};
use koschei_koji::client::KojiClient;
use koschei_koji::model::TaskState;
use koschei_koji::xmlrpc::Value;
use koschei_scheduler::decision::{candidates, Decision, Scheduler};
use sqlx::PgPool;

/// The schema, as the services apply it.
use koschei_core::db::MIGRATOR as MIGRATIONS;

struct Env {
    _sim: koji_sim::Running,
    _dir: tempfile::TempDir,
    koji: KojiClient,
    sessions: KojiSessions,
    config: Config,
    pool: PgPool,
    collection_id: i32,
}

/// koji-sim on the tiny seed, collection f99 registered, every package
/// tracked and resolved, real builds registered by a polling pass.
async fn env(pool: PgPool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sim = koji_sim::start_for_tests(dir.path(), None)
        .await
        .expect("koji-sim starts");
    let mut config = Config::default();
    config.koji_config.server = sim.hub_url.clone();
    config.koji_config.topurl = sim.topurl.clone();
    config.koji_config.session_opts.max_retries = 2;
    config.koji_config.session_opts.retry_interval = 0.05;
    config.koji_config.max_builds = 2;
    config.koji_config.load_threshold = 1.0;
    config.fedmsg_publisher.enabled = true;
    let koji = KojiClient::anonymous(client_config(&config.koji_config, 100)).unwrap();
    let sessions = KojiSessions::new(koji.clone(), None);
    let repo = koji
        .get_repo("f99-build", koschei_koji::model::RepoState::Ready)
        .await
        .unwrap()
        .expect("a first repo");
    let collection_id: i32 = sqlx::query_scalar(
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id, latest_repo_resolved)
         VALUES ('f99', 'Fedora 99', 'f99', 'f99', 'f99-build', $1, true) RETURNING id",
    )
    .bind(repo.id as i32)
    .fetch_one(&pool)
    .await
    .unwrap();
    let report = koschei_poller::poll(&Backend::new(
        pool.clone(),
        sessions.clone(),
        config.clone(),
    ))
    .await
    .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.packages_added >= 10, "{report:?}");
    assert!(report.real_builds_registered >= 10, "{report:?}");
    sqlx::query("UPDATE package SET tracked = true, resolved = true")
        .execute(&pool)
        .await
        .unwrap();
    Env {
        _sim: sim,
        _dir: dir,
        koji,
        sessions,
        config,
        pool,
        collection_id,
    }
}

impl Env {
    fn backend(&self) -> Backend {
        Backend::new(
            self.pool.clone(),
            self.sessions.clone(),
            self.config.clone(),
        )
    }

    fn scheduler(&self) -> Scheduler {
        Scheduler::new(
            self.pool.clone(),
            self.sessions.clone(),
            self.config.clone(),
        )
    }

    async fn set(&self, package: &str, assignment: &str) {
        sqlx::query(&format!("UPDATE package SET {assignment} WHERE name = $1"))
            .bind(package)
            .execute(&self.pool)
            .await
            .unwrap();
    }

    async fn sim(&self, method: &str, args: Vec<Value>) -> Value {
        self.koji.call(method, args).await.unwrap()
    }

    /// Waits until Koji finished the task.
    async fn wait_task(&self, task_id: i64) -> TaskState {
        for _ in 0..300 {
            let info = self
                .koji
                .get_task_info(task_id, false)
                .await
                .unwrap()
                .unwrap();
            if info.state.is_finished() {
                return info.state;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {task_id} did not finish");
    }

    /// The state, message state, build priority and newest build state of a package.
    async fn package(&self, name: &str) -> (String, i32, BuildState) {
        sqlx::query_as(
            "SELECT package_state(p), p.build_priority,
                    (SELECT state FROM build b WHERE b.package_id = p.id ORDER BY id DESC LIMIT 1)
             FROM package p WHERE p.name = $1",
        )
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    async fn outbox(&self) -> Vec<serde_json::Value> {
        sqlx::query_scalar("SELECT body FROM message_outbox WHERE publish ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    /// One pass of the poller over the running builds.
    async fn poll_running(&self) {
        koschei_poller::poll_running_builds(&self.backend())
            .await
            .unwrap();
    }

    async fn submit(&self, scheduler: &mut Scheduler) -> (String, i64) {
        match scheduler.decide().await.unwrap() {
            Decision::Submitted {
                package, task_id, ..
            } => (package, task_id),
            other => panic!("expected a submission, got {other:?}"),
        }
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn submits_by_priority_under_the_running_cap(pool: PgPool) {
    let mut env = env(pool).await;
    env.sim("sim.setBuildTime", vec![Value::Double(60.0)]).await;
    let mut scheduler = env.scheduler();
    // Fresh real builds have a time priority of -30: nothing reaches 256.
    assert_eq!(
        scheduler.decide().await.unwrap(),
        Decision::NothingToSchedule
    );

    env.set("foo-app", "manual_priority = 1000").await;
    env.set("py-tool", "manual_priority = 900").await;
    env.set("perl-thing", "manual_priority = 800").await;
    env.set("needs-new-foo", "manual_priority = 700").await;
    let (first, _) = env.submit(&mut scheduler).await;
    assert_eq!(first, "foo-app");
    let (second, _) = env.submit(&mut scheduler).await;
    assert_eq!(second, "py-tool");
    assert_eq!(
        scheduler.decide().await.unwrap(),
        Decision::AtCapacity { running: 2 }
    );

    // With room for one more build, two schedulers deciding at once submit
    // exactly one: the cap is a database lock, not luck.
    env.config.koji_config.max_builds = 3;
    let (mut s1, mut s2) = (env.scheduler(), env.scheduler());
    let (a, b) = tokio::join!(s1.decide(), s2.decide());
    let decisions = [a.unwrap(), b.unwrap()];
    let submitted = decisions
        .iter()
        .filter(|d| matches!(d, Decision::Submitted { .. }))
        .count();
    assert_eq!(submitted, 1, "{decisions:?}");
    assert!(
        decisions.contains(&Decision::AtCapacity { running: 3 }),
        "{decisions:?}"
    );

    // Why it was built is recorded; the manual priority was consumed.
    let (reason, manual): (serde_json::Value, i32) = sqlx::query_as(
        "SELECT b.submit_reason, p.manual_priority FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.name = 'foo-app' AND NOT b.real",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(reason["manual"], 1000);
    assert_eq!(reason["threshold"], 256.0);
    assert!(reason["priority"].as_f64().unwrap() > 900.0);
    assert_eq!(manual, 0);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn builds_end_complete_or_failed_as_their_buildrequires_say(pool: PgPool) {
    let env = env(pool).await;
    let mut scheduler = env.scheduler();
    env.set("foo-app", "manual_priority = 1000").await;
    env.set("broken", "manual_priority = 900").await;
    // `broken` resolved in the seed's real build; mark its last build ok.
    let (_, ok_task) = env.submit(&mut scheduler).await;
    let (_, bad_task) = env.submit(&mut scheduler).await;
    assert_eq!(env.wait_task(ok_task).await, TaskState::Closed);
    assert_eq!(env.wait_task(bad_task).await, TaskState::Failed);
    let before_poll = env.outbox().await.len();
    env.poll_running().await;

    assert_eq!(
        env.package("foo-app").await,
        ("ok".into(), 0, BuildState::Complete)
    );
    let (state, build_priority, build_state) = env.package("broken").await;
    assert_eq!(build_state, BuildState::Failed);
    assert_eq!(state, "failing");
    let seed_state: BuildState = sqlx::query_scalar(
        "SELECT b.state FROM build b JOIN package p ON p.id = b.package_id WHERE p.name = 'broken' AND b.real",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        build_priority,
        if seed_state == BuildState::Failed {
            0
        } else {
            200
        }
    );

    let tasks: Vec<(String, i32)> = sqlx::query_as(
        "SELECT t.arch, t.state FROM koji_task t JOIN build b ON b.id = t.build_id WHERE b.task_id = $1",
    )
    .bind(bad_task as i32)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(tasks, [("x86_64".to_string(), 5)]);

    let messages = env.outbox().await;
    let new: Vec<&serde_json::Value> = messages[before_poll..].iter().collect();
    if seed_state != BuildState::Failed {
        assert_eq!(new.len(), 1, "{new:?}");
        assert_eq!(new[0]["name"], "broken");
        assert_eq!(new[0]["old"], "ok");
        assert_eq!(new[0]["new"], "failing");
        assert_eq!(new[0]["collection"], "f99");
    }

    // Polling again changes nothing (idempotent).
    env.poll_running().await;
    assert_eq!(env.outbox().await.len(), messages.len());
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn infrastructure_failures_stay_in_history_and_back_off(pool: PgPool) {
    let env = env(pool).await;
    let mut scheduler = env.scheduler();
    env.sim("sim.setInfraFailureRate", vec![Value::Double(1.0)])
        .await;
    env.set("foo-app", "manual_priority = 1000").await;
    let (_, task) = env.submit(&mut scheduler).await;
    env.wait_task(task).await;
    let messages_before = env.outbox().await.len();
    env.poll_running().await;

    let (state, _, build_state) = env.package("foo-app").await;
    assert_eq!(
        build_state,
        BuildState::InfraFailure,
        "kept as an infrastructure failure"
    );
    assert_eq!(state, "ok", "the package state did not change");
    assert_eq!(env.outbox().await.len(), messages_before, "no message");
    let (failures, reason, skip): (i32, String, Vec<String>) = sqlx::query_as(
        "SELECT p.infra_failures, b.failure_reason, package_skip_reasons(p, c)
         FROM package p JOIN collection c ON c.id = p.collection_id
         JOIN build b ON b.package_id = p.id AND b.state = $1 WHERE p.name = 'foo-app'",
    )
    .bind(BuildState::InfraFailure)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(failures, 1);
    assert!(!reason.is_empty());
    assert!(
        skip.iter().any(|s| s.contains("infrastructure failure")),
        "{skip:?}"
    );
    // The manual priority was consumed at submission, but the package is
    // not retried before its back-off ends even with a new bump.
    env.set("foo-app", "manual_priority = 5000").await;
    assert_eq!(
        scheduler.decide().await.unwrap(),
        Decision::NothingToSchedule
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn canceled_and_timed_out_builds_are_kept(pool: PgPool) {
    let env = env(pool).await;
    let mut scheduler = env.scheduler();
    env.sim("sim.setBuildTime", vec![Value::Double(120.0)])
        .await;
    env.set("foo-app", "manual_priority = 1000").await;
    env.set("py-tool", "manual_priority = 900").await;
    let (_, cancel_task) = env.submit(&mut scheduler).await;
    let (_, slow_task) = env.submit(&mut scheduler).await;
    sqlx::query("UPDATE build SET cancel_requested = true WHERE task_id = $1")
        .bind(cancel_task as i32)
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE build SET started = started - interval '49 hours' WHERE task_id = $1")
        .bind(slow_task as i32)
        .execute(&env.pool)
        .await
        .unwrap();
    env.poll_running().await;

    assert_eq!(
        env.package("foo-app").await,
        ("ok".into(), 0, BuildState::Canceled)
    );
    assert_eq!(env.package("py-tool").await.2, BuildState::TimedOut);
    for task in [cancel_task, slow_task] {
        let info = env.koji.get_task_info(task, false).await.unwrap().unwrap();
        assert_eq!(
            info.state,
            TaskState::Canceled,
            "task {task} canceled in Koji"
        );
    }
    let running: i64 = sqlx::query_scalar("SELECT count(*) FROM build WHERE state = $1")
        .bind(BuildState::Running)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(running, 0);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn permanent_fault_suspends_only_its_collection(pool: PgPool) {
    let env = env(pool).await;
    // An end-of-life collection whose Koji target is gone, with the highest priorities.
    let eol: i32 = sqlx::query_scalar(
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id, latest_repo_resolved)
         SELECT 'f35', 'Fedora 35', 'f35-gone', dest_tag, build_tag, latest_repo_id, true FROM collection WHERE id = $1
         RETURNING id",
    )
    .bind(env.collection_id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    koschei_poller::poll(&env.backend()).await.unwrap();
    sqlx::query("UPDATE package SET tracked = true, resolved = true, manual_priority = 5000 WHERE collection_id = $1")
        .bind(eol)
        .execute(&env.pool)
        .await
        .unwrap();
    env.set("foo-app", "manual_priority = 1000").await;

    let mut scheduler = env.scheduler();
    match scheduler.decide().await.unwrap() {
        Decision::Submitted { collection, .. } => assert_eq!(collection, "f99"),
        other => panic!("f99 starved: {other:?}"),
    }
    let suspended: Option<String> =
        sqlx::query_scalar("SELECT scheduling_suspended FROM collection WHERE id = $1")
            .bind(eol)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(suspended.unwrap().contains("No such build target"));
    let notices = koschei_core::notices::all_notices(&mut env.pool.acquire().await.unwrap())
        .await
        .unwrap();
    assert!(
        notices.iter().any(|n| n.contains("Fedora 35")),
        "{notices:?}"
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collections_share_build_slots_fairly(pool: PgPool) {
    let env = env(pool).await;
    let other: i32 = sqlx::query_scalar(
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id, latest_repo_resolved)
         SELECT 'f98', 'Fedora 98', target, dest_tag, build_tag, latest_repo_id, true FROM collection WHERE id = $1
         RETURNING id",
    )
    .bind(env.collection_id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    koschei_poller::poll(&env.backend()).await.unwrap();
    sqlx::query("UPDATE package SET tracked = true, resolved = true")
        .execute(&env.pool)
        .await
        .unwrap();
    // f99 has much higher priorities and one build running already.
    sqlx::query("UPDATE package SET manual_priority = 9000 WHERE collection_id = $1")
        .bind(env.collection_id)
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE package SET manual_priority = 300 WHERE collection_id = $1 AND name = 'py-tool'",
    )
    .bind(other)
    .execute(&env.pool)
    .await
    .unwrap();
    let mut scheduler = env.scheduler();
    let first = scheduler.decide().await.unwrap();
    assert!(
        matches!(&first, Decision::Submitted { collection, .. } if collection == "f99"),
        "{first:?}"
    );
    let mut tx = env.pool.begin().await.unwrap();
    let order = candidates(&mut tx, &env.config, 5).await.unwrap();
    assert_eq!(
        order[0].collection, "f98",
        "the collection without running builds goes first"
    );
    assert_eq!(order[0].name, "py-tool");
    assert_eq!(order[1].collection, "f99");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn real_builds_follow_tagging(pool: PgPool) {
    let env = env(pool).await;
    let last = |env: &Env| {
        let pool = env.pool.clone();
        async move {
            let v: (String, String, bool) = sqlx::query_as(
                "SELECT lb.version, lb.release, lb.real FROM package p JOIN build lb ON lb.id = p.last_build_id
                 WHERE p.name = 'libfoo'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            v
        }
    };
    let (old_version, _, _) = last(&env).await;
    let spec = koschei_koji::xmlrpc::Value::from_json(serde_json::json!({
        "name": "libfoo", "version": "9.0", "release": "1", "tag": "f99",
    }));
    let imported = env.sim("sim.importBuild", vec![spec]).await.into_json();
    let nvr = imported["nvr"].as_str().unwrap().to_string();
    let report = koschei_poller::poll(&env.backend()).await.unwrap();
    assert_eq!(report.real_builds_registered, 1);
    assert_eq!(last(&env).await, ("9.0".into(), "1".into(), true));

    env.sim("sim.untagBuild", vec![Value::str("f99"), Value::str(&nvr)])
        .await;
    koschei_poller::poll(&env.backend()).await.unwrap();
    assert_eq!(
        last(&env).await.0,
        old_version,
        "untagged build no longer counts"
    );

    env.sim("sim.tagBuild", vec![Value::str("f99"), Value::str(&nvr)])
        .await;
    let report = koschei_poller::poll(&env.backend()).await.unwrap();
    assert_eq!(
        report.real_builds_registered, 0,
        "re-tagged, not registered twice"
    );
    assert_eq!(last(&env).await.0, "9.0");
}

/// A scheduler that died between Koji's answer to `build` and its commit leaves a
/// task Koji runs and the database does not know: the next scheduler records it as
/// the package's running build (once), and the poller finishes it as usual.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn builds_koji_accepted_but_never_recorded_are_adopted(pool: PgPool) {
    let env = env(pool).await;
    let koji = KojiClient::anonymous(client_config(&env.config.koji_config, 100)).unwrap();
    koji.login().await.unwrap();
    let sessions = KojiSessions::new(koji.clone(), None);
    let (version, release, repo_id): (String, String, i32) = sqlx::query_as(
        "SELECT b.version, b.release, c.latest_repo_id FROM package p
         JOIN build b ON b.id = p.last_complete_build_id JOIN collection c ON c.id = p.collection_id
         WHERE p.name = 'foo-app'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let opts = koschei_koji::client::calls::BuildOpts {
        scratch: true,
        repo_id: Some(i64::from(repo_id)),
        ..Default::default()
    };
    let src = format!(
        "cli-build/packages/foo-app/{version}/{release}/src/foo-app-{version}-{release}.src.rpm"
    );
    let orphan = koji.build(&src, None, &opts, None).await.unwrap();
    let stranger = koji
        .build("cli-build/x/not-ours-1-1.src.rpm", Some("f99"), &opts, None)
        .await
        .unwrap();
    env.set("foo-app", "manual_priority = 1000").await;

    let mut scheduler = Scheduler::new(env.pool.clone(), sessions.clone(), env.config.clone());
    let decision = scheduler.decide().await.unwrap();
    let adopted: Vec<(String, i32, Option<i32>, serde_json::Value)> = sqlx::query_as(
        "SELECT p.name, b.state, b.repo_id, b.submit_reason FROM build b
         JOIN package p ON p.id = b.package_id WHERE b.task_id = $1",
    )
    .bind(orphan as i32)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(adopted.len(), 1, "{adopted:?}");
    assert_eq!(adopted[0].0, "foo-app");
    assert_eq!((adopted[0].1, adopted[0].2), (2, Some(repo_id)));
    assert_eq!(
        adopted[0].3,
        serde_json::json!(koschei_core::task_adoption::ADOPTED_REASON)
    );
    // foo-app is building already: not submitted a second time
    assert!(
        !matches!(&decision, Decision::Submitted { package, .. } if package == "foo-app"),
        "{decision:?}"
    );
    let strangers: i64 = sqlx::query_scalar("SELECT count(*) FROM build WHERE task_id = $1")
        .bind(stranger as i32)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(strangers, 0, "a task of no tracked package is left alone");

    // a new scheduler (restart) adopts nothing twice
    let mut restarted = Scheduler::new(env.pool.clone(), sessions.clone(), env.config.clone());
    restarted.decide().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM build WHERE task_id = $1")
        .bind(orphan as i32)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);

    assert_eq!(env.wait_task(orphan).await, TaskState::Closed);
    koschei_poller::poll_running_builds(&Backend::new(
        env.pool.clone(),
        sessions.clone(),
        env.config.clone(),
    ))
    .await
    .unwrap();
    let (state, _, build_state) = env.package("foo-app").await;
    assert_eq!((state.as_str(), build_state), ("ok", BuildState::Complete));

    // Koji creates the task but the reply is lost; the client's retry gets Koji's
    // RetryError. The decision fails, and the next one adopts the task instead of
    // submitting the package again.
    env.set("py-tool", "manual_priority = 5000").await;
    env.sim("sim.loseBuildReplies", vec![Value::Int(1)]).await;
    let failed = restarted.decide().await.unwrap_err();
    assert!(format!("{failed:#}").contains("RetryError"), "{failed:#}");
    let next = restarted.decide().await.unwrap();
    assert!(
        !matches!(&next, Decision::Submitted { package, .. } if package == "py-tool"),
        "{next:?}"
    );
    let py_tool: Vec<(i32, serde_json::Value)> = sqlx::query_as(
        "SELECT b.state, b.submit_reason FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.name = 'py-tool' AND NOT b.real",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(py_tool.len(), 1, "{py_tool:?}");
    assert_eq!(py_tool[0].0, 2);
}

/// A running build whose task Koji does not know (a hub that lost its tasks) is
/// given up as an infrastructure failure once the grace period passed; a fresh one
/// is left alone.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn builds_of_tasks_koji_does_not_know_are_given_up(pool: PgPool) {
    let env = env(pool).await;
    for (name, task_id, minutes_ago) in [("foo-app", 77, 30), ("py-tool", 78, 1)] {
        sqlx::query(
            "INSERT INTO build (package_id, state, task_id, started)
             SELECT id, 2, $2, (now() AT TIME ZONE 'UTC') - make_interval(mins => $3)
             FROM package WHERE name = $1",
        )
        .bind(name)
        .bind(task_id)
        .bind(minutes_ago)
        .execute(&env.pool)
        .await
        .unwrap();
    }
    env.poll_running().await;
    let builds: Vec<(i32, i32, Option<String>)> = sqlx::query_as(
        "SELECT task_id, state, failure_reason FROM build WHERE task_id IN (77, 78) ORDER BY task_id",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        builds,
        [
            (77, 7, Some("Koji does not know task 77".into())),
            (78, 2, None)
        ]
    );
    let (state, _, _) = env.package("foo-app").await;
    assert_eq!(state, "ok", "history only: the package keeps its state");
}

/// A fault that names something missing ("No such repo" of a repo Koji already
/// deleted) suspends nothing while Koji still has the collection's target and tags:
/// only the package is postponed.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_passing_no_such_repo_postpones_only_the_package(pool: PgPool) {
    let mut env = env(pool).await;
    env.config.koji_config.build_from_repo_id = true;
    sqlx::query("UPDATE collection SET latest_repo_id = 999999")
        .execute(&env.pool)
        .await
        .unwrap();
    env.set("foo-app", "manual_priority = 1000").await;
    let mut scheduler = env.scheduler();
    scheduler.decide().await.unwrap();
    let suspended: Option<String> =
        sqlx::query_scalar("SELECT scheduling_suspended FROM collection WHERE id = $1")
            .bind(env.collection_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(suspended, None);
    let postponed: bool =
        sqlx::query_scalar("SELECT retry_after IS NOT NULL FROM package WHERE name = 'foo-app'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(postponed, "foo-app is postponed");
}

/// A scheduler logged in to Koji whose session Koji expired logs in again and
/// submits, instead of postponing every candidate until someone restarts it.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn an_expired_koji_session_is_renewed_before_submitting(pool: PgPool) {
    let mut env = env(pool).await;
    env.config.koji_config.login_method = "sslLogin".into();
    env.config.koji_config.login_args.cert = Some(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../koji/tests/data/client.pem"),
    );
    let koji = KojiClient::new(client_config(&env.config.koji_config, 100)).unwrap();
    env.sessions = KojiSessions::new(koji, None);
    env.set("foo-app", "manual_priority = 1000").await;
    env.set("py-tool", "manual_priority = 900").await;
    let mut scheduler = env.scheduler();
    assert!(matches!(
        scheduler.decide().await.unwrap(),
        Decision::Submitted { .. }
    ));
    env.sim("sim.expireSessions", vec![]).await;
    match scheduler.decide().await.unwrap() {
        Decision::Submitted { package, .. } => assert_eq!(package, "py-tool"),
        other => panic!("not submitted after the session expired: {other:?}"),
    }
    let postponed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM package WHERE retry_after IS NOT NULL")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(postponed, 0);
}

/// While Koji takes its time to answer `build`, the scheduler holds no open
/// transaction (which would keep row versions alive and block vacuum on a slow hub).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn no_transaction_stays_open_across_a_koji_call(pool: PgPool) {
    let env = env(pool).await;
    env.set("foo-app", "manual_priority = 1000").await;
    env.sim(
        "sim.setCallDelay",
        vec![Value::str("build"), Value::Double(1.5)],
    )
    .await;
    let mut scheduler = env.scheduler();
    let decision = tokio::spawn(async move { scheduler.decide().await });
    // A transaction is idle between its statements for an instant; one held across the
    // 1.5 s call is idle and older than half a second at some sample.
    let mut idle_in_transaction = 0;
    while !decision.is_finished() {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'
               AND xact_start < clock_timestamp() - interval '0.5 s'",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap();
        idle_in_transaction = idle_in_transaction.max(n);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(matches!(
        decision.await.unwrap().unwrap(),
        Decision::Submitted { .. }
    ));
    assert_eq!(
        idle_in_transaction, 0,
        "a transaction was open during `build`"
    );
}

/// An epoch beyond the database's `integer` (RPM epochs are unsigned 32-bit) is
/// neither truncated into a negative epoch nor allowed to stop the poller: that build
/// is left out with a warning and the others are registered.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_koji_number_beyond_the_integer_column_is_not_truncated(pool: PgPool) {
    let env = env(pool).await;
    for (name, epoch) in [("libfoo", 3_000_000_000_i64), ("foo-app", 1)] {
        let spec = Value::from_json(serde_json::json!({
            "name": name, "version": "9.0", "release": "1", "epoch": epoch, "tag": "f99",
        }));
        env.sim("sim.importBuild", vec![spec]).await;
    }
    let report = koschei_poller::poll(&env.backend()).await.unwrap();
    assert_eq!(report.real_builds_registered, 1, "{report:?}");
    let epochs: Vec<(String, Option<i32>)> = sqlx::query_as(
        "SELECT p.name, b.epoch FROM build b JOIN package p ON p.id = b.package_id
         WHERE b.version = '9.0' ORDER BY p.name",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(epochs, [("foo-app".to_owned(), Some(1))]);
}

/// Extreme stored priorities (every component at the int4 limits, as an unbounded
/// edit or a hand-made update could leave them) do not stop the scheduler: the
/// candidate query sums them without overflow and a decision is made.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn decision_with_extreme_priorities(pool: PgPool) {
    let env = env(pool).await;
    // One package at the top of the int4 range, the others at the bottom.
    sqlx::query(
        "UPDATE package SET manual_priority = -2147483648, static_priority = -2147483648,
                dependency_priority = -2147483648, build_priority = -2147483648",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    let top: String = sqlx::query_scalar(
        "UPDATE package SET manual_priority = 2147483647, static_priority = 2147483647,
                dependency_priority = 2147483647, build_priority = 2147483647
         WHERE id = (SELECT min(id) FROM package WHERE last_build_id IS NOT NULL) RETURNING name",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    match env.scheduler().decide().await.expect("a decision") {
        Decision::Submitted {
            package, priority, ..
        } => {
            assert_eq!(package, top);
            assert!(priority > 8.0e9, "{priority}");
        }
        other => panic!("expected a submission, got {other:?}"),
    }
    let reason: serde_json::Value = sqlx::query_scalar(
        "SELECT b.submit_reason FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.name = $1 AND NOT b.real",
    )
    .bind(&top)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(reason["manual"], 2147483647);
}

/// Drives decisions and polling passes until the impact check completes (or panics).
async fn run_impact_check(env: &Env, scheduler: &mut Scheduler, check: i32) -> Vec<Decision> {
    let mut decisions = Vec::new();
    for _ in 0..200 {
        let state: String = sqlx::query_scalar("SELECT state FROM impact_check WHERE id = $1")
            .bind(check)
            .fetch_one(&env.pool)
            .await
            .unwrap();
        if state == "complete" {
            return decisions;
        }
        let d = scheduler.decide().await.unwrap();
        if let Decision::ImpactBuild {
            task_id: Some(t), ..
        } = &d
        {
            env.wait_task(*t).await;
        }
        decisions.push(d);
        koschei_poller::poll_running_impact_builds(&env.backend())
            .await
            .unwrap();
    }
    panic!("impact check {check} did not complete: {decisions:?}");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn impact_builds_give_verdicts_within_their_share_and_touch_no_package(pool: PgPool) {
    let mut env = env(pool).await;
    env.config.priorities.infra_retry_base = 0;
    // the collection's repo: a new one, on which only py-tool has a build already
    let base_repo = match env.sim("sim.regenRepo", vec![]).await {
        Value::Int(id) => id as i32,
        other => panic!("{other:?}"),
    };
    sqlx::query("UPDATE collection SET latest_repo_id = $1")
        .bind(base_repo)
        .execute(&env.pool)
        .await
        .unwrap();
    let py_tool_base: i32 = sqlx::query_scalar(
        "INSERT INTO build (package_id, state, task_id, started, finished, version, release,
                            real, repo_id)
         SELECT id, 3, 77001, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', '1', '1',
                false, $1
         FROM package WHERE name = 'py-tool' RETURNING id",
    )
    .bind(base_repo)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    // a side tag whose libfoo 2 breaks foo-app's build (an ABI break resolution cannot
    // see) and gives needs-new-foo the libfoo-devel >= 2.0 it lacks
    let logged_in = KojiClient::logged_in(koschei_koji::KojiConfig {
        cert: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../koji/tests/data/client.pem"),
        ),
        login: koschei_koji::LoginMethod::Certificate,
        ..env.koji.config().clone()
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
        panic!("side tag name")
    };
    let spec = serde_json::json!({
        "name": "libfoo", "version": "2.0", "release": "1", "tag": side_tag,
        "breaks": ["foo-app"],
        "binaries": [{"name": "libfoo", "provides": ["libfoo.so.2()(64bit)"]},
                     {"name": "libfoo-devel"}]
    });
    env.sim("sim.importBuild", vec![Value::from_json(spec)])
        .await;
    let change_repo = match env.sim("sim.regenRepo", vec![Value::str(&side_tag)]).await {
        Value::Int(id) => id as i32,
        other => panic!("{other:?}"),
    };
    // the resolution stage's outcome (tested with the resolver): three packages to build
    let check: i32 = sqlx::query_scalar(
        "INSERT INTO impact_check (collection_id, side_tag, state, requested_by, base_repo_id,
                                   change_repo_id, depth, max_builds)
         VALUES ($1, $2, 'building', 'tester', $3, $4, 2, 10) RETURNING id",
    )
    .bind(env.collection_id)
    .bind(&side_tag)
    .bind(base_repo)
    .bind(change_repo)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO impact_check_package (check_id, package_id, distance, base_resolved,
                                           change_resolved, verdict, build_planned)
         SELECT $1, p.id, v.distance, v.base_resolved, true, v.verdict, true
         FROM (VALUES ('foo-app', 1::int2, true, 'dependencies-changed'),
                      ('needs-new-foo', NULL::int2, false, 'resolvable-with-change'),
                      ('py-tool', 2::int2, true, 'dependencies-changed'))
              AS v(name, distance, base_resolved, verdict)
         JOIN package p ON p.name = v.name",
    )
    .bind(check)
    .execute(&env.pool)
    .await
    .unwrap();
    let states_before: Vec<(String, String)> =
        sqlx::query_as("SELECT name, package_state(p) FROM package p ORDER BY name")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    let messages_before = env.outbox().await.len();

    // the first change build (foo-app, the nearest) meets an infrastructure failure
    env.sim("sim.setInfraFailureRate", vec![Value::Double(1.0)])
        .await;
    env.sim("sim.setBuildTime", vec![Value::Double(3.0)]).await;
    let mut scheduler = env.scheduler();
    let Decision::ImpactBuild {
        package,
        side,
        task_id: Some(task),
        ..
    } = scheduler.decide().await.unwrap()
    else {
        panic!("an impact build first")
    };
    assert_eq!((package.as_str(), side), ("foo-app", "change"));
    // max_builds 2: impact builds get one slot, ordinary rebuilds keep the other
    env.set("perl-thing", "manual_priority = 1000").await;
    assert!(matches!(
        scheduler.decide().await.unwrap(),
        Decision::Submitted { ref package, .. } if package == "perl-thing"
    ));
    assert_eq!(
        scheduler.decide().await.unwrap(),
        Decision::AtCapacity { running: 2 }
    );
    env.wait_task(task).await;
    env.sim("sim.setInfraFailureRate", vec![Value::Double(0.0)])
        .await;
    koschei_poller::poll_running_impact_builds(&env.backend())
        .await
        .unwrap();
    let decisions = run_impact_check(&env, &mut scheduler, check).await;

    let verdicts: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT p.name, ip.build_verdict FROM impact_check_package ip
         JOIN package p ON p.id = ip.package_id WHERE ip.check_id = $1 ORDER BY p.name",
    )
    .bind(check)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        verdicts,
        [
            ("foo-app".to_string(), Some("regression".to_string())),
            ("needs-new-foo".to_string(), Some("fixed".to_string())),
            ("py-tool".to_string(), Some("passes".to_string())),
        ]
    );
    // (package, side, attempt, state, reused build): the infrastructure failure was
    // retried; py-tool's baseline is its existing build; needs-new-foo needs none
    let builds: Vec<(String, String, i32, String, Option<i32>)> = sqlx::query_as(
        "SELECT p.name, b.side, b.attempt, b.state, b.build_id FROM impact_build b
         JOIN package p ON p.id = b.package_id WHERE b.check_id = $1
         ORDER BY p.name, b.side, b.attempt",
    )
    .bind(check)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let row = |n: &str, s: &str, a: i32, st: &str, b: Option<i32>| {
        (n.to_string(), s.to_string(), a, st.to_string(), b)
    };
    assert_eq!(
        builds,
        [
            row("foo-app", "base", 1, "ok", None),
            row("foo-app", "change", 1, "infra-failure", None),
            row("foo-app", "change", 2, "failed", None),
            row("needs-new-foo", "change", 1, "ok", None),
            row("py-tool", "base", 1, "ok", Some(py_tool_base)),
            row("py-tool", "change", 1, "ok", None),
        ],
        "{decisions:?}"
    );
    let (note,): (Option<String>,) = sqlx::query_as(
        "SELECT note FROM impact_check_event WHERE check_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(check)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(note.as_deref(), Some("3 packages built, 1 regressions"));
    // the packages' states and messages are the ordinary builds' business only
    let states_after: Vec<(String, String)> =
        sqlx::query_as("SELECT name, package_state(p) FROM package p ORDER BY name")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(states_after, states_before);
    let impact_tasks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM build WHERE task_id IN (SELECT task_id FROM impact_build)
           AND id <> $1",
    )
    .bind(py_tool_base)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        impact_tasks, 0,
        "no impact build became a build of a package"
    );
    let topics: Vec<String> =
        sqlx::query_scalar("SELECT topic FROM message_outbox WHERE publish ORDER BY id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(
        topics[messages_before..],
        ["koschei.impact-check.state.change"],
        "only the check's completion is announced"
    );
}
