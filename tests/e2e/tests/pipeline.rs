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
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use koschei_koji::xmlrpc::Value;
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;
use koschei_core::fixtures::database_url;

/// Where cargo put the workspace's binaries (next to this test's `deps/`).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built (run the whole workspace's tests)",
        path.display()
    );
    path
}

fn env_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set (run scripts/test)"))
}

/// Child processes killed when the test ends, whatever happens.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn run(cmd: &mut Command) {
    let out = {
        let mut cmd = std::mem::replace(cmd, Command::new("true"));
        tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap()
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

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
    let sim = koji_sim::start_for_tests(dir.path(), Some(amqp.clone()))
        .await
        .unwrap();
    sim.sim.lock().build_time = 1.0;
    let db_name = pool.connect_options().get_database().unwrap().to_string();
    let web_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let db_url = database_url(&pool);
    let config = dir.path().join("koschei.toml");
    std::fs::write(
        &config,
        format!(
            r#"db_url = "{db}"
[koji_config]
server = "{hub}"
topurl = "{top}"
load_threshold = 1.0
build_from_repo_id = true
build_arches = ["x86_64"]
[koji_config.session_opts]
max_retries = 3
retry_interval = 0.1
[dependency]
ignore_weak_deps = true
[priorities]
t0 = 0.0001
t1 = 1.0
[services.scheduler]
interval = 0.5
[services.resolver]
interval = 1.0
[fedmsg]
amqp_url = "{amqp}"
queue = "e2e-{db_name}"
queue_durable = false
[fedmsg-publisher]
enabled = true
[directories]
cachedir = "{cache}"
[frontend]
listen = "127.0.0.1:{web_port}"
"#,
            db = db_url,
            hub = sim.hub_url,
            top = sim.topurl,
            cache = dir.path().join("cache").display(),
        ),
    )
    .unwrap();
    let service = |name: &str, args: &[&str]| {
        let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
        Command::new(binary(name))
            .args(args)
            .env("KOSCHEI_CONFIG", &config)
            .env("DATABASE_URL", &db_url)
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    };
    let admin = |args: &[&str]| {
        let mut cmd = Command::new(binary("koschei-admin"));
        cmd.args(args)
            .env("KOSCHEI_CONFIG", &config)
            .env("DATABASE_URL", &db_url)
            .env("SUDO_USER", "e2e");
        cmd
    };

    run(&mut admin(&[
        "create-collection",
        "f99",
        "-d",
        "Fedora 99",
        "-t",
        "f99",
    ]))
    .await;
    run(Command::new(binary("koschei-poller"))
        .arg("--once")
        .env("KOSCHEI_CONFIG", &config)
        .env("DATABASE_URL", &db_url))
    .await;
    run(&mut admin(&["add-pkg", "--all", "-c", "f99"])).await;

    // A fedora-messaging consumer waiting for foo-app to break and recover.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../python/fm_wait.py");
    let mut consumer = Command::new(&python)
        .arg(script)
        .args([
            &amqp,
            &format!("e2e-consumer-{db_name}"),
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

    let procs = Processes(vec![
        service("koschei-resolver", &["run"]),
        service("koschei-watcher", &[]),
        service("koschei-scheduler", &["run"]),
        service("koschei-web", &[]),
    ]);

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
        "http://127.0.0.1:{web_port}/package/foo-app?collection=f99"
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
    drop(procs);
}
