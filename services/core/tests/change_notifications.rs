//! The `koschei_change` notifications of the schema's triggers (issue #15,
//! contract A), received by a real `LISTEN` on PostgreSQL: each kind of table
//! produces its payload at commit, a rolled-back transaction produces none.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use koschei_core::fixtures::{self, NewBuild};
use koschei_core::model::BuildState;
use serde_json::{json, Value as Json};
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;

const CHANNEL: &str = "koschei_change";

/// A listener on the change channel.
async fn listen(pool: &PgPool) -> PgListener {
    let mut listener = PgListener::connect_with(pool).await.unwrap();
    listener.listen(CHANNEL).await.unwrap();
    listener
}

/// Runs `sql` in one transaction, then the distinct payloads the listener got
/// up to a marker notification committed afterwards (notifications arrive in
/// commit order, so everything the transaction sent comes before the marker).
async fn changes(listener: &mut PgListener, pool: &PgPool, sql: &str) -> BTreeSet<String> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    received_until_marker(listener, pool).await
}

async fn received_until_marker(listener: &mut PgListener, pool: &PgPool) -> BTreeSet<String> {
    static MARKERS: AtomicU64 = AtomicU64::new(0);
    let marker = format!("marker-{}", MARKERS.fetch_add(1, Ordering::Relaxed));
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(&marker)
        .execute(pool)
        .await
        .unwrap();
    let mut got = BTreeSet::new();
    loop {
        let n = listener.recv().await.unwrap();
        if n.payload() == marker {
            return got;
        }
        got.insert(n.payload().to_owned());
    }
}

/// The one payload of a change, parsed.
async fn one_change(listener: &mut PgListener, pool: &PgPool, sql: &str) -> Json {
    let got = changes(listener, pool, sql).await;
    assert_eq!(got.len(), 1, "{sql}: {got:?}");
    serde_json::from_str(got.first().unwrap()).unwrap()
}

fn packages(collections: &[i32], bases: &[i32]) -> Json {
    json!({"kind": "packages", "collections": collections, "bases": bases})
}

