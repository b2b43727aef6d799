//! The candidate query of a scheduling decision: schedulable packages of
//! unsuspended collections whose priority (`package_priority`, the single SQL
//! definition) reaches the threshold, highest first, shared fairly between
//! collections: a collection's n-th candidate queues behind every other
//! collection's candidates with fewer builds running (koschei#351).
//!
//! Reading only what can be chosen: `package.priority_bound` (migration
//! `20261208000000_priority_bound.sql`) is, per package, an upper bound of its
//! priority until a horizon, kept current by triggers and indexed per
//! collection. Since no chosen row ranks below `limit` in its collection, each
//! collection needs only its `limit` best packages:
//!
//! 1. per collection, the `limit` highest bounds give `limit` exact priorities;
//!    the lowest of them that reaches the threshold is the collection's *level*
//!    (the threshold when fewer reach it). At least `limit` packages have a
//!    priority at or above the level, so every package of the collection's
//!    best `limit` does too, and its bound is at or above the level;
//! 2. the packages whose bound reaches the level (an index range scan) are
//!    scored exactly, ranked as before and cut at `limit` per collection.
//!
//! The work depends on how many packages have a bound near the top, not on
//! how many packages or crossed packages there are. The order is the full
//! scan's ([`FULL_SCAN_CANDIDATES_SQL`], kept as the reference the tests and
//! the benchmark compare with).

use koschei_core::builds::PriorityComponents;
use koschei_core::Config;
use sqlx::PgConnection;

/// How far ahead the priority bounds hold. Past it, one decision recomputes
/// every bound (`refresh_priority_bounds`); closer horizons give tighter
/// bounds (fewer packages read) but more frequent recomputations.
pub const BOUND_HORIZON_HOURS: f64 = 6.0;

/// A package that may be submitted, with its priority components.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub package_id: i32,
    pub name: String,
    pub collection_id: i32,
    pub collection: String,
    pub dest_tag: String,
    pub build_tag: String,
    pub target: String,
    pub secondary_mode: bool,
    pub latest_repo_id: i32,
    pub arch_override: Option<String>,
    pub version: String,
    pub release: String,
    #[sqlx(flatten)]
    pub components: PriorityComponents,
    /// Reason recorded instead of the priority components (forced builds).
    #[sqlx(skip)]
    pub reason_override: Option<serde_json::Value>,
}

