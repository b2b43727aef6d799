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
//! (`solver_addpkgrulesforweak`). The distances (`distance.rs`) walk a subset of it
//! (requires only).
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
//! With `ignore_weak_deps`, the rules that decide anything follow `Requires` only (sacks
//! build them without weak dependencies, `solv/weak.rs`), so the taint propagation does
//! too. Weak dependencies still steer the choice among providers: a package whose
//! Supplements/Enhances evaluate differently is tainted (it may be preferred or not now),
//! and so is every package that another set of packages recommends or suggests now
//! (`prefer`). Otherwise Recommends/Suggests and the reverse Supplements/Enhances edges
//! are followed as well.
//!
//! Because taint is closed under the reverse of every edge rule generation follows, "no
//! job candidate tainted" means "nothing in `U(p)` tainted", which is the isomorphism
//! condition above. The benchmark checks the claim on a real delta against a full pass.
//!
//! # Where the steps live
//!
//! `delta` holds the [`RepoDelta`] state the steps share, `stats` its figures.
//! [`RepoDelta::analyze`] (`analyze`) runs steps 1–4 and 6 once per delta: `pair` (1–2),
//! `deps` (3a–3b), `order` (3c–3e), `prefer` (3f), `propagate` (4, and 6: the reach of grown
//! requirements, whose bookkeeping is in `soft`). `plan` is step 5, once per source
//! package, and carries a reused solve's trace over to the new repository; `trace` is what
//! a solve records for it. The submodules import `delta` and one another (without
//! circles), never this file, which only declares and re-exports them.

mod analyze;
mod delta;
mod deps;
mod order;
mod pair;
mod plan;
mod prefer;
mod propagate;
mod single;
mod soft;
mod stats;
#[cfg(test)]
mod tests_traced;
mod trace;

pub use delta::{RepoDelta, TaintReason};
pub use plan::{Plan, TracedPlan, TracedPrevious};
pub use stats::{DeltaStats, PlanCounts};
pub use trace::{InstallTrace, SolveTrace};
