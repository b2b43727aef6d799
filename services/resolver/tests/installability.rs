//! The installability pass of the resolver service: every binary of a collection's new
//! repo installed alone, outcomes stored with a small history.

mod common;

use std::time::Duration;

use common::{env, MIGRATIONS};
use koschei_core::Config;
use koschei_resolver::installability::{self, BinaryOutcome};
use serde_json::json;
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
            installability::store(
                &pool,
                &Config::default(),
                c,
                repo,
                &outcomes,
                Duration::ZERO,
            )
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
    let again = installability::store(&pool, &Config::default(), c, 3, &[], Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(again, None);
    assert_eq!(history(&pool, "app").await.len(), 2);
}

/// The `installability.change` bodies in the outbox.
async fn installability_messages(env: &common::Env) -> Vec<serde_json::Value> {
    env.outbox()
        .await
        .into_iter()
        .filter(|(topic, _)| topic == "koschei.package.installability.change")
        .map(|(_, body)| body)
        .collect()
}

/// Runs a scratch build of `name`-1-1 on `repo_id` in koji-sim to its end; its task id.
async fn scratch_build(env: &common::Env, name: &str, repo_id: i32) -> i64 {
    let opts = koschei_koji::BuildOpts {
        scratch: true,
        repo_id: Some(repo_id.into()),
        ..Default::default()
    };
    let src = format!("cli-build/packages/{name}/1/1/src/{name}-1-1.src.rpm");
    let task = env.koji.build(&src, None, &opts, None).await.unwrap();
    for _ in 0..100 {
        let info = env.koji.get_task_info(task, false).await.unwrap().unwrap();
        if info.state.is_finished() {
            assert_eq!(info.state, koschei_koji::TaskState::Closed, "{info:?}");
            return task;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scratch build {task} did not finish");
}

/// Koschei's record of a completed scratch build of `package` (`task`, on `repo_id`).
async fn record_scratch_build(env: &common::Env, package: i32, task: i64, repo_id: i32) -> i32 {
    let build = env.build(package, 3, Some(repo_id), 0.1).await;
    sqlx::query("UPDATE build SET real = false, task_id = $2 WHERE id = $1")
        .bind(build)
        .bind(task as i32)
        .execute(&env.pool)
        .await
        .unwrap();
    build
}

/// Tracked package `app` (group ns/apps) linked against `libmylib.so.1`, installable in
/// repo 1001, broken in repo 1002 where mylib provides `libmylib.so.2`; a scratch build of
/// app on 1001 is recorded. Returns the environment and app's package id.
async fn broken_app(pool: PgPool) -> (common::Env, i32) {
    let env = env(pool).await;
    env.package("foo", Some(1000)).await;
    env.iterate().await;
    // a collection's first pass is a starting point, not a change
    assert_eq!(
        installability_messages(&env).await,
        Vec::<serde_json::Value>::new()
    );

    env.import("mylib", "1", &[("mylib", &["libmylib.so.1"], &[])])
        .await;
    env.import("app", "1", &[("app", &[], &["libmylib.so.1"])])
        .await;
    let (app, _) = env.package("app", Some(1000)).await;
    sqlx::raw_sql(
        "INSERT INTO package_group (namespace, name) VALUES ('ns', 'apps');
         INSERT INTO package_group_relation (group_id, base_id)
         SELECT g.id, p.base_id FROM package_group g, package p WHERE p.name = 'app'",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    assert_eq!(env.regen_repo().await, 1001);
    env.iterate().await;
    // new binaries that install are no news
    assert_eq!(
        installability_messages(&env).await,
        Vec::<serde_json::Value>::new()
    );

    // a scratch build before the breakage: never a candidate
    let early = scratch_build(&env, "app", 1001).await;
    record_scratch_build(&env, app, early, 1001).await;

    env.import("mylib", "2", &[("mylib", &["libmylib.so.2"], &[])])
        .await;
    assert_eq!(env.regen_repo().await, 1002);
    env.iterate().await;
    (env, app)
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_soname_bump_breaks_a_dependent_says_so_and_a_rebuild_would_fix_it(pool: PgPool) {
    let (env, app) = broken_app(pool).await;
    let messages = installability_messages(&env).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let broke = &messages[0];
    assert_eq!(
        (&broke["name"], &broke["old"], &broke["new"]),
        (
            &json!("app"),
            &json!("installable"),
            &json!("uninstallable")
        )
    );
    assert_eq!(broke["repo_id"], "1002");
    assert_eq!(broke["groups"], json!(["ns/apps"]));
    assert_eq!(broke["fixed_by_rebuild"], false);
    assert_eq!(broke["task_id"], json!(null));
    let binaries = broke["binaries"].as_array().unwrap();
    assert_eq!(binaries.len(), 1);
    assert_eq!(
        (
            &binaries[0]["name"],
            &binaries[0]["evr"],
            &binaries[0]["installable"]
        ),
        (&json!("app"), &json!("1-1"), &json!(false))
    );
    assert!(binaries[0]["problems"][0]
        .as_str()
        .unwrap()
        .contains("nothing provides libmylib.so.1 needed by app-1-1.x86_64"));
    let checked: i64 = sqlx::query_scalar("SELECT count(*) FROM rebuild_installability")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(
        checked, 0,
        "the build from before the breakage is no candidate"
    );

    // a rebuild on the broken repo links against libmylib.so.2 (koji-sim follows the
    // buildroot's soname, as a real rebuild does) and would install
    // an older scratch build on the broken repo is never checked: the latest says it
    let older = scratch_build(&env, "app", 1002).await;
    record_scratch_build(&env, app, older, 1002).await;
    let task = scratch_build(&env, "app", 1002).await;
    let build = record_scratch_build(&env, app, task, 1002).await;
    env.clear_outbox().await;
    env.iterate().await;
    let rows: Vec<(i32, i32, Option<bool>, serde_json::Value)> = sqlx::query_as(
        "SELECT build_id, repo_id, installable, binaries FROM rebuild_installability",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0, rows[0].1, rows[0].2), (build, 1002, Some(true)));
    assert_eq!(
        rows[0].3,
        json!([{"name": "app", "arch": "x86_64", "evr": "1-1", "installable": true,
                "problems": []}])
    );
    let messages = installability_messages(&env).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let fixed = &messages[0];
    assert_eq!(fixed["fixed_by_rebuild"], true);
    assert_eq!(fixed["task_id"], json!(task));
    assert_eq!(
        (&fixed["old"], &fixed["new"]),
        (&json!("uninstallable"), &json!("uninstallable"))
    );
    assert_eq!(fixed["binaries"], rows[0].3);

    // checked once per repo: the next iteration checks and sends nothing new
    env.iterate().await;
    assert_eq!(installability_messages(&env).await.len(), 1);
    let checked: i64 = sqlx::query_scalar("SELECT count(*) FROM rebuild_installability")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(checked, 1);

    // the library goes back to soname 1: app installs again, and says so
    env.import("mylib", "3", &[("mylib", &["libmylib.so.1"], &[])])
        .await;
    assert_eq!(env.regen_repo().await, 1003);
    env.clear_outbox().await;
    env.iterate().await;
    let messages = installability_messages(&env).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(
        (&messages[0]["old"], &messages[0]["new"]),
        (&json!("uninstallable"), &json!("installable"))
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_rebuild_koji_cannot_show_is_checked_once_and_says_why(pool: PgPool) {
    let (env, app) = broken_app(pool).await;
    let task = scratch_build(&env, "app", 1002).await;
    record_scratch_build(&env, app, task, 1002).await;
    env.clear_outbox().await;
    // Koji refuses the task's output listing (an expired or purged task answers so)
    env.koji
        .call(
            "sim.failNext",
            vec![koschei_koji::Value::str("listTaskOutput"), 5.into()],
        )
        .await
        .unwrap();
    env.iterate().await;
    env.iterate().await;
    let rows: Vec<(Option<bool>, Option<String>)> =
        sqlx::query_as("SELECT installable, note FROM rebuild_installability")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1, "checked once: {rows:?}");
    assert_eq!(rows[0].0, None);
    let note = rows[0].1.as_deref().unwrap();
    assert!(
        note.starts_with("Koji: listTaskOutput") && note.contains("refused"),
        "{note}"
    );
    assert_eq!(
        installability_messages(&env).await,
        Vec::<serde_json::Value>::new()
    );
    let report = {
        let mut conn = env.pool.acquire().await.unwrap();
        koschei_core::installability::package_installability(&mut conn, "app", "f99")
            .await
            .unwrap()
    };
    let verdict = report.rebuild.unwrap().verdict();
    assert!(
        verdict.contains("had nothing to check: Koji: listTaskOutput"),
        "{verdict}"
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_next_repo_is_checked_incrementally_with_the_answers_of_a_full_pass(pool: PgPool) {
    use koschei_resolver::previous_pass::PreviousPass;
    use koschei_resolver::repo_env::RepoStatus;
    let env = env(pool).await;
    env.package("foo", Some(1000)).await;
    env.import("mylib", "1", &[("mylib", &["libmylib.so.1"], &[])])
        .await;
    env.import("app", "1", &[("app", &[], &["libmylib.so.1"])])
        .await;
    env.import("tool", "1", &[("tool", &[], &["app"])]).await;
    assert_eq!(env.regen_repo().await, 1001);
    env.iterate().await;
    // the instance keeps what it stored for the next repo
    let kept = env.ctx.installability.get(env.collection_id, Some(1001));
    assert_eq!(kept.map(|p| p.repo_id), Some(1001));
    // mylib gets a new version with the same soname, a new package appears
    env.import("mylib", "2", &[("mylib", &["libmylib.so.1"], &[])])
        .await;
    env.import("extra", "1", &[("extra", &[], &["tool"])]).await;
    assert_eq!(env.regen_repo().await, 1002);

    let collections = env.ctx.collections().await.unwrap();
    let c = &collections[0];
    let solv = |repo| {
        let env = &env;
        async move {
            match env.ctx.repos.get(&env.koji, &c.repo(repo)).await.unwrap() {
                RepoStatus::Ready(r) => r.solv.clone(),
                _ => panic!("repo {repo} not ready"),
            }
        }
    };
    let (old, new) = (solv(1001).await, solv(1002).await);
    let ignore_weak = env.ctx.config.dependency.ignore_weak_deps;
    let base = installability::check_repo(&old, ignore_weak, 2, None).unwrap();
    let previous = PreviousPass {
        repo_id: 1001,
        solv: old,
        results: std::sync::Arc::new(base.results),
    };
    let full = installability::check_repo(&new, ignore_weak, 2, None).unwrap();
    let incremental = installability::check_repo(&new, ignore_weak, 2, Some(&previous)).unwrap();
    assert_eq!(incremental.outcomes, full.outcomes);
    assert_eq!(full.reused, 0);
    assert!(
        incremental.reused > 10 && incremental.reused < full.outcomes.len(),
        "{} of {} carried over",
        incremental.reused,
        full.outcomes.len()
    );
    // and the service does the same
    env.iterate().await;
    let app = row(&env.pool, "app").await;
    let from_full = full.outcomes.iter().find(|o| o.name == "app").unwrap();
    assert_eq!(
        (app.1, app.3, app.4, app.5),
        (
            true,
            from_full.install_count,
            from_full.download_size,
            from_full.install_size
        )
    );
}
