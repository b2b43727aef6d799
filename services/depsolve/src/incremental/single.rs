//! Reuse of single-package installs ("install exactly this package into an empty root",
//! the installability pass): the job selects one old package, so its result carries over
//! through φ under the conditions of [`RepoDelta::plan`] for one job candidate — the
//! package has a successor, is not tainted, is in no flipped policy pair, and reaches no
//! grown requirement (no solve trace is kept for these solves, so a grown requirement in
//! the universe always means solving again).

use super::delta::RepoDelta;
use crate::package::PackageIndex;
use crate::solv::Id;

impl RepoDelta {
    /// The successor of `old` when installing it alone has the φ-image of its old result
    /// in the new repository; `None` when it must be solved again.
    pub fn reusable_install(&self, old: PackageIndex) -> Option<PackageIndex> {
        let i = old.0 as usize;
        let successor = self.successor(old)?;
        if self.tainted[i] || self.policy_flipped[i] {
            return None;
        }
        let mut reach = vec![0u64; self.grown.words()];
        self.grown.add_reach(i, &mut reach);
        reach.iter().all(|&w| w == 0).then_some(successor)
    }

    /// Packages in the new repository.
    pub fn new_len(&self) -> usize {
        self.new_len
    }

    /// Download and installed size of a package of the new repository (rpm-md
    /// `size package=` / `installed=`).
    pub fn new_sizes(&self, new: PackageIndex) -> (u64, u64) {
        let id = self.new_start + new.0 as Id;
        (self.pool.download_size(id), self.pool.install_size(id))
    }
}
