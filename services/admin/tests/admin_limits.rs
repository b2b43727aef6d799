//! Limits of the admin CLI: out-of-range priorities refused naming the
//! field, and the database password kept out of psql's command line.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use koschei_core::fixtures;
use sqlx::PgPool;

mod common;
use common::{admin_command, database_url};

use koschei_core::db::MIGRATOR as MIGRATIONS;

fn config() -> tempfile::NamedTempFile {
    tempfile::NamedTempFile::new().unwrap()
}

fn run(url: &str, args: &[&str]) -> Output {
    let config = config();
    admin_command(url, config.path(), args).output().unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn set_priority_out_of_range_is_refused(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let rnv = fixtures::package(&pool, c, "rnv").await;
    let url = database_url(&pool);
    for (value, extra, field) in [
        ("2147483647", None, "manual priority"),
        ("-2147483648", Some("--static"), "static priority"),
        ("1000001", None, "manual priority"),
        ("99999999999", Some("--static"), "static priority"),
    ] {
        let mut args = vec!["set-priority", "rnv", value, "--collection", "f25"];
        args.extend(extra);
        let out = run(&url, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid priority value \"{value}\" ({field})"))
                && stderr.contains("must be an integer between -1000000 and 1000000"),
            "{args:?}: {stderr}"
        );
    }
    let out = run(
        &url,
        &[
            "set-priority",
            "rnv",
            "-1000000",
            "--static",
            "--collection",
            "f25",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: (i32, i32) =
        sqlx::query_as("SELECT manual_priority, static_priority FROM package WHERE id = $1")
            .bind(rnv)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, (0, -1_000_000));
}

/// `koschei-admin psql` with a fake `psql` first in PATH that records its
/// arguments and environment.
#[test]
fn psql_password_not_in_argv() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("psql");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {0}/argv\nenv > {0}/env\n",
            dir.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for url in [
        "postgres://koschei:s3cr%3At@db.example:5432/koschei?sslmode=require",
        "postgres://koschei@db.example/koschei?password=s3cr%3At&sslmode=require",
    ] {
        let out = run_psql(url, &path);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
        let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
        assert!(!argv.contains("s3cr"), "password in argv: {argv}");
        assert!(argv.contains("db.example"), "{argv}");
        assert!(argv.contains("sslmode=require"), "{argv}");
        assert!(argv.lines().any(|l| l == "-c"), "{argv}");
        assert!(env.lines().any(|l| l == "PGPASSWORD=s3cr:t"), "{env}");
    }
}

fn run_psql(url: &str, path: &str) -> Output {
    let config = config();
    admin_command(url, config.path(), &["psql", "-c", "select 1"])
        .env("PATH", path)
        .output()
        .unwrap()
}
