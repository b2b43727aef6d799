//! Step 3f (weak dependencies ignored): preferences. Recommends and Suggests are not in
//! the rules then, but libsolv still prefers, among the candidates of a choice, those an
//! installed package recommends or suggests (`solv/weak.rs`). A change in what a package
//! recommends or suggests therefore matters to the *named* packages — whether they are
//! preferred — not to the package itself. For every paired package whose Recommends or
//! Suggests could evaluate differently (other arrays, or a dependency on a touched name),
//! the old packages they name and the predecessors of the new packages they name are
//! compared, and every package in only one of the two sets is tainted: a solve in which
//! it is a candidate has it in its rule universe, so the taint reaches that solve. New
//! packages without a predecessor need no taint: one that is a candidate provides a
//! requirement or job dependency whose providers grew, which planning already handles.

use super::delta::{RepoDelta, TaintReason, PREFERENCE};
use crate::solv::Id;
use rustc_hash::FxHashSet;

impl RepoDelta {
    /// Taint the packages whose being recommended or suggested changed (see the module
    /// documentation). Only with weak dependencies ignored; with them in the rules,
    /// Recommends and Suggests are checked like requires.
    pub(super) fn check_preferences(&mut self) {
        if self.weak {
            return;
        }
        let mut predecessor: Vec<Option<u32>> = vec![None; self.new_len];
        for (i, n) in self.phi.iter().enumerate() {
            if let Some(n) = n {
                predecessor[*n as usize] = Some(i as u32);
            }
        }
        let mut changed: FxHashSet<u32> = FxHashSet::default();
        for i in 0..self.old_len {
            let Some(n) = self.phi[i] else {
                continue;
            };
            let (o, n) = (self.old_id(i), self.new_start + n as Id);
            let olds = self.preference_deps(o);
            let news = self.preference_deps(n);
            if olds == news && !olds.iter().any(|&d| self.is_relevant(d)) {
                continue;
            }
            let before: FxHashSet<u32> = self
                .named_packages(&olds)
                .filter_map(|p| self.old_index(p).map(|q| q as u32))
                .collect();
            let after: FxHashSet<u32> = self
                .named_packages(&news)
                .filter_map(|p| self.new_index(p).and_then(|q| predecessor[q]))
                .collect();
            changed.extend(before.symmetric_difference(&after));
        }
        let mut changed: Vec<u32> = changed.into_iter().collect();
        changed.sort_unstable();
        for q in changed {
            self.taint(q as usize, TaintReason::PreferenceChanged);
        }
    }

    /// The Recommends and Suggests of a package.
    fn preference_deps(&self, id: Id) -> Vec<Id> {
        PREFERENCE
            .iter()
            .flat_map(|&kind| self.pool.solvable_deps(id, kind))
            .collect()
    }

    /// Every provider of every atom of `deps` (both repositories of the analysis pool).
    fn named_packages(&mut self, deps: &[Id]) -> impl Iterator<Item = Id> {
        let mut atoms = Vec::new();
        for &d in deps {
            self.atoms(d, &mut atoms);
        }
        let mut out = Vec::new();
        for a in atoms {
            out.extend_from_slice(self.pool.whatprovides(a));
        }
        out.into_iter()
    }
}
