//! Every read-only page on a PostgreSQL fixture: status and the content
//! that matters.

mod common;

use axum::http::StatusCode;
use common::{world, Client, MIGRATIONS};
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATIONS")]
async fn no_collections_is_an_error(pool: PgPool) {
    let mut c = Client::new(&pool);
    c.get("/packages")
        .await
        .expect(StatusCode::INTERNAL_SERVER_ERROR, &["No collections setup"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_package_without_builds_is_listed_while_another_builds(pool: PgPool) {
    let w = world(&pool).await;
    // `foo` has a running build; `newcomer` has never been built anywhere.
    koschei_core::fixtures::package(&pool, w.f25, "newcomer").await;
    let mut c = Client::new(&pool);
    for uri in [
        "/packages",
        "/packages?collection=f25",
        "/packages?order_by=running",
    ] {
        c.get(uri)
            .await
            .expect(StatusCode::OK, &["newcomer", "foo"]);
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_list_unified_and_single(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    // Front page = package list; all collections: unified view with a
    // column per collection (Fedora 26 first by order).
    let front = c.get("/").await;
    front.expect(
        StatusCode::OK,
        &[
            "Package summary",
            "Fedora 26",
            "Fedora 25",
            "/package/rnv?collection=f26",
            "eclipse",
        ],
    );
    assert!(front.body.find("Fedora 26").unwrap() < front.body.find("Fedora 25").unwrap());
    front.lacks(&["untracked-pkg"]);
    // Default order running, failing, name: foo (running) first, then eclipse (failing).
    let (unresolvable, eclipse, rnv) = (
        front.body.find(">foo<").unwrap(),
        front.body.find(">eclipse<").unwrap(),
        front.body.find(">rnv<").unwrap(),
    );
    assert!(
        unresolvable < eclipse && eclipse < rnv,
        "order: {unresolvable} {eclipse} {rnv}"
    );

    let single = c.get("/packages?collection=f25&order_by=name").await;
    single.expect(
        StatusCode::OK,
        &[
            "Packages from 1 to 3 from total 3",
            "taskinfo?taskID=",
            "/groups/java",
        ],
    );
    let names: Vec<usize> = ["eclipse", "foo", "rnv"]
        .iter()
        .map(|n| single.body.find(&format!(">{n}</a>")).unwrap())
        .collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]));
    // Descending order and pagination.
    let desc = c.get("/packages?collection=f25&order_by=-name").await;
    assert!(desc.body.find(">rnv</a>").unwrap() < desc.body.find(">eclipse</a>").unwrap());
    let mut config = common::config();
    config.frontend.packages_per_page = 2;
    let mut paged = Client::with_config(&pool, config);
    paged
        .get("/packages?collection=f25&order_by=name&page=2")
        .await
        .expect(
            StatusCode::OK,
            &[
                "Packages from 3 to 3 from total 3",
                ">rnv</a>",
                "‹ Previous",
            ],
        )
        .lacks(&[">eclipse</a>"]);
    // Every ordering key is accepted.
    for key in [
        "state",
        "running",
        "task_id",
        "started",
        "current_priority",
        "-current_priority",
    ] {
        c.get(&format!("/packages?collection=f25&order_by={key}"))
            .await
            .expect(StatusCode::OK, &[">rnv</a>"]);
    }
    for key in ["state-f25", "-failing", "running"] {
        c.get(&format!("/packages?order_by={key}"))
            .await
            .expect(StatusCode::OK, &[">rnv</a>"]);
    }
    c.get("/packages?collection=nope")
        .await
        .expect(StatusCode::NOT_FOUND, &["Collection not found: nope"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn search(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.get("/search?q=").await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.location(), "/");
    c.get("/search?q=ECL&collection=f25")
        .await
        .expect(
            StatusCode::OK,
            &["Search results for", ">eclipse</a>", "Show untracked"],
        )
        .lacks(&[">rnv</a>"]);
    c.get("/search?q=r*v")
        .await
        .expect(StatusCode::OK, &[">rnv</a>"]);
    c.get("/search?q=untracked&collection=f25")
        .await
        .lacks(&[">untracked-pkg</a>"]);
    c.get("/search?q=untracked&collection=f25&untracked=1")
        .await
        .expect(StatusCode::OK, &[">untracked-pkg</a>", "Hide untracked"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_page_explains(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.get("/package/rnv?collection=f25").await;
    res.expect(
        StatusCode::OK,
        &[
            "Package information",
            "state-ok",
            // why it is not scheduled now: back-off after an infra failure
            "Not schedulable",
            "Package is waiting until",
            "1 consecutive infrastructure failure(s)",
            // priority components
            "Dependency priority</th><td>40",
            "Manual priority</th><td>5",
            // why the last build was submitted
            "Why it was built",
            "Priority at submission</th><td>300.50",
            "Time priority</th><td>100.50",
            // infrastructure failure shown as such
            "Infrastructure problem, not a package failure",
            "Koji builder crashed (repodata download timeout)",
            "entry-infra",
            // history with tasks and logs
            "taskinfo?taskID=424242",
            "/work/tasks/4243/424243/build.log",
            "entry-failed",
            // pending dependency changes, with affected-by links
            "Dependency changes since last build",
            "libxml2",
            "/affected-by/libxml2?epoch1=0&amp;version1=2.9.4",
            "2.9.<strong>5</strong>-1.fc25",
            "newdep",
            "added",
            // applied changes of the last build
            "upgraded",
            // groups, links, state overview, bug link
            "/groups/java",
            "packages.fedoraproject.org/pkgs/rnv",
            "File new FTBFS bug",
            "Fedora 26",
        ],
    );
    // Anonymous users get no edit forms.
    res.lacks(&["name=\"csrf_token\"", "Force re-resolution"]);

    // Without a collection argument the first collection with the package is shown.
    c.get("/package/eclipse").await.expect(
        StatusCode::OK,
        &["state-failing", "The last complete build failed"],
    );
    c.get("/package/foo").await.expect(
        StatusCode::OK,
        &[
            "Package has a running build",
            "Package dependencies are not resolvable",
            "Dependency resolution failed",
            "nothing provides libfoo-devel needed by foo",
            "running",
        ],
    );
    c.get("/package/eclipse?collection=f26").await.expect(
        StatusCode::NOT_FOUND,
        &["doesn't exist in collection Fedora 26"],
    );
    c.get("/package/nope")
        .await
        .expect(StatusCode::NOT_FOUND, &["Package nope not found"]);
    c.get("/package/rnv?last_seen_ts=abc").await.expect(
        StatusCode::BAD_REQUEST,
        &["last_seen_ts must be an integer"],
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_history_pages(pool: PgPool) {
    let w = world(&pool).await;
    // Ten more builds: the first page shows builds_per_page (5) entries
    // and links to older history.
    for h in 0..10 {
        let b = koschei_core::fixtures::NewBuild::new(
            koschei_core::model::BuildState::Complete,
            200.0 + f64::from(h),
        );
        koschei_core::fixtures::build(&pool, w.eclipse, b).await;
    }
    let mut c = Client::new(&pool);
    let first = c.get("/package/eclipse?collection=f25").await;
    first.expect(StatusCode::OK, &["Most recent builds", "Previous history"]);
    assert_eq!(first.body.matches("class=\"task-tree\"").count(), 5);
    let href = first
        .body
        .split("href=\"/package/eclipse?last_seen_ts=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let older = c
        .get(&format!("/package/eclipse?last_seen_ts={href}"))
        .await;
    older.expect(StatusCode::OK, &["Historical builds"]);
    assert_eq!(older.body.matches("class=\"task-tree\"").count(), 5);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn build_page(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    c.get(&format!("/build/{}", w.rnv_ok_build)).await.expect(
        StatusCode::OK,
        &[
            "Build information",
            "1.7.11",
            "2.fc25",
            "Koji repo id",
            "123",
            "glibc",
            "upgraded",
            "Priority at submission",
        ],
    );
    c.get(&format!("/build/{}", w.rnv_infra_build))
        .await
        .expect(
            StatusCode::OK,
            &[
                "infrastructure failure",
                "not a package failure",
                "Koji builder crashed",
            ],
        );
    // Cancel button only for administrators.
    c.get(&format!("/build/{}", w.running_build))
        .await
        .expect(StatusCode::OK, &["running", "weren't processed yet"])
        .lacks(&["Cancel build"]);
    c.login("admin").await;
    c.get(&format!("/build/{}", w.running_build))
        .await
        .expect(StatusCode::OK, &["Cancel build"]);
    c.get("/build/999999")
        .await
        .expect(StatusCode::NOT_FOUND, &["Build 999999 not found"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collections_pages(pool: PgPool) {
    world(&pool).await;
    sqlx::raw_sql(
        "INSERT INTO collection_group (name, display_name) VALUES ('fedora', 'Fedora');
         INSERT INTO collection_group_relation (group_id, collection_id)
             SELECT g.id, c.id FROM collection_group g, collection c WHERE c.name = 'f26';",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut c = Client::new(&pool);
    c.get("/collections").await.expect(
        StatusCode::OK,
        &[
            "Fedora",
            "Uncategorized",
            "/packages?collection=f26",
            "/collection/f25",
        ],
    );
    c.get("/collection/f25").await.expect(
        StatusCode::OK,
        &[
            "Attributes",
            "f25-build",
            "Bugzilla product",
            "Packages by state",
            "state-failing",
        ],
    );
    c.get("/collection/nope")
        .await
        .expect(StatusCode::NOT_FOUND, &["Collection not found"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn groups_pages(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    c.get("/groups")
        .await
        .expect(StatusCode::OK, &["Global Groups", "/groups/java"])
        .lacks(&["My Groups", "alice/mine"]);
    c.get("/groups/java?collection=f25").await.expect(
        StatusCode::OK,
        &[
            "Group java",
            "Maintainers: ",
            "bob",
            ">rnv</a>",
            ">eclipse</a>",
        ],
    );
    c.get("/groups/alice/mine")
        .await
        .expect(StatusCode::OK, &["Group alice/mine", ">foo</a>"]);
    c.get("/groups/nope")
        .await
        .expect(StatusCode::NOT_FOUND, &["Group nope not found"]);
    c.login("alice").await;
    c.get("/groups").await.expect(
        StatusCode::OK,
        &["My Groups", "/groups/alice/mine", "Create new group"],
    );
    c.get("/groups/alice/mine")
        .await
        .expect(StatusCode::OK, &["Edit group", "Delete group"]);
    c.get("/groups/java").await.lacks(&["Edit group"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn user_page_needs_login(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.get("/user/alice").await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.location(), "/login?next=%2Fuser%2Falice");
    c.login("alice").await;
    c.get("/user/alice?collection=f25")
        .await
        .expect(StatusCode::OK, &["alice's packages", ">foo</a>"])
        .lacks(&[">rnv</a>"]);
    c.get("/user/nobody")
        .await
        .expect(StatusCode::NOT_FOUND, &["User nobody not found"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn affected_by(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let q = "epoch1=0&version1=2.24&release1=0.fc25&epoch2=0&version2=2.26&release2=1.fc25";
    // eclipse failed after glibc 2.24-1 -> 2.25-1 (its previous build was ok);
    // rnv's build with the same change succeeded, so it is not listed.
    c.get(&format!("/affected-by/glibc?collection=f25&{q}"))
        .await
        .expect(
            StatusCode::OK,
            &["upgrade of glibc", ">eclipse</a>", "Distance"],
        )
        .lacks(&[">rnv</a>"]);
    c.get(&format!("/affected-by/glibc?{q}"))
        .await
        .expect(StatusCode::BAD_REQUEST, &["exactly one collection"]);
    c.get("/affected-by/glibc?collection=f25&epoch1=x")
        .await
        .expect(StatusCode::BAD_REQUEST, &["epoch1"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn bugreport_redirects_to_bugzilla(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.get("/bugreport/eclipse?collection=f25").await;
    assert_eq!(res.status, StatusCode::FOUND);
    let loc = res.location();
    assert!(
        loc.starts_with("https://bugzilla.redhat.com/enter_bug.cgi?"),
        "{loc}"
    );
    for part in [
        "product=Fedora",
        "component=eclipse",
        "version=25",
        "short_desc=eclipse%3A+FTBFS+in+Fedora+25",
        "koji+build+--scratch+f25+eclipse-1-1.fc25.src.rpm",
    ] {
        assert!(loc.contains(part), "{part} missing in {loc}");
    }
    c.get("/bugreport/nope?collection=f25")
        .await
        .expect(StatusCode::NOT_FOUND, &["has no complete build"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn stats_page_draws_charts(pool: PgPool) {
    world(&pool).await;
    sqlx::raw_sql(
        "INSERT INTO resource_consumption_stats (name, arch, time, time_percentage) VALUES
             ('rnv', 'x86_64', interval '933 seconds', 0.5112), ('junit', 'noarch', interval '18 seconds', 0.0099);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut c = Client::new(&pool);
    let res = c.get("/stats").await;
    res.expect(
        StatusCode::OK,
        &[
            "Counted live",
            "Tracked</th><td class=\"num\">4",
            "Builds per day by outcome",
            "<svg",
            "infrastructure failure",
            "Packages by state per collection",
            "Packages using most resources",
            "0:15:33",
            "5112.00",
        ],
    );
    assert!(res.body.find(">rnv</a>").unwrap() < res.body.find(">junit</a>").unwrap());
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn badges_documentation_and_static(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let badge = c.get("/badge/f25/eclipse.svg").await;
    badge.expect(StatusCode::OK, &["<svg", "failing", "#e05d44"]);
    assert_eq!(
        badge.headers["content-type"],
        "image/svg+xml; charset=utf-8"
    );
    c.get("/badge/f25/nope.svg")
        .await
        .expect(StatusCode::NOT_FOUND, &["not found"]);
    c.get("/documentation").await.expect(
        StatusCode::OK,
        &["What is Koschei?", "How it decides what to build", "256"],
    );
    let css = c.get("/static/koschei.css").await;
    css.expect(StatusCode::OK, &[".cards"]);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    c.get("/static/nope.js")
        .await
        .expect(StatusCode::NOT_FOUND, &[]);
    c.get("/robots.txt").await.expect(
        StatusCode::OK,
        &[
            "Disallow: /login",
            "Disallow: /affected-by",
            "Crawl-delay: 1",
        ],
    );
    c.get("/no/such/page")
        .await
        .expect(StatusCode::NOT_FOUND, &["Page not found"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn global_notices(pool: PgPool) {
    let w = world(&pool).await;
    sqlx::raw_sql(&format!(
        "INSERT INTO admin_notice (key, content) VALUES ('global_notice', 'Koji outage <b>today</b>');
         UPDATE collection SET latest_repo_resolved = false WHERE id = {};
         INSERT INTO buildroot_problem (collection_id, problem) VALUES ({}, 'nothing provides bash');",
        w.f26, w.f26
    ))
    .execute(&pool)
    .await
    .unwrap();
    let mut c = Client::new(&pool);
    c.get("/groups").await.expect(
        StatusCode::OK,
        &[
            "Koji outage <b>today</b>",
            "Base buildroot for Fedora 26 is not installable. Dependency problems:",
            "nothing provides bash",
        ],
    );
    // Only for the current collections.
    c.get("/packages?collection=f25")
        .await
        .lacks(&["nothing provides bash"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_page_shows_installability(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    c.get("/package/rnv?collection=f25").await.expect(
        StatusCode::OK,
        &[
            "Installability",
            "No repo of this collection has been checked yet.",
        ],
    );
    common::installability_with_chart(&pool, w.f25).await;
    // a fresh application: the first answer may still be in the page cache
    let mut c = Client::new(&pool);
    c.get("/package/rnv?collection=f25").await.expect(
        StatusCode::OK,
        &[
            "1 of 2 binary packages installable in repo 7",
            "<td>rnv-1.0-1.x86_64</td><td>yes</td><td class=\"num\">12</td><td class=\"num\">2.5 MB</td><td class=\"num\">9.0 MB</td>",
            "rnv-extras-1.0-1.noarch",
            "nothing provides libgone.so.1 needed by rnv-extras-1.0-1.noarch",
            "A rebuild would fix it: the binaries of scratch build task 9007 (on repo 7) \
             install from repo 7.",
            "/taskinfo?taskID=9007\">Task 9007</a>",
            "Install size of rnv.x86_64 over time",
        ],
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collection_and_statistics_pages_show_uninstallable_binaries(pool: PgPool) {
    let w = world(&pool).await;
    Client::new(&pool).get("/collection/f25").await.expect(
        StatusCode::OK,
        &[
            "Uninstallable binary packages",
            "No repo of this collection has been checked yet.",
        ],
    );
    koschei_core::fixtures::installability(&pool, w.f25).await;
    let mut c = Client::new(&pool);
    c.get("/collection/f25").await.expect(
        StatusCode::OK,
        &[
            "1 of 2 binary packages of repo 7 cannot be installed.",
            "<a href=\"/package/rnv?collection=f25\">rnv</a></td><td>rnv-extras-1.0-1.noarch</td>",
            "nothing provides libgone.so.1 needed by rnv-extras-1.0-1.noarch",
        ],
    );
    c.get("/stats").await.expect(
        StatusCode::OK,
        &[
            "Uninstallable binary packages per checked repo",
            "f25 6",
            "f25 7",
        ],
    );
}
