//! Copying a collection's data into another (release branching and forking
//! side tags, `copy_collection` of `koschei/data.py`): packages with all their settings,
//! recent builds plus every last complete build, their Koji tasks, applied
//! dependency changes, and the resolution history. Set-based SQL with
//! temporary id-mapping tables, so branching a distribution takes seconds
//! (the original took minutes, koschei#335).

use sqlx::PgConnection;

/// What was copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub packages: u64,
    pub builds: u64,
}

/// Copies the data of collection `source` into the (empty) collection
/// `target`. `minimal` copies only the last complete builds (forks).
pub async fn copy_collection(
    conn: &mut PgConnection,
    source: i32,
    target: i32,
    minimal: bool,
) -> sqlx::Result<CopyReport> {
    #[derive(Clone, Copy)]
    enum Param {
        Source,
        Target,
        Minimal,
        None,
    }
    let statements: &[(Param, &str)] = &[
        (Param::Source, "CREATE TEMP TABLE package_copy ON COMMIT DROP AS
         SELECT id AS old_id, nextval('package_id_seq')::int AS new_id FROM package WHERE collection_id = $1"),
        (Param::Target, "INSERT INTO package (id, base_id, name, collection_id, arch_override, skip_resolution, resolved,
                              static_priority, manual_priority, build_priority, dependency_priority,
                              tracked, blocked, scheduler_skip_reason, infra_failures, retry_after)
         SELECT m.new_id, p.base_id, p.name, $1, p.arch_override, p.skip_resolution, p.resolved,
                p.static_priority, p.manual_priority, p.build_priority, p.dependency_priority,
                p.tracked, p.blocked, p.scheduler_skip_reason, p.infra_failures, p.retry_after
         FROM package p JOIN package_copy m ON m.old_id = p.id"),
        (Param::Minimal, "CREATE TEMP TABLE build_copy ON COMMIT DROP AS
         SELECT b.id AS old_id, nextval('build_id_seq')::int AS new_id, m.new_id AS package_id
         FROM build b JOIN package_copy m ON m.old_id = b.package_id
         WHERE b.last_complete
            OR (NOT $1 AND b.started > (now() AT TIME ZONE 'UTC') - interval '1 month')"),
        (Param::None, "INSERT INTO build (id, package_id, state, task_id, started, finished, epoch, version, release,
                            repo_id, cancel_requested, deps_resolved, real, untagged, dependency_keys,
                            submit_reason, failure_reason, tagged)
         SELECT m.new_id, m.package_id, b.state, b.task_id, b.started, b.finished, b.epoch, b.version,
                b.release, b.repo_id, b.cancel_requested, b.deps_resolved, b.real, b.untagged,
                b.dependency_keys, b.submit_reason, b.failure_reason, b.tagged
         FROM build b JOIN build_copy m ON m.old_id = b.id"),
        (Param::None, "INSERT INTO koji_task (build_id, task_id, arch, state, started, finished)
         SELECT m.new_id, t.task_id, t.arch, t.state, t.started, t.finished
         FROM koji_task t JOIN build_copy m ON m.old_id = t.build_id"),
        (Param::None, "INSERT INTO applied_change (build_id, prev_dep_id, curr_dep_id, distance)
         SELECT m.new_id, c.prev_dep_id, c.curr_dep_id, c.distance
         FROM applied_change c JOIN build_copy m ON m.old_id = c.build_id"),
        (Param::None, "INSERT INTO unapplied_changes (package_id, prev_dep_ids, curr_dep_ids, distances)
         SELECT m.new_id, c.prev_dep_ids, c.curr_dep_ids, c.distances
         FROM unapplied_changes c JOIN package_copy m ON m.old_id = c.package_id"),
        (Param::None, "CREATE TEMP TABLE resolution_copy ON COMMIT DROP AS
         SELECT r.id AS old_id, nextval('resolution_change_id_seq')::int AS new_id, m.new_id AS package_id
         FROM resolution_change r JOIN package_copy m ON m.old_id = r.package_id"),
        (Param::None, "INSERT INTO resolution_change (id, resolved, timestamp, package_id)
         SELECT m.new_id, r.resolved, r.timestamp, m.package_id
         FROM resolution_change r JOIN resolution_copy m ON m.old_id = r.id"),
        (Param::None, "INSERT INTO resolution_problem (resolution_id, problem)
         SELECT m.new_id, p.problem FROM resolution_problem p JOIN resolution_copy m ON m.old_id = p.resolution_id"),
    ];
    let mut report = CopyReport::default();
    for (i, (param, sql)) in statements.iter().enumerate() {
        let query = sqlx::query(sql);
        let query = match param {
            Param::Source => query.bind(source),
            Param::Target => query.bind(target),
            Param::Minimal => query.bind(minimal),
            Param::None => query,
        };
        let rows = query.execute(&mut *conn).await?.rows_affected();
        match i {
            1 => report.packages = rows,
            3 => report.builds = rows,
            _ => {}
        }
    }
    Ok(report)
}
