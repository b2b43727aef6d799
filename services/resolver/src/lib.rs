//! Koschei resolver: the repo resolver and the build resolver (the original's
//! `koschei/backend/services/{repo_resolver,build_resolver,resolver}.py`) as a library,
//! so that tests and the benchmark (the example `resolver-bench`) drive the same code as
//! the service.

pub mod build_requires;
pub mod build_resolver;
pub mod comparison;
pub mod context;
pub mod delta_planner;
pub mod dependency_cache;
pub mod dependency_keys;
pub mod impact_check;
pub mod impact_compare;
pub mod incremental;
pub mod installability;
pub mod package_deps;
pub mod package_persist;
pub mod previous_pass;
pub mod rebuild_check;
pub mod repo_env;
pub mod repo_notify;
pub mod repo_resolver;
pub mod secondary_repos;
pub mod service;
pub mod session_lock;
pub mod solver_pool;
pub mod step_times;
pub mod stored_trace;
pub mod work_queue;
pub mod work_stats;
