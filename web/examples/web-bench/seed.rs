//! `web-bench seed`: a fresh benchmark database.

use std::time::Instant;

use anyhow::{bail, Context};

/// Fills an empty database (the one in `DATABASE_URL`) with one collection
/// of `packages` tracked packages and `builds` builds, plus tasks,
/// dependency changes, resolution changes and groups.
pub async fn seed(packages: i32, builds: i32) -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL must be set")?;
    let pool = koschei_core::db::connect_url(&url, 2).await?;
    koschei_core::db::migrate(&pool, None).await?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM package")
        .fetch_one(&pool)
        .await?;
    if existing > 0 {
        bail!("the database already has packages; seed a fresh one");
    }
    let per_package = (builds / packages).max(1);
    let started = Instant::now();
    let statements = [
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id,
                                 latest_repo_resolved, bugzilla_product, bugzilla_version)
         VALUES ('f44', 'Fedora 44', 'f44', 'f44', 'f44-build', 4000, true, 'Fedora', '44')"
            .to_string(),
        format!(
            "INSERT INTO base_package (name)
             SELECT 'pkg-' || lpad(i::text, 5, '0') FROM generate_series(1, {packages}) i"
        ),
        "INSERT INTO package (base_id, name, collection_id, tracked, resolved, dependency_priority,
                              manual_priority)
         SELECT b.id, b.name, c.id, b.id % 20 <> 0, b.id % 50 <> 0, (b.id % 7) * 40, b.id % 3
         FROM base_package b, collection c"
            .to_string(),
        "INSERT INTO dependency (name, epoch, version, release, arch)
         SELECT 'lib' || (i % 400), 0, (i / 400 + 1) || '.' || (i % 13), '1.fc44', 'x86_64'
         FROM generate_series(0, 1999) i"
            .to_string(),
        // Builds every ~7 hours back from now; the newest of every 97th
        // package is running; every 9th failed, every 31st an
        // infrastructure failure.
        format!(
            "INSERT INTO build (package_id, state, task_id, started, finished, version, release,
                                repo_id, deps_resolved, submit_reason, failure_reason)
             SELECT p.id,
                    CASE WHEN k = 1 AND p.id % 97 = 0 THEN 2
                         WHEN (p.id + k) % 31 = 0 THEN 7
                         WHEN (p.id + k) % 9 = 0 THEN 5 ELSE 3 END,
                    p.id * 100 + k,
                    (now() AT TIME ZONE 'UTC') - make_interval(hours => k * 7 + p.id % 5),
                    CASE WHEN k = 1 AND p.id % 97 = 0 THEN NULL
                         ELSE (now() AT TIME ZONE 'UTC') - make_interval(hours => k * 7 + p.id % 5 - 1) END,
                    '1.' || ({per_package} - k), k || '.fc44', 4000 - k, true,
                    json_build_object('priority', 300, 'threshold', 256, 'manual', 0, 'static', 0,
                                      'dependency', 200, 'build', 0, 'time', 100, 'coefficient', 1),
                    CASE WHEN (p.id + k) % 31 = 0 THEN 'Koji task timed out' END
             FROM package p, generate_series(1, {per_package}) k"
        ),
        "INSERT INTO koji_task (build_id, task_id, arch, state, started, finished)
         SELECT b.id, b.task_id * 10 + a.n, a.arch, CASE WHEN b.state = 2 THEN 1 ELSE 2 END,
                b.started, b.finished
         FROM package p JOIN build b ON b.id = p.last_build_id,
              (VALUES (1, 'x86_64'), (2, 'aarch64')) AS a(n, arch)"
            .to_string(),
        "INSERT INTO applied_change (build_id, prev_dep_id, curr_dep_id, distance)
         SELECT b.id, d.id, d.id + 400, 1 + (b.id + d.id) % 4
         FROM package p JOIN build b ON b.id = p.last_build_id
         JOIN dependency d ON d.id % 400 IN (p.id % 400, (p.id * 7) % 400) AND d.id + 400 <= 2000
                          AND d.id <= 400"
            .to_string(),
        "INSERT INTO unapplied_changes (package_id, prev_dep_ids, curr_dep_ids, distances)
         SELECT p.id, array_agg(d.id + 400 ORDER BY d.id), array_agg(d.id + 800 ORDER BY d.id),
                array_agg(1 + d.id % 5 ORDER BY d.id)
         FROM package p JOIN dependency d ON d.id <= 400 AND d.id % 133 = p.id % 133
         GROUP BY p.id"
            .to_string(),
        "INSERT INTO resolution_change (resolved, \"timestamp\", package_id)
         SELECT p.resolved, (now() AT TIME ZONE 'UTC') - interval '3 hours', p.id
         FROM package p WHERE p.id % 10 = 0"
            .to_string(),
        "INSERT INTO \"user\" (name) SELECT 'user' || i FROM generate_series(1, 50) i".to_string(),
        "INSERT INTO package_group (namespace, name)
         SELECT CASE WHEN i <= 10 THEN NULL ELSE 'user' || i END, 'group' || i
         FROM generate_series(1, 50) i"
            .to_string(),
        "INSERT INTO package_group_relation (group_id, base_id)
         SELECT g.id, b.id FROM package_group g JOIN base_package b ON b.id % 50 = g.id % 50 AND b.id % 7 = 0"
            .to_string(),
        "INSERT INTO group_acl (group_id, user_id)
         SELECT g.id, u.id FROM package_group g JOIN \"user\" u ON u.name = 'user' || g.id"
            .to_string(),
        "ANALYZE".to_string(),
    ];
    for sql in &statements {
        sqlx::query(sql)
            .execute(&pool)
            .await
            .with_context(|| sql.clone())?;
    }
    let (p, b): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM package), (SELECT count(*) FROM build)")
            .fetch_one(&pool)
            .await?;
    eprintln!(
        "seeded {p} packages and {b} builds in {:.1?}",
        started.elapsed()
    );
    Ok(())
}
