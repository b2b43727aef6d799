//! Trace-based reuse on small hand-made repositories. Every reuse is checked against a
//! full resolution in the new repository.

#[path = "../../tests/common/repo_writer.rs"]
mod repo_writer;

use std::path::Path;

use repo_writer::RepoPkg;

use super::{Plan, RepoDelta, SolveTrace};
use crate::{LoadOptions, RepoDir, Resolution, ResolveOptions, SolvFile};

/// A package: name, version, requires, provides, conflicts (release 1, arch x86_64).
#[derive(Clone, Copy)]
struct Pkg<'a> {
    name: &'a str,
    version: &'a str,
    requires: &'a [&'a str],
    provides: &'a [&'a str],
    conflicts: &'a [&'a str],
}

const fn pkg<'a>(name: &'a str, version: &'a str, requires: &'a [&'a str]) -> Pkg<'a> {
    Pkg {
        name,
        version,
        requires,
        provides: &[],
        conflicts: &[],
    }
}

impl<'a> Pkg<'a> {
    const fn provides(mut self, provides: &'a [&'a str]) -> Self {
        self.provides = provides;
        self
    }

    const fn conflicts(mut self, conflicts: &'a [&'a str]) -> Self {
        self.conflicts = conflicts;
        self
    }
}

fn write_repo(dir: &Path, pkgs: &[Pkg<'_>]) -> RepoDir {
    let pkgs: Vec<RepoPkg<'_>> = pkgs
        .iter()
        .map(|p| RepoPkg {
            name: p.name,
            version: p.version,
            requires: p.requires,
            provides: p.provides,
            conflicts: p.conflicts,
            ..RepoPkg::default()
        })
        .collect();
    repo_writer::write_repo_files(dir, &pkgs);
    RepoDir::open(dir).expect("repo dir")
}

struct Case {
    _tmp: tempfile::TempDir,
    old: SolvFile,
    new: SolvFile,
}

fn case(old: &[Pkg<'_>], new: &[Pkg<'_>]) -> Case {
    let tmp = tempfile::tempdir().expect("tempdir");
    let options = LoadOptions {
        ignore_weak_deps: true,
        ..Default::default()
    };
    let cache = tmp.path().join("cache");
    let old = SolvFile::ensure(&write_repo(&tmp.path().join("old"), old), &cache, &options)
        .expect("old repo");
    let new = SolvFile::ensure(&write_repo(&tmp.path().join("new"), new), &cache, &options)
        .expect("new repo");
    Case {
        _tmp: tmp,
        old,
        new,
    }
}

const OPTIONS: ResolveOptions = ResolveOptions {
    ignore_weak_deps: true,
    distances: true,
};

/// Plan `brs` on top of `group` with the previous solve's trace; a reuse is checked
/// against a full resolution in the new repository (distances recomputed when asked).
fn plan(c: &Case, group: &[&str], brs: &[&str]) -> Plan {
    let (previous, trace): (Resolution, Option<SolveTrace>) = c
        .old
        .load()
        .expect("old sack")
        .resolve_traced(group, brs, &OPTIONS);
    assert_eq!(
        previous,
        c.old
            .load()
            .expect("old sack")
            .resolve(group, brs, &OPTIONS),
        "a traced solve resolves like a plain one"
    );
    let mut delta = RepoDelta::analyze(&c.old, &c.new).expect("analysis");
    let planned = delta.plan_traced(Some((group, brs, &previous, trace.as_ref())), group, brs);
    let mut new_sack = c.new.load().expect("new sack");
    let (full, full_trace) = new_sack.resolve_traced(group, brs, &OPTIONS);
    if let Plan::Reuse(mut reused) = planned.plan.clone() {
        if planned.recompute_distances {
            new_sack.recompute_distances(brs, &mut reused);
        }
        assert_eq!(reused, full, "reused result differs from a full resolution");
        // the stored form of the trace: a reused set's is the one a solve records
        let stored = trace.and_then(|t| t.to_install_positions(&previous));
        let restored = stored
            .as_ref()
            .and_then(|s| SolveTrace::from_install_positions(s, &previous));
        if let (Some(restored), Some(stored)) = (&restored, &stored) {
            assert_eq!(
                restored.to_install_positions(&previous).as_ref(),
                Some(stored)
            );
        }
        assert_eq!(
            stored.and_then(|s| delta.successor_trace(&previous, &s)),
            full_trace.and_then(|t| t.to_install_positions(&full)),
            "a reused set's trace differs from a full resolution's"
        );
    }
    planned.plan
}

const BASE: Pkg<'static> = pkg("base", "1", &["build-essential"]);
const BUILD_ESSENTIAL: Pkg<'static> = pkg("build-essential", "1", &["gcc"]);
const GCC: Pkg<'static> = pkg("gcc", "1", &[]).provides(&["c-compiler"]);
const LIBTOOL: Pkg<'static> = pkg("libtool", "1", &["(gcc or c-compiler)"]);
const CLANG: Pkg<'static> = pkg("aaa-clang", "1", &["libllvm"]).provides(&["c-compiler"]);
const LIBLLVM: Pkg<'static> = pkg("libllvm", "1", &[]);

const DEBHELPER: Pkg<'static> = pkg("debhelper", "1", &["dh-autoreconf"]);
const DH_AUTORECONF: Pkg<'static> = pkg("dh-autoreconf", "1", &["libtool"]);

#[test]
fn added_alternative_to_a_requirement_forced_at_level_one_is_reused() {
    // gcc is forced at level 1 through the build group (base → build-essential → gcc)
    // before propagation reaches libtool's `(gcc or c-compiler)`, as in Debian, where
    // debhelper pulls libtool in: the new c-compiler cannot change the solution
    let c = case(
        &[
            BASE,
            BUILD_ESSENTIAL,
            GCC,
            LIBTOOL,
            LIBLLVM,
            DEBHELPER,
            DH_AUTORECONF,
        ],
        &[
            CLANG,
            BASE,
            BUILD_ESSENTIAL,
            GCC,
            LIBTOOL,
            LIBLLVM,
            DEBHELPER,
            DH_AUTORECONF,
        ],
    );
    assert!(matches!(
        plan(&c, &["base"], &["debhelper"]),
        Plan::Reuse(_)
    ));
    // without the trace the same package is re-solved
    let old = c
        .old
        .load()
        .expect("old")
        .resolve(&["base"], &["debhelper"], &OPTIONS);
    let mut delta = RepoDelta::analyze(&c.old, &c.new).expect("analysis");
    let group = ["base"];
    let brs = ["debhelper"];
    assert_eq!(
        delta.plan(Some((&group[..], &brs[..], &old)), &group, &brs),
        Plan::Resolve
    );
    assert_eq!(delta.stats().grown_requires, 1);
}

#[test]
fn added_candidate_for_a_free_choice_forces_a_resolve() {
    let zcc = pkg("zcc", "1", &[]).provides(&["c-compiler"]);
    let tool = pkg("tool", "1", &["c-compiler"]);
    let c = case(
        &[pkg("base", "1", &[]), GCC, zcc, tool, LIBLLVM],
        &[pkg("base", "1", &[]), CLANG, GCC, zcc, tool, LIBLLVM],
    );
    assert_eq!(plan(&c, &["base"], &["tool"]), Plan::Resolve);
    let full = c
        .new
        .load()
        .expect("new")
        .resolve(&["base"], &["tool"], &OPTIONS);
    assert!(full.resolved);
}

#[test]
fn grown_requirement_that_was_the_level_one_reason_forces_a_resolve() {
    // libtool, a BuildRequire, is propagated before build-essential's chain reaches gcc,
    // so libtool's grown rule is what installed gcc: not provably inert, re-solved
    let c = case(
        &[BASE, BUILD_ESSENTIAL, GCC, LIBTOOL, LIBLLVM],
        &[CLANG, BASE, BUILD_ESSENTIAL, GCC, LIBTOOL, LIBLLVM],
    );
    assert_eq!(plan(&c, &["base"], &["libtool"]), Plan::Resolve);
}

#[test]
fn grown_requirement_that_forced_a_level_one_decision_forces_a_resolve() {
    // tool's own rule installed gcc at level 1: a new provider makes it a free choice
    let tool = pkg("tool", "1", &["c-compiler"]);
    let c = case(
        &[pkg("base", "1", &[]), GCC, tool, LIBLLVM],
        &[pkg("base", "1", &[]), CLANG, GCC, tool, LIBLLVM],
    );
    assert_eq!(plan(&c, &["base"], &["tool"]), Plan::Resolve);
}

#[test]
fn changed_provider_that_was_chosen_forces_a_resolve() {
    let c = case(
        &[BASE, BUILD_ESSENTIAL, GCC, LIBTOOL, LIBLLVM],
        &[
            BASE,
            BUILD_ESSENTIAL,
            pkg("gcc", "2", &["libllvm"]).provides(&["c-compiler"]),
            LIBTOOL,
            LIBLLVM,
        ],
    );
    assert_eq!(plan(&c, &["base"], &["libtool"]), Plan::Resolve);
}

#[test]
fn new_conflict_with_an_installed_package_forces_a_resolve() {
    let app = pkg("app", "1", &["liba", "libb"]);
    let c = case(
        &[
            pkg("base", "1", &[]),
            app,
            pkg("liba", "1", &[]).conflicts(&["libb >= 2"]),
            pkg("libb", "1", &[]),
        ],
        &[
            pkg("base", "1", &[]),
            app,
            pkg("liba", "1", &[]).conflicts(&["libb >= 2"]),
            pkg("libb", "2", &[]),
        ],
    );
    assert_eq!(plan(&c, &["base"], &["app"]), Plan::Resolve);
    let full = c
        .new
        .load()
        .expect("new")
        .resolve(&["base"], &["app"], &OPTIONS);
    assert!(!full.resolved);
}

#[test]
fn added_package_conflicting_with_an_installed_one_is_harmless() {
    let app = pkg("app", "1", &["liba"]);
    let c = case(
        &[pkg("base", "1", &[]), app, pkg("liba", "1", &[])],
        &[
            pkg("base", "1", &[]),
            app,
            pkg("liba", "1", &[]),
            pkg("newcomer", "1", &[]).conflicts(&["liba"]),
        ],
    );
    assert!(matches!(plan(&c, &["base"], &["app"]), Plan::Reuse(_)));
}

#[test]
fn removed_package_that_was_installed_forces_a_resolve() {
    let c = case(
        &[BASE, BUILD_ESSENTIAL, GCC, LIBTOOL, pkg("m4", "1", &[])],
        &[BASE, BUILD_ESSENTIAL, GCC, LIBTOOL],
    );
    assert_eq!(plan(&c, &["base"], &["libtool", "m4"]), Plan::Resolve);
    assert!(matches!(plan(&c, &["base"], &["libtool"]), Plan::Reuse(_)));
}

#[test]
fn versioned_requirement_that_flips_forces_a_resolve() {
    let app = pkg("app", "1", &["libc < 2"]);
    let c = case(
        &[pkg("base", "1", &[]), app, pkg("libc", "1", &[])],
        &[pkg("base", "1", &[]), app, pkg("libc", "2", &[])],
    );
    assert_eq!(plan(&c, &["base"], &["app"]), Plan::Resolve);
    // a bump the constraint still accepts is reused with the new version
    let app = pkg("app", "1", &["libc >= 1"]);
    let c = case(
        &[pkg("base", "1", &[]), app, pkg("libc", "1", &[])],
        &[pkg("base", "1", &[]), app, pkg("libc", "2", &[])],
    );
    assert!(matches!(plan(&c, &["base"], &["app"]), Plan::Reuse(_)));
}

#[test]
fn changed_constraint_on_an_untouched_package_is_checked() {
    // only app changes: its new constraint excludes the unchanged libc
    let c = case(
        &[
            pkg("base", "1", &[]),
            pkg("app", "1", &["libc >= 1"]),
            pkg("libc", "1", &[]),
        ],
        &[
            pkg("base", "1", &[]),
            pkg("app", "2", &["libc >= 3"]),
            pkg("libc", "1", &[]),
        ],
    );
    assert_eq!(plan(&c, &["base"], &["app"]), Plan::Resolve);
}

#[test]
fn reordered_requires_are_not_a_structural_change() {
    let c = case(
        &[
            pkg("base", "1", &[]),
            pkg("app", "1", &["liba", "libb"]),
            pkg("liba", "1", &[]),
            pkg("libb", "1", &[]),
        ],
        &[
            pkg("base", "1", &[]),
            pkg("app", "2", &["libb", "liba"]),
            pkg("liba", "1", &[]),
            pkg("libb", "1", &[]),
        ],
    );
    assert!(matches!(plan(&c, &["base"], &["app"]), Plan::Reuse(_)));
}
