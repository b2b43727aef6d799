//! The group tracking helpers as `koschei-admin` commands (the original's
//! `bin/koschei-refresh-group`, `bin/koschei-refresh-user-group`,
//! `bin/koschei-refresh-distgit-group`, `bin/koschei-track-group`), run as a
//! process against a real database and the dist-git simulator.

use std::io::Write;
use std::process::Output;

use koschei_core::fixtures;
use pagure_sim::{PagureSim, Seed};
use sqlx::PgPool;

mod common;
use common::{admin_command, database_url};

use koschei_core::db::MIGRATOR as MIGRATIONS;

/// Collection f25 with maven, xmvn, rnv (untracked) and javapackages; global
/// group `java`; dist-git contacts: maven and xmvn are mizdebsk's, xmvn and rnv
/// the java SIG's.
async fn world(pool: &PgPool) -> (PagureSim, tempfile::NamedTempFile) {
    let c = fixtures::collection(pool, "f25").await;
    for name in ["maven", "xmvn", "rnv", "javapackages"] {
        fixtures::package(pool, c, name).await;
    }
    sqlx::query("UPDATE package SET tracked = (name <> 'rnv')")
        .execute(pool)
        .await
        .unwrap();
    let sim = PagureSim::start(
        "127.0.0.1:0".parse().unwrap(),
        Seed::rpms(&[
            ("maven", &[], &["mizdebsk"]),
            ("xmvn", &[], &["mizdebsk", "@java-sig"]),
            ("rnv", &[], &["@java-sig"]),
        ]),
    )
    .await
    .unwrap();
    let mut config = tempfile::NamedTempFile::new().unwrap();
    writeln!(config, "[pagure]\nbz_url = \"{}\"", sim.bz_url()).unwrap();
    (sim, config)
}

/// Runs the command without blocking the runtime that serves the simulator.
async fn admin(pool: &PgPool, config: &tempfile::NamedTempFile, args: &[&str]) -> Output {
    let cmd = admin_command(&database_url(pool), config.path(), args);
    tokio::process::Command::from(cmd).output().await.unwrap()
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

async fn content(pool: &PgPool, group: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT b.name FROM package_group g
         JOIN package_group_relation r ON r.group_id = g.id
         JOIN base_package b ON b.id = r.base_id
         WHERE g.name = $1 ORDER BY b.name",
    )
    .bind(group)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn group_helpers_refresh_and_track_groups(pool: PgPool) {
    let (_sim, config) = world(&pool).await;
    stdout_of(&admin(&pool, &config, &["create-group", "java"]).await);

    // dist-git: the user's packages replace the content, a dist-git group's are appended
    let out = stdout_of(&admin(&pool, &config, &["refresh-user-group", "java", "mizdebsk"]).await);
    assert!(out.contains("2 packages of mizdebsk in dist-git"), "{out}");
    assert_eq!(content(&pool, "java").await, ["maven", "xmvn"]);
    let out = admin(
        &pool,
        &config,
        &["refresh-distgit-group", "java", "java-sig", "--append"],
    )
    .await;
    stdout_of(&out);
    assert_eq!(content(&pool, "java").await, ["maven", "rnv", "xmvn"]);

    // a regex over the known packages, appended (egrep: unanchored)
    stdout_of(&admin(&pool, &config, &["refresh-group", "java", "^java|ven$"]).await);
    assert_eq!(
        content(&pool, "java").await,
        ["javapackages", "maven", "rnv", "xmvn"]
    );

    // track-group tracks rnv, the group's one untracked package, and audits it
    let out = stdout_of(&admin(&pool, &config, &["track-group", "java"]).await);
    assert!(out.contains("1 packages now tracked"), "{out}");
    let untracked: i64 = sqlx::query_scalar("SELECT count(*) FROM package WHERE NOT tracked")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(untracked, 0);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn refusals_change_nothing(pool: PgPool) {
    let (sim, config) = world(&pool).await;
    stdout_of(&admin(&pool, &config, &["create-group", "java"]).await);
    stdout_of(&admin(&pool, &config, &["refresh-user-group", "java", "mizdebsk"]).await);
    let before = content(&pool, "java").await;
    assert_eq!(before, ["maven", "xmvn"]);

    // unknown group, a user with no packages, dist-git down, a bad regex
    for (args, needle) in [
        (vec!["refresh-user-group", "nope", "mizdebsk"], "nope"),
        (vec!["refresh-user-group", "java", "nobody"], "empty"),
        (vec!["refresh-group", "java", "("], "("),
    ] {
        let out = admin(&pool, &config, &args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    sim.set_failing(true);
    let out = admin(&pool, &config, &["refresh-user-group", "java", "mizdebsk"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(content(&pool, "java").await, before);
}
