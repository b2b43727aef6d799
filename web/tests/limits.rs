//! Resource limits and overflow: out-of-range edits refused, extreme stored
//! values still rendered, page numbers bounded, lists paginated.

mod common;

use axum::http::StatusCode;
use common::{world, Client, MIGRATIONS};
use sqlx::PgPool;

async fn priorities(pool: &PgPool, id: i32) -> (i32, i32) {
    sqlx::query_as("SELECT manual_priority, static_priority FROM package WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn out_of_range_manual_priority_is_refused(pool: PgPool) {
    let w = world(&pool).await;
    let mut c = Client::new(&pool);
    c.login("alice").await;
    let f25 = w.f25.to_string();
    for value in ["2147483647", "-2147483648", "1000001"] {
        let res = c
            .post(
                "/package/rnv/edit",
                &[("collection_id", &f25), ("manual_priority", value)],
            )
            .await;
        assert_eq!(res.status, StatusCode::FOUND, "{}", res.body);
        c.get("/package/rnv?collection=f25").await.expect(
            StatusCode::OK,
            &["Validation errors: Manual priority: must be an integer between -1000000 and 1000000"],
        );
        assert_eq!(priorities(&pool, w.rnv).await, (5, 0), "{value}");
    }
    // The bounds themselves are accepted.
    c.post(
        "/package/rnv/edit",
        &[("collection_id", &f25), ("manual_priority", "1000000")],
    )
    .await;
    assert_eq!(priorities(&pool, w.rnv).await, (1_000_000, 0));
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn extreme_stored_priorities_still_render(pool: PgPool) {
    world(&pool).await;
    // Values written before the bounds existed (or by hand): every package
    // schedulable, every component at the int4 extremes.
    sqlx::query(
        "UPDATE package SET manual_priority = 2147483647, static_priority = 2147483647,
                dependency_priority = 2147483647, build_priority = 2147483647,
                retry_after = NULL, resolved = true",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut c = Client::new(&pool);
    for order in ["current_priority", "-current_priority"] {
        c.get(&format!("/packages?collection=f25&order_by={order}"))
            .await
            .expect(StatusCode::OK, &["eclipse", "<td class=\"num\">858993"]);
    }
    c.get("/package/eclipse?collection=f25")
        .await
        .expect(StatusCode::OK, &["2147483647"]);
    let detail = c.get("/api/v1/packages/f25/eclipse").await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    let priority = &detail.json()["priority"];
    // The time priority moves between the two reads of `now()`.
    let rest = priority["current"].as_f64().unwrap() - priority["time"].as_f64().unwrap();
    assert!((rest - 4.0 * 2147483647.0).abs() < 1.0, "{priority}");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn huge_page_numbers_are_bounded(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    for uri in [
        "/packages?page=92233720368547759",
        "/packages?collection=f25&page=92233720368547759",
        "/packages?collection=f25&order_by=current_priority&page=9223372036854775807",
        "/search?q=rnv&page=92233720368547759",
        "/stats?page=92233720368547759",
    ] {
        // Clamped without overflow, and past the last page: not found, as
        // Flask-SQLAlchemy's `paginate` answers in the original.
        c.get(uri)
            .await
            .expect(StatusCode::NOT_FOUND, &["Page not found"]);
    }
}

/// Fails the test when `f` does not finish: the request hangs.
async fn guarded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer, the request hangs"))
}

/// A transaction holding an exclusive lock on `collection`, which every
/// page reads first: requests wait until it ends.
async fn lock_collections(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE collection IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// Waits until a statement in this database waits for a lock.
async fn until_blocked(pool: &PgPool) {
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks
             WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn concurrency_limit_refuses_excess_requests(pool: PgPool) {
    world(&pool).await;
    let mut config = common::config();
    config.frontend.limits.max_concurrent_requests = 1;
    let mut first = Client::with_config(&pool, config);
    let mut second = Client {
        app: first.app.clone(),
        cookie: None,
    };
    let lock = lock_collections(&pool).await;
    let waiting = tokio::spawn(async move { first.get("/packages").await });
    until_blocked(&pool).await;
    let refused = guarded("second request", second.get("/packages")).await;
    refused.expect(StatusCode::SERVICE_UNAVAILABLE, &["busy"]);
    assert_eq!(refused.headers["retry-after"], "10");
    lock.rollback().await.unwrap();
    guarded("first request", waiting)
        .await
        .unwrap()
        .expect(StatusCode::OK, &["rnv"]);
    // The permit is back.
    second
        .get("/packages")
        .await
        .expect(StatusCode::OK, &["rnv"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn slow_requests_time_out(pool: PgPool) {
    world(&pool).await;
    let mut config = common::config();
    config.frontend.limits.request_timeout = 0.3;
    let mut c = Client::with_config(&pool, config);
    let lock = lock_collections(&pool).await;
    guarded("locked page", c.get("/packages"))
        .await
        .expect(StatusCode::SERVICE_UNAVAILABLE, &["took too long"]);
    lock.rollback().await.unwrap();
    c.get("/packages").await.expect(StatusCode::OK, &["rnv"]);
}

/// `koschei-web` itself, on a free port of 127.0.0.1, with `limits` as
/// its `[frontend.limits]`.
struct Server {
    _child: tokio::process::Child,
    _config: tempfile::NamedTempFile,
    addr: String,
}

async fn server(pool: &PgPool, limits: &str) -> Server {
    use std::io::Write;
    use tokio::io::AsyncBufReadExt;
    let mut config = tempfile::NamedTempFile::new().unwrap();
    write!(
        config,
        "[frontend]\nsecret_key = \"a test secret that is long enough to sign\"\n\
         [frontend.limits]\n{limits}\n"
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_koschei-web"))
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(config.path())
        .env("KOSCHEI_CONFIG", "")
        .env("DATABASE_URL", koschei_core::fixtures::database_url(pool))
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = guarded("server start", async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, rest)) = line.split_once("listening on http://") {
                return rest.trim().to_string();
            }
        }
        panic!("koschei-web exited before listening");
    })
    .await;
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        _child: child,
        _config: config,
        addr,
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn server_drops_clients_that_send_headers_slowly(pool: PgPool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    world(&pool).await;
    let server = server(&pool, "header_read_timeout = 0.5").await;
    let mut stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    stream
        .write_all(b"GET /packages HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let mut answer = Vec::new();
    guarded("partial headers", stream.read_to_end(&mut answer))
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // Complete requests are still served.
    let res = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}/packages", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn server_statements_time_out(pool: PgPool) {
    world(&pool).await;
    let server = server(&pool, "statement_timeout = 0.3").await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/packages", server.addr);
    let lock = lock_collections(&pool).await;
    let res = guarded("locked page", client.get(&url).send())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.text().await.unwrap().contains("database took too long"));
    lock.rollback().await.unwrap();
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn affected_by_is_paged(pool: PgPool) {
    let w = world(&pool).await;
    // A second package failing after the same glibc change.
    let other = koschei_core::fixtures::package(&pool, w.f25, "other").await;
    use koschei_core::fixtures::{build, NewBuild};
    use koschei_core::model::BuildState;
    build(&pool, other, NewBuild::new(BuildState::Complete, 90.0)).await;
    let failed = build(&pool, other, NewBuild::new(BuildState::Failed, 30.0)).await;
    sqlx::query(
        "INSERT INTO applied_change (build_id, prev_dep_id, curr_dep_id, distance) VALUES ($1, 1, 2, 3)",
    )
    .bind(failed)
    .execute(&pool)
    .await
    .unwrap();
    let mut config = common::config();
    config.frontend.packages_per_page = 1;
    let mut c = Client::with_config(&pool, config);
    let q = "collection=f25&epoch1=0&version1=2.24&release1=0.fc25&epoch2=0&version2=2.26&release2=1.fc25";
    c.get(&format!("/affected-by/glibc?{q}"))
        .await
        .expect(StatusCode::OK, &[">eclipse</a>", "from total 2"])
        .lacks(&[">other</a>"]);
    c.get(&format!("/affected-by/glibc?{q}&page=2"))
        .await
        .expect(StatusCode::OK, &[">other</a>", "from total 2"])
        .lacks(&[">eclipse</a>"]);
}

fn names(res: &common::Resp) -> Vec<String> {
    res.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}/{}", p["collection"].as_str().unwrap_or(""), p["name"]))
        .collect()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn api_lists_are_paged_and_capped(pool: PgPool) {
    world(&pool).await;
    let mut config = common::config();
    config.frontend.limits.max_unpaginated = 3;
    config.frontend.limits.max_per_page = 2;
    let mut c = Client::with_config(&pool, config);
    // Five packages: too many for an unpaged answer.
    c.get("/api/v1/packages")
        .await
        .expect(StatusCode::BAD_REQUEST, &["5 results", "page"]);
    // A filtered list small enough comes whole, in the original's shape.
    let f26 = c.get("/api/v1/packages?collection=f26").await;
    f26.expect(StatusCode::OK, &[]);
    assert_eq!(names(&f26), ["f26/\"rnv\""]);
    assert_eq!(f26.headers["x-total-count"], "1");
    // Page by page: every package exactly once, links to the neighbours.
    let mut all = Vec::new();
    let mut uri = "/api/v1/packages?per_page=2&page=1".to_string();
    loop {
        let res = c.get(&uri).await;
        res.expect(StatusCode::OK, &[]);
        assert_eq!(res.headers["x-total-count"], "5");
        let page = names(&res);
        assert!(page.len() <= 2, "{page:?}");
        all.extend(page);
        let link = res
            .headers
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        match link.as_deref().and_then(|l| {
            l.split(", ")
                .find(|l| l.ends_with("rel=\"next\""))
                .map(|l| l[1..l.find('>').unwrap()].to_string())
        }) {
            Some(next) => uri = next,
            None => break,
        }
    }
    assert_eq!(
        all,
        [
            "f25/\"eclipse\"",
            "f25/\"foo\"",
            "f26/\"rnv\"",
            "f25/\"rnv\"",
            "f25/\"untracked-pkg\""
        ]
    );
    c.get("/api/v1/packages?per_page=3").await.expect(
        StatusCode::BAD_REQUEST,
        &["per_page must be between 1 and 2"],
    );
    c.get("/api/v1/packages?page=0")
        .await
        .expect(StatusCode::BAD_REQUEST, &["page"]);
    c.get("/api/v1/packages?page=92233720368547759&per_page=2")
        .await
        .expect(StatusCode::OK, &["[]"]);
    // The other lists page the same way.
    let groups = c.get("/api/v1/groups?per_page=1").await;
    groups.expect(StatusCode::OK, &["java"]).lacks(&["mine"]);
    assert_eq!(groups.headers["x-total-count"], "2");
    c.get("/api/v1/groups?per_page=1&page=2")
        .await
        .expect(StatusCode::OK, &["alice/mine"])
        .lacks(&["java"]);
    let diff = c.get("/api/v1/collections/diff/f25/f26?per_page=1").await;
    diff.expect(StatusCode::OK, &["rnv"]);
    assert_eq!(diff.headers["x-total-count"], "1");
    let changes = c
        .get("/api/v1/packages/f25/rnv/dependency-changes?per_page=1&page=2")
        .await;
    changes
        .expect(StatusCode::OK, &["newdep"])
        .lacks(&["libxml2"]);
    assert_eq!(changes.headers["x-total-count"], "2");
}
