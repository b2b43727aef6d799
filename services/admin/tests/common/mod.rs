//! Shared helpers of the admin CLI tests.

#![allow(dead_code)]

use std::path::Path;

pub use koschei_core::fixtures::database_url;

/// `koschei-admin --config CONFIG ARGS…` against the database at `url`,
/// audited as user jdoe.
pub fn admin_command(url: &str, config: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_koschei-admin"));
    cmd.args(["--config", config.to_str().unwrap()])
        .args(args)
        .env("DATABASE_URL", url)
        .env("KOSCHEI_CONFIG", "")
        .env("SUDO_USER", "jdoe")
        .env("RUST_BACKTRACE", "0");
    cmd
}
