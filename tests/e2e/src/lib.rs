//! The harness of the end-to-end tests (in `tests/`): the workspace's service binaries
//! run as processes on one configuration, started, killed and restarted by name.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Where cargo put the workspace's binaries (next to the test's `deps/`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built (scripts/test builds every binary first)",
        path.display()
    );
    path
}

/// A variable `scripts/test` sets.
pub fn env_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set (run scripts/test)"))
}

/// A free TCP port on localhost.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// What the configuration of a test stack points at.
pub struct StackConfig<'a> {
    /// PostgreSQL URL of the test database.
    pub db_url: &'a str,
    /// koji-sim, already running.
    pub koji: &'a koji_sim::Running,
    /// The broker.
    pub amqp_url: &'a str,
    /// The watcher's queue (unique per test), also the prefix of the topics published.
    pub queue: &'a str,
    /// TOML appended verbatim (more sections or keys of sections not written here).
    pub extra: &'a str,
    /// Keys of `[koji_config]` saying how to log in; [`CERTIFICATE_LOGIN`] when `None`.
    pub koji_login: Option<&'a str>,
}

/// `[koji_config]` keys of a login with the test client certificate.
pub const CERTIFICATE_LOGIN: &str = concat!(
    "login_method = \"sslLogin\"\nlogin_args = { cert = \"",
    env!("CARGO_MANIFEST_DIR"),
    "/../../services/koji/tests/data/client.pem\" }"
);

/// Starts koji-sim on the tiny seed, publishing to the broker of `AMQP_URL`, and a stack
/// configured on it and on database `db_url`, with collection `f99` tracked.
pub async fn start_on_koji_sim(
    dir: &Path,
    db_url: &str,
    queue: &str,
    extra: &str,
) -> (koji_sim::Running, Stack) {
    start_on_koji_sim_with(dir, db_url, &env_var("AMQP_URL"), queue, extra).await
}

/// [`start_on_koji_sim`] on the broker of `amqp`.
pub async fn start_on_koji_sim_with(
    dir: &Path,
    db_url: &str,
    amqp: &str,
    queue: &str,
    extra: &str,
) -> (koji_sim::Running, Stack) {
    let amqp = amqp.to_owned();
    let sim = koji_sim::start_for_tests(dir, Some(amqp.clone()))
        .await
        .expect("koji-sim starts");
    sim.sim.lock().build_time = 1.0;
    let stack = Stack::new(
        dir,
        &StackConfig {
            db_url,
            koji: &sim,
            amqp_url: &amqp,
            queue,
            extra,
            koji_login: None,
        },
    );
    stack.track_f99().await;
    (sim, stack)
}

/// Services run as processes on one configuration file; every process still running
/// is killed when the stack is dropped.
pub struct Stack {
    /// Port of the web service.
    pub web_port: u16,
    dir: PathBuf,
    config: PathBuf,
    db_url: String,
    running: HashMap<String, Child>,
}

impl Stack {
    /// Writes the configuration under `dir` (logged in to Koji with the test client
    /// certificate unless told otherwise, weak deps ignored, builds in the resolved repo, messages
    /// published) and starts nothing yet.
    pub fn new(dir: &Path, c: &StackConfig<'_>) -> Stack {
        let config = dir.join("koschei.toml");
        let web_port = free_port();
        let text = format!(
            r#"db_url = "{db}"
[koji_config]
server = "{hub}"
topurl = "{top}"
{login}
load_threshold = 1.0
build_from_repo_id = true
build_arches = ["x86_64"]
[koji_config.session_opts]
max_retries = 3
retry_interval = 0.1
[dependency]
ignore_weak_deps = true
[fedmsg]
amqp_url = "{amqp}"
queue = "{queue}"
queue_durable = false
[fedmsg-publisher]
enabled = true
topic_prefix = "{queue}"
[directories]
cachedir = "{cache}"
[frontend]
listen = "127.0.0.1:{port}"
secret_key = "end-to-end test secret, not for production"
{extra}
"#,
            db = c.db_url,
            hub = c.koji.hub_url,
            top = c.koji.topurl,
            amqp = c.amqp_url,
            queue = c.queue,
            cache = dir.join("cache").display(),
            login = c.koji_login.unwrap_or(CERTIFICATE_LOGIN),
            port = web_port,
            extra = c.extra,
        );
        std::fs::write(&config, text).expect("write the configuration");
        Stack {
            web_port,
            dir: dir.to_path_buf(),
            config,
            db_url: c.db_url.to_owned(),
            running: HashMap::new(),
        }
    }

    /// A command running binary `name` on the stack's configuration.
    pub fn command(&self, name: &str) -> Command {
        let mut cmd = Command::new(binary(name));
        cmd.env("KOSCHEI_CONFIG", &self.config)
            .env("DATABASE_URL", &self.db_url)
            .env("RUST_LOG", "info,sqlx=warn")
            // the host's fedora-messaging configuration stays out of the tests
            .env("FEDORA_MESSAGING_CONF", "/dev/null")
            .env("RUST_BACKTRACE", "0");
        cmd
    }

    /// `koschei-admin ARGS` as user `e2e`.
    pub fn admin(&self, args: &[&str]) -> Command {
        let mut cmd = self.command("koschei-admin");
        cmd.args(args).env("SUDO_USER", "e2e");
        cmd
    }

