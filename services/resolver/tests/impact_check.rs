//! Impact checks through koji-sim: a side tag of the collection's build tag, its repo
//! compared with the collection's by the resolver service.

mod common;

use common::{env, Env, MIGRATIONS};
use koschei_core::audit::Actor;
use koschei_core::impact::{self, ImpactChange, ImpactReport, NewImpactCheck};
use koschei_koji::Value;
use sqlx::PgPool;

/// Creates a side tag of f99-build; returns its name.
async fn side_tag(env: &Env) -> String {
    let koji = env.logged_in_koji().await;
    let created = koji
        .call("createSideTag", vec![Value::str("f99-build")])
        .await
        .unwrap();
    let Value::Struct(s) = created else {
        panic!("createSideTag returned {created:?}")
    };
    match s.get("name") {
        Some(Value::String(name)) => name.clone(),
        other => panic!("side tag name: {other:?}"),
    }
}

async fn remove_side_tag(env: &Env, tag: &str) {
    let koji = env.logged_in_koji().await;
    koji.call("removeSideTag", vec![Value::str(tag)])
        .await
        .unwrap();
}

async fn regen(env: &Env, tag: &str) -> i32 {
    match env
        .koji
        .call("sim.regenRepo", vec![Value::str(tag)])
        .await
        .unwrap()
    {
        Value::Int(i) => i as i32,
        other => panic!("regenRepo returned {other:?}"),
    }
}

/// Queues a check of `tag` that builds nothing.
async fn check(env: &Env, tag: &str) -> i32 {
    let new = NewImpactCheck {
        builds: false,
        ..NewImpactCheck::new("f99", tag)
    };
    let mut conn = env.pool.acquire().await.unwrap();
    impact::create(&mut conn, &Actor::backend(), &new)
        .await
        .unwrap()
}

async fn report(env: &Env, id: i32) -> ImpactReport {
    let mut conn = env.pool.acquire().await.unwrap();
    impact::report(&mut conn, id).await.unwrap()
}

/// (name, resolved) of every package.
async fn package_states(env: &Env) -> Vec<(String, Option<bool>)> {
    sqlx::query_as("SELECT name, resolved FROM package ORDER BY name")
        .fetch_all(&env.pool)
        .await
        .unwrap()
}

