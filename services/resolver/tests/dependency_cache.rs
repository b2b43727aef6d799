//! The dependency-row cache against PostgreSQL (the original's
//! `test/dependency_cache_test.py`: id and NEVRA lookups from the database and from memory,
//! inserts, LRU eviction, concurrency).

mod common;

use common::{nevra, MIGRATIONS};
use koschei_depsolve::Nevra;
use koschei_resolver::dependency_cache::{CacheStats, DependencyCache};
use sqlx::PgPool;

fn nevras() -> Vec<Nevra> {
    vec![
        nevra("A", 0, "1", "1.fc22", "x86_64"),
        nevra("C", 1, "3", "1.fc22", "x86_64"),
        nevra("E", 0, "0.1", "1.fc22.1", "noarch"),
    ]
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn get_or_create_inserts_once_then_serves_from_memory(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let cache = DependencyCache::new(10);
    let all = nevras();
    let refs: Vec<&Nevra> = all.iter().collect();
    let ids = cache.get_or_create(&mut conn, &refs).await.unwrap();
    assert_eq!(
        cache.stats(),
        CacheStats {
            hits: 0,
            misses: 3,
            inserts: 3
        }
    );
    let rows: Vec<(i32, String, Option<i32>, String, String, String)> = sqlx::query_as(
        "SELECT id, name, epoch, version, release, arch FROM dependency ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1],
        (
            ids[1],
            "C".into(),
            Some(1),
            "3".into(),
            "1.fc22".into(),
            "x86_64".into()
        )
    );
    // again, in another order and with a duplicate: memory only
    let again = cache
        .get_or_create(&mut conn, &[refs[2], refs[0], refs[2]])
        .await
        .unwrap();
    assert_eq!(again, vec![ids[2], ids[0], ids[2]]);
    assert_eq!(
        cache.stats(),
        CacheStats {
            hits: 3,
            misses: 3,
            inserts: 3
        }
    );
    // a second cache (another process) finds the rows in the database, inserts nothing
    let other = DependencyCache::new(10);
    assert_eq!(other.get_or_create(&mut conn, &refs).await.unwrap(), ids);
    assert_eq!(
        other.stats(),
        CacheStats {
            hits: 0,
            misses: 3,
            inserts: 0
        }
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn get_by_ids_from_database_then_memory(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let all = nevras();
    let refs: Vec<&Nevra> = all.iter().collect();
    let ids = DependencyCache::new(10)
        .get_or_create(&mut conn, &refs)
        .await
        .unwrap();
    let cache = DependencyCache::new(10);
    let got = cache
        .get_by_ids(&mut conn, &[ids[2], ids[0]])
        .await
        .unwrap();
    assert_eq!(got, vec![all[2].clone(), all[0].clone()]);
    assert_eq!(
        cache.stats(),
        CacheStats {
            hits: 0,
            misses: 2,
            inserts: 0
        }
    );
    let got = cache.get_by_ids(&mut conn, &ids).await.unwrap();
    assert_eq!(got, all);
    assert_eq!(
        cache.stats(),
        CacheStats {
            hits: 2,
            misses: 3,
            inserts: 0
        }
    );
    // rows fetched by id also serve NEVRA lookups
    cache.get_or_create(&mut conn, &refs).await.unwrap();
    assert_eq!(cache.stats().hits, 5);
    assert!(cache.get_by_ids(&mut conn, &[ids[0] + 1000]).await.is_err());
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn least_recently_used_rows_are_evicted(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let all = nevras();
    let cache = DependencyCache::new(2);
    let a = cache.get_or_create(&mut conn, &[&all[0]]).await.unwrap()[0];
    let c = cache.get_or_create(&mut conn, &[&all[1]]).await.unwrap()[0];
    cache.get_by_ids(&mut conn, &[a]).await.unwrap(); // A is now the most recent
    let e = cache.get_or_create(&mut conn, &[&all[2]]).await.unwrap()[0];
    assert_eq!(cache.len(), 2);
    assert!(cache.contains_id(a) && cache.contains_id(e));
    assert!(!cache.contains_id(c));
    let before = cache.stats().misses;
    assert_eq!(
        cache.get_by_ids(&mut conn, &[c]).await.unwrap(),
        vec![all[1].clone()]
    );
    assert_eq!(cache.stats().misses, before + 1);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn concurrent_creators_agree(pool: PgPool) {
    let all: Vec<Nevra> = (0..200)
        .map(|i| nevra(&format!("pkg{i}"), 0, "1", "1", "x86_64"))
        .collect();
    let run = |pool: PgPool, all: Vec<Nevra>, rev: bool| async move {
        let cache = DependencyCache::new(1000);
        let mut conn = pool.acquire().await.unwrap();
        let mut refs: Vec<&Nevra> = all.iter().collect();
        if rev {
            refs.reverse();
        }
        let mut ids = cache.get_or_create(&mut conn, &refs).await.unwrap();
        if rev {
            ids.reverse();
        }
        ids
    };
    let (x, y) = tokio::join!(
        tokio::spawn(run(pool.clone(), all.clone(), false)),
        tokio::spawn(run(pool.clone(), all.clone(), true))
    );
    assert_eq!(x.unwrap(), y.unwrap());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM dependency")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 200);
}
