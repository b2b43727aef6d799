//! The repo resolver against koji-sim and PostgreSQL (the original's
//! `test/resolver_test.py`: repo generation, new packages, resolution history, broken
//! buildroot, forced re-resolution).

mod common;

use common::{env, foo_deps, nevra, HALF_BROKEN_PROBLEMS, MIGRATIONS};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATIONS")]
async fn repo_generation(pool: PgPool) {
    let env = env(pool).await;
    let (foo, build) = env.package("foo", Some(1000)).await;
    // the last build saw C 1:2 and no E
    let mut prev: Vec<_> = foo_deps().into_iter().filter(|n| n.name != "E").collect();
    prev.iter_mut().find(|n| n.name == "C").unwrap().version = "2".into();
    env.store_build_deps(build, &prev).await;
    env.iterate().await;

    let (latest, ok): (Option<i32>, Option<bool>) =
        sqlx::query_as("SELECT latest_repo_id, latest_repo_resolved FROM collection")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!((latest, ok), (Some(1000), Some(true)));
    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].0, "koschei.collection.state.change");
    assert_eq!(outbox[0].1["old"], "unknown");
    assert_eq!(outbox[0].1["new"], "ok");
    // the repo id (a number in Koschei, a string in the koschei-messages schema)
    assert_eq!(outbox[0].1["repo_id"].to_string().trim_matches('"'), "1000");
    // 20 / 2 + 20 / 2
    assert_eq!(env.package_row(foo).await, (Some(true), 20, 0));
    assert_eq!(
        env.unapplied(foo).await,
        vec![
            (
                Some("C-1:2-1.fc22".into()),
                Some("C-1:3-1.fc22".into()),
                Some(2)
            ),
            (None, Some("E-0:0.1-1.fc22.1".into()), Some(2)),
        ]
    );
    assert_eq!(env.history(foo).await, vec![(true, vec![])]);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM resolver_work")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);

    // the same repo again: nothing new, and the changes are replaced, not duplicated
    env.iterate().await;
    assert_eq!(env.history(foo).await.len(), 1);
    assert_eq!(env.unapplied(foo).await.len(), 2);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn new_packages_and_forced_reresolution(pool: PgPool) {
    let env = env(pool).await;
    env.iterate().await; // repo 1000, no packages yet
    let (foo, _) = env.package("foo", Some(1000)).await;
    let (broken, _) = env.package("broken", Some(1000)).await;
    let (skipped, _) = env.package("csh-user", Some(1000)).await;
    sqlx::query("UPDATE package SET skip_resolution = true WHERE id = $1")
        .bind(skipped)
        .execute(&env.pool)
        .await
        .unwrap();
    env.clear_outbox().await;
    env.iterate().await;
    assert_eq!(env.package_row(foo).await.0, Some(true));
    assert_eq!(env.package_row(broken).await.0, Some(false));
    assert_eq!(env.package_row(skipped).await.0, None);
    assert_eq!(
        env.history(broken).await,
        vec![(false, vec!["No package found for: nonexistent".to_string()])]
    );
    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].1["name"], "broken");
    assert_eq!(
        (outbox[0].1["old"].as_str(), outbox[0].1["new"].as_str()),
        (Some("ok"), Some("unresolved"))
    );

    // forced re-resolution: what the web's button does
    sqlx::query("UPDATE package SET resolved = NULL WHERE id = $1")
        .bind(foo)
        .execute(&env.pool)
        .await
        .unwrap();
    env.iterate().await;
    assert_eq!(env.package_row(foo).await.0, Some(true));
    // the same outcome as recorded: no duplicate history entry
    assert_eq!(env.history(foo).await, vec![(true, vec![])]);
    // a forced re-resolution of a whole collection (what the admin command does)
    let n = koschei_core::resolution::request_reresolution(
        &mut env.pool.acquire().await.unwrap(),
        env.collection_id,
        None,
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    env.iterate().await;
    assert_eq!(env.package_row(foo).await.0, Some(true));
    assert_eq!(env.package_row(broken).await.0, Some(false));
    assert_eq!(env.history(broken).await.len(), 1);
    assert_eq!(env.package_row(skipped).await.0, None);

    // an unresolved buildroot blocks the resolution of new packages
    sqlx::query("UPDATE collection SET latest_repo_resolved = false")
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE package SET resolved = NULL WHERE id = $1")
        .bind(foo)
        .execute(&env.pool)
        .await
        .unwrap();
    env.iterate().await;
    assert_eq!(env.package_row(foo).await.0, None);
}

