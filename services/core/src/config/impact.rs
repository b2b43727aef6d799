//! Impact checks (`impact`): which side tags are checked automatically, which extra
//! repositories may be checked, and the Fedora CI (`koji-build-group`) messages about
//! them (the original's `osci.*` settings).

use serde::{Deserialize, Serialize};

/// `[impact]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImpactConfig {
    /// Side tags checked automatically when Koji announces a new repo of theirs: shell
    /// patterns (`*`, `?`) over the tag name, e.g. `"f42-build-side-*"`. The check is
    /// made against every collection whose build tag the side tag inherits from.
    pub auto_side_tags: Vec<String>,
    /// The only places extra rpm-md repositories are fetched from (the resolver
    /// downloads what a user names): URL prefixes, each ending with `/`. Empty: checks
    /// of repositories are refused.
    pub repo_url_prefixes: Vec<String>,
    /// Fedora CI messages.
    pub osci: OsciConfig,
}

impl Default for ImpactConfig {
    fn default() -> Self {
        ImpactConfig {
            auto_side_tags: Vec::new(),
            repo_url_prefixes: vec!["https://download.copr.fedorainfracloud.org/results/".into()],
            osci: OsciConfig::default(),
        }
    }
}

/// `[impact.osci]`: what the Fedora CI messages say about the system sending them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OsciConfig {
    /// Send `ci.<namespace>.koji-build-group.test.*` messages.
    pub enabled: bool,
    /// The topic's namespace (also the test's).
    pub namespace: String,
    pub contact: serde_json::Value,
    pub pipeline: serde_json::Value,
    /// `test.type` and `test.category` of the messages.
    pub test_type: String,
    pub test_category: String,
}

impl Default for OsciConfig {
    fn default() -> Self {
        OsciConfig {
            enabled: true,
            namespace: "koschei".into(),
            contact: serde_json::json!({
                "name": "Koschei",
                "team": "Koschei",
                "docs": "https://fedoraproject.org/wiki/Koschei",
                "email": "koschei-admins@fedoraproject.org",
                "url": "https://koschei.fedoraproject.org",
                "irc": "#fedora-admin",
            }),
            pipeline: serde_json::json!({"id": "koschei-impact-check", "name": "Koschei impact check"}),
            test_type: "koschei".into(),
            test_category: "integration".into(),
        }
    }
}

impl ImpactConfig {
    /// Whether side tag `name` is checked automatically (`auto_side_tags`).
    pub fn auto_checks(&self, name: &str) -> bool {
        self.auto_side_tags
            .iter()
            .any(|p| glob::Pattern::new(p).is_ok_and(|p| p.matches(name)))
    }

    /// Why repository `url` may not be checked, if it may not: it must be an absolute
    /// `http`/`https` URL without credentials, query or fragment, under one of
    /// `repo_url_prefixes` (compared after normalisation, so `..` cannot leave a prefix).
    pub fn refuse_repo_url(&self, url: &str) -> Option<String> {
        const MAX_LEN: usize = 2048;
        if url.len() > MAX_LEN {
            return Some(format!("Repository URL longer than {MAX_LEN} characters"));
        }
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return Some(format!("Invalid repository URL {url:?}: {e}")),
        };
        if !matches!(parsed.scheme(), "http" | "https") {
            return Some(format!(
                "Repository URL {url:?}: only http and https are fetched"
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Some(format!(
                "Repository URL {url:?}: credentials are not accepted"
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Some(format!(
                "Repository URL {url:?}: a query or fragment is not accepted"
            ));
        }
        let normalised = parsed.as_str();
        let allowed = self.repo_url_prefixes.iter().any(|prefix| {
            prefix.ends_with('/')
                && reqwest::Url::parse(prefix).is_ok_and(|p| normalised.starts_with(p.as_str()))
        });
        if !allowed {
            return Some(if self.repo_url_prefixes.is_empty() {
                "Impact checks of repositories are disabled here ([impact] \
                 repo_url_prefixes is empty)"
                    .to_string()
            } else {
                format!(
                    "Repository URL {url:?} is not under an allowed prefix ({})",
                    self.repo_url_prefixes.join(", ")
                )
            });
        }
        None
    }

    /// The patterns of `auto_side_tags` that are not valid shell patterns.
    pub fn invalid_patterns(&self) -> Vec<&str> {
        self.auto_side_tags
            .iter()
            .filter(|p| glob::Pattern::new(p).is_err())
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::ImpactConfig;

    #[test]
    fn side_tags_checked_automatically() {
        let c = ImpactConfig {
            auto_side_tags: vec!["f42-build-side-*".into(), "*-side-?".into(), "[".into()],
            ..ImpactConfig::default()
        };
        assert!(c.auto_checks("f42-build-side-123"));
        assert!(c.auto_checks("f41-build-side-7"));
        assert!(!c.auto_checks("f41-build-side-77"));
        assert!(!c.auto_checks("f42-build"));
        assert_eq!(c.invalid_patterns(), ["["]);
        assert!(!ImpactConfig::default().auto_checks("f42-build-side-1"));
    }

    #[test]
    fn repository_urls_only_under_a_prefix() {
        let c = ImpactConfig {
            repo_url_prefixes: vec!["https://copr.test/results/".into(), "http://x.test".into()],
            ..ImpactConfig::default()
        };
        assert_eq!(
            c.refuse_repo_url("https://copr.test/results/a/b/fedora-42-x86_64/"),
            None
        );
        for bad in [
            "https://copr.test/results/../admin/",
            "https://copr.test/resultsx/",
            "https://copr.test.evil/results/",
            "https://user:pw@copr.test/results/a/",
            "https://copr.test/results/a/?x=1",
            "file:///etc/",
            "http://x.test/a/",
            "not a url",
        ] {
            assert!(c.refuse_repo_url(bad).is_some(), "{bad}");
        }
        let none = ImpactConfig {
            repo_url_prefixes: Vec::new(),
            ..ImpactConfig::default()
        };
        assert!(none
            .refuse_repo_url("https://copr.test/results/a/")
            .is_some_and(|e| e.contains("disabled")));
    }
}
