//! Test fixtures shared by the crates' database tests (feature
//! `test-fixtures`): small builders for collections, packages and builds with
//! Koschei's test defaults (collection `f25`, "Fedora Rawhide", repo 123).

use chrono::{Duration, NaiveDateTime, Utc};
use sqlx::PgPool;

use crate::model::BuildState;

/// Current UTC time as stored in the database.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// `hours` hours ago.
pub fn hours_ago(hours: f64) -> NaiveDateTime {
    now() - Duration::milliseconds((hours * 3_600_000.0) as i64)
}

/// Inserts a collection like Koschei's test default `f25`, named `name`,
/// with target `name`, dest tag `name`, build tag `<name>-build`, latest repo
/// 123 resolved. Returns its id.
pub async fn collection(pool: &PgPool, name: &str) -> i32 {
    sqlx::query_scalar(
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag,
                                 latest_repo_id, latest_repo_resolved, bugzilla_product, bugzilla_version)
         VALUES ($1, 'Fedora Rawhide', $1, $1, $1 || '-build', 123, true, 'Fedora', '25')
         RETURNING id",
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .expect("insert collection")
}

/// Inserts package `name` (and its base package when missing) into the
/// collection, tracked and resolved. Returns the package id.
pub async fn package(pool: &PgPool, collection_id: i32, name: &str) -> i32 {
    let base_id: i32 = sqlx::query_scalar(
        "INSERT INTO base_package (name) VALUES ($1)
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .expect("insert base package");
    sqlx::query_scalar(
        "INSERT INTO package (base_id, name, collection_id, tracked, resolved)
         VALUES ($1, $2, $3, true, true) RETURNING id",
    )
    .bind(base_id)
    .bind(name)
    .bind(collection_id)
    .fetch_one(pool)
    .await
    .expect("insert package")
}

/// Installability results of repo 7 of a collection (checked before in repo 6): source
/// package `rnv` has binaries `rnv` (installable: 12 packages, 2.5 MB to download, 9 MB
/// installed) and `rnv-extras` (installable in repo 6, not in 7: a library left).
pub async fn installability(pool: &PgPool, collection_id: i32) {
    let c = collection_id;
    sqlx::raw_sql(&format!(
        "UPDATE collection SET installability_repo_id = 7 WHERE id = {c};
         INSERT INTO binary_installability (collection_id, name, arch, evr, source_name,
             installable, problems, install_count, download_size, install_size,
             recorded_download_size, recorded_install_size, since_repo_id) VALUES
           ({c}, 'rnv', 'x86_64', '1.0-1', 'rnv', true, '{{}}', 12, 2500000, 9000000,
            2500000, 9000000, 6),
           ({c}, 'rnv-extras', 'noarch', '1.0-1', 'rnv', false,
            ARRAY['Problem: nothing provides libgone.so.1 needed by rnv-extras-1.0-1.noarch'],
            0, 0, 0, 0, 0, 7);
         INSERT INTO installability_change (collection_id, repo_id, name, arch, source_name,
             evr, installable, problems, install_count, download_size, install_size) VALUES
           ({c}, 6, 'rnv', 'x86_64', 'rnv', '1.0-1', true, '{{}}', 12, 2500000, 9000000),
           ({c}, 6, 'rnv-extras', 'noarch', 'rnv', '1.0-1', true, '{{}}', 3, 10, 20),
           ({c}, 7, 'rnv-extras', 'noarch', 'rnv', '1.0-1', false,
            ARRAY['Problem: nothing provides libgone.so.1 needed by rnv-extras-1.0-1.noarch'],
            0, 0, 0);
         INSERT INTO installability_pass (collection_id, repo_id, binaries, uninstallable,
             changes, solve_seconds, write_seconds) VALUES
           ({c}, 6, 2, 0, 2, 0.1, 0.1), ({c}, 7, 2, 1, 1, 0.1, 0.1);
         -- when the collection tracks rnv: a scratch build on repo 7 whose binaries install
         WITH b AS (
             INSERT INTO build (package_id, state, task_id, started, finished, version,
                                release, real, repo_id)
             SELECT id, 3, 9007, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', '1.0',
                    '1', false, 7
               FROM package WHERE collection_id = {c} AND name = 'rnv'
             RETURNING id
         )
         INSERT INTO rebuild_installability (build_id, repo_id, installable, binaries)
         SELECT id, 7, true,
                '[{{\"name\": \"rnv-extras\", \"arch\": \"noarch\", \"evr\": \"1.0-1\",
                    \"installable\": true, \"problems\": []}}]'
           FROM b;"
    ))
    .execute(pool)
    .await
    .expect("insert installability fixture");
}

/// The collection's tracked package `name`, created when missing. Returns its id.
async fn tracked_package(pool: &PgPool, collection_id: i32, name: &str) -> i32 {
    let found: Option<i32> = sqlx::query_scalar(
        "UPDATE package SET tracked = true WHERE collection_id = $1 AND name = $2 RETURNING id",
    )
    .bind(collection_id)
    .bind(name)
    .fetch_optional(pool)
    .await
    .expect("find package");
    match found {
        Some(id) => id,
        None => package(pool, collection_id, name).await,
    }
}

/// A complete impact check of side tag `f25-build-side-7` against the collection (repo
/// 123 → 124, depth 2, at most 10 builds, requested by alice) with three affected tracked
/// packages (created when missing): `rnv` with other dependencies whose build is a
/// regression (change build task 9101 failed, base build task 9102 ok), `eclipse`
/// unresolvable with the change (not built), `xmlstarlet` with other dependencies whose
/// builds pass (tasks 9103, 9104); its history queued → resolving → building → complete.
/// Returns the check's id.
pub async fn impact_check(pool: &PgPool, collection_id: i32) -> i32 {
    let rnv = tracked_package(pool, collection_id, "rnv").await;
    let eclipse = tracked_package(pool, collection_id, "eclipse").await;
    let xmlstarlet = tracked_package(pool, collection_id, "xmlstarlet").await;
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO impact_check (collection_id, side_tag, depth, max_builds, builds, state,
                                   requested_by, created, started, finished, base_repo_id,
                                   change_repo_id)
         VALUES ($1, 'f25-build-side-7', 2, 10, true, 'complete', 'alice',
                 $2::timestamp - interval '3 hours', $2::timestamp - interval '170 minutes',
                 $2::timestamp - interval '1 hour',
                 123, 124)
         RETURNING id",
    )
    .bind(collection_id)
    .bind(now())
    .fetch_one(pool)
    .await
    .expect("insert impact check");
    sqlx::query(
        "INSERT INTO impact_check_change (check_id, id, name, prev, curr)
         VALUES ($1, 0, 'glibc', '2.24-1.fc25.x86_64', '2.25-1.fc25.x86_64'),
                ($1, 1, 'java-devel', '1:1.8.0.1-1.fc25.x86_64', '1:9.0.1-1.fc25.x86_64'),
                ($1, 2, 'ant-lib', '1.9.7-1.fc25.noarch', NULL),
                ($1, 3, 'libxml2', '2.9.4-1.fc25.x86_64', '2.9.5-1.fc25.x86_64')",
    )
    .bind(id)
    .execute(pool)
    .await
    .expect("insert impact check changes");
    sqlx::query(
        "INSERT INTO impact_check_package (check_id, package_id, distance, base_resolved,
             change_resolved, base_problems, change_problems, change_ids, change_distances,
             verdict, build_planned, build_verdict)
         VALUES
           ($1, $2, 1, true, true, '{}', '{}', '{0}', '{1}',
            'dependencies-changed', true, 'regression'),
           ($1, $3, 2, true, false, '{}',
            ARRAY['nothing provides libjvm.so.9 needed by java-devel-1:9.0.1-1.fc25.x86_64'],
            '{1,2}', '{2,NULL}', 'unresolvable-with-change', false, NULL),
           ($1, $4, 1, true, true, '{}', '{}', '{3}', '{1}',
            'dependencies-changed', true, 'passes')",
    )
    .bind(id)
    .bind(rnv)
    .bind(eclipse)
    .bind(xmlstarlet)
    .execute(pool)
    .await
    .expect("insert impact check packages");
    sqlx::query(
        "INSERT INTO impact_build (check_id, package_id, side, task_id, state, started, finished)
         SELECT $1, package_id, side, task_id, state, $4::timestamp - interval '150 minutes',
                $4::timestamp - interval '70 minutes'
         FROM (VALUES ($2, 'change', 9101, 'failed'), ($2, 'base', 9102, 'ok'),
                      ($3, 'change', 9103, 'ok'), ($3, 'base', 9104, 'ok'))
              AS b (package_id, side, task_id, state)",
    )
    .bind(id)
    .bind(rnv)
    .bind(xmlstarlet)
    .bind(now())
    .execute(pool)
    .await
    .expect("insert impact builds");
    sqlx::query(
        r#"INSERT INTO impact_check_event (check_id, "time", state, note)
           SELECT $1, $2::timestamp - make_interval(mins => minutes), state, note
           FROM (VALUES (180, 'queued', NULL), (170, 'resolving', NULL),
                        (160, 'building', '2 packages to build'), (60, 'complete', NULL))
                AS e (minutes, state, note)
           ORDER BY minutes DESC"#,
    )
    .bind(id)
    .bind(now())
    .execute(pool)
    .await
    .expect("insert impact check events");
    id
}

