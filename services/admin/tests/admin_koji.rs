//! The admin commands that talk to Koji, against koji-sim and a real
//! PostgreSQL: collections (create, edit, branch, fork, delete), forced
//! submission, forced re-resolution, and `depsolve`.

use std::io::Write;

use koschei_core::koji_sessions::{client_config, KojiSessions};
use koschei_core::refresh::{koji_collections, refresh_latest_builds, refresh_packages};
use koschei_core::{Backend, Config};
use sqlx::PgPool;

mod common;
use common::{admin_command, database_url};

/// The schema, as the services apply it.
use koschei_core::db::MIGRATOR as MIGRATIONS;

struct Env {
    sim: koji_sim::Running,
    _dir: tempfile::TempDir,
    config_file: tempfile::NamedTempFile,
    url: String,
    pool: PgPool,
}

async fn env(pool: PgPool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sim = koji_sim::start_for_tests(dir.path(), None)
        .await
        .expect("koji-sim starts");
    let mut config_file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        config_file,
        "[koji_config]\nserver = \"{}\"\ntopurl = \"{}\"\nload_threshold = 1.0\n\
         [koji_config.session_opts]\nmax_retries = 1\nretry_interval = 0.05",
        sim.hub_url, sim.topurl
    )
    .unwrap();
    Env {
        sim,
        _dir: dir,
        config_file,
        url: database_url(&pool),
        pool,
    }
}

