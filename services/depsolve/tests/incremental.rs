//! Exact incremental re-resolution on small generated repositories: every plan is checked
//! against a full resolution in the new repository.

mod common;

use std::path::Path;

use common::RepoPkg;

use koschei_depsolve::{LoadOptions, Plan, RepoDelta, RepoDir, ResolveOptions, SolvFile};

/// `(name, version, requires, provides)`; release 1, arch x86_64.
type Pkg<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str]);

fn write_repo(dir: &Path, pkgs: &[Pkg<'_>]) -> RepoDir {
    let pkgs: Vec<RepoPkg<'_>> = pkgs
        .iter()
        .map(|&(name, version, requires, provides)| RepoPkg {
            name,
            version,
            requires,
            provides,
            ..RepoPkg::default()
        })
        .collect();
    common::write_repo(dir, &pkgs)
}

struct Case {
    _tmp: tempfile::TempDir,
    old: SolvFile,
    new: SolvFile,
}

fn case(old: &[Pkg<'_>], new: &[Pkg<'_>]) -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let options = LoadOptions {
        ignore_weak_deps: true,
        ..Default::default()
    };
    let cache = tmp.path().join("cache");
    let old =
        SolvFile::ensure(&write_repo(&tmp.path().join("old"), old), &cache, &options).unwrap();
    let new =
        SolvFile::ensure(&write_repo(&tmp.path().join("new"), new), &cache, &options).unwrap();
    Case {
        _tmp: tmp,
        old,
        new,
    }
}

/// Plan `brs` (group `base`) and check a reuse against a full resolution.
fn plan(c: &Case, brs: &[&str]) -> Plan {
    let group = ["base"];
    let opts = ResolveOptions {
        ignore_weak_deps: true,
        distances: true,
    };
    let previous = c.old.load().unwrap().resolve(&group, brs, &opts);
    let mut delta = RepoDelta::analyze(&c.old, &c.new).unwrap();
    let plan = delta.plan(Some((&group[..], brs, &previous)), &group, brs);
    if let Plan::Reuse(reused) = &plan {
        let full = c.new.load().unwrap().resolve(&group, brs, &opts);
        assert_eq!(
            reused, &full,
            "reused result differs from a full resolution"
        );
    }
    plan
}

const BASE: Pkg<'static> = ("base", "1", &[], &[]);

#[test]
fn version_bump_is_reused_with_the_new_version() {
    let c = case(
        &[
            BASE,
            ("libc", "1", &[], &[]),
            ("app", "1", &["libc >= 1"], &[]),
        ],
        &[
            BASE,
            ("libc", "2", &[], &[]),
            ("app", "1", &["libc >= 1"], &[]),
        ],
    );
    assert!(matches!(plan(&c, &["app"]), Plan::Reuse(_)));
}

#[test]
fn constraint_that_flips_forces_a_resolve() {
    let c = case(
        &[
            BASE,
            ("libc", "1", &[], &[]),
            ("app", "1", &["libc < 2"], &[]),
        ],
        &[
            BASE,
            ("libc", "2", &[], &[]),
            ("app", "1", &["libc < 2"], &[]),
        ],
    );
    assert_eq!(plan(&c, &["app"]), Plan::Resolve);
    assert!(
        !c.new
            .load()
            .unwrap()
            .resolve(&["base"], &["app"], &ResolveOptions::default())
            .resolved
    );
}

#[test]
fn new_candidate_forces_a_resolve_of_its_users_only() {
    let c = case(
        &[
            BASE,
            ("gcc", "1", &[], &["c-compiler"]),
            ("tool", "1", &["c-compiler"], &[]),
            ("other", "1", &[], &[]),
        ],
        &[
            BASE,
            ("aaa-clang", "1", &[], &["c-compiler"]),
            ("gcc", "1", &[], &["c-compiler"]),
            ("tool", "1", &["c-compiler"], &[]),
            ("other", "1", &[], &[]),
        ],
    );
    assert_eq!(plan(&c, &["tool"]), Plan::Resolve);
    assert_eq!(plan(&c, &["c-compiler"]), Plan::Resolve);
    assert!(matches!(plan(&c, &["other"]), Plan::Reuse(_)));
}

#[test]
fn structural_change_taints_reverse_dependencies() {
    let c = case(
        &[
            BASE,
            ("libz", "1", &[], &[]),
            ("liba", "1", &[], &[]),
            ("app", "1", &["liba"], &[]),
            ("other", "1", &[], &[]),
        ],
        &[
            BASE,
            ("libz", "1", &[], &[]),
            ("liba", "2", &["libz"], &[]),
            ("app", "1", &["liba"], &[]),
            ("other", "1", &[], &[]),
        ],
    );
    assert_eq!(plan(&c, &["app"]), Plan::Resolve);
    assert!(matches!(plan(&c, &["other"]), Plan::Reuse(_)));
    let delta = RepoDelta::analyze(&c.old, &c.new).unwrap();
    assert_eq!(delta.stats().updated, 1);
    assert_eq!(delta.stats().same_structure, 0);
}

#[test]
fn removed_package_and_changed_request() {
    let c = case(
        &[BASE, ("gone", "1", &[], &[]), ("app", "1", &[], &[])],
        &[BASE, ("app", "1", &[], &[])],
    );
    assert_eq!(plan(&c, &["gone"]), Plan::Resolve);
    // a different BuildRequires list is always re-solved
    let mut delta = RepoDelta::analyze(&c.old, &c.new).unwrap();
    let prev = c
        .old
        .load()
        .unwrap()
        .resolve(&["base"], &["app"], &ResolveOptions::default());
    let plan = delta.plan(
        Some((&["base"][..], &["app"][..], &prev)),
        &["base"],
        &["app", "base"],
    );
    assert_eq!(plan, Plan::Resolve);
    assert_eq!(delta.stats().removed, 1);
}
