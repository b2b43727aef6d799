//! Security of the web frontend, tried from outside: the identity header
//! and its trusted proxies, redirects after login, session lifetime and
//! server-side logout, the signing secret, security headers, links not
//! built from the client's `Host`, maintainer names, the access log and the
//! suspension notice. Requests go to the router (`oneshot`), to the router
//! served on a loopback port, or to the `koschei-web` binary.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{world, Client, MIGRATIONS};
use koschei_core::fixtures::database_url;
use koschei_web::http::session::{SessionData, SessionKey};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A `koschei-web` process on a loopback port, its stderr collected.
struct WebProcess {
    child: tokio::process::Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
    config: std::path::PathBuf,
}

impl WebProcess {
    /// Starts the binary on `pool`'s database with `config` (TOML) and
    /// waits until it listens; `Err` holds its output when it exits instead.
    async fn start(pool: &PgPool, config: &str) -> Result<WebProcess, String> {
        let path = std::env::temp_dir().join(format!("koschei-web-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&path, config).unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_koschei-web"))
            .args([
                "--config",
                path.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--db-connections", "2"])
            .env("KOSCHEI_CONFIG", "")
            .env("DATABASE_URL", database_url(pool))
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start koschei-web");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut base = None;
        while let Some(line) = lines.next_line().await.unwrap() {
            log.lock().unwrap().push(line.clone());
            if let Some((_, rest)) = line.split_once("listening on http://") {
                base = Some(format!("http://{}", rest.trim()));
                break;
            }
        }
        let Some(base) = base else {
            let _ = std::fs::remove_file(&path);
            return Err(log.lock().unwrap().join("\n"));
        };
        let sink = log.clone();
        let reader = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Ok(WebProcess {
            child,
            base,
            log,
            reader,
            config: path,
        })
    }

    /// Stops the process; returns everything it logged.
    async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_file(&self.config);
        // The reader ends at the end of the dead process's output.
        let _ = self.reader.await;
        let log = self.log.lock().unwrap().join("\n");
        log
    }
}

/// The configuration of a production-like server (login through the proxy).
fn binary_config(extra: &str) -> String {
    format!(
        "[frontend]\nsecret_key = \"{}\"\n{extra}\n[frontend.auth]\nenabled = true\n",
        common::SECRET
    )
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn user_exists(pool: &PgPool, name: &str) -> bool {
    sqlx::query_scalar(r#"SELECT EXISTS (SELECT 1 FROM "user" WHERE name = $1)"#)
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

// Item 1: the identity header is believed only from a trusted proxy.

#[sqlx::test(migrator = "MIGRATIONS")]
async fn identity_header_only_from_trusted_proxies(pool: PgPool) {
    world(&pool).await;
    let http = no_redirects();
    // The binary with the default trusted proxies (loopback): we are the proxy.
    let web = WebProcess::start(&pool, &binary_config("")).await.unwrap();
    let res = http
        .get(format!("{}/login?next=/groups", web.base))
        .header("X-Remote-User", "carol")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(user_exists(&pool, "carol").await);
    web.stop().await;

    // Only another host is trusted: a loopback client naming itself admin is
    // refused and nobody is logged in or created.
    let config = binary_config("").replace(
        "enabled = true",
        "enabled = true\ntrusted_proxies = [\"192.0.2.7\", \"198.51.100.0/24\"]",
    );
    let web = WebProcess::start(&pool, &config).await.unwrap();
    let res = http
        .get(format!("{}/login", web.base))
        .header("X-Remote-User", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    assert!(res.text().await.unwrap().contains("not trusted"));
    assert!(!user_exists(&pool, "mallory").await);
    let log = web.stop().await;
    assert!(
        log.contains("outside frontend.auth.trusted_proxies"),
        "{log}"
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn duplicated_identity_header_is_refused(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c
        .send(
            Request::get("/login")
                .header("X-Remote-User", "admin")
                .header("X-Remote-User", "mallory")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    res.expect(StatusCode::BAD_REQUEST, &["sent more than once"]);
    assert!(!user_exists(&pool, "mallory").await);
    c.get("/groups").await.expect(StatusCode::OK, &["Log in"]);
}

// Item 4: no open redirect after login.

#[sqlx::test(migrator = "MIGRATIONS")]
async fn hostile_next_values_redirect_home(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    for next in [
        "/%09/evil.example",
        "/%0d%0a/evil.example",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%255C%255Cevil.example",
        "/%2F%2Fevil.example",
        "//evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%7F/evil.example",
    ] {
        let res = c
            .send(
                Request::get(format!("/login?next={next}"))
                    .header("X-Remote-User", "alice")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, StatusCode::FOUND, "{next}");
        assert_eq!(res.location(), "/", "next={next}");
    }
    // A local path (with an encoded query) is kept.
    let res = c
        .send(
            Request::get("/login?next=%2Fpackage%2Frnv%3Fcollection%3Df25")
                .header("X-Remote-User", "alice")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.location(), "/package/rnv?collection=f25");
}

// Item 10: sessions end, on the server too.

#[sqlx::test(migrator = "MIGRATIONS")]
async fn logout_ends_copied_sessions(pool: PgPool) {
    world(&pool).await;
    let mut alice = Client::new(&pool);
    alice.login("alice").await;
    let mut thief = Client::new(&pool);
    thief.cookie = alice.cookie.clone();
    thief
        .get("/groups")
        .await
        .expect(StatusCode::OK, &["alice", "Log out"]);
    // Logging out is a POST with the CSRF token; a GET changes nothing.
    assert_eq!(
        alice.get("/logout").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    alice
        .post_raw("/logout", &[])
        .await
        .expect(StatusCode::BAD_REQUEST, &["CSRF token"]);
    thief
        .get("/groups")
        .await
        .expect(StatusCode::OK, &["Log out"]);
    let res = alice.post("/logout", &[]).await;
    assert_eq!(res.status, StatusCode::FOUND);
    alice
        .get("/groups")
        .await
        .expect(StatusCode::OK, &["Successfully logged out.", "Log in"]);
    // The copied cookie is no login any more.
    thief
        .get("/groups")
        .await
        .expect(StatusCode::OK, &["Log in"])
        .lacks(&["Log out", "alice"]);
    // Logging in again works.
    alice.login("alice").await;
    alice
        .get("/groups")
        .await
        .expect(StatusCode::OK, &["Log out"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn sessions_expire(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.login("alice").await;
    let set_cookie = res.headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Max-Age=604800"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    // A cookie signed with the server's key but issued 8 days ago (the
    // default lifetime is 7): not a session.
    let key = SessionKey::new(common::SECRET.as_bytes());
    let now = chrono::Utc::now().timestamp();
    let cookie = |issued: i64| {
        key.encode(&SessionData {
            user: Some("alice".into()),
            issued,
            csrf: "t".into(),
            ..SessionData::default()
        })
    };
    let mut old = Client::new(&pool);
    old.cookie = Some(cookie(now - 8 * 24 * 3600));
    old.get("/groups")
        .await
        .expect(StatusCode::OK, &["Your login has expired", "Log in"])
        .lacks(&["Log out"]);
    // Nor one issued in the future (a forged extension).
    let mut future = Client::new(&pool);
    future.cookie = Some(cookie(now + 30 * 24 * 3600));
    future.get("/groups").await.lacks(&["Log out"]);
    // Six days old is still a session.
    let mut recent = Client::new(&pool);
    recent.cookie = Some(cookie(now - 6 * 24 * 3600));
    recent
        .get("/groups")
        .await
        .expect(StatusCode::OK, &["Log out"]);
    // A shorter configured lifetime applies.
    let mut config = common::config();
    config.frontend.session_lifetime = 3600;
    config.frontend.secure_cookie = false;
    let mut short = Client::with_config(&pool, config);
    let res = short.login("alice").await;
    let set_cookie = res.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set_cookie.contains("Max-Age=3600"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    short.cookie = Some(cookie(now - 2 * 3600));
    short.get("/groups").await.lacks(&["Log out"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn weak_secret_keys_are_refused(pool: PgPool) {
    for secret in [None, Some(""), Some("REPLACE_ME"), Some("short secret")] {
        let mut config = common::config();
        config.frontend.secret_key = secret.map(str::to_string);
        let err = koschei_web::AppState::new(pool.clone(), config)
            .err()
            .unwrap_or_else(|| panic!("secret {secret:?} accepted"));
        assert!(err.to_string().contains("frontend.secret_key"), "{err}");
    }
    let mut config = common::config();
    config.frontend.secret_key = Some("REPLACE_ME_with_a_long_enough_value_0123456789".into());
    assert!(koschei_web::AppState::new(pool.clone(), config).is_err());
    // Development demos (bypass_login) may use a short secret or none.
    for secret in [None, Some("demo-only-secret")] {
        let mut config = common::config();
        config.bypass_login = Some("admin".into());
        config.frontend.secret_key = secret.map(str::to_string);
        assert!(koschei_web::AppState::new(pool.clone(), config).is_ok());
    }
    // The binary refuses to start.
    let out = WebProcess::start(&pool, "[frontend]\nsecret_key = \"REPLACE_ME\"\n")
        .await
        .err()
        .expect("koschei-web started with the placeholder secret");
    assert!(out.contains("frontend.secret_key"), "{out}");
}

// Low items: security headers, no cache of pages with a token, links not
// from Host, maintainer names, access log.

#[sqlx::test(migrator = "MIGRATIONS")]
async fn security_headers_on_every_response(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    for uri in [
        "/",
        "/package/rnv",
        "/api/v1/collections",
        "/static/koschei.css",
        "/badge/f25/rnv.svg",
        "/no-such-page",
    ] {
        let res = c.get(uri).await;
        let h = |name: header::HeaderName| {
            res.headers
                .get(&name)
                .unwrap_or_else(|| panic!("{uri}: no {name}"))
                .to_str()
                .unwrap()
                .to_string()
        };
        let csp = h(header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{uri}: {csp}");
        assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{uri}");
        assert_eq!(h(header::REFERRER_POLICY), "same-origin", "{uri}");
        assert_eq!(h(header::X_FRAME_OPTIONS), "DENY", "{uri}");
    }
    // Pages carrying a CSRF token or a login are not stored by caches.
    c.login("alice").await;
    for uri in ["/groups", "/add-group", "/package/rnv"] {
        let res = c.get(uri).await;
        assert!(res.body.contains("csrf_token"), "{uri}");
        assert_eq!(
            res.headers[header::CACHE_CONTROL],
            "private, no-store",
            "{uri}"
        );
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn bugreport_link_ignores_host_header(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c
        .send(
            Request::get("/bugreport/eclipse?collection=f25")
                .header(header::HOST, "evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    let loc = res.location();
    assert!(!loc.contains("evil.example"), "{loc}");
    assert!(
        loc.contains("%2Fpackage%2Feclipse%3Fcollection%3Df25"),
        "{loc}"
    );
    // With external_url the link is absolute under it.
    let mut config = common::config();
    config.frontend.external_url = Some("https://koschei.example.org/".into());
    let mut c = Client::with_config(&pool, config);
    let res = c
        .send(
            Request::get("/bugreport/eclipse?collection=f25")
                .header(header::HOST, "evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let loc = res.location();
    assert!(
        loc.contains("https%3A%2F%2Fkoschei.example.org%2Fpackage%2Feclipse"),
        "{loc}"
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn maintainer_and_user_names_are_validated(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    c.login("alice").await;
    for bad in ["bob/x", "bob?x", "bob#x", "bob%2Fx", "bo\u{7}b"] {
        c.post(
            "/add-group",
            &[("name", "tools"), ("owners", bad), ("packages", "rnv")],
        )
        .await
        .expect(StatusCode::OK, &["Invalid maintainer name"]);
    }
    c.post(
        "/groups/alice/mine/edit",
        &[
            ("name", "mine"),
            ("owners", "alice, eve/../admin"),
            ("packages", "foo"),
        ],
    )
    .await
    .expect(StatusCode::OK, &["Invalid maintainer name"]);
    let users: Vec<String> = sqlx::query_scalar(r#"SELECT name FROM "user" ORDER BY name"#)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(users.iter().all(|u| !u.contains('/')), "{users:?}");
    let groups: i64 = sqlx::query_scalar("SELECT count(*) FROM package_group")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(groups, 2);
    // The proxy's identity obeys the same rule.
    let mut mallory = Client::new(&pool);
    let res = mallory
        .send(
            Request::get("/login")
                .header("X-Remote-User", "admin/../x")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    res.expect(StatusCode::FORBIDDEN, &["is not accepted"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn access_log_records_requests_safely(pool: PgPool) {
    world(&pool).await;
    let web = WebProcess::start(&pool, &binary_config("")).await.unwrap();
    let http = no_redirects();
    let res = http
        .get(format!("{}/package/rnv?collection=f25", web.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A request string trying to forge a log line: logged escaped (as
    // received, quoted), never as a line of its own.
    let res = http
        .get(format!(
            "{}/no-such-page%0A%0DINFO%20forged?x=%0a2026",
            web.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let log = web.stop().await;
    let served: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("koschei_web::access"))
        .collect();
    let line = served
        .iter()
        .find(|l| l.contains("/package/rnv?collection=f25"))
        .unwrap_or_else(|| panic!("no access log line:\n{log}"));
    for part in [
        "method=\"GET\"",
        "peer=127.0.0.1:",
        "status=200",
        "latency_ms=",
    ] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    let line = served
        .iter()
        .find(|l| l.contains("status=404"))
        .unwrap_or_else(|| panic!("no 404 line:\n{log}"));
    assert!(
        line.contains("/no-such-page%0A%0DINFO%20forged?x=%0a2026"),
        "{line}"
    );
    assert!(!log.lines().any(|l| l.starts_with("INFO forged")), "{log}");
}

// Item 8 (web half): a suspended collection is announced on every page.

#[sqlx::test(migrator = "MIGRATIONS")]
async fn suspension_notice_on_every_page(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    c.get("/packages")
        .await
        .lacks(&["Scheduling of builds for"]);
    sqlx::query(
        "UPDATE collection SET scheduling_suspended = 'Koji target f25 was deleted'
         WHERE name = 'f25'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let notice = "Scheduling of builds for Fedora 25 is suspended: Koji target f25 was deleted";
    for uri in [
        "/packages",
        "/groups",
        "/package/rnv?collection=f26",
        "/stats",
    ] {
        c.get(uri).await.expect(StatusCode::OK, &[notice]);
    }
}
