//! `koschei-poller`: polls Koji for build states, packages and real builds as a fallback to
//! the watcher's messages (`koschei/backend/services/polling.py`), and in secondary mode
//! has the primary Koji regenerate the secondary's new repos.

use std::path::PathBuf;

use clap::Parser;
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::{db, service, Backend, Config};

#[derive(Parser)]
#[command(name = "koschei-poller", version, about)]
struct Cli {
    /// Extra configuration file, merged after KOSCHEI_CONFIG (repeatable).
    #[arg(long = "config", value_name = "FILE")]
    config: Vec<PathBuf>,
    /// Run one pass and exit.
    #[arg(long)]
    once: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::init_logging();
    let cli = Cli::parse();
    let config = Config::load(&cli.config)?;
    let pool = if cli.once {
        db::connect(&config, 4).await?
    } else {
        db::connect_retrying(&config, 4).await?
    };
    let sessions = KojiSessions::connect(&config).await?;
    let backend = Backend::new(pool, sessions, config);
    if cli.once {
        let report = koschei_poller::poll(&backend).await?;
        tracing::info!("{report:?}");
        return Ok(());
    }
    let end = service::run_loop("poller", &backend.config, None, &mut || async {
        let report = koschei_poller::poll(&backend).await?;
        tracing::info!(
            running = report.running_polled,
            added = report.packages_added,
            registered = report.real_builds_registered,
            repos_requested = report.repos_requested,
            "polling pass done"
        );
        Ok(())
    })
    .await;
    service::exit(end)
}
