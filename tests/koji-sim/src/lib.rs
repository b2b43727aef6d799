//! koji-sim: a Koji hub simulator speaking Koji's XML-RPC dialect and serving a Koji
//! `topurl` file tree, seeded from rpm-md repositories. See the README for usage.

pub mod api;
pub mod args;
pub mod comps;
pub mod hub;
pub mod messaging;
pub mod negotiate;
pub mod new_binary;
pub mod rebuild;
pub mod repos;
pub mod resolver;
pub mod rpmmd;
pub mod scripting;
pub mod seed;
pub mod sim;
pub mod state;
pub mod task;
pub mod tasks;
pub mod time;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::messaging::Publisher;
use crate::resolver::DepsolveResolver;
use crate::seed::Seed;
use crate::sim::{Behaviour, Endpoints, Sim};

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Seed directory.
    pub seed: PathBuf,
    /// Collection name.
    pub collection: String,
    /// AMQP URL to publish messages to.
    pub amqp_url: Option<String>,
    /// Build outcome tunables.
    pub behaviour: Behaviour,
    /// Directory for the file tree and caches.
    pub state_dir: PathBuf,
    /// Serve HTTPS with this PEM certificate chain and key (URLs become
    /// `https://localhost:PORT`, the name the certificate must hold).
    pub tls: Option<TlsFiles>,
    /// Demand Kerberos (SPNEGO) on `/kojihub/ssllogin`, verified with this service keytab
    /// (principal `HTTP/<host of the URL>`).
    pub gssapi_keytab: Option<PathBuf>,
    /// Ignore sessions in URL parameters (Koji's `DisableURLSessions`).
    pub disable_url_sessions: bool,
}

/// Certificate chain and private key (PEM files) of the HTTPS listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A started simulator.
pub struct Running {
    /// The hub URL.
    pub hub_url: String,
    /// The topurl.
    pub topurl: String,
    /// The simulator.
    pub sim: Arc<Sim>,
    /// The server task.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Loads the seed, writes the first repo and starts serving.
pub async fn start(config: Config) -> Result<Running> {
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("binding {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let base = match &config.tls {
        Some(_) => format!("https://localhost:{}", addr.port()),
        None => format!("http://{addr}"),
    };
    let hub_url = format!("{base}/kojihub");
    let topurl = format!("{base}/kojifiles");
    if let Some(keytab) = &config.gssapi_keytab {
        negotiate::use_keytab(keytab);
    }
    let seed_dir = config.seed.clone();
    let seed = tokio::task::spawn_blocking(move || Seed::load(&seed_dir)).await??;
    let files_dir = config.state_dir.join("files");
    std::fs::create_dir_all(&files_dir)?;
    let resolver = Arc::new(DepsolveResolver::start(
        config.state_dir.join("solv-cache"),
    )?);
    let publisher = Publisher::start(config.amqp_url.as_deref()).await?;
    let endpoints = Endpoints {
        hub_url: hub_url.clone(),
        topurl: topurl.clone(),
        weburl: format!("{base}/koji"),
        collection: config.collection.clone(),
    };
    let generation = next_generation(&config.state_dir)?;
    let sim = Sim::start(
        seed,
        endpoints,
        config.behaviour,
        files_dir,
        resolver,
        publisher,
        generation,
    )
    .await?;
    {
        let mut st = sim.lock();
        st.gssapi = config.gssapi_keytab.is_some();
        st.url_sessions_disabled = config.disable_url_sessions;
    }
    let app = hub::router(sim.clone());
    let server = match &config.tls {
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tokio::spawn(async move { axum::serve(listener, app).await })
        }
        Some(tls) => {
            // reqwest's TLS stack uses ring; the server uses the same provider.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .context("loading the TLS certificate and key")?;
            let server = axum_server::from_tcp_rustls(listener, tls);
            tokio::spawn(async move { server.serve(app.into_make_service()).await })
        }
    };
    Ok(Running {
        hub_url,
        topurl,
        sim,
        server,
    })
}

/// Counts the starts on a state directory (`generation`, 0 the first time). The hub
/// keeps its state in memory, so a restart begins anew; the ids of each generation
/// start past the previous ones' so no client sees an id reused.
fn next_generation(state_dir: &std::path::Path) -> Result<i64> {
    let path = state_dir.join("generation");
    let generation = match std::fs::read_to_string(&path) {
        Ok(text) => {
            text.trim()
                .parse::<i64>()
                .with_context(|| format!("{} is not a number", path.display()))?
                + 1
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    std::fs::write(&path, generation.to_string())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(generation)
}

/// The hand-written seed the test suites use (`seeds/tiny`).
pub fn tiny_seed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds/tiny")
}

/// Starts koji-sim in-process for a test: the tiny seed, collection `f99`,
/// builds taking 0.2 s, no random failures, files under `state_dir`.
pub async fn start_for_tests(
    state_dir: &std::path::Path,
    amqp_url: Option<String>,
) -> Result<Running> {
    start(test_config(state_dir, amqp_url)).await
}

/// The configuration [`start_for_tests`] uses (tiny seed, 0.2 s builds, no failures,
/// plain HTTP, no Kerberos), for tests that change a setting.
pub fn test_config(state_dir: &std::path::Path, amqp_url: Option<String>) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        seed: tiny_seed(),
        collection: "f99".into(),
        amqp_url,
        behaviour: sim::Behaviour {
            build_time: 0.2,
            failure_rate: 0.0,
            infra_failure_rate: 0.0,
            seed_random: 1,
        },
        state_dir: state_dir.to_path_buf(),
        tls: None,
        gssapi_keytab: None,
        disable_url_sessions: false,
    }
}
