//! Group refreshes and group tracking (the original's `bin/koschei-refresh-*`
//! and `bin/koschei-track-group` scripts) against a real PostgreSQL and the
//! dist-git simulator.

use koschei_core::audit::{get_or_create_user, Actor};
use koschei_core::error::DataError;
use koschei_core::fixtures;
use koschei_core::group_sync::{self, GroupSyncError, TrackedPackage};
use koschei_core::groups;
use koschei_core::model::LogEnvironment;
use koschei_core::pagure::{PagureClient, PagureConfig};
use pagure_sim::{PagureSim, Seed, BZ_PATH};
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;

/// The admin user (id 1, created by [`world`]).
fn admin() -> Actor {
    Actor {
        environment: LogEnvironment::Admin,
        user_id: Some(1),
    }
}

/// Collection `f25` with maven, maven-resolver, xmvn, rnv and javapackages,
/// and group `java` holding javapackages.
async fn world(pool: &PgPool) -> i32 {
    let c = fixtures::collection(pool, "f25").await;
    for name in ["maven", "maven-resolver", "xmvn", "rnv", "javapackages"] {
        fixtures::package(pool, c, name).await;
    }
    let mut conn = pool.acquire().await.unwrap();
    let admin_id = get_or_create_user(&mut conn, "admin").await.unwrap();
    assert_eq!(admin_id, 1);
    let g = groups::create_group(&mut conn, &admin(), "java")
        .await
        .unwrap();
    groups::set_group_content(&mut conn, &admin(), &g, &["javapackages".into()], false)
        .await
        .unwrap();
    c
}

async fn content(pool: &PgPool, group: &str) -> Vec<String> {
    let mut conn = pool.acquire().await.unwrap();
    let g = groups::find_group(&mut conn, group).await.unwrap();
    groups::group_package_names(&mut conn, &g).await.unwrap()
}

async fn pagure(seed: Seed) -> (PagureSim, PagureClient) {
    let sim = PagureSim::start("127.0.0.1:0".parse().unwrap(), seed)
        .await
        .unwrap();
    let client = PagureClient::new(&PagureConfig::default()).unwrap();
    (sim, client)
}

