//! The bounded candidate query (`package.priority_bound`) returns exactly the
//! reference full scan's candidates, in the same order, on randomized data:
//! random priority components (ties included), ages (future builds too),
//! package states, back-offs, running builds, coefficients (zero and negative),
//! unresolved and suspended collections, thresholds of both signs — before and
//! after random writes of every kind, which the triggers must follow.

use koschei_core::Config;
use koschei_scheduler::candidates::{candidates, full_scan_candidates, refresh_bounds};
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;

/// Collections with varied coefficients and states, 400 packages in each
/// with random components, states and builds (deterministic: `setseed`).
async fn random_distribution(pool: &PgPool, seed: f64) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT setseed($1)")
        .bind(seed)
        .execute(&mut *tx)
        .await
        .unwrap();
    for sql in [
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id,
                                 latest_repo_resolved, priority_coefficient, scheduling_suspended)
         VALUES ('a', 'A', 'a', 'a', 'a-build', 1, true, 1, NULL),
                ('b', 'B', 'b', 'b', 'b-build', 1, true, 2.5, NULL),
                ('z', 'Z', 'z', 'z', 'z-build', 1, true, 0, NULL),
                ('n', 'N', 'n', 'n', 'n-build', 1, true, -0.5, NULL),
                ('s', 'S', 's', 's', 's-build', 1, true, 1, 'target gone'),
                ('u', 'U', 'u', 'u', 'u-build', 1, false, 1, NULL)",
        "INSERT INTO base_package (name) SELECT 'pkg' || i FROM generate_series(1, 400) i",
        "INSERT INTO package (base_id, name, collection_id, tracked, blocked, resolved, skip_resolution,
                              scheduler_skip_reason, manual_priority, static_priority,
                              dependency_priority, build_priority, retry_after)
         SELECT b.id, b.name, c.id, random() > 0.1, random() < 0.05,
                CASE WHEN r < 0.05 THEN false WHEN r < 0.1 THEN NULL ELSE true END,
                r >= 0.05 AND r < 0.08,
                CASE WHEN random() < 0.05 THEN 1 + (random() < 0.5)::int END,
                CASE WHEN random() < 0.1 THEN (random() * 2000 - 500)::int ELSE 0 END,
                CASE WHEN random() < 0.1 THEN (random() * 100)::int ELSE 0 END,
                CASE WHEN random() < 0.4 THEN (random() * 600)::int ELSE 0 END,
                CASE WHEN random() < 0.2 THEN (random() * 80 - 30)::int ELSE 0 END,
                CASE WHEN random() < 0.05
                     THEN now() AT TIME ZONE 'UTC' + (random() * 4 - 2) * interval '1 hour' END
         FROM base_package b CROSS JOIN collection c CROSS JOIN LATERAL (SELECT random() AS r) x
         WHERE random() < 0.95",
        // finished builds of random age (some in the future), some real and tagged later
        "INSERT INTO build (package_id, state, task_id, started, finished, version, release, repo_id,
                            real, tagged)
         SELECT p.id, CASE WHEN random() < 0.1 THEN 5 ELSE 3 END, p.id,
                now() AT TIME ZONE 'UTC' - (random() * 3000 - 10) * interval '1 hour',
                now() AT TIME ZONE 'UTC', '1', '1', 1, t, CASE WHEN t THEN
                now() AT TIME ZONE 'UTC' - random() * 200 * interval '1 hour' END
         FROM package p CROSS JOIN LATERAL (SELECT random() < 0.2 AS t) x
         WHERE random() < 0.97",
        // running builds: their packages wait, their collections queue behind
        "INSERT INTO build (package_id, state, task_id, started)
         SELECT p.id, 2, 100000 + p.id, now() AT TIME ZONE 'UTC'
         FROM package p WHERE random() < 0.03",
        "ANALYZE",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// Random writes of every kind that feeds a priority or schedulability.
