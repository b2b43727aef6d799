//! The crash test: with builds in flight and dependencies changing, every service
//! (resolver, scheduler, poller, watcher) is killed with SIGKILL at random moments,
//! many times, and restarted; meanwhile PostgreSQL and RabbitMQ are restarted too
//! (a clean stop and a crash of each). The test runs its own PostgreSQL cluster and
//! broker, on ports of their own, so that the servers the other tests share are never
//! touched. A service started while PostgreSQL is down exits (status 1); like systemd's
//! `Restart=on-failure`, the test starts it again (and prints how often). Afterwards:
//!
//! * every scratch-build task Koji ran is recorded by exactly one build, in the
//!   state Koji finished it in, and no build refers to a task Koji does not know —
//!   also when Koji lost the reply to a `build` call (`sim.loseBuildReplies`);
//! * every state-change message in the outbox reached a fedora-messaging consumer,
//!   and nothing else did (compared by message id; redeliveries of one id are
//!   counted and allowed, as consumers deduplicate by id);
//! * `koschei-admin check` finds the database consistent (last-build pointers,
//!   one running build per package, dependency priorities, message chains).
//!
//! The random sequence is printed; `CRASH_SEED=N` replays it.

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use koschei_e2e::{env_var, run, start_on_koji_sim_with, wait_for, PrivateServers, Stack};
use koschei_koji::client::KojiClient;
use koschei_koji::config::KojiConfig;
use koschei_koji::xmlrpc::Value;
use koschei_koji::xstruct;
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;

const SERVICES: [(&str, &[&str]); 4] = [
    ("koschei-resolver", &["run"]),
    ("koschei-scheduler", &["run"]),
    ("koschei-poller", &[]),
    ("koschei-watcher", &[]),
];
const KILLS: usize = 40;

/// The server restarts of one run, in random order: (server, how it goes down).
const OUTAGES: [(&str, &str); 4] = [
    ("postgresql", "fast"),
    ("postgresql", "immediate"),
    ("rabbitmq", "stop"),
    ("rabbitmq", "kill -9"),
];

