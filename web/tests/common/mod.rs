//! Shared test harness: the router driven with tower's `oneshot`, a client
//! keeping the session cookie, and a small Koschei world as fixture.
#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Extension;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http_body_util::BodyExt;
use koschei_core::fixtures::{self, NewBuild};
use koschei_core::model::BuildState;
use koschei_core::Config;
use sqlx::PgPool;
use tower::ServiceExt;

/// The schema, as the services apply it.
pub use koschei_core::db::MIGRATOR as MIGRATIONS;

/// The secret of the test configuration.
pub const SECRET: &str = "test secret of at least thirty-two bytes";

/// The test configuration: proxy-header login enabled, fixed secret.
pub fn config() -> Config {
    let mut c = Config::default();
    c.frontend.auth.enabled = true;
    c.frontend.secret_key = Some(SECRET.into());
    c.frontend.builds_per_page = 5;
    c.koji_config.build_arches = vec!["i386".into(), "x86_64".into(), "armhfp".into()];
    c
}

/// The application as `oneshot` drives it: every request comes from the
/// loopback peer (the default trusted proxy), as `ConnectInfo` would say.
pub fn app(pool: &PgPool, config: Config) -> Router {
    koschei_web::app(koschei_web::AppState::new(pool.clone(), config).expect("state")).layer(
        Extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000)))),
    )
}

