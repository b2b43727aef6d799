//! The watcher on a TLS broker, configured only through a fedora-messaging
//! configuration file (`FEDORA_MESSAGING_CONF`): a throwaway CA
//! (`scripts/tls.sh`), a private RabbitMQ of this test with a TLS listener
//! that requires client certificates and accepts SASL EXTERNAL, the watcher
//! binary consuming a real Koji message and publishing the resulting state
//! change over `amqps://` with its client certificate. A CA that does not
//! match the broker's certificate gives a clear error and retries, not a
//! panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use koschei_core::fixtures::{self, database_url};
use koschei_core::model::BuildState;
use koschei_koji::ListTaggedOpts;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use sqlx::PgPool;

/// The script with the CA and broker helpers.
fn tls_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tls.sh")
}

/// Runs `function args…` from `scripts/tls.sh`.
fn tls_sh(function: &str, args: &[&str]) {
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && {function} \"$@\"",
            tls_script().display()
        ))
        .arg("tls.sh")
        .args(args)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{function} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// This test's RabbitMQ: plain listener (guest, for the test's own
/// connections) and TLS listener; stopped when dropped.
struct TlsBroker {
    dir: PathBuf,
    tcp: String,
    tls: String,
    epmd: String,
}

impl TlsBroker {
    fn start(dir: &Path) -> TlsBroker {
        let d = dir.to_str().unwrap();
        tls_sh("tls_ca", &[d, "ca"]);
        tls_sh("tls_ca", &[d, "wrong"]);
        tls_sh("tls_cert", &[d, "ca", "server", "localhost"]);
        tls_sh("tls_cert", &[d, "ca", "client", "koschei-tls"]);
        let broker = TlsBroker {
            dir: dir.to_owned(),
            tcp: free_port().to_string(),
            tls: free_port().to_string(),
            epmd: free_port().to_string(),
        };
        let dist = free_port().to_string();
        tls_sh(
            "tls_rmq_start",
            &[d, &broker.tcp, &broker.tls, &dist, &broker.epmd],
        );
        // The user the client certificate's CN names.
        tls_sh(
            "tls_rmq_user",
            &[d, &broker.tcp, &broker.epmd, "koschei-tls"],
        );
        broker
    }

    fn plain_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.tcp)
    }

    fn ctl(&self, args: &[&str]) -> String {
        let output = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}' && tls_rmq_ctl \"$@\"",
                tls_script().display()
            ))
            .arg("tls.sh")
            .args([self.dir.to_str().unwrap(), &self.tcp, &self.epmd])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        tls_sh(
            "tls_rmq_stop",
            &[self.dir.to_str().unwrap(), &self.tcp, &self.epmd],
        );
    }
}

