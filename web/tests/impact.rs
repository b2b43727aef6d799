//! Impact checks: the list and report pages, the JSON API (list, report, queuing a
//! check) and the form; who may queue one, and what is refused.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{world, Client, Resp, MIGRATIONS};
use koschei_core::fixtures;
use serde_json::{json, Value};
use sqlx::PgPool;

/// Side tag, depth, build cap, builds and requester of every check, oldest first.
async fn checks(pool: &PgPool) -> Vec<(String, i32, i32, bool, String)> {
    sqlx::query_as(
        "SELECT side_tag, depth, max_builds, builds, requested_by FROM impact_check ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// POSTs `body` as JSON to the API, with `token` in `X-CSRF-Token`.
async fn post_json(c: &mut Client, body: impl Into<Body>, token: Option<&str>) -> Resp {
    let mut req =
        Request::post("/api/v1/impact-checks").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        req = req.header("X-CSRF-Token", token);
    }
    c.send(req.body(body.into()).unwrap()).await
}

/// A client logged in as `user`, with its CSRF token.
async fn logged_in(pool: &PgPool, user: &str) -> (Client, String) {
    let mut c = Client::new(pool);
    c.login(user).await;
    let token = c.csrf();
    (c, token)
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn list_page(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    c.get("/impact-checks")
        .await
        .expect(StatusCode::OK, &["Impact checks", "No impact checks yet."]);
    let id = fixtures::impact_check(&pool, w.f25).await;
    let page = c.get("/impact-checks").await;
    page.expect(
        StatusCode::OK,
        &[
            &format!(r#"<a href="/impact-checks/{id}">{id}</a>"#),
            &format!(r#"<a href="/impact-checks/{id}">side tag f25-build-side-7</a>"#),
            r#"<a href="/collection/f25">f25</a>"#,
            r#"<span class="state state-ok">complete</span>"#,
            // affected / unresolvable with the change / regressions
            r#"3 / <span class="state state-failing">1</span> / <span class="state state-failing">1</span>"#,
            r#"<a href="/user/alice">alice</a>"#,
        ],
    )
    // Anonymous users get no form.
    .lacks(&["name=\"side_tag\"", "csrf_token"]);
    // Every page links to the list.
    c.get("/").await.expect(
        StatusCode::OK,
        &[r#"<a href="/impact-checks" class="">Impact checks</a>"#],
    );
}

/// A check with more affected packages than `max_impact_packages` lists the most serious
/// ones and says where the rest are; the counts and the API cover them all.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn report_page_lists_the_most_serious_packages_first(pool: PgPool) {
    let w = world(&pool).await;
    let id = fixtures::impact_check(&pool, w.f25).await;
    let mut config = common::config();
    config.frontend.limits.max_impact_packages = 2;
    let mut c = Client::with_config(&pool, config);
    let page = c.get(&format!("/impact-checks/{id}")).await;
    page.expect(
        StatusCode::OK,
        &[
            "The first 2 of 3 affected packages, the most serious first",
            &format!(r#"<a href="/api/v1/impact-checks/{id}">the API</a>"#),
            r#"<a href="/package/rnv?collection=f25">rnv</a>"#,
            r#"<a href="/package/eclipse?collection=f25">eclipse</a>"#,
            // counts of them all
            r#"<tr><th>Affected</th><td class="num">3</td></tr>"#,
        ],
    );
    assert!(!page.body.contains("xmlstarlet"), "{}", page.body);
    let api = c.get(&format!("/api/v1/impact-checks/{id}")).await.json();
    assert_eq!(api["packages"].as_array().unwrap().len(), 3);
    assert_eq!(api["counts"]["affected"], 3);
    assert_eq!(api["counts"]["passes"], 1);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn report_page(pool: PgPool) {
    let w = world(&pool).await;
    let id = fixtures::impact_check(&pool, w.f25).await;
    let mut c = Client::new(&pool);
    let page = c.get(&format!("/impact-checks/{id}")).await;
    page.expect(
        StatusCode::OK,
        &[
            &format!("Impact check {id}: side tag f25-build-side-7"),
            r#"<span class="state state-ok">complete</span>"#,
            "base 123 → change 124",
            "depth 2, at most 10 packages",
            r#"<a href="/package/rnv?collection=f25">rnv</a>"#,
            r#"<a href="/package/eclipse?collection=f25">eclipse</a>"#,
            r#"<span class="state state-failing">regression</span>"#,
            r#"<span class="state state-failing">unresolvable-with-change</span>"#,
            r#"<span class="state state-ok">passes</span>"#,
            "not built",
            // both builds' Koji tasks
            r#"<a href="https://koji.fedoraproject.org/koji/taskinfo?taskID=9101">Task 9101</a>"#,
            r#"<a href="https://koji.fedoraproject.org/koji/taskinfo?taskID=9102">Task 9102</a>"#,
            r#"<span class="state state-failing">failed</span>"#,
            "Problems with the change:",
            "nothing provides libjvm.so.9 needed by java-devel-1:9.0.1-1.fc25.x86_64",
            // dependency changes
            r#"glibc <span class="evr">2.24-1.fc25.x86_64</span> → <span class="evr">2.25-1.fc25.x86_64</span>"#,
            r#"ant-lib <span class="evr">1.9.7-1.fc25.noarch</span> → <span class="evr">(none)</span>"#,
            // history
            r#"<span class="state state-unknown">queued</span>"#,
            r#"<span class="state state-running">resolving</span>"#,
            "building</span>: 2 packages to build",
        ],
    );
    // Regressions first, then the newly unresolvable, then by distance.
    let at = |s: &str| page.body.find(s).unwrap_or_else(|| panic!("no {s}"));
    assert!(at("/package/rnv?") < at("/package/eclipse?"));
    assert!(at("/package/eclipse?") < at("/package/xmlstarlet?"));
    // The regression's row is marked.
    assert!(page
        .body
        .contains(r#"<tr class="impact-failing"><td><a href="/package/rnv?collection=f25">"#));

    // A failed check says why.
    sqlx::query("UPDATE impact_check SET state = 'error', note = 'Side tag f25-build-side-7 was removed' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    c.get(&format!("/impact-checks/{id}")).await.expect(
        StatusCode::OK,
        &[
            r#"<span class="state state-failing">error</span>"#,
            "<th>Error</th><td class=\"note\">Side tag f25-build-side-7 was removed</td>",
        ],
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn unknown_and_malformed_ids_are_not_found(pool: PgPool) {
    let w = world(&pool).await;
    let id = fixtures::impact_check(&pool, w.f25).await;
    let mut c = Client::new(&pool);
    for bad in [
        "999999",
        "abc",
        "-1",
        "99999999999",
        "1.0",
        &format!("{id}x"),
    ] {
        c.get(&format!("/impact-checks/{bad}")).await.expect(
            StatusCode::NOT_FOUND,
            &["404 Not Found", &format!("Impact check not found: {bad}")],
        );
        let res = c.get(&format!("/api/v1/impact-checks/{bad}")).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(
            res.json(),
            json!({"error": format!("Impact check not found: {bad}")})
        );
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn api_list_and_report(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    assert_eq!(c.get("/api/v1/impact-checks").await.json(), json!([]));
    let id = fixtures::impact_check(&pool, w.f25).await;
    let list = c.get("/api/v1/impact-checks").await;
    list.expect(StatusCode::OK, &[]);
    assert_eq!(list.headers["content-type"], "application/json");
    let list = list.json();
    let check = &list[0];
    let mut keys: Vec<&str> = check
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "base_repo_id",
            "builds",
            "change_repo_id",
            "collection",
            "created",
            "depth",
            "finished",
            "id",
            "max_builds",
            "note",
            "repo_url",
            "requested_by",
            "side_tag",
            "started",
            "state"
        ]
    );
    assert_eq!(
        (
            &check["id"],
            &check["side_tag"],
            &check["state"],
            &check["base_repo_id"]
        ),
        (
            &json!(id),
            &json!("f25-build-side-7"),
            &json!("complete"),
            &json!(123)
        )
    );

    let report = c.get(&format!("/api/v1/impact-checks/{id}")).await.json();
    assert_eq!(report["check"], *check);
    assert_eq!(report["counts"]["affected"], 3);
    assert_eq!(report["counts"]["unresolvable_with_change"], 1);
    assert_eq!(report["counts"]["regressions"], 1);
    assert_eq!(report["counts"]["passes"], 1);
    let names: Vec<&Value> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["package"])
        .collect();
    assert_eq!(names, ["rnv", "eclipse", "xmlstarlet"]);
    let rnv = &report["packages"][0];
    assert_eq!(rnv["verdict"], "dependencies-changed");
    assert_eq!(rnv["build_verdict"], "regression");
    assert!(rnv.get("package_id").is_none(), "{rnv}");
    assert_eq!(
        rnv["changes"],
        json!([{"name": "glibc", "prev": "2.24-1.fc25.x86_64", "curr": "2.25-1.fc25.x86_64",
                "distance": 1}])
    );
    let builds: Vec<(&Value, &Value, &Value)> = rnv["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (&b["side"], &b["task_id"], &b["state"]))
        .collect();
    assert_eq!(
        builds,
        [
            (&json!("change"), &json!(9101), &json!("failed")),
            (&json!("base"), &json!(9102), &json!("ok"))
        ]
    );
    assert_eq!(
        report["packages"][1]["change_problems"],
        json!(["nothing provides libjvm.so.9 needed by java-devel-1:9.0.1-1.fc25.x86_64"])
    );
    let states: Vec<&Value> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["state"])
        .collect();
    assert_eq!(states, ["queued", "resolving", "building", "complete"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn api_queues_a_check(pool: PgPool) {
    world(&pool).await;
    let (mut c, token) = logged_in(&pool, "alice").await;
    let res = post_json(
        &mut c,
        r#"{"collection": "f25", "side_tag": "f25-build-side-9", "depth": 3, "max_builds": 5,
            "builds": false}"#,
        Some(&token),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.json()["id"].as_i64().unwrap();
    assert_eq!(res.json(), json!({"id": id}));
    assert_eq!(res.location(), format!("/api/v1/impact-checks/{id}"));
    assert_eq!(
        checks(&pool).await,
        [("f25-build-side-9".into(), 3, 5, false, "alice".into())]
    );
    let report = c.get(res.location()).await.json();
    assert_eq!(report["check"]["state"], "queued");
    assert_eq!(report["events"][0]["state"], "queued");
    // The core's defaults for what is left out.
    let res = post_json(
        &mut c,
        r#"{"collection": "f26", "side_tag": "f26-build-side-1"}"#,
        Some(&token),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(
        checks(&pool).await[1],
        ("f26-build-side-1".into(), 1, 20, true, "alice".into())
    );
    // A Copr project's repository: resolution only.
    let copr = "https://download.copr.fedorainfracloud.org/results/@kde/kde/fedora-25-x86_64/";
    let res = post_json(
        &mut c,
        format!(r#"{{"collection": "f25", "repo_url": "{copr}"}}"#),
        Some(&token),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let report = c.get(res.location()).await.json();
    assert_eq!(report["check"]["repo_url"], copr);
    assert_eq!(report["check"]["side_tag"], Value::Null);
    assert_eq!(report["check"]["builds"], false);
    let page = c.get("/impact-checks").await;
    assert!(
        page.body.contains(&format!("repository {copr}")),
        "{}",
        page.body
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn api_refuses_requests_without_a_login_and_its_token(pool: PgPool) {
    world(&pool).await;
    let body = r#"{"collection": "f25", "side_tag": "f25-build-side-9"}"#;
    // No session at all.
    let mut anonymous = Client::new(&pool);
    let res = post_json(&mut anonymous, body, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers["content-type"], "application/json");
    assert!(res.json()["error"].as_str().unwrap().contains("Log in"));
    // A session with its token, but nobody logged in (logged out).
    let (mut c, _) = logged_in(&pool, "alice").await;
    c.post("/logout", &[]).await;
    let token = c.csrf();
    let res = post_json(&mut c, body, Some(&token)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    assert_eq!(res.json(), json!({"error": "Log in first"}));
    // Logged in, without the token or with another.
    let (mut alice, token) = logged_in(&pool, "alice").await;
    for wrong in [None, Some("0123"), Some(&token[1..])] {
        let res = post_json(&mut alice, body, wrong).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{wrong:?}: {}", res.body);
        assert!(res.json()["error"]
            .as_str()
            .unwrap()
            .contains("X-CSRF-Token"));
    }
    // Another user's token is no good.
    let (_, bobs) = logged_in(&pool, "bob").await;
    let res = post_json(&mut alice, body, Some(&bobs)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(checks(&pool).await.is_empty());
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn api_refuses_invalid_checks(pool: PgPool) {
    world(&pool).await;
    let (mut c, token) = logged_in(&pool, "alice").await;
    for (body, message) in [
        (
            r#"{"collection": "f25", "side_tag": "bad tag!"}"#,
            r#"Invalid side tag name: "bad tag!""#,
        ),
        (
            r#"{"collection": "f25", "side_tag": "t", "depth": 0}"#,
            "Invalid depth 0: expected 1 to 20",
        ),
        (
            r#"{"collection": "f25", "side_tag": "t", "depth": 21}"#,
            "Invalid depth 21: expected 1 to 20",
        ),
        (
            r#"{"collection": "f25", "side_tag": "t", "max_builds": -1}"#,
            "Invalid build cap -1: expected 0 to 1000",
        ),
        (
            r#"{"collection": "nope", "side_tag": "t"}"#,
            "Collection not found: nope",
        ),
        (
            r#"{"collection": "f25", "side_tag": "t", "colour": "red"}"#,
            r#"Unknown field "colour": expected builds, collection, depth, max_builds, repo_url, side_tag"#,
        ),
        (
            r#"{"collection": "f25", "side_tag": "t""#,
            "Malformed JSON: ",
        ),
        ("", "Malformed JSON: "),
        (
            r#"{"collection": "f25", "side_tag": "t", "depth": "two"}"#,
            "Invalid impact check: invalid type: string \"two\", expected i32",
        ),
        (
            r#"{"collection": "f25", "side_tag": "t", "depth": 99999999999}"#,
            "Invalid impact check: invalid value",
        ),
        (
            r#"{"collection": "f25"}"#,
            "An impact check needs either a side tag or a repository URL",
        ),
        (
            r#"{"collection": "f25", "repo_url": "https://elsewhere.test/r/"}"#,
            "Repository URL \"https://elsewhere.test/r/\" is not under an allowed prefix",
        ),
        (
            r#"{"collection": "f25", "side_tag": "t", "repo_url": "https://download.copr.fedorainfracloud.org/results/a/b/"}"#,
            "An impact check needs either a side tag or a repository URL",
        ),
        (r#"["f25", "t"]"#, "Expected a JSON object"),
        ("null", "Expected a JSON object"),
    ] {
        let res = post_json(&mut c, body, Some(&token)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}: {}", res.body);
        let error = res.json()["error"].as_str().unwrap().to_string();
        assert!(error.starts_with(message), "{body}: {error}");
    }
    // Not JSON.
    let res = c
        .send(
            Request::post("/api/v1/impact-checks")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("X-CSRF-Token", &token)
                .body(Body::from("collection=f25&side_tag=t"))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        json!({"error": "Expected a JSON body (Content-Type: application/json)"})
    );
    // Too large, as every POST body over 1 MiB.
    let padding = " ".repeat(1 << 20);
    let big = format!(r#"{{"collection": "f25", "side_tag": "t"{padding}}}"#);
    let res = post_json(&mut c, big, Some(&token)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json(), json!({"error": "Request body too large"}));
    assert!(checks(&pool).await.is_empty());
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn form_queues_a_check(pool: PgPool) {
    world(&pool).await;
    let (mut c, _) = logged_in(&pool, "alice").await;
    c.get("/impact-checks").await.expect(
        StatusCode::OK,
        &[
            r#"<form class="impact-form" method="post" action="/impact-checks">"#,
            r#"name="csrf_token""#,
            r#"<option value="f25">Fedora 25</option>"#,
            r#"name="depth" value="1""#,
            r#"name="max_builds" value="20""#,
            r#"name="builds" value="1" checked"#,
            r#"name="repo_url""#,
        ],
    );
    let res = c
        .post(
            "/impact-checks",
            &[
                ("collection", "f25"),
                ("side_tag", "f25-build-side-42"),
                ("depth", "2"),
                ("max_builds", "0"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.body);
    let location = res.location().to_string();
    let id = location.strip_prefix("/impact-checks/").unwrap();
    c.get(&location).await.expect(
        StatusCode::OK,
        &[
            &format!("Impact check {id} queued"),
            "f25-build-side-42",
            r#"<span class="state state-unknown">queued</span>"#,
            r#"<a href="/user/alice">alice</a>"#,
            "No tracked package is affected.",
        ],
    );
    // An unticked box: no builds.
    assert_eq!(
        checks(&pool).await,
        [("f25-build-side-42".into(), 2, 0, false, "alice".into())]
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn form_shows_why_a_check_was_refused(pool: PgPool) {
    world(&pool).await;
    let (mut c, _) = logged_in(&pool, "alice").await;
    for (fields, message) in [
        (
            [
                ("collection", "f25"),
                ("side_tag", "bad tag"),
                ("depth", "1"),
            ],
            "Invalid side tag name: &quot;bad tag&quot;",
        ),
        (
            [("collection", "f25"), ("side_tag", "t"), ("depth", "30")],
            "Invalid depth 30: expected 1 to 20",
        ),
        (
            [("collection", "f25"), ("side_tag", "t"), ("depth", "two")],
            "Invalid depth &quot;two&quot;: expected a whole number",
        ),
        (
            [("collection", "nope"), ("side_tag", "t"), ("depth", "1")],
            "Collection not found: nope",
        ),
    ] {
        let mut fields = fields.to_vec();
        fields.extend([("max_builds", "20"), ("builds", "1")]);
        let res = c.post("/impact-checks", &fields).await;
        res.expect(StatusCode::OK, &[message, "alert-danger"]);
        // The form keeps what was sent.
        let side_tag = fields[1].1;
        res.expect(
            StatusCode::OK,
            &[&format!(
                r#"name="side_tag" value="{}""#,
                side_tag.replace('"', "&quot;")
            )],
        );
    }
    assert!(checks(&pool).await.is_empty());
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn form_needs_a_login_and_the_csrf_token(pool: PgPool) {
    world(&pool).await;
    let fields = [
        ("collection", "f25"),
        ("side_tag", "f25-build-side-1"),
        ("depth", "1"),
        ("max_builds", "20"),
    ];
    // Logged in, without the token or with another.
    let (mut c, _) = logged_in(&pool, "alice").await;
    c.post_raw("/impact-checks", &fields)
        .await
        .expect(StatusCode::BAD_REQUEST, &["CSRF token"]);
    let mut wrong = vec![("csrf_token", "0123")];
    wrong.extend_from_slice(&fields);
    c.post_raw("/impact-checks", &wrong)
        .await
        .expect(StatusCode::BAD_REQUEST, &["CSRF token"]);
    // A session with its token but logged out: sent to the login.
    c.post("/logout", &[]).await;
    let res = c.post("/impact-checks", &fields).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert!(
        res.location().starts_with("/login?next="),
        "{}",
        res.location()
    );
    assert!(checks(&pool).await.is_empty());
}

/// The document describes the POST: its body, with the options optional, and the
/// session it needs.
#[test]
fn the_document_describes_queuing() {
    let doc = serde_json::to_value(koschei_web::api::document()).unwrap();
    let post = &doc["paths"]["/api/v1/impact-checks"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewImpactCheck"
    );
    assert_eq!(post["security"], json!([{"session": [], "csrf": []}]));
    assert_eq!(
        doc["components"]["schemas"]["NewImpactCheck"]["required"],
        json!(["collection"])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["csrf"],
        json!({"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
               "description": "The session's CSRF token (in every form of the site)"})
    );
}
