//! Secondary mode against two koji-sim hubs (the original's
//! `koschei/plugins/repo_regen_plugin/backend.py`): the polling pass sets the collection up
//! on the primary, points its build tag at the secondary's repo, starts `newRepo` and
//! records the mapping the resolver then accepts the secondary repo by; a pass with no new
//! secondary repo changes nothing; a refused Koji call loses nothing and leaves no mapping.

use std::time::Duration;

use koschei_core::db::MIGRATOR as MIGRATIONS;
use koschei_core::koji_sessions::{client_config, KojiSessions};
use koschei_core::{Backend, Config};
use koschei_koji::{KojiClient, RepoState, TaskState, Value};
use koschei_poller::{poll, PollReport};
use koschei_resolver::context::Context;
use koschei_resolver::repo_resolver::{plan_collection, Planned};
use sqlx::PgPool;

struct Env {
    primary_sim: koji_sim::Running,
    secondary_sim: koji_sim::Running,
    primary: KojiClient,
    secondary: KojiClient,
    sessions: KojiSessions,
    config: Config,
    pool: PgPool,
    collection_id: i32,
    _dir: tempfile::TempDir,
}

/// Two hubs on the tiny seed: the secondary holds collection `f99` (READY repo 1000), the
/// primary only its own `p99`; collection `f99` registered in secondary mode, no repo yet.
async fn env(pool: PgPool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let secondary_sim = koji_sim::start_for_tests(&dir.path().join("secondary"), None)
        .await
        .unwrap();
    let mut primary_config = koji_sim::test_config(&dir.path().join("primary"), None);
    primary_config.collection = "p99".into();
    let primary_sim = koji_sim::start(primary_config).await.unwrap();
    let mut config = Config::default();
    config.koji_config.server = primary_sim.hub_url.clone();
    config.koji_config.topurl = primary_sim.topurl.clone();
    config.koji_config.build_arches = vec!["x86_64".into()];
    config.koji_config.session_opts.max_retries = 1;
    config.koji_config.session_opts.retry_interval = 0.05;
    config.secondary_koji_config = config.koji_config.clone();
    config.secondary_koji_config.server = secondary_sim.hub_url.clone();
    config.secondary_koji_config.topurl = secondary_sim.topurl.clone();
    config.secondary_koji_config.repo_url = Some(format!(
        "{}/repos/{{build_tag}}/{{repo_id}}/{{arch}}",
        secondary_sim.topurl
    ));
    config.secondary_mode = true;
    config.directories.cachedir = dir.path().join("cache");
    let primary = KojiClient::anonymous(client_config(&config.koji_config, 100)).unwrap();
    let secondary =
        KojiClient::anonymous(client_config(&config.secondary_koji_config, 100)).unwrap();
    let sessions = KojiSessions::new(primary.clone(), Some(secondary.clone()));
    let collection_id = sqlx::query_scalar(
        "INSERT INTO collection (name, display_name, target, dest_tag, build_tag, secondary_mode)
         VALUES ('f99', 'Fedora 99', 'f99', 'f99', 'f99-build', true) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    Env {
        primary_sim,
        secondary_sim,
        primary,
        secondary,
        sessions,
        config,
        pool,
        collection_id,
        _dir: dir,
    }
}

impl Env {
    async fn poll(&self) -> PollReport {
        let backend = Backend::new(
            self.pool.clone(),
            self.sessions.clone(),
            self.config.clone(),
        );
        poll(&backend).await.unwrap()
    }

    /// `repo_mapping` rows: (secondary id, primary id, task id).
    async fn mappings(&self) -> Vec<(i32, Option<i32>, i32)> {
        sqlx::query_as(
            "SELECT secondary_id, primary_id, task_id FROM repo_mapping ORDER BY secondary_id",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// The primary's `newRepo` tasks.
    fn new_repo_tasks(&self) -> Vec<i64> {
        let st = self.primary_sim.sim.lock();
        st.tasks
            .values()
            .filter(|t| t.method == "newRepo")
            .map(|t| t.id)
            .collect()
    }

    /// (name, url) of the external repos of the primary's f99-build.
    async fn external_repos(&self) -> Vec<(String, String)> {
        self.primary
            .get_tag_external_repos("f99-build")
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.external_repo_name, r.url))
            .collect()
    }

    fn secondary_repo_url(&self, repo_id: i32) -> String {
        format!(
            "{}/repos/f99-build/{repo_id}/$arch/",
            self.secondary_sim.topurl
        )
    }

    async fn wait_closed(&self, task_id: i32) {
        for _ in 0..300 {
            let info = self
                .primary
                .get_task_info(i64::from(task_id), false)
                .await
                .unwrap()
                .unwrap();
            if info.state.is_finished() {
                assert_eq!(info.state, TaskState::Closed);
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("newRepo task {task_id} did not finish");
    }

    async fn fail_next(&self, method: &str) {
        self.primary
            .call("sim.failNext", vec![Value::str(method), Value::Int(1)])
            .await
            .unwrap();
    }
}

/// (group, sorted package names) of a tag's groups.
async fn groups(koji: &KojiClient) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = koji
        .get_tag_groups("f99-build", None)
        .await
        .unwrap()
        .into_iter()
        .map(|g| {
            let mut names: Vec<String> = g.packagelist.into_iter().map(|p| p.package).collect();
            names.sort();
            (g.name, names)
        })
        .collect();
    out.sort();
    out
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn polling_regenerates_the_secondary_repo_on_the_primary(pool: PgPool) {
    let env = env(pool).await;
    assert!(env.primary.get_tag("f99-build").await.unwrap().is_none());

    let report = env.poll().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.repos_requested, 1);
    // tags, target and build groups on the primary
    for tag in ["f99", "f99-build"] {
        let info = env.primary.get_tag(tag).await.unwrap().unwrap();
        assert_eq!(info.arches.as_deref(), Some("x86_64"), "{tag}");
    }
    let target = env.primary.get_build_target("f99").await.unwrap().unwrap();
    assert_eq!(
        (
            target.build_tag_name.as_str(),
            target.dest_tag_name.as_str()
        ),
        ("f99-build", "f99")
    );
    let copied = groups(&env.primary).await;
    assert!(
        copied
            .iter()
            .any(|(g, p)| g == "build" && p.contains(&"bash".to_owned())),
        "{copied:?}"
    );
    assert_eq!(copied, groups(&env.secondary).await);
    // the external repo, the newRepo task and the mapping
    assert_eq!(
        env.external_repos().await,
        [("f99-1000".to_owned(), env.secondary_repo_url(1000))]
    );
    let tasks = env.new_repo_tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(env.mappings().await, [(1000, None, tasks[0] as i32)]);

    // once the task closed, the resolver takes the secondary repo
    env.wait_closed(tasks[0] as i32).await;
    let ctx = Context::new(env.pool.clone(), env.config.clone(), env.sessions.clone()).unwrap();
    let c = ctx.collection(env.collection_id).await.unwrap().unwrap();
    let planned = plan_collection(&ctx, &c).await.unwrap();
    assert!(
        matches!(planned, Planned::NewRepo(1000, true, _)),
        "{planned:?}"
    );
    let primary_repo = env
        .primary
        .get_repo("f99-build", RepoState::Ready)
        .await
        .unwrap()
        .unwrap()
        .id as i32;
    assert_eq!(
        env.mappings().await,
        [(1000, Some(primary_repo), tasks[0] as i32)]
    );

    // no new secondary repo: nothing happens
    let report = env.poll().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.repos_requested, 0);
    assert_eq!(env.new_repo_tasks(), tasks);
    assert_eq!(env.mappings().await.len(), 1);
    assert_eq!(env.external_repos().await.len(), 1);

    // a new secondary repo replaces the external repo
    let next = env
        .secondary
        .call("sim.regenRepo", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap() as i32;
    let report = env.poll().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.repos_requested, 1);
    assert_eq!(
        env.external_repos().await,
        [(format!("f99-{next}"), env.secondary_repo_url(next))]
    );
    assert_eq!(env.new_repo_tasks().len(), 2);
    assert_eq!(env.mappings().await.len(), 2);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_refused_koji_call_is_reported_and_retried_without_a_half_mapping(pool: PgPool) {
    let env = env(pool).await;

    // a group package refused: no target yet, so the groups are copied again next time
    env.fail_next("groupPackageListAdd").await;
    let report = env.poll().await;
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].contains("groupPackageListAdd"),
        "{:?}",
        report.errors
    );
    // the rest of the pass went on
    assert!(
        report.packages_added > 0 && report.real_builds_registered > 0,
        "{report:?}"
    );
    assert!(env.primary.get_build_target("f99").await.unwrap().is_none());
    assert!(env.mappings().await.is_empty());

    // newRepo refused after the external repo was put in place: no mapping
    env.fail_next("newRepo").await;
    let report = env.poll().await;
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0].contains("newRepo"), "{:?}", report.errors);
    assert_eq!(report.repos_requested, 0);
    assert!(env.primary.get_build_target("f99").await.unwrap().is_some());
    assert_eq!(groups(&env.primary).await, groups(&env.secondary).await);
    assert!(env.new_repo_tasks().is_empty());
    assert!(env.mappings().await.is_empty());

    // the next pass completes it: the same external repo, one task, one mapping
    let report = env.poll().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.repos_requested, 1);
    assert_eq!(
        env.external_repos().await,
        [("f99-1000".to_owned(), env.secondary_repo_url(1000))]
    );
    let tasks = env.new_repo_tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(env.mappings().await, [(1000, None, tasks[0] as i32)]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_secondary_mode_collection_without_a_secondary_hub_is_an_error(pool: PgPool) {
    let mut env = env(pool).await;
    env.config.secondary_mode = false;
    env.sessions = KojiSessions::new(env.primary.clone(), None);
    let report = env.poll().await;
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("no [secondary_koji_config]")),
        "{:?}",
        report.errors
    );
    assert!(env.primary.get_tag("f99-build").await.unwrap().is_none());
    assert!(env.mappings().await.is_empty());
}
