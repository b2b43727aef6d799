//! The [`RepoDelta`] type: the state the analysis steps (`analyze.rs` and the step modules)
//! fill in and the plans read, its direct taint reasons and its small accessors.

use std::ops::Range;

use super::soft::GrownRequires;
use super::stats::{DeltaStats, PlanCounts};
use crate::package::PackageIndex;
use crate::solv::{DepKind, Id, Pool};
use rustc_hash::{FxHashMap, FxHashSet};

/// Dependency kinds along which libsolv's rule generation recurses into providers.
const FORWARD: [DepKind; 3] = [DepKind::Requires, DepKind::Recommends, DepKind::Suggests];
/// Dependency kinds that add packages in reverse (`solver_addpkgrulesforweak`).
pub(super) const REVERSE: [DepKind; 2] = [DepKind::Supplements, DepKind::Enhances];
/// Dependency kinds whose evaluation the solver or the distances depend on.
const EVALUATED: [DepKind; 7] = [
    DepKind::Requires,
    DepKind::Conflicts,
    DepKind::Obsoletes,
    DepKind::Supplements,
    DepKind::Enhances,
    DepKind::Recommends,
    DepKind::Suggests,
];
/// Without weak dependencies in the rules, generation recurses along the first kind only.
const HARD_FORWARD: usize = 1;
/// Without weak dependencies in the rules, Recommends and Suggests only make the packages
/// they name preferred choices (`prefer.rs`); the other kinds still concern their owner.
const OWNER_EVALUATED: usize = 5;
/// The kinds that make other packages preferred choices.
pub(super) const PREFERENCE: [DepKind; 2] = [DepKind::Recommends, DepKind::Suggests];

/// Why a package was tainted directly (before propagation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaintReason {
    /// Not in the new repository.
    Removed,
    /// Its dependencies changed beyond a version bump.
    StructureChanged,
    /// One of its dependencies has different providers now.
    DependencyChanged,
    /// Same-name packages changed their EVR order.
    EvrOrderChanged,
    /// Its successor is out of the repository's solvable order.
    OrderChanged,
    /// One of its requires lists two alternatives whose shared versioned provides now
    /// order differently (libsolv's policy sorts alternatives by such provides).
    PolicyOrderChanged,
    /// Another set of packages recommends or suggests it now, which changes whether the
    /// solver prefers it among other providers.
    PreferenceChanged,
}

/// What the analysis knows about one job dependency (a build group member or
/// BuildRequire), computed once per distinct string.
#[derive(Debug, Clone)]
pub(super) struct JobInfo {
    /// Selects the φ-image of its old selection and no old candidate is tainted.
    pub(super) clean: bool,
    /// Grown-requirement groups reachable from its old candidates.
    pub(super) reach: Vec<u64>,
    /// Fewest requires edges from a candidate to a grown requirement's owner (capped).
    pub(super) nearest_owner: u8,
}

/// The analysis of an old → new repository transition; plans each package's
/// re-resolution. Holds a libsolv pool, so it stays on the thread that built it.
pub struct RepoDelta {
    pub(super) pool: Pool,
    pub(super) old_start: Id,
    pub(super) new_start: Id,
    pub(super) old_len: usize,
    pub(super) new_len: usize,
    /// old index → new index
    pub(super) phi: Vec<Option<u32>>,
    /// old index → tainted
    pub(super) tainted: Vec<bool>,
    /// old index → paired with an identical package
    pub(super) identical: Vec<bool>,
    /// new index → the identical successor of an old package
    pub(super) new_identical: Vec<bool>,
    /// weak dependencies are part of the rules (installed when wanted); otherwise they
    /// only steer choices
    pub(super) weak: bool,
    pub(super) touched: FxHashSet<Id>,
    pub(super) reasons: Vec<(u32, TaintReason)>,
    pub(super) stats: DeltaStats,
    /// job dependency string → what planning learnt about it
    pub(super) jobs: FxHashMap<String, JobInfo>,
    /// Requires whose providers only grew, and which old packages reach them.
    pub(super) grown: GrownRequires,
    /// Outcomes of the plans so far.
    pub(super) counts: PlanCounts,
    /// old index → its successor has another EVR
    pub(super) evr_changed: Vec<bool>,
    /// Pairs of old packages (lower index first) whose policy order may have flipped.
    pub(super) policy_flips: FxHashSet<(u32, u32)>,
    /// old index → member of a flipped pair
    pub(super) policy_flipped: Vec<bool>,
    /// new index → paired with an old package (filled on first use)
    pub(super) new_has_predecessor: Vec<bool>,
    /// The last build group planned with and what [`RepoDelta::group_reach`] found.
    pub(super) group_memo: Option<(Vec<String>, Option<Vec<u64>>)>,
    /// The requires graph ([`RepoDelta::forward_edges`]) between propagation and reach.
    pub(super) requires_edges: Option<Vec<Vec<u32>>>,
}

