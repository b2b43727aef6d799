//! Which events a client asked for: `collection`, `package` and `group`
//! (each repeatable or comma-separated). Values of one key are
//! alternatives; the keys given must all match. A package or group filter
//! excludes collection-level events (they name no package).

use super::log::LogEvent;

/// A client's filter; empty keys match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub collections: Vec<String>,
    pub packages: Vec<String>,
    pub groups: Vec<String>,
}

/// The names of repeated, comma-separated values, empty ones left out.
fn names(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `value` is one of `wanted` (anything, when none is wanted).
fn one_of(wanted: &[String], value: Option<&str>) -> bool {
    wanted.is_empty() || value.is_some_and(|v| wanted.iter().any(|w| w == v))
}

impl EventFilter {
    /// The filter of the query's values.
    pub fn new(collection: &[String], package: &[String], group: &[String]) -> EventFilter {
        EventFilter {
            collections: names(collection),
            packages: names(package),
            groups: names(group),
        }
    }

    /// Whether the client wants `event`.
    pub fn matches(&self, event: &LogEvent) -> bool {
        one_of(&self.collections, event.collection.as_deref())
            && one_of(&self.packages, event.package.as_deref())
            && (self.groups.is_empty() || event.groups.iter().any(|g| self.groups.contains(g)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(collection: &str, package: Option<&str>, groups: &[&str]) -> LogEvent {
        LogEvent {
            seq: 1,
            kind: "package.state.change".into(),
            frame: Default::default(),
            collection: Some(collection.into()),
            package: package.map(Into::into),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn keys_all_match_and_values_are_alternatives() {
        let f = EventFilter::new(&["f25, f26".into()], &["rnv".into(), "eclipse".into()], &[]);
        assert_eq!(f.collections, ["f25", "f26"]);
        assert!(f.matches(&event("f26", Some("eclipse"), &[])));
        assert!(!f.matches(&event("f27", Some("rnv"), &[])));
        assert!(!f.matches(&event("f25", Some("foo"), &[])));
        // Collection-level events name no package.
        assert!(!f.matches(&event("f25", None, &[])));
        let groups = EventFilter::new(&[], &[], &["java,alice/mine".into()]);
        assert!(groups.matches(&event("f25", Some("foo"), &["alice/mine"])));
        assert!(!groups.matches(&event("f25", Some("foo"), &["bob/mine"])));
        assert!(!groups.matches(&event("f25", None, &[])));
        assert!(EventFilter::new(&[], &[], &[]).matches(&event("f25", None, &[])));
    }
}
