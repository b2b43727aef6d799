//! The backend services' sections: database, dependency resolution,
//! priorities, per-service loops, the message bus, publishing and directories.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Database URL parts (`database_config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub drivername: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Seconds a statement may run before PostgreSQL cancels it, for the
    /// services' connections; unlimited when unset. koschei-web uses
    /// `frontend.limits.statement_timeout` instead.
    pub statement_timeout: Option<f64>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            drivername: "postgresql".into(),
            host: Some("localhost".into()),
            port: None,
            database: "koschei".into(),
            username: None,
            password: None,
            statement_timeout: None,
        }
    }
}
/// Dependency resolution (`dependency`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DependencyConfig {
    pub ignore_weak_deps: bool,
    pub persist_chunk_size: usize,
    pub perf_report_interval: u64,
    pub dependency_cache_capacity: usize,
    pub resolver_queue_size: usize,
    pub cache_l2_capacity: usize,
    pub resolve_for_arch: String,
    pub repo_arch: String,
    /// Worker threads for resolution; 0 = one per core.
    pub resolver_threads: usize,
    /// Check every binary package of a collection's new repo for installability.
    pub check_installability: bool,
}

impl Default for DependencyConfig {
    fn default() -> Self {
        DependencyConfig {
            ignore_weak_deps: false,
            persist_chunk_size: 150,
            perf_report_interval: 60,
            dependency_cache_capacity: 3000,
            resolver_queue_size: 300,
            cache_l2_capacity: 100,
            resolve_for_arch: "x86_64".into(),
            repo_arch: "x86_64".into(),
            resolver_threads: 0,
            check_installability: true,
        }
    }
}

/// Priority formula settings (`priorities`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorityConfig {
    pub newly_added: i32,
    pub build_threshold: f64,
    pub package_update: f64,
    pub failed_build_priority: i32,
    /// Hours.
    pub t0: f64,
    /// Hours.
    pub t1: f64,
    /// First retry delay after an infrastructure failure, seconds (doubles
    /// per consecutive failure).
    pub infra_retry_base: u64,
    /// Longest retry delay after infrastructure failures, seconds.
    pub infra_retry_cap: u64,
}

impl Default for PriorityConfig {
    fn default() -> Self {
        PriorityConfig {
            newly_added: 3000,
            build_threshold: 256.0,
            package_update: 256.0,
            failed_build_priority: 200,
            t0: 6.0,
            t1: 168.0,
            infra_retry_base: 3600,
            infra_retry_cap: 7 * 24 * 3600,
        }
    }
}

/// Loop settings of one service (`services.<name>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Seconds between iterations.
    pub interval: Option<f64>,
    /// Resident memory limit in KiB (exit code 3 when exceeded).
    pub memory_limit: Option<u64>,
    /// Virtual memory limit in KiB.
    pub virtual_memory_limit: Option<u64>,
    /// Feed the systemd watchdog.
    pub watchdog: Option<bool>,
}

/// Message bus consumption (`fedmsg`). The broker keys left unset here
/// (`None`) are taken from fedora-messaging's configuration file
/// (`FEDORA_MESSAGING_CONF`, else `/etc/fedora-messaging/config.toml`); keys
/// set here override the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FedmsgConfig {
    /// Topic prefix of Koji messages.
    pub topic: String,
    /// Koji instance name accepted in and written to messages.
    pub instance: String,
    /// AMQP broker URL (default: the file's `amqp_url`); the watcher does
    /// not start without one.
    pub amqp_url: Option<String>,
    /// Exchange bound for Koji messages and published to (default: the
    /// file's `publish_exchange`, else `amq.topic`).
    pub exchange: Option<String>,
    /// Queue consumed (default: the file's `[queues]`, else `koschei`).
    pub queue: Option<String>,
    /// Whether that queue survives a broker restart (default: the file's
    /// setting for the queue, else true).
    pub queue_durable: Option<bool>,
    /// TLS client certificate and key (PEM) and CA for `amqps://` (default:
    /// the file's `[tls]` certfile, keyfile, ca_cert).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_ca: Option<PathBuf>,
    /// Deliveries of a message that keeps failing transiently before it is
    /// rejected (dead-lettered when its queue has a dead-letter exchange).
    pub max_deliveries: u32,
}

impl Default for FedmsgConfig {
    fn default() -> Self {
        FedmsgConfig {
            topic: "org.fedoraproject.prod.buildsys".into(),
            instance: "primary".into(),
            amqp_url: None,
            exchange: None,
            queue: None,
            queue_durable: None,
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            max_deliveries: 10,
        }
    }
}

/// Publishing of state changes (`fedmsg-publisher`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublisherConfig {
    pub enabled: bool,
    /// Topic prefix of published messages (`<modname>.package.state.change`).
    pub modname: String,
    /// Prefix put before the topic on the bus, e.g. `org.fedoraproject.prod`
    /// (default: fedora-messaging's `topic_prefix`, else
    /// `org.fedoraproject.prod`).
    pub topic_prefix: Option<String>,
}

impl Default for PublisherConfig {
    fn default() -> Self {
        PublisherConfig {
            enabled: false,
            modname: "koschei".into(),
            topic_prefix: None,
        }
    }
}

/// Paths (`directories`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoriesConfig {
    pub cachedir: PathBuf,
    pub static_folder: Option<PathBuf>,
    pub static_url: String,
}

impl Default for DirectoriesConfig {
    fn default() -> Self {
        DirectoriesConfig {
            cachedir: PathBuf::from("/var/cache/koschei"),
            static_folder: None,
            static_url: "/static".into(),
        }
    }
}
/// Default interval of a service's loop in seconds.
pub(super) fn default_interval(service: &str) -> f64 {
    match service {
        "poller" | "polling" => 1200.0,
        _ => 3.0,
    }
}
