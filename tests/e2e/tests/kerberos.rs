//! Kerberos logins to Koji as Fedora's hub demands them: a real MIT KDC (started by
//! `scripts/test`: realm KOSCHEI.TEST, keytabs in `KOSCHEI_KRB5_DIR`) and koji-sim
//! serving HTTPS with SPNEGO on its `ssllogin` endpoint and URL sessions disabled.
//! Koschei logs in from a keytab, renews an expired ticket and session without a
//! restart, reports a wrong keytab in one line and keeps retrying; the real `koji`
//! client (requests-gssapi) logs in to koji-sim the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use koschei_e2e::{env_var, test_certificates, wait_for, Stack, StackConfig};
use koschei_koji::negotiate::KerberosCredentials;
use koschei_koji::{KojiClient, KojiConfig, LoginMethod, Value};
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;
use koschei_core::fixtures::database_url;

const REALM: &str = "KOSCHEI.TEST";

fn krb5_dir() -> PathBuf {
    PathBuf::from(env_var("KOSCHEI_KRB5_DIR"))
}

/// koji-sim over HTTPS with Kerberos logins and URL sessions refused; returns it and
/// the CA that signed its certificate.
async fn kerberized_koji(dir: &Path) -> (koji_sim::Running, PathBuf) {
    let (ca, cert, key) = test_certificates(dir);
    let mut config = koji_sim::test_config(&dir.join("sim"), None);
    config.tls = Some(koji_sim::TlsFiles { cert, key });
    config.gssapi_keytab = Some(krb5_dir().join("koji-sim.keytab"));
    config.disable_url_sessions = true;
    let sim = koji_sim::start(config).await.expect("koji-sim starts");
    sim.sim.lock().build_time = 1.0;
    (sim, ca)
}

fn client(sim: &koji_sim::Running, ca: &Path, principal: &str, keytab: &str) -> KojiClient {
    KojiClient::new(KojiConfig {
        serverca: Some(ca.to_path_buf()),
        login: LoginMethod::Gssapi(KerberosCredentials {
            principal: Some(format!("{principal}@{REALM}")),
            keytab: Some(krb5_dir().join(keytab)),
            ccache: None,
        }),
        max_retries: 2,
        retry_interval: Duration::from_millis(100),
        ..KojiConfig::new(&sim.hub_url, &sim.topurl)
    })
    .unwrap()
}

async fn logged_in_user(koji: &KojiClient) -> String {
    let user = koji.call("getLoggedInUser", vec![]).await.unwrap();
    user.get("name").and_then(Value::as_str).unwrap().to_owned()
}

#[tokio::test]
async fn koschei_logs_in_with_its_keytab() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, ca) = kerberized_koji(dir.path()).await;
    let koji = client(&sim, &ca, "koschei", "koschei.keytab");
    assert_eq!(logged_in_user(&koji).await, "koschei");
    let st = sim.sim.lock();
    assert_eq!(st.krb_principals.len(), 1);
    assert!(st.krb_principals.contains_key("koschei@KOSCHEI.TEST"));
}

/// Tickets of `koschei-short` live a few seconds and the hub's clock skew is 1 s, so
/// after the ticket ran out only a new one from the keytab lets the client back in.
#[tokio::test]
async fn an_expired_ticket_and_session_are_renewed_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, ca) = kerberized_koji(dir.path()).await;
    let koji = client(&sim, &ca, "koschei-short", "koschei-short.keytab");
    assert_eq!(logged_in_user(&koji).await, "koschei-short");
    let life: u64 = std::env::var("KRB5_SHORT_LIFE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    tokio::time::sleep(Duration::from_secs(life + 3)).await;
    let admin = KojiClient::anonymous(KojiConfig {
        serverca: Some(ca.clone()),
        ..KojiConfig::new(&sim.hub_url, &sim.topurl)
    })
    .unwrap();
    admin.call("sim.expireSessions", vec![]).await.unwrap();
    assert_eq!(logged_in_user(&koji).await, "koschei-short");
    assert_eq!(sim.sim.lock().sessions.len(), 2, "a second login");
}

#[tokio::test]
async fn the_real_koji_client_logs_in_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, ca) = kerberized_koji(dir.path()).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../python/koji_gssapi_login.py");
    let hub = sim.hub_url.clone();
    let keytab = krb5_dir().join("koschei.keytab");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env_var("KOSCHEI_PYTHON"))
            .arg(script)
            .arg(&hub)
            .arg(&ca)
            .arg(format!("koschei@{REALM}"))
            .arg(&keytab)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "koschei");
}

/// The `[koji_config]` login keys of a Kerberos login with `keytab`.
fn gssapi_login(ca: &Path, keytab: &str) -> String {
    format!(
        "login_method = \"gssapi_login\"\nlogin_args = {{ principal = \"koschei@{REALM}\", \
         keytab = \"{}\", serverca = \"{}\" }}",
        krb5_dir().join(keytab).display(),
        ca.display()
    )
}

fn stack(dir: &Path, pool: &PgPool, sim: &koji_sim::Running, login: &str, extra: &str) -> Stack {
    Stack::new(
        dir,
        &StackConfig {
            db_url: &database_url(pool),
            koji: sim,
            amqp_url: &env_var("AMQP_URL"),
            queue: "unused",
            extra,
            koji_login: Some(login),
        },
    )
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn the_scheduler_submits_after_a_gssapi_login(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let (sim, ca) = kerberized_koji(dir.path()).await;
    let login = gssapi_login(&ca, "koschei.keytab");
    let mut stack = stack(
        dir.path(),
        &pool,
        &sim,
        &login,
        "[services.scheduler]\ninterval = 0.5\n[services.resolver]\ninterval = 1.0",
    );
    stack.track_f99().await;
    koschei_e2e::run(stack.admin(&["set-priority", "foo-app", "10000", "-c", "f99"])).await;
    stack.start("koschei-resolver", &["run"]);
    stack.start("koschei-scheduler", &["run"]);
    wait_for("a submitted build", Duration::from_secs(120), || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM build WHERE task_id IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap()
            > 0
    })
    .await;
    assert!(sim
        .sim
        .lock()
        .krb_principals
        .contains_key("koschei@KOSCHEI.TEST"));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_wrong_keytab_is_one_clear_line_and_the_scheduler_keeps_retrying(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let (sim, ca) = kerberized_koji(dir.path()).await;
    let good = gssapi_login(&ca, "koschei.keytab");
    stack(dir.path(), &pool, &sim, &good, "").track_f99().await;
    // The hub's service keytab holds no key of koschei@KOSCHEI.TEST.
    let wrong_dir = dir.path().join("wrong");
    std::fs::create_dir_all(&wrong_dir).unwrap();
    let login = gssapi_login(&ca, "koji-sim.keytab");
    let mut stack = stack(&wrong_dir, &pool, &sim, &login, "");
    stack.start("koschei-scheduler", &["run"]);
    let wrong = krb5_dir().join("koji-sim.keytab").display().to_string();
    let expected = format!("Kerberos login as koschei@{REALM} with keytab {wrong} failed");
    wait_for("two failed logins", Duration::from_secs(30), || async {
        stack.log("koschei-scheduler").matches(&expected).count() >= 2
    })
    .await;
    let log = stack.log("koschei-scheduler");
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&expected)).collect();
    assert!(lines[0].contains("retrying in"), "{}", lines[0]);
    assert!(
        !log.contains("panicked"),
        "the scheduler keeps running: {log}"
    );
    assert_eq!(
        sim.sim.lock().krb_principals.len(),
        1,
        "only the good login"
    );
}
