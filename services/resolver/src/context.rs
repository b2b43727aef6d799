//! What the resolvers share within one process: database pool, configuration, Koji
//! sessions and the in-memory caches.

use std::sync::Arc;
use std::time::Duration;

use koschei_core::koji_sessions::KojiSessions;
use koschei_core::Config;
use koschei_depsolve::ResolveOptions;
use koschei_koji::KojiClient;
use sqlx::PgPool;

use crate::build_requires::BuildRequiresCache;
use crate::delta_planner::DeltaCache;
use crate::dependency_cache::DependencyCache;
use crate::previous_pass::PassCache;
use crate::repo_env::{PreparedRepo, RepoEnvironments, RepoRequest};
use crate::solver_pool::SolverPool;

/// Default lease of a claimed work chunk.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// A collection as the resolvers see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CollectionInfo {
    /// Id.
    pub id: i32,
    /// Name.
    pub name: String,
    /// Koji build tag.
    pub build_tag: String,
    /// comps group of the buildroot.
    pub build_group: String,
    /// Data from the secondary Koji.
    pub secondary_mode: bool,
    /// Last repo whose buildroot was resolved.
    pub latest_repo_id: Option<i32>,
    /// Whether that buildroot resolved.
    pub latest_repo_resolved: Option<bool>,
}

impl CollectionInfo {
    /// The Koji instance id used in repo descriptors.
    pub fn koji_id(&self) -> &'static str {
        if self.secondary_mode {
            "secondary"
        } else {
            "primary"
        }
    }

    /// The request for one of its repos.
    pub fn repo(&self, repo_id: i32) -> RepoRequest<'_> {
        RepoRequest {
            koji_id: self.koji_id(),
            build_tag: &self.build_tag,
            build_group: &self.build_group,
            repo_id: i64::from(repo_id),
        }
    }
}

/// Shared state of the resolvers.
pub struct Context {
    /// Database.
    pub pool: PgPool,
    /// Configuration.
    pub config: Arc<Config>,
    /// Koji hubs.
    pub koji: KojiSessions,
    /// Dependency rows.
    pub deps: Arc<DependencyCache>,
    /// Prepared repositories.
    pub repos: RepoEnvironments,
    /// BuildRequires lookups.
    pub brs: BuildRequiresCache,
    /// The delta planner of the latest incremental pass.
    pub deltas: DeltaCache,
    /// The last installability pass of each collection, for the next one.
    pub installability: PassCache,
    /// This instance's id in `resolver_work.claimed_by` (host, pid and a random part).
    pub instance: String,
    /// Lease of claimed work.
    pub lease: Duration,
}

impl Context {
    /// A context with a fresh instance id.
    pub fn new(pool: PgPool, config: Config, koji: KojiSessions) -> anyhow::Result<Context> {
        // /proc/sys is hidden under systemd's ProcSubset=pid; /etc/hostname is not.
        let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let instance = format!(
            "{host}:{}:{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Ok(Context {
            deps: Arc::new(DependencyCache::new(
                config.dependency.dependency_cache_capacity,
            )),
            repos: RepoEnvironments::new(&config)?,
            brs: BuildRequiresCache::default(),
            deltas: DeltaCache::default(),
            installability: PassCache::default(),
            config: Arc::new(config),
            pool,
            koji,
            instance,
            lease: DEFAULT_LEASE,
        })
    }

    /// The Koji session holding a collection's data.
    pub fn koji_for(&self, c: &CollectionInfo) -> &KojiClient {
        self.koji.for_collection(c.secondary_mode)
    }

    /// Options of every resolution.
    pub fn resolve_options(&self) -> ResolveOptions {
        ResolveOptions {
            ignore_weak_deps: self.config.dependency.ignore_weak_deps,
            distances: true,
        }
    }

    /// Solver threads for `repo` with the configured options, threads and queue;
    /// `requests`: the BuildRequires expected, whose reach they solve in.
    pub fn solver_pool(&self, repo: &PreparedRepo, requests: Vec<String>) -> SolverPool {
        let dep = &self.config.dependency;
        SolverPool::start(
            repo.solv.clone(),
            repo.group.clone(),
            self.resolve_options(),
            dep.resolver_threads,
            dep.resolver_queue_size,
            requests,
        )
    }

    /// All collections.
    pub async fn collections(&self) -> sqlx::Result<Vec<CollectionInfo>> {
        sqlx::query_as(
            "SELECT id, name, build_tag, build_group, secondary_mode, latest_repo_id,
                    latest_repo_resolved
             FROM collection ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
    }

    /// One collection.
    pub async fn collection(&self, id: i32) -> sqlx::Result<Option<CollectionInfo>> {
        sqlx::query_as(
            "SELECT id, name, build_tag, build_group, secondary_mode, latest_repo_id,
                    latest_repo_resolved
             FROM collection WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }
}