impl RepoDelta {
    /// The delta before any analysis step ran: `pool` holds the old repository at solvable
    /// ids `old` and the new one at `new`, with its provides index built.
    pub(super) fn new(pool: Pool, old: Range<Id>, new: Range<Id>, weak: bool) -> Self {
        let old_len = (old.end - old.start) as usize;
        let new_len = (new.end - new.start) as usize;
        RepoDelta {
            old_start: old.start,
            new_start: new.start,
            old_len,
            new_len,
            phi: vec![None; old_len],
            tainted: vec![false; old_len],
            pool,
            identical: vec![false; old_len],
            new_identical: vec![false; new_len],
            weak,
            touched: FxHashSet::default(),
            reasons: Vec::new(),
            stats: DeltaStats::default(),
            jobs: FxHashMap::default(),
            grown: GrownRequires::default(),
            counts: PlanCounts::default(),
            evr_changed: Vec::new(),
            policy_flips: FxHashSet::default(),
            policy_flipped: vec![false; old_len],
            new_has_predecessor: Vec::new(),
            group_memo: None,
            requires_edges: None,
        }
    }

    /// Figures about the delta.
    pub fn stats(&self) -> &DeltaStats {
        &self.stats
    }

    /// Outcomes of the plans made so far, by reason.
    pub fn plan_counts(&self) -> &PlanCounts {
        &self.counts
    }

    /// The new index of an old package, unless it was removed.
    pub fn successor(&self, old: PackageIndex) -> Option<PackageIndex> {
        self.phi
            .get(old.0 as usize)
            .copied()
            .flatten()
            .map(PackageIndex)
    }

    pub(super) fn nevra_text(&self, id: Id) -> String {
        format!(
            "{}-{}.{}",
            self.pool.id2str(self.pool.solvable_name(id)),
            self.pool.id2str(self.pool.solvable_evr(id)),
            self.pool.id2str(self.pool.solvable_arch(id))
        )
    }

    /// Is an old package tainted (its rule universe may differ in the new repository)?
    pub fn is_tainted(&self, old: PackageIndex) -> bool {
        self.tainted.get(old.0 as usize).copied().unwrap_or(true)
    }

    /// Packages tainted directly (before propagation), as `name-evr.arch` with the reason.
    pub fn direct_taints(&self) -> Vec<(String, TaintReason)> {
        self.reasons
            .iter()
            .map(|&(i, r)| (self.nevra_text(self.old_id(i as usize)), r))
            .collect()
    }

    pub(super) fn taint(&mut self, i: usize, reason: TaintReason) {
        if !self.tainted[i] {
            self.tainted[i] = true;
            self.reasons.push((i as u32, reason));
        }
    }

    pub(super) fn old_id(&self, i: usize) -> Id {
        self.old_start + i as Id
    }

    pub(super) fn old_index(&self, id: Id) -> Option<usize> {
        let i = id - self.old_start;
        (i >= 0 && (i as usize) < self.old_len).then_some(i as usize)
    }

    pub(super) fn new_index(&self, id: Id) -> Option<usize> {
        let i = id - self.new_start;
        (i >= 0 && (i as usize) < self.new_len).then_some(i as usize)
    }

    pub(super) fn forward(&self) -> &'static [DepKind] {
        if self.weak {
            &FORWARD
        } else {
            &FORWARD[..HARD_FORWARD]
        }
    }

    /// The kinds whose evaluation concerns their owner: every kind when weak dependencies
    /// are in the rules; otherwise all but Recommends and Suggests, which `prefer.rs`
    /// checks (with weak dependencies ignored Supplements/Enhances still make their owner
    /// a preferred choice, `solv/weak.rs`).
    pub(super) fn evaluated(&self) -> &'static [DepKind] {
        if self.weak {
            &EVALUATED
        } else {
            &EVALUATED[..OWNER_EVALUATED]
        }
    }

    /// Does the structure of this kind's array concern its owner (see
    /// [`RepoDelta::evaluated`])?
    pub(super) fn structural(&self, kind: DepKind) -> bool {
        self.weak || !PREFERENCE.contains(&kind)
    }
}
