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
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
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
        let res = c.get(uri).await;
        assert!(
            res.status == StatusCode::OK || res.status == StatusCode::BAD_REQUEST,
            "{uri}: {} {}",
            res.status,
            res.body
        );
    }
}
