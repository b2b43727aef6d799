//! Exact incremental re-resolution between two consecutive repositories.
//!
//! # The idea
//!
//! A libsolv solve (job = "install one provider of each dependency", empty root) is a
//! deterministic function of the part of the pool it looks at. That part — the *rule
//! universe* `U(p)` of a source package `p` — is what libsolv's rule generation walks
//! (`solver_addpkgrulesforsolvable`): the job candidates, then recursively every provider
//! of every `Requires`, `Recommends` and `Suggests` of a visited package (whatever the weak
//! deps setting), plus rules (without recursion) for `Conflicts`, `Obsoletes` and same-name
//! packages, plus packages whose `Supplements`/`Enhances` match something visited
//! (`solver_addpkgrulesforweak`). The distances (`distance.rs`) walk a subset of it
//! (requires only).
//!
//! Map every old package to its successor `φ` (same name and arch). If, for everything the
//! solver sees from `U(p)`, the new repository is an isomorphic image of the old one —
//! same names and arches, dependency arrays of the same *structure* (same names and
//! operators, EVRs free), every dependency evaluating to the φ-image of its old providers,
//! same-name EVR order and solvable order preserved — then every rule, every policy
//! decision (which compares names, EVRs of same-name candidates and arches) and every
//! distance level of the new solve is the φ-image of the old one, and the new result is
//! the old one with versions swapped. Nothing has to be solved.
//!
//! # The method
//!
//! 1. Load both repositories into **one** analysis pool (shared string and dependency
//!    ids, so an unchanged dependency has the same id on both sides) and pair packages by
//!    (name, arch) — identical EVR first, then the sole remaining one.
//! 2. Classify each pair: *identical*, *same structure* (provides positionally equal up to
//!    EVRs; requires, conflicts and obsoletes of equal count and pairable — equal ids
//!    first, then by name, then in order; only the providers of a plain dependency enter
//!    its rules, so `X >= 1` rewritten as `versioned(X) >= 1` or a reordered array is
//!    fine), or *structurally changed*. Unpaired old packages are removed, unpaired new
//!    ones added.
//! 3. *Touched names*: the names and provided names of every changed, added or removed
//!    package. Only dependencies mentioning a touched name (or a file path) can evaluate
//!    differently, so only those (and every dependency whose text changed) are checked: the
//!    φ-image of their old providers must equal their new providers, atom by atom for rich
//!    dependencies (and by name/EVR match for obsoletes). Two relaxations: a requires whose
//!    providers only *grew* is recorded (see [`RepoDelta::plan_traced`]) instead of
//!    tainting, and a conflict/obsoletes that only gained packages without predecessor is
//!    harmless. A package owning any other failing dependency is *tainted*, as is every
//!    structurally changed or removed package, every package whose same-name EVR order
//!    flips, every package out of solvable order, and every owner of a requires (or job)
//!    listing two alternatives whose shared versioned provides now order differently
//!    (libsolv's `sort_by_common_dep`).
//! 4. Propagate taint backwards along the rule-generation edges (a package is tainted
//!    when a provider of one of its requires/recommends/suggests is), and from tainted or
//!    added packages with `Supplements`/`Enhances` to the providers of the names those
//!    mention (they could join or leave a rule universe through `solver_addpkgrulesforweak`).
//! 5. A source package is re-solved when its request changed, it was unresolved before
//!    (problem texts name versions), one of its job dependencies selects differently, or
//!    one of its job candidates is tainted — i.e. when its rule universe contains something
//!    that is not a clean φ-image — or when its universe holds a grown requirement and the
//!    trace of its previous solve cannot show that requirement inert
//!    ([`RepoDelta::plan_traced`]; the reachability of grown requirements is a bit set per
//!    strongly connected component of the requires graph). Otherwise its installs are
//!    mapped through φ, and its dependency changes are its version swaps
//!    ([`RepoDelta::version_swaps`]).
//!
//! With `ignore_weak_deps`, sacks are loaded without weak dependencies
//! ([`crate::LoadOptions::ignore_weak_deps`]), so the rule universe — and the taint
//! propagation — follows `Requires` only; otherwise Recommends/Suggests and the reverse
//! Supplements/Enhances edges are followed as well.
//!
//! Because taint is closed under the reverse of every edge rule generation follows, "no
//! job candidate tainted" means "nothing in `U(p)` tainted", which is the isomorphism
//! condition above. The benchmark checks the claim on a real delta against a full pass.
//!
//! # Where the steps live
//!
//! [`RepoDelta::analyze`] (this file) runs steps 1–4 and 6 once per delta: `pair` (1–2),
//! `deps` (3a–3b), `order` (3c–3e), `propagate` (4, and 6: the reach of grown
//! requirements, whose bookkeeping is in `soft`). `plan` is step 5, once per source
//! package; `trace` is what a solve records for it.

