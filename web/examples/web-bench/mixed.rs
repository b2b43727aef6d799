//! `web-bench mixed`: the page load (package list pages, package pages, API
//! pages) while a writer changes every package once, batch by batch as a
//! resolver pass does; then a freshness check: the web shows the final
//! state of every package right after the pass; then the same pass (back)
//! without page load, for comparison.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::load::{api_pages, http_client, measure, package_pages, stop_after, Target};
use crate::process::{self, Usage};
use crate::state_changes::Writer;
use crate::stats::round1;

/// What `web-bench mixed` does.
pub struct Plan {
    pub base_url: String,
    pub concurrency: usize,
    /// Packages changed per transaction.
    pub batch: usize,
    /// koschei-web's process, for its memory.
    pub server_pid: Option<u32>,
}

/// The kinds of pages requested, in the order of the report.
const KINDS: [&str; 3] = ["package_list", "package_page", "api_page"];

/// Runs the plan; returns the `mixed` section of the report.
pub async fn run(pool: PgPool, plan: Plan) -> anyhow::Result<Value> {
    let base = plan.base_url.trim_end_matches('/');
    let ids: Vec<i32> = sqlx::query_scalar("SELECT id FROM package ORDER BY id")
        .fetch_all(&pool)
        .await?;
    let client = http_client(plan.concurrency)?;
    let targets = Arc::new(targets(base, ids.len()));
    let warm_up = stop_after(Duration::from_secs(2));
    measure(
        &client,
        targets.clone(),
        KINDS.len(),
        plan.concurrency,
        warm_up,
    )
    .await?;
    let server_before = process::server(plan.server_pid);
    let own_before = Usage::of(None)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let load = {
        let (client, targets) = (client.clone(), targets.clone());
        let concurrency = plan.concurrency;
        tokio::spawn(
            async move { measure(&client, targets, KINDS.len(), concurrency, stop_rx).await },
        )
    };
    let writer = Writer::new(pool.clone());
    let pass = run_pass(&writer, &ids, plan.batch).await?;
    let _ = stop_tx.send(true);
    let m = load.await??;
    let server_after = process::server(plan.server_pid);
    let own_after = Usage::of(None)?;
    eprintln!(
        "mixed: {} packages changed in {} transactions in {:.1} s; \
         {} requests, {} errors meanwhile",
        ids.len(),
        pass.transactions,
        pass.seconds,
        m.latencies.iter().map(Vec::len).sum::<usize>(),
        m.errors.iter().sum::<usize>()
    );
    let freshness = freshness(&pool, &client, base).await?;
    // The same pass without page load (flipping every package back), for
    // comparison.
    let idle = run_pass(&writer, &ids, plan.batch).await?;
    eprintln!(
        "mixed: the pass without page load took {:.1} s",
        idle.seconds
    );
    let mut pages = serde_json::Map::new();
    for (k, name) in KINDS.iter().enumerate() {
        let mut figures = m.figures(k);
        figures["errors"] = json!(m.errors[k]);
        pages.insert(name.to_string(), figures);
    }
    Ok(json!({
        "concurrency": plan.concurrency,
        "packages": ids.len(),
        "batch": plan.batch,
        "transactions": pass.transactions,
        "state_messages": pass.messages,
        "pass_s": round1(pass.seconds),
        "idle_pass_s": round1(idle.seconds),
        "pages": pages,
        "fresh": freshness["fresh"],
        "freshness": freshness,
        "server": {
            "before": process::json(server_before, None),
            "after": process::json(server_after, server_before),
        },
        "client": own_after.json(Some(&own_before)),
    }))
}

/// A finished pass over every package.
struct Pass {
    seconds: f64,
    transactions: usize,
    messages: usize,
}

/// Flips `resolved` of every package in `ids`, `batch` per transaction.
async fn run_pass(writer: &Writer, ids: &[i32], batch: usize) -> anyhow::Result<Pass> {
    let started = Instant::now();
    let (mut transactions, mut messages) = (0, 0);
    for chunk in ids.chunks(batch.max(1)) {
        messages += writer.flip_resolved(chunk).await?.messages;
        transactions += 1;
    }
    Ok(Pass {
        seconds: started.elapsed().as_secs_f64(),
        transactions,
        messages,
    })
}

