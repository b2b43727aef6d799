//! Benchmark helper of koschei-web (run by `scripts/bench-web`):
//!
//! * `web-bench seed --packages N --builds M` fills an empty database (the one
//!   in `DATABASE_URL`) with one collection of N tracked packages and M
//!   builds, plus tasks, dependency changes, resolution changes and groups;
//! * `web-bench load --base-url URL --concurrency C --seconds S` measures the
//!   package list, a package page and `/api/v1/packages` with C concurrent
//!   clients for S seconds each and prints
//!   `{"<endpoint>": {"p50_ms", "p99_ms", "rps"}}`;
//! * `web-bench events --base-url URL --clients C --events N` connects C
//!   clients to `/api/v1/events`, commits N package state changes and prints
//!   the delivery latency, completeness and memory figures;
//! * `web-bench mixed --base-url URL --concurrency C` measures the pages
//!   while every package's state changes once, then checks that the web
//!   shows the final states.
//!
//! `events` and `mixed` write to `DATABASE_URL`, through the same outbox
//! code as the services.

mod events;
mod load;
mod mixed;
mod process;
mod seed;
mod sse;
mod state_changes;
mod stats;
mod stream_client;

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sqlx::PgPool;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the schema and the benchmark data in DATABASE_URL.
    Seed {
        #[arg(long, default_value_t = 25_000)]
        packages: i32,
        #[arg(long, default_value_t = 250_000)]
        builds: i32,
    },
    /// Measure the endpoints of a running koschei-web.
    Load {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Packages to cycle through for the package page.
        #[arg(long, default_value_t = 25_000)]
        packages: i32,
    },
    /// Measure the event stream: SSE clients and a burst of state changes.
    Events {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// State changes to commit.
        #[arg(long, default_value_t = 10_000)]
        events: usize,
        /// State changes per transaction.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Streams opened at once while connecting.
        #[arg(long, default_value_t = 50)]
        connect_parallelism: usize,
        /// Seconds the clients have to receive everything after the last
        /// commit.
        #[arg(long, default_value_t = 300.0)]
        drain_timeout: f64,
        /// Seconds a client waits before reopening a stream that ended (the
        /// server drops clients that fall too far behind), as browsers do.
        #[arg(long, default_value_t = 3.0)]
        reconnect_delay: f64,
        /// koschei-web's pid, for its memory (`/proc/<pid>/status`).
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Measure the pages while a resolver-like pass changes every package.
    Mixed {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        /// Packages changed per transaction.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// koschei-web's pid, for its memory (`/proc/<pid>/status`).
        #[arg(long)]
        server_pid: Option<u32>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let report = match Cli::parse().command {
        Command::Seed { packages, builds } => return seed::seed(packages, builds).await,
        Command::Load {
            base_url,
            concurrency,
            seconds,
            packages,
        } => {
            let duration = Duration::from_secs_f64(seconds);
            load::load(&base_url, concurrency, duration, packages).await?
        }
        Command::Events {
            base_url,
            clients,
            events,
            batch,
            connect_parallelism,
            drain_timeout,
            reconnect_delay,
            server_pid,
        } => {
            let plan = events::Plan {
                base_url,
                clients,
                events,
                batch,
                connect_parallelism,
                drain_timeout: Duration::from_secs_f64(drain_timeout),
                reconnect_delay: Duration::from_secs_f64(reconnect_delay),
                server_pid,
            };
            events::run(database().await?, plan).await?
        }
        Command::Mixed {
            base_url,
            concurrency,
            batch,
            server_pid,
        } => {
            let plan = mixed::Plan {
                base_url,
                concurrency,
                batch,
                server_pid,
            };
            mixed::run(database().await?, plan).await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// A small pool on `DATABASE_URL`.
async fn database() -> anyhow::Result<PgPool> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL must be set")?;
    Ok(koschei_core::db::connect_url(&url, 4).await?)
}