fn bz_seed() -> Seed {
    Seed::rpms(&[
        ("maven", &[], &["mizdebsk", "@java-maint-sig"]),
        ("xmvn", &[], &["mizdebsk"]),
        ("rnv", &[], &["msimacek"]),
    ])
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn refresh_user_group_replaces_content_with_the_users_packages(pool: PgPool) {
    world(&pool).await;
    let (sim, client) = pagure(bz_seed()).await;
    let mut conn = pool.acquire().await.unwrap();
    let names = group_sync::refresh_user_group(
        &mut conn,
        &admin(),
        &client,
        &sim.bz_url(),
        "java",
        "mizdebsk",
        false,
    )
    .await
    .unwrap();
    assert_eq!(names, ["maven", "xmvn"]);
    assert_eq!(content(&pool, "java").await, ["maven", "xmvn"]);
    let log: Vec<String> =
        sqlx::query_scalar("SELECT message FROM log_entry WHERE environment = 'admin' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(log.contains(&"Group java modified: package javapackages removed".to_string()));
    assert!(log.contains(&"Group java modified: package xmvn added".to_string()));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn refresh_distgit_group_appends_the_groups_packages(pool: PgPool) {
    world(&pool).await;
    let (sim, client) = pagure(bz_seed()).await;
    let mut conn = pool.acquire().await.unwrap();
    let names = group_sync::refresh_distgit_group(
        &mut conn,
        &admin(),
        &client,
        &sim.bz_url(),
        "java",
        "java-maint-sig",
        true,
    )
    .await
    .unwrap();
    assert_eq!(names, ["maven"]);
    assert_eq!(content(&pool, "java").await, ["javapackages", "maven"]);
    // A user name is not a group: "mizdebsk" lists no package as "@mizdebsk".
    let err = group_sync::refresh_distgit_group(
        &mut conn,
        &admin(),
        &client,
        &sim.bz_url(),
        "java",
        "mizdebsk",
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        GroupSyncError::Data(DataError::GroupContentEmpty)
    ));
    assert_eq!(content(&pool, "java").await, ["javapackages", "maven"]);
}

/// `refresh_user_group` of `user` into `group`, replacing its content.
async fn refresh(
    conn: &mut sqlx::PgConnection,
    client: &PagureClient,
    sim: &PagureSim,
    group: &str,
    user: &str,
) -> Result<Vec<String>, GroupSyncError> {
    group_sync::refresh_user_group(conn, &admin(), client, &sim.bz_url(), group, user, false).await
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn refresh_refusals_change_nothing(pool: PgPool) {
    world(&pool).await;
    let mut seed = bz_seed();
    seed.bz
        .get_mut("rpms")
        .unwrap()
        .insert("ghost".into(), vec!["msimacek".into()]);
    let (sim, client) = pagure(seed).await;
    let mut conn = pool.acquire().await.unwrap();
    // dist-git lists a package Koschei does not know: the whole content is refused
    let err = refresh(&mut conn, &client, &sim, "java", "msimacek")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GroupSyncError::Data(DataError::PackagesDontExist(n)) if n == &["ghost"]),
        "{err}"
    );
    // unknown group: refused before any download
    let before = sim.requests(BZ_PATH);
    let err = refresh(&mut conn, &client, &sim, "nosuch", "mizdebsk")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        GroupSyncError::Data(DataError::GroupNotFound(_))
    ));
    assert_eq!(sim.requests(BZ_PATH), before);
    // dist-git down: a clear error naming the URL and status
    sim.set_failing(true);
    let err = refresh(&mut conn, &client, &sim, "java", "mizdebsk")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert!(err.to_string().contains(BZ_PATH), "{err}");
    assert_eq!(content(&pool, "java").await, ["javapackages"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn oversized_or_missing_maps_are_refused(pool: PgPool) {
    world(&pool).await;
    let (sim, _) = pagure(bz_seed()).await;
    let small = PagureClient::new(&PagureConfig {
        max_reply_size: 16,
        ..PagureConfig::default()
    })
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let err = group_sync::refresh_user_group(
        &mut conn,
        &admin(),
        &small,
        &sim.bz_url(),
        "java",
        "mizdebsk",
        false,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("larger than 16 bytes"), "{err}");
    // a file dist-git does not publish
    let client = PagureClient::new(&PagureConfig::default()).unwrap();
    let err = client
        .rpms(&format!("{}/extras/other.json", sim.url))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 404"), "{err}");
    assert_eq!(content(&pool, "java").await, ["javapackages"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn refresh_group_appends_regex_matches_of_known_packages(pool: PgPool) {
    let c = world(&pool).await;
    let retired = fixtures::package(&pool, c, "maven-ant-tasks").await;
    sqlx::query("UPDATE package SET blocked = true WHERE id = $1")
        .bind(retired)
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let names = group_sync::refresh_group(&mut conn, &admin(), "java", "^maven|xmvn$")
        .await
        .unwrap();
    assert_eq!(names, ["maven", "maven-resolver", "xmvn"]);
    assert_eq!(
        content(&pool, "java").await,
        ["javapackages", "maven", "maven-resolver", "xmvn"]
    );
    let err = group_sync::refresh_group(&mut conn, &admin(), "java", "(unclosed")
        .await
        .unwrap_err();
    assert!(matches!(err, GroupSyncError::Regex { .. }), "{err}");
    let err = group_sync::refresh_group(&mut conn, &admin(), "java", "^nothing$")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        GroupSyncError::Data(DataError::GroupContentEmpty)
    ));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn track_group_tracks_its_packages_in_every_collection(pool: PgPool) {
    let f25 = world(&pool).await;
    let f26 = fixtures::collection(&pool, "f26").await;
    fixtures::package(&pool, f26, "javapackages").await;
    fixtures::package(&pool, f26, "rnv").await;
    sqlx::query("UPDATE package SET tracked = false")
        .execute(&pool)
        .await
        .unwrap();
    // already tracked in f25: unchanged, not logged
    sqlx::query(
        "UPDATE package SET tracked = true WHERE name = 'javapackages' AND collection_id = $1",
    )
    .bind(f25)
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let g = groups::find_group(&mut conn, "java").await.unwrap();
    groups::set_group_content(&mut conn, &admin(), &g, &["maven".into()], true)
        .await
        .unwrap();
    let tracked = group_sync::track_group(&mut conn, &admin(), "java")
        .await
        .unwrap();
    let tp = |collection: &str, name: &str| TrackedPackage {
        collection: collection.into(),
        name: name.into(),
    };
    assert_eq!(tracked, [tp("f25", "maven"), tp("f26", "javapackages")]);
    let untracked: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM package WHERE NOT tracked ORDER BY name, collection_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(untracked, ["maven-resolver", "rnv", "rnv", "xmvn"]);
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM log_entry WHERE message LIKE '%tracked set from False to True'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(logged, 2);
    // the original's script only looks at global groups
    groups::create_group(&mut conn, &admin(), "ns/java")
        .await
        .unwrap();
    let err = group_sync::track_group(&mut conn, &admin(), "ns/java")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only global groups"), "{err}");
    let err = group_sync::track_group(&mut conn, &admin(), "nosuch")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        GroupSyncError::Data(DataError::GroupNotFound(_))
    ));
}
