//! The JSON API and its OpenAPI document.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{world, Client, MIGRATIONS};
use regex::Regex;
use serde_json::{json, Value};
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
async fn installability_of_packages_and_collections(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let never = c.get("/api/v1/packages/f25/rnv/installability").await;
    never.expect(StatusCode::OK, &[]);
    assert_eq!(
        never.json(),
        json!({"package": "rnv", "collection": "f25", "checked_repo_id": null,
               "binaries": [], "history": [], "rebuild": null})
    );
    koschei_core::fixtures::installability(&pool, w.f25).await;
    let rnv = c
        .get("/api/v1/packages/f25/rnv/installability")
        .await
        .json();
    assert_eq!(rnv["checked_repo_id"], 7);
    assert_eq!(
        rnv["binaries"][1],
        json!({"name": "rnv-extras", "arch": "noarch", "evr": "1.0-1", "source_name": "rnv",
               "installable": false, "install_count": 0, "download_size": 0,
               "install_size": 0, "since_repo_id": 7,
               "problems": ["Problem: nothing provides libgone.so.1 needed by rnv-extras-1.0-1.noarch"]})
    );
    assert_eq!(rnv["history"].as_array().unwrap().len(), 3);
    assert_eq!(rnv["history"][2]["installable"], false);
    // a scratch build's binaries would install: a rebuild would fix it
    assert_eq!(
        (
            &rnv["rebuild"]["task_id"],
            &rnv["rebuild"]["repo_id"],
            &rnv["rebuild"]["installable"]
        ),
        (&json!(9007), &json!(7), &json!(true))
    );
    assert_eq!(rnv["rebuild"]["binaries"][0]["name"], "rnv-extras");
    let f25 = c.get("/api/v1/collections/f25/installability").await.json();
    assert_eq!(f25["uninstallable"].as_array().unwrap().len(), 1);
    assert_eq!(f25["uninstallable"][0]["name"], "rnv-extras");
    assert_eq!(f25["passes"][1]["uninstallable"], 1);
    c.get("/api/v1/packages/f25/nope/installability")
        .await
        .expect(StatusCode::NOT_FOUND, &["nope"]);
    c.get("/api/v1/collections/nope/installability")
        .await
        .expect(StatusCode::NOT_FOUND, &["Collection not found: nope"]);
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
    let check = koschei_core::fixtures::impact_check(&pool, w.f25).await;
    let mut c = Client::new(&pool);
    let doc = c.get("/api/v1/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 12);
    // The event stream never ends: tests/events.rs reads it.
    for path in paths.keys().filter(|p| *p != "/api/v1/events") {
        let url = path
            .replace("{collection}", "f25")
            .replace("{c1}", "f25")
            .replace("{c2}", "f26")
            .replace("/impact-checks/{id}", &format!("/impact-checks/{check}"))
            .replace("{id}", &w.rnv_ok_build.to_string())
            .replace("{namespace}/{name}", "alice/mine")
            .replace("/groups/{name}", "/groups/java")
            .replace("{name}", "rnv");
        let res = c.get(&url).await;
        assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.body);
        res.json();
    }
}

/// The generated document.
fn document() -> Value {
    serde_json::to_value(koschei_web::api::document()).unwrap()
}

/// Every `/api/` route the application serves is documented, and every
/// documented path is a route. axum cannot list its routes, but its
/// router's `Debug` shows every path it matches.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn every_api_route_is_documented(pool: PgPool) {
    let app = koschei_web::app(koschei_web::AppState::new(pool, common::config()).unwrap());
    let routes = format!("{app:?}");
    let served: BTreeSet<String> = Regex::new(r#""(/api/[^"]*)""#)
        .unwrap()
        .captures_iter(&routes)
        .map(|c| c[1].to_string())
        .collect();
    let doc = document();
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(documented.len(), 17, "{documented:?}");
    assert_eq!(served, documented);
    // The pages link to the document where it is served.
    assert!(documented.contains("/api/v1/openapi.json"));
}

/// The document is OpenAPI 3.1 as utoipa reads it back, with the head it
/// always had, and holds together: every reference resolves, path
/// templates and path parameters agree, operation ids are unique, every
/// GET answers 200 as JSON (the event stream as `text/event-stream`), the
/// one POST (queuing an impact check) 201, every required property exists.
#[test]
fn openapi_document_is_consistent() {
    let doc = document();
    let _: utoipa::openapi::OpenApi = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Koschei API");
    assert_eq!(doc["info"]["version"], "1");
    assert!(doc["info"].get("license").is_none());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    for r in Regex::new(r##""\$ref":"([^"]*)""##)
        .unwrap()
        .captures_iter(&text)
    {
        let name = r[1]
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("reference outside the document: {}", &r[1]));
        assert!(schemas.contains_key(name), "unresolved {name}");
    }
    for (name, schema) in schemas {
        for p in schema["required"].as_array().into_iter().flatten() {
            let p = p.as_str().unwrap();
            assert!(schema["properties"].get(p).is_some(), "{name}.{p}");
        }
    }
    let template = Regex::new(r"\{([^}]*)\}").unwrap();
    let mut ids = BTreeSet::new();
    let operations = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
            let expected: &[&str] = if path == "/api/v1/impact-checks" {
                &["get", "post"]
            } else {
                &["get"]
            };
            assert_eq!(methods, expected, "{path}");
            methods
                .into_iter()
                .map(move |m| (path, m.as_str(), &item[m]))
        });
    for (path, method, op) in operations {
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_string()),
            "{path}"
        );
        assert!(!op["summary"].as_str().unwrap_or("").is_empty(), "{path}");
        let in_template: BTreeSet<&str> = template
            .captures_iter(path)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let in_path: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{path}"))
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(in_template, in_path, "{path}");
        // JSON, but for the event stream.
        let answer = if path == "/api/v1/events" {
            "text/event-stream"
        } else {
            "application/json"
        };
        let success = if method == "post" { "201" } else { "200" };
        assert!(
            op["responses"][success]["content"][answer]["schema"].is_object(),
            "{path}"
        );
        for (status, response) in op["responses"].as_object().unwrap() {
            if status != success {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{path} {status}"
                );
            }
        }
    }
}

