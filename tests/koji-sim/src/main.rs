//! `koji-sim`: command line of the Koji hub simulator.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use koji_sim::sim::Behaviour;

/// A Koji hub simulator seeded from rpm-md repositories.
#[derive(Debug, Parser)]
#[command(name = "koji-sim", version)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed directory (repodata/ with primary, filelists, comps; source/repodata/).
    #[arg(long)]
    seed: PathBuf,
    /// Name of the seeded collection (target, dest tag; build tag NAME-build).
    #[arg(long, default_value = "f99")]
    collection: String,
    /// AMQP URL to publish Koji's fedora-messaging messages to.
    #[arg(long)]
    amqp_url: Option<String>,
    /// Seconds a scratch build takes.
    #[arg(long, default_value_t = 5.0)]
    build_time: f64,
    /// Probability that a build whose dependencies resolve fails anyway.
    #[arg(long, default_value_t = 0.0)]
    failure_rate: f64,
    /// Probability of an infrastructure failure (failed rebuildSRPM, raw fault).
    #[arg(long, default_value_t = 0.0)]
    infra_failure_rate: f64,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 0)]
    seed_random: u64,
    /// Directory for the file tree and caches (default: a fresh temporary directory,
    /// removed on exit).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate (chain) for `localhost`…
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// …and this PEM private key.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Demand Kerberos (SPNEGO) logins, verified with this keytab of `HTTP/<host>`.
    #[arg(long)]
    gssapi_keytab: Option<PathBuf>,
    /// Ignore sessions passed in the URL, as a hub with `DisableURLSessions = true`.
    #[arg(long)]
    disable_url_sessions: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    for (name, p) in [
        ("failure-rate", cli.failure_rate),
        ("infra-failure-rate", cli.infra_failure_rate),
    ] {
        anyhow::ensure!((0.0..=1.0).contains(&p), "--{name} must be within [0, 1]");
    }
    let (state_dir, temporary) = match cli.state_dir {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!("koji-sim-{}", std::process::id())),
            true,
        ),
    };
    let started = std::time::Instant::now();
    let running = koji_sim::start(koji_sim::Config {
        listen: cli.listen,
        seed: cli.seed,
        collection: cli.collection,
        amqp_url: cli.amqp_url,
        behaviour: Behaviour {
            build_time: cli.build_time,
            failure_rate: cli.failure_rate,
            infra_failure_rate: cli.infra_failure_rate,
            seed_random: cli.seed_random,
        },
        state_dir: state_dir.clone(),
        tls: cli
            .tls_cert
            .zip(cli.tls_key)
            .map(|(cert, key)| koji_sim::TlsFiles { cert, key }),
        gssapi_keytab: cli.gssapi_keytab,
        disable_url_sessions: cli.disable_url_sessions,
    })
    .await?;
    println!(
        "koji-sim: hub={} topurl={} startup_ms={}",
        running.hub_url,
        running.topurl,
        started.elapsed().as_millis()
    );
    tokio::select! {
        r = running.server => { r??; }
        _ = shutdown_signal() => {}
    }
    if temporary {
        koji_sim::sim::remove_dir(&state_dir);
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
