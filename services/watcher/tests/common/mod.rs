//! Shared harness of the watcher's integration tests and benchmark: the
//! private broker and database from `scripts/test`, an in-process koji-sim,
//! bulk fixtures, a fedora-messaging-shaped publisher and a TCP proxy that
//! can cut the connections to the broker.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use koschei_core::config::Config;
use koschei_core::koji_sessions::KojiSessions;
use koschei_koji::{KojiClient, KojiConfig};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use serde_json::{json, Value as Json};
use sqlx::PgPool;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The schema, as the services apply it.
pub use koschei_core::db::MIGRATOR as MIGRATIONS;

/// The private broker's URL (`scripts/test` exports it). Also turns on
/// logging (`RUST_LOG`) for the test.
pub fn amqp_url() -> String {
    koschei_core::service::init_logging();
    std::env::var("AMQP_URL").unwrap_or_else(|_| {
        panic!(
            "AMQP_URL is not set: run `scripts/test -p koschei-watcher`, which starts a private \
             RabbitMQ, or export AMQP_URL=amqp://guest:guest@127.0.0.1:5673/%2f"
        )
    })
}

/// The venv python with fedora-messaging and the schema packages.
pub fn python() -> String {
    std::env::var("KOSCHEI_PYTHON").unwrap_or_else(|_| {
        panic!(
            "KOSCHEI_PYTHON is not set: run `scripts/test -p koschei-watcher`, or \
             `source scripts/lib.sh && ensure_python_venv` and export KOSCHEI_PYTHON=.state/venv/bin/python"
        )
    })
}

/// A script under `tests/python/`.
pub fn python_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python")
        .join(name)
}

/// A name unique to this run (queues, topic prefixes).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// An in-process koji-sim on the tiny seed (collection and tag `f99`).
pub struct Sim {
    pub running: koji_sim::Running,
    _state: tempfile::TempDir,
}

impl Sim {
    pub async fn start() -> Sim {
        let state = tempfile::tempdir().expect("temp dir");
        let running = koji_sim::start(koji_sim::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            seed: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/koji-sim/seeds/tiny"),
            collection: "f99".into(),
            amqp_url: None,
            behaviour: koji_sim::sim::Behaviour {
                build_time: 1.0,
                failure_rate: 0.0,
                infra_failure_rate: 0.0,
                seed_random: 0,
            },
            state_dir: state.path().to_owned(),
            tls: None,
            gssapi_keytab: None,
            disable_url_sessions: false,
        })
        .await
        .expect("koji-sim starts");
        Sim {
            running,
            _state: state,
        }
    }

    pub fn client(&self) -> KojiClient {
        KojiClient::anonymous(KojiConfig {
            retry_interval: Duration::from_millis(50),
            max_retries: 2,
            ..KojiConfig::new(&self.running.hub_url, &self.running.topurl)
        })
        .expect("client")
    }

    pub fn sessions(&self) -> KojiSessions {
        KojiSessions::new(self.client(), None)
    }
}

/// A watcher configuration for one test: its own topic prefix (so other
/// tests' messages on the shared broker never reach it), its own
/// non-durable queue, Koji at the simulator.
pub fn config(sim: &Sim, amqp_url: &str, publish: bool) -> Config {
    let mut c = Config::default();
    c.fedmsg.topic = format!("{}.buildsys", unique("test"));
    c.fedmsg.amqp_url = Some(amqp_url.to_owned());
    c.fedmsg.queue = Some(unique("koschei-watcher-test"));
    c.fedmsg.queue_durable = Some(false);
    c.fedmsg_publisher.enabled = publish;
    c.fedmsg_publisher.topic_prefix = Some(unique("test"));
    c.koji_config.server = sim.running.hub_url.clone();
    c.koji_config.topurl = sim.running.topurl.clone();
    c.koji_config.session_opts.max_retries = 2;
    c.koji_config.session_opts.retry_interval = 0.05;
    c.koji_config.session_opts.timeout = 30;
    c
}

/// Inserts collection `name` with `n` tracked packages `pkg<i>`, each with
/// one running scratch build of task `first_task + i`. Returns the
/// collection id.
pub async fn seed_running_builds(pool: &PgPool, name: &str, n: i32, first_task: i32) -> i32 {
    let collection = koschei_core::fixtures::collection(pool, name).await;
    sqlx::query(
        "INSERT INTO base_package (name) SELECT 'pkg' || i FROM generate_series(1, $1) i
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO package (base_id, name, collection_id, tracked, resolved)
         SELECT b.id, b.name, $2, true, true FROM generate_series(1, $1) i
         JOIN base_package b ON b.name = 'pkg' || i",
    )
    .bind(n)
    .bind(collection)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO build (package_id, state, task_id, started, version, release, real, repo_id)
         SELECT p.id, 2, $3 + substr(p.name, 4)::int, now() AT TIME ZONE 'UTC', '1', '1.fc99', false, 123
         FROM package p WHERE p.collection_id = $2 AND p.name LIKE 'pkg%'",
    )
    .bind(n)
    .bind(collection)
    .bind(first_task)
    .execute(pool)
    .await
    .unwrap();
    collection
}

