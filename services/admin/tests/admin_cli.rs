//! `koschei-admin` run as a process against a real PostgreSQL database (one
//! per test): every command, and every bad input refused with a one-line
//! error, a non-zero exit and no change.

use std::io::Write;
use std::process::{Output, Stdio};

use koschei_core::fixtures::{self, NewBuild};
use koschei_core::model::BuildState;
use sqlx::PgPool;

mod common;
use common::{admin_command, database_url};

/// The schema, as the services apply it.
use koschei_core::db::MIGRATOR as MIGRATIONS;

struct Admin {
    url: String,
    config: tempfile::NamedTempFile,
}

impl Admin {
    fn new(pool: &PgPool) -> Admin {
        let mut config = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            config,
            "[koji_config]\nbuild_arches = [\"i386\", \"x86_64\", \"armhfp\"]"
        )
        .unwrap();
        Admin {
            url: database_url(pool),
            config,
        }
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = admin_command(&self.url, self.config.path(), args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run_with_stdin(args, "");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail with a one-line error containing `needle`.
    fn fails(&self, args: &[&str], needle: &str) {
        let out = self.run_with_stdin(args, "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} unexpectedly succeeded");
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} lacks {needle:?}"
        );
        if out.status.code() == Some(1) {
            assert_eq!(
                stderr.trim_end().lines().count(),
                1,
                "{args:?}: not one line: {stderr:?}"
            );
        }
    }
}

