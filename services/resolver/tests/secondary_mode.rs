//! Secondary mode: a secondary repo is used only once regenerated on the primary.

mod common;

use std::time::Duration;

use common::{env, MIGRATIONS};
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::Config;
use koschei_koji::TaskState;
use koschei_resolver::context::Context;
use koschei_resolver::repo_resolver::{plan_collection, Planned};
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_secondary_repo_waits_for_its_primary_regeneration(pool: PgPool) {
    let env = env(pool).await;
    sqlx::query("UPDATE collection SET secondary_mode = true")
        .execute(&env.pool)
        .await
        .unwrap();
    let mut config = Config::default();
    config.directories.cachedir = env.dir.path().join("cache");
    let sessions = KojiSessions::new(env.koji.clone(), Some(env.koji.clone()));
    let ctx = Context::new(env.pool.clone(), config, sessions).unwrap();
    let c = ctx.collection(env.collection_id).await.unwrap().unwrap();
    assert_eq!(plan_collection(&ctx, &c).await.unwrap(), Planned::Nothing);

    // the primary regenerates (a newRepo task with a createrepo child)
    let task = env.koji.new_repo("f99-build").await.unwrap();
    for _ in 0..100 {
        let info = env.koji.get_task_info(task, false).await.unwrap().unwrap();
        if info.state == TaskState::Closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let repo = env
        .koji
        .get_repo("f99-build", koschei_koji::RepoState::Ready)
        .await
        .unwrap()
        .unwrap()
        .id as i32;
    sqlx::query("INSERT INTO repo_mapping (secondary_id, task_id) VALUES ($1, $2)")
        .bind(repo)
        .bind(task as i32)
        .execute(&env.pool)
        .await
        .unwrap();
    assert_eq!(
        plan_collection(&ctx, &c).await.unwrap(),
        Planned::NewRepo(repo, true, 0)
    );
    let primary: Option<i32> =
        sqlx::query_scalar("SELECT primary_id FROM repo_mapping WHERE secondary_id = $1")
            .bind(repo)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(primary, Some(repo));
}
