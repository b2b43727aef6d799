//! Requirements whose providers only grew between two repositories, and which old
//! packages' rule universes hold them.

use rustc_hash::{FxHashMap, FxHashSet};

use super::trace::{requires_key, SolveTrace};
use crate::solv::Id;

/// Why grown requirements keep a package from being reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No trace of the previous solve.
    NoTrace,
    /// A learnt rule shaped the previous solution.
    Learnt,
    /// A grown requirement forced a level-1 decision.
    Level1Reason,
    /// A grown requirement had no provider installed at level 1.
    NotSatisfiedAtLevel1,
}

/// The grown requirements of a repository delta, grouped by dependency (one group per
/// distinct old dependency id), with per-package reachability as bit sets over groups.
#[derive(Debug, Default)]
pub(crate) struct GrownRequires {
    /// `requires_key(owner, position)` of every grown requirement.
    keys: FxHashSet<u64>,
    /// Old dependency id → group.
    group_of: FxHashMap<Id, usize>,
    /// Group → old providers (old indices, ascending).
    providers: Vec<Vec<u32>>,
    /// `(owner, group)` of every grown requirement.
    owners: Vec<(u32, u32)>,
    /// Words per bit set.
    words: usize,
    /// Old package → strongly connected component of the requires graph.
    component: Vec<u32>,
    /// Component → bit set of the groups its forward closure holds (`words` each).
    reach: Vec<u64>,
    /// Old package → fewest requires edges to a grown requirement's owner, when at most
    /// [`WALK_REACH`].
    owner_depth: Vec<u8>,
    /// Names of the packages a grown requirement gained.
    gained_names: FxHashSet<Id>,
}

/// A grown requirement of a package on distance level `L` adds providers on level `L + 1`,
/// which the walk (levels 1–4, expanding 1–3) can see when `L <= 3`: its owner is at most
/// this many requires edges away from a level-1 candidate.
pub(crate) const WALK_REACH: u8 = 2;

impl GrownRequires {
    /// Record that `owner`'s requirement at `position` (dependency `dep`, old providers
    /// `providers`) only gained providers.
    pub(crate) fn record(
        &mut self,
        owner: usize,
        position: usize,
        dep: Id,
        providers: Vec<u32>,
        gained_names: Vec<Id>,
    ) {
        self.gained_names.extend(gained_names);
        let next = self.providers.len();
        let group = *self.group_of.entry(dep).or_insert(next);
        if group == next {
            self.providers.push(providers);
        }
        self.keys.insert(requires_key(owner as u32, position));
        self.owners.push((owner as u32, group as u32));
    }

    /// Number of grown requirements.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Number of groups (distinct dependencies).
    pub(crate) fn groups(&self) -> usize {
        self.providers.len()
    }

    /// Words of a reach bit set (0 when nothing grew).
    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// OR the groups reachable from old package `package` into `out`.
    pub(crate) fn add_reach(&self, package: usize, out: &mut [u64]) {
        let Some(&c) = self.component.get(package) else {
            return;
        };
        let set = &self.reach[c as usize * self.words..][..self.words];
        for (o, s) in out.iter_mut().zip(set) {
            *o |= s;
        }
    }

