//! Step 3a–3b of the delta analysis: which names may have other providers now, and which
//! dependencies of old packages evaluate differently.
//!
//! Invariants: a dependency is checked when it mentions a touched name or a path, or when
//! its text changed; an owner stays untainted only when each such dependency selects the
//! φ-image of its old providers (atom by atom), except for requires whose providers only
//! grew (recorded in [`super::soft::GrownRequires`], judged by
//! [`RepoDelta::plan_traced`]) and conflicts/obsoletes that only gained packages without
//! a predecessor.

use super::delta::{RepoDelta, TaintReason};
use super::pair::PairKind;
use crate::solv::{rel, DepKind, Id};
use rustc_hash::{FxHashMap, FxHashSet};

impl RepoDelta {
    /// Step 3a: names whose providers may differ between the repositories.
    pub(super) fn collect_touched_names(&mut self, kinds: &[Option<PairKind>]) {
        let mut changed: Vec<Id> = Vec::new();
        for (i, kind) in kinds.iter().enumerate() {
            match kind {
                Some(PairKind::Identical) => {}
                Some(_) => {
                    changed.push(self.old_id(i));
                    changed.push(self.new_start + self.phi[i].expect("paired") as Id);
                }
                None => changed.push(self.old_id(i)),
            }
        }
        let paired_new: FxHashSet<u32> = self.phi.iter().flatten().copied().collect();
        changed.extend(
            (0..self.new_len as u32)
                .filter(|n| !paired_new.contains(n))
                .map(|n| self.new_start + n as Id),
        );
        for id in changed {
            self.touched.insert(self.pool.solvable_name(id));
            let provides: Vec<Id> = self.pool.solvable_deps(id, DepKind::Provides).collect();
            for p in provides {
                let name = self.base_name(p);
                self.touched.insert(name);
            }
        }
    }

    /// Does this dependency mention a touched name or a file path?
    pub(super) fn is_relevant(&self, dep: Id) -> bool {
        let mut atoms = Vec::new();
        self.atoms(dep, &mut atoms);
        atoms.iter().any(|&a| {
            let name = self.base_name(a);
            self.touched.contains(&name) || self.pool.id2str(name).starts_with('/')
        })
    }

    /// The old repository's providers of `old_dep` (for obsoletes: those it matches by
    /// name and EVR) mapped through φ; `None` when one of them was removed.
    pub(super) fn mapped_old_providers(
        &mut self,
        old_dep: Id,
        obsoletes: bool,
    ) -> Option<Vec<u32>> {
        let olds: Vec<Id> = self.pool.whatprovides(old_dep).to_vec();
        let mut mapped: Vec<u32> = Vec::new();
        for p in olds {
            if let Some(i) = self.old_index(p) {
                if obsoletes && !self.pool.match_nevr(p, old_dep) {
                    continue;
                }
                mapped.push(self.phi[i]?);
            }
        }
        Some(mapped)
    }

    /// Old providers of `dep` mapped through φ (`None` when one was removed), and the new
    /// providers, both restricted to their repository.
    pub(super) fn providers_match(&mut self, old_dep: Id, new_dep: Id, obsoletes: bool) -> bool {
        let Some(mapped) = self.mapped_old_providers(old_dep, obsoletes) else {
            return false;
        };
        let news: Vec<Id> = self.pool.whatprovides(new_dep).to_vec();
        let mut actual: Vec<u32> = Vec::new();
        for p in news {
            if let Some(i) = self.new_index(p) {
                if obsoletes && !self.pool.match_nevr(p, new_dep) {
                    continue;
                }
                actual.push(i as u32);
            }
        }
        mapped == actual
    }

    /// Does `old_dep` (of an old package) evaluate like `new_dep` (its counterpart)?
    pub(super) fn dep_pair_is_clean(&mut self, old_dep: Id, new_dep: Id, obsoletes: bool) -> bool {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        self.atoms(old_dep, &mut a);
        self.atoms(new_dep, &mut b);
        if a.len() != b.len() {
            return false;
        }
        a.iter()
            .zip(&b)
            .all(|(&x, &y)| self.providers_match(x, y, obsoletes))
            && self.providers_match(old_dep, new_dep, obsoletes)
    }

