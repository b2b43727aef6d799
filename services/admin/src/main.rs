//! `koschei-admin`: the administration command line (koschei/admin.py).

mod cli;
mod collection_commands;
mod commands;
mod depsolve;
mod group_sync_commands;
mod migrate;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let cli = cli::Cli::parse();
    if let Err(e) = commands::run(cli).await {
        // The message alone and exit status 1, as the original's sys.exit(message).
        eprintln!("{e:#}");
        std::process::exit(1);
    }
}
