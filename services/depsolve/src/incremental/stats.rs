//! Figures about a repository delta and about the plans made with it.

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
    /// Requires whose providers only grew (see [`super::RepoDelta::plan_traced`]); they do not
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

/// Why packages were planned the way they were (counts over all plans so far).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanCounts {
    /// Reused.
    pub reused: usize,
    /// No previous result.
    pub no_previous_result: usize,
    /// Unresolved before, or its request changed.
    pub unresolved_or_new_request: usize,
    /// A job selects differently or its rule universe holds a hard change.
    pub tainted_universe: usize,
    /// A grown requirement in the universe, no trace to judge it.
    pub grown_without_trace: usize,
    /// A grown requirement in the universe and a learnt rule in the old solve.
    pub grown_learnt: usize,
    /// A grown requirement was the reason of a level-1 decision.
    pub grown_level1_reason: usize,
    /// A grown requirement had no provider installed at level 1.
    pub grown_not_satisfied: usize,
}