    /// Do the conditions of [`super::RepoDelta::plan_traced`] hold for the groups in
    /// `reach`, given the previous solve's trace? Every grown requirement of the universe
    /// has an old provider installed at level 1, and none was a level-1 reason.
    pub(crate) fn allows(&self, reach: &[u64], trace: &SolveTrace) -> Result<(), Rejection> {
        if trace.learnt {
            return Err(Rejection::Learnt);
        }
        if trace
            .level1_reasons
            .iter()
            .any(|key| self.keys.contains(key))
        {
            return Err(Rejection::Level1Reason);
        }
        for (w, &bits) in reach.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let group = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if !self.providers[group]
                    .iter()
                    .any(|&p| trace.installed_at_level1(p))
                {
                    return Err(Rejection::NotSatisfiedAtLevel1);
                }
            }
        }
        Ok(())
    }

    /// Compute, for every old package, the groups its forward closure over `edges`
    /// (requires → old providers) holds: Tarjan's strongly connected components, whose
    /// completion order is a reverse topological order, so each component's set is its
    /// members' own groups OR its (already complete) successors' sets.
    pub(crate) fn compute_reach(&mut self, edges: &[Vec<u32>]) {
        let n = edges.len();
        self.words = self.providers.len().div_ceil(64);
        let words = self.words;
        let mut own: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for &(owner, group) in &self.owners {
            own.entry(owner).or_default().push(group);
        }
        const UNSEEN: u32 = u32::MAX;
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut component = vec![UNSEEN; n];
        let mut reach: Vec<u64> = Vec::new();
        let mut counter = 0u32;
        let mut calls: Vec<(u32, usize)> = Vec::new();
        let mut members: Vec<u32> = Vec::new();
        for root in 0..n {
            if index[root] != UNSEEN {
                continue;
            }
            index[root] = counter;
            low[root] = counter;
            counter += 1;
            stack.push(root as u32);
            on_stack[root] = true;
            calls.push((root as u32, 0));
            while let Some(&mut (v, ref mut next)) = calls.last_mut() {
                let v = v as usize;
                if let Some(&w) = edges[v].get(*next) {
                    *next += 1;
                    let w = w as usize;
                    if index[w] == UNSEEN {
                        index[w] = counter;
                        low[w] = counter;
                        counter += 1;
                        stack.push(w as u32);
                        on_stack[w] = true;
                        calls.push((w as u32, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u as usize] = low[u as usize].min(low[v]);
                }
                if low[v] != index[v] {
                    continue;
                }
                let c = (reach.len() / words.max(1)) as u32;
                members.clear();
                loop {
                    let x = stack.pop().expect("tarjan stack");
                    on_stack[x as usize] = false;
                    component[x as usize] = c;
                    members.push(x);
                    if x as usize == v {
                        break;
                    }
                }
                let mut set = vec![0u64; words];
                for &x in &members {
                    for &g in own.get(&x).map(Vec::as_slice).unwrap_or(&[]) {
                        set[g as usize / 64] |= 1 << (g % 64);
                    }
                    for &y in &edges[x as usize] {
                        let cy = component[y as usize];
                        if cy != c {
                            let other = &reach[cy as usize * words..][..words];
                            for (s, o) in set.iter_mut().zip(other) {
                                *s |= o;
                            }
                        }
                    }
                }
                reach.extend_from_slice(&set);
            }
        }
        self.component = component;
        self.reach = reach;
        self.compute_owner_depth(edges);
    }

    /// Backward breadth-first search from the owners, up to [`WALK_REACH`] edges.
    fn compute_owner_depth(&mut self, edges: &[Vec<u32>]) {
        let n = edges.len();
        let mut reverse: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (x, out) in edges.iter().enumerate() {
            for &y in out {
                reverse[y as usize].push(x as u32);
            }
        }
        let mut depth = vec![u8::MAX; n];
        let mut frontier: Vec<u32> = Vec::new();
        for &(owner, _) in &self.owners {
            if depth[owner as usize] != 0 {
                depth[owner as usize] = 0;
                frontier.push(owner);
            }
        }
        for level in 1..=WALK_REACH {
            let mut next = Vec::new();
            for &y in &frontier {
                for &x in &reverse[y as usize] {
                    if depth[x as usize] == u8::MAX {
                        depth[x as usize] = level;
                        next.push(x);
                    }
                }
            }
            frontier = next;
        }
        self.owner_depth = depth;
    }

    /// Fewest requires edges from `package` to a grown requirement's owner, when at most
    /// [`WALK_REACH`] (`u8::MAX` otherwise).
    pub(crate) fn owner_depth(&self, package: usize) -> u8 {
        self.owner_depth.get(package).copied().unwrap_or(u8::MAX)
    }

    /// Did a grown requirement gain a package of this name?
    pub(crate) fn is_gained_name(&self, name: Id) -> bool {
        self.gained_names.contains(&name)
    }
}
