//! The OpenAPI 3.1 description of the JSON API, served at
//! `/api/v1/openapi.json`.

use axum::Json;
use serde_json::{json, Value};

fn param(name: &str, location: &str, description: &str) -> Value {
    json!({
        "name": name, "in": location, "required": location == "path",
        "description": description, "schema": {"type": "string"}
    })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "404": {"description": "Unknown collection, package, build or group",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    })
}

fn get(summary: &str, params: Vec<Value>, description: &str, schema: Value) -> Value {
    json!({"get": {"summary": summary, "parameters": params, "responses": ok(description, schema)}})
}

/// `page` and `per_page` of the paged lists (see [`crate::api_list`]).
fn paging() -> [Value; 2] {
    [
        param(
            "page",
            "query",
            "Page number from 1; without page and per_page the whole list \
            is answered, up to frontend.limits.max_unpaginated elements (longer lists: 400)",
        ),
        param(
            "per_page",
            "query",
            "Elements per page, 1 to frontend.limits.max_per_page (default 100)",
        ),
    ]
}

/// A paged list's answer: a JSON array, its total length in
/// `X-Total-Count`, the neighbouring pages in `Link`.
fn list(description: &str, schema: Value) -> Value {
    let mut responses = ok(description, schema);
    responses["200"]["headers"] = json!({
        "X-Total-Count": {"description": "Length of the whole list", "schema": {"type": "integer"}},
        "Link": {"description": "rel=\"prev\" and rel=\"next\" page URLs (paged requests)",
                 "schema": {"type": "string"}}
    });
    responses["400"] = json!({"description": "Bad page or per_page, or an unpaged list too long",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    responses
}

fn get_list(summary: &str, mut params: Vec<Value>, description: &str, schema: Value) -> Value {
    params.extend(paging());
    json!({"get": {"summary": summary, "parameters": params, "responses": list(description, schema)}})
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn array_of(name: &str) -> Value {
    json!({"type": "array", "items": schema_ref(name)})
}

/// The OpenAPI document.
pub fn document() -> Value {
    let collection = || param("collection", "path", "Collection name, e.g. f25");
    let package = || param("name", "path", "Package (SRPM) name");
    let evr = json!({"type": ["object", "null"], "properties": {
        "epoch": {"type": ["integer", "null"]}, "version": {"type": "string"}, "release": {"type": "string"}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Koschei API",
            "version": "1",
            "description": "Read-only data of Koschei: package states, builds and the reasons they were \
                submitted, dependency changes, collections and groups. Times are UTC, ISO 8601 without zone."
        },
        "paths": {
            "/api/v1/packages": {"get": {
                "summary": "All packages with their state and last complete build, ordered by name",
                "parameters": [
                    {"name": "collection", "in": "query", "required": false, "explode": true,
                     "description": "Only these collections (repeatable or comma-separated); unknown names give 404",
                     "schema": {"type": "array", "items": {"type": "string"}}},
                    {"name": "name", "in": "query", "required": false, "explode": true,
                     "description": "Only packages with these exact names (repeatable)",
                     "schema": {"type": "array", "items": {"type": "string"}}},
                    paging()[0], paging()[1]
                ],
                "responses": list("Packages", array_of("PackageSummary"))
            }},
            "/api/v1/packages/{collection}/{name}": get(
                "A package explained: state, priority components, skip reasons, pending dependency \
                 changes, recent builds with submit reasons, resolution changes, groups",
                vec![collection(), package()], "Package detail", schema_ref("PackageDetail")),
            "/api/v1/packages/{collection}/{name}/builds": {"get": {
                "summary": "Builds of a package, newest first, with tasks and applied dependency changes",
                "parameters": [collection(), package(),
                    param("before", "query", "Only builds older than this build id (keyset pagination)"),
                    param("limit", "query", "Number of builds, 1 to 100 (default: frontend.builds_per_page)")],
                "responses": ok("Builds", array_of("Build"))
            }},
            "/api/v1/packages/{collection}/{name}/dependency-changes": get_list(
                "Dependency changes since the package's last build, nearest first",
                vec![collection(), package()], "Changes", array_of("DependencyChange")),
            "/api/v1/builds/{id}": get("A build with its Koji tasks, submit reason and applied changes",
                vec![param("id", "path", "Build id")], "Build", schema_ref("Build")),
            "/api/v1/collections": get("All collections with package counts by state and buildroot problems",
                vec![], "Collections", array_of("Collection")),
            "/api/v1/collections/{collection}": get("One collection", vec![collection()], "Collection",
                schema_ref("Collection")),
            "/api/v1/collections/diff/{c1}/{c2}": get_list(
                "Packages whose state differs between two collections, ordered by name",
                vec![param("c1", "path", "First collection"), param("c2", "path", "Second collection")],
                "Differences", json!({"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "state": {"type": "object", "additionalProperties": schema_ref("PackageState")}}}})),
            "/api/v1/groups": get_list("All package groups", vec![], "Groups", array_of("GroupSummary")),
            "/api/v1/groups/{name}": get("A global group", vec![param("name", "path", "Group name")],
                "Group", schema_ref("Group")),
            "/api/v1/groups/{namespace}/{name}": get("A namespaced group",
                vec![param("namespace", "path", "Namespace (user name)"), param("name", "path", "Group name")],
                "Group", schema_ref("Group")),
            "/api/v1/openapi.json": {"get": {"summary": "This document",
                "responses": {"200": {"description": "OpenAPI document"}}}}
        },
        "components": {"schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
            "PackageState": {"type": "string",
                "enum": ["ok", "failing", "unresolved", "unknown", "untracked", "blocked"]},
            "PackageSummary": {"type": "object", "required": ["name", "collection", "state", "last_complete_build"],
                "properties": {
                    "name": {"type": "string"}, "collection": {"type": "string"},
                    "state": schema_ref("PackageState"),
                    "last_complete_build": {"type": ["object", "null"], "properties": {
                        "task_id": {"type": "integer"}, "time_started": {"type": "string"},
                        "time_finished": {"type": ["string", "null"]}, "epoch": {"type": ["integer", "null"]},
                        "version": {"type": "string"}, "release": {"type": "string"}}}}},
            "Priority": {"type": "object", "properties": {
                "current": {"type": ["number", "null"], "description": "null when not schedulable"},
                "manual": {"type": "integer"}, "static": {"type": "integer"},
                "dependency": {"type": "integer"}, "build": {"type": "integer"},
                "time": {"type": ["number", "null"]}, "coefficient": {"type": "number"},
                "threshold": {"type": "number"}}},
            "PackageDetail": {"type": "object", "properties": {
                "name": {"type": "string"}, "collection": {"type": "string"},
                "state": schema_ref("PackageState"), "tracked": {"type": "boolean"},
                "blocked": {"type": "boolean"}, "resolved": {"type": ["boolean", "null"]},
                "skip_resolution": {"type": "boolean"}, "arch_override": {"type": ["string", "null"]},
                "priority": schema_ref("Priority"),
                "verdict": {"type": "string", "description": "Whether and why the package will be scheduled"},
                "skip_reasons": {"type": "array", "items": {"type": "string"}},
                "dependency_changes": {"type": "array", "items": {"type": "object"}},
                "builds": array_of("Build"),
                "resolution_changes": {"type": "array", "items": {"type": "object", "properties": {
                    "resolved": {"type": "boolean"}, "timestamp": {"type": "string"},
                    "problems": {"type": "array", "items": {"type": "string"}}}}},
                "groups": {"type": "array", "items": {"type": "string"}}}},
            "Build": {"type": "object", "properties": {
                "id": {"type": "integer"}, "package_id": {"type": "integer"},
                "package_name": {"type": "string"}, "collection": {"type": "string"},
                "state": {"type": "string", "enum": ["running", "complete", "failed", "canceled",
                    "timed out", "infrastructure failure"]},
                "infrastructure_failure": {"type": "boolean",
                    "description": "Canceled, timed out or infrastructure failure: not a package failure"},
                "task_id": {"type": "integer"}, "started": {"type": "string"},
                "finished": {"type": ["string", "null"]}, "epoch": {"type": ["integer", "null"]},
                "version": {"type": ["string", "null"]}, "release": {"type": ["string", "null"]},
                "repo_id": {"type": ["integer", "null"]}, "real": {"type": "boolean"},
                "untagged": {"type": "boolean"}, "deps_resolved": {"type": ["boolean", "null"]},
                "cancel_requested": {"type": "boolean"},
                "submit_reason": {"type": ["object", "null"],
                    "description": "Priority components when the scheduler submitted the build"},
                "failure_reason": {"type": ["string", "null"]},
                "tasks": {"type": "array", "items": {"type": "object", "properties": {
                    "task_id": {"type": "integer"}, "arch": {"type": "string"},
                    "state": {"type": "string"}, "started": {"type": "string"},
                    "finished": {"type": ["string", "null"]}}}},
                "dependency_changes": array_of("DependencyChange")}},
            "DependencyChange": {"type": "object", "properties": {
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": ["added", "removed", "upgraded", "downgraded"]},
                "prev": evr, "curr": evr, "distance": {"type": ["integer", "null"]}}},
            "Collection": {"type": "object", "properties": {
                "name": {"type": "string"}, "display_name": {"type": "string"}, "order": {"type": "integer"},
                "state": {"type": "string", "enum": ["ok", "unresolved", "unknown"]},
                "target": {"type": "string"}, "dest_tag": {"type": "string"}, "build_tag": {"type": "string"},
                "latest_repo_id": {"type": ["integer", "null"]},
                "scheduling_suspended": {"type": ["string", "null"]},
                "packages_by_state": {"type": "object", "additionalProperties": {"type": "integer"}},
                "buildroot_problems": {"type": "array", "items": {"type": "string"}}}},
            "GroupSummary": {"type": "object", "properties": {
                "name": {"type": "string"}, "namespace": {"type": ["string", "null"]},
                "package_count": {"type": "integer"},
                "maintainers": {"type": "array", "items": {"type": "string"}}}},
            "Group": {"type": "object", "properties": {
                "name": {"type": "string"}, "namespace": {"type": ["string", "null"]},
                "maintainers": {"type": "array", "items": {"type": "string"}},
                "packages": {"type": "array", "items": {"type": "string"}}}}
        }}
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(document())
}
