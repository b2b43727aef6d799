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
//! (`solver_addpkgrulesforweak`). The distances of §3.6 walk a subset of it (requires only).
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

use crate::idhash::{HashMap, HashSet};

mod soft;
#[cfg(test)]
mod tests_traced;
mod trace;

pub use trace::{InstallTrace, SolveTrace};

use crate::error::DepsolveError;
use crate::goal::{Install, Resolution};
use crate::package::PackageIndex;
use crate::sack::SolvFile;
use crate::solv::{is_reldep, rel, DepKind, Id, Pool};

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

/// How a package of the old repository relates to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairKind {
    Identical,
    SameStructure,
    Structural,
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

/// What the analysis knows about one job dependency (a build group member or
/// BuildRequire), computed once per distinct string.
#[derive(Debug, Clone)]
struct JobInfo {
    /// Selects the φ-image of its old selection and no old candidate is tainted.
    clean: bool,
    /// Grown-requirement groups reachable from its old candidates.
    reach: Vec<u64>,
    /// Fewest requires edges from a candidate to a grown requirement's owner (capped).
    nearest_owner: u8,
}

/// The previous request and result of a package: build group, BuildRequires,
/// resolution, and the trace of that solve when it was recorded.
pub type TracedPrevious<'a, S> = (&'a [S], &'a [S], &'a Resolution, Option<&'a SolveTrace>);

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

/// A [`Plan`] and whether a reused result's distances must be recomputed in the new
/// repository ([`crate::Sack::recompute_distances`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedPlan {
    /// Reuse or re-solve.
    pub plan: Plan,
    /// A reused result's rule universe holds a requirement with new providers, which
    /// distances (walking every provider) may see.
    pub recompute_distances: bool,
}

