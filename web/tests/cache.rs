//! The page cache: anonymous answers come from memory, and a change
//! committed by anyone (a service, the admin tool, plain SQL) is on the very
//! next request — also after the cache's change feed lost its connection.

mod common;

use std::time::Duration;

use axum::http::{header, StatusCode};
use common::{world, Client, Resp, MIGRATIONS};
use sqlx::PgPool;

/// How many packages the page shows unresolved.
fn unresolved(r: &Resp) -> usize {
    r.body.matches(r#"aria-label="unresolved""#).count()
}

fn cache_header(r: &Resp) -> &str {
    r.headers
        .get("x-cache")
        .map(|v| v.to_str().unwrap())
        .unwrap_or("none")
}

/// Requests `uri` until it is answered from the cache (the first answer is
/// stored while sent); fails after a few seconds.
async fn until_hit(c: &mut Client, uri: &str) -> Resp {
    for _ in 0..100 {
        let r = c.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        if cache_header(&r) == "hit" {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{uri} never came from the cache");
}

async fn commit(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql).execute(pool).await.unwrap();
}

/// Sets a package's resolution as the resolver does (its own transaction).
async fn set_resolved(pool: &PgPool, package: i32, resolved: bool) {
    sqlx::query("UPDATE package SET resolved = $2 WHERE id = $1")
        .bind(package)
        .bind(resolved)
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn every_kind_of_change_is_on_the_next_request(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let list = "/packages?collection=f25";
    let before = until_hit(&mut c, list).await;
    before.expect(StatusCode::OK, &["eclipse"]);
    let page = "/package/rnv?collection=f25";
    until_hit(&mut c, page).await;

    // A package's state (as the resolver writes it).
    set_resolved(&pool, w.eclipse, false).await;
    let r = c.get(list).await;
    assert_eq!(cache_header(&r), "miss");
    assert_eq!(unresolved(&r), unresolved(&before) + 1, "{}", r.body);
    // The package page of another name is still cached; rnv's own is not
    // after a build of rnv changed.
    assert_eq!(cache_header(&c.get(page).await), "hit");
    commit(
        &pool,
        &format!(
            "UPDATE build SET failure_reason = 'builder exploded' WHERE id = {}",
            w.rnv_infra_build
        ),
    )
    .await;
    let r = c.get(page).await;
    assert_eq!(cache_header(&r), "miss");
    assert!(r.body.contains("builder exploded"), "{}", r.body);

    // A group, the admin notice, a collection's name: every page's frame.
    until_hit(&mut c, list).await;
    commit(
        &pool,
        "UPDATE package_group SET name = 'jvm' WHERE name = 'java'",
    )
    .await;
    c.get(list).await.expect(StatusCode::OK, &["jvm"]);
    until_hit(&mut c, list).await;
    commit(
        &pool,
        "INSERT INTO admin_notice (key, content) VALUES ('global_notice', 'Koji outage tonight')",
    )
    .await;
    c.get(list)
        .await
        .expect(StatusCode::OK, &["Koji outage tonight"]);
    until_hit(&mut c, page).await;
    commit(
        &pool,
        "UPDATE collection SET display_name = 'Fedora Twenty-Five' WHERE name = 'f25'",
    )
    .await;
    c.get(page)
        .await
        .expect(StatusCode::OK, &["Fedora Twenty-Five"]);

    // The API list, from the cache too.
    let api = "/api/v1/packages?collection=f25";
    until_hit(&mut c, api).await;
    commit(
        &pool,
        &format!("UPDATE package SET tracked = false WHERE id = {}", w.rnv),
    )
    .await;
    let r = c.get(api).await;
    assert_eq!(cache_header(&r), "miss");
    let rnv = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "rnv")
        .cloned()
        .unwrap();
    assert_eq!(rnv["state"], "untracked", "{rnv}");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn changes_are_seen_after_the_feed_reconnects(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    let list = "/packages?collection=f25";
    let before = unresolved(&until_hit(&mut c, list).await);
    // Cut the feed's connection, then change the data at once.
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE 'LISTEN%koschei_change%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(killed, vec![true], "the feed's listener was not found");
    set_resolved(&pool, w.eclipse, false).await;
    let r = c.get(list).await;
    assert_ne!(cache_header(&r), "hit");
    assert_eq!(unresolved(&r), before + 1, "{}", r.body);
    // The feed comes back and the cache with it, still fresh.
    until_hit(&mut c, list).await;
    set_resolved(&pool, w.eclipse, true).await;
    let r = c.get(list).await;
    assert_eq!(cache_header(&r), "miss");
    assert_eq!(unresolved(&r), before, "{}", r.body);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn sessions_bypass_the_cache_and_gzip_is_stored(pool: PgPool) {
    world(&pool).await;
    let mut anonymous = Client::new(&pool);
    let plain = until_hit(&mut anonymous, "/packages").await;
    assert!(plain.headers.contains_key(header::ETAG));
    // A logged-in user's page (their name, their groups) is never shared.
    let mut alice = Client::new(&pool);
    alice.login("alice").await;
    for _ in 0..3 {
        let r = alice.get("/packages").await;
        assert_eq!(cache_header(&r), "none");
        r.expect(StatusCode::OK, &["alice"]);
    }
    // Gzip on request, the same page once decoded.
    let req = axum::http::Request::get("/packages")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(anonymous.app.clone(), req)
        .await
        .unwrap();
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(res.headers()["x-cache"], "hit");
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let mut decoded = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.body);
}
