//! The build resolver against koji-sim and PostgreSQL (the original's
//! `test/resolver_test.py`: build resolution, applied changes, skipped running builds,
//! unresolvable builds, dead repos, missing build group, BuildRequires flags, file
//! provides, rich dependencies).

mod common;

use common::{env, foo_deps, nevra, MIGRATIONS};
use koschei_resolver::build_resolver::resolve_builds;
use sqlx::PgPool;

async fn deps_resolved(pool: &PgPool, build: i32) -> Option<bool> {
    sqlx::query_scalar("SELECT deps_resolved FROM build WHERE id = $1")
        .bind(build)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn build_resolution_with_applied_changes(pool: PgPool) {
    let env = env(pool).await;
    let (foo, old) = env.package("foo", Some(999)).await;
    let mut prev: Vec<_> = foo_deps().into_iter().filter(|n| n.name != "E").collect();
    prev.iter_mut().find(|n| n.name == "C").unwrap().version = "2".into();
    env.store_build_deps(old, &prev).await;
    let new = env.build(foo, 3, Some(1000), 5.0).await;
    let running = env.build(foo, 2, None, 1.0).await;
    env.iterate().await;

    assert_eq!(deps_resolved(&env.pool, new).await, Some(true));
    assert_eq!(env.build_deps(new).await, foo_deps());
    assert_eq!(
        env.applied(new).await,
        vec![
            (
                Some("C-1:2-1.fc22".into()),
                Some("C-1:3-1.fc22".into()),
                Some(2)
            ),
            (None, Some("E-0:0.1-1.fc22.1".into()), Some(2)),
        ]
    );
    // every build keeps its dependency set (koschei#168, koschei#338), unlike Koschei
    let mut kept = prev.clone();
    kept.sort();
    assert_eq!(env.build_deps(old).await, kept);
    // a running build without repo_id is left alone
    assert_eq!(deps_resolved(&env.pool, running).await, None);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn unresolvable_builds(pool: PgPool) {
    let env = env(pool).await;
    env.iterate().await; // buildroot of repo 1000
                         // unresolvable BuildRequires: the last build, so the package gets newly_added priority
    let (broken, broken_build) = env.package("broken", Some(1000)).await;
    // a repo Koji does not know (dead)
    let (foo, dead_build) = env.package("foo", Some(4242)).await;
    // an older build of a package whose last build is fine: no priority
    let (csh, old_csh) = env.package("csh-user", Some(4242)).await;
    let last_csh = env.build(csh, 3, Some(1000), 1.0).await;
    env.iterate().await;
    assert_eq!(deps_resolved(&env.pool, broken_build).await, Some(false));
    assert_eq!(env.package_row(broken).await.2, 3000);
    assert_eq!(deps_resolved(&env.pool, dead_build).await, Some(false));
    assert_eq!(env.package_row(foo).await.2, 3000);
    assert_eq!(deps_resolved(&env.pool, old_csh).await, Some(false));
    assert_eq!(deps_resolved(&env.pool, last_csh).await, Some(true));
    assert_eq!(env.package_row(csh).await.2, 0);

    // a repo whose tag has no build group
    env.set_build_group(&["R"], "not-build");
    let repo = env.regen_repo().await;
    let no_group = env.build(foo, 3, Some(repo), 0.5).await;
    resolve_builds(
        &env.ctx,
        &env.ctx
            .collection(env.collection_id)
            .await
            .unwrap()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(deps_resolved(&env.pool, no_group).await, Some(false));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn build_requires_file_provides_and_rich_deps(pool: PgPool) {
    let env = env(pool).await;
    let mut builds = Vec::new();
    for name in [
        "csh-user",
        "rich-br",
        "rich-req",
        "rich-only",
        "versioned-ok",
        "versioned-bad",
    ] {
        builds.push((name, env.package(name, Some(1000)).await.1));
    }
    env.iterate().await;
    let r = nevra("R", 0, "3.3", "2.fc22", "x86_64");
    let names =
        |deps: Vec<koschei_depsolve::Nevra>| deps.into_iter().map(|n| n.name).collect::<Vec<_>>();
    // file provide /bin/csh -> B, which pulls C; plus the group's R
    assert_eq!(names(env.build_deps(builds[0].1).await), ["B", "C", "R"]);
    // rich BR with its condition installed
    assert_eq!(
        names(env.build_deps(builds[1].1).await),
        ["R", "plasma-workspace", "sni-qt"]
    );
    // a rich Requires whose condition is not installed pulls nothing
    assert_eq!(names(env.build_deps(builds[2].1).await), ["R", "qt-x11"]);
    // an unmatched rich BR is skipped
    assert_eq!(env.build_deps(builds[3].1).await, vec![r.clone()]);
    // `A >= 1` (flags GE) resolves, `A > 1-1.fc22` (GT) does not
    assert_eq!(
        names(env.build_deps(builds[4].1).await),
        ["A", "B", "C", "R"]
    );
    assert_eq!(deps_resolved(&env.pool, builds[5].1).await, Some(false));
    let problems = env.history(env.package_row_id("versioned-bad").await).await;
    assert_eq!(
        problems,
        vec![(
            false,
            vec!["No package found for: A > 1-1.fc22".to_string()]
        )]
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_build_of_a_deleted_repo_takes_its_package_s_resolution(pool: PgPool) {
    let env = env(pool).await;
    let (foo, old) = env.package("foo", Some(999)).await;
    let mut prev: Vec<_> = foo_deps().into_iter().filter(|n| n.name != "E").collect();
    prev.iter_mut().find(|n| n.name == "C").unwrap().version = "2".into();
    env.store_build_deps(old, &prev).await;
    env.iterate().await; // the repo resolver resolves foo in repo 1000
                         // a scratch build ran in repo 1000; Koji deletes the repo before it is processed
    let build = env.build(foo, 3, Some(1000), 1.0).await;
    env.sim.sim.lock().repo_mut(1000).unwrap().state = koschei_koji::RepoState::Deleted;
    let fresh = common::context(&env.pool, &env.koji, env.dir.path(), 2);
    let c = fresh.collection(env.collection_id).await.unwrap().unwrap();
    let stats = resolve_builds(&fresh, &c).await.unwrap();
    assert_eq!((stats.resolved, stats.unresolved), (1, 0));
    assert_eq!(deps_resolved(&env.pool, build).await, Some(true));
    assert_eq!(env.build_deps(build).await, foo_deps());
    // distances survive too
    assert_eq!(
        env.applied(build).await,
        vec![
            (
                Some("C-1:2-1.fc22".into()),
                Some("C-1:3-1.fc22".into()),
                Some(2)
            ),
            (None, Some("E-0:0.1-1.fc22.1".into()), Some(2)),
        ]
    );
    // without a stored resolution the build cannot be processed
    let (other, other_build) = env.package("csh-user", Some(1000)).await;
    sqlx::query("DELETE FROM resolver_package_deps WHERE package_id = $1")
        .bind(other)
        .execute(&env.pool)
        .await
        .unwrap();
    resolve_builds(&fresh, &c).await.unwrap();
    assert_eq!(deps_resolved(&env.pool, other_build).await, Some(false));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_deleted_repo_s_build_takes_the_outcome_stored_at_or_before_it(pool: PgPool) {
    let env = env(pool).await;
    let (foo, _) = env.package("foo", Some(999)).await;
    env.iterate().await; // repo 1000: foo's outcome is stored
    env.regen_repo().await;
    env.iterate().await; // repo 1001: the same outcome, nothing stored
    let rows: Vec<i32> =
        sqlx::query_scalar("SELECT repo_id FROM resolver_package_deps WHERE package_id = $1")
            .bind(foo)
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(rows, vec![1000]);
    // scratch builds in repo 1001 (resolved by a pass) and 1002 (never resolved); Koji
    // deletes both repos before the build resolver gets to them
    let covered = env.build(foo, 3, Some(1001), 1.0).await;
    env.regen_repo().await;
    let uncovered = env.build(foo, 3, Some(1002), 0.5).await;
    for repo in [1001, 1002] {
        env.sim.sim.lock().repo_mut(repo).unwrap().state = koschei_koji::RepoState::Deleted;
    }
    let fresh = common::context(&env.pool, &env.koji, env.dir.path(), 2);
    let c = fresh.collection(env.collection_id).await.unwrap().unwrap();
    resolve_builds(&fresh, &c).await.unwrap();
    assert_eq!(deps_resolved(&env.pool, covered).await, Some(true));
    assert_eq!(env.build_deps(covered).await, foo_deps());
    assert_eq!(deps_resolved(&env.pool, uncovered).await, Some(false));
}

/// Results arrive in any order: with one build per chunk and the next chunk solving
/// while one is written, a result of the next chunk often comes first. Every build of
/// the repo must still be processed in one pass.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn every_build_is_processed_whatever_order_results_arrive_in(pool: PgPool) {
    let env = env(pool).await;
    env.iterate().await; // buildroot of repo 1000
    let mut builds = Vec::new();
    for name in [
        "foo",
        "csh-user",
        "rich-br",
        "rich-req",
        "versioned-ok",
        "broken",
    ] {
        let (package, first) = env.package(name, Some(1000)).await;
        builds.push(first);
        for age in 1..4 {
            builds.push(env.build(package, 3, Some(1000), f64::from(10 - age)).await);
        }
    }
    let one_per_chunk = common::context(&env.pool, &env.koji, env.dir.path(), 1);
    let c = one_per_chunk
        .collection(env.collection_id)
        .await
        .unwrap()
        .unwrap();
    let stats = resolve_builds(&one_per_chunk, &c).await.unwrap();
    assert_eq!(stats.postponed, 0);
    for build in builds {
        assert!(
            deps_resolved(&env.pool, build).await.is_some(),
            "build {build} left unprocessed ({stats:?})"
        );
    }
}
