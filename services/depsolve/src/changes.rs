//! Dependency changes between two dependency sets (`create_dependency_changes` in the
//! original's `koschei/backend/services/resolver.py`).
//!
//! Identity is the full NEVRA: `removed = prev − curr`, `added = curr − prev`. A removed and
//! an added package are paired into one change when they have the same name **and arch**
//! (upgrade/downgrade), then leftovers of one name are paired when exactly one remains on
//! each side (an arch change, e.g. noarch → x86_64). Two arches of one name therefore stay
//! two changes — Koschei collapsed them into one ([bug] fixed). Comparison uses RPM EVR
//! ordering (`rpmvercmp`).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rustc_hash::FxHashSet;

use crate::package::{Dependency, Nevra};

/// What happened to one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// New dependency.
    Added,
    /// Dependency no longer installed.
    Removed,
    /// Higher EVR.
    Upgraded,
    /// Lower EVR.
    Downgraded,
    /// Same EVR, different architecture.
    ArchChanged,
}

/// One dependency change: `prev` and/or `curr` (never both absent, never equal).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DependencyChange {
    /// The previous package, if any.
    pub prev: Option<Nevra>,
    /// The current package, if any.
    pub curr: Option<Nevra>,
    /// Distance of the current package (`None` for removals and far dependencies).
    pub distance: Option<u8>,
}

impl DependencyChange {
    /// Classify the change.
    pub fn kind(&self) -> ChangeKind {
        match (&self.prev, &self.curr) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Removed,
            (Some(p), Some(c)) => match p.evr_cmp(c) {
                Ordering::Less => ChangeKind::Upgraded,
                Ordering::Greater => ChangeKind::Downgraded,
                Ordering::Equal => ChangeKind::ArchChanged,
            },
        }
    }

    /// Name of the dependency concerned.
    pub fn name(&self) -> &str {
        self.curr
            .as_ref()
            .or(self.prev.as_ref())
            .map(|n| n.name.as_str())
            .unwrap_or("")
    }
}

/// Changes from `prev` to `curr`; empty when either set is empty (as the original's
/// resolver). Sorted by name, then arch.
pub fn compute_changes(prev: &[Dependency], curr: &[Dependency]) -> Vec<DependencyChange> {
    compute_changes_by_ref(&view(prev), &view(curr))
}

fn view(deps: &[Dependency]) -> Vec<(&Nevra, Option<u8>)> {
    deps.iter().map(|d| (&d.nevra, d.distance)).collect()
}

/// [`compute_changes`] on borrowed `(package, distance)` pairs (no copies of unchanged
/// packages), for callers holding packages in a [`crate::PackageTable`].
pub fn compute_changes_by_ref(
    prev: &[(&Nevra, Option<u8>)],
    curr: &[(&Nevra, Option<u8>)],
) -> Vec<DependencyChange> {
    if prev.is_empty() || curr.is_empty() {
        return Vec::new();
    }
    let prev_set: FxHashSet<&Nevra> = prev.iter().map(|d| d.0).collect();
    let curr_set: FxHashSet<&Nevra> = curr.iter().map(|d| d.0).collect();
    let removed: Vec<&Nevra> = prev
        .iter()
        .map(|d| d.0)
        .filter(|n| !curr_set.contains(n))
        .collect();
    let added: Vec<(&Nevra, Option<u8>)> = curr
        .iter()
        .copied()
        .filter(|d| !prev_set.contains(d.0))
        .collect();
    changes_between(&removed, &added)
}

/// [`compute_changes_by_ref`] for callers that compared the two sets themselves (e.g. by
/// database id): `removed` are the previous packages the current set lacks, `added` the
/// current ones (with distances) the previous set lacks. Only for two non-empty sets: when
/// either is empty, there are no changes.
pub fn changes_between(
    removed: &[&Nevra],
    added: &[(&Nevra, Option<u8>)],
) -> Vec<DependencyChange> {
    type Side<'a> = (Vec<&'a Nevra>, Vec<(&'a Nevra, Option<u8>)>);
    // name -> arch -> (removed, added)
    let mut by_name: BTreeMap<&str, BTreeMap<&str, Side<'_>>> = BTreeMap::new();
    for &n in removed {
        let slot = by_name.entry(&n.name).or_default();
        slot.entry(&n.arch).or_default().0.push(n);
    }
    for &(n, d) in added {
        let slot = by_name.entry(&n.name).or_default();
        slot.entry(&n.arch).or_default().1.push((n, d));
    }
    let mut changes = Vec::new();
    for arches in by_name.into_values() {
        let mut removed_left = Vec::new();
        let mut added_left = Vec::new();
        for (mut removed, mut added) in arches.into_values() {
            removed.sort();
            added.sort_by(|a, b| a.0.cmp(b.0));
            let paired = removed.len().min(added.len());
            for (r, a) in removed.drain(..paired).zip(added.drain(..paired)) {
                changes.push(change(Some(r), Some(a)));
            }
            removed_left.extend(removed);
            added_left.extend(added);
        }
        if removed_left.len() == 1 && added_left.len() == 1 {
            changes.push(change(removed_left.pop(), added_left.pop()));
        }
        changes.extend(removed_left.into_iter().map(|r| change(Some(r), None)));
        changes.extend(added_left.into_iter().map(|a| change(None, Some(a))));
    }
    changes
}

fn change(prev: Option<&Nevra>, curr: Option<(&Nevra, Option<u8>)>) -> DependencyChange {
    DependencyChange {
        prev: prev.cloned(),
        curr: curr.map(|d| d.0.clone()),
        distance: curr.and_then(|d| d.1),
    }
}