mod deps;
mod order;
mod pair;
mod plan;
mod propagate;
mod soft;
#[cfg(test)]
mod tests_traced;
mod trace;

pub use plan::{Plan, PlanCounts, TracedPlan, TracedPrevious};
pub use trace::{InstallTrace, SolveTrace};

use crate::error::DepsolveError;
use crate::package::PackageIndex;
use crate::sack::SolvFile;
use crate::solv::{DepKind, Id, Pool};
use rustc_hash::{FxHashMap, FxHashSet};

/// Dependency kinds along which libsolv's rule generation recurses into providers.
const FORWARD: [DepKind; 3] = [DepKind::Requires, DepKind::Recommends, DepKind::Suggests];
/// Dependency kinds that add packages in reverse (`solver_addpkgrulesforweak`).
const REVERSE: [DepKind; 2] = [DepKind::Supplements, DepKind::Enhances];
/// Dependency kinds whose evaluation the solver or the distances depend on.
const EVALUATED: [DepKind; 7] = [
    DepKind::Requires,
    DepKind::Conflicts,
    DepKind::Obsoletes,
    DepKind::Recommends,
    DepKind::Suggests,
    DepKind::Supplements,
    DepKind::Enhances,
];
/// Without weak dependencies only the first kinds of the lists above exist.
const HARD_FORWARD: usize = 1;
const HARD_EVALUATED: usize = 3;

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
}

/// Figures about a repository delta.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Packages present in both with a different EVR or different dependencies.
    pub updated: usize,
    /// Of those, version bumps with unchanged dependency structure.
    pub same_structure: usize,
    /// Packages only in the new repository.
    pub added: usize,
    /// Packages only in the old repository.
    pub removed: usize,
    /// Dependencies (of old packages) whose providers changed.
    pub changed_deps: usize,
    /// Old packages whose solve context may have changed (after propagation).
    pub tainted: usize,
    /// Requires whose providers only grew (see [`RepoDelta::plan_traced`]); they do not
    /// taint their owner.
    pub grown_requires: usize,
    /// Distinct dependencies among those.
    pub grown_groups: usize,
}

impl DeltaStats {
    /// Binary packages added, removed or updated.
    pub fn changed_binaries(&self) -> usize {
        self.updated + self.added + self.removed
    }
}

/// The analysis of an old → new repository transition; plans each package's
/// re-resolution. Holds a libsolv pool, so it stays on the thread that built it.
pub struct RepoDelta {
    pool: Pool,
    old_start: Id,
    new_start: Id,
    old_len: usize,
    new_len: usize,
    /// old index → new index
    phi: Vec<Option<u32>>,
    /// old index → tainted
    tainted: Vec<bool>,
    /// old index → paired with an identical package
    identical: Vec<bool>,
    /// new index → the identical successor of an old package
    new_identical: Vec<bool>,
    /// weak dependencies are part of the solve
    weak: bool,
    touched: FxHashSet<Id>,
    reasons: Vec<(u32, TaintReason)>,
    stats: DeltaStats,
    /// job dependency string → (changed?, old candidates)
    jobs: FxHashMap<String, plan::JobInfo>,
    /// Requires whose providers only grew, and which old packages reach them.
    grown: soft::GrownRequires,
    /// Outcomes of the plans so far.
    counts: PlanCounts,
    /// old index → its successor has another EVR
    evr_changed: Vec<bool>,
    /// Pairs of old packages (lower index first) whose policy order may have flipped.
    policy_flips: FxHashSet<(u32, u32)>,
    /// old index → member of a flipped pair
    policy_flipped: Vec<bool>,
    /// new index → paired with an old package (filled on first use)
    new_has_predecessor: Vec<bool>,
    /// The last build group planned with and what [`RepoDelta::group_reach`] found.
    group_memo: Option<(Vec<String>, Option<Vec<u64>>)>,
    /// The requires graph ([`RepoDelta::forward_edges`]) between propagation and reach.
    requires_edges: Option<Vec<Vec<u32>>>,
}