/// Builds of the collection by state code.
pub async fn build_states(pool: &PgPool, collection: i32) -> Vec<(i32, i64)> {
    sqlx::query_as(
        "SELECT b.state, count(*) FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.collection_id = $1 GROUP BY b.state ORDER BY b.state",
    )
    .bind(collection)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The histogram of `infra_failures` of the collection's packages: applying
/// a task message twice would count a failure twice.
pub async fn infra_failure_counts(pool: &PgPool, collection: i32) -> Vec<(i32, i64)> {
    sqlx::query_as(
        "SELECT infra_failures, count(*) FROM package WHERE collection_id = $1
         GROUP BY infra_failures ORDER BY 1",
    )
    .bind(collection)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A real-shaped `buildsys.task.state.change` body (koji-fedoramessaging's
/// TaskStateChangeV1) of a scratch-build parent task.
pub fn task_body(task_id: i64, old: &str, new: &str) -> Json {
    let state = match new {
        "FREE" => 0,
        "OPEN" => 1,
        "CLOSED" => 2,
        "CANCELED" => 3,
        "ASSIGNED" => 4,
        _ => 5,
    };
    json!({
        "id": task_id,
        "method": "build",
        "attribute": "state",
        "old": old,
        "new": new,
        "owner": "koschei",
        "srpm": "foo-1-1.src.rpm",
        "base_url": "https://koji.fedoraproject.org",
        "files_base_url": "https://kojipkgs.fedoraproject.org",
        "instance": "primary",
        "info": {
            "id": task_id, "method": "build", "arch": "noarch", "host_id": null, "result": null,
            "state": state, "owner": 1, "priority": 30, "channel_id": 1, "parent": null,
            "create_time": 1_700_000_000.0, "start_time": 1_700_000_001.0,
            "completion_time": 1_700_000_100.0, "waiting": false, "awaited": null,
            "label": null, "request": ["foo-1-1.src.rpm", null, {"scratch": true}],
            "children": [],
        },
    })
}

/// Publishes JSON messages the way Koji's fedora-messaging plugin does
/// (properties and headers as
/// `fedora_messaging/message.py` sets them), with publisher confirms.
pub struct KojiPublisher {
    _conn: Connection,
    channel: Channel,
}

impl KojiPublisher {
    pub async fn connect(url: &str) -> KojiPublisher {
        let conn = Connection::connect(url, ConnectionProperties::default())
            .await
            .expect("connect to AMQP_URL");
        let channel = conn.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        KojiPublisher {
            _conn: conn,
            channel,
        }
    }

    /// Publishes all messages `(routing key, body, message id)` and waits
    /// for the broker's confirms.
    pub async fn publish_all(&self, messages: impl IntoIterator<Item = (String, Json, String)>) {
        let mut confirms = Vec::new();
        for (key, body, id) in messages {
            let mut headers = FieldTable::default();
            headers.insert(
                ShortString::from("fedora_messaging_schema"),
                AMQPValue::LongString("koji_fedoramessaging.task.TaskStateChangeV1".into()),
            );
            headers.insert(
                ShortString::from("fedora_messaging_severity"),
                AMQPValue::LongLongInt(20),
            );
            let properties = BasicProperties::default()
                .with_content_type("application/json".into())
                .with_content_encoding("utf-8".into())
                .with_delivery_mode(2)
                .with_message_id(id.into())
                .with_headers(headers);
            let payload = serde_json::to_vec(&body).unwrap();
            confirms.push(
                self.channel
                    .basic_publish(
                        "amq.topic".into(),
                        key.as_str().into(),
                        BasicPublishOptions::default(),
                        &payload,
                        properties,
                    )
                    .await
                    .unwrap(),
            );
        }
        for c in confirms {
            assert!(c.await.unwrap().is_ack());
        }
    }
}

/// Task messages `CLOSED` for tasks `first + 1 ..= first + n`.
pub fn closed_task_messages(
    topic: &str,
    first: i32,
    n: i32,
) -> impl Iterator<Item = (String, Json, String)> + '_ {
    (1..=n).map(move |i| {
        let task = i64::from(first + i);
        (
            format!("{topic}.task.state.change"),
            task_body(task, "OPEN", "CLOSED"),
            uuid::Uuid::new_v4().to_string(),
        )
    })
}

/// Deletes a test queue.
pub async fn delete_queue(url: &str, queue: &str) {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let _ = channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await;
    let _ = conn.close(200, "bye".into()).await;
}

/// Polls `check` every 50 ms until it returns true; panics after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP proxy in front of the broker whose connections can be cut, like
/// a broker restart seen from the client: open connections drop and new
/// ones are refused for a while.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(target_url: &str) -> Proxy {
        let target = host_port(target_url);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let accept_up = up.clone();
        let accept_generation = generation.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused, in effect
                }
                let target = target.clone();
                let mut cut = accept_generation.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            up,
            generation,
        }
    }

    /// The broker URL through the proxy.
    pub fn url(&self, target_url: &str) -> String {
        target_url.replacen(&host_port(target_url), &self.addr.to_string(), 1)
    }

    /// Drops every open connection and refuses new ones for `down`.
    pub async fn outage(&self, down: Duration) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
        tokio::time::sleep(down).await;
        self.up.store(true, Ordering::SeqCst);
    }
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap().to_owned()
}