/// Serves the application on a loopback port with the real peer address
/// (as `koschei-web` does); returns its base URL.
pub async fn serve(pool: &PgPool, config: Config) -> String {
    let app = koschei_web::app(koschei_web::AppState::new(pool.clone(), config).expect("state"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    base
}

/// An answer, body read as text.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location header ({})", self.status))
    }

    /// Asserts the status and that the body contains every snippet.
    #[track_caller]
    pub fn expect(&self, status: StatusCode, snippets: &[&str]) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        for s in snippets {
            assert!(self.body.contains(s), "missing {s:?} in:\n{}", self.body);
        }
        self
    }

    #[track_caller]
    pub fn lacks(&self, snippets: &[&str]) -> &Self {
        for s in snippets {
            assert!(
                !self.body.contains(s),
                "unexpected {s:?} in:\n{}",
                self.body
            );
        }
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// A browser-like client: keeps the session cookie, adds the CSRF token
/// to forms.
pub struct Client {
    pub app: Router,
    pub cookie: Option<String>,
}

impl Client {
    pub fn new(pool: &PgPool) -> Client {
        Client::with_config(pool, config())
    }

    pub fn with_config(pool: &PgPool, config: Config) -> Client {
        // Show logged server errors in the output of failing tests.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("koschei_web=debug,koschei_core=warn")
            .try_init();
        Client {
            app: app(pool, config),
            cookie: None,
        }
    }

    pub async fn send(&mut self, mut req: Request<Body>) -> Resp {
        if let Some(c) = &self.cookie {
            req.headers_mut().insert(
                header::COOKIE,
                format!("koschei_session={c}").parse().unwrap(),
            );
        }
        let res = self.app.clone().oneshot(req).await.expect("infallible");
        for v in res.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix("koschei_session=") {
                self.cookie = Some(rest.split(';').next().unwrap().to_string());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, uri: &str) -> Resp {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// The session's CSRF token (read from the signed cookie's payload,
    /// which follows the 44 base64 characters of its signature).
    pub fn csrf(&self) -> String {
        let cookie = self.cookie.as_deref().expect("a session cookie");
        let payload = &cookie[44..];
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        json["csrf"].as_str().unwrap().to_string()
    }

    /// POSTs a form with the session's CSRF token.
    pub async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post_raw(uri, &all).await
    }

    /// POSTs exactly the given fields.
    pub async fn post_raw(&mut self, uri: &str, fields: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// Logs in through the proxy identity header.
    pub async fn login(&mut self, user: &str) -> Resp {
        let res = self
            .send(
                Request::get("/login")
                    .header("X-Remote-User", user)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, StatusCode::FOUND, "{}", res.body);
        res
    }
}

/// Ids of the fixture world.
pub struct World {
    pub f25: i32,
    pub f26: i32,
    pub rnv: i32,
    pub eclipse: i32,
    pub unresolvable: i32,
    pub untracked: i32,
    pub rnv_f26: i32,
    pub rnv_ok_build: i32,
    pub rnv_infra_build: i32,
    pub eclipse_failed_build: i32,
    pub running_build: i32,
    pub java_group: i32,
    pub alice_group: i32,
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// Two collections (f26 "Fedora 26" shown first, f25 "Fedora 25"), and in
/// f25: `rnv` ok (an earlier failed build, an infrastructure failure after
/// the last good build, Koji tasks, applied and pending dependency
/// changes, resolution history), `eclipse` failing, `foo` unresolved with a
/// running build, `untracked-pkg` untracked; `rnv` also in f26. Groups:
/// global `java` (rnv, eclipse; maintainer bob) and `alice/mine` (foo;
/// maintainer alice). Users: alice, bob, admin (administrator).
pub async fn world(pool: &PgPool) -> World {
    let f25 = fixtures::collection(pool, "f25").await;
    let f26 = fixtures::collection(pool, "f26").await;
    exec(
        pool,
        &format!(
            "UPDATE collection SET display_name = 'Fedora 25', bugzilla_version = '25' WHERE id = {f25};
             UPDATE collection SET display_name = 'Fedora 26', \"order\" = 200, bugzilla_version = '26' WHERE id = {f26};"
        ),
    )
    .await;
    let rnv = fixtures::package(pool, f25, "rnv").await;
    let eclipse = fixtures::package(pool, f25, "eclipse").await;
    let unresolvable = fixtures::package(pool, f25, "foo").await;
    let untracked = fixtures::package(pool, f25, "untracked-pkg").await;
    let rnv_f26 = fixtures::package(pool, f26, "rnv").await;

    let mut failed = NewBuild::new(BuildState::Failed, 100.0);
    failed.version = "1.7.10".into();
    failed.release = "1.fc25".into();
    fixtures::build(pool, rnv, failed).await;
    let mut ok = NewBuild::new(BuildState::Complete, 50.0);
    ok.version = "1.7.11".into();
    ok.release = "2.fc25".into();
    ok.task_id = 424242;
    let rnv_ok_build = fixtures::build(pool, rnv, ok).await;
    let rnv_infra_build =
        fixtures::build(pool, rnv, NewBuild::new(BuildState::InfraFailure, 10.0)).await;
    let eclipse_ok =
        fixtures::build(pool, eclipse, NewBuild::new(BuildState::Complete, 80.0)).await;
    let eclipse_failed_build =
        fixtures::build(pool, eclipse, NewBuild::new(BuildState::Failed, 20.0)).await;
    fixtures::build(
        pool,
        unresolvable,
        NewBuild::new(BuildState::Complete, 30.0),
    )
    .await;
    let running_build =
        fixtures::build(pool, unresolvable, NewBuild::new(BuildState::Running, 1.0)).await;
    fixtures::build(pool, rnv_f26, NewBuild::new(BuildState::Failed, 5.0)).await;
    exec(
        pool,
        &format!(
            r#"UPDATE build SET submit_reason = '{{"priority": 300.5, "threshold": 256, "manual": 0, "static": 0,
                   "dependency": 200, "build": 0, "time": 100.5, "coefficient": 1}}', deps_resolved = true
               WHERE id = {rnv_ok_build};
             UPDATE build SET failure_reason = 'Koji builder crashed (repodata download timeout)' WHERE id = {rnv_infra_build};
             UPDATE build SET deps_resolved = true WHERE id IN ({eclipse_ok}, {eclipse_failed_build});
             UPDATE package SET resolved = false WHERE id = {unresolvable};
             UPDATE package SET tracked = false WHERE id = {untracked};
             UPDATE package SET infra_failures = 1, retry_after = (now() AT TIME ZONE 'UTC') + interval '2 hours',
                                dependency_priority = 40, manual_priority = 5 WHERE id = {rnv};
             INSERT INTO koji_task (build_id, task_id, arch, state, started, finished)
                 SELECT {rnv_ok_build}, 424243, 'x86_64', 2, started, finished FROM build WHERE id = {rnv_ok_build};
             INSERT INTO dependency (id, name, epoch, version, release, arch) VALUES
                 (1, 'glibc', 0, '2.24', '1.fc25', 'x86_64'), (2, 'glibc', 0, '2.25', '1.fc25', 'x86_64'),
                 (3, 'libxml2', 0, '2.9.4', '1.fc25', 'x86_64'), (4, 'libxml2', 0, '2.9.5', '1.fc25', 'x86_64'),
                 (5, 'newdep', 0, '1.0', '1', 'x86_64');
             INSERT INTO applied_change (build_id, prev_dep_id, curr_dep_id, distance) VALUES
                 ({rnv_ok_build}, 1, 2, 2), ({eclipse_failed_build}, 1, 2, 1);
             INSERT INTO unapplied_change (package_id, prev_dep_id, curr_dep_id, distance) VALUES
                 ({rnv}, 3, 4, 1), ({rnv}, NULL, 5, 3);
             WITH r AS (INSERT INTO resolution_change (resolved, "timestamp", package_id)
                        VALUES (false, (now() AT TIME ZONE 'UTC') - interval '3 hours', {unresolvable}) RETURNING id)
                 INSERT INTO resolution_problem (resolution_id, problem)
                 SELECT id, 'nothing provides libfoo-devel needed by foo' FROM r;
             INSERT INTO "user" (name, admin) VALUES ('alice', false), ('bob', false), ('admin', true);"#
        ),
    )
    .await;
    let java_group: i32 = sqlx::query_scalar(
        "INSERT INTO package_group (namespace, name) VALUES (NULL, 'java') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let alice_group: i32 = sqlx::query_scalar(
        "INSERT INTO package_group (namespace, name) VALUES ('alice', 'mine') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    exec(
        pool,
        &format!(
            r#"INSERT INTO package_group_relation (group_id, base_id)
                   SELECT {java_group}, base_id FROM package WHERE id IN ({rnv}, {eclipse});
               INSERT INTO package_group_relation (group_id, base_id)
                   SELECT {alice_group}, base_id FROM package WHERE id = {unresolvable};
               INSERT INTO group_acl (group_id, user_id) SELECT {java_group}, id FROM "user" WHERE name = 'bob';
               INSERT INTO group_acl (group_id, user_id) SELECT {alice_group}, id FROM "user" WHERE name = 'alice';"#
        ),
    )
    .await;
    World {
        f25,
        f26,
        rnv,
        eclipse,
        unresolvable,
        untracked,
        rnv_f26,
        rnv_ok_build,
        rnv_infra_build,
        eclipse_failed_build,
        running_build,
        java_group,
        alice_group,
    }
}

/// Audit-log messages, oldest first.
/// `koschei_core::fixtures::installability` for f25, with a second recorded size of the
/// binary named like the package (so its page draws the install size chart).
pub async fn installability_with_chart(pool: &PgPool, f25: i32) {
    koschei_core::fixtures::installability(pool, f25).await;
    sqlx::query(
        "INSERT INTO installability_change (collection_id, repo_id, name, arch, source_name,
             evr, installable, problems, install_count, download_size, install_size)
         VALUES ($1, 7, 'rnv', 'x86_64', 'rnv', '1.0-2', true, '{}', 13, 2600000, 9500000)",
    )
    .bind(f25)
    .execute(pool)
    .await
    .unwrap();
}

pub async fn audit_log(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT message FROM log_entry ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}
