//! Impact checks (`impact`): which side tags are checked automatically, and the Fedora
//! CI (`koji-build-group`) messages about them (the original's `osci.*` settings).

use serde::{Deserialize, Serialize};

/// `[impact]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImpactConfig {
    /// Side tags checked automatically when Koji announces a new repo of theirs: shell
    /// patterns (`*`, `?`) over the tag name, e.g. `"f42-build-side-*"`. The check is
    /// made against every collection whose build tag the side tag inherits from.
    pub auto_side_tags: Vec<String>,
    /// Fedora CI messages.
    pub osci: OsciConfig,
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
}
