//! `koschei-admin migrate-from-koschei` run as a process: a database with
//! the original Koschei 2.4 schema (`fixtures/koschei-2.4-schema.sql`,
//! generated from fedora-infra/koschei's models) and a small data set is
//! copied into a fresh database of ours, which must then pass
//! `koschei-admin check`.

use std::process::Output;

use sqlx::{Connection, PgConnection, PgPool};

mod common;
use common::{admin_command, database_url};

/// The schema, as the services apply it.
use koschei_core::db::MIGRATOR as MIGRATIONS;

const ORIGINAL_SCHEMA: &str = include_str!("fixtures/koschei-2.4-schema.sql");

/// A representative data set of the original, written with its own columns
/// (`koschei/models.py`); its triggers set the last-build pointers.
const ORIGINAL_DATA: &str = r#"
INSERT INTO "user" (name, admin) VALUES ('alice', true), ('bob', false);
INSERT INTO collection (name, display_name, target, dest_tag, build_tag, "order", priority_coefficient,
                        latest_repo_id, latest_repo_resolved, bugzilla_product, bugzilla_version)
VALUES ('f45', 'Fedora Rawhide', 'f45', 'f45', 'f45-build', 100, 0.5, 1000, true, 'Fedora', 'rawhide'),
       ('f44', 'Fedora 44', 'f44', 'f44', 'f44-build', 101, 1, 900, false, 'Fedora', '44');
INSERT INTO collection_group (name, display_name) VALUES ('fedora', 'Fedora');
INSERT INTO collection_group_relation SELECT g.id, c.id FROM collection_group g, collection c;
INSERT INTO base_package (name) VALUES ('rnv'), ('eclipse'), ('maven');
INSERT INTO package (base_id, name, collection_id, tracked, manual_priority, static_priority,
                     build_priority, dependency_priority, resolved, arch_override,
                     skip_resolution, scheduler_skip_reason)
SELECT b.id, b.name, c.id, true,
       CASE WHEN b.name = 'rnv' AND c.name = 'f45' THEN 3000 ELSE 0 END,
       CASE WHEN b.name = 'rnv' AND c.name = 'f45' THEN 100 ELSE 0 END,
       CASE WHEN b.name = 'rnv' AND c.name = 'f45' THEN 200 ELSE 0 END,
       CASE WHEN b.name = 'rnv' AND c.name = 'f45' THEN 128 ELSE 0 END,
       CASE b.name WHEN 'eclipse' THEN false WHEN 'maven' THEN NULL ELSE true END,
       CASE WHEN b.name = 'eclipse' THEN 'x86_64' END,
       b.name = 'maven',
       CASE WHEN b.name = 'maven' THEN 1 END
FROM base_package b, collection c;
UPDATE package SET blocked = true WHERE name = 'maven' AND collection_id = (SELECT id FROM collection WHERE name = 'f44');

-- rnv in f45: a real complete build, then a failed scratch build with
-- dependency changes; eclipse in f45: a failed build, then a running one;
-- rnv in f44: complete. Plus a build whose package is gone (the original
-- allows a NULL package_id).
INSERT INTO build (package_id, state, task_id, started, finished, epoch, version, release, repo_id,
                   last_complete, deps_resolved, "real", dependency_keys)
SELECT p.id, v.state, v.task_id, v.started::timestamp, v.finished::timestamp, NULL, v.version,
       v.release, v.repo_id, false, v.deps_resolved, v.real, v.keys::bytea
FROM (VALUES
    ('rnv', 'f45', 3, 101, '2026-11-01 10:00', '2026-11-01 11:00', '1.7', '1.fc45', 990, true, true, '\x0102'),
    ('rnv', 'f45', 5, 102, '2026-11-20 10:00', '2026-11-20 10:30', '1.7', '2.fc45', 1000, true, false, NULL),
    ('eclipse', 'f45', 5, 103, '2026-11-02 10:00', '2026-11-02 12:00', '4.30', '1.fc45', 995, NULL, false, NULL),
    ('eclipse', 'f45', 2, 104, '2026-11-25 10:00', NULL, NULL, NULL, NULL, NULL, false, NULL),
    ('rnv', 'f44', 3, 105, '2026-10-01 10:00', '2026-10-01 11:00', '1.7', '1.fc44', 890, true, true, NULL)
) AS v(name, coll, state, task_id, started, finished, version, release, repo_id, deps_resolved, real, keys)
JOIN collection c ON c.name = v.coll JOIN package p ON p.name = v.name AND p.collection_id = c.id;
INSERT INTO build (package_id, state, task_id, started, finished, version, release, repo_id, last_complete)
VALUES (NULL, 3, 106, '2026-09-01 10:00', '2026-09-01 11:00', '0.1', '1', 800, false);
INSERT INTO koji_task (build_id, task_id, arch, state, started, finished)
SELECT id, task_id + 1000, 'x86_64', CASE state WHEN 2 THEN 1 WHEN 3 THEN 2 ELSE 5 END, started, finished
FROM build;

