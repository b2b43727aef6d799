//! Extreme stored priorities (every component at the int4 limits, as an
//! unbounded edit or a hand-made update could leave them) do not stop the
//! scheduler: the candidate query sums them without overflow and a
//! decision is made.

use koschei_core::koji_sessions::{client_config, KojiSessions};
use koschei_core::Config;
use koschei_koji::client::KojiClient;
use koschei_scheduler::decision::{Decision, Scheduler};
use sqlx::PgPool;

use koschei_core::db::MIGRATOR as MIGRATIONS;

#[sqlx::test(migrator = "MIGRATIONS")]
async fn decision_with_extreme_priorities(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let sim = koji_sim::start_for_tests(dir.path(), None)
        .await
        .expect("koji-sim starts");
    let mut config = Config::default();
    config.koji_config.server = sim.hub_url.clone();
    config.koji_config.topurl = sim.topurl.clone();
    config.koji_config.session_opts.max_retries = 2;
    config.koji_config.session_opts.retry_interval = 0.05;
    config.koji_config.load_threshold = 1.0;
    let koji = KojiClient::anonymous(client_config(&config.koji_config, 100)).unwrap();
    let sessions = KojiSessions::new(koji.clone(), None);
    let repo = koji
        .get_repo("f99-build", koschei_koji::model::RepoState::Ready)
        .await
        .unwrap()
        .expect("a first repo");
    sqlx::query(
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, latest_repo_id, latest_repo_resolved)
         VALUES ('f99', 'Fedora 99', 'f99', 'f99', 'f99-build', $1, true)",
    )
    .bind(i32::try_from(repo.id).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    let report = koschei_poller::poll(&pool, &sessions, &config)
        .await
        .unwrap();
    assert!(report.real_builds_registered >= 2, "{report:?}");
    // One package at the top of the int4 range, the others at the bottom.
    sqlx::query(
        "UPDATE package SET tracked = true, resolved = true,
                manual_priority = -2147483648, static_priority = -2147483648,
                dependency_priority = -2147483648, build_priority = -2147483648",
    )
    .execute(&pool)
    .await
    .unwrap();
    let top: String = sqlx::query_scalar(
        "UPDATE package SET manual_priority = 2147483647, static_priority = 2147483647,
                dependency_priority = 2147483647, build_priority = 2147483647
         WHERE id = (SELECT min(id) FROM package WHERE last_build_id IS NOT NULL) RETURNING name",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    let mut scheduler = Scheduler::new(pool.clone(), sessions, config);
    match scheduler.decide().await.expect("a decision") {
        Decision::Submitted {
            package, priority, ..
        } => {
            assert_eq!(package, top);
            assert!(priority > 8.0e9, "{priority}");
        }
        other => panic!("expected a submission, got {other:?}"),
    }
    let reason: serde_json::Value = sqlx::query_scalar(
        "SELECT b.submit_reason FROM build b JOIN package p ON p.id = b.package_id
         WHERE p.name = $1 AND NOT b.real",
    )
    .bind(&top)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(reason["manual"], 2147483647);
}
