//! Steps 4 and 6 of the delta analysis: close taint backwards along the edges libsolv's
//! rule generation follows, and compute which grown requirements each old package reaches.
//!
//! Invariant: after [`RepoDelta::propagate`], a package is tainted whenever something in
//! its rule universe is (requires, and with weak dependencies also recommends/suggests
//! and the reverse supplements/enhances edges), so "no job candidate tainted" means "the
//! rule universe is a clean φ-image".

use super::delta::{RepoDelta, REVERSE};
use crate::package::PackageIndex;
use crate::solv::{DepKind, Id};
use rustc_hash::{FxHashMap, FxHashSet};

impl RepoDelta {
    /// Step 6: which grown requirements each old package's rule universe holds.
    pub(super) fn compute_grown_reach(&mut self) {
        if self.grown.len() == 0 {
            return;
        }
        let edges = match self.requires_edges.take() {
            Some(edges) => edges,
            None => self.forward_edges(&[DepKind::Requires]),
        };
        self.grown.compute_reach(&edges);
    }

    /// Old package → the other old packages providing an atom of one of its dependencies
    /// of `kinds` (or the whole dependency), ascending.
    pub(super) fn forward_edges(&mut self, kinds: &[DepKind]) -> Vec<Vec<u32>> {
        let mut edges: Vec<Vec<u32>> = vec![Vec::new(); self.old_len];
        let mut atoms = Vec::new();
        let mut deps = Vec::new();
        for (i, out) in edges.iter_mut().enumerate() {
            let o = self.old_id(i);
            deps.clear();
            for &kind in kinds {
                deps.extend(self.pool.solvable_deps(o, kind));
            }
            for &d in &deps {
                atoms.clear();
                self.atoms(d, &mut atoms);
                atoms.push(d);
                for &a in &atoms {
                    let (start, len) = (self.old_start, self.old_len);
                    out.extend(self.pool.whatprovides(a).iter().filter_map(|&p| {
                        let q = p - start;
                        (q >= 0 && (q as usize) < len && q as usize != i).then_some(q as u32)
                    }));
                }
            }
            out.sort_unstable();
            out.dedup();
        }
        edges
    }

    /// Step 4: backward closure of taint along rule-generation edges.
    pub(super) fn propagate(&mut self) {
        // reverse edges: provider (old index) -> packages that require/recommend/suggest it
        let forward = self.forward_edges(self.forward());
        let mut reverse: Vec<Vec<u32>> = vec![Vec::new(); self.old_len];
        for (i, out) in forward.iter().enumerate() {
            for &q in out {
                reverse[q as usize].push(i as u32);
            }
        }
        if !self.weak {
            // the requires graph, which the reach of grown requirements follows
            self.requires_edges = Some(forward);
        }
        let mut queue: Vec<usize> = (0..self.old_len).filter(|&i| self.tainted[i]).collect();
        // added packages with weak reverse dependencies taint what they could attach to
        let paired_new: FxHashSet<u32> = self.phi.iter().flatten().copied().collect();
        for n in (0..self.new_len as u32).filter(|n| !paired_new.contains(n)) {
            self.taint_weak_targets(self.new_start + n as Id, &mut queue);
        }
        while let Some(i) = queue.pop() {
            let o = self.old_id(i);
            self.taint_weak_targets(o, &mut queue);
            if let Some(n) = self.phi[i] {
                self.taint_weak_targets(self.new_start + n as Id, &mut queue);
            }
            for &r in &reverse[i] {
                let r = r as usize;
                if !self.tainted[r] {
                    self.tainted[r] = true;
                    queue.push(r);
                }
            }
        }
    }

    /// Taint the old providers of every name a package's Supplements/Enhances mention
    /// (weak dependencies only; stripped sacks have none).
    pub(super) fn taint_weak_targets(&mut self, id: Id, queue: &mut Vec<usize>) {
        if !self.weak {
            return;
        }
        let mut atoms = Vec::new();
        for kind in REVERSE {
            let deps: Vec<Id> = self.pool.solvable_deps(id, kind).collect();
            for d in deps {
                self.atoms(d, &mut atoms);
            }
        }
        for a in atoms {
            let name = self.base_name(a);
            let providers: Vec<Id> = self.pool.whatprovides(name).to_vec();
            for p in providers {
                if let Some(q) = self.old_index(p) {
                    if !self.tainted[q] {
                        self.tainted[q] = true;
                        queue.push(q);
                    }
                }
            }
        }
    }

    /// Why an old package is tainted: the shortest chain of packages along rule-generation
    /// edges from it to a directly tainted package (empty when it is clean).
    pub fn explain(&mut self, old: PackageIndex) -> Vec<String> {
        let start = old.0 as usize;
        if !self.is_tainted(old) {
            return Vec::new();
        }
        let direct: FxHashSet<u32> = self.reasons.iter().map(|&(i, _)| i).collect();
        let mut parent: FxHashMap<usize, usize> = FxHashMap::default();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut seen: FxHashSet<usize> = [start].into_iter().collect();
        let mut atoms = Vec::new();
        while let Some(i) = queue.pop_front() {
            if direct.contains(&(i as u32)) {
                let mut chain = vec![i];
                while let Some(&p) = parent.get(chain.last().expect("non-empty")) {
                    chain.push(p);
                }
                chain.reverse();
                return chain
                    .into_iter()
                    .map(|i| self.nevra_text(self.old_id(i)))
                    .collect();
            }
            for &kind in self.forward() {
                let deps: Vec<Id> = self.pool.solvable_deps(self.old_id(i), kind).collect();
                for d in deps {
                    atoms.clear();
                    self.atoms(d, &mut atoms);
                    atoms.push(d);
                    for a in atoms.clone() {
                        let providers = self.pool.whatprovides(a).to_vec();
                        for p in providers {
                            if let Some(q) = self.old_index(p) {
                                if self.tainted[q] && seen.insert(q) {
                                    parent.insert(q, i);
                                    queue.push_back(q);
                                }
                            }
                        }
                    }
                }
            }
        }
        vec![self.nevra_text(self.old_id(start))]
    }
}
