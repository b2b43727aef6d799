//! Koschei resolver: resolves build dependencies against Koji repos.
//!
//! Subcommands: `bench` (whole-distribution benchmark, see [`bench`]). The long-running
//! service subcommand is added next to it.

mod bench;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "koschei-resolver", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Resolve every source package of a repository (and, incrementally, of its successor)
    /// and print timing figures.
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Bench(args) => bench::run(&args),
    }
}
