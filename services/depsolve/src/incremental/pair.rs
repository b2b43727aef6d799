//! Steps 1–2 of the delta analysis: pair every old package with its successor φ and
//! classify each pair.
//!
//! Invariants: φ is injective and keeps name and arch (identical EVR first, then the sole
//! package left on each side); an unpaired old package is tainted `Removed`, a
//! structurally changed pair `StructureChanged`; [`RepoDelta::align_deps`] pairs two
//! dependency arrays only when every pair generates rules of the same form.

use super::delta::{RepoDelta, TaintReason};
use crate::solv::{is_reldep, rel, DepKind, Id};
use rustc_hash::{FxHashMap, FxHashSet};

/// How a package of the old repository relates to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PairKind {
    Identical,
    SameStructure,
    Structural,
}

impl RepoDelta {
    /// Step 1–2: φ by (name, arch) and the kind of every pair. Returns the pair kinds per
    /// old index (`None` = removed) and counts added packages.
    pub(super) fn pair_packages(&mut self) -> Vec<Option<PairKind>> {
        type Key = (Id, Id);
        let mut old_by_key: FxHashMap<Key, Vec<Id>> = FxHashMap::default();
        for i in 0..self.old_len {
            let id = self.old_id(i);
            old_by_key
                .entry((self.pool.solvable_name(id), self.pool.solvable_arch(id)))
                .or_default()
                .push(id);
        }
        let mut new_by_key: FxHashMap<Key, Vec<Id>> = FxHashMap::default();
        for i in 0..self.new_len {
            let id = self.new_start + i as Id;
            new_by_key
                .entry((self.pool.solvable_name(id), self.pool.solvable_arch(id)))
                .or_default()
                .push(id);
        }
        let mut paired_new: FxHashSet<Id> = FxHashSet::default();
        for (key, olds) in &old_by_key {
            let Some(news) = new_by_key.get(key) else {
                continue;
            };
            let mut olds_left: Vec<Id> = Vec::new();
            let mut news_left: Vec<Id> = news.clone();
            for &o in olds {
                let evr = self.pool.solvable_evr(o);
                match news_left
                    .iter()
                    .position(|&n| self.pool.solvable_evr(n) == evr)
                {
                    Some(pos) => {
                        let n = news_left.remove(pos);
                        self.pair(o, n, &mut paired_new);
                    }
                    None => olds_left.push(o),
                }
            }
            if olds_left.len() == 1 && news_left.len() == 1 {
                self.pair(olds_left[0], news_left[0], &mut paired_new);
            }
        }
        self.stats.added = self.new_len - paired_new.len();
        let mut kinds = vec![None; self.old_len];
        for (i, kind) in kinds.iter_mut().enumerate() {
            let Some(n) = self.phi[i] else {
                self.stats.removed += 1;
                self.taint(i, TaintReason::Removed);
                continue;
            };
            let (o, n) = (self.old_id(i), self.new_start + n as Id);
            let k = self.pair_kind(o, n);
            if k != PairKind::Identical {
                self.stats.updated += 1;
            }
            match k {
                PairKind::SameStructure => self.stats.same_structure += 1,
                PairKind::Structural => self.taint(i, TaintReason::StructureChanged),
                PairKind::Identical => {
                    self.identical[i] = true;
                    if let Some(n) = self.new_index(n) {
                        self.new_identical[n] = true;
                    }
                }
            }
            *kind = Some(k);
        }
        kinds
    }

    pub(super) fn pair(&mut self, old: Id, new: Id, paired_new: &mut FxHashSet<Id>) {
        if let (Some(o), Some(n)) = (self.old_index(old), self.new_index(new)) {
            self.phi[o] = Some(n as u32);
            paired_new.insert(new);
        }
    }

    pub(super) fn pair_kind(&self, o: Id, n: Id) -> PairKind {
        let evr_same = self.pool.solvable_evr(o) == self.pool.solvable_evr(n);
        let mut identical = evr_same;
        for kind in DepKind::ALL {
            if !self.structural(kind) {
                continue;
            }
            // most pairs are identical: compare without collecting first
            if self
                .pool
                .solvable_deps(o, kind)
                .eq(self.pool.solvable_deps(n, kind))
            {
                continue;
            }
            let a: Vec<Id> = self.pool.solvable_deps(o, kind).collect();
            let b: Vec<Id> = self.pool.solvable_deps(n, kind).collect();
            if a.len() != b.len() {
                return PairKind::Structural;
            }
            identical = false;
            if kind == DepKind::Provides {
                if !a.iter().zip(&b).all(|(&x, &y)| self.same_shape(x, y)) {
                    return PairKind::Structural;
                }
            } else if self.align_deps(&a, &b).is_none() {
                return PairKind::Structural;
            }
        }
        if identical {
            PairKind::Identical
        } else {
            PairKind::SameStructure
        }
    }