INSERT INTO dependency (name, epoch, version, release, arch)
VALUES ('glibc', NULL, '2.40', '1', 'x86_64'), ('glibc', NULL, '2.41', '1', 'x86_64'),
       ('libxml2', 1, '2.12', '3', 'x86_64');
INSERT INTO applied_change (build_id, prev_dep_id, curr_dep_id, distance)
SELECT b.id, 1, 2, 1 FROM build b WHERE b.task_id = 102
UNION ALL SELECT b.id, NULL, 3, 2 FROM build b WHERE b.task_id = 102;
INSERT INTO unapplied_change (package_id, prev_dep_id, curr_dep_id, distance)
SELECT p.id, 2, 1, 2 FROM package p JOIN collection c ON c.id = p.collection_id
WHERE p.name = 'rnv' AND c.name = 'f45';

INSERT INTO resolution_change (resolved, "timestamp", package_id)
SELECT false, '2026-11-03 08:00', p.id FROM package p JOIN collection c ON c.id = p.collection_id
WHERE p.name = 'eclipse' AND c.name = 'f45';
INSERT INTO resolution_problem (resolution_id, problem)
SELECT id, 'nothing provides osgi(org.junit) needed by eclipse' FROM resolution_change;
INSERT INTO buildroot_problem (collection_id, problem)
SELECT id, 'conflicting requests: gcc' FROM collection WHERE name = 'f44';
INSERT INTO buildroot_problem (collection_id, problem) VALUES (NULL, 'left over');

INSERT INTO package_group (namespace, name) VALUES (NULL, 'java'), ('alice', 'mine');
INSERT INTO package_group_relation SELECT g.id, b.id FROM package_group g, base_package b
WHERE g.name = 'java' AND b.name IN ('eclipse', 'maven') OR g.name = 'mine' AND b.name = 'rnv';
INSERT INTO group_acl SELECT g.id, u.id FROM package_group g, "user" u WHERE g.name = 'mine' AND u.name = 'alice';

INSERT INTO admin_notice (key, content) VALUES ('global_notice', 'Koji outage on Friday');
INSERT INTO log_entry (user_id, environment, "timestamp", message, base_id)
SELECT u.id, 'frontend', '2026-11-04 09:00', 'Package rnv (collection f45): manual_priority set from 0 to 3000', b.id
FROM "user" u, base_package b WHERE u.name = 'alice' AND b.name = 'rnv';
INSERT INTO log_entry (user_id, environment, message) VALUES (NULL, 'backend', 'Collection f44 refreshed');

INSERT INTO repo_mapping (secondary_id, primary_id, task_id) VALUES (77, 1000, 5555);
INSERT INTO copr_rebuild_request (user_id, collection_id, repo_source, state)
SELECT u.id, c.id, 'copr:alice/test', 'finished' FROM "user" u, collection c
WHERE u.name = 'alice' AND c.name = 'f45';
INSERT INTO copr_resolution_change (request_id, package_id, prev_resolved, curr_resolved, problems)
SELECT r.id, p.id, true, false, NULL FROM copr_rebuild_request r, package p WHERE p.name = 'rnv' LIMIT 1;

-- Ids handed out and lost (rolled back inserts) must not come back.
SELECT setval('build_id_seq', 500);
"#;

/// A second database in the test's cluster holding the original schema.
struct Source {
    admin: PgConnection,
    name: String,
    url: String,
}

impl Source {
    async fn create(pool: &PgPool) -> Source {
        let dest_url = database_url(pool);
        let dest_name = pool.connect_options().get_database().unwrap().to_string();
        // Database names are limited to 63 bytes; the test's own is that long.
        let name = format!(
            "koschei_source_{}",
            &dest_name[dest_name.len().saturating_sub(24)..]
        );
        let mut admin = PgConnection::connect(&dest_url).await.unwrap();
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = dest_url.replacen(&format!("/{dest_name}"), &format!("/{name}"), 1);
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(ORIGINAL_SCHEMA)
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::raw_sql(ORIGINAL_DATA)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Source { admin, name, url }
    }

    async fn execute(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }

    async fn drop(mut self) {
        sqlx::raw_sql(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.name))
            .execute(&mut self.admin)
            .await
            .unwrap();
    }
}

struct Admin {
    url: String,
    config: tempfile::NamedTempFile,
}

