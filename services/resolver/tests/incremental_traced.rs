//! Incremental passes with stored solve traces: a set whose rule universe holds a
//! requirement that only gained providers is reused when its stored trace shows that
//! requirement inert, and the database after an incremental pass over a delta with grown
//! requirements, changed providers, a removed package and version bumps is the database a
//! full pass leaves (outcomes, traces, dependency changes, priorities, problems, history).
//! Grown requirements are judged with `dependency.ignore_weak_deps` only (with weak
//! dependencies they taint, see `koschei_depsolve::RepoDelta::plan_traced`), the mode the
//! corpus benchmark runs in.

mod common;

use common::{env, Env, MIGRATIONS};
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::Config;
use koschei_depsolve::InstallTrace;
use koschei_koji::Value;
use koschei_resolver::context::Context;
use koschei_resolver::repo_resolver::{plan_collection, process_work, Planned, WorkStats};
use koschei_resolver::{dependency_keys, stored_trace};
use sqlx::PgPool;

/// Plans the collection and processes the queue with one context.
async fn pass(ctx: &Context) -> (Planned, WorkStats) {
    let c = ctx.collections().await.unwrap().remove(0);
    let planned = plan_collection(ctx, &c).await.unwrap();
    (planned, process_work(ctx, None).await.unwrap())
}

/// A resolver instance ignoring weak dependencies (otherwise as `common::context`).
fn context(env: &Env) -> Context {
    let mut config = Config::default();
    config.directories.cachedir = env.dir.path().join("cache");
    config.fedmsg_publisher.enabled = true;
    config.priorities.package_update = 20.0;
    config.dependency.persist_chunk_size = 2;
    config.dependency.resolver_threads = 2;
    config.dependency.ignore_weak_deps = true;
    Context::new(
        env.pool.clone(),
        config,
        KojiSessions::new(env.koji.clone(), None),
    )
    .unwrap()
}

/// Everything the repo resolver writes about the packages, comparable: the package row,
/// unapplied changes, resolution history with problems, and the newest stored outcome
/// with its trace.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT p.name || ' ' || coalesce(p.resolved::text, '-') || ' ' || p.dependency_priority
             || ' [' || coalesce((SELECT string_agg(coalesce(u.prev_dep_id::text, '-') || '>'
                                  || coalesce(u.curr_dep_id::text, '-') || '@'
                                  || coalesce(u.distance::text, '-'), ',' ORDER BY 1)
                                  FROM unapplied_change u WHERE u.package_id = p.id), '')
             || '] history=' || coalesce((SELECT string_agg(r.resolved::text || ':'
                                   || coalesce((SELECT string_agg(rp.problem, '|' ORDER BY rp.problem)
                                                FROM resolution_problem rp
                                                WHERE rp.resolution_id = r.id), ''),
                                   ',' ORDER BY r.id)
                                  FROM resolution_change r WHERE r.package_id = p.id), '')
             || ' deps=' || coalesce((SELECT coalesce(d.resolved::text, '-') || ':'
                                      || encode(d.dependency_keys, 'hex') || ':'
                                      || encode(d.distances, 'hex') || ':'
                                      || coalesce(encode(d.trace, 'hex'), 'none')
                                      FROM resolver_package_deps d WHERE d.package_id = p.id
                                      ORDER BY d.repo_id DESC LIMIT 1), 'none')
         FROM package p ORDER BY p.name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The newest stored trace of a package, decoded (a malformed one fails the test).
async fn trace(pool: &PgPool, pkg: i32) -> Option<InstallTrace> {
    let (keys, trace): (Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT dependency_keys, trace FROM resolver_package_deps WHERE package_id = $1
         ORDER BY repo_id DESC LIMIT 1",
    )
    .bind(pkg)
    .fetch_one(pool)
    .await
    .unwrap();
    let set_len = dependency_keys::decode(&keys).unwrap().len();
    trace.map(|t| stored_trace::decode(&t, set_len).expect("a well-formed stored trace"))
}

/// Packages of the scenario, by name.
struct Packages {
    grown_user: i32,
    grown_forced: i32,
    gone_user: i32,
    foo: i32,
    mylib_user: i32,
}

