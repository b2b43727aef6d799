//! One solver run on a [`Pool`]: jobs in, installed solvables or problem texts out, and
//! optionally the trace incremental re-resolution needs ([`RawTrace`]). A pool with hidden
//! weak arrays builds its rules without them when that is provably the same (`weak.rs`).

use std::ffi::CStr;
use std::ptr::NonNull;

use super::pool::{Id, Pool, SYSTEM_SOLVABLE};
use super::queue::Queue;
use super::sys;
use super::weak_arrays::{INSTALLABLE, NONE};

/// A solver job: what to do with which selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Install one provider of a dependency (simple or rich).
    InstallProvides(Id),
    /// Install one of the listed solvables (stored as a whatprovides offset).
    InstallOneOf(Id),
}

/// Outcome of one solver run.
#[derive(Debug, Default)]
pub struct SolveOutcome {
    /// Problem descriptions, already in Koschei's "Problem: …\n - …" layout.
    pub problems: Vec<String>,
    /// Installed solvables (empty when there are problems), excluding the system solvable.
    pub installs: Vec<Id>,
}

/// What one successful solver run did, as far as incremental re-resolution needs it.
#[derive(Debug, Default, Clone)]
pub struct RawTrace {
    /// Solvables decided installed at decision level 1 (the job assertions and their unit
    /// propagation, before any free choice), sorted.
    pub level1_installs: Vec<Id>,
    /// `(package, requires dependency)` of every requires rule that was the reason of a
    /// level-1 decision (sorted, unique).
    pub level1_requires_reasons: Vec<(Id, Id)>,
    /// A learnt rule was the reason of some decision of the final solution.
    pub learnt: bool,
}

/// A solver, freed on drop.
struct Solver(NonNull<sys::Solver>);

impl Drop for Solver {
    fn drop(&mut self) {
        // SAFETY: created by solver_create and freed exactly once, before its pool.
        unsafe { sys::solver_free(self.0.as_ptr()) };
    }
}

impl Pool {
    /// Runs the solver on `jobs` into an empty root (weak dependencies ignored when
    /// asked): the solved solver, or the problems in libsolv's wording.
    fn run_solver(&mut self, jobs: &[Job], ignore_weak_deps: bool) -> Result<Solver, Vec<String>> {
        let mut q = Queue::new();
        for job in jobs {
            let (how, what) = match *job {
                Job::InstallProvides(dep) => (sys::SOLVER_SOLVABLE_PROVIDES, dep),
                Job::InstallOneOf(off) => (sys::SOLVER_SOLVABLE_ONE_OF, off),
            };
            q.push((sys::SOLVER_INSTALL | how) as Id);
            q.push(what);
        }
        // SAFETY: valid pool with whatprovides built; the solver is freed before the pool.
        let solver = Solver(
            NonNull::new(unsafe { sys::solver_create(self.raw.as_ptr()) })
                .expect("solver_create returned NULL"),
        );
        let s = solver.0.as_ptr();
        // SAFETY: valid solver; job queue lives across the call.
        let nproblems = unsafe {
            sys::solver_set_flag(
                s,
                sys::SOLVER_FLAG_IGNORE_RECOMMENDED as i32,
                ignore_weak_deps as i32,
            );
            sys::solver_solve(s, &mut q.0)
        };
        if nproblems > 0 {
            return Err((1..=nproblems)
                .map(|problem| self.describe_problem(s, problem))
                .collect());
        }
        Ok(solver)
    }

    /// The decision queue of a solved solver.
    fn decisions(solver: &Solver) -> Queue {
        let mut decisions = Queue::new();
        // SAFETY: valid solved solver and output queue.
        unsafe { sys::solver_get_decisionqueue(solver.0.as_ptr(), &mut decisions.0) };
        decisions
    }

    /// Solve `jobs` into an empty root. Weak dependencies are ignored when asked.
    pub fn solve(&mut self, jobs: &[Job], ignore_weak_deps: bool) -> SolveOutcome {
        self.solve_with(jobs, ignore_weak_deps, false).0
    }

    /// [`Pool::solve`], also reporting what the solver did (see [`RawTrace`]); the trace is
    /// `None` when there are problems.
    pub fn solve_traced(
        &mut self,
        jobs: &[Job],
        ignore_weak_deps: bool,
    ) -> (SolveOutcome, Option<RawTrace>) {
        self.solve_with(jobs, ignore_weak_deps, true)
    }

    /// One solve, the way libsolv does it with the weak arrays visible: [`Pool::solve_fast`]
    /// when it is provably the same, otherwise repeated with every array visible
    /// throughout.
    fn solve_with(
        &mut self,
        jobs: &[Job],
        ignore_weak_deps: bool,
        traced: bool,
    ) -> (SolveOutcome, Option<RawTrace>) {
        if !self.weak_deps_hidden() {
            return self.solve_once(jobs, ignore_weak_deps, traced);
        }
        if let Some(result) = self.solve_fast(jobs, ignore_weak_deps, traced) {
            return result;
        }
        self.prepare_weak_deps(None);
        let result = self.solve_once(jobs, ignore_weak_deps, traced);
        self.finish_weak_deps();
        self.count_weak_solve(false);
        result
    }

