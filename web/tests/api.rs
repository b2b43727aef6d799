//! The JSON API and its OpenAPI document.

mod common;

use axum::http::StatusCode;
use common::{world, Client, MIGRATIONS};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATIONS")]
async fn packages_list(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let res = c.get("/api/v1/packages").await;
    res.expect(StatusCode::OK, &[]);
    assert_eq!(res.headers["content-type"], "application/json");
    let all = res.json();
    let names: Vec<(&str, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["collection"].as_str().unwrap(),
            )
        })
        .collect();
    // Ordered by name, untracked included, f26 before f25 for the same name.
    assert_eq!(
        names,
        [
            ("eclipse", "f25"),
            ("foo", "f25"),
            ("rnv", "f26"),
            ("rnv", "f25"),
            ("untracked-pkg", "f25")
        ]
    );
    let rnv = &all[3];
    assert_eq!(rnv["state"], "ok");
    let build = &rnv["last_complete_build"];
    assert_eq!(build["task_id"], 424242);
    assert_eq!(build["version"], "1.7.11");
    assert_eq!(build["release"], "2.fc25");
    let started = build["time_started"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(started, "%Y-%m-%dT%H:%M:%S%.f").is_ok(),
        "{started}"
    );
    assert_eq!(all[4]["state"], "untracked");

    let some = c
        .get("/api/v1/packages?collection=f25&name=rnv&name=foo")
        .await
        .json();
    assert_eq!(some.as_array().unwrap().len(), 2);
    assert_eq!(some[0]["name"], "foo");
    assert_eq!(some[0]["state"], "unresolved");
    let res = c
        .get("/api/v1/packages?collection=f25&collection=nope")
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json(), json!({"error": "Collection not found: nope"}));
    let res = c.get("/api/v1/packages?collection=nope").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collection_diff(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let diff = c.get("/api/v1/collections/diff/f25/f26").await.json();
    assert_eq!(
        diff,
        json!([{"name": "rnv", "state": {"f25": "ok", "f26": "failing"}}])
    );
    assert_eq!(
        c.get("/api/v1/collections/diff/f25/f25").await.json(),
        json!([])
    );
    let res = c.get("/api/v1/collections/diff/f25/nope").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json()["error"], "Collection not found: nope");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_detail_explains(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let rnv = c.get("/api/v1/packages/f25/rnv").await;
    rnv.expect(StatusCode::OK, &[]);
    let rnv = rnv.json();
    assert_eq!(rnv["state"], "ok");
    assert_eq!(rnv["priority"]["current"], json!(null));
    assert_eq!(rnv["priority"]["dependency"], 40);
    assert!(rnv["verdict"]
        .as_str()
        .unwrap()
        .starts_with("Not schedulable"));
    assert!(rnv["skip_reasons"][0]
        .as_str()
        .unwrap()
        .contains("infrastructure failure"));
    assert_eq!(rnv["groups"], json!(["java"]));
    let builds = rnv["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 3);
    assert_eq!(builds[0]["id"], w.rnv_infra_build);
    assert_eq!(builds[0]["state"], "infrastructure failure");
    assert_eq!(builds[0]["infrastructure_failure"], true);
    assert_eq!(
        builds[0]["failure_reason"],
        "Koji builder crashed (repodata download timeout)"
    );
    assert_eq!(builds[1]["submit_reason"]["priority"], 300.5);
    assert_eq!(builds[1]["tasks"][0]["state"], "CLOSED");
    assert_eq!(builds[2]["state"], "failed");
    assert_eq!(builds[2]["infrastructure_failure"], false);

    let foo = c.get("/api/v1/packages/f25/foo").await.json();
    assert_eq!(foo["resolution_changes"][0]["resolved"], false);
    assert_eq!(
        foo["resolution_changes"][0]["problems"],
        json!(["nothing provides libfoo-devel needed by foo"])
    );
    c.get("/api/v1/packages/f25/nope")
        .await
        .expect(StatusCode::NOT_FOUND, &["Package nope not found"]);
    c.get("/api/v1/packages/nope/rnv")
        .await
        .expect(StatusCode::NOT_FOUND, &["Collection not found"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn builds_and_changes(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let page = c
        .get("/api/v1/packages/f25/rnv/builds?limit=2")
        .await
        .json();
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[1]["id"], w.rnv_ok_build);
    assert_eq!(page[1]["dependency_changes"][0]["name"], "glibc");
    assert_eq!(page[1]["dependency_changes"][0]["kind"], "upgraded");
    let older = c
        .get(&format!(
            "/api/v1/packages/f25/rnv/builds?before={}",
            w.rnv_ok_build
        ))
        .await
        .json();
    assert_eq!(older.as_array().unwrap().len(), 1);
    assert_eq!(older[0]["state"], "failed");
    c.get("/api/v1/packages/f25/rnv/builds?limit=0")
        .await
        .expect(StatusCode::BAD_REQUEST, &["limit"]);
    c.get("/api/v1/packages/f25/rnv/builds?before=x")
        .await
        .expect(StatusCode::BAD_REQUEST, &["before"]);

    let build = c
        .get(&format!("/api/v1/builds/{}", w.eclipse_failed_build))
        .await
        .json();
    assert_eq!(build["package_name"], "eclipse");
    assert_eq!(build["collection"], "f25");
    assert_eq!(build["dependency_changes"][0]["distance"], 1);
    c.get("/api/v1/builds/999999")
        .await
        .expect(StatusCode::NOT_FOUND, &["Build 999999 not found"]);

    let changes = c
        .get("/api/v1/packages/f25/rnv/dependency-changes")
        .await
        .json();
    assert_eq!(
        changes,
        json!([
            {"name": "libxml2", "kind": "upgraded", "distance": 1,
             "prev": {"epoch": 0, "version": "2.9.4", "release": "1.fc25"},
             "curr": {"epoch": 0, "version": "2.9.5", "release": "1.fc25"}},
            {"name": "newdep", "kind": "added", "distance": 3, "prev": null,
             "curr": {"epoch": 0, "version": "1.0", "release": "1"}}
        ])
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn collections_and_groups(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let all = c.get("/api/v1/collections").await.json();
    assert_eq!(all[0]["name"], "f26");
    assert_eq!(all[1]["name"], "f25");
    assert_eq!(
        all[1]["packages_by_state"],
        json!({"ok": 1, "failing": 1, "unresolved": 1, "untracked": 1})
    );
    assert_eq!(all[1]["state"], "ok");
    let f26 = c.get("/api/v1/collections/f26").await.json();
    assert_eq!(f26["display_name"], "Fedora 26");
    c.get("/api/v1/collections/nope")
        .await
        .expect(StatusCode::NOT_FOUND, &["Collection not found"]);

    let groups = c.get("/api/v1/groups").await.json();
    assert_eq!(
        groups,
        json!([
            {"name": "java", "namespace": null, "package_count": 2, "maintainers": ["bob"]},
            {"name": "alice/mine", "namespace": "alice", "package_count": 1, "maintainers": ["alice"]}
        ])
    );
    assert_eq!(
        c.get("/api/v1/groups/java").await.json(),
        json!({"name": "java", "namespace": null, "maintainers": ["bob"], "packages": ["eclipse", "rnv"]})
    );
    assert_eq!(
        c.get("/api/v1/groups/alice/mine").await.json()["packages"],
        json!(["foo"])
    );
    c.get("/api/v1/groups/nope")
        .await
        .expect(StatusCode::NOT_FOUND, &["Group not found"]);
}

/// Every path of the OpenAPI document is served (with example parameters).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn openapi_document_matches_routes(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let doc = c.get("/api/v1/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 12);
    for path in paths.keys() {
        let url = path
            .replace("{collection}", "f25")
            .replace("{c1}", "f25")
            .replace("{c2}", "f26")
            .replace("{id}", &w.rnv_ok_build.to_string())
            .replace("{namespace}/{name}", "alice/mine")
            .replace("/groups/{name}", "/groups/java")
            .replace("{name}", "rnv");
        let res = c.get(&url).await;
        assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.body);
        res.json();
    }
}