/// A fresh migrated database for tests that need a multi-threaded runtime
/// (which `#[sqlx::test]` does not offer); dropped by [`TestDb::drop`].
pub struct TestDb {
    pub pool: PgPool,
    name: String,
    admin: PgPool,
}

impl TestDb {
    pub async fn create(max_connections: u32) -> TestDb {
        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        use std::str::FromStr;
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            panic!("DATABASE_URL is not set: run `scripts/test -p koschei-watcher`")
        });
        let options = PgConnectOptions::from_str(&url).expect("DATABASE_URL");
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .expect("connect to DATABASE_URL");
        let name = format!("watcher_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options.database(&name))
            .await
            .unwrap();
        MIGRATIONS.run(&pool).await.unwrap();
        TestDb { pool, name, admin }
    }

    pub async fn drop(self) {
        self.pool.close().await;
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&self.admin)
        .await;
    }
}

/// What [`FlakyHttp`] answers to one request instead of forwarding it.
#[derive(Debug, Clone, Copy)]
pub enum Canned {
    /// A proxy's HTML maintenance page, served with status 200.
    MaintenancePage,
    /// An HTTP error status with an HTML body.
    Status(u16),
}

/// An HTTP front of koji-sim that answers the first requests from a script
/// (then forwards), or answers every request with one canned reply: Koji
/// behind a proxy during maintenance. Each scripted reply closes its
/// connection, so every request is seen.
pub struct FlakyHttp {
    pub url: String,
    /// Requests answered from the script or the canned reply.
    pub canned: Arc<std::sync::atomic::AtomicUsize>,
}

impl FlakyHttp {
    /// Answers the `script` in order, then forwards to `target` (a URL).
    pub async fn start(target: &str, script: Vec<Canned>, forever: Option<Canned>) -> FlakyHttp {
        use std::sync::atomic::AtomicUsize;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rest = target.split_once("://").map_or(target, |(_, r)| r);
        let path = rest.find('/').map_or("", |i| &rest[i..]).to_owned();
        let target = host_port(target);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let canned = Arc::new(AtomicUsize::new(0));
        let count = canned.clone();
        let script = Arc::new(std::sync::Mutex::new(
            script
                .into_iter()
                .collect::<std::collections::VecDeque<_>>(),
        ));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let reply = script.lock().unwrap().pop_front().or(forever);
                let target = target.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    let Some(reply) = reply else {
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                        return;
                    };
                    // Read the request (headers, then Content-Length bytes).
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    loop {
                        let Ok(n) = client.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                            let length: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse().ok())
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    let page = "<html><head><title>Koji is down for maintenance</title></head>\
                                <body><h1>Scheduled maintenance</h1></body></html>";
                    let status = match reply {
                        Canned::MaintenancePage => "200 OK".to_owned(),
                        Canned::Status(code) => format!("{code} Unavailable"),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{page}",
                        page.len()
                    );
                    let _ = client.write_all(response.as_bytes()).await;
                    let _ = client.shutdown().await;
                });
            }
        });
        FlakyHttp {
            url: format!("http://{addr}{path}"),
            canned,
        }
    }

    /// Requests answered from the script or the canned reply so far.
    pub fn canned(&self) -> usize {
        self.canned.load(Ordering::SeqCst)
    }
}
