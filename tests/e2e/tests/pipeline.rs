//! The whole pipeline as separate processes (resolver, scheduler, watcher,
//! web) on koji-sim, a real PostgreSQL and a real RabbitMQ:
//!
//! a new build of a dependency is tagged and a new repo appears → koji-sim
//! announces repo.done → the watcher wakes the resolver → the resolver
//! raises the dependent's priority → the scheduler submits a scratch build
//! with the resolved repo id → koji-sim fails it because the new dependency
//! breaks it → the package turns failing, a `koschei.package.state.change`
//! message reaches a fedora-messaging consumer, and the dashboard shows it;
//! a fixed dependency flows back to `ok`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use koschei_e2e::{env_var, start_on_koji_sim, wait_for};
use koschei_koji::xmlrpc::Value;
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;
use koschei_core::fixtures::database_url;

async fn state(pool: &PgPool, name: &str) -> String {
    sqlx::query_scalar("SELECT package_state(p) FROM package p WHERE p.name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn dependency_update_breaks_and_fix_restores(pool: PgPool) {
    let amqp = env_var("AMQP_URL");
    let python = env_var("KOSCHEI_PYTHON");
    let dir = tempfile::tempdir().unwrap();
    let db_name = pool.connect_options().get_database().unwrap().to_string();
    let queue = format!("e2e-{db_name}");
    let (sim, mut stack) = start_on_koji_sim(
        dir.path(),
        &database_url(&pool),
        &queue,
        "[priorities]\nt0 = 0.0001\nt1 = 1.0\n\
         [services.scheduler]\ninterval = 0.5\n\
         [services.resolver]\ninterval = 1.0",
    )
    .await;

    // A fedora-messaging consumer waiting for foo-app to break and recover.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../python/fm_wait.py");
    let mut consumer = Command::new(&python)
        .arg(script)
        .args([
            &amqp,
            &format!("e2e-consumer-{db_name}"),
            &queue,
            "240",
            "foo-app:ok:failing",
            "foo-app:failing:ok",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut consumer_out = BufReader::new(consumer.stdout.take().unwrap());
    let mut ready = String::new();
    consumer_out.read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "READY");

    stack.start("koschei-resolver", &["run"]);
    stack.start("koschei-watcher", &[]);
    stack.start("koschei-scheduler", &["run"]);
    stack.start("koschei-web", &[]);

    // The first repo is resolved and foo-app is ok.
    wait_for("the first resolution", Duration::from_secs(120), || async {
        sqlx::query_scalar::<_, Option<bool>>("SELECT resolved FROM package WHERE name = 'foo-app'")
            .fetch_one(&pool)
            .await
            .unwrap()
            == Some(true)
    })
    .await;
    assert_eq!(state(&pool, "foo-app").await, "ok");

    // libfoo 2.0 is tagged; it breaks foo-app's build (an ABI change).
    let koji = koschei_koji::client::KojiClient::anonymous(koschei_koji::config::KojiConfig::new(
        sim.hub_url.as_str(),
        sim.topurl.as_str(),
    ))
    .unwrap();
    let import = |release: &str, breaks: bool| {
        Value::from_json(serde_json::json!({
            "name": "libfoo", "version": "2.0", "release": release, "tag": "f99",
            "binaries": [
                {"name": "libfoo", "provides": ["libfoo.so.2()(64bit)"]},
                {"name": "libfoo-devel", "requires": ["libfoo"]},
            ],
            "breaks": if breaks { vec!["foo-app"] } else { vec![] },
        }))
    };
    koji.call("sim.importBuild", vec![import("1", true)])
        .await
        .unwrap();
    let repo = koji
        .call("sim.regenRepo", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap() as i32;

    wait_for("foo-app to fail", Duration::from_secs(120), || async {
        state(&pool, "foo-app").await == "failing"
    })
    .await;
    let (build_repo, reason): (Option<i32>, serde_json::Value) = sqlx::query_as(
        "SELECT b.repo_id, b.submit_reason
         FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.name = 'foo-app' AND NOT b.real ORDER BY b.id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        build_repo,
        Some(repo),
        "built in exactly the repo that was resolved"
    );
    assert!(
        reason["dependency"].as_i64().unwrap() >= 256,
        "raised by the dependency change: {reason}"
    );

    // The dashboard shows it.
    let page = reqwest::get(format!(
        "http://127.0.0.1:{}/package/foo-app?collection=f99",
        stack.web_port
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        page.contains("title=\"Package state: failing\""),
        "dashboard does not show the failure"
    );

    // A fixed libfoo flows back to ok.
    koji.call("sim.importBuild", vec![import("2", false)])
        .await
        .unwrap();
    koji.call("sim.regenRepo", vec![]).await.unwrap();
    wait_for("foo-app to recover", Duration::from_secs(120), || async {
        state(&pool, "foo-app").await == "ok"
    })
    .await;

    let status = tokio::task::spawn_blocking(move || consumer.wait())
        .await
        .unwrap()
        .unwrap();
    let mut seen = String::new();
    for line in consumer_out.lines() {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    assert!(
        status.success(),
        "fedora-messaging consumer did not see both transitions:\n{seen}"
    );
    assert!(seen.contains("PackageStateChange"), "{seen}");
    drop(stack);
}
