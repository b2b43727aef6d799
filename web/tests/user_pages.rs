//! User pages with dist-git (`koschei/plugins/pagure_plugin/frontend.py`):
//! packages from dist-git's maintainer map and from the user's groups, the
//! page under a dist-git outage, and the map's cache expiry, against the
//! dist-git simulator.

mod common;

use axum::http::StatusCode;
use common::{config, world, Client, MIGRATIONS};
use pagure_sim::{PagureSim, Seed, OWNER_ALIAS_PATH};
use sqlx::PgPool;

/// dist-git: alice maintains eclipse and a package Koschei does not know;
/// bob maintains nothing there.
async fn dist_git() -> PagureSim {
    let seed = Seed::rpms(&[
        ("eclipse", &["alice"], &["alice"]),
        ("not-in-koschei", &["alice"], &["alice"]),
        ("rnv", &["carol"], &["carol"]),
    ]);
    PagureSim::start("127.0.0.1:0".parse().unwrap(), seed)
        .await
        .unwrap()
}

fn client(pool: &PgPool, sim: &PagureSim, expiration_time: u64) -> Client {
    let mut c = config();
    c.pagure.owner_alias_url = Some(sim.owner_alias_url());
    c.pagure.expiration_time = expiration_time;
    Client::with_config(pool, c)
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn lists_dist_git_and_group_packages(pool: PgPool) {
    world(&pool).await;
    let sim = dist_git().await;
    let mut c = client(&pool, &sim, 600);
    c.login("alice").await;
    // eclipse from dist-git, foo from alice's group alice/mine
    c.get("/user/alice?collection=f25")
        .await
        .expect(
            StatusCode::OK,
            &[
                "alice's packages</title>",
                "<h1>alice's packages</h1>",
                ">eclipse</a>",
                ">foo</a>",
                "2 packages alice maintains in dist-git; 1 package in the groups alice maintains.",
            ],
        )
        .lacks(&[">rnv</a>", "Error retrieving"]);
    // a dist-git maintainer who never logged in to Koschei has a page too
    c.get("/user/carol?collection=f25")
        .await
        .expect(StatusCode::OK, &["carol's packages", ">rnv</a>"])
        .lacks(&[">eclipse</a>", ">foo</a>"]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn dist_git_outage_shows_group_packages_with_a_notice(pool: PgPool) {
    world(&pool).await;
    let sim = dist_git().await;
    sim.set_failing(true);
    let mut c = client(&pool, &sim, 0);
    c.login("alice").await;
    c.get("/user/alice?collection=f25")
        .await
        .expect(
            StatusCode::OK,
            &[
                "alice's packages",
                "Error retrieving user's packages from dist-git",
                ">foo</a>",
            ],
        )
        .lacks(&[">eclipse</a>"]);
    assert_eq!(sim.requests(OWNER_ALIAS_PATH), 1);
    // dist-git back: the next view (expiry 0) fetches again
    sim.set_failing(false);
    c.get("/user/alice?collection=f25")
        .await
        .expect(StatusCode::OK, &[">eclipse</a>", ">foo</a>"])
        .lacks(&["Error retrieving"]);
    assert_eq!(sim.requests(OWNER_ALIAS_PATH), 2);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn maintainer_map_is_cached_until_it_expires(pool: PgPool) {
    world(&pool).await;
    let sim = dist_git().await;
    let mut cached = client(&pool, &sim, 600);
    cached.login("alice").await;
    for user in ["alice", "bob", "alice"] {
        cached
            .get(&format!("/user/{user}"))
            .await
            .expect(StatusCode::OK, &[&format!("{user}'s packages")]);
    }
    assert_eq!(sim.requests(OWNER_ALIAS_PATH), 1);
    // dist-git changes are seen only after expiry: with expiration_time 0
    // every view downloads the map again
    let mut expiring = client(&pool, &sim, 0);
    expiring.login("alice").await;
    for _ in 0..2 {
        expiring
            .get("/user/alice")
            .await
            .expect(StatusCode::OK, &["alice's packages"]);
    }
    assert_eq!(sim.requests(OWNER_ALIAS_PATH), 3);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn without_dist_git_unknown_users_have_no_page(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    c.login("alice").await;
    c.get("/user/alice?collection=f25")
        .await
        .expect(
            StatusCode::OK,
            &[
                "alice's packages",
                ">foo</a>",
                "Packages of the groups alice maintains.",
            ],
        )
        .lacks(&[">eclipse</a>", "dist-git"]);
    c.get("/user/nobody")
        .await
        .expect(StatusCode::NOT_FOUND, &["User nobody not found"]);
}
