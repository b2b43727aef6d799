//! Step 5 of the delta analysis: plan one source package — reuse its previous result
//! through φ, or solve it again — the plan's public types, and the trace of a reused
//! result in the new repository ([`RepoDelta::successor_trace`]).
//!
//! Invariant: [`Plan::Reuse`] is returned only when the request is unchanged, the previous
//! result resolved, every job dependency selects the φ-image of its old selection with no
//! tainted candidate, and every grown requirement in reach is shown inert by the previous
//! solve's trace (the proof is on [`RepoDelta::plan_traced`]).

use super::delta::{JobInfo, RepoDelta};
use super::soft;
use super::trace::{InstallTrace, SolveTrace};
use crate::goal::{Install, Resolution};
use crate::package::PackageIndex;
use crate::solv::{DepKind, Id};

/// The previous request and result of a package: build group, BuildRequires,
/// resolution, and the trace of that solve when it was recorded.
pub type TracedPrevious<'a, S> = (&'a [S], &'a [S], &'a Resolution, Option<&'a SolveTrace>);

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

impl RepoDelta {
    /// The installs of a previous resolution whose successor has another version: for a
    /// reused result these are exactly its dependency changes (`changes.rs`), each an upgrade or
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
    pub(super) fn group_reach<S: AsRef<str>>(&mut self, group: &[S]) -> Option<Vec<u64>> {
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

    /// Step 5 for one job dependency, computed once: does it select the φ-image of its old
    /// selection with no old candidate tainted, and which grown requirements can its
    /// candidates reach?
    pub(super) fn job_info(&mut self, dep: &str) -> &JobInfo {
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

    pub(super) fn job_selection_matches(
        &mut self,
        dep: &str,
        old_candidates: &mut Vec<u32>,
    ) -> bool {
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

impl RepoDelta {
    /// The trace of a reused resolution in the new repository: the φ-image of the old
    /// solve's trace (a reused solve is the φ-image of the old search, see
    /// [`RepoDelta::plan_traced`]). Positions into the installs stay (φ keeps their
    /// order); a reason's requires position follows its dependency's pairing with the
    /// successor's requires. `None` when a reason cannot be paired.
    pub fn successor_trace(
        &self,
        previous: &Resolution,
        trace: &InstallTrace,
    ) -> Option<InstallTrace> {
        let mut reasons = Vec::with_capacity(trace.reasons.len());
        for &(position, requires) in &trace.reasons {
            let old = previous.installs.get(position as usize)?.package.0 as usize;
            let new = self.phi.get(old).copied().flatten()?;
            let o = self.old_id(old);
            let n = self.new_start + new as Id;
            let olds: Vec<Id> = self.pool.solvable_deps(o, DepKind::Requires).collect();
            let news: Vec<Id> = self.pool.solvable_deps(n, DepKind::Requires).collect();
            let moved = if olds == news {
                requires
            } else {
                let (_, _, dep) = self
                    .align_deps(&olds, &news)?
                    .into_iter()
                    .find(|&(p, _, _)| p == requires as usize)?;
                // a solve names the first occurrence of a dependency
                news.iter().position(|&d| d == dep)? as u32
            };
            reasons.push((position, moved));
        }
        reasons.sort_unstable();
        Some(InstallTrace {
            level1: trace.level1.clone(),
            reasons,
        })
    }
}
