//! What a cached answer depends on ([`Tag`]), and the [`Clock`] that says
//! whether any of it changed since the answer was made.

use std::collections::HashMap;
use std::sync::Mutex;

/// A part of the database that answers depend on; the change feed bumps
/// the tags a committed change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// Collections, buildroot problems and the admin notice: every page's frame.
    Site,
    /// Package groups, their members and maintainers.
    Groups,
    /// Any package of any collection.
    Packages,
    /// Any package of a collection (its row, builds, tasks, dependency changes).
    Collection(i32),
    /// Any package of a base package (one name, every collection).
    Base(i32),
    /// A change too large to name its packages: counts as a change of every
    /// [`Tag::Base`].
    Bulk,
}

/// Put by a handler into its response's extensions: the answer may be
/// cached, and depends on these tags.
#[derive(Debug, Clone, Default)]
pub struct Tags {
    pub tags: Vec<Tag>,
    /// Set when the answer shows relative times or time-based priorities:
    /// then it is kept at most `frontend.cache.time_dependent_max_age`.
    pub time_dependent: bool,
}

impl Tags {
    /// An answer depending on `tags` only.
    pub fn new(tags: impl IntoIterator<Item = Tag>) -> Tags {
        Tags {
            tags: tags.into_iter().collect(),
            time_dependent: false,
        }
    }

    /// The same answer, also depending on the time it was made.
    pub fn time_dependent(mut self) -> Tags {
        self.time_dependent = true;
        self
    }

    /// Marks `response` as cacheable with these tags.
    pub fn attach(self, mut response: axum::response::Response) -> axum::response::Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// The moment an answer's data was read: answers are valid while none of
/// their tags was bumped after it and the feed did not restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    counter: u64,
    epoch: u64,
}

/// Per tag, the counter value of its last bump; `epoch` changes whenever
/// the change feed is lost or restored (everything older is invalid) and
/// `live` says whether it is connected (otherwise nothing is cached).
#[derive(Debug, Default)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    counter: u64,
    epoch: u64,
    live: bool,
    bumped: HashMap<Tag, u64>,
}

impl Clock {
    /// Now, or `None` while the feed is down (answers must not be cached).
    pub fn stamp(&self) -> Option<Stamp> {
        let s = self.state.lock().expect("cache clock poisoned");
        s.live.then_some(Stamp {
            counter: s.counter,
            epoch: s.epoch,
        })
    }

    /// Records a change of every tag in `tags`.
    pub fn bump(&self, tags: impl IntoIterator<Item = Tag>) {
        let mut s = self.state.lock().expect("cache clock poisoned");
        s.counter += 1;
        let now = s.counter;
        for tag in tags {
            s.bumped.insert(tag, now);
        }
    }

    /// Whether nothing `tags` names changed after `stamp`.
    pub fn unchanged_since(&self, stamp: Stamp, tags: &[Tag]) -> bool {
        let s = self.state.lock().expect("cache clock poisoned");
        let after = |tag: &Tag| s.bumped.get(tag).is_some_and(|&at| at > stamp.counter);
        s.live
            && s.epoch == stamp.epoch
            && !tags
                .iter()
                .any(|t| after(t) || (matches!(t, Tag::Base(_)) && after(&Tag::Bulk)))
    }

    /// The feed listens again: a new epoch (what was cached before is void).
    pub fn go_live(&self) -> u64 {
        let mut s = self.state.lock().expect("cache clock poisoned");
        s.epoch += 1;
        s.live = true;
        s.bumped.clear();
        s.epoch
    }

    /// The feed is lost: nothing cached is trusted and nothing is cached.
    pub fn go_dark(&self) -> u64 {
        let mut s = self.state.lock().expect("cache clock poisoned");
        s.epoch += 1;
        s.live = false;
        s.epoch
    }

    /// Makes everything cached so far invalid (a change the feed could not read).
    pub fn void_all(&self) {
        self.state.lock().expect("cache clock poisoned").epoch += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bump_after_the_stamp_invalidates_only_its_tags() {
        let clock = Clock::default();
        assert_eq!(clock.stamp(), None);
        clock.go_live();
        let stamp = clock.stamp().unwrap();
        clock.bump([Tag::Collection(1)]);
        assert!(!clock.unchanged_since(stamp, &[Tag::Site, Tag::Collection(1)]));
        assert!(clock.unchanged_since(stamp, &[Tag::Site, Tag::Collection(2)]));
        let later = clock.stamp().unwrap();
        assert!(clock.unchanged_since(later, &[Tag::Collection(1)]));
    }

    #[test]
    fn bulk_changes_touch_every_base() {
        let clock = Clock::default();
        clock.go_live();
        let stamp = clock.stamp().unwrap();
        clock.bump([Tag::Bulk]);
        assert!(!clock.unchanged_since(stamp, &[Tag::Base(7)]));
        assert!(clock.unchanged_since(stamp, &[Tag::Groups]));
    }

    #[test]
    fn losing_the_feed_voids_everything() {
        let clock = Clock::default();
        clock.go_live();
        let stamp = clock.stamp().unwrap();
        clock.go_dark();
        assert_eq!(clock.stamp(), None);
        assert!(!clock.unchanged_since(stamp, &[Tag::Site]));
        clock.go_live();
        assert!(!clock.unchanged_since(stamp, &[Tag::Site]));
        let stamp = clock.stamp().unwrap();
        clock.void_all();
        assert!(!clock.unchanged_since(stamp, &[]));
    }
}
