//! The installability pass of the resolver service: every binary of a collection's new
//! repo installed alone, outcomes stored with a small history.

mod common;

use std::time::Duration;

use common::{env, MIGRATIONS};
use koschei_resolver::installability::{self, BinaryOutcome};
use sqlx::PgPool;

/// (name, installable, problems, install_count, download_size, install_size)
type Row = (String, bool, Vec<String>, i32, i64, i64);

async fn binaries(pool: &PgPool) -> Vec<Row> {
    sqlx::query_as(
        "SELECT name, installable, problems, install_count, download_size, install_size
           FROM binary_installability ORDER BY name, arch",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn row(pool: &PgPool, name: &str) -> Row {
    binaries(pool)
        .await
        .into_iter()
        .find(|r| r.0 == name)
        .unwrap_or_else(|| panic!("no row for {name}"))
}

/// (repo, evr, installable) of a binary's history rows.
async fn history(pool: &PgPool, name: &str) -> Vec<(i32, Option<String>, Option<bool>)> {
    sqlx::query_as(
        "SELECT repo_id, evr, installable FROM installability_change WHERE name = $1 ORDER BY id",
    )
    .bind(name)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn passes(pool: &PgPool) -> Vec<(i32, i32, i32, i32)> {
    sqlx::query_as(
        "SELECT repo_id, binaries, uninstallable, changes FROM installability_pass ORDER BY repo_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn every_binary_of_each_new_repo_is_checked_and_only_changes_make_history(pool: PgPool) {
    let env = env(pool).await;
    env.package("foo", Some(1000)).await;
    env.iterate().await;
    let first = binaries(&env.pool).await;
    assert_eq!(first.len(), 15);
    // A requires B and C; sizes of the fixture's rpm-md: 6222 + 6206 + 6242 bytes to
    // download, 4 + 4 + 4 installed
    let a = row(&env.pool, "A").await;
    assert_eq!(a, ("A".into(), true, vec![], 3, 18670, 12));
    let bar = row(&env.pool, "bar").await;
    assert_eq!(
        (bar.1, bar.2, bar.3, bar.4, bar.5),
        (
            false,
            vec![
                "Problem: conflicting requests\n - nothing provides nonexistent needed by \
                 bar-1-1.fc22.x86_64"
                    .to_string()
            ],
            0,
            0,
            0
        )
    );
    assert_eq!(passes(&env.pool).await, [(1000, 15, 2, 15)]);

    // a library and its user
    env.import("mylib", "1", &[("mylib", &["libmylib.so.1"], &[])])
        .await;
    env.import("app", "1", &[("app", &[], &["libmylib.so.1"])])
        .await;
    assert_eq!(env.regen_repo().await, 1001);
    env.iterate().await;
    assert!(row(&env.pool, "app").await.1);
    assert_eq!(row(&env.pool, "app").await.3, 2);
    assert_eq!(passes(&env.pool).await[1], (1001, 17, 2, 2));

    // the library's soname moves: the user breaks, and says why
    env.import("mylib", "2", &[("mylib", &["libmylib.so.2"], &[])])
        .await;
    assert_eq!(env.regen_repo().await, 1002);
    env.iterate().await;
    let app = row(&env.pool, "app").await;
    assert!(!app.1);
    assert!(
        app.2[0].contains("nothing provides libmylib.so.1 needed by app-1-1.x86_64"),
        "{:?}",
        app.2
    );
    assert_eq!(passes(&env.pool).await[2], (1002, 17, 3, 2));
    assert_eq!(
        history(&env.pool, "app").await,
        [
            (1001, Some("1-1".into()), Some(true)),
            (1002, Some("1-1".into()), Some(false))
        ]
    );
    assert_eq!(
        history(&env.pool, "mylib").await,
        [
            (1001, Some("1-1".into()), Some(true)),
            (1002, Some("2-1".into()), Some(true))
        ]
    );
    // untouched binaries keep their first row only
    assert_eq!(
        history(&env.pool, "A").await,
        [(1000, Some("1-1.fc22".into()), Some(true))]
    );

    // a repo without changes: checked, no history
    assert_eq!(env.regen_repo().await, 1003);
    env.iterate().await;
    assert_eq!(passes(&env.pool).await[3], (1003, 17, 3, 0));
    assert_eq!(history(&env.pool, "app").await.len(), 2);
    let checked: Option<i32> =
        sqlx::query_scalar("SELECT installability_repo_id FROM collection WHERE id = $1")
            .bind(env.collection_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(checked, Some(1003));
}

fn outcome(name: &str, evr: &str, sizes: (i32, i64, i64)) -> BinaryOutcome {
    BinaryOutcome {
        name: name.into(),
        arch: "x86_64".into(),
        evr: evr.into(),
        source_name: "src".into(),
        problems: vec![],
        install_count: sizes.0,
        download_size: sizes.1,
        install_size: sizes.2,
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn small_size_drifts_update_the_row_and_add_up_to_history(pool: PgPool) {
    let c = koschei_core::fixtures::collection(&pool, "f99").await;
    let store = |repo, outcomes: Vec<BinaryOutcome>| {
        let pool = pool.clone();
        async move {
            installability::store(&pool, c, repo, &outcomes, Duration::ZERO)
                .await
                .unwrap()
                .unwrap()
                .changes
        }
    };
    let sizes = |pool: PgPool| async move {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT install_size, recorded_install_size FROM binary_installability
              WHERE name = 'app'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let base = (3, 1000, 100_000);
    assert_eq!(
        store(
            1,
            vec![outcome("app", "1-1", base), outcome("old", "1-1", base)]
        )
        .await,
        2
    );
    // +0.5 %: the row follows, the history does not
    assert_eq!(
        store(
            2,
            vec![
                outcome("app", "1-1", (3, 1000, 100_500)),
                outcome("old", "1-1", base)
            ]
        )
        .await,
        0
    );
    assert_eq!(sizes(pool.clone()).await, (100_500, 100_000));
    // another +0.5 %: 1 % since the last history row, and "old" left the repo
    assert_eq!(
        store(3, vec![outcome("app", "1-1", (3, 1000, 101_000))]).await,
        2
    );
    assert_eq!(sizes(pool.clone()).await, (101_000, 101_000));
    assert_eq!(
        history(&pool, "old").await,
        [(1, Some("1-1".into()), Some(true)), (3, None, None)]
    );
    assert_eq!(history(&pool, "app").await.len(), 2);
    // the same repo again (another instance stored it meanwhile): nothing is written
    let again = installability::store(&pool, c, 3, &[], Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(again, None);
    assert_eq!(history(&pool, "app").await.len(), 2);
}