/// Package list pages (the first ten), package pages and API pages of 100
/// packages, interleaved so that every client requests all three kinds.
fn targets(base: &str, packages: usize) -> Vec<Target> {
    let list_pages = packages.div_ceil(100).clamp(1, 10);
    let list: Vec<String> = (1..=list_pages)
        .map(|p| format!("{base}/packages?page={p}"))
        .collect();
    let pages = package_pages(base, packages as i32);
    let api = api_pages(base, packages as i32);
    let kinds = [list, pages, api];
    let rounds = kinds.iter().map(Vec::len).max().unwrap_or(0);
    let mut targets = Vec::with_capacity(rounds * kinds.len());
    for i in 0..rounds {
        for (kind, urls) in kinds.iter().enumerate() {
            targets.push(Target {
                kind,
                url: urls[i % urls.len()].clone(),
            });
        }
    }
    targets
}

#[derive(Deserialize)]
struct ApiPackage {
    name: String,
    state: String,
}

#[derive(Deserialize)]
struct ApiCollection {
    packages_by_state: BTreeMap<String, i64>,
}

/// For each collection, one request each for its package counts by state
/// (`/api/v1/collections/<name>`), its whole package list
/// (`/api/v1/packages?collection=<name>`) and the first page of its HTML
/// package list, compared with the database.
async fn freshness(pool: &PgPool, client: &reqwest::Client, base: &str) -> anyhow::Result<Value> {
    let collections: Vec<String> = sqlx::query_scalar("SELECT name FROM collection ORDER BY name")
        .fetch_all(pool)
        .await?;
    let row = regex::Regex::new(
        r#"href="/package/([^"?]+)\?collection=[^"]*">[^<]*</a></td><td[^>]*><span class="state [^"]*" title="([^"]*)""#,
    )?;
    let mut fresh = true;
    let mut report = Vec::new();
    for name in &collections {
        let db: HashMap<String, String> = sqlx::query_as(
            "SELECT p.name, package_state(p) FROM package p
             JOIN collection c ON c.id = p.collection_id WHERE c.name = $1",
        )
        .bind(name)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
        let mut db_counts = BTreeMap::new();
        for state in db.values() {
            *db_counts.entry(state.clone()).or_insert(0i64) += 1;
        }

        let counts =
            get_json::<ApiCollection>(client, &format!("{base}/api/v1/collections/{name}"))
                .await?
                .packages_by_state;
        let listed: Vec<ApiPackage> =
            get_json(client, &format!("{base}/api/v1/packages?collection={name}")).await?;
        let api_stale = stale(
            &db,
            listed.iter().map(|p| (p.name.as_str(), p.state.as_str())),
        );
        let api_missing = db.len().saturating_sub(listed.len());

        let html = get(client, &format!("{base}/packages?collection={name}"))
            .await?
            .text()
            .await?;
        let shown: Vec<(&str, &str)> = row
            .captures_iter(&html)
            .map(|c| {
                (
                    c.get(1).map_or("", |m| m.as_str()),
                    c.get(2).map_or("", |m| m.as_str()),
                )
            })
            .collect();
        let html_stale = stale(&db, shown.iter().copied());

        let ok = counts == db_counts && api_stale == 0 && api_missing == 0 && html_stale == 0;
        fresh &= ok && !shown.is_empty();
        report.push(json!({
            "collection": name,
            "counts_api": counts,
            "counts_db": db_counts,
            "api_packages_stale": api_stale,
            "api_packages_missing": api_missing,
            "html_rows_checked": shown.len(),
            "html_rows_stale": html_stale,
        }));
    }
    Ok(json!({"fresh": fresh, "collections": report}))
}

/// A successful GET.
async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<reqwest::Response> {
    let r = client
        .get(url)
        .send()
        .await
        .with_context(|| url.to_string())?;
    if !r.status().is_success() {
        bail!("GET {url}: HTTP {}", r.status());
    }
    Ok(r)
}

/// A successful GET's JSON body.
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<T> {
    let body = get(client, url).await?.bytes().await?;
    serde_json::from_slice(&body).with_context(|| format!("the JSON of {url}"))
}

/// How many `(name, state)` pairs shown differ from the database.
fn stale<'a>(
    db: &HashMap<String, String>,
    shown: impl Iterator<Item = (&'a str, &'a str)>,
) -> usize {
    shown
        .filter(|(name, state)| db.get(*name).map(String::as_str) != Some(*state))
        .count()
}
