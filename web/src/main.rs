//! `koschei-web`: the Koschei web dashboard and JSON API server.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use koschei_core::Config;

/// Koschei web dashboard and JSON API.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Extra configuration file (merged after KOSCHEI_CONFIG); repeatable.
    #[arg(long = "config")]
    config: Vec<PathBuf>,
    /// Address to listen on (default: frontend.listen).
    #[arg(long)]
    listen: Option<String>,
    /// Database connections in the pool.
    #[arg(long, default_value_t = 16)]
    db_connections: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = Config::load(&cli.config)?;
    let listen = cli.listen.unwrap_or_else(|| config.frontend.listen.clone());
    let pool = koschei_web::http::limits::connect_db(
        &config.database_url(),
        &config.frontend.limits,
        cli.db_connections,
    )
    .await?;
    let limits = config.frontend.limits.clone();
    let state = koschei_web::AppState::new(pool, config)?;
    state
        .events
        .start()
        .await
        .context("cannot start the event hub")?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    koschei_web::http::limits::serve(listener, koschei_web::app(state), &limits, shutdown()).await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