/// Restarts the servers once per [`OUTAGES`] entry, in an order and at moments drawn
/// from `seed`, each down for up to 1.5 s; returns what it did, for the record.
fn outages(servers: &PrivateServers, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    let mut order: Vec<usize> = (0..OUTAGES.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let started = Instant::now();
    let mut done = Vec::new();
    for i in order {
        std::thread::sleep(Duration::from_millis(2000 + rng.below(6000)));
        let (server, how) = OUTAGES[i];
        let at = started.elapsed().as_secs_f64();
        match (server, how) {
            ("postgresql", mode) => servers.pg_stop(mode),
            (_, "stop") => servers.rmq_stop(),
            _ => servers.rmq_kill(),
        }
        std::thread::sleep(Duration::from_millis(rng.below(1500)));
        if server == "postgresql" {
            servers.pg_start();
        } else {
            servers.rmq_start();
        }
        done.push(format!(
            "{server} {how} at {at:.1} s, up again at {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
    done
}

/// xorshift64*: a reproducible sequence without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Imports a new libfoo every few seconds, alternately breaking and fixing foo-app,
/// regenerates the repo and has Koji lose the reply of the next `build` call (the
/// task exists, the scheduler sees an error), until `stop`.
async fn churn(koji: KojiClient, stop: Arc<AtomicBool>) -> usize {
    let mut release = 0;
    while !stop.load(Ordering::Relaxed) {
        release += 1;
        let build = Value::from_json(serde_json::json!({
            "name": "libfoo", "version": "3.0", "release": release.to_string(), "tag": "f99",
            "binaries": [
                {"name": "libfoo", "provides": ["libfoo.so.2()(64bit)"]},
                {"name": "libfoo-devel", "requires": ["libfoo"]},
            ],
            "breaks": if release % 2 == 1 { vec!["foo-app"] } else { vec![] },
        }));
        koji.call("sim.importBuild", vec![build]).await.unwrap();
        koji.call("sim.regenRepo", vec![]).await.unwrap();
        koji.call("sim.loseBuildReplies", vec![Value::Int(1)])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    release
}

/// Koji's top-level scratch-build tasks (real builds come from `sim.importBuild`):
/// id → state.
async fn koji_build_tasks(koji: &KojiClient) -> HashMap<i64, i64> {
    let opts = xstruct! {"method" => "build", "parent" => Value::Nil, "decode" => true};
    let tasks = koji
        .call("listTasks", vec![Value::Struct(opts)])
        .await
        .unwrap();
    tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            let opts = t.get("request").and_then(|r| r.as_array()?.get(2));
            opts.and_then(|o| o.get("scratch")?.as_bool()) == Some(true)
        })
        .map(|t| {
            (
                t.get("id").and_then(Value::as_i64).unwrap(),
                t.get("state").and_then(Value::as_i64).unwrap(),
            )
        })
        .collect()
}

/// Scratch builds in the database: task id → build states of its rows.
async fn recorded_builds(pool: &PgPool) -> HashMap<i64, Vec<i32>> {
    let rows: Vec<(i32, i32)> = sqlx::query_as("SELECT task_id, state FROM build WHERE NOT real")
        .fetch_all(pool)
        .await
        .unwrap();
    let mut by_task: HashMap<i64, Vec<i32>> = HashMap::new();
    for (task, state) in rows {
        by_task.entry(i64::from(task)).or_default().push(state);
    }
    by_task
}

/// What keeps the system from being settled: Koji tasks not recorded or not
/// finished, builds still running, messages not sent or not received.
async fn outstanding(koji: &KojiClient, pool: &PgPool, messages: &std::path::Path) -> Vec<String> {
    let tasks = koji_build_tasks(koji).await;
    let builds = recorded_builds(pool).await;
    let mut left = Vec::new();
    for (task, state) in &tasks {
        if !builds.contains_key(task) {
            left.push(format!("task {task} not recorded"));
        }
        if !matches!(state, 2 | 3 | 5) {
            left.push(format!("task {task} in Koji state {state}"));
        }
    }
    for (task, states) in &builds {
        if states.contains(&2) {
            left.push(format!("build of task {task} running"));
        }
    }
    let (unsent, outbox): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE sent IS NULL), count(*) FROM message_outbox WHERE publish",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    if unsent > 0 {
        left.push(format!("{unsent} messages unsent"));
    }
    let got = received(messages).len() as i64;
    if got < outbox {
        left.push(format!("{got} of {outbox} messages received"));
    }
    left
}

/// The last lines of every service's log.
fn tail_logs(stack: &Stack) -> String {
    SERVICES
        .iter()
        .map(|(name, _)| {
            let log = stack.log(name);
            let lines: Vec<&str> = log.lines().collect();
            format!(
                "--- {name}\n{}",
                lines[lines.len().saturating_sub(15)..].join("\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The message ids the consumer printed, with their number of deliveries.
fn received(path: &std::path::Path) -> HashMap<String, usize> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        *ids.entry(m["id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    ids
}

/// Starts again the services that exited on their own, as systemd's `Restart=on-failure`
/// does, and records them.
fn restart_exited(stack: &mut Stack, exited: &mut Vec<String>) {
    for (name, status) in stack.exited() {
        let (name, args) = SERVICES
            .iter()
            .find(|(n, _)| *n == name)
            .expect("only services exit");
        exited.push(format!("{name} ({status})"));
        stack.start(name, args);
    }
}

#[tokio::test]
async fn killed_services_and_servers_lose_and_duplicate_nothing() {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let python = env_var("KOSCHEI_PYTHON");
    let dir = tempfile::tempdir().unwrap();
    let servers = Arc::new(PrivateServers::start(&dir.path().join("servers")));
    let amqp = servers.amqp_url();
    let db_url = servers.database_url("koschei_crash");
    let pool = PgPool::connect(&db_url).await.unwrap();
    MIGRATIONS.run(&pool).await.unwrap();
    let db_name = "koschei_crash";
    let queue = format!("crash-{seed}");
    let (sim, mut stack) = start_on_koji_sim_with(
        dir.path(),
        &db_url,
        &amqp,
        &queue,
        "[priorities]\nt0 = 0.0001\nt1 = 0.001\n\
         [services.scheduler]\ninterval = 0.2\n\
         [services.poller]\ninterval = 1.0\n\
         [services.resolver]\ninterval = 1.0",
    )
    .await;
    sim.sim.lock().failure_rate = 0.3;

    // every message, as a fedora-messaging consumer receives it
    let messages = dir.path().join("messages.jsonl");
    let consumer = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../python/fm_collect.py"
        ))
        .args([
            &amqp,
            &format!("crash-consumer-{db_name}-{seed}"),
            &format!("{queue}.#"),
        ])
        .stdout(std::fs::File::create(&messages).unwrap())
        .stderr(std::fs::File::create(dir.path().join("consumer.log")).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    stack.track("consumer", consumer);
    let consumer_log = dir.path().join("consumer.log");
    for waited in 0.. {
        if std::fs::read_to_string(&messages).is_ok_and(|t| t.starts_with("READY")) {
            break;
        }
        assert!(
            waited < 120,
            "the consumer did not start: {}",
            std::fs::read_to_string(&consumer_log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    for (name, args) in SERVICES {
        stack.start(name, args);
    }
    let koji =
        KojiClient::anonymous(KojiConfig::new(sim.hub_url.as_str(), sim.topurl.as_str())).unwrap();
    wait_for("the first resolution", Duration::from_secs(60), || async {
        sqlx::query_scalar::<_, bool>("SELECT bool_or(resolved) FROM package")
            .fetch_one(&pool)
            .await
            .unwrap_or(false)
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let churning = tokio::spawn(churn(koji.clone(), stop.clone()));
    let started = Instant::now();
    let restarting = {
        let (servers, seed) = (servers.clone(), rng.next());
        std::thread::spawn(move || outages(&servers, seed))
    };
    let mut kills: HashMap<&str, usize> = HashMap::new();
    let mut exited = Vec::new();
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(200 + rng.below(1300))).await;
        let (name, args) = SERVICES[rng.below(SERVICES.len() as u64) as usize];
        stack.kill(name);
        *kills.entry(name).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
        stack.start(name, args);
        restart_exited(&mut stack, &mut exited);
    }
    let restarts = tokio::task::spawn_blocking(move || restarting.join().unwrap())
        .await
        .unwrap();
    restart_exited(&mut stack, &mut exited);
    stop.store(true, Ordering::Relaxed);
    let repos = churning.await.unwrap();
    println!(
        "{KILLS} kills in {:.0} s ({kills:?}), {repos} dependency updates; servers: {restarts:?}; \
         exited on their own and restarted: {exited:?}",
        started.elapsed().as_secs_f64()
    );

    // Settle: a scheduler that submits nothing more but reconciles with Koji first.
    stack.kill("koschei-scheduler");
    sqlx::query("UPDATE collection SET scheduling_suspended = 'crash test settling'")
        .execute(&pool)
        .await
        .unwrap();
    stack.start("koschei-scheduler", &["run"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let outstanding = outstanding(&koji, &pool, &messages).await;
        if outstanding.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not settled after 120 s: {outstanding:?}\n{}",
            tail_logs(&stack)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for (name, _) in SERVICES {
        stack.stop(name);
    }
    stack.stop("consumer");

    // Every Koji task exactly once, in Koji's final state.
    let tasks = koji_build_tasks(&koji).await;
    let builds = recorded_builds(&pool).await;
    let finished = |koji_state: i64| match koji_state {
        2 => 3, // CLOSED → complete
        3 => 4, // CANCELED → canceled
        5 => 5, // FAILED → failed
        other => panic!("task still in state {other}"),
    };
    for (task, state) in &tasks {
        assert_eq!(
            builds.get(task).map(Vec::as_slice),
            Some(&[finished(*state)][..]),
            "task {task} (Koji state {state}) is recorded as {:?}",
            builds.get(task)
        );
    }
    let unknown: Vec<&i64> = builds.keys().filter(|t| !tasks.contains_key(t)).collect();
    assert!(
        unknown.is_empty(),
        "builds of tasks Koji does not know: {unknown:?}"
    );
    let completed = builds.values().flatten().filter(|s| **s == 3).count();
    let failed = builds.values().flatten().filter(|s| **s == 5).count();
    assert!(
        completed >= 5 && failed >= 2,
        "too few builds to prove anything: {completed} complete, {failed} failed"
    );

    // Every message exactly once by id.
    let outbox: BTreeSet<String> =
        sqlx::query_scalar("SELECT message_id::text FROM message_outbox WHERE publish")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let delivered = received(&messages);
    let ids: BTreeSet<String> = delivered.keys().cloned().collect();
    assert_eq!(
        ids.difference(&outbox).count() + outbox.difference(&ids).count(),
        0,
        "missing: {:?}, unexpected: {:?}",
        outbox.difference(&ids).collect::<Vec<_>>(),
        ids.difference(&outbox).collect::<Vec<_>>()
    );
    let state_changes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM message_outbox WHERE topic LIKE '%.package.state.change'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(state_changes >= 5, "only {state_changes} state changes");
    let redelivered: usize = delivered.values().map(|n| n - 1).sum();
    let adopted = stack
        .log("koschei-scheduler")
        .matches("adopted a scratch build")
        .count();
    assert!(adopted >= 1, "no build was adopted after a lost reply");
    println!(
        "{} Koji tasks ({completed} complete, {failed} failed, {adopted} adopted after a lost reply \
         or a crash), {} messages ({state_changes} package state changes), \
         {redelivered} redelivered",
        tasks.len(),
        outbox.len()
    );

    // The database is consistent.
    let out = run(stack.admin(&["check"])).await;
    assert!(out.contains("consistent"), "{out}");
}
