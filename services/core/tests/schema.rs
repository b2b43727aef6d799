//! Schema tests against a real PostgreSQL: migrations, triggers, the SQL
//! rpmvercmp, package states, priorities and skip reasons.

use koschei_core::evr::rpmvercmp;
use koschei_core::fixtures::{self, NewBuild};
use koschei_core::model::BuildState;
use sqlx::PgPool;

/// The schema, as the services apply it.
use koschei_core::db::MIGRATOR as MIGRATIONS;

#[sqlx::test(migrator = "MIGRATIONS")]
async fn migrating_twice_is_harmless(pool: PgPool) {
    koschei_core::db::migrate(&pool, None).await.unwrap();
    koschei_core::db::migrate(&pool, None).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let koschei_tables = [
        "admin_notice",
        "applied_change",
        "base_package",
        "build",
        "build_group",
        "buildroot_problem",
        "collection",
        "collection_group",
        "collection_group_relation",
        "copr_rebuild",
        "copr_rebuild_request",
        "copr_resolution_change",
        "dependency",
        "group_acl",
        "koji_task",
        "log_entry",
        "package",
        "package_group",
        "package_group_relation",
        "repo_mapping",
        "resolution_change",
        "resolution_problem",
        "resource_consumption_stats",
        "scalar_stats",
        "unapplied_change",
        "user",
    ];
    for table in koschei_tables {
        assert!(tables.iter().any(|t| t == table), "missing table {table}");
    }
    assert!(tables.iter().any(|t| t == "message_outbox"));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn grants_to_unprivileged_role(pool: PgPool) {
    sqlx::query("CREATE ROLE koschei_unpriv_test")
        .execute(&pool)
        .await
        .ok();
    koschei_core::db::migrate(&pool, Some("koschei_unpriv_test"))
        .await
        .unwrap();
    let can: bool = sqlx::query_scalar(
        "SELECT has_table_privilege('koschei_unpriv_test', 'package', 'UPDATE')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(can);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn sql_rpmvercmp_agrees_with_rust_on_every_vector(pool: PgPool) {
    let path = koschei_core::testdata::shared_path("fixtures/rpmvercmp.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut checked = 0;
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let expected: i32 = cols[2].parse().unwrap();
        let sql: i32 = sqlx::query_scalar("SELECT rpmvercmp($1, $2)")
            .bind(cols[0])
            .bind(cols[1])
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(sql, expected, "SQL rpmvercmp({:?}, {:?})", cols[0], cols[1]);
        assert_eq!(
            rpmvercmp(cols[0], cols[1]) as i32,
            expected,
            "Rust rpmvercmp({:?}, {:?})",
            cols[0],
            cols[1]
        );
        checked += 1;
    }
    assert!(checked >= 90);

    // The informative oddities: whatever rpm says, SQL and Rust must agree.
    let odd = std::fs::read_to_string(koschei_core::testdata::shared_path(
        "fixtures/rpmvercmp-oddities.tsv",
    ))
    .unwrap();
    for line in odd.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let sql: i32 = sqlx::query_scalar("SELECT rpmvercmp($1, $2)")
            .bind(cols[0])
            .bind(cols[1])
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(
            sql,
            rpmvercmp(cols[0], cols[1]) as i32,
            "{:?} vs {:?}",
            cols[0],
            cols[1]
        );
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn rpmvercmp_evr_treats_null_epoch_as_zero(pool: PgPool) {
    type Case<'a> = (
        Option<i32>,
        &'a str,
        &'a str,
        Option<i32>,
        &'a str,
        &'a str,
        i32,
    );
    let cases: &[Case] = &[
        (None, "1.0", "1", Some(0), "1.0", "1", 0),
        (Some(1), "1.0", "1", None, "2.0", "1", 1),
        (None, "1.0", "1", None, "1.0", "2", -1),
        (Some(2), "8.b", "1.rc1", Some(2), "8.a", "9", 1),
    ];
    for &(e1, v1, r1, e2, v2, r2, expected) in cases {
        let got: i32 = sqlx::query_scalar("SELECT rpmvercmp_evr($1, $2, $3, $4, $5, $6)")
            .bind(e1)
            .bind(v1)
            .bind(r1)
            .bind(e2)
            .bind(v2)
            .bind(r2)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(got, expected, "{e1:?}:{v1}-{r1} vs {e2:?}:{v2}-{r2}");
    }
}

/// `(last_build_id, last_complete_build_id, last_complete_build_state)`.
async fn pointers(pool: &PgPool, package_id: i32) -> (Option<i32>, Option<i32>, Option<i32>) {
    sqlx::query_as("SELECT last_build_id, last_complete_build_id, last_complete_build_state FROM package WHERE id = $1")
        .bind(package_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn last_complete_flags(pool: &PgPool, package_id: i32) -> Vec<i32> {
    sqlx::query_scalar("SELECT id FROM build WHERE package_id = $1 AND last_complete ORDER BY id")
        .bind(package_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn last_build_pointers_follow_inserts(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    assert_eq!(pointers(&pool, p).await, (None, None, None));

    let b1 = fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 10.0)).await;
    assert_eq!(pointers(&pool, p).await, (Some(b1), Some(b1), Some(3)));
    assert_eq!(last_complete_flags(&pool, p).await, [b1]);

    let b2 = fixtures::build(&pool, p, NewBuild::new(BuildState::Running, 1.0)).await;
    assert_eq!(pointers(&pool, p).await, (Some(b2), Some(b1), Some(3)));

    // An older build inserted later does not take over.
    let old = fixtures::build(&pool, p, NewBuild::new(BuildState::Failed, 20.0)).await;
    assert_eq!(pointers(&pool, p).await, (Some(b2), Some(b1), Some(3)));
    assert_eq!(last_complete_flags(&pool, p).await, [b1]);
    assert!(old > b2);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn last_build_pointers_follow_updates_and_deletes(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    let b1 = fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 10.0)).await;
    let b2 = fixtures::build(&pool, p, NewBuild::new(BuildState::Running, 1.0)).await;

    sqlx::query("UPDATE build SET state = $2 WHERE id = $1")
        .bind(b2)
        .bind(BuildState::Failed)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(pointers(&pool, p).await, (Some(b2), Some(b2), Some(5)));
    assert_eq!(last_complete_flags(&pool, p).await, [b2]);

    // Untagging moves the pointers back; re-tagging restores them.
    sqlx::query("UPDATE build SET untagged = true WHERE id = $1")
        .bind(b2)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(pointers(&pool, p).await, (Some(b1), Some(b1), Some(3)));
    assert_eq!(last_complete_flags(&pool, p).await, [b1]);
    sqlx::query("UPDATE build SET untagged = false WHERE id = $1")
        .bind(b2)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(pointers(&pool, p).await, (Some(b2), Some(b2), Some(5)));

    sqlx::query("DELETE FROM build WHERE id = $1")
        .bind(b2)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(pointers(&pool, p).await, (Some(b1), Some(b1), Some(3)));
    assert_eq!(last_complete_flags(&pool, p).await, [b1]);

    sqlx::query("DELETE FROM build WHERE id = $1")
        .bind(b1)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(pointers(&pool, p).await, (None, None, None));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn infra_outcomes_never_become_the_last_build(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    let b1 = fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 10.0)).await;
    let b2 = fixtures::build(&pool, p, NewBuild::new(BuildState::Running, 1.0)).await;
    assert_eq!(pointers(&pool, p).await.0, Some(b2));
    for state in [
        BuildState::Canceled,
        BuildState::TimedOut,
        BuildState::InfraFailure,
    ] {
        sqlx::query("UPDATE build SET state = $2 WHERE id = $1")
            .bind(b2)
            .bind(state)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(
            pointers(&pool, p).await,
            (Some(b1), Some(b1), Some(3)),
            "{state}"
        );
    }
    // Also for a package whose only build was canceled.
    let q = fixtures::package(&pool, c, "xpp3").await;
    fixtures::build(&pool, q, NewBuild::new(BuildState::Canceled, 1.0)).await;
    assert_eq!(pointers(&pool, q).await, (None, None, None));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn builds_order_by_tagging_time(pool: PgPool) {
    // koschei#361: a real build merged from a side tag is older than the latest
    // scratch build, but it was tagged after it: it becomes the last build.
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    let scratch = fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 2.0)).await;
    let mut merged = NewBuild::new(BuildState::Complete, 24.0 * 9.0);
    merged.real = true;
    let real = fixtures::build(&pool, p, merged).await;
    assert_eq!(pointers(&pool, p).await.0, Some(scratch));
    sqlx::query("UPDATE build SET tagged = now() AT TIME ZONE 'UTC' WHERE id = $1")
        .bind(real)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(pointers(&pool, p).await, (Some(real), Some(real), Some(3)));
    // Its time priority counts from the tagging: it is fresh.
    assert_eq!(priority(&pool, p).await, Some(-30.0));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn bulk_insert_recomputes_each_package(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "a").await;
    let q = fixtures::package(&pool, c, "b").await;
    let ids: Vec<i32> = sqlx::query_scalar(
        "INSERT INTO build (package_id, state, task_id, started, version, release, repo_id, real)
         SELECT pkg, 3, 100 + n, now() - n * interval '1 hour', '1', '1', 1, true
         FROM unnest(ARRAY[$1, $1, $2]::int[]) WITH ORDINALITY AS t(pkg, n) RETURNING id",
    )
    .bind(p)
    .bind(q)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(pointers(&pool, p).await.0, Some(ids[0]));
    assert_eq!(pointers(&pool, q).await.0, Some(ids[2]));
}

async fn all_blocked(pool: &PgPool, name: &str) -> bool {
    sqlx::query_scalar("SELECT all_blocked FROM base_package WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn all_blocked_tracks_every_collection(pool: PgPool) {
    let c1 = fixtures::collection(&pool, "f25").await;
    let c2 = fixtures::collection(&pool, "f26").await;
    let p1 = fixtures::package(&pool, c1, "rnv").await;
    assert!(!all_blocked(&pool, "rnv").await);
    let p2 = fixtures::package(&pool, c2, "rnv").await;
    fixtures::package(&pool, c1, "other").await;

    sqlx::query("UPDATE package SET blocked = true WHERE id = $1")
        .bind(p1)
        .execute(&pool)
        .await
        .unwrap();
    assert!(!all_blocked(&pool, "rnv").await);
    sqlx::query("UPDATE package SET blocked = true WHERE id = $1")
        .bind(p2)
        .execute(&pool)
        .await
        .unwrap();
    assert!(all_blocked(&pool, "rnv").await);
    assert!(
        !all_blocked(&pool, "other").await,
        "untouched base package keeps its flag"
    );

    sqlx::query("UPDATE package SET blocked = false WHERE id = $1")
        .bind(p2)
        .execute(&pool)
        .await
        .unwrap();
    assert!(!all_blocked(&pool, "rnv").await);
    sqlx::query("DELETE FROM package WHERE id = $1")
        .bind(p2)
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        all_blocked(&pool, "rnv").await,
        "only the blocked package is left"
    );
    sqlx::query("DELETE FROM package WHERE id = $1")
        .bind(p1)
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        all_blocked(&pool, "rnv").await,
        "no package at all counts as blocked"
    );
}