async fn log_messages(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT message FROM log_entry ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// A snapshot of everything the commands may change, to prove refusals
/// change nothing.
async fn snapshot(pool: &PgPool) -> String {
    let rows: Vec<(String,)> = sqlx::query_as(
        r#"SELECT row_to_json(t)::text FROM (
             SELECT 'p' AS k, id, name, tracked, manual_priority, static_priority, arch_override FROM package
             UNION ALL SELECT 'g', id, name, NULL, NULL, NULL, namespace FROM package_group
             UNION ALL SELECT 'r', group_id, base_id::text, NULL, NULL, NULL, NULL FROM package_group_relation
             UNION ALL SELECT 'a', group_id, user_id::text, NULL, NULL, NULL, NULL FROM group_acl
             UNION ALL SELECT 'n', 0, key, NULL, NULL, NULL, content FROM admin_notice
             UNION ALL SELECT 'c', id, name, NULL, NULL, NULL, display_name FROM collection_group
             UNION ALL SELECT 'l', id, message, NULL, NULL, NULL, NULL FROM log_entry
           ) t ORDER BY 1"#,
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(r,)| r)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn setup(pool: &PgPool) -> i32 {
    let c = fixtures::collection(pool, "f25").await;
    for name in ["rnv", "xpp3", "junit"] {
        let p = fixtures::package(pool, c, name).await;
        sqlx::query("UPDATE package SET tracked = false WHERE id = $1")
            .bind(p)
            .execute(pool)
            .await
            .unwrap();
    }
    c
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn create_db_twice_is_harmless(pool: PgPool) {
    let admin = Admin::new(&pool);
    admin.ok(&["create-db"]);
    admin.ok(&["create-db"]);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(n >= 3);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn notices(pool: PgPool) {
    let admin = Admin::new(&pool);
    admin.ok(&["set-notice", "  Koji is down  "]);
    let notice: String = sqlx::query_scalar("SELECT content FROM admin_notice")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(notice, "Koji is down");
    admin.ok(&["clear-notice"]);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_notice")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        log_messages(&pool).await,
        ["Admin notice added: Koji is down", "Admin notice cleared"]
    );
    let user: String = sqlx::query_scalar(
        r#"SELECT u.name FROM log_entry l JOIN "user" u ON u.id = l.user_id WHERE l.environment = 'admin' LIMIT 1"#,
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(user, "jdoe");
    let before = snapshot(&pool).await;
    admin.fails(&["set-notice", "   "], "empty");
    assert_eq!(snapshot(&pool).await, before);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn add_pkg(pool: PgPool) {
    setup(&pool).await;
    let admin = Admin::new(&pool);
    // The output is the audit entries written, as the original's
    // log_user_action prints them (koschei/admin.py, test/admin_test.py
    // test_add_pkg).
    let out = admin.ok(&["add-pkg", "rnv", "xpp3", "-c", "f25"]);
    assert_eq!(
        out,
        "Package rnv (collection f25): tracked set from False to True\n\
         Package xpp3 (collection f25): tracked set from False to True\n"
    );
    let tracked: Vec<String> =
        sqlx::query_scalar("SELECT name FROM package WHERE tracked ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(tracked, ["rnv", "xpp3"]);
    assert_eq!(
        log_messages(&pool).await,
        [
            "Package rnv (collection f25): tracked set from False to True",
            "Package xpp3 (collection f25): tracked set from False to True"
        ]
    );

    let before = snapshot(&pool).await;
    admin.fails(
        &["add-pkg", "junit", "nonexistent", "-c", "f25"],
        "Packages don't exist: nonexistent",
    );
    admin.fails(
        &["add-pkg", "junit", "-c", "f99"],
        "Collection not found: f99",
    );
    admin.fails(&["add-pkg", "-c", "f25"], "required");
    assert_eq!(
        snapshot(&pool).await,
        before,
        "refused commands changed something"
    );

    admin.ok(&["add-pkg", "--all", "-c", "f25"]);
    let untracked: i64 = sqlx::query_scalar("SELECT count(*) FROM package WHERE NOT tracked")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(untracked, 0);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn set_priority(pool: PgPool) {
    setup(&pool).await;
    let admin = Admin::new(&pool);
    admin.ok(&["set-priority", "rnv", "xpp3", "100", "--collection", "f25"]);
    let out = admin.ok(&[
        "set-priority",
        "junit",
        "-5",
        "--static",
        "--collection",
        "f25",
    ]);
    assert_eq!(
        out,
        "Package junit (collection f25): static_priority set from 0 to -5\n"
    );
    let rows: Vec<(String, i32, i32)> =
        sqlx::query_as("SELECT name, manual_priority, static_priority FROM package ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            ("junit".into(), 0, -5),
            ("rnv".into(), 100, 0),
            ("xpp3".into(), 100, 0)
        ]
    );
    assert!(log_messages(&pool)
        .await
        .contains(&"Package junit (collection f25): static_priority set from 0 to -5".to_string()));

    let before = snapshot(&pool).await;
    admin.fails(
        &[
            "set-priority",
            "rnv",
            "nonexistent",
            "7",
            "--collection",
            "f25",
        ],
        "nonexistent",
    );
    admin.fails(
        &["set-priority", "rnv", "high", "--collection", "f25"],
        "invalid priority value \"high\"",
    );
    admin.fails(
        &["set-priority", "rnv", "7", "--collection", "nope"],
        "Collection not found: nope",
    );
    assert_eq!(snapshot(&pool).await, before);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn set_arch_override(pool: PgPool) {
    setup(&pool).await;
    let f26 = fixtures::collection(&pool, "f26").await;
    fixtures::package(&pool, f26, "rnv").await;
    let admin = Admin::new(&pool);

    admin.ok(&[
        "set-arch-override",
        "rnv",
        "x86_64 i386",
        "--collection",
        "f25",
    ]);
    let rows: Vec<(i32, Option<String>)> =
        sqlx::query_as("SELECT collection_id, arch_override FROM package WHERE name = 'rnv' ORDER BY collection_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows[0].1.as_deref(), Some("x86_64 i386"));
    assert_eq!(rows[1].1, None, "other collection untouched");

    // Without --collection: every collection; empty clears.
    admin.ok(&["set-arch-override", "rnv", "^armhfp"]);
    let overrides: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT arch_override FROM package WHERE name = 'rnv' ORDER BY collection_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        overrides,
        [Some("^armhfp".to_string()), Some("^armhfp".to_string())]
    );
    admin.ok(&["set-arch-override", "rnv", "", "--collection", "f26"]);

    // The --group variant works.
    admin.ok(&["create-group", "java"]);
    admin.ok(&["add-group", "java", "xpp3", "junit"]);
    admin.ok(&[
        "set-arch-override",
        "java",
        "x86_64",
        "--group",
        "--collection",
        "f25",
    ]);
    let group_rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT name, arch_override FROM package WHERE collection_id = (SELECT id FROM collection WHERE name = 'f25')
         ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        group_rows,
        [
            ("junit".into(), Some("x86_64".into())),
            ("rnv".into(), Some("^armhfp".into())),
            ("xpp3".into(), Some("x86_64".into()))
        ]
    );

    let before = snapshot(&pool).await;
    admin.fails(
        &["set-arch-override", "rnv", "sparc64", "--collection", "f25"],
        "sparc64",
    );
    admin.fails(
        &["set-arch-override", "nonexistent", "x86_64"],
        "Packages don't exist: nonexistent",
    );
    admin.fails(
        &["set-arch-override", "nogroup", "x86_64", "--group"],
        "Group not found: nogroup",
    );
    admin.fails(
        &[
            "set-arch-override",
            "junit",
            "x86_64",
            "--collection",
            "f26",
        ],
        "junit",
    );
    assert_eq!(snapshot(&pool).await, before);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn group_commands(pool: PgPool) {
    setup(&pool).await;
    let admin = Admin::new(&pool);
    let mut content = tempfile::NamedTempFile::new().unwrap();
    writeln!(content, "rnv\n  xpp3 ").unwrap();
    let path = content.path().to_str().unwrap();

    admin.ok(&[
        "create-group",
        "jdoe/mine",
        "--content-from-file",
        path,
        "-m",
        "jdoe",
        "alice",
    ]);
    let members = |pool: PgPool, group: &'static str| async move {
        let v: Vec<String> = sqlx::query_scalar(
            "SELECT b.name FROM package_group g JOIN package_group_relation r ON r.group_id = g.id
             JOIN base_package b ON b.id = r.base_id WHERE g.name = $1 ORDER BY 1",
        )
        .bind(group)
        .fetch_all(&pool)
        .await
        .unwrap();
        v
    };
    assert_eq!(members(pool.clone(), "mine").await, ["rnv", "xpp3"]);
    let maintainers: Vec<String> = sqlx::query_scalar(
        r#"SELECT u.name FROM group_acl a JOIN "user" u ON u.id = a.user_id ORDER BY 1"#,
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(maintainers, ["alice", "jdoe"]);

    // Append from stdin, then replace, rename and make global.
    let out = admin.run_with_stdin(
        &[
            "edit-group",
            "jdoe/mine",
            "--content-from-file",
            "-",
            "--append",
        ],
        "junit\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        members(pool.clone(), "mine").await,
        ["junit", "rnv", "xpp3"]
    );
    let out = admin.run_with_stdin(
        &["edit-group", "jdoe/mine", "--content-from-file", "-"],
        "junit",
    );
    assert!(out.status.success());
    assert_eq!(members(pool.clone(), "mine").await, ["junit"]);
    admin.ok(&[
        "edit-group",
        "jdoe/mine",
        "--new-name",
        "java",
        "--make-global",
    ]);
    let g: (Option<String>, String) = sqlx::query_as("SELECT namespace, name FROM package_group")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(g, (None, "java".into()));

    // add-group creates or resets a group (the original's was broken).
    admin.ok(&["add-group", "newgroup", "rnv", "-m", "bob"]);
    assert_eq!(members(pool.clone(), "newgroup").await, ["rnv"]);
    admin.ok(&["add-group", "newgroup", "xpp3"]);
    assert_eq!(members(pool.clone(), "newgroup").await, ["xpp3"]);

    let log = log_messages(&pool).await;
    for expected in [
        "Group jdoe/mine created",
        "Group jdoe/mine modified: package rnv added",
        "Group jdoe/mine modified: maintainer alice added",
        "Group jdoe/mine modified: package junit added",
        "Group jdoe/mine modified: package rnv removed",
        "Group newgroup modified: package rnv removed",
    ] {
        assert!(
            log.iter().any(|m| m == expected),
            "missing audit {expected:?} in {log:?}"
        );
    }

    let before = snapshot(&pool).await;
    admin.fails(&["create-group", "java"], "Group already exists: java");
    admin.fails(&["create-group", "bad name"], "Invalid group name");
    let mut empty = tempfile::NamedTempFile::new().unwrap();
    writeln!(empty, "   ").unwrap();
    admin.fails(
        &[
            "create-group",
            "other",
            "--content-from-file",
            empty.path().to_str().unwrap(),
        ],
        "Group content empty",
    );
    let mut bad = tempfile::NamedTempFile::new().unwrap();
    writeln!(bad, "rnv ghost").unwrap();
    admin.fails(
        &[
            "create-group",
            "other2",
            "--content-from-file",
            bad.path().to_str().unwrap(),
        ],
        "Packages don't exist: ghost",
    );
    admin.fails(
        &["edit-group", "nope", "--new-name", "x"],
        "Group not found: nope",
    );
    admin.fails(
        &["edit-group", "java", "--new-name", "newgroup"],
        "Group already exists: newgroup",
    );
    admin.fails(
        &["add-group", "java", "ghost"],
        "Packages don't exist: ghost",
    );
    // Maintainer names follow the user-name rule (`/ ? #` would break links).
    for bad in ["eve/../admin", "eve?x", "eve#x", "eve\u{1b}[2J"] {
        admin.fails(
            &["add-group", "java", "-m", "alice", bad],
            "Invalid maintainer name",
        );
        admin.fails(
            &["create-group", "other3", "-m", bad],
            "Invalid maintainer name",
        );
    }
    assert_eq!(snapshot(&pool).await, before);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collection_group_commands(pool: PgPool) {
    setup(&pool).await;
    fixtures::collection(&pool, "f26").await;
    let admin = Admin::new(&pool);
    admin.ok(&[
        "create-collection-group",
        "fedora",
        "-d",
        "Fedora",
        "-c",
        "f25",
        "f26",
    ]);
    admin.ok(&[
        "edit-collection-group",
        "fedora",
        "-d",
        "Fedora Linux",
        "-c",
        "f26",
    ]);
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT g.display_name, c.name FROM collection_group g
         JOIN collection_group_relation r ON r.group_id = g.id JOIN collection c ON c.id = r.collection_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows, [("Fedora Linux".to_string(), "f26".to_string())]);

    let before = snapshot(&pool).await;
    admin.fails(
        &["create-collection-group", "fedora", "-d", "X"],
        "Collection group already exists: fedora",
    );
    admin.fails(
        &["create-collection-group", "epel", "-d", "EPEL", "-c", "el9"],
        "Collection not found: el9",
    );
    admin.fails(
        &["edit-collection-group", "nope", "-d", "X"],
        "Collection group not found: nope",
    );
    admin.fails(
        &["delete-collection-group", "nope"],
        "Collection group not found: nope",
    );
    assert_eq!(snapshot(&pool).await, before);

    admin.ok(&["delete-collection-group", "fedora"]);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM collection_group")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn cleanup_keeps_last_builds(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    let ancient =
        fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 24.0 * 400.0)).await;
    let old_last = fixtures::build(&pool, p, NewBuild::new(BuildState::Failed, 24.0 * 300.0)).await;
    let q = fixtures::package(&pool, c, "xpp3").await;
    let q_old = fixtures::build(&pool, q, NewBuild::new(BuildState::Complete, 24.0 * 300.0)).await;
    let q_new = fixtures::build(&pool, q, NewBuild::new(BuildState::Complete, 1.0)).await;
    sqlx::query(
        "INSERT INTO resolution_change (package_id, resolved, timestamp)
         VALUES ($1, true, now() - interval '1 year'), ($1, false, now())",
    )
    .bind(p)
    .execute(&pool)
    .await
    .unwrap();
    let admin = Admin::new(&pool);
    admin.fails(&["cleanup", "--older-than", "1"], "at least 2");
    let out = admin.ok(&["cleanup", "--older-than", "6"]);
    assert!(
        out.contains("Deleted 2 builds") && out.contains("Deleted 1 resolution changes"),
        "{out}"
    );
    let left: Vec<i32> = sqlx::query_scalar("SELECT id FROM build ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, [old_last, q_new]);
    assert!(!left.contains(&ancient) && !left.contains(&q_old));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_inspector(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 34.0)).await;
    sqlx::query("UPDATE package SET manual_priority = 10, dependency_priority = 40 WHERE id = $1")
        .bind(p)
        .execute(&pool)
        .await
        .unwrap();
    let admin = Admin::new(&pool);
    let json: serde_json::Value =
        serde_json::from_str(&admin.ok(&["package", "rnv", "--collection", "f25", "--json"]))
            .unwrap();
    assert_eq!(json["state"], "ok");
    let priority = &json["priority"];
    assert_eq!(priority["manual"], 10);
    assert_eq!(priority["dependency"], 40);
    let time = priority["time"].as_f64().unwrap();
    assert!((time - 133.2625).abs() < 0.01, "{time}");
    assert!((priority["current"].as_f64().unwrap() - (10.0 + 40.0 + time)).abs() < 1e-6);
    assert_eq!(json["skip_reasons"].as_array().unwrap().len(), 0);
    assert_eq!(json["builds"][0]["state"], "complete");

    let text = admin.ok(&["package", "rnv", "--collection", "f25"]);
    assert!(text.contains("State:           ok"), "{text}");
    assert!(text.contains("below the threshold 256"), "{text}");

    sqlx::query("UPDATE package SET tracked = false, resolved = false WHERE id = $1")
        .bind(p)
        .execute(&pool)
        .await
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&admin.ok(&["package", "rnv", "--collection", "f25", "--json"]))
            .unwrap();
    assert_eq!(json["priority"]["current"], serde_json::Value::Null);
    assert_eq!(
        json["skip_reasons"],
        serde_json::json!([
            "Package is not tracked",
            "Package dependencies are not resolvable"
        ])
    );

    admin.fails(&["package", "ghost", "--collection", "f25"], "ghost");
    admin.fails(
        &["package", "rnv", "--collection", "f99"],
        "Collection not found: f99",
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn check_finds_every_kind_of_inconsistency(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    let q = fixtures::package(&pool, c, "xpp3").await;
    fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 5.0)).await;
    fixtures::build(&pool, q, NewBuild::new(BuildState::Failed, 5.0)).await;
    let admin = Admin::new(&pool);
    assert!(admin.ok(&["check"]).contains("consistent"));

    let exec = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query(sql).execute(&pool).await.unwrap() }
    };
    // a pointer the triggers would never leave, a priority its changes do not give,
    // a second running build, and messages that skip a state
    exec("UPDATE package SET last_build_id = NULL WHERE name = 'rnv'").await;
    exec("UPDATE package SET dependency_priority = 30 WHERE name = 'xpp3'").await;
    exec(
        "INSERT INTO build (package_id, state, task_id, started)
          SELECT id, 2, 901, now() FROM package WHERE name = 'xpp3'
          UNION ALL SELECT id, 2, 902, now() FROM package WHERE name = 'xpp3'",
    )
    .await;
    exec(r#"INSERT INTO message_outbox (topic, body) VALUES
          ('koschei.package.state.change', '{"name": "rnv", "collection": "f25", "old": "ignored", "new": "ok"}'),
          ('koschei.package.state.change', '{"name": "rnv", "collection": "f25", "old": "failing", "new": "unresolved"}')"#)
    .await;
    let out = admin.run_with_stdin(&["check"], "");
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "last-build pointers: rnv",
        "dependency priorities: xpp3",
        "one running build per package",
        "message failing -> unresolved follows one ending in ok",
        "the last message ends in unresolved, the state is ok",
    ] {
        assert!(stdout.contains(expected), "{expected:?} not in {stdout}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("violations"));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn installability_of_a_package_and_of_a_collection(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    fixtures::package(&pool, c, "rnv").await;
    let admin = Admin::new(&pool);
    let never = admin.ok(&["installability", "rnv", "-c", "f25"]);
    assert!(
        never.contains("0 binaries, 0 not installable (no repo checked yet)"),
        "{never}"
    );
    fixtures::installability(&pool, c).await;
    let json: serde_json::Value =
        serde_json::from_str(&admin.ok(&["installability", "rnv", "-c", "f25", "--json"])).unwrap();
    assert_eq!(json["checked_repo_id"], 7);
    assert_eq!(json["binaries"][0]["install_size"], 9000000);
    assert_eq!(json["binaries"][1]["installable"], false);
    assert_eq!(json["history"].as_array().unwrap().len(), 3);
    let text = admin.ok(&["installability", "rnv", "-c", "f25"]);
    assert!(
        text.contains(
            "rnv-1.0-1.x86_64: installable with 12 packages, 2.5 MB to download, 9.0 MB installed"
        ),
        "{text}"
    );
    assert!(
        text.contains("rnv-extras-1.0-1.noarch: NOT installable (since repo 7)"),
        "{text}"
    );
    assert!(text.contains("nothing provides libgone.so.1"), "{text}");
    assert!(
        text.contains(
            "A rebuild would fix it: the binaries of scratch build task 9007 (on repo 7) \
             install from repo 7."
        ),
        "{text}"
    );
    assert_eq!(json["rebuild"]["installable"], true);
    let whole = admin.ok(&["installability", "-c", "f25"]);
    assert!(
        whole.starts_with("f25: repo 7: 2 binaries, 1 not installable\nrnv:\n"),
        "{whole}"
    );
    assert!(!whole.contains("rnv-1.0-1.x86_64"), "{whole}");
    admin.fails(&["installability", "ghost", "-c", "f25"], "ghost");
    admin.fails(
        &["installability", "-c", "f99"],
        "Collection not found: f99",
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn impact_checks_are_created_listed_and_shown(pool: PgPool) {
    fixtures::collection(&pool, "f25").await;
    let admin = Admin::new(&pool);
    let id = admin.ok(&[
        "impact-check",
        "create",
        "-c",
        "f25",
        "--side-tag",
        "f25-build-side-42",
        "--depth",
        "2",
        "--max-builds",
        "5",
    ]);
    // the audit line, then the id alone
    let lines: Vec<&str> = id.lines().collect();
    assert_eq!(
        lines[0],
        "Impact check 1 of side tag f25-build-side-42 against f25 queued"
    );
    let id: i32 = lines[1].parse().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&admin.ok(&["impact-check", "show", &id.to_string(), "--json"]))
            .unwrap();
    assert_eq!(json["check"]["state"], "queued");
    assert_eq!(json["check"]["side_tag"], "f25-build-side-42");
    assert_eq!(json["check"]["depth"], 2);
    assert_eq!(json["check"]["max_builds"], 5);
    assert_eq!(json["check"]["builds"], true);
    assert_eq!(json["events"][0]["state"], "queued");
    let text = admin.ok(&["impact-check", "show", &id.to_string()]);
    assert!(
        text.starts_with(&format!(
            "Impact check {id} side tag f25-build-side-42 against f25: queued\n"
        )),
        "{text}"
    );
    admin.ok(&[
        "impact-check",
        "create",
        "-c",
        "f25",
        "--side-tag",
        "f25-build-side-43",
        "--no-builds",
    ]);
    let list = admin.ok(&["impact-check", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].contains("f25-build-side-43"), "{list}");
    // refused with a one-line error, nothing created
    admin.fails(
        &["impact-check", "create", "-c", "f99", "--side-tag", "x"],
        "Collection not found: f99",
    );
    admin.fails(
        &["impact-check", "create", "-c", "f25", "--side-tag", "a b"],
        "Invalid side tag name",
    );
    admin.fails(
        &[
            "impact-check",
            "create",
            "-c",
            "f25",
            "--side-tag",
            "t",
            "--depth",
            "0",
        ],
        "Invalid depth 0",
    );
    admin.fails(
        &["impact-check", "show", "999"],
        "Impact check not found: 999",
    );
    assert_eq!(admin.ok(&["impact-check", "list"]).lines().count(), 2);

    // a Copr project's repository (under the default prefix): resolution only
    let copr = "https://download.copr.fedorainfracloud.org/results/@python/python3.14/fedora-rawhide-x86_64/";
    let out = admin.ok(&["impact-check", "create", "-c", "f25", "--repo", copr]);
    let id = out.lines().last().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&admin.ok(&["impact-check", "show", id, "--json"])).unwrap();
    assert_eq!(json["check"]["repo_url"], copr);
    assert_eq!(json["check"]["side_tag"], serde_json::Value::Null);
    assert_eq!(json["check"]["builds"], false);
    admin.fails(
        &[
            "impact-check",
            "create",
            "-c",
            "f25",
            "--repo",
            "https://copr.evil.test/x/",
        ],
        "is not under an allowed prefix (https://download.copr.fedorainfracloud.org/results/)",
    );
    admin.fails(
        &[
            "impact-check",
            "create",
            "-c",
            "f25",
            "--repo",
            copr,
            "--side-tag",
            "t",
        ],
        "cannot be used with",
    );
    admin.fails(&["impact-check", "create", "-c", "f25"], "--side-tag");
    assert_eq!(admin.ok(&["impact-check", "list"]).lines().count(), 3);
}