/// A build to insert with [`build`].
#[derive(Debug, Clone)]
pub struct NewBuild {
    pub state: BuildState,
    pub started: NaiveDateTime,
    pub task_id: i32,
    pub version: String,
    pub release: String,
    pub real: bool,
    pub repo_id: Option<i32>,
}

impl NewBuild {
    /// A scratch build in `state` started `hours` ago, version 1-1, repo 123.
    pub fn new(state: BuildState, hours: f64) -> Self {
        static TASK: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1000);
        NewBuild {
            state,
            started: hours_ago(hours),
            task_id: TASK.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            version: "1".into(),
            release: "1.fc25".into(),
            real: false,
            repo_id: Some(123),
        }
    }
}

/// Inserts a build of the package. Returns its id.
pub async fn build(pool: &PgPool, package_id: i32, b: NewBuild) -> i32 {
    sqlx::query_scalar(
        "INSERT INTO build (package_id, state, task_id, started, finished, version, release, real, repo_id)
         VALUES ($1, $2, $3, $4, CASE WHEN $2 = $9 THEN NULL ELSE $4 END, $5, $6, $7, $8) RETURNING id",
    )
    .bind(package_id)
    .bind(b.state)
    .bind(b.task_id)
    .bind(b.started)
    .bind(b.version)
    .bind(b.release)
    .bind(b.real)
    .bind(b.repo_id)
    .bind(BuildState::Running)
    .fetch_one(pool)
    .await
    .expect("insert build")
}

/// The URL of a test's own database: `DATABASE_URL` (the test server) with
/// the pool's database name, for passing to a child process.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL must be set (run scripts/test)");
    let db = pool
        .connect_options()
        .get_database()
        .expect("database name")
        .to_string();
    let (url, query) = base
        .split_once('?')
        .map_or((base.as_str(), None), |(u, q)| (u, Some(q)));
    let (prefix, _) = url.rsplit_once('/').expect("URL with a database");
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}
