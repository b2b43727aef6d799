//! The web frontend's sections: `frontend` (with its limits and proxy
//! authentication), `bugreport` and the package page `links`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Web frontend (`frontend`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontendConfig {
    pub listen: String,
    pub external_url: Option<String>,
    pub frontpage: String,
    pub packages_per_page: i64,
    pub builds_per_page: i64,
    /// Secret for signing session cookies (Koschei's `flask.SECRET_KEY`):
    /// at least 32 characters; koschei-web refuses to start without one
    /// unless `bypass_login` is set.
    pub secret_key: Option<String>,
    /// Seconds a session lasts after login (or after its first use).
    pub session_lifetime: u64,
    /// Marks the session cookie `Secure` (sent over HTTPS only); turn off
    /// only for plain-HTTP development.
    pub secure_cookie: bool,
    pub auth: AuthConfig,
    pub limits: WebLimits,
    pub cache: PageCacheConfig,
}

impl Default for FrontendConfig {
    fn default() -> Self {
        FrontendConfig {
            listen: "127.0.0.1:8080".into(),
            external_url: None,
            frontpage: "package_list".into(),
            packages_per_page: 100,
            builds_per_page: 15,
            secret_key: None,
            session_lifetime: 7 * 24 * 3600,
            secure_cookie: true,
            auth: AuthConfig::default(),
            limits: WebLimits::default(),
            cache: PageCacheConfig::default(),
        }
    }
}

/// Resource limits of koschei-web (`frontend.limits`); times in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebLimits {
    /// Time to answer a request (until the response starts); then 503.
    pub request_timeout: f64,
    /// Time a client has to send the request headers (against slowloris);
    /// then the connection is closed.
    pub header_read_timeout: f64,
    /// Requests handled at once; further ones are answered 503 at once.
    pub max_concurrent_requests: usize,
    /// Time a database statement of the web may run.
    pub statement_timeout: f64,
    /// Most elements of an unpaginated API list (`/api/v1/packages`
    /// without `page`): longer lists must be paged.
    pub max_unpaginated: i64,
    /// Largest `per_page` of API lists.
    pub max_per_page: i64,
    /// Event streams (`/api/v1/events`) open at once; further ones are
    /// answered 503 with Retry-After. Open streams do not count against
    /// `max_concurrent_requests` (their response has started).
    pub max_event_streams: usize,
    /// Most affected packages an impact check's page lists (regressions and
    /// packages the change makes unresolvable first); the API and the CLI
    /// give them all.
    pub max_impact_packages: i64,
}

impl Default for WebLimits {
    fn default() -> Self {
        WebLimits {
            request_timeout: 60.0,
            header_read_timeout: 10.0,
            max_concurrent_requests: 64,
            statement_timeout: 30.0,
            max_unpaginated: 100_000,
            max_per_page: 1000,
            max_event_streams: 1000,
            max_impact_packages: 500,
        }
    }
}

/// koschei-web's cache of anonymous answers (`frontend.cache`): answers are
/// dropped when the database says their data changed, never on a timer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageCacheConfig {
    /// Off: every request is answered from the database.
    pub enabled: bool,
    /// Memory the cached answers may take, in MiB.
    pub size_mb: u64,
    /// Seconds an answer showing relative times ("2 hours ago") or
    /// time-based priorities is kept even if its data did not change.
    pub time_dependent_max_age: f64,
}

impl Default for PageCacheConfig {
    fn default() -> Self {
        PageCacheConfig {
            enabled: true,
            size_mb: 256,
            time_dependent_max_age: 60.0,
        }
    }
}

/// Identity from a trusted reverse proxy (`frontend.auth`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Off unless enabled: identity headers are ignored otherwise.
    pub enabled: bool,
    /// Request header carrying the identity (Koschei read `REMOTE_USER`).
    pub user_header: String,
    /// Regex matched against the whole identity; group 1 is the user name.
    pub user_re: String,
    /// Peers (addresses or CIDR networks) whose identity header is believed:
    /// the authenticating reverse proxy. Loopback only by default.
    pub trusted_proxies: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: false,
            user_header: "X-Remote-User".into(),
            user_re: "(.+)".into(),
            trusted_proxies: vec!["127.0.0.1".into(), "::1".into()],
        }
    }
}

/// FTBFS bug report template (`bugreport`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BugreportConfig {
    pub url: String,
    pub template: BTreeMap<String, String>,
}

impl Default for BugreportConfig {
    fn default() -> Self {
        let template = [
            ("product", "{collection.bugzilla_product}"),
            ("component", "{name}"),
            ("version", "{collection.bugzilla_version}"),
            ("short_desc", "{name}: FTBFS in {collection.display_name}"),
            ("bug_file_loc", "{url}"),
            (
                "comment",
                "Description of problem:\nPackage {name} fails to build from source in {collection.display_name}.\n\n\
                 Version-Release number of selected component (if applicable):\n{version}-{release}\n\n\
                 Steps to Reproduce:\nkoji build --scratch {collection.target} {name}-{version}-{release}.src.rpm\n\n\
                 Additional info:\nThis package is tracked by Koschei. See:\n{url}",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        BugreportConfig {
            url: "https://bugzilla.redhat.com/enter_bug.cgi?{query}".into(),
            template,
        }
    }
}

/// An external link on package pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub name: String,
    pub url: String,
}

/// The original's `links` (`config.cfg.template`).
pub(super) fn default_links() -> Vec<Link> {
    [
        ("Packages", "https://packages.fedoraproject.org/pkgs/{package.name}"),
        ("Bugzilla", "https://bugzilla.redhat.com/buglist.cgi?product={package.collection.bugzilla_product}&component={package.name}"),
        ("Bodhi", "https://bodhi.fedoraproject.org/updates?packages={package.name}"),
        ("Dist-git", "https://src.fedoraproject.org/rpms/{package.name}.git"),
        ("Koji", "https://koji.fedoraproject.org/koji/packageinfo?packageID={package.name}"),
    ]
    .into_iter()
    .map(|(name, url)| Link { name: name.into(), url: url.into() })
    .collect()
}
