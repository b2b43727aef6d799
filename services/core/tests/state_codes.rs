//! The Rust state enums against the schema: the build-state codes the
//! migrations' CHECK constraints and SQL functions (`package_state`,
//! `package_skip_reasons`) assume, and the state names the functions return.

use koschei_core::fixtures::{self, NewBuild};
use koschei_core::model::{BuildState, CollectionState, MessageState, PackageState, SkipReason};
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;

/// `package_state(p)` and `package_msg_state(p)`, decoded as the Rust enums.
async fn states(pool: &PgPool, package_id: i32) -> (PackageState, MessageState) {
    sqlx::query_as("SELECT package_state(p), package_msg_state(p) FROM package p WHERE id = $1")
        .bind(package_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn build_states_are_exactly_the_codes_the_schema_allows(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    let b = fixtures::build(&pool, p, NewBuild::new(BuildState::Running, 1.0)).await;
    // Every Rust state is accepted by `build_state_valid` and decodes back.
    for state in BuildState::ALL {
        sqlx::query("UPDATE build SET state = $2 WHERE id = $1")
            .bind(b)
            .bind(state)
            .execute(&pool)
            .await
            .unwrap();
        let (decoded, code): (BuildState, i32) =
            sqlx::query_as("SELECT state, state FROM build WHERE id = $1")
                .bind(b)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((decoded, code), (state, state.code()));
    }
    // No other code is: the neighbours of the Rust codes are rejected.
    for code in [0, 1, 8] {
        assert!(BuildState::from_code(code).is_err());
        let err = sqlx::query("UPDATE build SET state = $2 WHERE id = $1")
            .bind(b)
            .bind(code)
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("build_state_valid"),
            "{code}: {err}"
        );
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn package_state_function_uses_the_rust_build_codes(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    assert_eq!(
        states(&pool, p).await,
        (PackageState::Unknown, MessageState::Ignored)
    );
    let b = fixtures::build(&pool, p, NewBuild::new(BuildState::Running, 1.0)).await;
    assert_eq!(
        states(&pool, p).await,
        (PackageState::Unknown, MessageState::Ignored)
    );
    // `package_state` reads `last_complete_build_state = 3 / 5`.
    for (build, package) in [
        (BuildState::Complete, PackageState::Ok),
        (BuildState::Failed, PackageState::Failing),
    ] {
        sqlx::query("UPDATE build SET state = $2 WHERE id = $1")
            .bind(b)
            .bind(build)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(states(&pool, p).await, (package, package.into()), "{build}");
    }
    for (column, package) in [
        ("resolved", PackageState::Unresolved),
        ("tracked", PackageState::Untracked),
    ] {
        sqlx::query(&format!(
            "UPDATE package SET {column} = false WHERE id = $1"
        ))
        .bind(p)
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(states(&pool, p).await, (package, package.into()));
    }
    sqlx::query("UPDATE package SET blocked = true WHERE id = $1")
        .bind(p)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        states(&pool, p).await,
        (PackageState::Blocked, MessageState::Ignored)
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn skip_reasons_and_collection_states_match_the_functions(pool: PgPool) {
    let c = fixtures::collection(&pool, "f25").await;
    let p = fixtures::package(&pool, c, "rnv").await;
    for (reason, text) in [
        (SkipReason::NoSrpm, "No suitable SRPM was found"),
        (SkipReason::NoArch, "No build architecture allowed for SRPM"),
    ] {
        sqlx::query("UPDATE package SET scheduler_skip_reason = $2 WHERE id = $1")
            .bind(p)
            .bind(reason)
            .execute(&pool)
            .await
            .unwrap();
        let (stored, reasons): (SkipReason, Vec<String>) = sqlx::query_as(
            "SELECT p.scheduler_skip_reason, package_skip_reasons(p, c)
             FROM package p JOIN collection c ON c.id = p.collection_id WHERE p.id = $1",
        )
        .bind(p)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(stored, reason);
        assert!(reasons.iter().any(|r| r == text), "{reason:?}: {reasons:?}");
    }
    for resolved in [Some(true), Some(false), None] {
        let state: CollectionState = sqlx::query_scalar(
            "UPDATE collection c
             SET latest_repo_resolved = $2, latest_repo_id = CASE WHEN $2 IS NOT NULL THEN 123 END
             WHERE id = $1 RETURNING collection_state(c)",
        )
        .bind(c)
        .bind(resolved)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(state, CollectionState::from_resolved(resolved));
    }
}
