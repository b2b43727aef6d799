//! Steps 3c–3e of the delta analysis: orders libsolv's policy depends on must survive φ.
//!
//! Invariants: after these checks, every untainted package keeps its same-name EVR order
//! and its solvable order, and no requires of an untainted package lists two alternatives
//! whose shared versioned provides compare differently now (libsolv's
//! `sort_by_common_dep`); the pairs that flipped are kept for the job checks of
//! [`super::plan`].

use super::delta::{RepoDelta, TaintReason};
use super::pair::PairKind;
use crate::solv::{is_reldep, rel, DepKind, Id};
use rustc_hash::{FxHashMap, FxHashSet};

impl RepoDelta {
    /// Step 3e: libsolv's policy orders alternatives of different names by the EVRs of
    /// versioned provides they share (`sort_by_common_dep`). A version bump may reorder
    /// them against another package providing the same name: record the pair. It matters
    /// only where both are candidates of one choice, i.e. for a requires rule or a job
    /// listing both ([`RepoDelta::check_policy_pairs`], `job_selection_matches`).
    pub(super) fn check_common_provide_order(&mut self, kinds: &[Option<PairKind>]) {
        let versioned =
            |flags: i32| flags == rel::EQ || flags == rel::LT || flags == (rel::EQ | rel::LT);
        for (i, &kind) in kinds.iter().enumerate() {
            if kind != Some(PairKind::SameStructure) {
                continue;
            }
            let o = self.old_id(i);
            let n = self.new_start + self.phi[i].expect("paired") as Id;
            let olds: Vec<Id> = self.pool.solvable_deps(o, DepKind::Provides).collect();
            let news: Vec<Id> = self.pool.solvable_deps(n, DepKind::Provides).collect();
            for (&a, &a2) in olds.iter().zip(&news) {
                let (Some((name, evr_a, fa)), Some((_, evr_a2, _))) =
                    (self.pool.rel_parts(a), self.pool.rel_parts(a2))
                else {
                    continue;
                };
                if !versioned(fa) || is_reldep(evr_a) {
                    continue;
                }
                let others: Vec<Id> = self.pool.whatprovides(name).to_vec();
                for q in others {
                    let Some(qi) = self.old_index(q) else {
                        continue;
                    };
                    if qi == i {
                        continue;
                    }
                    let Some(qn) = self.phi[qi] else { continue };
                    let q_new = self.new_start + qn as Id;
                    let q_olds: Vec<Id> = self.pool.solvable_deps(q, DepKind::Provides).collect();
                    let q_news: Vec<Id> =
                        self.pool.solvable_deps(q_new, DepKind::Provides).collect();
                    let flipped = q_olds.iter().zip(&q_news).any(|(&b, &b2)| {
                        match (self.pool.rel_parts(b), self.pool.rel_parts(b2)) {
                            (Some((nb, evr_b, fb)), Some((_, evr_b2, _)))
                                if nb == name && versioned(fb) && !is_reldep(evr_b) =>
                            {
                                self.pool.evrcmp_match_release(evr_a, evr_b)
                                    != self.pool.evrcmp_match_release(evr_a2, evr_b2)
                            }
                            _ => false,
                        }
                    });
                    if flipped {
                        self.policy_flips
                            .insert((i.min(qi) as u32, i.max(qi) as u32));
                        self.policy_flipped[i] = true;
                        self.policy_flipped[qi] = true;
                    }
                }
            }
        }
    }

    /// Do the old providers of `dep` hold both packages of a pair whose policy order
    /// flipped?
    pub(super) fn has_flipped_pair(&mut self, dep: Id) -> bool {
        if self.policy_flips.is_empty() {
            return false;
        }
        let providers = self.old_providers(dep);
        self.holds_flipped_pair(&providers)
    }

    pub(super) fn holds_flipped_pair(&self, candidates: &[u32]) -> bool {
        let flipped: Vec<u32> = candidates
            .iter()
            .copied()
            .filter(|&c| self.policy_flipped[c as usize])
            .collect();
        flipped.iter().enumerate().any(|(k, &a)| {
            flipped[k + 1..]
                .iter()
                .any(|&b| self.policy_flips.contains(&(a.min(b), a.max(b))))
        })
    }

    /// Taint the owners of requires whose providers hold a flipped policy pair (their
    /// choice may go the other way now).
    pub(super) fn check_policy_pairs(&mut self) {
        if self.policy_flips.is_empty() {
            return;
        }
        // only dependencies naming something a flipped package provides can list it
        let mut names: FxHashSet<Id> = FxHashSet::default();
        for i in (0..self.old_len).filter(|&i| self.policy_flipped[i]) {
            let provides: Vec<Id> = self
                .pool
                .solvable_deps(self.old_id(i), DepKind::Provides)
                .collect();
            names.extend(provides.into_iter().map(|p| self.base_name(p)));
        }
        let mut memo: FxHashMap<Id, bool> = FxHashMap::default();
        let mut atoms = Vec::new();
        for i in 0..self.old_len {
            if self.tainted[i] {
                continue;
            }
            let deps: Vec<Id> = self
                .pool
                .solvable_deps(self.old_id(i), DepKind::Requires)
                .collect();
            for d in deps {
                atoms.clear();
                self.atoms(d, &mut atoms);
                if !atoms.iter().any(|&a| names.contains(&self.base_name(a))) {
                    continue;
                }
                let flipped = match memo.get(&d) {
                    Some(&v) => v,
                    None => {
                        let v = self.has_flipped_pair(d);
                        memo.insert(d, v);
                        v
                    }
                };
                if flipped {
                    self.taint(i, TaintReason::PolicyOrderChanged);
                    break;
                }
            }
        }
    }

    /// Step 3c: among old packages of one touched name, the EVR order must survive φ.
    pub(super) fn check_same_name_order(&mut self) {
        let mut by_name: FxHashMap<Id, Vec<usize>> = FxHashMap::default();
        for i in 0..self.old_len {
            let name = self.pool.solvable_name(self.old_id(i));
            if self.touched.contains(&name) {
                by_name.entry(name).or_default().push(i);
            }
        }
        for members in by_name.values().filter(|m| m.len() > 1) {
            for (x, &a) in members.iter().enumerate() {
                for &b in &members[x + 1..] {
                    let (Some(na), Some(nb)) = (self.phi[a], self.phi[b]) else {
                        continue;
                    };
                    let before = self.pool.evrcmp(
                        self.pool.solvable_evr(self.old_id(a)),
                        self.pool.solvable_evr(self.old_id(b)),
                    );
                    let after = self.pool.evrcmp(
                        self.pool.solvable_evr(self.new_start + na as Id),
                        self.pool.solvable_evr(self.new_start + nb as Id),
                    );
                    if before != after {
                        self.taint(a, TaintReason::EvrOrderChanged);
                        self.taint(b, TaintReason::EvrOrderChanged);
                    }
                }
            }
        }
    }

    /// Step 3d: φ must preserve solvable order (provider lists and rule order follow it).
    pub(super) fn check_solvable_order(&mut self) {
        let mut last: Option<u32> = None;
        for i in 0..self.old_len {
            let Some(n) = self.phi[i] else { continue };
            if last.is_some_and(|l| n < l) {
                self.taint(i, TaintReason::OrderChanged);
            } else {
                last = Some(n);
            }
        }
    }
}
