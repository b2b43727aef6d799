//! `koschei-resolver`: resolves build dependencies against Koji repos.
//!
//! * `run` (the default): the long-running service — repo resolver and build resolver (see
//!   `services/resolver/README.md`), woken by `NOTIFY koschei_repo_done` ([`repo_notify`])
//!   and polling as a fallback; several instances share the work through PostgreSQL.
//!
//! The whole-distribution benchmark is the example `resolver-bench`
//! (services/resolver/README.md).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::{db, service, Config};
use koschei_resolver::context::Context;
use koschei_resolver::repo_notify;

/// mimalloc instead of glibc's allocator: an incremental pass maps and compares the
/// dependency sets of every package, and with glibc a fifth of its CPU time went into
/// `malloc` and `free`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "koschei-resolver", version, about)]
struct Cli {
    /// Extra configuration file, merged after KOSCHEI_CONFIG (repeatable).
    #[arg(long = "config", global = true, value_name = "FILE")]
    config: Vec<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the resolver service (the default).
    Run,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            service::init_logging();
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(run(&cli.config))
        }
    }
}

async fn run(config_files: &[PathBuf]) -> anyhow::Result<()> {
    let config = Config::load(config_files)?;
    let pool = db::connect_retrying(&config, 8).await?;
    let sessions = KojiSessions::connect(&config).await?;
    let ctx = Context::new(pool.clone(), config.clone(), sessions)?;
    let wake = Arc::new(tokio::sync::Notify::new());
    let _listener = repo_notify::listen(&pool, wake.clone()).await?;
    tracing::info!("resolver instance {}", ctx.instance);
    let end = service::run_loop("resolver", &config, Some(&wake), &mut || {
        koschei_resolver::service::iteration(&ctx)
    })
    .await;
    service::exit(end)
}