async fn state(pool: &PgPool, package_id: i32) -> (String, String) {
    sqlx::query_as("SELECT package_state(p), package_msg_state(p) FROM package p WHERE id = $1")
        .bind(package_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn set(pool: &PgPool, package_id: i32, assignment: &str) {
    sqlx::query(&format!("UPDATE package SET {assignment} WHERE id = $1"))
        .bind(package_id)
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_state_strings(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    assert_eq!(state(&pool, p).await, ("unknown".into(), "ignored".into()));
    let b = fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 5.0)).await;
    assert_eq!(state(&pool, p).await, ("ok".into(), "ok".into()));
    sqlx::query("UPDATE build SET state = $2 WHERE id = $1")
        .bind(b)
        .bind(BuildState::Failed)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(state(&pool, p).await, ("failing".into(), "failing".into()));
    set(&pool, p, "resolved = false").await;
    assert_eq!(
        state(&pool, p).await,
        ("unresolved".into(), "unresolved".into())
    );
    set(&pool, p, "tracked = false").await;
    assert_eq!(
        state(&pool, p).await,
        ("untracked".into(), "ignored".into())
    );
    set(&pool, p, "blocked = true").await;
    assert_eq!(state(&pool, p).await, ("blocked".into(), "ignored".into()));

    let collection_state: String =
        sqlx::query_scalar("SELECT collection_state(c) FROM collection c WHERE id = $1")
            .bind(c)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(collection_state, "ok");
}

/// The priority of a package with the default formula settings.
async fn priority(pool: &PgPool, package_id: i32) -> Option<f64> {
    sqlx::query_scalar(
        "SELECT package_priority(p, c, lb, 6, 168, 256)
         FROM package p JOIN collection c ON c.id = p.collection_id
         LEFT JOIN build lb ON lb.id = p.last_build_id WHERE p.id = $1",
    )
    .bind(package_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn skip_reasons(pool: &PgPool, package_id: i32) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT package_skip_reasons(p, c) FROM package p JOIN collection c ON c.id = p.collection_id WHERE p.id = $1",
    )
    .bind(package_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn time_priority_values(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    for (hours, expected) in [
        (2.0, -30.0),
        (10.0, 39.2447),
        (34.0, 133.2625),
        (730.0, 368.8636),
    ] {
        let p = fixtures::package(&pool, c, &format!("pkg{hours}")).await;
        fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, hours)).await;
        let got = priority(&pool, p).await.unwrap();
        assert!(
            (got - expected).abs() < 1e-3,
            "{hours} h: {got} != {expected}"
        );
        assert!(skip_reasons(&pool, p).await.is_empty());
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn priority_components_and_coefficient(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    sqlx::query("UPDATE collection SET priority_coefficient = 0.5")
        .execute(&pool)
        .await
        .unwrap();
    let p = fixtures::package(&pool, c, "rnv").await;
    fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 0.0)).await;
    set(
        &pool,
        p,
        "manual_priority = 10, static_priority = 20, dependency_priority = 40, build_priority = 50",
    )
    .await;
    let got = priority(&pool, p).await.unwrap();
    assert!((got - 60.0).abs() < 1e-9, "{got}");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn unschedulable_packages_have_no_priority_and_say_why(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;

    // No build at all.
    let p = fixtures::package(&pool, c, "nobuild").await;
    assert_eq!(priority(&pool, p).await, None);
    assert_eq!(skip_reasons(&pool, p).await, ["Package has no known build"]);

    let p = fixtures::package(&pool, c, "rnv").await;
    fixtures::build(&pool, p, NewBuild::new(BuildState::Complete, 100.0)).await;
    assert!(priority(&pool, p).await.is_some());

    let cases: &[(&str, &str, &str)] = &[
        (
            "tracked = false",
            "tracked = true",
            "Package is not tracked",
        ),
        (
            "blocked = true",
            "blocked = false",
            "Package is blocked in koji",
        ),
        (
            "resolved = false",
            "resolved = true",
            "Package dependencies are not resolvable",
        ),
        (
            "resolved = NULL",
            "resolved = true",
            "Package dependencies were not resolved yet",
        ),
        (
            "scheduler_skip_reason = 1",
            "scheduler_skip_reason = NULL",
            "No suitable SRPM was found",
        ),
        (
            "scheduler_skip_reason = 2",
            "scheduler_skip_reason = NULL",
            "No build architecture allowed for SRPM",
        ),
        (
            "retry_after = (now() AT TIME ZONE 'UTC') + interval '1 hour', infra_failures = 2",
            "retry_after = NULL, infra_failures = 0",
            "to retry after 2 infrastructure failure(s)",
        ),
    ];
    for (break_it, fix_it, reason) in cases {
        set(&pool, p, break_it).await;
        assert_eq!(priority(&pool, p).await, None, "{break_it}");
        let reasons = skip_reasons(&pool, p).await;
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "{break_it}: {reasons:?}"
        );
        set(&pool, p, fix_it).await;
        assert!(priority(&pool, p).await.is_some(), "{fix_it}");
    }

    // skip_resolution makes an unresolved (NULL) package schedulable.
    set(&pool, p, "resolved = NULL, skip_resolution = true").await;
    assert!(priority(&pool, p).await.is_some());
    set(&pool, p, "skip_resolution = false, resolved = true").await;

    // A running build blocks the package, also when it never completed a build.
    let running = fixtures::build(&pool, p, NewBuild::new(BuildState::Running, 1.0)).await;
    assert_eq!(priority(&pool, p).await, None);
    assert_eq!(
        skip_reasons(&pool, p).await,
        ["Package has a running build"]
    );
    sqlx::query("DELETE FROM build WHERE id = $1")
        .bind(running)
        .execute(&pool)
        .await
        .unwrap();
    let fresh = fixtures::package(&pool, c, "fresh").await;
    fixtures::build(&pool, fresh, NewBuild::new(BuildState::Running, 1.0)).await;
    assert_eq!(
        priority(&pool, fresh).await,
        None,
        "NULL last complete build must not make it schedulable"
    );

    // The buildroot of the collection.
    sqlx::query("UPDATE collection SET latest_repo_resolved = false")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(priority(&pool, p).await, None);
    assert_eq!(
        skip_reasons(&pool, p).await,
        ["Base buildroot for Fedora Rawhide is not resolvable"]
    );
    sqlx::query("UPDATE collection SET latest_repo_resolved = NULL, latest_repo_id = NULL")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(priority(&pool, p).await, None);
    assert_eq!(
        skip_reasons(&pool, p).await,
        ["Base buildroot for Fedora Rawhide was not resolved yet"]
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn constraints_reject_inconsistent_rows(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    let err =
        sqlx::query("UPDATE package SET skip_resolution = true, resolved = true WHERE id = $1")
            .bind(p)
            .execute(&pool)
            .await;
    assert!(err.is_err());
    let err = sqlx::query("UPDATE collection SET latest_repo_id = NULL WHERE id = $1")
        .bind(c)
        .execute(&pool)
        .await;
    assert!(err.is_err());
    let err = sqlx::query(
        "INSERT INTO build (package_id, state, task_id, started, real) VALUES ($1, 2, 1, now(), true)",
    )
    .bind(p)
    .execute(&pool)
    .await;
    assert!(err.is_err(), "real builds cannot be running");
    let err = sqlx::query(
        "INSERT INTO build (package_id, state, task_id, started) VALUES ($1, 3, 1, now())",
    )
    .bind(p)
    .execute(&pool)
    .await;
    assert!(err.is_err(), "finished builds need NVR and repo");
}

/// `unapplied_change` has no foreign keys (a pass writes ~590,000 rows); deleting
/// packages still deletes their changes, one statement for many packages included.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn deleting_packages_deletes_their_unapplied_changes(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let a = fixtures::package(&pool, c, "a").await;
    let b = fixtures::package(&pool, c, "b").await;
    let kept = fixtures::package(&pool, c, "kept").await;
    let dep: i32 = sqlx::query_scalar(
        "INSERT INTO dependency (name, epoch, version, release, arch)
         VALUES ('libfoo', NULL, '1', '1', 'x86_64') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO unapplied_change (package_id, prev_dep_id, curr_dep_id, distance)
         SELECT pkg, NULL, $4, 1 FROM unnest(ARRAY[$1, $1, $2, $3]::int[]) AS t(pkg)",
    )
    .bind(a)
    .bind(b)
    .bind(kept)
    .bind(dep)
    .execute(&pool)
    .await
    .unwrap();
    let left = || async {
        sqlx::query_scalar::<_, i32>("SELECT package_id FROM unapplied_change ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    sqlx::query("DELETE FROM package WHERE id = ANY($1)")
        .bind(vec![a, b])
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(left().await, vec![kept]);
    sqlx::query("DELETE FROM collection WHERE id = $1")
        .bind(c)
        .execute(&pool)
        .await
        .unwrap();
    assert!(left().await.is_empty(), "cascaded from the collection");
}

/// Migration `20261212000000` packs the unapplied changes of each package into one row;
/// the rows a database already holds come back through the `unapplied_change` view
/// unchanged and in their order, and the view takes inserts as before.
#[sqlx::test(migrations = false)]
async fn packing_unapplied_changes_keeps_existing_rows(pool: PgPool) {
    const PACKED: i64 = 20261212000000;
    let before = sqlx::migrate::Migrator {
        migrations: MIGRATIONS
            .migrations
            .iter()
            .filter(|m| m.version < PACKED)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&pool).await.unwrap();
    let c = fixtures::collection(&pool, "f25").await;
    let a = fixtures::package(&pool, c, "a").await;
    let b = fixtures::package(&pool, c, "b").await;
    sqlx::query(
        "INSERT INTO dependency (name, epoch, version, release, arch)
         SELECT 'd' || i, 0, '1', '1', 'noarch' FROM generate_series(1, 4) i",
    )
    .execute(&pool)
    .await
    .unwrap();
    let rows = |a: i32, b: i32| {
        vec![
            (a, Some(3), Some(1), Some(2)),
            (a, None, Some(2), None),
            (b, Some(4), None, Some(1)),
            (a, Some(1), Some(4), Some(1)),
        ]
    };
    for (pkg, prev, curr, distance) in rows(a, b) {
        sqlx::query(
            "INSERT INTO unapplied_change (package_id, prev_dep_id, curr_dep_id, distance)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(pkg)
        .bind(prev)
        .bind(curr)
        .bind(distance)
        .execute(&pool)
        .await
        .unwrap();
    }
    koschei_core::db::migrate(&pool, None).await.unwrap();

    type Change = (i32, Option<i32>, Option<i32>, Option<i32>);
    let read = || async {
        sqlx::query_as::<_, Change>(
            "SELECT package_id, prev_dep_id, curr_dep_id, distance FROM unapplied_change
             ORDER BY package_id, id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let mut expected = rows(a, b);
    expected.sort_by_key(|r| r.0); // stable: each package's rows keep their order
    assert_eq!(read().await, expected);
    let packed: i64 = sqlx::query_scalar("SELECT count(*) FROM unapplied_changes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(packed, 2, "one row per package");

    // the view takes inserts (appended to the package's row) and refuses non-changes
    sqlx::query("INSERT INTO unapplied_change (package_id, curr_dep_id) VALUES ($1, 3)")
        .bind(b)
        .execute(&pool)
        .await
        .unwrap();
    expected.push((b, None, Some(3), None));
    assert_eq!(read().await, expected);
    let refused = sqlx::query(
        "INSERT INTO unapplied_change (package_id, prev_dep_id, curr_dep_id) VALUES ($1, 2, 2)",
    )
    .bind(a)
    .execute(&pool)
    .await;
    assert!(refused.is_err(), "a change must change something");
}