/// What to do with one source package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The previous result carries over with versions swapped.
    Reuse(Resolution),
    /// The package has to be solved again.
    Resolve,
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
    touched: HashSet<Id>,
    reasons: Vec<(u32, TaintReason)>,
    stats: DeltaStats,
    /// job dependency string → (changed?, old candidates)
    jobs: HashMap<String, JobInfo>,
    /// Requires whose providers only grew, and which old packages reach them.
    grown: soft::GrownRequires,
    /// Outcomes of the plans so far.
    counts: PlanCounts,
    /// old index → its successor has another EVR
    evr_changed: Vec<bool>,
    /// Pairs of old packages (lower index first) whose policy order may have flipped.
    policy_flips: HashSet<(u32, u32)>,
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
            touched: HashSet::default(),
            reasons: Vec::new(),
            stats: DeltaStats::default(),
            jobs: HashMap::default(),
            grown: soft::GrownRequires::default(),
            counts: PlanCounts::default(),
            evr_changed: Vec::new(),
            policy_flips: HashSet::default(),
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

    /// The installs of a previous resolution whose successor has another version: for a
    /// reused result these are exactly its dependency changes (§3.7), each an upgrade or
    /// downgrade of one name and arch, so nothing has to be compared by name. Returns
    /// `(old package, new package)` pairs in install order.
    pub fn version_swaps<'a>(
        &'a self,
        previous: &'a Resolution,
    ) -> impl Iterator<Item = (PackageIndex, PackageIndex)> + 'a {
        previous.installs.iter().filter_map(move |install| {
            let old = install.package.0 as usize;
            let new = self.phi.get(old).copied().flatten()?;
            self.evr_changed[old].then_some((install.package, PackageIndex(new)))
        })
    }

    /// The new index of an old package, unless it was removed.
    pub fn successor(&self, old: PackageIndex) -> Option<PackageIndex> {
        self.phi
            .get(old.0 as usize)
            .copied()
            .flatten()
            .map(PackageIndex)
    }

    /// Why an old package is tainted: the shortest chain of packages along rule-generation
    /// edges from it to a directly tainted package (empty when it is clean).
    pub fn explain(&mut self, old: PackageIndex) -> Vec<String> {
        let start = old.0 as usize;
        if !self.is_tainted(old) {
            return Vec::new();
        }
        let direct: HashSet<u32> = self.reasons.iter().map(|&(i, _)| i).collect();
        let mut parent: HashMap<usize, usize> = HashMap::default();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut seen: HashSet<usize> = [start].into_iter().collect();
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

    /// Decide whether a source package must be solved again, given its previous request
    /// and result and its new request (build group + BuildRequires). Without the previous
    /// solve's trace, a package whose rule universe holds a requirement with grown providers
    /// is re-solved; see [`RepoDelta::plan_traced`].
    pub fn plan<S: AsRef<str>>(
        &mut self,
        previous: Option<(&[S], &[S], &Resolution)>,
        group: &[S],
        buildrequires: &[S],
    ) -> Plan {
        self.plan_traced(
            previous.map(|(g, b, r)| (g, b, r, None)),
            group,
            buildrequires,
        )
        .plan
    }

    /// [`RepoDelta::plan`] with the [`SolveTrace`] of the previous solve, which lets a
    /// package be reused although a requirement in its rule universe gained providers.
    ///
    /// # Why this is exact
    ///
    /// Let `R` be the old rule set of the package and `R'` the new one. With the hard
    /// conditions of the module documentation holding for the rule universe except for
    /// requires whose providers *grew* (the φ-image of every old provider still provides,
    /// new ones were added), every rule of `R'` is either the φ-image of an old rule, the
    /// φ-image of such a grown requires rule `r` with extra positive literals, or a rule
    /// with a negative literal `-x` on a package `x` outside the φ-image of the old
    /// universe (the rules of packages reached only through new providers, their
    /// conflicts, obsoletes and same-name rules; conflicts of old packages gaining such
    /// targets).
    ///
    /// The trace says which packages were installed at decision level 1 (assertions of the
    /// job and their unit propagation, decided before any free choice and never undone)
    /// and which requires rules were reasons of level-1 decisions. Reuse demands:
    ///
    /// 1. no grown requires rule was a level-1 reason, so each level-1 decision is
    ///    re-derived in the new solve by the φ-image of the same unchanged rule: the new
    ///    level-1 assignment contains the old one;
    /// 2. every grown requires rule in the old rule universe had a provider installed at
    ///    level 1 (that provider still provides), so the rule is satisfied at level 1 in the
    ///    new solve too: it never propagates and is never picked for a free choice;
    /// 3. no learnt rule shaped the old solution.
    ///
    /// Then no package `x` outside the φ-image can ever be decided installed: it occurs
    /// positively only in satisfied grown rules and in rules of other such packages
    /// (guarded by their own negative literal), so no propagation and no free choice
    /// (`resolve_dependencies` skips a rule whose negative literal is not installed) can
    /// select it, and its rules, satisfied by `x = false`, never force anything on the
    /// φ-image. Rules are sorted by literal ids (`solver_unifyrules`), φ preserves solvable
    /// order, and the inserted rules are always skipped, so the solver visits the active
    /// rules in the same order, sees the same candidate sets, and libsolv's policy (names,
    /// arches, same-name EVR order, obsoletes, versioned-provide order — all checked as
    /// hard conditions) picks the same candidates: the whole search, including
    /// backtracking and minimisation, is the φ-image of the old one. Distances walk every
    /// provider, so they are recomputed (`recompute_distances`) when a grown requirement
    /// is in the universe. The weak-dependency mode keeps grown requirements hard.
    pub fn plan_traced<S: AsRef<str>>(
        &mut self,
        previous: Option<TracedPrevious<'_, S>>,
        group: &[S],
        buildrequires: &[S],
    ) -> TracedPlan {
        let resolve = TracedPlan {
            plan: Plan::Resolve,
            recompute_distances: false,
        };
        let Some((prev_group, prev_brs, prev, trace)) = previous else {
            self.counts.no_previous_result += 1;
            return resolve;
        };
        let same_request = |a: &[S], b: &[S]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.as_ref() == y.as_ref())
        };
        if !prev.resolved
            || !same_request(prev_group, group)
            || !same_request(prev_brs, buildrequires)
        {
            self.counts.unresolved_or_new_request += 1;
            return resolve;
        }
        let Some(mut reach) = self.group_reach(group) else {
            self.counts.tainted_universe += 1;
            return resolve;
        };
        let mut nearest = u8::MAX;
        for dep in buildrequires {
            let info = self.job_info(dep.as_ref());
            if !info.clean {
                self.counts.tainted_universe += 1;
                return resolve;
            }
            for (r, w) in reach.iter_mut().zip(&info.reach) {
                *r |= w;
            }
            nearest = nearest.min(info.nearest_owner);
        }
        let grown = reach.iter().any(|&w| w != 0);
        if grown {
            let verdict = match trace {
                Some(t) => self.grown.allows(&reach, t),
                None => Err(soft::Rejection::NoTrace),
            };
            if let Err(rejection) = verdict {
                match rejection {
                    soft::Rejection::NoTrace => self.counts.grown_without_trace += 1,
                    soft::Rejection::Learnt => self.counts.grown_learnt += 1,
                    soft::Rejection::Level1Reason => self.counts.grown_level1_reason += 1,
                    soft::Rejection::NotSatisfiedAtLevel1 => self.counts.grown_not_satisfied += 1,
                }
                return resolve;
            }
        }
        let mut installs = Vec::with_capacity(prev.installs.len());
        for install in &prev.installs {
            match self.successor(install.package) {
                Some(package) => installs.push(Install {
                    package,
                    distance: install.distance,
                }),
                None => return resolve,
            }
        }
        self.counts.reused += 1;
        // the distance walk starts at the BuildRequires' candidates and expands levels
        // 1–3: a grown requirement farther away cannot show up in it
        let recompute_distances = grown && {
            // an owner on level 3 adds providers on level 4, which are not expanded and
            // only count when one shares its name with an installed package
            nearest < soft::WALK_REACH
                || (nearest == soft::WALK_REACH
                    && prev.installs.iter().any(|i| {
                        let name = self.pool.solvable_name(self.old_id(i.package.0 as usize));
                        self.grown.is_gained_name(name)
                    }))
        };
        TracedPlan {
            plan: Plan::Reuse(Resolution {
                resolved: true,
                problems: Vec::new(),
                installs,
            }),
            recompute_distances,
        }
    }

    /// The grown requirements a build group's candidates reach, `None` when one of its
    /// members selects differently or has a tainted candidate. Remembered for the last
    /// group asked about (every package of a pass has the same one).
    fn group_reach<S: AsRef<str>>(&mut self, group: &[S]) -> Option<Vec<u64>> {
        let remembered = self.group_memo.as_ref().filter(|(g, _)| {
            g.len() == group.len() && g.iter().zip(group).all(|(a, b)| a == b.as_ref())
        });
        if let Some((_, reach)) = remembered {
            return reach.clone();
        }
        let mut reach = Some(vec![0u64; self.grown.words()]);
        for dep in group {
            let info = self.job_info(dep.as_ref());
            if !info.clean {
                reach = None;
                break;
            }
            let info_reach = info.reach.clone();
            if let Some(reach) = reach.as_mut() {
                for (r, w) in reach.iter_mut().zip(&info_reach) {
                    *r |= w;
                }
            }
        }
        let names = group.iter().map(|g| g.as_ref().to_string()).collect();
        self.group_memo = Some((names, reach.clone()));
        reach
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

    /// Step 1–2: φ by (name, arch) and the kind of every pair. Returns the pair kinds per
    /// old index (`None` = removed) and counts added packages.
    fn pair_packages(&mut self) -> Vec<Option<PairKind>> {
        type Key = (Id, Id);
        let mut old_by_key: HashMap<Key, Vec<Id>> = HashMap::default();
        for i in 0..self.old_len {
            let id = self.old_id(i);
            old_by_key
                .entry((self.pool.solvable_name(id), self.pool.solvable_arch(id)))
                .or_default()
                .push(id);
        }
        let mut new_by_key: HashMap<Key, Vec<Id>> = HashMap::default();
        for i in 0..self.new_len {
            let id = self.new_start + i as Id;
            new_by_key
                .entry((self.pool.solvable_name(id), self.pool.solvable_arch(id)))
                .or_default()
                .push(id);
        }
        let mut paired_new: HashSet<Id> = HashSet::default();
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

    fn pair(&mut self, old: Id, new: Id, paired_new: &mut HashSet<Id>) {
        if let (Some(o), Some(n)) = (self.old_index(old), self.new_index(new)) {
            self.phi[o] = Some(n as u32);
            paired_new.insert(new);
        }
    }

    fn pair_kind(&self, o: Id, n: Id) -> PairKind {
        let evr_same = self.pool.solvable_evr(o) == self.pool.solvable_evr(n);
        let mut identical = evr_same;
        for kind in DepKind::ALL {
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
    fn align_deps(&self, olds: &[Id], news: &[Id]) -> Option<Vec<(usize, Id, Id)>> {
        if olds.len() != news.len() {
            return None;
        }
        if olds == news {
            return Some(olds.iter().enumerate().map(|(i, &d)| (i, d, d)).collect());
        }
        let mut unmatched: HashMap<Id, usize> = HashMap::default();
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
    fn same_rule_shape(&self, a: Id, b: Id) -> bool {
        let rich = |d: Id| {
            self.pool
                .rel_parts(d)
                .is_some_and(|(_, _, flags)| rel::is_boolean(flags))
        };
        self.same_shape(a, b) || (!rich(a) && !rich(b))
    }

    /// Same dependency up to the EVRs of versioned relations.
    fn same_shape(&self, a: Id, b: Id) -> bool {
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
    fn atoms(&self, dep: Id, out: &mut Vec<Id>) {
        match self.pool.rel_parts(dep) {
            Some((name, evr, flags)) if rel::is_boolean(flags) => {
                self.atoms(name, out);
                self.atoms(evr, out);
            }
            _ => out.push(dep),
        }
    }

    /// The plain name string id of a leaf dependency.
    fn base_name(&self, mut dep: Id) -> Id {
        while let Some((name, _, _)) = self.pool.rel_parts(dep) {
            dep = name;
        }
        dep
    }

    /// Step 3a: names whose providers may differ between the repositories.
    fn collect_touched_names(&mut self, kinds: &[Option<PairKind>]) {
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
        let paired_new: HashSet<u32> = self.phi.iter().flatten().copied().collect();
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
    fn is_relevant(&self, dep: Id) -> bool {
        let mut atoms = Vec::new();
        self.atoms(dep, &mut atoms);
        atoms.iter().any(|&a| {
            let name = self.base_name(a);
            self.touched.contains(&name) || self.pool.id2str(name).starts_with('/')
        })
    }

    /// The old repository's providers of `old_dep` (for obsoletes: those it matches by
    /// name and EVR) mapped through φ; `None` when one of them was removed.
    fn mapped_old_providers(&mut self, old_dep: Id, obsoletes: bool) -> Option<Vec<u32>> {
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
    fn providers_match(&mut self, old_dep: Id, new_dep: Id, obsoletes: bool) -> bool {
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
    fn dep_pair_is_clean(&mut self, old_dep: Id, new_dep: Id, obsoletes: bool) -> bool {
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
    fn check_dependencies(&mut self, kinds: &[Option<PairKind>]) {
        let mut memo: HashMap<(Id, Id, bool), bool> = HashMap::default();
        let mut grown_memo: HashMap<(Id, Id), bool> = HashMap::default();
        let mut changed_deps: HashSet<(Id, Id)> = HashSet::default();
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
                    let kept: HashSet<u32> = providers
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
    fn old_providers(&mut self, dep: Id) -> Vec<u32> {
        let providers: Vec<Id> = self.pool.whatprovides(dep).to_vec();
        providers
            .into_iter()
            .filter_map(|p| self.old_index(p).map(|i| i as u32))
            .collect()
    }

    /// Is `new_dep` (of the successor) satisfied by the φ-image of every old provider of
    /// `old_dep`, plus possibly others — atom by atom for an `or` of plain dependencies,
    /// the only rich form handled (its rule's literals are the union of the atoms')?
    fn providers_only_grew(&mut self, old_dep: Id, new_dep: Id) -> bool {
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
            let news: HashSet<u32> = news
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
    fn targets_grew_by_added(&mut self, old_dep: Id, new_dep: Id, obsoletes: bool) -> bool {
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
    fn is_or_only(&self, dep: Id) -> bool {
        match self.pool.rel_parts(dep) {
            Some((name, evr, flags)) if rel::is_boolean(flags) => {
                flags == rel::OR && self.is_or_only(name) && self.is_or_only(evr)
            }
            _ => true,
        }
    }

    /// Step 3e: libsolv's policy orders alternatives of different names by the EVRs of
    /// versioned provides they share (`sort_by_common_dep`). A version bump may reorder
    /// them against another package providing the same name: record the pair. It matters
    /// only where both are candidates of one choice, i.e. for a requires rule or a job
    /// listing both ([`RepoDelta::check_policy_pairs`], `job_selection_matches`).
    fn check_common_provide_order(&mut self, kinds: &[Option<PairKind>]) {
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
    fn has_flipped_pair(&mut self, dep: Id) -> bool {
        if self.policy_flips.is_empty() {
            return false;
        }
        let providers = self.old_providers(dep);
        self.holds_flipped_pair(&providers)
    }

    fn holds_flipped_pair(&self, candidates: &[u32]) -> bool {
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
    fn check_policy_pairs(&mut self) {
        if self.policy_flips.is_empty() {
            return;
        }
        // only dependencies naming something a flipped package provides can list it
        let mut names: HashSet<Id> = HashSet::default();
        for i in (0..self.old_len).filter(|&i| self.policy_flipped[i]) {
            let provides: Vec<Id> = self
                .pool
                .solvable_deps(self.old_id(i), DepKind::Provides)
                .collect();
            names.extend(provides.into_iter().map(|p| self.base_name(p)));
        }
        let mut memo: HashMap<Id, bool> = HashMap::default();
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

    /// Step 6: which grown requirements each old package's rule universe holds.
    fn compute_grown_reach(&mut self) {
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
    fn forward_edges(&mut self, kinds: &[DepKind]) -> Vec<Vec<u32>> {
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

    fn cached_check(
        &mut self,
        memo: &mut HashMap<(Id, Id, bool), bool>,
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

    /// Step 3c: among old packages of one touched name, the EVR order must survive φ.
    fn check_same_name_order(&mut self) {
        let mut by_name: HashMap<Id, Vec<usize>> = HashMap::default();
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
    fn check_solvable_order(&mut self) {
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

    /// Step 4: backward closure of taint along rule-generation edges.
    fn propagate(&mut self) {
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
        let paired_new: HashSet<u32> = self.phi.iter().flatten().copied().collect();
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

    /// Taint the old providers of every name a package's Supplements/Enhances mention
    /// (weak dependencies only; stripped sacks have none).
    fn taint_weak_targets(&mut self, id: Id, queue: &mut Vec<usize>) {
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

    /// Step 5 for one job dependency, computed once: does it select the φ-image of its old
    /// selection with no old candidate tainted, and which grown requirements can its
    /// candidates reach?
    fn job_info(&mut self, dep: &str) -> &JobInfo {
        if !self.jobs.contains_key(dep) {
            let mut candidates = Vec::new();
            let changed = !self.job_selection_matches(dep, &mut candidates);
            let clean = !changed && candidates.iter().all(|&c| !self.tainted[c as usize]);
            let mut reach = vec![0u64; self.grown.words()];
            let mut nearest_owner = u8::MAX;
            for &c in &candidates {
                self.grown.add_reach(c as usize, &mut reach);
                nearest_owner = nearest_owner.min(self.grown.owner_depth(c as usize));
            }
            let info = JobInfo {
                clean,
                reach,
                nearest_owner,
            };
            self.jobs.insert(dep.to_string(), info);
        }
        &self.jobs[dep]
    }

    fn job_selection_matches(&mut self, dep: &str, old_candidates: &mut Vec<u32>) -> bool {
        let Some(parsed) = crate::goal::parse_dep(&mut self.pool, dep) else {
            return false;
        };
        let is_path = dep.trim_start().starts_with('/');
        if !is_path && self.is_relevant(parsed) && !self.dep_pair_is_clean(parsed, parsed, false) {
            return false;
        }
        let mut all = Vec::new();
        crate::goal::select(&mut self.pool, dep, &mut all);
        if is_path {
            // Which paths a pool indexes as provides depends on what its packages require,
            // so a path may select by provides in one pool and by file list in another:
            // accept it only when every owner, either way, is an identical package.
            let mut owners = Vec::new();
            self.pool.select_file(dep.trim(), &mut owners);
            all.extend(owners);
            all.sort_unstable();
            all.dedup();
            let untouched = all.iter().all(|&p| match self.old_index(p) {
                Some(i) => self.identical[i],
                None => self.new_index(p).is_some_and(|n| self.new_identical[n]),
            });
            if !untouched {
                return false;
            }
        }
        let (mut olds, mut news) = (Vec::new(), Vec::new());
        for &p in &all {
            if let Some(i) = self.old_index(p) {
                olds.push(i);
            } else if let Some(i) = self.new_index(p) {
                news.push(i as u32);
            }
        }
        if olds.is_empty() {
            // nothing selected before: either the package was unresolvable (re-solved
            // anyway) or an optional rich BuildRequire, which must stay unmatched
            return dep.trim_start().starts_with('(') && news.is_empty();
        }
        let mut mapped = Vec::with_capacity(olds.len());
        for &i in &olds {
            match self.phi[i] {
                Some(n) => mapped.push(n),
                None => return false,
            }
        }
        mapped.sort_unstable();
        news.sort_unstable();
        if mapped != news {
            return false;
        }
        let old_candidates_u32: Vec<u32> = olds.iter().map(|&i| i as u32).collect();
        if !self.policy_flips.is_empty() && self.holds_flipped_pair(&old_candidates_u32) {
            return false;
        }
        old_candidates.extend(olds.iter().map(|&i| i as u32));
        true
    }
}

fn is_version_flags(flags: i32) -> bool {
    flags > 0 && flags <= (rel::LT | rel::EQ | rel::GT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_flags() {
        assert!(is_version_flags(rel::EQ));
        assert!(is_version_flags(rel::GT | rel::EQ));
        assert!(!is_version_flags(0));
    }
}
