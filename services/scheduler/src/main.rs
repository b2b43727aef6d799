//! `koschei-scheduler`: submits scratch builds of the packages whose
//! priority reaches the threshold, without overloading Koji
//! (the original's `koschei/backend/services/scheduler.py`).

use koschei_scheduler::decision;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::{db, service, Config};

#[derive(Parser)]
#[command(name = "koschei-scheduler", version, about)]
struct Cli {
    /// Extra configuration file, merged after KOSCHEI_CONFIG (repeatable).
    #[arg(long = "config", global = true, value_name = "FILE")]
    config: Vec<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scheduler service (the default).
    Run,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::init_logging();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            let config = Config::load(&cli.config)?;
            let pool = db::connect_retrying(&config, 4).await?;
            let sessions = KojiSessions::connect(&config).await?;
            let mut scheduler = decision::Scheduler::new(pool, sessions, config.clone());
            let end = service::run_loop("scheduler", &config, None, &mut scheduler).await;
            service::exit(end)
        }
    }
}
