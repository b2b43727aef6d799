//! Authentication, CSRF and every edit: the change made and audited, or a
//! flashed message naming the problem and nothing changed.

mod common;

use axum::http::StatusCode;
use common::{audit_log, world, Client, MIGRATIONS};
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATIONS")]
async fn login_through_proxy_header(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c
        .send(
            axum::http::Request::get("/login?next=/groups")
                .header("X-Remote-User", "carol")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.location(), "/groups");
    let page = c.get("/groups").await;
    page.expect(
        StatusCode::OK,
        &[
            "New user &quot;carol&quot; was registered.",
            "Logged in as user &quot;carol&quot; with identity &quot;carol&quot;.",
            "Log out",
            "My Groups",
        ],
    );
    // Flashes are shown once.
    c.get("/groups").await.lacks(&["Logged in as"]);
    c.post("/logout", &[]).await;
    c.get("/groups")
        .await
        .expect(StatusCode::OK, &["Successfully logged out.", "Log in"]);

    // Admin flag is reported; open redirects are refused.
    let res = c
        .send(
            axum::http::Request::get("/login?next=https://evil.example/")
                .header("X-Remote-User", "admin")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.location(), "/");
    c.get("/")
        .await
        .expect(StatusCode::OK, &["You have admin privileges."]);

    // No identity header: the proxy did not authenticate.
    let mut anon = Client::new(&pool);
    anon.get("/login")
        .await
        .expect(StatusCode::NOT_IMPLEMENTED, &["No identity"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn identity_regex_and_disabled_auth(pool: PgPool) {
    world(&pool).await;
    let mut config = common::config();
    config.frontend.auth.user_re = r"https://(.+)\.id\.fedoraproject\.org/".into();
    let mut c = Client::with_config(&pool, config);
    c.login("https://dave.id.fedoraproject.org/").await;
    c.get("/").await.expect(
        StatusCode::OK,
        &["Logged in as user &quot;dave&quot; with identity &quot;https://dave.id.fedoraproject.org/&quot;."],
    );
    let mut other = Client::with_config(&pool, {
        let mut config = common::config();
        config.frontend.auth.user_re = r"https://(.+)\.id\.fedoraproject\.org/".into();
        config
    });
    let res = other
        .send(
            axum::http::Request::get("/login")
                .header("X-Remote-User", "mallory")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    res.expect(StatusCode::FORBIDDEN, &["Identity mallory is not accepted"]);

    // Header ignored unless auth is enabled.
    let mut config = common::config();
    config.frontend.auth.enabled = false;
    let mut disabled = Client::with_config(&pool, config);
    let res = disabled
        .send(
            axum::http::Request::get("/login")
                .header("X-Remote-User", "admin")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    res.expect(StatusCode::NOT_IMPLEMENTED, &["Login is not configured"]);

    // bypass_login (development) logs in as an administrator.
    let mut config = common::config();
    config.frontend.auth.enabled = false;
    config.bypass_login = Some("dev".into());
    let mut dev = Client::with_config(&pool, config);
    dev.get("/login").await;
    dev.get("/").await.expect(
        StatusCode::OK,
        &[
            "Logged in as user &quot;dev&quot;",
            "You have admin privileges.",
        ],
    );
    let admin: bool = sqlx::query_scalar(r#"SELECT admin FROM "user" WHERE name = 'dev'"#)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(admin);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn forged_session_and_missing_csrf_are_refused(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    c.login("alice").await;
    let fields = [
        ("collection_id", w.f25.to_string()),
        ("manual_priority", "99".into()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.post_raw("/package/rnv/edit", &fields)
        .await
        .expect(StatusCode::BAD_REQUEST, &["CSRF token"]);
    let mut wrong = vec![("csrf_token", "0123")];
    wrong.extend_from_slice(&fields);
    c.post_raw("/package/rnv/edit", &wrong)
        .await
        .expect(StatusCode::BAD_REQUEST, &["CSRF token"]);
    // A cookie signed with another key is not a session.
    let mut forged = Client::with_config(&pool, {
        let mut config = common::config();
        config.frontend.secret_key = Some("another secret of at least thirty-two bytes".into());
        config
    });
    forged.cookie = c.cookie.clone();
    forged
        .get("/groups")
        .await
        .expect(StatusCode::OK, &["Log in"])
        .lacks(&["Log out"]);
    let priority: i32 = sqlx::query_scalar("SELECT manual_priority FROM package WHERE id = $1")
        .bind(w.rnv)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(priority, 5);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn edit_package_attributes(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let f25 = w.f25.to_string();
    // Anonymous users are sent to the login page.
    let res = c.post_raw("/package/rnv/edit", &[]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST); // no session, no CSRF token
    c.login("alice").await;
    let page = c.get("/package/rnv?collection=f25").await;
    page.expect(
        StatusCode::OK,
        &[
            "name=\"csrf_token\"",
            "Force re-resolution",
            "name=\"manual_priority\"",
        ],
    );

    let res = c
        .post(
            "/package/rnv/edit",
            &[
                ("collection_id", &f25),
                ("tracked__present", "1"),
                ("tracked", "1"),
                ("skip_resolution__present", "1"),
                ("skip_resolution", "1"),
                ("manual_priority", "30"),
                ("arch_override", "x86_64, ^i386"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.location(), "/package/rnv?collection=f25");
    c.get("/package/rnv?collection=f25").await.expect(
        StatusCode::OK,
        &[
            "Package modified",
            "x86_64 ^i386",
            "Manual priority</th><td>30",
        ],
    );
    let (manual, arch, skip, resolved): (i32, Option<String>, bool, Option<bool>) = sqlx::query_as(
        "SELECT manual_priority, arch_override, skip_resolution, resolved FROM package WHERE id = $1",
    )
    .bind(w.rnv)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (manual, arch.as_deref(), skip, resolved),
        (30, Some("x86_64 ^i386"), true, None)
    );
    let log = audit_log(&pool).await;
    for expected in [
        "Package rnv (collection f25): manual_priority set from 5 to 30",
        "Package rnv (collection f25): arch_override set from None to x86_64 ^i386",
        "Package rnv (collection f25): skip_resolution set from False to True",
    ] {
        assert!(
            log.iter().any(|l| l == expected),
            "{expected:?} not in {log:?}"
        );
    }

    // Untrack: checkbox absent but marker present.
    c.post(
        "/package/rnv/edit",
        &[("collection_id", &f25), ("tracked__present", "1")],
    )
    .await;
    let tracked: bool = sqlx::query_scalar("SELECT tracked FROM package WHERE id = $1")
        .bind(w.rnv)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!tracked);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn edit_package_wrong_input_changes_nothing(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    c.login("alice").await;
    let f25 = w.f25.to_string();
    let before = audit_log(&pool).await.len();
    let res = c
        .post(
            "/package/rnv/edit",
            &[
                ("collection_id", &f25),
                ("tracked__present", "1"),
                ("manual_priority", "lots"),
                ("arch_override", "x86_64 sparc"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    c.get("/package/rnv?collection=f25").await.expect(
        StatusCode::OK,
        &[
            "Validation errors: ",
            "Manual priority: must be an integer between -1000000 and 1000000 (got &quot;lots&quot;)",
            "sparc is not one of i386, x86_64, armhfp",
        ],
    );
    let (tracked, manual): (bool, i32) =
        sqlx::query_as("SELECT tracked, manual_priority FROM package WHERE id = $1")
            .bind(w.rnv)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((tracked, manual), (true, 5));
    assert_eq!(audit_log(&pool).await.len(), before);
    c.post("/package/rnv/edit", &[("collection_id", "99999")])
        .await
        .expect(StatusCode::BAD_REQUEST, &["Unknown collection"]);
    c.post("/package/nope/edit", &[("collection_id", &f25)])
        .await
        .expect(
            StatusCode::NOT_FOUND,
            &["Package nope not found in collection f25"],
        );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn edit_package_groups(pool: PgPool) {
    let w = world(&pool).await;
    let f25 = w.f25.to_string();
    let (java, mine) = (
        format!("group-{}", w.java_group),
        format!("group-{}", w.alice_group),
    );
    let (java_prev, mine_prev) = (
        format!("group-prev-{}", w.java_group),
        format!("group-prev-{}", w.alice_group),
    );
    let mut alice = Client::new(&pool);
    alice.login("alice").await;
    // alice maintains alice/mine: she may add rnv to it...
    let res = alice
        .post(
            "/package/rnv/edit",
            &[
                ("collection_id", &f25),
                (&mine_prev, "0"),
                (&mine, "1"),
                (&java_prev, "1"),
                (&java, "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert!(audit_log(&pool)
        .await
        .contains(&"Group alice/mine modified: package rnv added".to_string()));
    // ...but not remove it from java, which bob maintains.
    alice
        .post(
            "/package/rnv/edit",
            &[("collection_id", &f25), (&java_prev, "1")],
        )
        .await
        .expect(
            StatusCode::FORBIDDEN,
            &["You don't have permission to edit this group"],
        );
    let members: i64 =
        sqlx::query_scalar("SELECT count(*) FROM package_group_relation WHERE group_id = $1")
            .bind(w.java_group)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(members, 2);
    // bob may.
    let mut bob = Client::new(&pool);
    bob.login("bob").await;
    bob.get("/package/rnv?collection=f25")
        .await
        .expect(StatusCode::OK, &["Edit groups", &java_prev]);
    bob.post(
        "/package/rnv/edit",
        &[("collection_id", &f25), (&java_prev, "1")],
    )
    .await;
    assert!(audit_log(&pool)
        .await
        .contains(&"Group java modified: package rnv removed".to_string()));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn force_resolution(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    c.login("alice").await;
    let res = c
        .post(
            "/package/eclipse/resolve",
            &[("collection_id", &w.f25.to_string())],
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    c.get("/package/eclipse?collection=f25").await.expect(
        StatusCode::OK,
        &[
            "Re-resolution of eclipse requested",
            "Package dependencies were not resolved yet",
        ],
    );
    let resolved: Option<bool> = sqlx::query_scalar("SELECT resolved FROM package WHERE id = $1")
        .bind(w.eclipse)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(resolved, None);
    assert!(audit_log(&pool)
        .await
        .contains(&"Package eclipse (collection f25): re-resolution requested".to_string()));

    // Collection-wide: administrators only.
    c.post("/collection/f25/resolve", &[])
        .await
        .expect(StatusCode::FORBIDDEN, &["administrator"]);
    let mut admin = Client::new(&pool);
    admin.login("admin").await;
    admin
        .get("/collection/f25")
        .await
        .expect(StatusCode::OK, &["Force re-resolution of all packages"]);
    let res = admin.post("/collection/f25/resolve", &[]).await;
    assert_eq!(res.location(), "/collection/f25");
    admin.get("/collection/f25").await.expect(
        StatusCode::OK,
        &["Re-resolution of 3 packages of Fedora 25 requested."],
    );
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM package WHERE collection_id = $1 AND resolved IS NOT NULL",
    )
    .bind(w.f25)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn add_packages(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.get("/add-packages").await;
    assert_eq!(res.location(), "/login?next=%2Fadd-packages");
    c.login("alice").await;
    c.get("/add-packages")
        .await
        .expect(
            StatusCode::OK,
            &["Add packages", "name=\"packages\"", "alice/mine"],
        )
        .lacks(&[">java<"]);
    // Unknown packages: nothing changes.
    c.post(
        "/add-packages",
        &[
            ("packages", "untracked-pkg, ghost, phantom"),
            ("collection", "f25"),
        ],
    )
    .await
    .expect(
        StatusCode::OK,
        &[
            "Packages don't exist: ghost,phantom",
            "after the backend polls Koji",
        ],
    );
    let tracked: bool = sqlx::query_scalar("SELECT tracked FROM package WHERE id = $1")
        .bind(w.untracked)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!tracked);
    c.post(
        "/add-packages",
        &[("packages", "bad/name"), ("collection", "f25")],
    )
    .await
    .expect(StatusCode::OK, &["Invalid package name"]);
    // A group the user may not edit.
    c.post(
        "/add-packages",
        &[
            ("packages", "untracked-pkg"),
            ("collection", "f25"),
            ("group", &w.java_group.to_string()),
        ],
    )
    .await
    .expect(StatusCode::BAD_REQUEST, &["permission"]);
    // Success, into alice's group, back to `next`.
    let res = c
        .post(
            "/add-packages?next=/groups/alice/mine",
            &[
                ("packages", "untracked-pkg\nrnv"),
                ("collection", "f25"),
                ("group", &w.alice_group.to_string()),
            ],
        )
        .await;
    assert_eq!(res.location(), "/groups/alice/mine");
    c.get("/groups/alice/mine?collection=f25").await.expect(
        StatusCode::OK,
        &[
            "Packages added: untracked-pkg",
            ">untracked-pkg</a>",
            ">rnv</a>",
        ],
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn create_edit_delete_group(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.get("/add-group").await;
    assert_eq!(res.location(), "/login?next=%2Fadd-group");
    c.login("alice").await;
    c.get("/add-group")
        .await
        .expect(StatusCode::OK, &["Create new group", "value=\"alice\""]);
    // Wrong input: a message naming the problem, the form kept, nothing created.
    for (fields, message) in [
        (
            vec![
                ("name", "bad name"),
                ("owners", "alice"),
                ("packages", "rnv"),
            ],
            "Invalid group name",
        ),
        (
            vec![("name", "tools"), ("owners", ""), ("packages", "rnv")],
            "Maintainers: at least one",
        ),
        (
            vec![("name", "tools"), ("owners", "alice"), ("packages", "")],
            "Packages: at least one",
        ),
        (
            vec![
                ("name", "tools"),
                ("owners", "alice"),
                ("packages", "rnv ghost"),
            ],
            "Packages don't exist: ghost",
        ),
        (
            vec![("name", "mine"), ("owners", "alice"), ("packages", "rnv")],
            "Group already exists",
        ),
    ] {
        c.post("/add-group", &fields)
            .await
            .expect(StatusCode::OK, &[message, "Create new group"]);
    }
    let groups: i64 = sqlx::query_scalar("SELECT count(*) FROM package_group")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(groups, 2);

    let res = c
        .post(
            "/add-group",
            &[
                ("name", "tools"),
                ("owners", "alice, bob"),
                ("packages", "rnv\neclipse"),
            ],
        )
        .await;
    assert_eq!(res.location(), "/groups/alice/tools");
    c.get("/groups/alice/tools?collection=f25").await.expect(
        StatusCode::OK,
        &["Group created", ">rnv</a>", ">eclipse</a>", "bob"],
    );

    // Edit: rename and change content.
    c.get("/groups/alice/tools/edit")
        .await
        .expect(StatusCode::OK, &["Edit group alice/tools", "eclipse\nrnv"]);
    let res = c
        .post(
            "/groups/alice/tools/edit",
            &[
                ("name", "tooling"),
                ("owners", "alice"),
                ("packages", "foo"),
            ],
        )
        .await;
    assert_eq!(res.location(), "/groups/alice/tooling");
    c.get("/groups/alice/tooling?collection=f25")
        .await
        .expect(StatusCode::OK, &["Group modified", ">foo</a>"])
        .lacks(&[">rnv</a>"]);
    c.post(
        "/groups/alice/tooling/edit",
        &[
            ("name", "tooling"),
            ("owners", "alice"),
            ("packages", "ghost"),
        ],
    )
    .await
    .expect(StatusCode::OK, &["Packages don't exist: ghost"]);
    // Not editable by others.
    let mut carol = Client::new(&pool);
    carol.login("carol").await;
    carol
        .get("/groups/alice/tooling/edit")
        .await
        .expect(StatusCode::FORBIDDEN, &["permission"]);
    carol
        .post(
            "/groups/alice/tooling/edit",
            &[("name", "x"), ("owners", "carol"), ("packages", "rnv")],
        )
        .await
        .expect(StatusCode::FORBIDDEN, &["permission"]);
    carol
        .get("/groups/alice/tooling/delete")
        .await
        .expect(StatusCode::UNAUTHORIZED, &["permission"]);
    // Global groups are edited by their maintainers, but not renamed.
    let mut bob = Client::new(&pool);
    bob.login("bob").await;
    bob.get("/groups/java/edit")
        .await
        .expect(StatusCode::OK, &["renamed with koschei-admin"]);
    bob.post(
        "/groups/java/edit",
        &[("owners", "bob"), ("packages", "rnv")],
    )
    .await;
    bob.get("/groups/java?collection=f25")
        .await
        .expect(StatusCode::OK, &["Group modified"])
        .lacks(&[">eclipse</a>"]);

    // Delete with confirmation.
    c.get("/groups/alice/tooling/delete")
        .await
        .expect(StatusCode::OK, &["Delete group alice/tooling"]);
    let res = c.post("/groups/alice/tooling/delete", &[]).await;
    assert_eq!(res.location(), "/groups");
    c.get("/groups")
        .await
        .expect(StatusCode::OK, &["Group was deleted"])
        .lacks(&["alice/tooling"]);
    let log = audit_log(&pool).await;
    for expected in [
        "Group alice/tools created",
        "Group alice/tools modified: maintainer bob added",
        "Group alice/tools modified: renamed to alice/tooling",
        "Group alice/tooling modified: package rnv removed",
        "Group alice/tooling deleted",
    ] {
        assert!(
            log.iter().any(|l| l == expected),
            "{expected:?} not in {log:?}"
        );
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn cancel_build(pool: PgPool) {
    let w = world(&pool).await;
    let url = format!("/build/{}/cancel", w.running_build);
    let mut alice = Client::new(&pool);
    alice.login("alice").await;
    alice
        .post(&url, &[])
        .await
        .expect(StatusCode::FORBIDDEN, &["administrator"]);
    let mut admin = Client::new(&pool);
    admin.login("admin").await;
    let res = admin.post(&url, &[]).await;
    assert_eq!(res.location(), format!("/build/{}", w.running_build));
    admin
        .get(&format!("/build/{}", w.running_build))
        .await
        .expect(
            StatusCode::OK,
            &["Cancelation request sent.", "cancelation requested"],
        );
    let task_id: i32 =
        sqlx::query_scalar("SELECT task_id FROM build WHERE id = $1 AND cancel_requested")
            .bind(w.running_build)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(audit_log(&pool).await.contains(&format!(
        "Build (id={}, task_id={task_id}) cancelation requested",
        w.running_build
    )));
    admin.post(&url, &[]).await;
    admin
        .get(&format!("/build/{}", w.running_build))
        .await
        .expect(
            StatusCode::OK,
            &["Build already has pending cancelation request."],
        );
    admin
        .post(&format!("/build/{}/cancel", w.rnv_ok_build), &[])
        .await;
    admin
        .get(&format!("/build/{}", w.rnv_ok_build))
        .await
        .expect(StatusCode::OK, &["Only running builds can be canceled."]);
    admin
        .post("/build/999999/cancel", &[])
        .await
        .expect(StatusCode::NOT_FOUND, &[]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collection_edit_is_not_implemented(pool: PgPool) {
    world(&pool).await;
    let mut alice = Client::new(&pool);
    alice.login("alice").await;
    alice
        .post("/collection/f25/edit", &[])
        .await
        .expect(StatusCode::FORBIDDEN, &[]);
    let mut admin = Client::new(&pool);
    admin.login("admin").await;
    admin.post("/collection/f25/edit", &[]).await.expect(
        StatusCode::NOT_IMPLEMENTED,
        &["koschei-admin edit-collection"],
    );
}