impl RepoDelta {
    /// Analyse the transition from `old` to `new` (both `.solv` files of full binary
    /// repositories, same architecture).
    pub fn analyze(old: &SolvFile, new: &SolvFile) -> Result<Self, DepsolveError> {
        if old.ignore_weak_deps != new.ignore_weak_deps || old.arch != new.arch {
            return Err(DepsolveError::InvalidInput(
                "old and new repositories must be loaded with the same options".into(),
            ));
        }
        let weak = !old.ignore_weak_deps;
        let mut pool = Pool::new(&old.arch);
        let old_repo = pool.add_repo("old");
        pool.add_solv(old_repo, &old.path)?;
        let new_repo = pool.add_repo("new");
        pool.add_solv(new_repo, &new.path)?;
        if !weak {
            pool.strip_weak_deps(old_repo);
            pool.strip_weak_deps(new_repo);
        }
        pool.create_whatprovides();
        let (or, nr) = (pool.repo_range(old_repo), pool.repo_range(new_repo));
        let mut delta = RepoDelta {
            old_start: or.start,
            new_start: nr.start,
            old_len: (or.end - or.start) as usize,
            new_len: (nr.end - nr.start) as usize,
            phi: vec![None; (or.end - or.start) as usize],
            tainted: vec![false; (or.end - or.start) as usize],
            pool,
            identical: vec![false; (or.end - or.start) as usize],
            new_identical: vec![false; (nr.end - nr.start) as usize],
            weak,
            touched: FxHashSet::default(),
            reasons: Vec::new(),
            stats: DeltaStats::default(),
            jobs: FxHashMap::default(),
            grown: soft::GrownRequires::default(),
            counts: PlanCounts::default(),
            evr_changed: Vec::new(),
            policy_flips: FxHashSet::default(),
            policy_flipped: vec![false; (or.end - or.start) as usize],
            new_has_predecessor: Vec::new(),
            group_memo: None,
            requires_edges: None,
        };
        let kinds = delta.pair_packages();
        delta.evr_changed = (0..delta.old_len)
            .map(|i| {
                delta.phi[i].is_some_and(|n| {
                    delta.pool.solvable_evr(delta.old_id(i))
                        != delta.pool.solvable_evr(delta.new_start + n as Id)
                })
            })
            .collect();
        delta.collect_touched_names(&kinds);
        delta.check_dependencies(&kinds);
        delta.check_same_name_order();
        delta.check_solvable_order();
        delta.check_common_provide_order(&kinds);
        delta.check_policy_pairs();
        delta.propagate();
        delta.stats.tainted = delta.tainted.iter().filter(|&&t| t).count();
        delta.compute_grown_reach();
        Ok(delta)
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

    fn nevra_text(&self, id: Id) -> String {
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

    fn taint(&mut self, i: usize, reason: TaintReason) {
        if !self.tainted[i] {
            self.tainted[i] = true;
            self.reasons.push((i as u32, reason));
        }
    }

    fn old_id(&self, i: usize) -> Id {
        self.old_start + i as Id
    }

    fn old_index(&self, id: Id) -> Option<usize> {
        let i = id - self.old_start;
        (i >= 0 && (i as usize) < self.old_len).then_some(i as usize)
    }

    fn new_index(&self, id: Id) -> Option<usize> {
        let i = id - self.new_start;
        (i >= 0 && (i as usize) < self.new_len).then_some(i as usize)
    }

    fn forward(&self) -> &'static [DepKind] {
        if self.weak {
            &FORWARD
        } else {
            &FORWARD[..HARD_FORWARD]
        }
    }

    fn evaluated(&self) -> &'static [DepKind] {
        if self.weak {
            &EVALUATED
        } else {
            &EVALUATED[..HARD_EVALUATED]
        }
    }
}