/// fedora-messaging's file for the watcher, trusting `ca`.
fn fedora_messaging_file(dir: &Path, tls_port: &str, ca: &str) -> PathBuf {
    let d = dir.display();
    let path = dir.join(format!("fedora-messaging-{ca}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"amqp_url = "amqps://127.0.0.1:{tls_port}/%2F"
publish_exchange = "amq.topic"
topic_prefix = "org.fedoraproject.stg"
callback = "unused.by:koschei"

[tls]
ca_cert = "{d}/{ca}.crt"
keyfile = "{d}/client.key"
certfile = "{d}/client.crt"

[client_properties]
app = "Koschei TLS test"

[exchanges."amq.topic"]
type = "topic"
durable = true
auto_delete = false
arguments = {{}}

[queues.koschei_tls]
durable = true
auto_delete = false
exclusive = false
arguments = {{ "x-message-ttl" = 600000 }}

[[bindings]]
queue = "koschei_tls"
exchange = "amq.topic"
routing_keys = ["org.fedoraproject.prod.buildsys.task.state.change", "org.fedoraproject.prod.buildsys.tag"]

[qos]
prefetch_count = 4
prefetch_size = 0
"#
        ),
    )
    .unwrap();
    path
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn the_watcher_works_over_amqps_with_a_client_certificate_from_fedora_messaging_config(
    pool: PgPool,
) {
    let _ = amqp_url();
    let dir = tempfile::tempdir().unwrap();
    let broker = TlsBroker::start(dir.path());
    let sim = Sim::start().await;

    // A running Koschei build whose Koji task (seeded, closed) is real.
    let collection = fixtures::collection(&pool, "f99").await;
    let package = fixtures::package(&pool, collection, "py-tool").await;
    let seeded = sim
        .client()
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
    let mut build = fixtures::NewBuild::new(BuildState::Running, 0.1);
    build.task_id = i32::try_from(task_id).unwrap();
    build.repo_id = None;
    let build_id = fixtures::build(&pool, package, build).await;

    // Koschei's own file: nothing about the broker.
    let config_file = dir.path().join("koschei.toml");
    std::fs::write(
        &config_file,
        format!(
            "[fedmsg-publisher]\nenabled = true\n[koji_config]\nserver = \"{}\"\ntopurl = \"{}\"\n\
             [koji_config.session_opts]\nmax_retries = 2\nretry_interval = 0.05\n",
            sim.running.hub_url, sim.running.topurl
        ),
    )
    .unwrap();
    let database_url = database_url(&pool);
    let run = |fm_file: &Path, log: &Path| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_koschei-watcher"))
            .env("KOSCHEI_CONFIG", &config_file)
            .env("DATABASE_URL", &database_url)
            .env("FEDORA_MESSAGING_CONF", fm_file)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let read = |log: &Path| std::fs::read_to_string(log).unwrap_or_default();

    // A CA that did not sign the broker's certificate: a clear error, then
    // retries with back-off; the process keeps running.
    let wrong_log = dir.path().join("wrong.log");
    let mut wrong = run(
        &fedora_messaging_file(dir.path(), &broker.tls, "wrong"),
        &wrong_log,
    );
    wait_for("two failed handshakes", Duration::from_secs(30), || {
        let text = read(&wrong_log);
        async move {
            text.lines()
                .filter(|l| l.contains("consumer: ") && l.contains("reconnecting in"))
                .count()
                >= 2
        }
    })
    .await;
    assert!(wrong.try_wait().unwrap().is_none(), "still running");
    wrong.start_kill().unwrap();
    let _ = wrong.wait().await;
    let text = read(&wrong_log);
    assert!(!text.contains("panicked"), "{text}");
    assert!(
        text.contains("certificate") && text.contains("UnknownIssuer"),
        "the error says what is wrong:\n{text}"
    );

    // The right CA.
    let observer_conn = Connection::connect(&broker.plain_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let observer = observer_conn.create_channel().await.unwrap();
    let queue = observer
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    observer
        .queue_bind(
            queue.name().clone(),
            "amq.topic".into(),
            "org.fedoraproject.stg.koschei.package.state.change".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut changes = observer
        .basic_consume(
            queue.name().clone(),
            "observer".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let log = dir.path().join("watcher.log");
    let mut watcher = run(&fedora_messaging_file(dir.path(), &broker.tls, "ca"), &log);
    wait_for("the watcher consuming", Duration::from_secs(30), || {
        let text = read(&log);
        async move { text.contains("consuming Koji messages") }
    })
    .await;
    // Both connections logged in as the certificate's CN with EXTERNAL.
    let connections = broker.ctl(&[
        "list_connections",
        "user",
        "auth_mechanism",
        "ssl",
        "client_properties",
    ]);
    let ours: Vec<&str> = connections
        .lines()
        .filter(|l| l.starts_with("koschei-tls"))
        .collect();
    assert_eq!(ours.len(), 2, "{connections}");
    for line in ours {
        assert!(line.contains("EXTERNAL") && line.contains("true"), "{line}");
        assert!(line.contains("Koschei TLS test"), "{line}");
    }

    KojiPublisher::connect(&broker.plain_url())
        .await
        .publish_all([(
            "org.fedoraproject.prod.buildsys.task.state.change".to_owned(),
            task_body(task_id, "OPEN", "CLOSED"),
            uuid::Uuid::new_v4().to_string(),
        )])
        .await;
    let change = tokio::time::timeout(Duration::from_secs(30), changes.next())
        .await
        .expect("a state change published over amqps")
        .unwrap()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&change.data).unwrap();
    assert_eq!(body["name"], "py-tool", "{body}");
    let state: i32 = sqlx::query_scalar("SELECT state FROM build WHERE id = $1")
        .bind(build_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, BuildState::Complete.code());

    watcher.start_kill().unwrap();
    let _ = watcher.wait().await;
    let _ = observer_conn.close(200, "bye".into()).await;
    drop(broker);
}
