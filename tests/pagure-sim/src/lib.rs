//! pagure-sim: serves the files of Fedora's dist-git (Pagure at
//! src.fedoraproject.org) that Koschei reads, with their real JSON shapes:
//!
//! * `/extras/pagure_owner_alias.json` — per namespace, each project's
//!   maintainers (read by `koschei/plugins/pagure_plugin/frontend.py` for the
//!   user pages);
//! * `/extras/pagure_bz.json` — per namespace, each project's Bugzilla
//!   contacts, users and `@group`s (read by `bin/koschei-refresh-user-group`
//!   and `bin/koschei-refresh-distgit-group`).
//!
//! Both are `{"<namespace>": {"<project>": ["<user>" | "@<group>", ...]}}`.
//! The simulator counts the requests of each path (tests assert on caching
//! with it) and can be told to fail (HTTP 503) to test outages.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// Path of the maintainer map.
pub const OWNER_ALIAS_PATH: &str = "/extras/pagure_owner_alias.json";
/// Path of the Bugzilla contact map.
pub const BZ_PATH: &str = "/extras/pagure_bz.json";
/// Namespaces present in dist-git's files even when empty.
pub const NAMESPACES: [&str; 5] = ["container", "flatpaks", "modules", "rpms", "tests"];

/// `{"<namespace>": {"<project>": [names]}}`.
pub type ProjectMap = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// What the simulator serves.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seed {
    /// Content of `pagure_owner_alias.json`.
    pub owner_alias: ProjectMap,
    /// Content of `pagure_bz.json`.
    pub bz: ProjectMap,
}

impl Seed {
    /// Reads a seed from a JSON file.
    pub fn load(path: &Path) -> Result<Seed> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read seed {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("invalid seed {}", path.display()))
    }

    /// A seed with only `rpms` projects: `(project, maintainers, bz contacts)`.
    pub fn rpms(projects: &[(&str, &[&str], &[&str])]) -> Seed {
        let mut seed = Seed::default();
        for (name, owners, contacts) in projects {
            let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
            seed.owner_alias
                .entry("rpms".into())
                .or_default()
                .insert(name.to_string(), list(owners));
            seed.bz
                .entry("rpms".into())
                .or_default()
                .insert(name.to_string(), list(contacts));
        }
        seed
    }
}

struct Shared {
    seed: RwLock<Seed>,
    failing: AtomicBool,
    hits: Mutex<BTreeMap<String, usize>>,
}

/// A running simulator.
#[derive(Clone)]
pub struct PagureSim {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    shared: Arc<Shared>,
}

impl PagureSim {
    /// Listens on `listen` (port 0 picks a free port) and serves `seed` in a
    /// background task.
    pub async fn start(listen: SocketAddr, seed: Seed) -> Result<PagureSim> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            seed: RwLock::new(seed),
            failing: AtomicBool::new(false),
            hits: Mutex::new(BTreeMap::new()),
        });
        let app = router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("pagure-sim stopped: {e}");
            }
        });
        Ok(PagureSim { url, shared })
    }

    /// URL of `pagure_owner_alias.json`.
    pub fn owner_alias_url(&self) -> String {
        format!("{}{OWNER_ALIAS_PATH}", self.url)
    }

    /// URL of `pagure_bz.json`.
    pub fn bz_url(&self) -> String {
        format!("{}{BZ_PATH}", self.url)
    }

    /// Requests received for `path`, failed ones included.
    pub fn requests(&self, path: &str) -> usize {
        let hits = self.shared.hits.lock().expect("hits lock");
        hits.get(path).copied().unwrap_or(0)
    }

    /// Makes every request fail with 503 (`true`) or succeed again.
    pub fn set_failing(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
    }

    /// Replaces what is served.
    pub fn set_seed(&self, seed: Seed) {
        *self.shared.seed.write().expect("seed lock") = seed;
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(OWNER_ALIAS_PATH, get(owner_alias))
        .route(BZ_PATH, get(bz))
        .fallback(not_found)
        .with_state(shared)
}

/// Counts the request; the 503 answer when failing.
fn enter(shared: &Shared, path: &str) -> Option<Response> {
    *shared
        .hits
        .lock()
        .expect("hits lock")
        .entry(path.to_string())
        .or_default() += 1;
    shared
        .failing
        .load(Ordering::SeqCst)
        .then(|| (StatusCode::SERVICE_UNAVAILABLE, "simulated outage\n").into_response())
}

/// The map with dist-git's namespaces all present.
fn document(map: &ProjectMap) -> Json<ProjectMap> {
    let mut doc = map.clone();
    for ns in NAMESPACES {
        doc.entry(ns.to_string()).or_default();
    }
    Json(doc)
}

async fn owner_alias(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(failure) = enter(&shared, OWNER_ALIAS_PATH) {
        return failure;
    }
    document(&shared.seed.read().expect("seed lock").owner_alias).into_response()
}

async fn bz(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(failure) = enter(&shared, BZ_PATH) {
        return failure;
    }
    document(&shared.seed.read().expect("seed lock").bz).into_response()
}

async fn not_found(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    enter(&shared, uri.path());
    (StatusCode::NOT_FOUND, "Not Found\n").into_response()
}