async fn random_writes(pool: &PgPool) {
    for sql in [
        "UPDATE package SET dependency_priority = (random() * 900)::int WHERE random() < 0.3",
        "UPDATE package SET manual_priority = (random() * 3000)::int WHERE random() < 0.05",
        "UPDATE package SET static_priority = (random() * 50 - 25)::int WHERE random() < 0.05",
        "UPDATE package SET build_priority = (random() * 40)::int WHERE random() < 0.05",
        "UPDATE package SET tracked = NOT tracked WHERE random() < 0.05",
        "UPDATE package SET blocked = NOT blocked WHERE random() < 0.03",
        "UPDATE package SET resolved = random() < 0.7 WHERE random() < 0.05 AND NOT skip_resolution",
        "UPDATE package SET scheduler_skip_reason = NULL WHERE random() < 0.5",
        "UPDATE package SET retry_after = now() AT TIME ZONE 'UTC' - interval '1 minute'
          WHERE random() < 0.05",
        // a real build seen tagged later (koschei#361) moves the time its package counts from
        "UPDATE build SET tagged = now() AT TIME ZONE 'UTC' - random() * 1000 * interval '1 hour'
          WHERE state IN (3, 5) AND random() < 0.1",
        "UPDATE build SET started = started - random() * 500 * interval '1 hour'
          WHERE state IN (3, 5) AND random() < 0.05",
        // running builds finish; new finished builds appear
        "UPDATE build SET state = 3, finished = now() AT TIME ZONE 'UTC', version = '1', release = '2',
                          repo_id = 2
          WHERE state = 2 AND random() < 0.5",
        "INSERT INTO build (package_id, state, task_id, started, finished, version, release, repo_id)
         SELECT p.id, 5, 200000 + p.id, now() AT TIME ZONE 'UTC' - random() * 400 * interval '1 hour',
                now() AT TIME ZONE 'UTC', '1', '3', 2
         FROM package p WHERE random() < 0.05",
        "UPDATE collection SET priority_coefficient = 0.7 WHERE name = 'a'",
        "UPDATE collection SET priority_coefficient = -1 WHERE name = 'z'",
        "UPDATE collection SET latest_repo_resolved = NOT latest_repo_resolved WHERE name IN ('b', 'u')",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
}

/// No package's current priority exceeds its bound.
async fn assert_bounds_hold(pool: &PgPool, config: &Config) {
    let p = &config.priorities;
    let violations: Vec<(i32, f64, Option<f64>)> = sqlx::query_as(
        "SELECT p.id, package_priority(p, c, lb, $1, $2, $3), p.priority_bound
         FROM package p JOIN collection c ON c.id = p.collection_id
         JOIN build lb ON lb.id = p.last_build_id
         WHERE package_priority(p, c, lb, $1, $2, $3) > p.priority_bound
            OR (package_priority(p, c, lb, $1, $2, $3) IS NOT NULL AND p.priority_bound IS NULL)",
    )
    .bind(p.t0)
    .bind(p.t1)
    .bind(p.build_threshold)
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(violations.is_empty(), "{violations:?}");
    assert_bounds_exact(pool).await;
}

/// Every bound the triggers stored equals the set-based computation of the same
/// definition (`package_priority_bound`), where it does not depend on the moment it
/// was computed (a priority that shrinks with time is bounded by its value then).
async fn assert_bounds_exact(pool: &PgPool) {
    let differing: Vec<(i32, Option<f64>, Option<f64>)> = sqlx::query_as(
        "SELECT p.id, p.priority_bound, package_priority_bound(p, c.priority_coefficient, lb, h)
         FROM package p JOIN collection c ON c.id = p.collection_id
         CROSS JOIN priority_bound_horizon h
         LEFT JOIN build lb ON lb.id = p.last_build_id
         WHERE c.priority_coefficient * h.threshold >= 0
           AND p.priority_bound IS DISTINCT FROM
               package_priority_bound(p, c.priority_coefficient, lb, h)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(differing.is_empty(), "{differing:?}");
}

/// Candidate lists (id, collection, priority) of both queries, in one
/// transaction so they share `now()`.
async fn both(pool: &PgPool, config: &Config, limit: i64) -> [Vec<(i32, i32, f64)>; 2] {
    let mut tx = pool.begin().await.unwrap();
    let bounded = candidates(&mut tx, config, limit).await.unwrap();
    let full = full_scan_candidates(&mut tx, config, limit).await.unwrap();
    tx.commit().await.unwrap();
    [bounded, full].map(|list| {
        list.iter()
            .map(|c| (c.package_id, c.collection_id, c.components.priority))
            .collect()
    })
}

async fn assert_same_order(pool: &PgPool, config: &Config) {
    for limit in [1, 5, 20, 300] {
        let [bounded, full] = both(pool, config, limit).await;
        assert!(!full.is_empty(), "the data has candidates (limit {limit})");
        assert_eq!(bounded, full, "limit {limit}");
    }
}

fn config(threshold: f64, t0: f64, t1: f64) -> Config {
    let mut config = Config::default();
    config.priorities.build_threshold = threshold;
    config.priorities.t0 = t0;
    config.priorities.t1 = t1;
    config
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn bounded_candidates_equal_the_full_scan(pool: PgPool) {
    for seed in [0.1, 0.7] {
        sqlx::query("TRUNCATE collection, base_package CASCADE")
            .execute(&pool)
            .await
            .unwrap();
        random_distribution(&pool, seed).await;
        for config in [
            Config::default(),
            config(50.0, 2.0, 100.0),
            config(-40.0, 6.0, 168.0),
        ] {
            assert_same_order(&pool, &config).await;
            assert_bounds_hold(&pool, &config).await;
        }
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn triggers_keep_the_bounds_true_through_writes(pool: PgPool) {
    random_distribution(&pool, 0.3).await;
    let config = Config::default();
    let mut conn = pool.acquire().await.unwrap();
    assert!(
        refresh_bounds(&mut conn, &config).await.unwrap(),
        "a fresh database's bounds are computed once"
    );
    for round in 0..3 {
        random_writes(&pool).await;
        assert!(
            !refresh_bounds(&mut conn, &config).await.unwrap(),
            "round {round}: no recomputation, the triggers kept the bounds"
        );
        assert_bounds_hold(&pool, &config).await;
        assert_same_order(&pool, &config).await;
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn bounds_are_recomputed_for_a_new_configuration_or_horizon(pool: PgPool) {
    random_distribution(&pool, 0.5).await;
    let mut conn = pool.acquire().await.unwrap();
    assert!(refresh_bounds(&mut conn, &Config::default()).await.unwrap());
    assert!(!refresh_bounds(&mut conn, &Config::default()).await.unwrap());
    let other = config(100.0, 6.0, 168.0);
    assert!(refresh_bounds(&mut conn, &other).await.unwrap());
    assert_bounds_hold(&pool, &other).await;
    sqlx::query("UPDATE priority_bound_horizon SET horizon = now() AT TIME ZONE 'UTC' - interval '1 second'")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert!(
        refresh_bounds(&mut conn, &other).await.unwrap(),
        "past the horizon"
    );
    let horizon_ahead: bool = sqlx::query_scalar(
        "SELECT horizon > now() AT TIME ZONE 'UTC' + interval '5 hours' FROM priority_bound_horizon",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(horizon_ahead);
}