/// The first repo (1002) with `cap` provided by capA only, `libgone` and mylib 1, its
/// full pass, then the delta's repo (returned): capB also provides `cap` (a grown
/// requirement of uses-cap), libgone is untagged (removed), mylib is bumped to 2 with the
/// same structure, and F becomes an x86_64 package without requires (foo's BuildRequire
/// selects differently).
async fn scenario(env: &Env, ctx: &Context) -> (Packages, i32) {
    env.import("capA", "1", &[("capA", &["cap"], &[])]).await;
    env.import("uses-cap", "1", &[("uses-cap", &[], &["cap"])])
        .await;
    env.import("libgone", "1", &[("libgone", &[], &[])]).await;
    env.import("mylib", "1", &[("mylib", &["mylib(x86-64) = 1-1"], &["C"])])
        .await;
    env.regen_repo().await;
    let (mut ids, mut builds) = (Vec::new(), Vec::new());
    for name in [
        "grown-user",
        "grown-forced",
        "gone-user",
        "foo",
        "mylib-user",
        "broken",
        "versioned-ok",
    ] {
        let (pkg, build) = env.package(name, Some(1000)).await;
        ids.push(pkg);
        builds.push(build);
    }
    // the builds changes are computed against saw the first repo's content
    env.store_build_deps(builds[3], &common::foo_deps()).await;
    let mylib_user_deps = [
        common::nevra("C", 1, "3", "1.fc22", "x86_64"),
        common::nevra("R", 0, "3.3", "2.fc22", "x86_64"),
        common::nevra("mylib", 0, "1", "1", "x86_64"),
    ];
    env.store_build_deps(builds[4], &mylib_user_deps).await;
    let (planned, first) = pass(ctx).await;
    assert!(
        matches!(planned, Planned::NewRepo(_, true, 7)),
        "{planned:?}"
    );
    assert_eq!(first.resolved, 7, "{first:?}");

    env.import("capB", "1", &[("capB", &["cap"], &[])]).await;
    env.koji
        .call(
            "sim.untagBuild",
            vec![Value::str("f99"), Value::str("libgone-1-1")],
        )
        .await
        .unwrap();
    env.import("mylib", "2", &[("mylib", &["mylib(x86-64) = 2-1"], &["C"])])
        .await;
    env.import("F", "2", &[("F", &[], &[])]).await;
    let repo = env.regen_repo().await;
    let packages = Packages {
        grown_user: ids[0],
        grown_forced: ids[1],
        gone_user: ids[2],
        foo: ids[3],
        mylib_user: ids[4],
    };
    (packages, repo)
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn an_incremental_pass_with_traces_equals_a_full_pass(pool: PgPool) {
    let env = env(pool).await;
    let ctx = context(&env);
    let (p, repo) = scenario(&env, &ctx).await;
    // grown-user's trace: capA and uses-cap installed at level 1 (both asked for), no
    // requires rule forced anything there
    let stored = trace(&env.pool, p.grown_user)
        .await
        .expect("a stored trace");
    assert!(stored.level1.len() >= 2, "{stored:?}");

    let c = ctx.collections().await.unwrap().remove(0);
    assert_eq!(
        plan_collection(&ctx, &c).await.unwrap(),
        Planned::NewRepo(repo, true, 7)
    );
    let stats = process_work(&ctx, None).await.unwrap();
    // reused: grown-user (its grown requirement was satisfied at level 1 by capA),
    // mylib-user (version swap) and versioned-ok (untouched); solved: grown-forced (`cap`
    // forced capA at level 1), gone-user (libgone removed), foo (F selects otherwise),
    // broken (unresolved before)
    assert_eq!((stats.reused, stats.resolved_again), (3, 4), "{stats:?}");
    assert_eq!(env.package_row(p.gone_user).await.0, Some(false));
    assert_eq!(env.package_row(p.grown_user).await.0, Some(true));
    assert_eq!(env.package_row(p.grown_forced).await.0, Some(true));
    // changes and priorities of a solved and a reused package
    assert_eq!(env.unapplied(p.foo).await.len(), 3);
    assert_eq!(
        env.unapplied(p.mylib_user).await,
        vec![(
            Some("mylib-0:1-1".into()),
            Some("mylib-0:2-1".into()),
            Some(1)
        )]
    );
    assert_eq!(env.package_row(p.mylib_user).await, (Some(true), 20, 0));

    // a full pass in the same repo leaves the same database
    let incremental = snapshot(&env.pool).await;
    sqlx::query("UPDATE package SET resolved = NULL")
        .execute(&env.pool)
        .await
        .unwrap();
    let fresh = context(&env);
    let (planned, full) = pass(&fresh).await;
    assert_eq!(planned, Planned::NewPackages(7));
    assert_eq!((full.reused, full.resolved), (0, 7), "{full:?}");
    assert_eq!(snapshot(&env.pool).await, incremental);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn without_a_stored_trace_a_grown_requirement_means_solving(pool: PgPool) {
    let env = env(pool).await;
    let ctx = context(&env);
    let (p, _) = scenario(&env, &ctx).await;
    // rows written before traces were stored
    sqlx::query("UPDATE resolver_package_deps SET trace = NULL")
        .execute(&env.pool)
        .await
        .unwrap();
    let (_, stats) = pass(&ctx).await;
    // grown-user is solved now (mylib-user and versioned-ok, whose universes hold no grown
    // requirement, are still reused) and gets its trace back
    assert_eq!((stats.reused, stats.resolved_again), (2, 5), "{stats:?}");
    assert!(trace(&env.pool, p.grown_user).await.is_some());
}
