//! Several resolver instances sharing one collection's work through PostgreSQL: chunks
//! claimed with SKIP LOCKED, a killed instance's chunk taken over after its lease, late
//! results discarded; and the repo-done notification.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::{context, env, MIGRATIONS};
use koschei_resolver::package_persist::{persist_chunk, DependencySet, PackageOutcome, WorkClaim};
use koschei_resolver::repo_resolver::{plan_collection, process_work, Planned};
use koschei_resolver::{repo_notify, work_queue};
use sqlx::PgPool;

const NAMES: [&str; 6] = [
    "foo",
    "broken",
    "csh-user",
    "rich-br",
    "rich-req",
    "versioned-ok",
];

async fn unresolved_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM package WHERE resolved IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn two_instances_share_a_repo_pass(pool: PgPool) {
    let env = env(pool).await;
    for name in NAMES {
        env.package(name, Some(1000)).await;
    }
    // chunks of one package; instance A plans, both work
    let a = context(&env.pool, &env.koji, env.dir.path(), 1);
    let b = context(&env.pool, &env.koji, env.dir.path(), 1);
    assert_ne!(a.instance, b.instance);
    let c = a.collection(env.collection_id).await.unwrap().unwrap();
    assert_eq!(
        plan_collection(&a, &c).await.unwrap(),
        Planned::NewRepo(1000, true, 6)
    );
    let (ra, rb) = tokio::join!(process_work(&a, None), process_work(&b, None));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.chunks + rb.chunks, 6);
    assert_eq!(ra.persist.persisted + rb.persist.persisted, 6);
    assert_eq!(unresolved_count(&env.pool).await, 0);
    // each package has exactly one resolution change: no chunk was done twice
    let dup: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT package_id FROM resolution_change GROUP BY 1 HAVING count(*) > 1) d",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(dup, 0);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_killed_instance_s_chunk_is_taken_over(pool: PgPool) {
    let env = env(pool).await;
    for name in NAMES {
        env.package(name, Some(1000)).await;
    }
    let planner = context(&env.pool, &env.koji, env.dir.path(), 2);
    let c = planner
        .collection(env.collection_id)
        .await
        .unwrap()
        .unwrap();
    plan_collection(&planner, &c).await.unwrap();
    // instance A claims the first chunk with a short lease and "dies"
    let dead = "dead-instance";
    let item = work_queue::claim(&env.pool, dead, Duration::from_millis(800))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.package_ids.len(), 2);
    // instance B does everything else at once but cannot take A's chunk yet
    let b = context(&env.pool, &env.koji, env.dir.path(), 2);
    let stats = process_work(&b, None).await.unwrap();
    assert_eq!(stats.chunks, 2);
    assert_eq!(unresolved_count(&env.pool).await, 2);
    // after the lease expired it does
    tokio::time::sleep(Duration::from_millis(900)).await;
    let stats = process_work(&b, None).await.unwrap();
    assert_eq!(stats.chunks, 1);
    assert_eq!(unresolved_count(&env.pool).await, 0);
    let claims: i64 = sqlx::query_scalar("SELECT count(*) FROM resolver_work")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(claims, 0);
    // A comes back with results: discarded, nothing written
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM resolution_change")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let late = PackageOutcome {
        package_id: item.package_ids[0],
        last_build_id: None,
        resolved: false,
        problems: vec!["late".into()],
        dependencies: DependencySet::default(),
        srpm: None,
        trace: None,
    };
    let claim = WorkClaim {
        item_id: item.id,
        instance: dead,
    };
    let s = persist_chunk(
        &env.pool,
        &env.ctx.config,
        &env.ctx.deps,
        &[late],
        Some(claim),
        None,
    )
    .await
    .unwrap();
    assert_eq!((s.persisted, s.discarded), (0, 1));
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM resolution_change")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn heartbeat_keeps_a_lease_alive(pool: PgPool) {
    let env = env(pool).await;
    sqlx::query(
        "INSERT INTO resolver_work (collection_id, repo_id, package_ids) VALUES ($1, 1000, '{}')",
    )
    .bind(env.collection_id)
    .execute(&env.pool)
    .await
    .unwrap();
    let lease = Duration::from_millis(600);
    work_queue::claim(&env.pool, "alive", lease)
        .await
        .unwrap()
        .unwrap();
    let hb = work_queue::Heartbeat::start(env.pool.clone(), "alive".into(), lease);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        work_queue::claim(&env.pool, "other", lease).await.unwrap(),
        None
    );
    drop(hb);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(work_queue::claim(&env.pool, "other", lease)
        .await
        .unwrap()
        .is_some());
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn results_are_discarded_when_the_last_build_changed(pool: PgPool) {
    let env = env(pool).await;
    let (foo, build) = env.package("foo", Some(1000)).await;
    let stale = PackageOutcome {
        package_id: foo,
        last_build_id: Some(build),
        resolved: false,
        problems: vec!["x".into()],
        dependencies: DependencySet::default(),
        srpm: None,
        trace: None,
    };
    // a new build was submitted meanwhile
    env.build(foo, 2, None, 0.0).await;
    let s = persist_chunk(
        &env.pool,
        &env.ctx.config,
        &env.ctx.deps,
        &[stale],
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!((s.persisted, s.discarded), (0, 1));
    assert_eq!(env.package_row(foo).await.0, None);
    assert!(env.history(foo).await.is_empty());
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_new_repo_supersedes_queued_work(pool: PgPool) {
    let env = env(pool).await;
    for name in NAMES {
        env.package(name, Some(1000)).await;
    }
    let c = env
        .ctx
        .collection(env.collection_id)
        .await
        .unwrap()
        .unwrap();
    plan_collection(&env.ctx, &c).await.unwrap();
    let repo = env.regen_repo().await;
    let c = env
        .ctx
        .collection(env.collection_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        plan_collection(&env.ctx, &c).await.unwrap(),
        Planned::NewRepo(repo, true, 6)
    );
    let repos: HashSet<i32> = sqlx::query_scalar("SELECT repo_id FROM resolver_work")
        .fetch_all(&env.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(repos, HashSet::from([repo]));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn repo_done_notification_wakes_the_service(pool: PgPool) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = repo_notify::listen(&pool, wake.clone()).await.unwrap();
    sqlx::query("SELECT pg_notify($1, 'f99-build:1001')")
        .bind(repo_notify::REPO_DONE_CHANNEL)
        .execute(&pool)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), wake.notified())
        .await
        .expect("woken");
    task.abort();
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_reresolution_request_wakes_the_service(pool: PgPool) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = repo_notify::listen(&pool, wake.clone()).await.unwrap();
    let c = koschei_core::fixtures::collection(&pool, "f99").await;
    assert_eq!(
        koschei_core::resolution::request_reresolution(&mut pool.acquire().await.unwrap(), c, None)
            .await
            .unwrap(),
        0
    );
    tokio::time::timeout(Duration::from_secs(5), wake.notified())
        .await
        .expect("woken");
    task.abort();
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_queued_impact_check_wakes_the_service(pool: PgPool) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = repo_notify::listen(&pool, wake.clone()).await.unwrap();
    koschei_core::fixtures::collection(&pool, "f99").await;
    koschei_core::impact::create(
        &mut pool.acquire().await.unwrap(),
        &koschei_core::config::ImpactConfig::default(),
        &koschei_core::audit::Actor::backend(),
        &koschei_core::impact::NewImpactCheck::new("f99", "f99-build-side-1"),
    )
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(5), wake.notified())
        .await
        .expect("woken");
    task.abort();
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_chunk_that_keeps_failing_does_not_hold_up_the_others(pool: PgPool) {
    let c = koschei_core::fixtures::collection(&pool, "f99").await;
    for _ in 0..2 {
        sqlx::query(
            "INSERT INTO resolver_work (collection_id, repo_id, package_ids) VALUES ($1, 1, '{}')",
        )
        .bind(c)
        .execute(&pool)
        .await
        .unwrap();
    }
    let lease = Duration::from_secs(60);
    let first = work_queue::claim(&pool, "a", lease).await.unwrap().unwrap();
    work_queue::release(&pool, first.id, "a").await.unwrap();
    // the released (failed) chunk goes behind the untried one
    let second = work_queue::claim(&pool, "a", lease).await.unwrap().unwrap();
    assert_ne!(second.id, first.id);
    work_queue::release(&pool, second.id, "a").await.unwrap();
    // after MAX_CLAIMS claims a chunk is no longer handed out
    sqlx::query("UPDATE resolver_work SET claims = $1")
        .bind(work_queue::MAX_CLAIMS)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(work_queue::claim(&pool, "a", lease).await.unwrap(), None);
}

/// A write that fails ends the pass with its error, promptly: the chunks loaded ahead and
/// never solved go back to the queue at once (the loaders must not wait for room in their
/// channel forever), and only the chunks whose write failed stay claimed until their lease
/// ends.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_failing_write_ends_the_pass_and_gives_loaded_chunks_back(pool: PgPool) {
    let env = env(pool).await;
    for name in NAMES {
        env.package(name, Some(1000)).await;
    }
    let ctx = context(&env.pool, &env.koji, env.dir.path(), 1);
    let c = ctx.collection(env.collection_id).await.unwrap().unwrap();
    assert_eq!(
        plan_collection(&ctx, &c).await.unwrap(),
        Planned::NewRepo(1000, true, 6)
    );
    // persisting reads the packages' history: every write fails
    sqlx::query("ALTER TABLE resolution_change RENAME TO resolution_change_away")
        .execute(&env.pool)
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), process_work(&ctx, None))
        .await
        .expect("the pass ended");
    let error = format!("{:#}", result.expect_err("the writes failed"));
    assert!(error.contains("resolution_change"), "{error}");
    let (queued, claimed): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE claimed_by IS NOT NULL) FROM resolver_work",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(queued, 6, "nothing was written");
    assert!(
        (1..=2).contains(&claimed),
        "only the failed writes' chunks stay claimed: {claimed}"
    );
}