    /// Step 3b: check every relevant dependency of every old package against its
    /// counterpart; taint owners of dependencies that evaluate differently, except for
    /// requires whose providers only grew (recorded for [`RepoDelta::plan_traced`]).
    pub(super) fn check_dependencies(&mut self, kinds: &[Option<PairKind>]) {
        let mut memo: FxHashMap<(Id, Id, bool), bool> = FxHashMap::default();
        let mut grown_memo: FxHashMap<(Id, Id), bool> = FxHashMap::default();
        let mut changed_deps: FxHashSet<(Id, Id)> = FxHashSet::default();
        for (i, &pair) in kinds.iter().enumerate() {
            if self.tainted[i] {
                continue;
            }
            let o = self.old_id(i);
            let n = self.new_start + self.phi[i].expect("untainted packages are paired") as Id;
            let mut clean = true;
            let mut grown: Vec<(usize, Id, Id)> = Vec::new();
            // the package's own name: same-name packages get implicit obsoletes rules
            let name = self.pool.solvable_name(o);
            if self.touched.contains(&name) && !self.cached_check(&mut memo, name, name, false) {
                changed_deps.insert((name, name));
                clean = false;
            }
            'kinds: for &kind in self.evaluated() {
                if !clean {
                    break;
                }
                let olds: Vec<Id> = self.pool.solvable_deps(o, kind).collect();
                let news: Vec<Id> = if pair == Some(PairKind::Identical) {
                    olds.clone()
                } else {
                    self.pool.solvable_deps(n, kind).collect()
                };
                let Some(aligned) = self.align_deps(&olds, &news) else {
                    clean = false;
                    break 'kinds;
                };
                for (position, d, e) in aligned {
                    // an unchanged dependency on untouched names evaluates as before; a
                    // changed one (other EVR or name) is always checked
                    if d == e && !self.is_relevant(d) {
                        continue;
                    }
                    if self.cached_check(&mut memo, d, e, kind == DepKind::Obsoletes) {
                        continue;
                    }
                    changed_deps.insert((d, e));
                    if kind == DepKind::Requires && !self.weak {
                        let only_grew = match grown_memo.get(&(d, e)) {
                            Some(&v) => v,
                            None => {
                                let v = self.providers_only_grew(d, e);
                                grown_memo.insert((d, e), v);
                                v
                            }
                        };
                        if only_grew {
                            grown.push((position, d, e));
                            continue;
                        }
                    }
                    if matches!(kind, DepKind::Conflicts | DepKind::Obsoletes)
                        && self.targets_grew_by_added(d, e, kind == DepKind::Obsoletes)
                    {
                        // binary rules against packages without a predecessor: satisfied
                        // by leaving them out, which every reused solve does
                        continue;
                    }
                    clean = false;
                    break 'kinds;
                }
            }
            if !clean {
                self.taint(i, TaintReason::DependencyChanged);
            } else {
                for (position, dep, new_dep) in grown {
                    let providers = self.old_providers(dep);
                    let kept: FxHashSet<u32> = providers
                        .iter()
                        .filter_map(|&p| self.phi[p as usize])
                        .collect();
                    let news: Vec<Id> = self.pool.whatprovides(new_dep).to_vec();
                    let gained_names: Vec<Id> = news
                        .into_iter()
                        .filter(|&p| {
                            self.new_index(p)
                                .is_some_and(|n| !kept.contains(&(n as u32)))
                        })
                        .map(|p| self.pool.solvable_name(p))
                        .collect();
                    self.grown.record(i, position, dep, providers, gained_names);
                }
            }
        }
        self.stats.changed_deps = changed_deps.len();
        self.stats.grown_requires = self.grown.len();
        self.stats.grown_groups = self.grown.groups();
    }

    /// Old providers of a dependency, as old indices in solvable order.
    pub(super) fn old_providers(&mut self, dep: Id) -> Vec<u32> {
        let providers: Vec<Id> = self.pool.whatprovides(dep).to_vec();
        providers
            .into_iter()
            .filter_map(|p| self.old_index(p).map(|i| i as u32))
            .collect()
    }

    /// Is `new_dep` (of the successor) satisfied by the φ-image of every old provider of
    /// `old_dep`, plus possibly others — atom by atom for an `or` of plain dependencies,
    /// the only rich form handled (its rule's literals are the union of the atoms')?
    pub(super) fn providers_only_grew(&mut self, old_dep: Id, new_dep: Id) -> bool {
        if !self.is_or_only(old_dep) || !self.is_or_only(new_dep) {
            return false;
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        self.atoms(old_dep, &mut a);
        self.atoms(new_dep, &mut b);
        if a.len() != b.len() {
            return false;
        }
        a.push(old_dep);
        b.push(new_dep);
        a.iter().zip(&b).all(|(&x, &y)| {
            let olds = self.old_providers(x);
            let news: Vec<Id> = self.pool.whatprovides(y).to_vec();
            let news: FxHashSet<u32> = news
                .into_iter()
                .filter_map(|p| self.new_index(p).map(|n| n as u32))
                .collect();
            olds.iter()
                .all(|&o| self.phi[o as usize].is_some_and(|n| news.contains(&n)))
        })
    }

    /// Are the new targets of a plain conflict/obsoletes the φ-image of the old ones plus
    /// packages added in the new repository (no predecessor)? Such a package is never
    /// installed by a reused solve (see [`RepoDelta::plan_traced`]), so the extra binary
    /// rules `¬owner ∨ ¬added` are satisfied all along and only ever propagate `¬added`.
    pub(super) fn targets_grew_by_added(
        &mut self,
        old_dep: Id,
        new_dep: Id,
        obsoletes: bool,
    ) -> bool {
        let rich = |d: Id| {
            self.pool
                .rel_parts(d)
                .is_some_and(|(_, _, flags)| rel::is_boolean(flags))
        };
        if rich(old_dep) || rich(new_dep) {
            return false;
        }
        let Some(mut mapped) = self.mapped_old_providers(old_dep, obsoletes) else {
            return false;
        };
        let news: Vec<Id> = self.pool.whatprovides(new_dep).to_vec();
        if self.new_has_predecessor.is_empty() {
            let mut has = vec![false; self.new_len];
            for &n in self.phi.iter().flatten() {
                has[n as usize] = true;
            }
            self.new_has_predecessor = has;
        }
        let mut kept: Vec<u32> = Vec::new();
        for p in news {
            if let Some(n) = self.new_index(p) {
                if obsoletes && !self.pool.match_nevr(p, new_dep) {
                    continue;
                }
                if self.new_has_predecessor[n] {
                    kept.push(n as u32);
                }
            }
        }
        mapped.sort_unstable();
        kept.sort_unstable();
        mapped == kept
    }

    /// A plain dependency or an `or` of plain dependencies.
    pub(super) fn is_or_only(&self, dep: Id) -> bool {
        match self.pool.rel_parts(dep) {
            Some((name, evr, flags)) if rel::is_boolean(flags) => {
                flags == rel::OR && self.is_or_only(name) && self.is_or_only(evr)
            }
            _ => true,
        }
    }

    pub(super) fn cached_check(
        &mut self,
        memo: &mut FxHashMap<(Id, Id, bool), bool>,
        d: Id,
        e: Id,
        obsoletes: bool,
    ) -> bool {
        if let Some(&v) = memo.get(&(d, e, obsoletes)) {
            return v;
        }
        let v = self.dep_pair_is_clean(d, e, obsoletes);
        memo.insert((d, e, obsoletes), v);
        v
    }
}