/// The collection with libwidget 1 (libwidget, libwidget-devel), widget-tool (which
/// requires libwidget) and gadget 1 in its latest repo, and tracked packages resolved
/// against it.
async fn collection_with_widgets(env: &Env) {
    env.import(
        "libwidget",
        "1",
        &[
            ("libwidget", &["libwidget.so.1"], &[]),
            ("libwidget-devel", &[], &["libwidget"]),
        ],
    )
    .await;
    env.import("widget-tool", "1", &[("widget-tool", &[], &["libwidget"])])
        .await;
    env.import("gadget", "1", &[("gadget", &["libgadget.so.1"], &[])])
        .await;
    assert_eq!(env.regen_repo().await, 1001);
    for name in [
        "foo",
        "broken",
        "mylib-user",
        "widget-a",
        "widget-b",
        "widget-tool-user",
        "gadget-user",
    ] {
        env.package(name, Some(1000)).await;
    }
    env.iterate().await;
    env.iterate().await;
    env.clear_outbox().await;
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_side_tag_dropping_a_provide_makes_exactly_its_users_unresolvable(pool: PgPool) {
    let env = env(pool).await;
    collection_with_widgets(&env).await;
    let before = package_states(&env).await;
    assert!(
        before
            .iter()
            .all(|(n, r)| *r == Some(!["broken", "mylib-user"].contains(&n.as_str()))),
        "{before:?}"
    );

    // the side tag's libwidget 2 has a new soname and no -devel subpackage any more
    let tag = side_tag(&env).await;
    env.import_into(
        &tag,
        "libwidget",
        "2",
        &[("libwidget", &["libwidget.so.2"], &[])],
    )
    .await;
    // and a gadget update with the same dependencies: gadget-user's set carries over
    // with the new version (not solved again)
    env.import_into(
        &tag,
        "gadget",
        "1.1",
        &[("gadget", &["libgadget.so.1"], &[])],
    )
    .await;
    // and a new build of the tracked widget-b, which build-requires libwidget itself now:
    // with the change it is resolved with the side tag's build
    let spec = serde_json::json!({
        "name": "widget-b", "version": "2", "release": "1", "tag": tag,
        "buildrequires": ["libwidget"], "binaries": [{"name": "widget-b"}]
    });
    env.koji
        .call("sim.importBuild", vec![Value::from_json(spec)])
        .await
        .unwrap();
    let change_repo = regen(&env, &tag).await;
    let id = check(&env, &tag).await;
    assert_eq!(report(&env, id).await.check.state, "queued");
    env.iterate().await;

    let r = report(&env, id).await;
    assert_eq!(r.check.state, "complete", "{:?}", r.check.note);
    assert_eq!(r.check.base_repo_id, Some(1001));
    assert_eq!(r.check.change_repo_id, Some(change_repo));
    let listed: Vec<(&str, &str)> = r
        .packages
        .iter()
        .map(|p| (p.package.as_str(), p.verdict.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("widget-a", "unresolvable-with-change"),
            ("gadget-user", "dependencies-changed"),
            ("widget-b", "dependencies-changed"),
            ("widget-tool-user", "dependencies-changed"),
        ]
    );
    assert_eq!(
        r.packages[2].changes,
        [
            ImpactChange {
                name: "libwidget".into(),
                prev: Some("1-1.x86_64".into()),
                curr: Some("2-1.x86_64".into()),
                distance: Some(1),
            },
            ImpactChange {
                name: "libwidget-devel".into(),
                prev: Some("1-1.x86_64".into()),
                curr: None,
                distance: None,
            },
        ]
    );
    let a = &r.packages[0];
    assert!(a.base_resolved && !a.change_resolved);
    assert_eq!(a.change_problems, ["No package found for: libwidget-devel"]);
    assert_eq!(
        r.packages[1].changes,
        [ImpactChange {
            name: "gadget".into(),
            prev: Some("1-1.x86_64".into()),
            curr: Some("1.1-1.x86_64".into()),
            distance: Some(1),
        }]
    );
    let tool_user = &r.packages[3];
    assert_eq!(
        tool_user.changes,
        [ImpactChange {
            name: "libwidget".into(),
            prev: Some("1-1.x86_64".into()),
            curr: Some("2-1.x86_64".into()),
            distance: Some(2),
        }]
    );
    assert_eq!(tool_user.distance, Some(2));
    assert_eq!(
        (r.counts.affected, r.counts.unresolvable_with_change),
        (4, 1)
    );
    let states: Vec<&str> = r.events.iter().map(|e| e.state.as_str()).collect();
    assert_eq!(states, ["queued", "resolving", "complete"]);
    let text = r.render_text();
    assert!(
        text.contains("widget-a: unresolvable-with-change"),
        "{text}"
    );

    // with builds: the affected packages within the depth are chosen, nearest first
    let mut conn = env.pool.acquire().await.unwrap();
    let building = impact::create(
        &mut conn,
        &Actor::backend(),
        &NewImpactCheck::new("f99", &tag),
    )
    .await
    .unwrap();
    drop(conn);
    env.iterate().await;
    let r = report(&env, building).await;
    assert_eq!(r.check.state, "building", "{:?}", r.check.note);
    let planned: Vec<&str> = r
        .packages
        .iter()
        .filter(|p| p.build_planned)
        .map(|p| p.package.as_str())
        .collect();
    assert_eq!(planned, ["gadget-user", "widget-b"]);
    assert_eq!(r.counts.builds_pending, 2);
    assert_eq!(
        r.events.last().unwrap().note.as_deref(),
        Some("4 packages affected, 1 unresolvable with the change; 2 to build")
    );

    // nothing public changed: package states; the only messages are the checks'
    assert_eq!(package_states(&env).await, before);
    let topics: Vec<String> = env.outbox().await.into_iter().map(|m| m.0).collect();
    assert!(
        topics
            .iter()
            .all(|t| t == "koschei.impact-check.state.change"
                || t.starts_with("ci.koschei.koji-build-group.test.")),
        "{topics:?}"
    );
    assert!(topics.contains(&"ci.koschei.koji-build-group.test.complete".to_string()));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn unknown_or_removed_side_tags_end_in_error_and_leave_the_others_alone(pool: PgPool) {
    let env = env(pool).await;
    collection_with_widgets(&env).await;
    let unknown = check(&env, "f99-build-side-9999").await;
    let tag = side_tag(&env).await;
    let removed = check(&env, &tag).await;
    remove_side_tag(&env, &tag).await;
    let fine_tag = side_tag(&env).await;
    let fine = check(&env, &fine_tag).await;
    env.iterate().await;

    let r = report(&env, unknown).await;
    assert_eq!(r.check.state, "error");
    assert_eq!(
        r.check.note.as_deref(),
        Some("side tag f99-build-side-9999 does not exist in Koji")
    );
    assert!(r.check.finished.is_some());
    let r = report(&env, removed).await;
    assert_eq!(r.check.state, "error");
    assert!(
        r.check.note.as_deref().unwrap().contains("does not exist"),
        "{:?}",
        r.check.note
    );
    // the untouched side tag changes nothing
    let r = report(&env, fine).await;
    assert_eq!(r.check.state, "complete", "{:?}", r.check.note);
    assert!(r.packages.is_empty());

    // invalid requests are refused at once
    let refused = |new: NewImpactCheck| {
        let pool = env.pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            impact::create(&mut conn, &Actor::backend(), &new)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    assert_eq!(
        refused(NewImpactCheck::new("f99", "bad tag;")).await,
        "Invalid side tag name: \"bad tag;\""
    );
    assert_eq!(
        refused(NewImpactCheck::new("nope", &fine_tag)).await,
        "Collection not found: nope"
    );
    assert_eq!(
        refused(NewImpactCheck {
            depth: 0,
            ..NewImpactCheck::new("f99", &fine_tag)
        })
        .await,
        "Invalid depth 0: expected 1 to 20"
    );
    let checks: i64 = sqlx::query_scalar("SELECT count(*) FROM impact_check")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(checks, 3);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_check_waits_for_the_collections_pass_and_is_taken_over_after_a_crash(pool: PgPool) {
    let env = env(pool).await;
    collection_with_widgets(&env).await;
    let tag = side_tag(&env).await;
    let id = check(&env, &tag).await;
    // a pass of the collection is under way: the check waits
    sqlx::query(
        "INSERT INTO resolver_work (collection_id, repo_id, package_ids) VALUES ($1, 1001, '{}')",
    )
    .bind(env.collection_id)
    .execute(&env.pool)
    .await
    .unwrap();
    koschei_resolver::impact_check::run_queued(&env.ctx)
        .await
        .unwrap();
    assert_eq!(report(&env, id).await.check.state, "queued");
    sqlx::query("DELETE FROM resolver_work")
        .execute(&env.pool)
        .await
        .unwrap();
    // another resolver claimed it: not taken while its lease holds
    sqlx::query(
        "UPDATE impact_check SET state = 'resolving', claimed_by = 'dead:1:x',
             claim_until = now() AT TIME ZONE 'UTC' + interval '1 hour'",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    koschei_resolver::impact_check::run_queued(&env.ctx)
        .await
        .unwrap();
    assert_eq!(report(&env, id).await.check.state, "resolving");
    // it died: once its lease expired the check is taken over
    sqlx::query(
        "UPDATE impact_check SET claim_until = now() AT TIME ZONE 'UTC' - interval '1 second'",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    koschei_resolver::impact_check::run_queued(&env.ctx)
        .await
        .unwrap();
    let r = report(&env, id).await;
    assert_eq!(r.check.state, "complete", "{:?}", r.check.note);
    let notes: Vec<Option<&str>> = r.events.iter().map(|e| e.note.as_deref()).collect();
    assert_eq!(
        notes[1],
        Some("taken over: the previous resolver's claim expired")
    );

    // Koji has a newer repo of the build tag than the collection's resolved one: a check
    // waits for it (the side tag's repo has that content)
    let newer = env.regen_repo().await;
    let waiting = check(&env, &tag).await;
    koschei_resolver::impact_check::run_queued(&env.ctx)
        .await
        .unwrap();
    let r = report(&env, waiting).await;
    assert_eq!(r.check.state, "queued");
    assert_eq!(
        r.check.note,
        Some(format!(
            "waiting for repo {newer} of f99-build to be resolved"
        ))
    );
    env.iterate().await;
    let r = report(&env, waiting).await;
    assert_eq!(r.check.state, "complete", "{:?}", r.check.note);
    assert_eq!(r.check.base_repo_id, Some(newer));
}