    /// Creates collection `f99` of koji-sim, registers its packages and real builds
    /// with one polling pass and tracks every package.
    pub async fn track_f99(&self) {
        run(self.admin(&["create-collection", "f99", "-d", "Fedora 99", "-t", "f99"])).await;
        let mut poll_once = self.command("koschei-poller");
        poll_once.arg("--once");
        run(poll_once).await;
        run(self.admin(&["add-pkg", "--all", "-c", "f99"])).await;
    }

    /// Starts service `name` (with `args`), its output appended to `<dir>/<name>.log`.
    pub fn start(&mut self, name: &str, args: &[&str]) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))
            .expect("log file");
        let child = self
            .command(name)
            .args(args)
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn a service");
        if let Some(mut old) = self.running.insert(name.to_owned(), child) {
            let _ = old.kill();
            let _ = old.wait();
        }
    }

    /// Tracks another process under `name` (killed with the stack, stopped by name).
    pub fn track(&mut self, name: &str, child: Child) {
        self.running.insert(name.to_owned(), child);
    }

    /// Kills service `name` with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill(&mut self, name: &str) {
        if let Some(mut child) = self.running.remove(name) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The services that exited on their own (not killed or stopped through the stack),
    /// with their exit status; they are no longer tracked.
    pub fn exited(&mut self) -> Vec<(String, std::process::ExitStatus)> {
        let mut exited = Vec::new();
        for (name, child) in &mut self.running {
            if let Ok(Some(status)) = child.try_wait() {
                exited.push((name.clone(), status));
            }
        }
        for (name, _) in &exited {
            self.running.remove(name);
        }
        exited
    }

    /// Stops service `name` with SIGTERM and waits for it to exit.
    pub fn stop(&mut self, name: &str) {
        if let Some(mut child) = self.running.remove(name) {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let _ = child.wait();
        }
    }

    /// The log of service `name` so far.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in self.running.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A PostgreSQL cluster and a RabbitMQ broker of one test, on ports of their own under a
/// state directory of their own, run by the functions of `scripts/lib.sh` (so never the
/// servers the other tests share); both are stopped when dropped.
pub struct PrivateServers {
    state: PathBuf,
    pg_port: u16,
    amqp_port: u16,
    epmd_port: u16,
}

impl PrivateServers {
    /// Starts both servers with state under `state` (which must not be shared).
    pub fn start(state: &Path) -> PrivateServers {
        // The broker's distribution port is AMQP's + 20000.
        let amqp_port = std::iter::repeat_with(free_port)
            .find(|p| *p < 45_000 && port_is_free(*p + 20_000))
            .expect("a free port");
        let servers = PrivateServers {
            state: state.to_path_buf(),
            pg_port: free_port(),
            amqp_port,
            epmd_port: free_port(),
        };
        servers.pg_start();
        servers.rmq_start();
        servers
    }

    /// Runs `script` in bash with `scripts/lib.sh` sourced for these servers; panics
    /// when it fails.
    fn lib_sh(&self, script: &str) -> String {
        let out = self.bash(script);
        assert!(out.status.success(), "{script}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn bash(&self, script: &str) -> std::process::Output {
        Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}/../../scripts/lib.sh'; {script}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .env("KOSCHEI_STATE", &self.state)
            // committed transactions must survive the immediate stops the crash test makes
            .env("PG_DURABLE", "1")
            .env("PG_PORT", self.pg_port.to_string())
            .env("AMQP_PORT", self.amqp_port.to_string())
            .env("EPMD_PORT", self.epmd_port.to_string())
            .output()
            .expect("run bash")
    }

    /// The URL of database `name`, created when missing.
    pub fn database_url(&self, name: &str) -> String {
        self.lib_sh(&format!("pg_start && pg_database_url {name}"))
            .trim()
            .to_owned()
    }

    /// The broker's URL.
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port)
    }

    /// Starts PostgreSQL (idempotent).
    pub fn pg_start(&self) {
        self.lib_sh("pg_start");
    }

    /// Stops PostgreSQL: `fast` (clients disconnected, clean shutdown) or `immediate` (a
    /// crash: recovery on the next start).
    pub fn pg_stop(&self, mode: &str) {
        let stop = format!("$PG_BIN/pg_ctl -D '$KOSCHEI_STATE/pg/data' -m {mode} -w stop");
        self.lib_sh(&format!(
            "if [ $(id -u) -eq 0 ]; then su postgres -s /bin/sh -c \"{stop}\"; else {stop}; fi"
        ));
    }

    /// Starts RabbitMQ (idempotent).
    pub fn rmq_start(&self) {
        self.lib_sh("rmq_start");
    }

    /// Stops RabbitMQ cleanly.
    pub fn rmq_stop(&self) {
        self.lib_sh("rmq_stop");
    }

    /// Kills RabbitMQ's Erlang VM with SIGKILL.
    pub fn rmq_kill(&self) {
        self.lib_sh("kill -KILL \"$(rmq_vm_pid)\"");
    }
}

impl Drop for PrivateServers {
    fn drop(&mut self) {
        let _ = self.bash("rmq_stop; pg_stop");
    }
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Runs a command to its end; panics with its stderr when it fails.
pub async fn run(mut cmd: Command) -> String {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run a command");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` every 250 ms until it holds; panics after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
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

/// A throwaway CA and a server certificate for `localhost` signed by it (openssl), in
/// `dir`: returns the CA certificate, the server certificate and its key (PEM files).
pub fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "2", "-subj", "/CN=koschei test CA"],
            &["-keyout", "ca.key", "-out", "ca.pem"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &["-subj", "/CN=localhost", "-keyout", "server.key"],
            &["-out", "server.csr"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write the extensions");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}