    /// Pair the dependencies (not provides) of an old package with its successor's: equal
    /// ids first, the rest in order. Rules do not depend on the order of a dependency
    /// array (libsolv sorts them), only on each dependency's providers, so any bijection
    /// whose pairs evaluate alike proves the rule sets equal. `None` when the arrays
    /// cannot correspond (other lengths, or a leftover rich dependency of another form).
    /// Returns `(position in the old array, old dependency, new dependency)`.
    pub(super) fn align_deps(&self, olds: &[Id], news: &[Id]) -> Option<Vec<(usize, Id, Id)>> {
        if olds.len() != news.len() {
            return None;
        }
        if olds == news {
            return Some(olds.iter().enumerate().map(|(i, &d)| (i, d, d)).collect());
        }
        let mut unmatched: FxHashMap<Id, usize> = FxHashMap::default();
        for &e in news {
            *unmatched.entry(e).or_default() += 1;
        }
        let mut pairs = Vec::with_capacity(olds.len());
        let mut left_old = Vec::new();
        for (i, &d) in olds.iter().enumerate() {
            match unmatched.get_mut(&d) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    pairs.push((i, d, d));
                }
                _ => left_old.push((i, d)),
            }
        }
        let mut left_new: Vec<Id> = Vec::new();
        for &e in news {
            if let Some(count) = unmatched.get_mut(&e) {
                if *count > 0 {
                    // the first `count` occurrences stay unmatched; equal ids are
                    // interchangeable, so which ones does not matter
                    *count -= 1;
                    left_new.push(e);
                }
            }
        }
        // same base name first (an EVR bump, or a renamed `versioned(X)`), then in order
        let mut taken = vec![false; left_new.len()];
        let mut rest = Vec::new();
        for (i, d) in left_old {
            let name = self.base_name(d);
            match (0..left_new.len()).find(|&k| {
                !taken[k]
                    && self.base_name(left_new[k]) == name
                    && self.same_rule_shape(d, left_new[k])
            }) {
                Some(k) => {
                    taken[k] = true;
                    pairs.push((i, d, left_new[k]));
                }
                None => rest.push((i, d)),
            }
        }
        let mut remaining = (0..left_new.len()).filter(|&k| !taken[k]);
        for (i, d) in rest {
            let k = remaining.next()?;
            if !self.same_rule_shape(d, left_new[k]) {
                return None;
            }
            pairs.push((i, d, left_new[k]));
        }
        pairs.sort_unstable();
        Some(pairs)
    }

    /// Do two dependencies (not provides) generate rules of the same form, so that the
    /// rules are equal when their providers are? A plain or versioned dependency yields
    /// one rule over its providers (or one binary rule per provider), whatever its name
    /// and EVR — the converter may rewrite `X >= 1` as `versioned(X) >= 1` — while a rich
    /// dependency's rules follow its operators.
    pub(super) fn same_rule_shape(&self, a: Id, b: Id) -> bool {
        let rich = |d: Id| {
            self.pool
                .rel_parts(d)
                .is_some_and(|(_, _, flags)| rel::is_boolean(flags))
        };
        self.same_shape(a, b) || (!rich(a) && !rich(b))
    }

    /// Same dependency up to the EVRs of versioned relations.
    pub(super) fn same_shape(&self, a: Id, b: Id) -> bool {
        if a == b {
            return true;
        }
        match (self.pool.rel_parts(a), self.pool.rel_parts(b)) {
            (Some((na, ea, fa)), Some((nb, eb, fb))) if fa == fb => {
                if rel::is_boolean(fa) {
                    self.same_shape(na, nb) && self.same_shape(ea, eb)
                } else if is_version_flags(fa) {
                    na == nb && !is_reldep(ea) && !is_reldep(eb)
                } else {
                    na == nb && ea == eb
                }
            }
            _ => false,
        }
    }

    /// Leaf dependencies of a (possibly rich) dependency.
    pub(super) fn atoms(&self, dep: Id, out: &mut Vec<Id>) {
        self.pool.atoms(dep, out);
    }

    /// The plain name string id of a leaf dependency.
    pub(super) fn base_name(&self, mut dep: Id) -> Id {
        while let Some((name, _, _)) = self.pool.rel_parts(dep) {
            dep = name;
        }
        dep
    }
}

fn is_version_flags(flags: i32) -> bool {
    flags > 0 && flags <= (rel::LT | rel::EQ | rel::GT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn version_flags() {
        assert!(is_version_flags(rel::EQ));
        assert!(is_version_flags(rel::GT | rel::EQ));
        assert!(!is_version_flags(0));
    }
}
