//! Comparison-build selection (`get_build_for_comparison` in the original's
//! `koschei/backend/services/resolver.py`, `get_prev_build_for_comparison`).

mod common;

use common::MIGRATIONS;
use koschei_core::fixtures::{self, NewBuild};
use koschei_core::model::BuildState;
use koschei_resolver::comparison::{package_comparison_deps, previous_build_deps};
use koschei_resolver::dependency_keys::encode;
use sqlx::PgPool;

async fn build(
    pool: &PgPool,
    pkg: i32,
    state: BuildState,
    hours: f64,
    resolved: Option<bool>,
    keys: &[i32],
) -> i32 {
    let id = fixtures::build(pool, pkg, NewBuild::new(state, hours)).await;
    sqlx::query("UPDATE build SET deps_resolved = $2, dependency_keys = $3 WHERE id = $1")
        .bind(id)
        .bind(resolved)
        .bind(resolved.filter(|r| *r).map(|_| encode(keys)))
        .execute(pool)
        .await
        .unwrap();
    id
}

async fn comparison(pool: &PgPool, pkg: i32) -> Option<Vec<i32>> {
    let mut conn = pool.acquire().await.unwrap();
    package_comparison_deps(&mut conn, &[pkg])
        .await
        .unwrap()
        .remove(&pkg)
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn comparison_build_selection(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    // last build resolved: itself
    let p1 = fixtures::package(&pool, c, "p1").await;
    build(&pool, p1, BuildState::Complete, 5.0, Some(true), &[1]).await;
    build(&pool, p1, BuildState::Failed, 3.0, Some(true), &[2]).await;
    assert_eq!(comparison(&pool, p1).await, Some(vec![2]));
    // last build unresolvable: the newest earlier resolved one
    let p2 = fixtures::package(&pool, c, "p2").await;
    build(&pool, p2, BuildState::Complete, 9.0, Some(true), &[1]).await;
    build(&pool, p2, BuildState::Complete, 7.0, Some(true), &[3]).await;
    build(&pool, p2, BuildState::Complete, 5.0, Some(false), &[]).await;
    let last = build(&pool, p2, BuildState::Complete, 3.0, Some(false), &[]).await;
    assert_eq!(comparison(&pool, p2).await, Some(vec![3]));
    let mut conn = pool.acquire().await.unwrap();
    let (_, keys) = previous_build_deps(&mut conn, last).await.unwrap().unwrap();
    assert_eq!(keys, vec![3]);
    // last build not processed yet: none
    let p3 = fixtures::package(&pool, c, "p3").await;
    build(&pool, p3, BuildState::Complete, 5.0, Some(true), &[1]).await;
    build(&pool, p3, BuildState::Complete, 3.0, None, &[]).await;
    assert_eq!(comparison(&pool, p3).await, None);
    // running last build: none
    let p4 = fixtures::package(&pool, c, "p4").await;
    build(&pool, p4, BuildState::Complete, 5.0, Some(true), &[1]).await;
    build(&pool, p4, BuildState::Running, 1.0, None, &[]).await;
    assert_eq!(comparison(&pool, p4).await, None);
    // no earlier resolved build
    let p5 = fixtures::package(&pool, c, "p5").await;
    let first = build(&pool, p5, BuildState::Complete, 5.0, Some(false), &[]).await;
    assert_eq!(comparison(&pool, p5).await, None);
    assert_eq!(previous_build_deps(&mut conn, first).await.unwrap(), None);
    // a real build tagged after a later scratch build counts from its tagging (koschei#361)
    let p6 = fixtures::package(&pool, c, "p6").await;
    let real = build(&pool, p6, BuildState::Complete, 10.0, Some(true), &[6]).await;
    build(&pool, p6, BuildState::Complete, 5.0, Some(true), &[5]).await;
    sqlx::query(
        "UPDATE build SET tagged = (now() AT TIME ZONE 'UTC') - interval '1 hour' WHERE id = $1",
    )
    .bind(real)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(comparison(&pool, p6).await, Some(vec![6]));
}