impl Admin {
    async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = admin_command(&self.url, self.config.path(), args);
        tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap()
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    async fn fails(&self, args: &[&str], needle: &str) {
        let out = self.run(args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} unexpectedly succeeded");
        assert!(stderr.contains(needle), "{stderr:?} lacks {needle:?}");
    }
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn migrates_an_original_database(pool: PgPool) {
    let source = Source::create(&pool).await;
    let admin = Admin {
        url: database_url(&pool),
        config: tempfile::NamedTempFile::new().unwrap(),
    };
    let source_arg = source.url.clone();
    let migrate = ["migrate-from-koschei", "--source", source_arg.as_str()];

    let out = admin.ok(&migrate).await;
    for line in [
        "  user: 2 rows",
        "  collection: 2 rows",
        "  package: 6 rows",
        "  build: 5 rows (1 skipped: without package)",
        "  koji_task: 5 rows (1 skipped: of a build without package)",
        "  applied_change: 2 rows",
        "  unapplied_change: 1 rows",
        "  resolution_problem: 1 rows",
        "  buildroot_problem: 1 rows (1 skipped: without collection)",
        "  log_entry: 2 rows",
        "  copr_resolution_change: 1 rows",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} not in {out}");
    }
    for (table, rows) in [
        ("collection_group_relation", 2),
        ("base_package", 3),
        ("package_group", 2),
        ("package_group_relation", 3),
        ("group_acl", 1),
        ("dependency", 3),
        ("resolution_change", 1),
        ("admin_notice", 1),
        ("repo_mapping", 1),
        ("copr_rebuild_request", 1),
    ] {
        assert_eq!(count(&pool, table).await, rows, "{table}");
    }
    // The migration itself is audited, after the copied history; the copied
    // builds are no events.
    assert_eq!(count(&pool, "log_entry").await, 3);
    assert_eq!(count(&pool, "message_outbox").await, 0);
    assert_eq!(count(&pool, "\"user\"").await, 3);

    // Build states and the last-build pointers our triggers derived.
    let builds: Vec<(i32, i32, bool)> =
        sqlx::query_as("SELECT task_id, state, last_complete FROM build ORDER BY task_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        builds,
        [
            (101, 3, false),
            (102, 5, true),
            (103, 5, true),
            (104, 2, false),
            (105, 3, true)
        ]
    );
    let states: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.name, p.name, package_state(p) FROM package p JOIN collection c ON c.id = p.collection_id
         ORDER BY c.name, p.name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let states: Vec<(&str, &str, &str)> = states
        .iter()
        .map(|(c, p, s)| (c.as_str(), p.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("f44", "eclipse", "unresolved"),
            ("f44", "maven", "blocked"),
            ("f44", "rnv", "ok"),
            ("f45", "eclipse", "unresolved"),
            ("f45", "maven", "unknown"),
            ("f45", "rnv", "failing"),
        ]
    );
    // Our priority function on the copied data: rnv in f45 is schedulable
    // (manual 3000 + static 100 + 0.5 × (dependency 128 + build 200 + time));
    // the others are not (running build, skip reason, unresolved buildroot).
    let priorities: Vec<(String, String, Option<f64>)> = sqlx::query_as(
        "SELECT c.name, p.name,
                package_priority(p, c, lb, 6, 168, 256)
                    - c.priority_coefficient * time_priority(build_time(lb), 6, 168, 256)
         FROM package p JOIN collection c ON c.id = p.collection_id
         LEFT JOIN build lb ON lb.id = p.last_build_id
         WHERE package_priority(p, c, lb, 6, 168, 256) IS NOT NULL",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(priorities, [("f45".into(), "rnv".into(), Some(3264.0))]);
    let (keys, problems): (Option<Vec<u8>>, Vec<String>) = sqlx::query_as(
        "SELECT (SELECT dependency_keys FROM build WHERE task_id = 101),
                (SELECT problems FROM copr_resolution_change)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((keys, problems), (Some(vec![1, 2]), Vec::new()));

    // Sequences continue after the source's: no id is handed out twice.
    let next_build: i64 = sqlx::query_scalar("SELECT nextval('build_id_seq')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(next_build, 501);
    let next_package: i64 = sqlx::query_scalar("SELECT nextval('package_id_seq')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(next_package, 7);

    let check = admin.ok(&["check"]).await;
    assert!(check.contains("The database is consistent"), "{check}");

    // A destination with data is refused, and stays as it was.
    admin.fails(&migrate, "use --replace").await;
    assert_eq!(count(&pool, "log_entry").await, 3);

    // All or nothing: a copy our constraints refuse (two global groups of
    // one name, which the original's unique index allows) leaves the
    // destination untouched, even with --replace.
    source
        .execute("INSERT INTO package_group (namespace, name) VALUES (NULL, 'java')")
        .await;
    let replace = [
        "migrate-from-koschei",
        "--source",
        source_arg.as_str(),
        "--replace",
    ];
    admin.fails(&replace, "copying table package_group").await;
    assert_eq!(count(&pool, "log_entry").await, 3);
    assert_eq!(count(&pool, "build").await, 5);
    source
        .execute("DELETE FROM package_group WHERE id = (SELECT max(id) FROM package_group)")
        .await;
    admin.ok(&replace).await;
    assert_eq!(count(&pool, "build").await, 5);
    assert_eq!(count(&pool, "log_entry").await, 3);

    // A source at another alembic revision is refused, naming both.
    source
        .execute("UPDATE alembic_version SET version_num = '2eee9193fa2e'")
        .await;
    admin
        .fails(
            &replace,
            "at alembic revision 2eee9193fa2e; this command copies revision c3e9459e893f",
        )
        .await;
    source.execute("DROP TABLE alembic_version").await;
    admin.fails(&replace, "no alembic_version table").await;
    source.drop().await;
}
