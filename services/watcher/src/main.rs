//! `koschei-watcher`: the message-bus service (see the crate docs).

use std::path::PathBuf;

use clap::Parser;
use koschei_core::config::Config;
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::service::{init_logging, sd_notify};
use koschei_watcher::fedora_messaging_conf::FedoraMessagingConf;
use koschei_watcher::service::{self, Options};
use tokio::signal::unix::{signal, SignalKind};

/// Consumes Koji's messages and publishes Koschei's state changes.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Extra configuration file (after KOSCHEI_CONFIG or /etc/koschei/koschei.toml).
    #[arg(long)]
    config: Vec<PathBuf>,
    /// Deliveries handled concurrently (AMQP prefetch count; default:
    /// fedora-messaging's qos.prefetch_count, else 32).
    #[arg(long)]
    prefetch: Option<u16>,
    /// Outbox rows published per confirmed batch.
    #[arg(long, default_value_t = 200)]
    publish_batch: i64,
    /// Debug logging.
    #[arg(short, long)]
    debug: bool,
    /// Fault injection for tests: exit right after the N-th committed
    /// change, before acknowledging its message.
    #[arg(long, hide = true)]
    crash_after_commits: Option<u64>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.debug && std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "debug,sqlx=warn,lapin=info");
    }
    init_logging();
    if let Err(e) = run(args).await {
        tracing::error!("watcher failed: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let options = Options {
        prefetch: args.prefetch,
        publish_batch: args.publish_batch,
        fedora_messaging: FedoraMessagingConf::load_from_env()?,
        crash_after_commits: args.crash_after_commits,
        ..Options::default()
    };
    let pool =
        koschei_core::db::connect_retrying(&config, u32::from(options.prefetch()) + 4).await?;
    let sessions = KojiSessions::connect(&config).await?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let running = service::start(config, pool, sessions, options)?;
    sd_notify("READY=1");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    sd_notify("STOPPING=1");
    running.stop().await;
    Ok(())
}
