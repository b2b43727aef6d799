//! Incremental resolution in the repo resolver: a new repo's pass re-solves only what the
//! delta can affect, gives a full pass's results, and writes nothing for packages whose
//! outcome did not change.

mod common;

use common::{env, foo_deps, Env, MIGRATIONS};
use koschei_koji::xmlrpc::{Struct, Value};
use koschei_resolver::context::Context;
use koschei_resolver::repo_resolver::{plan_collection, process_work, Planned, WorkStats};
use sqlx::PgPool;

/// Imports a build `source-epoch:version-1` with one x86_64 binary `name` (`provides`
/// beyond the implicit `name = evr`, `requires`) and tags it into f99.
async fn import(
    env: &Env,
    (source, name): (&str, &str),
    (epoch, version): (i64, &str),
    provides: &[&str],
    requires: &[&str],
) {
    let strs = |v: &[&str]| Value::Array(v.iter().map(|s| Value::str(*s)).collect());
    let mut bin = Struct::new();
    bin.insert("name".into(), Value::str(name));
    bin.insert("arch".into(), Value::str("x86_64"));
    bin.insert("provides".into(), strs(provides));
    bin.insert("requires".into(), strs(requires));
    let mut spec = Struct::new();
    spec.insert("name".into(), Value::str(source));
    spec.insert("version".into(), Value::str(version));
    spec.insert("release".into(), Value::str("1"));
    spec.insert("epoch".into(), Value::Int(epoch));
    spec.insert("tag".into(), Value::str("f99"));
    spec.insert("binaries".into(), Value::Array(vec![Value::Struct(bin)]));
    env.koji
        .call("sim.importBuild", vec![Value::Struct(spec)])
        .await
        .unwrap();
}

/// Plans every collection and processes the queue with one context.
async fn pass(ctx: &Context) -> (Planned, WorkStats) {
    let c = ctx.collections().await.unwrap().remove(0);
    let planned = plan_collection(ctx, &c).await.unwrap();
    (planned, process_work(ctx, None).await.unwrap())
}

/// Everything the repo resolver writes about the packages, in a comparable form.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT p.name || ' ' || coalesce(p.resolved::text, '-') || ' ' || p.dependency_priority
             || ' [' || coalesce((SELECT string_agg(coalesce(u.prev_dep_id::text, '-') || '>'
                                  || coalesce(u.curr_dep_id::text, '-') || '@'
                                  || coalesce(u.distance::text, '-'), ',' ORDER BY 1)
                                  FROM unapplied_change u WHERE u.package_id = p.id), '')
             || '] rc=' || (SELECT count(*) FROM resolution_change r WHERE r.package_id = p.id)
             || ' deps=' || coalesce((SELECT coalesce(d.resolved::text, '-') || ':'
                                      || md5(d.dependency_keys) || ':' || md5(d.distances)
                                      FROM resolver_package_deps d WHERE d.package_id = p.id
                                      ORDER BY d.repo_id DESC LIMIT 1), 'none')
         FROM package p ORDER BY p.name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// `xmin` of a package row (changes with every update) and counts of its other rows.
