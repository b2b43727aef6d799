//! `pagure-sim`: command line of the dist-git (Pagure) simulator.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use pagure_sim::{PagureSim, Seed};

/// Serves dist-git's `pagure_owner_alias.json` and `pagure_bz.json` from a seed file.
#[derive(Debug, Parser)]
#[command(name = "pagure-sim", version)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// JSON seed: {"owner_alias": {ns: {project: [users]}}, "bz": {ns: {project: [users, "@group"]}}}.
    #[arg(long)]
    seed: PathBuf,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let sim = PagureSim::start(cli.listen, Seed::load(&cli.seed)?).await?;
    // The URL on stdout lets scripts pick up a free port.
    println!("{}", sim.url);
    tracing::info!("serving {} and {}", sim.owner_alias_url(), sim.bz_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