async fn id(pool: &PgPool, sql: &str) -> i32 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_tables_notify_their_collections_and_bases(pool: PgPool) {
    let mut listener = listen(&pool).await;
    let f1 = fixtures::collection(&pool, "f1").await;
    let f2 = fixtures::collection(&pool, "f2").await;
    let foo = fixtures::package(&pool, f1, "foo").await;
    let foo2 = fixtures::package(&pool, f2, "foo").await;
    let bar = fixtures::package(&pool, f2, "bar").await;
    let foo_base = id(&pool, "SELECT id FROM base_package WHERE name = 'foo'").await;
    let bar_base = id(&pool, "SELECT id FROM base_package WHERE name = 'bar'").await;
    received_until_marker(&mut listener, &pool).await;

    // The payload is compact JSON text.
    let got = changes(
        &mut listener,
        &pool,
        &format!("UPDATE package SET tracked = false WHERE id = {bar}"),
    )
    .await;
    assert_eq!(
        got,
        BTreeSet::from([format!(
            r#"{{"kind":"packages","collections":[{f2}],"bases":[{bar_base}]}}"#
        )])
    );
    assert_eq!(
        one_change(
            &mut listener,
            &pool,
            &format!("UPDATE package SET manual_priority = 5 WHERE id IN ({foo}, {bar})"),
        )
        .await,
        packages(&[f1, f2], &[foo_base, bar_base])
    );
    // A base package counts in every collection that has it.
    assert_eq!(
        one_change(
            &mut listener,
            &pool,
            &format!("UPDATE base_package SET name = 'foo' WHERE id = {foo_base}"),
        )
        .await,
        packages(&[f1, f2], &[foo_base])
    );

    // A build and its update: the package's collection and base.
    let build = fixtures::build(&pool, foo2, NewBuild::new(BuildState::Running, 1.0)).await;
    assert_eq!(
        serde_json::from_str::<Json>(
            received_until_marker(&mut listener, &pool)
                .await
                .first()
                .unwrap()
        )
        .unwrap(),
        packages(&[f2], &[foo_base])
    );
    assert_eq!(
        one_change(
            &mut listener,
            &pool,
            &format!("UPDATE build SET state = 3, finished = started WHERE id = {build}"),
        )
        .await,
        packages(&[f2], &[foo_base])
    );
    // Rows that reach the package through a build or a resolution.
    for sql in [
        format!(
            "INSERT INTO koji_task (build_id, task_id, arch, state, started)
             VALUES ({build}, 1, 'x86_64', 2, now())"
        ),
        "UPDATE koji_task SET state = 3".into(),
        format!(
            "INSERT INTO dependency (name, version, release, arch) VALUES ('d', '1', '1', 'noarch');
             INSERT INTO applied_change (build_id, curr_dep_id) SELECT {build}, id FROM dependency"
        ),
        format!(
            "INSERT INTO unapplied_change (package_id, curr_dep_id) SELECT {foo2}, id FROM dependency"
        ),
        "UPDATE unapplied_changes SET distances = ARRAY[2]".into(),
        format!("INSERT INTO resolution_change (package_id, resolved) VALUES ({foo2}, false)"),
        "INSERT INTO resolution_problem (resolution_id, problem)
         SELECT id, 'nothing provides d' FROM resolution_change"
            .into(),
        "DELETE FROM resolution_problem".into(),
        "DELETE FROM unapplied_changes".into(),
        "DELETE FROM koji_task".into(),
    ] {
        assert_eq!(
            one_change(&mut listener, &pool, &sql).await,
            packages(&[f2], &[foo_base]),
            "{sql}"
        );
    }
    // Deleting a package reports it (its cascaded rows add nothing else).
    assert_eq!(
        one_change(
            &mut listener,
            &pool,
            &format!("DELETE FROM package WHERE id = {foo2}")
        )
        .await,
        packages(&[f2], &[foo_base])
    );
    // An update that changes nothing, and a rolled-back change: no notification.
    let nothing = changes(&mut listener, &pool, "UPDATE package SET tracked = tracked").await;
    assert!(nothing.is_empty(), "{nothing:?}");
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("UPDATE package SET tracked = NOT tracked")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let nothing = received_until_marker(&mut listener, &pool).await;
    assert!(nothing.is_empty(), "{nothing:?}");
    // TRUNCATE: every collection, all bases.
    assert_eq!(
        one_change(&mut listener, &pool, "TRUNCATE unapplied_changes").await,
        json!({"kind": "packages", "collections": [f1, f2], "bases": null})
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn more_than_500_bases_are_all_bases(pool: PgPool) {
    let mut listener = listen(&pool).await;
    let f1 = fixtures::collection(&pool, "f1").await;
    let insert = |n: i32| {
        format!(
            "INSERT INTO base_package (name) SELECT 'p{n}-' || i FROM generate_series(1, {n}) i;
             INSERT INTO package (base_id, name, collection_id)
             SELECT id, name, {f1} FROM base_package WHERE name LIKE 'p{n}-%'"
        )
    };
    received_until_marker(&mut listener, &pool).await;
    let got: Vec<Json> = changes(&mut listener, &pool, &insert(500))
        .await
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    // The base packages (in no collection yet), then the packages.
    let with_packages = got
        .iter()
        .find(|p| p["collections"] == json!([f1]))
        .unwrap();
    assert_eq!(with_packages["bases"].as_array().unwrap().len(), 500);
    let got: Vec<Json> = changes(&mut listener, &pool, &insert(501))
        .await
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    assert!(got.contains(&json!({"kind": "packages", "collections": [f1], "bases": null})));
    assert_eq!(
        one_change(
            &mut listener,
            &pool,
            "UPDATE package SET manual_priority = 1 WHERE name LIKE 'p501-%'"
        )
        .await,
        json!({"kind": "packages", "collections": [f1], "bases": null})
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collections_groups_and_notices_notify_their_kind(pool: PgPool) {
    let mut listener = listen(&pool).await;
    let collections = BTreeSet::from([r#"{"kind":"collections"}"#.to_owned()]);
    let groups = BTreeSet::from([r#"{"kind":"groups"}"#.to_owned()]);
    let notices = BTreeSet::from([r#"{"kind":"notices"}"#.to_owned()]);
    let f1 = fixtures::collection(&pool, "f1").await;
    assert_eq!(
        received_until_marker(&mut listener, &pool).await,
        collections
    );
    for sql in [
        "UPDATE collection SET display_name = 'Fedora 1'".to_owned(),
        "INSERT INTO collection_group (name, display_name) VALUES ('fedora', 'Fedora')".into(),
        format!("INSERT INTO collection_group_relation SELECT id, {f1} FROM collection_group"),
        format!("INSERT INTO buildroot_problem (collection_id, problem) VALUES ({f1}, 'p')"),
        "DELETE FROM buildroot_problem".into(),
    ] {
        assert_eq!(
            changes(&mut listener, &pool, &sql).await,
            collections,
            "{sql}"
        );
    }
    for sql in [
        "INSERT INTO package_group (namespace, name) VALUES ('ns', 'tools')",
        "INSERT INTO \"user\" (name) VALUES ('jdoe');
         INSERT INTO group_acl SELECT g.id, u.id FROM package_group g, \"user\" u",
        "UPDATE package_group SET name = 'utils'",
        "DELETE FROM group_acl",
    ] {
        assert_eq!(changes(&mut listener, &pool, sql).await, groups, "{sql}");
    }
    let foo = fixtures::package(&pool, f1, "foo").await;
    received_until_marker(&mut listener, &pool).await;
    assert_eq!(
        changes(
            &mut listener,
            &pool,
            &format!(
                "INSERT INTO package_group_relation (group_id, base_id)
                 SELECT g.id, p.base_id FROM package_group g, package p WHERE p.id = {foo}"
            )
        )
        .await,
        groups
    );
    for sql in [
        "INSERT INTO admin_notice (key, content) VALUES ('banner', 'Outage')",
        "UPDATE admin_notice SET content = 'Outage over'",
        "TRUNCATE admin_notice",
    ] {
        assert_eq!(changes(&mut listener, &pool, sql).await, notices, "{sql}");
    }
}