async fn footprint(pool: &PgPool, pkg: i32) -> (String, i64, i64, i64) {
    sqlx::query_as(
        "SELECT p.xmin::text,
                (SELECT count(*) FROM unapplied_change WHERE package_id = p.id),
                (SELECT count(*) FROM resolution_change WHERE package_id = p.id),
                (SELECT count(*) FROM resolver_package_deps WHERE package_id = p.id)
         FROM package p WHERE p.id = $1",
    )
    .bind(pkg)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn outbox_len(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM message_outbox WHERE publish")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Imports `mylib` (requires C) at `version`: an update keeps its dependency structure.
async fn mylib(env: &Env, version: &str) {
    let provides = format!("mylib(x86-64) = {version}-1");
    import(env, ("mylib", "mylib"), (0, version), &[&provides], &["C"]).await;
}

/// What mylib-user resolves to with mylib 1.
fn mylib_user_deps() -> Vec<koschei_depsolve::Nevra> {
    vec![
        common::nevra("C", 1, "3", "1.fc22", "x86_64"),
        common::nevra("R", 0, "3.3", "2.fc22", "x86_64"),
        common::nevra("mylib", 0, "1", "1", "x86_64"),
    ]
}

/// An environment whose first resolved repo has mylib 1.
async fn env_with_mylib(pool: PgPool) -> Env {
    let env = env(pool).await;
    mylib(&env, "1").await;
    env.regen_repo().await;
    env
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_small_delta_is_resolved_incrementally_and_exactly(pool: PgPool) {
    let env = env_with_mylib(pool).await;
    let (foo, foo_build) = env.package("foo", Some(1000)).await;
    let (mylib_user, mylib_user_build) = env.package("mylib-user", Some(1000)).await;
    let (broken, _) = env.package("broken", Some(1000)).await;
    let mut untouched = Vec::new();
    for name in ["rich-only", "rich-req", "csh-user", "versioned-ok"] {
        untouched.push(env.package(name, Some(1000)).await.0);
    }
    // the builds that changes are computed against saw repo 1001's content
    env.store_build_deps(foo_build, &foo_deps()).await;
    env.store_build_deps(mylib_user_build, &mylib_user_deps())
        .await;
    let (planned, first) = pass(&env.ctx).await;
    assert_eq!(planned, Planned::NewRepo(1001, true, 7));
    assert_eq!((first.reused, first.resolved_again), (0, 0), "{first:?}");
    assert_eq!(env.package_row(broken).await.0, Some(false));
    assert_eq!(env.unapplied(foo).await, vec![]);

    // the delta: mylib updated with the same dependency structure (mylib-user is
    // reused with versions swapped), F also as x86_64 version 2 (foo's BuildRequire F
    // selects differently: solved again), and `nonexistent` appears (broken, unresolved
    // before, is solved again and resolves)
    mylib(&env, "2").await;
    import(&env, ("F", "F"), (0, "2"), &[], &[]).await;
    import(&env, ("nonexistent", "nonexistent"), (0, "1"), &[], &[]).await;
    let repo = env.regen_repo().await;
    env.clear_outbox().await;
    let mut before = Vec::new();
    for &pkg in &untouched {
        before.push(footprint(&env.pool, pkg).await);
    }

    // two instances share the incremental pass (chunks of 2)
    let c = env.ctx.collections().await.unwrap().remove(0);
    assert_eq!(
        plan_collection(&env.ctx, &c).await.unwrap(),
        Planned::NewRepo(repo, true, 7)
    );
    let other = common::context(&env.pool, &env.koji, env.dir.path(), 2);
    let a = process_work(&other, Some(1)).await.unwrap();
    let b = process_work(&env.ctx, None).await.unwrap();
    assert_eq!(a.resolved + b.resolved, 7);
    // foo and broken are solved, the others reused
    let (reused, again) = (a.reused + b.reused, a.resolved_again + b.resolved_again);
    assert_eq!((reused, again), (5, 2), "{a:?} {b:?}");
    // every reused set is carried over as dependency ids, no NEVRA looked up
    assert_eq!(a.reused_by_id + b.reused_by_id, 5, "{a:?} {b:?}");
    let unchanged = a.persist.unchanged + b.persist.unchanged;
    assert_eq!(unchanged, 4, "{a:?} {b:?}");

    // unchanged packages get no write at all
    for (&pkg, before) in untouched.iter().zip(&before) {
        assert_eq!(&footprint(&env.pool, pkg).await, before);
    }
    // a reused package gets its new changes and priority: mylib at distance 1
    assert_eq!(
        env.unapplied(mylib_user).await,
        vec![(
            Some("mylib-0:1-1".into()),
            Some("mylib-0:2-1".into()),
            Some(1)
        )]
    );
    assert_eq!(env.package_row(mylib_user).await, (Some(true), 20, 0));
    // an affected package is solved again: F 2 (x86_64, no requires) replaces F 1
    // (noarch), which took D and E along
    assert_eq!(
        env.unapplied(foo).await,
        vec![
            (Some("D-2:8.b-1.rc1.fc22".into()), None, None),
            (Some("E-0:0.1-1.fc22.1".into()), None, None),
            (Some("F-0:1-1.fc22".into()), Some("F-0:2-1".into()), Some(1)),
        ]
    );
    // 20 / 8 + 20 / 8 + 20 / 1
    assert_eq!(env.package_row(foo).await, (Some(true), 25, 0));
    // broken resolves now: a resolution change and one message, unresolved -> ok
    assert_eq!(env.package_row(broken).await.0, Some(true));
    assert_eq!(env.history(broken).await.last().unwrap(), &(true, vec![]));
    let msgs = env.outbox().await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0].1["name"], "broken");
    assert_eq!(
        (msgs[0].1["old"].as_str(), msgs[0].1["new"].as_str()),
        (Some("unresolved"), Some("ok"))
    );

    // exactly a full pass's results: force a full re-resolution of everything in the
    // same repo and compare every stored outcome
    let incremental = snapshot(&env.pool).await;
    sqlx::query("UPDATE package SET resolved = NULL")
        .execute(&env.pool)
        .await
        .unwrap();
    let fresh = common::context(&env.pool, &env.koji, env.dir.path(), 2);
    let (planned, full) = pass(&fresh).await;
    assert_eq!(planned, Planned::NewPackages(7));
    assert_eq!((full.reused, full.resolved, full.resolved_again), (0, 7, 0));
    assert_eq!(snapshot(&env.pool).await, incremental);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_full_pass_when_the_previous_repo_is_gone(pool: PgPool) {
    let env = env_with_mylib(pool).await;
    let (mylib_user, build) = env.package("mylib-user", Some(1000)).await;
    let (untouched, _) = env.package("foo", Some(1000)).await;
    env.store_build_deps(build, &mylib_user_deps()).await;
    pass(&env.ctx).await;
    mylib(&env, "2").await;
    let repo = env.regen_repo().await;
    // Koji deleted repo 1001, and this instance never prepared it
    env.sim.sim.lock().repo_mut(1001).unwrap().state = koschei_koji::RepoState::Deleted;
    let fresh = common::context(&env.pool, &env.koji, env.dir.path(), 2);
    let untouched_before = footprint(&env.pool, untouched).await;
    let (planned, stats) = pass(&fresh).await;
    assert_eq!(planned, Planned::NewRepo(repo, true, 2));
    // everything solved, as in a full pass
    assert_eq!(
        (stats.reused, stats.resolved_again, stats.resolved),
        (0, 2, 2)
    );
    assert_eq!(env.package_row(mylib_user).await, (Some(true), 20, 0));
    // the full pass still writes nothing for an outcome that did not change
    assert_eq!(stats.persist.unchanged, 1);
    assert_eq!(footprint(&env.pool, untouched).await, untouched_before);
    assert_eq!(outbox_len(&env.pool).await, 1); // the first repo's collection message
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn packages_without_a_usable_previous_result_are_solved(pool: PgPool) {
    let env = env_with_mylib(pool).await;
    let (foo, _) = env.package("foo", Some(1000)).await;
    let (reset, _) = env.package("csh-user", Some(1000)).await;
    let (lost, _) = env.package("versioned-ok", Some(1000)).await;
    let (rebuilt, _) = env.package("mylib-user", Some(1000)).await;
    pass(&env.ctx).await;
    // a new build of mylib-user with other BuildRequires became its last complete build
    let mut spec = Struct::new();
    spec.insert("name".into(), Value::str("mylib-user"));
    spec.insert("version".into(), Value::str("2"));
    spec.insert("release".into(), Value::str("1"));
    spec.insert(
        "buildrequires".into(),
        Value::Array(vec![Value::str("mylib"), Value::str("F")]),
    );
    env.koji
        .call("sim.importBuild", vec![Value::Struct(spec)])
        .await
        .unwrap();
    let mut b =
        koschei_core::fixtures::NewBuild::new(koschei_core::model::BuildState::Complete, 0.5);
    b.version = "2".into();
    b.release = "1".into();
    b.real = true;
    b.repo_id = Some(1001);
    koschei_core::fixtures::build(&env.pool, rebuilt, b).await;
    // a forced re-resolution pending, and a result the previous pass discarded
    sqlx::query("UPDATE package SET resolved = NULL WHERE id = $1")
        .bind(reset)
        .execute(&env.pool)
        .await
        .unwrap();
    // (its result stems from an earlier repo; repo 1001's pass lost it)
    sqlx::query("UPDATE resolver_package_deps SET repo_id = 999 WHERE package_id = $1")
        .bind(lost)
        .execute(&env.pool)
        .await
        .unwrap();
    let mut conn = env.pool.acquire().await.unwrap();
    koschei_resolver::package_deps::mark_unknown(&mut conn, 1001, &[lost])
        .await
        .unwrap();
    drop(conn);
    mylib(&env, "2").await;
    env.regen_repo().await;
    let (_, stats) = pass(&env.ctx).await;
    assert_eq!((stats.reused, stats.resolved_again), (1, 3), "{stats:?}");
    assert_eq!(env.package_row(foo).await.0, Some(true));
    assert_eq!(env.package_row(reset).await.0, Some(true));
    assert_eq!(env.package_row(lost).await.0, Some(true));
    // the rebuilt package was solved with its new BuildRequires: F is in its set now
    let (srpm, keys): (Option<String>, Vec<u8>) = sqlx::query_as(
        "SELECT srpm, dependency_keys FROM resolver_package_deps WHERE package_id = $1
         ORDER BY repo_id DESC LIMIT 1",
    )
    .bind(rebuilt)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(srpm.as_deref(), Some("2-1"));
    let ids = koschei_resolver::dependency_keys::decode(&keys).unwrap();
    let mut conn = env.pool.acquire().await.unwrap();
    let deps = env.ctx.deps.get_by_ids(&mut conn, &ids).await.unwrap();
    assert!(deps.iter().any(|n| n.name == "F"), "{deps:?}");
}

/// A package with a missing BuildRequire is unresolved, so every pass solves it again
/// instead of reusing its previous result: the missing BuildRequire may appear, and the
/// solver's problems with its other BuildRequires may change (Koschei reports both, see
/// `run_goal` in `koschei/backend/depsolve.py`). An unchanged problem set writes nothing.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn packages_with_missing_buildrequires_are_solved_in_every_pass(pool: PgPool) {
    let env = env_with_mylib(pool).await;
    let (pkg, _) = env.package("half-broken", Some(1000)).await;
    pass(&env.ctx).await;
    let [missing, bar] = common::HALF_BROKEN_PROBLEMS.map(String::from);
    assert_eq!(
        env.history(pkg).await,
        vec![(false, vec![missing.clone(), bar])]
    );

    // an unrelated delta: solved again, same problems, no write
    mylib(&env, "2").await;
    env.regen_repo().await;
    let before = footprint(&env.pool, pkg).await;
    let (_, stats) = pass(&env.ctx).await;
    assert_eq!((stats.reused, stats.resolved_again), (0, 1), "{stats:?}");
    assert_eq!(stats.persist.unchanged, 1, "{stats:?}");
    assert_eq!(footprint(&env.pool, pkg).await, before);

    // bar's requirement appears: only the missing BuildRequire is left
    import(&env, ("nonexistent", "nonexistent"), (0, "1"), &[], &[]).await;
    env.regen_repo().await;
    let (_, stats) = pass(&env.ctx).await;
    assert_eq!((stats.reused, stats.resolved_again), (0, 1), "{stats:?}");
    assert_eq!(env.history(pkg).await.len(), 2);
    assert_eq!(env.history(pkg).await[1], (false, vec![missing]));
    assert_eq!(env.package_row(pkg).await.0, Some(false));

    // the missing BuildRequire appears: resolved
    import(
        &env,
        ("libnone", "libnone"),
        (0, "1"),
        &["libnone.so.1"],
        &[],
    )
    .await;
    env.regen_repo().await;
    pass(&env.ctx).await;
    assert_eq!(env.package_row(pkg).await.0, Some(true));
    assert_eq!(env.history(pkg).await.last().unwrap(), &(true, vec![]));
}