    /// A solve of a resolvable request with the package rules built without the weak
    /// arrays that cannot install anything (all of them with `ignore_weak_deps`, else
    /// Suggests and Enhances; `weak.rs`), when that is provably libsolv's answer with them
    /// all visible; `None` when it is not, when the request has problems, and for a pool
    /// that does not hide its weak arrays.
    pub fn solve_fast(
        &mut self,
        jobs: &[Job],
        ignore_weak_deps: bool,
        traced: bool,
    ) -> Option<(SolveOutcome, Option<RawTrace>)> {
        if !self.weak_deps_hidden() {
            return None;
        }
        let rules = if ignore_weak_deps { NONE } else { INSTALLABLE };
        self.prepare_weak_deps(Some(rules));
        let result = self.solve_once(jobs, ignore_weak_deps, traced);
        if !self.finish_weak_deps() || !result.0.problems.is_empty() {
            return None;
        }
        self.count_weak_solve(true);
        Some(result)
    }

    /// The solvables a job selects, in id order.
    pub fn job_candidates(&mut self, job: Job) -> &[Id] {
        match job {
            Job::InstallProvides(dep) => self.whatprovides(dep),
            Job::InstallOneOf(off) => self.whatprovides_list(off),
        }
    }

    /// One solver run and what it installed (and its trace when `traced`).
    fn solve_once(
        &mut self,
        jobs: &[Job],
        ignore_weak_deps: bool,
        traced: bool,
    ) -> (SolveOutcome, Option<RawTrace>) {
        let solver = match self.run_solver(jobs, ignore_weak_deps) {
            Ok(solver) => solver,
            Err(problems) => {
                let out = SolveOutcome {
                    problems,
                    installs: Vec::new(),
                };
                return (out, None);
            }
        };
        if !traced {
            let installs = Self::decisions(&solver)
                .as_slice()
                .iter()
                .copied()
                .filter(|&p| p > SYSTEM_SOLVABLE)
                .collect();
            let out = SolveOutcome {
                problems: Vec::new(),
                installs,
            };
            return (out, None);
        }
        let s = solver.0.as_ptr();
        let decisions = Self::decisions(&solver);
        let mut out = SolveOutcome::default();
        let mut trace = RawTrace::default();
        for &literal in decisions.as_slice() {
            let p = literal.abs();
            if p <= SYSTEM_SOLVABLE {
                continue;
            }
            if literal > 0 {
                out.installs.push(p);
            }
            let mut rule: Id = 0;
            // SAFETY: p is a solvable of this pool decided by the solver; out-params valid.
            let (level, _reason) = unsafe {
                (
                    sys::solver_get_decisionlevel(s, p),
                    sys::solver_describe_decision(s, p, &mut rule),
                )
            };
            if rule <= 0 {
                continue;
            }
            let (mut source, mut target, mut dep) = (0, 0, 0);
            // SAFETY: rule is a rule id reported by the solver; out-params valid.
            let (class, kind) = unsafe {
                (
                    sys::solver_ruleclass(s, rule),
                    sys::solver_ruleinfo(s, rule, &mut source, &mut target, &mut dep),
                )
            };
            if class == sys::SOLVER_RULE_LEARNT {
                trace.learnt = true;
            }
            if level.abs() == 1 {
                if literal > 0 {
                    trace.level1_installs.push(p);
                }
                if kind == sys::SOLVER_RULE_PKG_REQUIRES && source > SYSTEM_SOLVABLE {
                    trace.level1_requires_reasons.push((source, dep));
                }
            }
        }
        trace.level1_installs.sort_unstable();
        trace.level1_requires_reasons.sort_unstable();
        trace.level1_requires_reasons.dedup();
        (out, Some(trace))
    }

    /// "Problem: <first rule>" followed by "\n - <rule>" for each further distinct rule.
    fn describe_problem(&self, s: *mut sys::Solver, problem: Id) -> String {
        let mut rules = Queue::new();
        // SAFETY: s is a solved solver, problem in 1..=nproblems.
        unsafe { sys::solver_findallproblemrules(s, problem, &mut rules.0) };
        let mut lines: Vec<String> = Vec::new();
        for &rid in rules.as_slice() {
            let (mut source, mut target, mut dep) = (0, 0, 0);
            // SAFETY: rid is a rule of this solver; out-params are valid.
            let text = unsafe {
                let ty = sys::solver_ruleinfo(s, rid, &mut source, &mut target, &mut dep);
                let c = sys::solver_problemruleinfo2str(s, ty, source, target, dep);
                CStr::from_ptr(c).to_string_lossy().into_owned()
            };
            if !lines.contains(&text) {
                lines.push(text);
            }
        }
        if lines.is_empty() {
            // SAFETY: as above; solver_problem2str describes the problem as a whole.
            let text = unsafe { CStr::from_ptr(sys::solver_problem2str(s, problem)) };
            lines.push(text.to_string_lossy().into_owned());
        }
        let mut out = format!("Problem: {}", lines[0]);
        for line in &lines[1..] {
            out.push_str("\n - ");
            out.push_str(line);
        }
        out
    }
}