/// The candidate query reading only the packages whose bound reaches their
/// collection's level (see the module documentation); `$1..$3` are t0, t1 and
/// the threshold, `$4` the limit. Needs bounds valid now ([`refresh_bounds`]);
/// the margins only guard against rounding. From `scored` on, it is the full
/// scan's query plus the cut at `$4` per collection.
pub const CANDIDATES_SQL: &str = concat!("
    WITH running AS (
        SELECT p.collection_id, count(*) AS n
        FROM build b JOIN package p ON p.id = b.package_id
        WHERE b.state = ", koschei_core::build_state_code!(Running), " GROUP BY p.collection_id
    ), level AS MATERIALIZED (
        SELECT c.id AS collection_id,
               COALESCE((SELECT top.priority
                         FROM (SELECT package_priority(p, c, lb, $1, $2, $3) AS priority
                               FROM package p JOIN build lb ON lb.id = p.last_build_id
                               WHERE p.collection_id = c.id
                                 AND p.priority_bound >= $3 - (1e-9 + abs($3) * 1e-12)
                               ORDER BY p.priority_bound DESC LIMIT $4) top
                         WHERE top.priority >= $3
                         ORDER BY top.priority DESC OFFSET $4 - 1 LIMIT 1), $3) AS level
        FROM collection c
        WHERE c.latest_repo_resolved IS TRUE AND c.scheduling_suspended IS NULL
    ), scored AS MATERIALIZED (
        SELECT s.* FROM level l CROSS JOIN LATERAL (
            SELECT p.id AS package_id, p.collection_id, p.last_complete_build_id,
                   package_priority(p, c, lb, $1, $2, $3) AS priority,
                   p.manual_priority AS manual, p.static_priority,
                   p.dependency_priority AS dependency, p.build_priority AS build,
                   time_priority(build_time(lb), $1, $2, $3) AS time,
                   c.priority_coefficient AS coefficient
            FROM package p
            JOIN collection c ON c.id = p.collection_id
            JOIN build lb ON lb.id = p.last_build_id
            WHERE p.collection_id = l.collection_id
              AND p.priority_bound >= l.level - (1e-9 + abs(l.level) * 1e-12)
              AND package_schedulable(p, c) AND c.scheduling_suspended IS NULL
            OFFSET 0 -- not flattened: one index range scan per collection
        ) s
    ), ranked AS (
        SELECT s.*, row_number() OVER (PARTITION BY s.collection_id ORDER BY s.priority DESC, s.package_id)
                    + COALESCE(r.n, 0) AS slot,
               row_number() OVER (PARTITION BY s.collection_id ORDER BY s.priority DESC, s.package_id) AS rank
        FROM scored s LEFT JOIN running r ON r.collection_id = s.collection_id
        WHERE s.priority >= $3
    ), chosen AS (
        SELECT * FROM ranked WHERE rank <= $4 ORDER BY slot, priority DESC, package_id LIMIT $4
    )
    SELECT ch.package_id, p.name, c.id AS collection_id, c.name AS collection, c.dest_tag, c.build_tag,
           c.target, c.secondary_mode, c.latest_repo_id, p.arch_override, lcb.version, lcb.release,
           ch.priority, ch.manual, ch.static_priority, ch.dependency, ch.build, ch.time, ch.coefficient,
           $3::float8 AS threshold
    FROM chosen ch
    JOIN package p ON p.id = ch.package_id
    JOIN collection c ON c.id = ch.collection_id
    JOIN build lcb ON lcb.id = ch.last_complete_build_id
    ORDER BY ch.slot, ch.priority DESC, ch.package_id");

/// The reference: the candidate query before the bounds (scores every
/// schedulable package), kept verbatim; the equality tests and the benchmark
/// compare [`CANDIDATES_SQL`] with it. Same parameters.
pub const FULL_SCAN_CANDIDATES_SQL: &str = concat!("
    WITH running AS (
        SELECT p.collection_id, count(*) AS n
        FROM build b JOIN package p ON p.id = b.package_id
        WHERE b.state = ", koschei_core::build_state_code!(Running), " GROUP BY p.collection_id
    ), scored AS MATERIALIZED (
        SELECT p.id AS package_id, p.collection_id, p.last_complete_build_id,
               package_priority(p, c, lb, $1, $2, $3) AS priority,
               p.manual_priority AS manual, p.static_priority, p.dependency_priority AS dependency,
               p.build_priority AS build, time_priority(build_time(lb), $1, $2, $3) AS time,
               c.priority_coefficient AS coefficient
        FROM package p
        JOIN collection c ON c.id = p.collection_id
        JOIN build lb ON lb.id = p.last_build_id
        WHERE package_schedulable(p, c) AND c.scheduling_suspended IS NULL
    ), ranked AS (
        SELECT s.*, row_number() OVER (PARTITION BY s.collection_id ORDER BY s.priority DESC, s.package_id)
                    + COALESCE(r.n, 0) AS slot
        FROM scored s LEFT JOIN running r ON r.collection_id = s.collection_id
        WHERE s.priority >= $3
    ), chosen AS (
        SELECT * FROM ranked ORDER BY slot, priority DESC, package_id LIMIT $4
    )
    SELECT ch.package_id, p.name, c.id AS collection_id, c.name AS collection, c.dest_tag, c.build_tag,
           c.target, c.secondary_mode, c.latest_repo_id, p.arch_override, lcb.version, lcb.release,
           ch.priority, ch.manual, ch.static_priority, ch.dependency, ch.build, ch.time, ch.coefficient,
           $3::float8 AS threshold
    FROM chosen ch
    JOIN package p ON p.id = ch.package_id
    JOIN collection c ON c.id = ch.collection_id
    JOIN build lcb ON lcb.id = ch.last_complete_build_id
    ORDER BY ch.slot, ch.priority DESC, ch.package_id");

/// Makes the priority bounds hold now for the configured t0, t1 and threshold;
/// recomputes them all when the configuration changed or the horizon passed
/// (returns whether it did).
pub async fn refresh_bounds(conn: &mut PgConnection, config: &Config) -> sqlx::Result<bool> {
    let p = &config.priorities;
    sqlx::query_scalar("SELECT refresh_priority_bounds($1, $2, $3, $4)")
        .bind(p.t0)
        .bind(p.t1)
        .bind(p.build_threshold)
        .bind(BOUND_HORIZON_HOURS)
        .fetch_one(conn)
        .await
}

/// Loads up to `limit` candidates in scheduling order. Runs inside a
/// transaction (the bounds it refreshes must hold for the query's `now()`).
/// JIT compilation is off for it: the planner cannot know how few rows the
/// range scans return, and compiling costs more than the query (~250 ms at
/// 1M packages).
pub async fn candidates(
    conn: &mut PgConnection,
    config: &Config,
    limit: i64,
) -> sqlx::Result<Vec<Candidate>> {
    refresh_bounds(conn, config).await?;
    sqlx::query("SET LOCAL jit = off")
        .execute(&mut *conn)
        .await?;
    query_candidates(conn, config, CANDIDATES_SQL, limit).await
}

/// Loads the same candidates with the reference full scan (inside a
/// transaction: it raises `work_mem`, as it did, so its ranking sorts in memory).
pub async fn full_scan_candidates(
    conn: &mut PgConnection,
    config: &Config,
    limit: i64,
) -> sqlx::Result<Vec<Candidate>> {
    sqlx::query("SET LOCAL work_mem = '64MB'")
        .execute(&mut *conn)
        .await?;
    query_candidates(conn, config, FULL_SCAN_CANDIDATES_SQL, limit).await
}

/// Runs one of the candidate queries (`sql`) with the configured priorities.
pub async fn query_candidates(
    conn: &mut PgConnection,
    config: &Config,
    sql: &str,
    limit: i64,
) -> sqlx::Result<Vec<Candidate>> {
    let p = &config.priorities;
    sqlx::query_as(sql)
        .bind(p.t0)
        .bind(p.t1)
        .bind(p.build_threshold)
        .bind(limit)
        .fetch_all(conn)
        .await
}