/// Whether `value` fits `schema` (the subset of JSON Schema utoipa writes:
/// references, `oneOf`, `type` (with `null`), `enum`, properties, items,
/// additional properties).
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return check(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        if value.is_null() {
            assert!(options.iter().any(|o| o["type"] == "null"), "{at}: null");
            return;
        }
        let option = options.iter().find(|o| o["type"] != "null").unwrap();
        return check(doc, option, value, at);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
        _ => vec![],
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !types.is_empty() {
        let fits = types.contains(&actual) || actual == "integer" && types.contains(&"number");
        assert!(fits, "{at}: {value} is not {types:?}");
    }
    if let Some(values) = schema["enum"].as_array() {
        assert!(values.contains(value), "{at}: {value} not in {values:?}");
    }
    match value {
        Value::Object(map) if schema.get("properties").is_some() => {
            let properties = schema["properties"].as_object().unwrap();
            for key in map.keys() {
                assert!(properties.contains_key(key), "{at}: undocumented {key}");
            }
            for p in schema["required"].as_array().into_iter().flatten() {
                assert!(map.contains_key(p.as_str().unwrap()), "{at}: no {p}");
            }
            for (key, v) in map {
                check(doc, &properties[key], v, &format!("{at}.{key}"));
            }
        }
        Value::Object(map) if schema["additionalProperties"].is_object() => {
            for (key, v) in map {
                check(
                    doc,
                    &schema["additionalProperties"],
                    v,
                    &format!("{at}.{key}"),
                );
            }
        }
        Value::Array(items) if schema.get("items").is_some() => {
            for (i, v) in items.iter().enumerate() {
                check(doc, &schema["items"], v, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

/// Each endpoint's answer on the fixture world fits the schema its
/// document gives, and so do its error answers.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn answers_fit_the_document(pool: PgPool) {
    let w = world(&pool).await;
    let impact_check = koschei_core::fixtures::impact_check(&pool, w.f25).await;
    let mut c = Client::new(&pool);
    let doc = document();
    let response = |path: &str, status: &str| {
        doc["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
            .clone()
    };
    for (path, url) in [
        ("/api/v1/packages", "/api/v1/packages".to_string()),
        (
            "/api/v1/packages/{collection}/{name}",
            "/api/v1/packages/f25/rnv".into(),
        ),
        (
            "/api/v1/packages/{collection}/{name}",
            "/api/v1/packages/f25/foo".into(),
        ),
        (
            "/api/v1/packages/{collection}/{name}/builds",
            "/api/v1/packages/f25/rnv/builds".into(),
        ),
        (
            "/api/v1/packages/{collection}/{name}/dependency-changes",
            "/api/v1/packages/f25/rnv/dependency-changes".into(),
        ),
        (
            "/api/v1/builds/{id}",
            format!("/api/v1/builds/{}", w.rnv_ok_build),
        ),
        (
            "/api/v1/builds/{id}",
            format!("/api/v1/builds/{}", w.running_build),
        ),
        ("/api/v1/collections", "/api/v1/collections".into()),
        (
            "/api/v1/collections/{collection}",
            "/api/v1/collections/f25".into(),
        ),
        (
            "/api/v1/collections/diff/{c1}/{c2}",
            "/api/v1/collections/diff/f25/f26".into(),
        ),
        ("/api/v1/groups", "/api/v1/groups".into()),
        ("/api/v1/groups/{name}", "/api/v1/groups/java".into()),
        (
            "/api/v1/groups/{namespace}/{name}",
            "/api/v1/groups/alice/mine".into(),
        ),
        ("/api/v1/impact-checks", "/api/v1/impact-checks".into()),
        (
            "/api/v1/impact-checks/{id}",
            format!("/api/v1/impact-checks/{impact_check}"),
        ),
    ] {
        let res = c.get(&url).await;
        res.expect(StatusCode::OK, &[]);
        let schema = response(path, "200");
        assert!(schema.is_object(), "{path}");
        check(&doc, &schema, &res.json(), &url);
    }
    for (path, url, status) in [
        ("/api/v1/packages", "/api/v1/packages?page=0", "400"),
        (
            "/api/v1/packages",
            "/api/v1/packages?collection=nope",
            "404",
        ),
        (
            "/api/v1/packages/{collection}/{name}/builds",
            "/api/v1/packages/f25/rnv/builds?limit=0",
            "400",
        ),
        ("/api/v1/builds/{id}", "/api/v1/builds/999999", "404"),
        ("/api/v1/groups/{name}", "/api/v1/groups/nope", "404"),
        (
            "/api/v1/impact-checks/{id}",
            "/api/v1/impact-checks/999999",
            "404",
        ),
    ] {
        let res = c.get(url).await;
        assert_eq!(res.status.as_str(), status, "{url}");
        check(&doc, &response(path, status), &res.json(), url);
    }
}
