//! Shared helpers of the admin CLI tests.

#![allow(dead_code)]

use std::path::Path;

use sqlx::PgPool;

/// The URL of the test's own database (DATABASE_URL with its name swapped).
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL must be set (run scripts/test)");
    let db = pool
        .connect_options()
        .get_database()
        .expect("database name")
        .to_string();
    let (url, query) = base
        .split_once('?')
        .map_or((base.as_str(), None), |(u, q)| (u, Some(q)));
    let (prefix, _) = url.rsplit_once('/').expect("URL with a database");
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

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