impl Env {
    /// Runs koschei-admin without blocking the runtime serving koji-sim.
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = admin_command(&self.url, self.config_file.path(), args);
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args).await;
        assert!(ok, "{args:?} failed: {stderr}");
        stdout
    }

    async fn fails(&self, args: &[&str], needle: &str) {
        let (ok, _, stderr) = self.run(args).await;
        assert!(!ok, "{args:?} unexpectedly succeeded");
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} lacks {needle:?}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    }

    fn config(&self) -> Config {
        let mut config = Config::default();
        config.koji_config.server = self.sim.hub_url.clone();
        config.koji_config.topurl = self.sim.topurl.clone();
        config
    }

    /// A Koji client of koji-sim.
    fn koji(&self) -> koschei_koji::client::KojiClient {
        koschei_koji::client::KojiClient::anonymous(client_config(&self.config().koji_config, 100))
            .unwrap()
    }

    fn sessions(&self) -> (KojiSessions, Config) {
        (KojiSessions::new(self.koji(), None), self.config())
    }

    /// Registers packages and real builds of every collection, as the poller does.
    async fn poll(&self) {
        let (sessions, config) = self.sessions();
        for c in koji_collections(&self.pool).await.unwrap() {
            refresh_packages(&self.pool, &sessions, &c).await.unwrap();
            let backend = Backend::new(self.pool.clone(), sessions.clone(), config.clone());
            refresh_latest_builds(&backend, &c).await.unwrap();
        }
    }

    async fn collections(&self) -> Vec<(String, String, String, String, i32)> {
        sqlx::query_as(
            r#"SELECT name, display_name, target, build_tag, "order" FROM collection ORDER BY name"#,
        )
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collection_lifecycle(pool: PgPool) {
    let env = env(pool).await;
    env.ok(&[
        "create-collection",
        "f99",
        "-d",
        "Fedora 99",
        "-t",
        "f99",
        "--bugzilla-product",
        "Fedora",
    ])
    .await;
    assert_eq!(
        env.collections().await,
        [(
            "f99".into(),
            "Fedora 99".into(),
            "f99".into(),
            "f99-build".into(),
            100
        )]
    );
    env.fails(
        &["create-collection", "f98", "-d", "X", "-t", "nope"],
        "Target not found in Koji: nope",
    )
    .await;
    env.fails(
        &["create-collection", "f99", "-d", "X", "-t", "f99"],
        "Collection already exists: f99",
    )
    .await;

    env.ok(&[
        "edit-collection",
        "f99",
        "-d",
        "Fedora Rawhide",
        "-p",
        "0.5",
    ])
    .await;
    let (display, coefficient): (String, f64) = sqlx::query_as(
        "SELECT display_name, priority_coefficient FROM collection WHERE name = 'f99'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!((display.as_str(), coefficient), ("Fedora Rawhide", 0.5));
    sqlx::query("UPDATE collection SET scheduling_suspended = 'gone'")
        .execute(&env.pool)
        .await
        .unwrap();
    env.ok(&["edit-collection", "f99", "--resume"]).await;
    let suspended: Option<String> =
        sqlx::query_scalar("SELECT scheduling_suspended FROM collection")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(suspended, None);

    env.poll().await;
    let packages: i64 = sqlx::query_scalar("SELECT count(*) FROM package")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(packages >= 10);

    // Fork keeps the master's settings and copies the last builds.
    env.ok(&[
        "fork-collection",
        "f99",
        "f99-side-1",
        "-d",
        "Side tag",
        "-t",
        "f99",
    ])
    .await;
    let copied: (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT p.id), count(b.id) FROM package p JOIN collection c ON c.id = p.collection_id
         LEFT JOIN build b ON b.package_id = p.id WHERE c.name = 'f99-side-1'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(copied.0, packages);
    assert!(copied.1 >= 10);
    let pointers_ok: bool = sqlx::query_scalar(
        "SELECT bool_and(lb.package_id = p.id) FROM package p JOIN build lb ON lb.id = p.last_build_id
         JOIN collection c ON c.id = p.collection_id WHERE c.name = 'f99-side-1'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert!(
        pointers_ok,
        "copied packages point at their own copied builds"
    );

    // Branching, as test/admin_test.py `test_collection_commands`: rawhide
    // "f99" branches; a new "f99" keeps the target, dest tag and order and
    // gets the given display name and Bugzilla version, while the master,
    // with its history, becomes "f100" on the new target, one step later.
    env.ok(&[
        "edit-collection",
        "f99",
        "--bugzilla-version",
        "rawhide",
        "-o",
        "128",
    ])
    .await;
    let koji = env.koji();
    koji.create_tag("f100", None, Some("x86_64")).await.unwrap();
    koji.create_tag("f100-build", Some("f100"), Some("x86_64"))
        .await
        .unwrap();
    koji.create_build_target("f100", "f100-build", "f100")
        .await
        .unwrap();
    let master_id: i32 = sqlx::query_scalar("SELECT id FROM collection WHERE name = 'f99'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    env.ok(&[
        "branch-collection",
        "f99",
        "f100",
        "-d",
        "Fedora 99",
        "-t",
        "f100",
        "--bugzilla-version",
        "99",
    ])
    .await;
    let names: Vec<String> = env.collections().await.into_iter().map(|c| c.0).collect();
    assert_eq!(names, ["f100", "f99", "f99-side-1"]);
    type Row = (i32, String, String, String, String, Option<String>, i32);
    let row = |name: &'static str| {
        sqlx::query_as::<_, Row>(
            r#"SELECT id, display_name, target, build_tag, dest_tag, bugzilla_version, "order"
               FROM collection WHERE name = $1"#,
        )
        .bind(name)
        .fetch_one(&env.pool)
    };
    let master = row("f100").await.unwrap();
    let branched = row("f99").await.unwrap();
    assert_eq!(
        master,
        (
            master_id,
            "Fedora Rawhide".into(),
            "f100".into(),
            "f100-build".into(),
            "f100-build".into(),
            Some("rawhide".into()),
            129
        )
    );
    assert_ne!(branched.0, master_id);
    assert_eq!(
        (branched.1, branched.2, branched.3, branched.4, branched.5, branched.6),
        (
            "Fedora 99".into(),
            "f99".into(),
            "f99-build".into(),
            "f99-build".into(),
            Some("99".into()),
            128
        )
    );
    let branched_packages: i64 =
        sqlx::query_scalar("SELECT count(*) FROM package WHERE collection_id = $1")
            .bind(branched.0)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(
        branched_packages, packages,
        "the branched copy has the packages"
    );
    env.fails(
        &["branch-collection", "f99", "f100", "-d", "X", "-t", "f100"],
        "Collection already exists: f100",
    )
    .await;
    let log: Vec<String> = sqlx::query_scalar("SELECT message FROM log_entry ORDER BY id")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    for expected in [
        "Collection f99 created",
        "Collection f99 modified",
        "Collection f99-side-1 forked from f99",
        "Collection f100 branched from f99",
    ] {
        assert!(
            log.iter().any(|m| m == expected),
            "{expected:?} not in {log:?}"
        );
    }

    env.fails(&["delete-collection", "f99-side-1"], "use --force")
        .await;
    env.ok(&["delete-collection", "f99-side-1", "--force"])
        .await;
    env.fails(&["delete-collection", "nope"], "Collection not found: nope")
        .await;
    assert_eq!(env.collections().await.len(), 2);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn submit_build_and_resolve(pool: PgPool) {
    let env = env(pool).await;
    env.ok(&["create-collection", "f99", "-d", "Fedora 99", "-t", "f99"])
        .await;
    env.poll().await;
    env.fails(&["submit-build", "foo-app", "-c", "f99"], "not resolved")
        .await;
    let repo: i32 = 1000;
    sqlx::query("UPDATE collection SET latest_repo_id = $1, latest_repo_resolved = true")
        .bind(repo)
        .execute(&env.pool)
        .await
        .unwrap();
    // Without --collection: every collection whose base buildroot is
    // resolved, as koschei/admin.py SubmitBuild (test/admin_test.py
    // test_submit_build calls `submit-build rnv`).
    let out = env.ok(&["submit-build", "foo-app"]).await;
    assert!(
        out.contains("Build of foo-app (collection f99) submitted as task"),
        "{out}"
    );
    let (state, reason): (i32, serde_json::Value) = sqlx::query_as(
        "SELECT b.state, b.submit_reason FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.name = 'foo-app' AND NOT b.real",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(state, 2);
    assert_eq!(reason["forced"], true);
    // A package Koji has no SRPM for, and one without a complete build, are
    // reported and skipped; the others are submitted (koschei/admin.py).
    sqlx::query(
        "WITH b AS (INSERT INTO base_package (name) VALUES ('phantom'), ('unbuilt') RETURNING id, name)
         INSERT INTO package (base_id, name, collection_id, tracked)
         SELECT b.id, b.name, c.id, true FROM b, collection c",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO build (package_id, state, task_id, started, finished, version, release, repo_id, real)
         SELECT id, 3, 999999, '2026-01-01', '2026-01-01', '1', '1', 1000, true FROM package WHERE name = 'phantom'",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    let out = env
        .ok(&["submit-build", "phantom", "unbuilt", "bash", "-c", "f99"])
        .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("Build of bash (collection f99) submitted as task"),
        "{out}"
    );
    assert_eq!(
        lines[1..],
        [
            "No SRPM found for package phantom in collection f99",
            "No complete build of package unbuilt in collection f99: nothing to rebuild"
        ]
    );
    env.fails(&["submit-build", "ghost", "-c", "f99"], "ghost")
        .await;
    env.fails(
        &["submit-build", "ghost"],
        "Packages not found in any collection",
    )
    .await;
    env.fails(
        &["submit-build", "foo-app", "-c", "nope"],
        "Collection not found",
    )
    .await;

    sqlx::query("UPDATE package SET resolved = true")
        .execute(&env.pool)
        .await
        .unwrap();
    env.ok(&["resolve", "foo-app", "-c", "f99"]).await;
    let unresolved: Vec<String> =
        sqlx::query_scalar("SELECT name FROM package WHERE resolved IS NULL")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(unresolved, ["foo-app"]);
    env.ok(&["resolve", "--all", "-c", "f99"]).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM package WHERE resolved IS NOT NULL")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    env.fails(&["resolve", "-c", "f99"], "use --all").await;
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn depsolve_explains_resolution(pool: PgPool) {
    let env = env(pool).await;
    let seed = koji_sim::tiny_seed();
    let seed = seed.to_str().unwrap();
    let out = env
        .ok(&[
            "depsolve",
            "--repo",
            seed,
            "--group",
            "build",
            "--json",
            "foo-app-deps-unused",
        ])
        .await;
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["resolved"], false);
    assert_eq!(
        json["problems"][0],
        "No package found for: foo-app-deps-unused"
    );

    let out = env
        .ok(&[
            "depsolve", "--repo", seed, "--group", "build", "--json", "gcc",
        ])
        .await;
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["resolved"], true, "{json}");
    let gcc = json["installs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "gcc")
        .unwrap();
    assert_eq!(gcc["distance"], 1);

    // Over HTTP from Koji's repo tree, as a packager would.
    let url = format!("{}/repos/f99-build/1000/x86_64", env.sim.topurl);
    let out = env
        .ok(&["depsolve", "--repo", &url, "--group-pkg", "bash", "gcc"])
        .await;
    assert!(out.starts_with("Resolved:"), "{out}");
    env.fails(
        &["depsolve", "--repo", "/nonexistent", "gcc"],
        "/nonexistent",
    )
    .await;
}
