//! Impact checks through koji-sim: a side tag of the collection's build tag, its repo
//! compared with the collection's by the resolver service; an extra repository (a plain
//! koji-sim tag's repo standing for a Copr project) layered over the collection's.

mod common;

use common::{env, Env, MIGRATIONS};
use koschei_core::audit::Actor;
use koschei_core::config::ImpactConfig;
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
        builds: Some(false),
        ..NewImpactCheck::new("f99", tag)
    };
    create(env, &new).await.unwrap()
}

/// Queues a check with the resolver's configuration.
async fn create(env: &Env, new: &NewImpactCheck) -> Result<i32, String> {
    let mut conn = env.pool.acquire().await.unwrap();
    impact::create(&mut conn, &env.ctx.config.impact, &Actor::backend(), new)
        .await
        .map_err(|e| e.to_string())
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
        &ImpactConfig::default(),
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
            impact::create(&mut conn, &ImpactConfig::default(), &Actor::backend(), &new)
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

/// An extra repository layered over the collection's repo (Copr-style): the package it
/// makes resolvable and the users of the library it updates are listed, nothing else, and
/// nothing is built; a URL outside the allowed prefixes is refused at once; one without
/// repodata, one that does not answer and broken repodata each end their check in
/// `error` with the reason, the other checks unharmed.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_repository_layered_over_the_collection(pool: PgPool) {
    let mut env = env(pool).await;
    collection_with_widgets(&env).await;
    let before = package_states(&env).await;
    let topurl = env.sim.topurl.clone();
    std::sync::Arc::make_mut(&mut env.ctx.config)
        .impact
        .repo_url_prefixes = vec![format!("{topurl}/"), "http://127.0.0.1:1/".into()];
    // a plain tag (no inheritance) stands for a Copr project: its repo holds its builds only
    env.koji
        .call("createTag", vec![Value::str("copr-widgets")])
        .await
        .unwrap();
    env.import_into("copr-widgets", "mylib", "1", &[("mylib", &[], &[])])
        .await;
    env.import_into(
        "copr-widgets",
        "libwidget",
        "2",
        &[
            ("libwidget", &["libwidget.so.2"], &[]),
            ("libwidget-devel", &[], &["libwidget"]),
        ],
    )
    .await;
    let copr_repo = regen(&env, "copr-widgets").await;
    let url = format!("{topurl}/repos/copr-widgets/{copr_repo}/x86_64/");
    let id = create(&env, &NewImpactCheck::of_repository("f99", &url))
        .await
        .unwrap();

    // the other repositories: none there, no answer, and two kinds of broken repodata
    let none = format!("{topurl}/repos/copr-widgets/9999/x86_64");
    let dead = "http://127.0.0.1:1/results/x/".to_string();
    let files = env.dir.path().join("sim/files/repos/copr-widgets");
    let copy = |to: &str| {
        let dst = files.join(to).join("x86_64/repodata");
        std::fs::create_dir_all(&dst).unwrap();
        let src = files.join(copr_repo.to_string()).join("x86_64/repodata");
        for f in std::fs::read_dir(&src).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), dst.join(f.file_name())).unwrap();
        }
        dst
    };
    std::fs::write(copy("7001").join("primary.xml.gz"), b"not gzip").unwrap();
    std::fs::write(copy("7002").join("repomd.xml"), b"<repomd><data").unwrap();
    let mismatch = format!("{topurl}/repos/copr-widgets/7001/x86_64");
    let unparsable = format!("{topurl}/repos/copr-widgets/7002/x86_64");
    let mut failing = Vec::new();
    for u in [&none, &dead, &mismatch, &unparsable] {
        failing.push(
            create(&env, &NewImpactCheck::of_repository("f99", u))
                .await
                .unwrap(),
        );
    }
    env.iterate().await;

    let r = report(&env, id).await;
    assert_eq!(r.check.state, "complete", "{:?}", r.check.note);
    assert_eq!(r.check.repo_url.as_deref(), Some(url.as_str()));
    assert_eq!(r.check.side_tag, None);
    assert!(!r.check.builds);
    assert_eq!(
        (r.check.base_repo_id, r.check.change_repo_id),
        (Some(1001), None)
    );
    let mut listed: Vec<(&str, &str, Vec<String>)> = r
        .packages
        .iter()
        .map(|p| {
            let changes = p
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{} {}→{} @{:?}",
                        c.name,
                        c.prev.as_deref().unwrap_or("-"),
                        c.curr.as_deref().unwrap_or("-"),
                        c.distance
                    )
                })
                .collect();
            (p.package.as_str(), p.verdict.as_str(), changes)
        })
        .collect();
    listed.sort();
    let expected = |name, verdict, changes: &[&str]| {
        (
            name,
            verdict,
            changes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        )
    };
    // nearest first
    let widget_change = [
        "libwidget-devel 1-1.x86_64→2-1.x86_64 @Some(1)",
        "libwidget 1-1.x86_64→2-1.x86_64 @Some(2)",
    ];
    assert_eq!(
        listed,
        [
            // what it lacked is its problem against the base
            expected("mylib-user", "resolvable-with-change", &[]),
            expected("widget-a", "dependencies-changed", &widget_change),
            expected("widget-b", "dependencies-changed", &widget_change),
            expected(
                "widget-tool-user",
                "dependencies-changed",
                &["libwidget 1-1.x86_64→2-1.x86_64 @Some(2)"]
            ),
        ]
    );
    assert!(r.packages.iter().all(|p| !p.build_planned));
    let mylib_user = r
        .packages
        .iter()
        .find(|p| p.package == "mylib-user")
        .unwrap();
    assert_eq!(mylib_user.problems(), ["No package found for: mylib"]);
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM impact_check_change WHERE check_id = $1")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(stored, 2, "each distinct change stored once");
    assert!(r.render_text().contains(&format!("repository {url}")));

    let notes: Vec<(String, String)> = {
        let mut notes = Vec::new();
        for id in &failing {
            let r = report(&env, *id).await;
            notes.push((r.check.state, r.check.note.unwrap_or_default()));
        }
        notes
    };
    assert!(notes.iter().all(|(state, _)| state == "error"), "{notes:?}");
    assert_eq!(
        notes[0].1,
        format!("no rpm-md repository at {none} (repodata/repomd.xml not found)")
    );
    assert!(
        notes[1]
            .1
            .starts_with(&format!("repository {dead} unusable: ")),
        "{notes:?}"
    );
    assert!(notes[2].1.contains("checksum"), "{notes:?}");
    assert!(
        notes[3]
            .1
            .starts_with(&format!("repository {unparsable} unusable: ")),
        "{notes:?}"
    );

    // refused at once: a URL outside the prefixes, builds of a repository, both changes
    let refused = create(
        &env,
        &NewImpactCheck::of_repository("f99", "https://elsewhere.test/repo/"),
    )
    .await
    .unwrap_err();
    assert!(refused.contains("not under an allowed prefix"), "{refused}");
    let refused = create(
        &env,
        &NewImpactCheck {
            builds: Some(true),
            ..NewImpactCheck::of_repository("f99", &url)
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused,
        "Builds need a Koji side tag: a check of a repository resolves only"
    );
    let refused = create(
        &env,
        &NewImpactCheck {
            side_tag: Some("f99-build-side-1".into()),
            ..NewImpactCheck::of_repository("f99", &url)
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused,
        "An impact check needs either a side tag or a repository URL"
    );
    // nothing public changed
    assert_eq!(package_states(&env).await, before);
}