/// Missing BuildRequires do not hide the solver's problems with the others: both are
/// recorded at once, and resolving the same outcome again (forced, or in a new repo with
/// the same content) writes no history. Koschei: `run_goal` in
/// `koschei/backend/depsolve.py`, history rule in
/// `koschei/backend/services/repo_resolver.py`.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn missing_and_broken_buildrequires_are_both_reported(pool: PgPool) {
    let env = env(pool).await;
    let (pkg, _) = env.package("half-broken", Some(1000)).await;
    env.iterate().await;
    let expected: Vec<String> = HALF_BROKEN_PROBLEMS.iter().map(|p| p.to_string()).collect();
    assert_eq!(env.package_row(pkg).await.0, Some(false));
    assert_eq!(env.history(pkg).await, vec![(false, expected.clone())]);
    let rows = || async {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT (SELECT count(*) FROM resolution_change),
                    (SELECT count(*) FROM resolution_problem)",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap()
    };
    assert_eq!(rows().await, (1, 2));

    // the same repo again, forced
    sqlx::query("UPDATE package SET resolved = NULL WHERE id = $1")
        .bind(pkg)
        .execute(&env.pool)
        .await
        .unwrap();
    env.iterate().await;
    assert_eq!(env.package_row(pkg).await.0, Some(false));
    assert_eq!(rows().await, (1, 2));
    // a new repo with the same content
    assert_eq!(env.regen_repo().await, 1001);
    env.iterate().await;
    assert_eq!(rows().await, (1, 2));
    assert_eq!(env.history(pkg).await, vec![(false, expected)]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn resolution_history_across_repos(pool: PgPool) {
    let env = env(pool).await;
    let (pkg, _) = env.package("needs-libx", Some(1000)).await;
    sqlx::raw_sql(
        "INSERT INTO package_group (name) VALUES ('libs');
                 INSERT INTO package_group_relation (group_id, base_id)
                 SELECT g.id, p.base_id FROM package_group g, package p",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    let no_libx = "No package found for: libx >= 2".to_string();
    let no_liby = "No package found for: liby".to_string();

    env.iterate().await; // repo 1000
    assert_eq!(
        env.history(pkg).await,
        vec![(false, vec![no_libx.clone(), no_liby.clone()])]
    );
    let msgs = env.outbox().await;
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        msgs[1].1,
        json!({"name": "needs-libx", "old": "ok", "new": "unresolved", "koji_instance": "primary",
               "repo": "f99", "collection": "f99", "collection_name": "Fedora Rawhide",
               "groups": ["libs"]})
    );

    // a new repo with the same outcome: no resolution change, no message
    env.clear_outbox().await;
    assert_eq!(env.regen_repo().await, 1001);
    env.iterate().await;
    assert_eq!(env.history(pkg).await.len(), 1);
    assert_eq!(env.outbox().await.len(), 0); // the collection stays ok: no message either
                                             // still unresolved, but another problem set: a resolution change, no package message
    env.clear_outbox().await;
    env.import("liby", "1", &[("liby", &[], &[])]).await;
    env.regen_repo().await;
    env.iterate().await;
    let h = env.history(pkg).await;
    assert_eq!(h.len(), 2);
    assert_eq!(h[1], (false, vec![no_libx.clone()]));
    assert!(env
        .outbox()
        .await
        .iter()
        .all(|(t, _)| t != "koschei.package.state.change"));
    // fixed: resolved again, message unresolved -> ok
    env.import("libx", "2", &[("libx", &[], &[])]).await;
    env.regen_repo().await;
    env.iterate().await;
    let h = env.history(pkg).await;
    assert_eq!(h.len(), 3);
    assert_eq!(h[2], (true, vec![]));
    let msgs = env.outbox().await;
    let pkg_msgs: Vec<_> = msgs
        .iter()
        .filter(|(t, _)| t == "koschei.package.state.change")
        .collect();
    assert_eq!(pkg_msgs.len(), 1);
    assert_eq!(
        (pkg_msgs[0].1["old"].as_str(), pkg_msgs[0].1["new"].as_str()),
        (Some("unresolved"), Some("ok"))
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn broken_buildroot_and_recovery(pool: PgPool) {
    let env = env(pool).await;
    let (foo, _) = env.package("foo", Some(1000)).await;
    env.iterate().await;
    assert_eq!(env.package_row(foo).await.0, Some(true));
    env.clear_outbox().await;

    env.set_build_group(&["R", "bar"], "build");
    let repo = env.regen_repo().await;
    sqlx::query("UPDATE package SET resolved = NULL")
        .execute(&env.pool)
        .await
        .unwrap();
    env.iterate().await;
    let (latest, ok): (Option<i32>, Option<bool>) =
        sqlx::query_as("SELECT latest_repo_id, latest_repo_resolved FROM collection")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!((latest, ok), (Some(repo), Some(false)));
    let problems: Vec<String> = sqlx::query_scalar("SELECT problem FROM buildroot_problem")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert!(
        !problems.is_empty() && problems.iter().all(|p| p.contains("nonexistent")),
        "{problems:?}"
    );
    // packages are not resolved against a broken buildroot
    assert_eq!(env.package_row(foo).await.0, None);
    let msgs = env.outbox().await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        (msgs[0].1["old"].as_str(), msgs[0].1["new"].as_str()),
        (Some("ok"), Some("unresolved"))
    );

    env.clear_outbox().await;
    env.set_build_group(&["R"], "build");
    env.regen_repo().await;
    env.iterate().await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM buildroot_problem")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    assert_eq!(env.package_row(foo).await.0, Some(true));
    let msgs = env.outbox().await;
    assert_eq!(
        (msgs[0].1["old"].as_str(), msgs[0].1["new"].as_str()),
        (Some("unresolved"), Some("ok"))
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn group_with_virtual_and_nonexistent_members(pool: PgPool) {
    let env = env(pool).await;
    env.set_build_group(&["virtual", "nonexistent-member"], "build");
    env.regen_repo().await;
    let (_, build) = env.package("foo", Some(1001)).await;
    env.iterate().await;
    let ok: Option<bool> = sqlx::query_scalar("SELECT latest_repo_resolved FROM collection")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(ok, Some(true));
    // R provides `virtual`; the missing member is skipped
    assert_eq!(env.build_deps(build).await, foo_deps());
    assert!(foo_deps().contains(&nevra("R", 0, "3.3", "2.fc22", "x86_64")));
}

/// Every package of a chunk whose state changes gets its own message, in package id
/// order, with its name and groups (`emit_package_state_update` of Koschei's
/// `koschei/plugins/fedmsg_plugin/backend/publisher.py`, once per package as in
/// `koschei/backend/services/repo_resolver.py`), however many are written together.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn state_change_messages_of_a_whole_chunk(pool: PgPool) {
    let env = env(pool).await;
    env.iterate().await; // repo 1000, no packages yet
    let (broken, _) = env.package("broken", Some(1000)).await;
    let (foo, _) = env.package("foo", Some(1000)).await;
    let (bad, _) = env.package("versioned-bad", Some(1000)).await;
    sqlx::raw_sql(
        "INSERT INTO package_group (namespace, name) VALUES (NULL, 'tools'), ('ns', 'libs');
         INSERT INTO package_group_relation (group_id, base_id)
         SELECT g.id, p.base_id FROM package_group g, package p WHERE p.name = 'versioned-bad'",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    env.clear_outbox().await;
    // one chunk for all three packages
    let ctx = common::context(&env.pool, &env.koji, env.dir.path(), 10);
    koschei_resolver::service::iteration(&ctx).await.unwrap();
    assert_eq!(env.package_row(foo).await.0, Some(true));
    let outbox = env.outbox().await;
    let expected = |name: &str, groups: serde_json::Value| {
        (
            "koschei.package.state.change".to_string(),
            json!({
                "name": name, "old": "ok", "new": "unresolved", "koji_instance": "primary",
                "repo": "f99", "collection": "f99", "collection_name": "Fedora Rawhide",
                "groups": groups,
            }),
        )
    };
    assert!(broken < bad);
    assert_eq!(
        outbox,
        vec![
            expected("broken", json!([])),
            expected("versioned-bad", json!(["ns/libs", "tools"])),
        ]
    );
}
