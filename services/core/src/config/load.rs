//! Loading the configuration: finding the files, merging them over the
//! defaults, the secondary hub's inheritance, validation, and derived values.

use std::path::{Path, PathBuf};

use super::backend::default_interval;
use super::{Config, ConfigError, ServiceConfig, DEFAULT_CONFIG_PATH};

impl Config {
    /// Loads the configuration: `KOSCHEI_CONFIG` (or the default path when it
    /// exists) followed by `extra` files.
    pub fn load(extra: &[PathBuf]) -> Result<Config, ConfigError> {
        let mut paths: Vec<PathBuf> = match std::env::var("KOSCHEI_CONFIG") {
            Ok(list) if !list.is_empty() => list
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect(),
            _ if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                vec![PathBuf::from(DEFAULT_CONFIG_PATH)]
            }
            _ => Vec::new(),
        };
        paths.extend(extra.iter().cloned());
        Self::from_files(&paths)
    }

    /// Merges the given files in order over the defaults (no environment).
    pub fn from_files(paths: &[PathBuf]) -> Result<Config, ConfigError> {
        let mut merged = toml::Table::new();
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let table: toml::Table = text.parse().map_err(|source| ConfigError::Parse {
                path: path.clone(),
                source,
            })?;
            merge_tables(&mut merged, table);
        }
        Self::from_table(merged).map_err(|e| match (e, paths) {
            (ConfigError::Invalid(msg), [.., _]) => ConfigError::Invalid(format!(
                "{msg} (in {})",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (e, _) => e,
        })
    }

    /// Builds the configuration from one merged TOML table.
    pub fn from_table(mut table: toml::Table) -> Result<Config, ConfigError> {
        // The secondary hub inherits every primary key not given for it.
        let secondary = table.remove("secondary_koji_config");
        let secondary_mode = matches!(&secondary, Some(toml::Value::Table(t)) if !t.is_empty());
        let mut effective = match table.get("koji_config") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => toml::Table::new(),
        };
        match secondary {
            Some(toml::Value::Table(t)) => merge_tables(&mut effective, t),
            Some(_) => {
                return Err(ConfigError::Invalid(
                    "secondary_koji_config must be a table".into(),
                ))
            }
            None => {}
        }
        table.insert(
            "secondary_koji_config".into(),
            toml::Value::Table(effective),
        );
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        config.secondary_mode = secondary_mode;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let p = &self.priorities;
        if !(p.t0 > 0.0 && p.t1 > p.t0) {
            return Err(ConfigError::Invalid(format!(
                "priorities.t0 ({}) must be positive and below priorities.t1 ({})",
                p.t0, p.t1
            )));
        }
        for k in [&self.koji_config, &self.secondary_koji_config] {
            k.login().map_err(ConfigError::Invalid)?;
        }
        if self.koji_config.multicall_chunk_size == 0 {
            return Err(ConfigError::Invalid(
                "koji_config.multicall_chunk_size must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The database URL: `DATABASE_URL`, else `db_url`, else built from
    /// `database_config`.
    pub fn database_url(&self) -> String {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if !url.is_empty() {
                return url;
            }
        }
        if let Some(url) = &self.db_url {
            return url.clone();
        }
        let d = &self.database_config;
        let mut url = String::from("postgres://");
        if let Some(user) = &d.username {
            url.push_str(user);
            if let Some(pw) = &d.password {
                url.push(':');
                url.push_str(pw);
            }
            url.push('@');
        }
        url.push_str(d.host.as_deref().unwrap_or("localhost"));
        if let Some(port) = d.port {
            url.push_str(&format!(":{port}"));
        }
        url.push('/');
        url.push_str(&d.database);
        url
    }

    /// Loop settings of `service` with defaults filled in.
    pub fn service(&self, service: &str) -> ServiceConfig {
        let mut s = self.services.get(service).cloned().unwrap_or_default();
        s.interval.get_or_insert_with(|| default_interval(service));
        s.watchdog.get_or_insert(service == "watcher");
        s
    }
}

/// Recursively merges `overlay` into `base` (tables merge, other values replace).
fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn defaults_match_koschei() {
        let c = Config::from_files(&[]).unwrap();
        assert_eq!(c.koji_config.max_builds, 30);
        assert_eq!(c.koji_config.load_threshold, 0.5);
        assert_eq!(c.koji_config.task_priority, 30);
        assert_eq!(c.koji_config.task_timeout, 172_800);
        assert_eq!(c.koji_config.multicall_chunk_size, 100);
        assert_eq!(c.koji_config.build_arches, ["i386", "x86_64", "armhfp"]);
        assert_eq!(c.priorities.build_threshold, 256.0);
        assert_eq!(c.priorities.newly_added, 3000);
        assert_eq!(c.priorities.failed_build_priority, 200);
        assert_eq!((c.priorities.t0, c.priorities.t1), (6.0, 168.0));
        assert_eq!(c.dependency.persist_chunk_size, 150);
        assert_eq!(c.dependency.cache_l2_capacity, 100);
        assert_eq!(c.dependency.dependency_cache_capacity, 3000);
        assert_eq!(c.service("scheduler").interval, Some(3.0));
        assert_eq!(c.service("poller").interval, Some(1200.0));
        assert_eq!(c.service("watcher").watchdog, Some(true));
        assert_eq!(c.service("resolver").watchdog, Some(false));
        assert!(!c.fedmsg_publisher.enabled);
        assert_eq!(c.fedmsg.topic, "org.fedoraproject.prod.buildsys");
        assert!(!c.secondary_mode);
        assert_eq!(c.secondary_koji_config, c.koji_config);
    }

    #[test]
    fn files_merge_in_order_and_secondary_inherits() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.toml",
            "[koji_config]\nserver = \"https://a/kojihub\"\nmax_builds = 5\n[priorities]\nt0 = 2\n",
        );
        let b = write(
            dir.path(),
            "b.toml",
            "[koji_config]\nmax_builds = 7\n[secondary_koji_config]\ntopurl = \"https://sec\"\n",
        );
        let c = Config::from_files(&[a, b]).unwrap();
        assert_eq!(c.koji_config.server, "https://a/kojihub");
        assert_eq!(c.koji_config.max_builds, 7);
        assert_eq!(c.priorities.t0, 2.0);
        assert_eq!(c.priorities.t1, 168.0);
        assert!(c.secondary_mode);
        assert_eq!(c.secondary_koji_config.topurl, "https://sec");
        assert_eq!(c.secondary_koji_config.server, "https://a/kojihub");
        assert_eq!(c.secondary_koji_config.max_builds, 7);
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let typo = write(dir.path(), "typo.toml", "[koji_config]\nmax_bulds = 5\n");
        let err = Config::from_files(&[typo]).unwrap_err().to_string();
        assert!(err.contains("max_bulds"), "{err}");
        let broken = write(dir.path(), "broken.toml", "[koji_config\n");
        assert!(matches!(
            Config::from_files(&[broken]),
            Err(ConfigError::Parse { .. })
        ));
        let missing = dir.path().join("missing.toml");
        assert!(matches!(
            Config::from_files(&[missing]),
            Err(ConfigError::Read { .. })
        ));
        let bad_t = write(dir.path(), "t.toml", "[priorities]\nt0 = 200\n");
        assert!(Config::from_files(&[bad_t])
            .unwrap_err()
            .to_string()
            .contains("t0"));
    }

    #[test]
    fn database_url_from_parts() {
        let mut c = Config::default();
        c.database_config.username = Some("koschei".into());
        c.database_config.port = Some(5544);
        // DATABASE_URL may be set in the test environment; the parts are only
        // used without it.
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(
                c.database_url(),
                "postgres://koschei@localhost:5544/koschei"
            );
            c.db_url = Some("postgres://x/y".into());
            assert_eq!(c.database_url(), "postgres://x/y");
        }
    }

    #[test]
    fn example_config_parses_and_keeps_defaults() {
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../koschei.toml.example");
        let c = Config::from_files(&[example]).unwrap();
        assert_eq!(
            c.koji_config.max_builds,
            Config::default().koji_config.max_builds
        );
        assert_eq!(c.impact, Config::default().impact);
    }
}
