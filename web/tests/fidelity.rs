//! Texts, codes and parameters users and scripts match, as the original
//! Koschei's frontend (fedora-infra/koschei) answers them.

mod common;

use axum::http::StatusCode;
use common::{config, world, Client, MIGRATIONS};
use koschei_core::fixtures;
use sqlx::PgPool;

/// The decoded query of a URL.
fn query_of(url: &str) -> Vec<(String, String)> {
    let (_, query) = url.split_once('?').expect("a query");
    serde_urlencoded::from_str(query).unwrap()
}

fn field<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {pairs:?}"))
}

/// Flask's `redirect()` answers 302, after GETs and form POSTs alike
/// (`koschei/frontend/views.py`, `koschei/frontend/auth.py`).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn redirects_are_302_found(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    // `search` without a term, `login_required` for an anonymous user.
    let res = c.get("/search").await;
    assert_eq!((res.status, res.location()), (StatusCode::FOUND, "/"));
    let res = c.get("/add-packages").await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert!(
        res.location().starts_with("/login?next="),
        "{}",
        res.location()
    );
    // `login`, then the forms: `edit_package`, `add_group`, `delete_group`.
    let res = c.login("alice").await;
    assert_eq!(res.status, StatusCode::FOUND);
    let f25 = w.f25.to_string();
    let res = c
        .post(
            "/package/rnv/edit",
            &[("collection_id", &f25), ("manual_priority", "7")],
        )
        .await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::FOUND, "/package/rnv?collection=f25")
    );
    let res = c
        .post(
            "/add-group",
            &[("name", "mine2"), ("packages", "rnv"), ("owners", "alice")],
        )
        .await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::FOUND, "/groups/alice/mine2")
    );
    let res = c.post("/groups/alice/mine2/delete", &[]).await;
    assert_eq!((res.status, res.location()), (StatusCode::FOUND, "/groups"));
    let res = c.post("/logout", &[]).await;
    assert_eq!((res.status, res.location()), (StatusCode::FOUND, "/"));
    c.get("/")
        .await
        .expect(StatusCode::OK, &["Successfully logged out."]);
}

/// `bugreport` in `koschei/frontend/views.py` with the template of
/// `config.cfg.template` (and `test/web_test.py`, `test_bugreport`): the
/// fields form-encoded, the comment dedented and stripped, `{collection}`
/// printing the display name, blocked packages without a form.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn bugreport_fills_the_fields_as_the_original(pool: PgPool) {
    let w = world(&pool).await;
    let mut cfg = config();
    cfg.frontend.external_url = Some("http://example.com".into());
    // The original's own template, whose placeholders name `{collection}`.
    cfg.bugreport
        .template
        .insert("short_desc".into(), "{name}: FTBFS in {collection}".into());
    cfg.bugreport.template.insert(
        "comment".into(),
        "\n            Package {name} fails to build from source in {collection}.\n\n            \
         koji build --scratch {collection.target} {name}-{version}-{release}.{arch}.rpm\n            {url}"
            .into(),
    );
    let mut c = Client::with_config(&pool, cfg);
    let res = c.get("/bugreport/eclipse?collection=f25").await;
    assert_eq!(res.status, StatusCode::FOUND);
    let loc = res.location();
    assert!(
        loc.starts_with("https://bugzilla.redhat.com/enter_bug.cgi?"),
        "{loc}"
    );
    // Python's `urlencode`: spaces as `+`.
    assert!(
        loc.contains("short_desc=eclipse%3A+FTBFS+in+Fedora+25"),
        "{loc}"
    );
    let q = query_of(loc);
    assert_eq!(field(&q, "product"), "Fedora");
    assert_eq!(field(&q, "version"), "25");
    assert_eq!(field(&q, "component"), "eclipse");
    assert_eq!(field(&q, "short_desc"), "eclipse: FTBFS in Fedora 25");
    assert_eq!(
        field(&q, "bug_file_loc"),
        "http://example.com/package/eclipse?collection=f25"
    );
    assert_eq!(
        field(&q, "comment"),
        "Package eclipse fails to build from source in Fedora 25.\n\n\
         koji build --scratch f25 eclipse-1-1.fc25.src.rpm\n\
         http://example.com/package/eclipse?collection=f25"
    );
    sqlx::query("UPDATE package SET blocked = true WHERE id = $1")
        .bind(w.eclipse)
        .execute(&pool)
        .await
        .unwrap();
    c.get("/bugreport/eclipse?collection=f25")
        .await
        .expect(StatusCode::NOT_FOUND, &[]);
}

