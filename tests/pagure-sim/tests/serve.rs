//! The simulator over HTTP: real shapes, request counts, outages.

use pagure_sim::{PagureSim, Seed, BZ_PATH, OWNER_ALIAS_PATH};
use serde_json::Value;

async fn sim() -> PagureSim {
    let seed = Seed::rpms(&[
        ("rnv", &["msimacek"], &["msimacek"]),
        ("maven", &["mizdebsk"], &["mizdebsk", "@java-maint-sig"]),
    ]);
    PagureSim::start("127.0.0.1:0".parse().unwrap(), seed)
        .await
        .unwrap()
}

#[tokio::test]
async fn serves_dist_git_extras_with_all_namespaces() {
    let sim = sim().await;
    let owners: Value = reqwest::get(sim.owner_alias_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(owners["rpms"]["maven"], serde_json::json!(["mizdebsk"]));
    for ns in pagure_sim::NAMESPACES {
        assert!(owners[ns].is_object(), "namespace {ns} missing");
    }
    let bz: Value = reqwest::get(sim.bz_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        bz["rpms"]["maven"],
        serde_json::json!(["mizdebsk", "@java-maint-sig"])
    );
    assert_eq!(sim.requests(OWNER_ALIAS_PATH), 1);
    assert_eq!(sim.requests(BZ_PATH), 1);
}

#[tokio::test]
async fn outage_answers_503_and_is_counted() {
    let sim = sim().await;
    sim.set_failing(true);
    let resp = reqwest::get(sim.owner_alias_url()).await.unwrap();
    assert_eq!(resp.status(), 503);
    sim.set_failing(false);
    let resp = reqwest::get(sim.owner_alias_url()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(sim.requests(OWNER_ALIAS_PATH), 2);
    let missing = reqwest::get(format!("{}/api/0/nothing", sim.url))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[test]
fn demo_seed_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/demo.json");
    let seed = Seed::load(&path).unwrap();
    assert!(seed.owner_alias["rpms"].contains_key("rnv"));
}