/// The pager of `templates/macros.html` (`pagination_row`, `package_table`)
/// over Flask-SQLAlchemy's `paginate`: its caption per page, "from 1 to 0"
/// on an empty list, 404 for a page that is not a positive integer or lies
/// after the last one, and the pages it links.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn pager_captions_and_page_numbers(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    // The package list has no untracked toggle: plain "Packages".
    c.get("/packages?collection=f25")
        .await
        .expect(StatusCode::OK, &["Packages from 1 to 3 from total 3"]);
    // Search, group and user pages toggle untracked packages.
    c.get("/search?q=nothing-matches&collection=f25")
        .await
        .expect(
            StatusCode::OK,
            &["Tracked packages from 1 to 0 from total 0"],
        );
    c.get("/search?q=pkg&collection=f25&untracked=1")
        .await
        .expect(
            StatusCode::OK,
            &["Tracked and untracked packages from 1 to 1 from total 1"],
        );
    c.get("/groups/java?collection=f25").await.expect(
        StatusCode::OK,
        &["Tracked packages from 1 to 2 from total 2"],
    );
    c.get("/stats")
        .await
        .expect(StatusCode::OK, &["Packages from 1 to 0 from total 0"]);
    for uri in [
        "/packages?page=2",
        "/packages?page=0",
        "/packages?page=abc",
        "/search?q=rnv&page=2",
        "/stats?page=2",
    ] {
        c.get(uri)
            .await
            .expect(StatusCode::NOT_FOUND, &["Page not found"]);
    }
    // One package a page, twelve pages: the first two, the last two, and
    // two before to four after the current page are linked.
    for i in 0..9 {
        fixtures::package(&pool, w.f25, &format!("extra{i}")).await;
    }
    let mut cfg = config();
    cfg.frontend.packages_per_page = 1;
    let mut c = Client::with_config(&pool, cfg);
    let res = c.get("/packages?collection=f25&page=5").await;
    res.expect(StatusCode::OK, &["Packages from 5 to 5 from total 12"]);
    for linked in [1, 2, 3, 4, 6, 7, 8, 9, 11, 12] {
        assert!(
            res.body.contains(&format!("page={linked}\">{linked}</a>")),
            "page {linked} not linked"
        );
    }
    assert!(!res.body.contains("page=10\">10</a>"), "page 10 linked");
    assert!(res.body.contains("<span class=\"current\">5</span>"));
}

/// Page titles of the original's templates (`{% block title %}`), and
/// werkzeug's error page title.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn page_titles(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let ok = StatusCode::OK;
    for (uri, status, title) in [
        ("/package/rnv?collection=f25", ok, "Koschei - rnv"),
        (
            &format!("/build/{}", w.rnv_ok_build),
            ok,
            "Koschei - rnv - build 424242",
        ),
        ("/collection/f25", ok, "Koschei - Fedora 25"),
        ("/groups/java", ok, "Koschei - java group"),
        ("/stats", ok, "Koschei - statistics"),
        (
            "/affected-by/glibc?collection=f25&epoch1=0&version1=2.24&release1=0&epoch2=0&version2=2.26&release2=0",
            ok,
            "Koschei - glibc change report",
        ),
        ("/no/such/page", StatusCode::NOT_FOUND, "404 Not Found"),
    ] {
        c.get(uri)
            .await
            .expect(status, &[&format!("<title>{title}</title>")]);
    }
}

/// The questions of `templates/documentation.html`, in its order.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn documentation_sections(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.get("/documentation").await;
    res.expect(StatusCode::OK, &[]);
    let ids = [
        "what",
        "benefits",
        "how",
        "load",
        "adding",
        "repos",
        "instances",
    ];
    let positions: Vec<usize> = ids
        .iter()
        .map(|id| {
            res.body
                .find(&format!("<h2 id=\"{id}\">"))
                .unwrap_or_else(|| panic!("no section {id}"))
        })
        .collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "{positions:?}");
}

/// Badge colours of the original's images (`aux/update-badges.sh`).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn badge_colours(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    for (package, state, colour) in [
        ("rnv", "ok", "#4c1"),
        ("eclipse", "failing", "#e05d44"),
        ("foo", "unresolved", "#e05d44"),
        ("untracked-pkg", "untracked", "#dfb317"),
    ] {
        c.get(&format!("/badge/f25/{package}.svg"))
            .await
            .expect(StatusCode::OK, &[state, &format!("fill=\"{colour}\"")]);
    }
}

/// The form fields of the original's pages (`templates/package-detail.html`:
/// `group-<id>` with `group-prev-<id>` = "true"/"false";
/// `koschei/frontend/forms.py`, `GroupForm`: `owners`).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn forms_take_the_original_field_names(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    c.login("alice").await;
    let page = c.get("/package/rnv?collection=f25").await;
    page.expect(
        StatusCode::OK,
        &[&format!(
            "name=\"group-prev-{}\" value=\"false\"",
            w.alice_group
        )],
    );
    let f25 = w.f25.to_string();
    let (mine, mine_prev) = (
        format!("group-{}", w.alice_group),
        format!("group-prev-{}", w.alice_group),
    );
    c.post(
        "/package/rnv/edit",
        &[
            ("collection_id", &f25),
            (&mine_prev, "false"),
            (&mine, "on"),
        ],
    )
    .await;
    c.get("/package/rnv?collection=f25").await.expect(
        StatusCode::OK,
        &[&format!(
            "name=\"group-prev-{}\" value=\"true\"",
            w.alice_group
        )],
    );
    // Unticked while it was "true": removed again.
    c.post(
        "/package/rnv/edit",
        &[("collection_id", &f25), (&mine_prev, "true")],
    )
    .await;
    let members: i64 =
        sqlx::query_scalar("SELECT count(*) FROM package_group_relation WHERE group_id = $1")
            .bind(w.alice_group)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(members, 1, "only foo is left in alice/mine");
    c.get("/add-group")
        .await
        .expect(StatusCode::OK, &["name=\"owners\" value=\"alice\""]);
}

/// Column titles of the package table (`templates/macros.html`,
/// `package_table`) and the group list's headings
/// (`templates/list-groups.html`).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn table_columns_and_group_headings(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    c.get("/packages?collection=f25").await.expect(
        StatusCode::OK,
        &[
            ">Name</a>",
            ">State</a>",
            "Running",
            ">Task ID</a>",
            ">Last build started</a>",
            ">Priority</a>",
            "<th>Package groups</th>",
        ],
    );
    c.get("/packages")
        .await
        .expect(StatusCode::OK, &[">Name</a>"]);
    c.login("alice").await;
    c.get("/groups")
        .await
        .expect(StatusCode::OK, &["Global Groups", "My Groups"]);
}
