//! With weak dependencies ignored, libsolv — and hawkey, the original's resolver — still
//! prefers the providers an installed package recommends or suggests, or that supplement
//! or enhance an installed package. Each repository below has two providers of a
//! requirement where that preference decides. The reference is libsolv itself: the same
//! repository loaded with its weak dependencies visible, solved with the ignore-recommended
//! flag (what hawkey's `ignore_weak_deps` does). A sack loaded with `ignore_weak_deps`
//! builds its rules without them for speed and must still give the reference answer.

mod common;

use common::{pkg, RepoPkg};
use koschei_depsolve::{
    LoadOptions, Plan, RepoDelta, Resolution, ResolveOptions, Sack, SolvFile, WeakSolveCounts,
};

const IGNORE: ResolveOptions = ResolveOptions {
    ignore_weak_deps: true,
    distances: true,
};

/// Installed package names of `brs` resolved with weak dependencies ignored, by a sack
/// hiding them, and by the reference; plus the hiding sack's solve counts.
fn resolve(pkgs: &[RepoPkg<'_>], brs: &[&str]) -> (Vec<String>, Vec<String>, WeakSolveCounts) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::write_repo(tmp.path(), pkgs);
    let names = |sack: &mut Sack| {
        let res = sack.resolve(&["base"], brs, &IGNORE);
        assert!(res.resolved, "{:?}", res.problems);
        common::names(&sack.dependencies(&res))
    };
    let hiding_options = LoadOptions {
        ignore_weak_deps: true,
        ..LoadOptions::default()
    };
    let mut hiding = Sack::load(&repo, &hiding_options).unwrap();
    let mut visible = Sack::load(&repo, &LoadOptions::default()).unwrap();
    visible.reveal_weak_deps();
    let ours = names(&mut hiding);
    let reference = names(&mut visible);
    (ours, reference, hiding.weak_solve_counts())
}

fn base() -> RepoPkg<'static> {
    pkg("base", &[], &[])
}

#[test]
fn a_recommended_provider_is_preferred() {
    let app = RepoPkg {
        recommends: &["lynx"],
        ..pkg("app", &["www-browser"], &[])
    };
    let repo = [
        base(),
        pkg("links", &[], &["www-browser"]),
        pkg("lynx", &[], &["www-browser"]),
        app,
    ];
    let (ours, reference, counts) = resolve(&repo, &["app"]);
    assert_eq!(reference, ["app", "base", "lynx"]);
    assert_eq!(ours, reference);
    // answered by the solve whose rules were built without weak dependencies
    assert_eq!(
        counts,
        WeakSolveCounts {
            fast: 1,
            repeated: 0
        }
    );
}

#[test]
fn a_supplementing_provider_is_preferred() {
    let fonts_b = RepoPkg {
        supplements: &["app"],
        ..pkg("fonts-b", &[], &["font"])
    };
    let repo = [
        base(),
        pkg("app", &["font"], &[]),
        pkg("fonts-a", &[], &["font"]),
        fonts_b,
    ];
    let (ours, reference, _) = resolve(&repo, &["app"]);
    assert_eq!(reference, ["app", "base", "fonts-b"]);
    assert_eq!(ours, reference);
}

#[test]
fn a_recommendation_by_a_later_install_is_seen() {
    // `tool` is installed for the second BuildRequire and recommends the provider the
    // first one needs; libsolv sees the recommendation when it chooses.
    let tool = RepoPkg {
        recommends: &["pager-b"],
        ..pkg("tool", &[], &[])
    };
    let repo = [
        base(),
        pkg("app", &["pager"], &[]),
        pkg("pager-a", &[], &["pager"]),
        pkg("pager-b", &[], &["pager"]),
        tool,
    ];
    let (ours, reference, _) = resolve(&repo, &["app", "tool"]);
    assert_eq!(ours, reference);
}

/// `x-a` (libsolv's first choice for `x`) pulls in `z`, which conflicts with every
/// provider of `y`: the search learns a rule and backtracks to `x-b`. Such a solve is
/// repeated with the weak dependencies visible throughout (conflict analysis could
/// depend on the rules built for them), and gives the reference answer.
#[test]
fn a_search_that_backtracks_is_repeated_with_weak_dependencies_visible() {
    let x_a = RepoPkg {
        recommends: &["y-b"],
        ..pkg("x-a", &["z"], &["x"])
    };
    let z = RepoPkg {
        conflicts: &["y"],
        ..pkg("z", &[], &[])
    };
    let repo = [
        base(),
        pkg("app", &["x", "y"], &[]),
        x_a,
        pkg("x-b", &[], &["x"]),
        pkg("y-a", &[], &["y"]),
        pkg("y-b", &[], &["y"]),
        z,
    ];
    let (ours, reference, counts) = resolve(&repo, &["app"]);
    assert_eq!(ours, reference);
    assert_eq!(reference, ["app", "base", "x-b", "y-a"]);
    assert_eq!(
        counts,
        WeakSolveCounts {
            fast: 0,
            repeated: 1
        }
    );
}

#[test]
fn problems_are_those_of_the_reference() {
    let repo = [base(), pkg("app", &["missing"], &[])];
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::write_repo(tmp.path(), &repo);
    let hiding_options = LoadOptions {
        ignore_weak_deps: true,
        ..LoadOptions::default()
    };
    let mut hiding = Sack::load(&dir, &hiding_options).unwrap();
    let ours = hiding.resolve(&["base"], &["app"], &IGNORE);
    let mut visible = Sack::load(&dir, &LoadOptions::default()).unwrap();
    visible.reveal_weak_deps();
    let reference = visible.resolve(&["base"], &["app"], &IGNORE);
    assert!(!ours.resolved);
    assert_eq!(ours.problems, reference.problems);
    assert_eq!(hiding.weak_solve_counts().repeated, 1);
}

/// A new version of `app` recommends `links` instead of `lynx`, and nothing else changes:
/// an incremental plan must not reuse the old choice with the version swapped.
#[test]
fn a_recommendation_that_changes_taints_the_packages_it_names() {
    let browsers = [
        pkg("links", &[], &["www-browser"]),
        pkg("lynx", &[], &["www-browser"]),
    ];
    let app = |version, recommends| RepoPkg {
        version,
        recommends,
        ..pkg("app", &["www-browser"], &[])
    };
    let old = [base(), browsers[0], browsers[1], app("1", &["lynx"])];
    let new = [base(), browsers[0], browsers[1], app("2", &["links"])];
    let (plan, full, names) = plan_across(&old, &new, &["app"]);
    assert_eq!(names, ["app", "base", "links"]);
    if let Plan::Reuse(reused) = plan {
        assert_eq!(reused, full, "reused the old choice");
    }
}

/// A new version of `app` recommends `docs`, which no choice involves: the result is
/// reused (versions swapped), since only what the recommendation names is affected.
#[test]
fn a_recommendation_of_a_package_no_choice_involves_is_reused() {
    let old = [
        base(),
        pkg("docs", &[], &[]),
        pkg("links", &[], &["www-browser"]),
        pkg("lynx", &[], &["www-browser"]),
        RepoPkg {
            version: "1",
            ..pkg("app", &["www-browser"], &[])
        },
    ];
    let mut new = old;
    new[4] = RepoPkg {
        version: "2",
        recommends: &["docs"],
        ..pkg("app", &["www-browser"], &[])
    };
    match plan_across(&old, &new, &["app"]) {
        (Plan::Reuse(reused), full, _) => assert_eq!(reused, full),
        (Plan::Resolve, ..) => panic!("re-solved although no choice involves docs"),
    }
}

/// Plan `brs` (group `base`) from a resolution in `old` to `new`, both loaded with weak
/// dependencies ignored: the plan, the full resolution in `new` and its package names.
fn plan_across(
    old: &[RepoPkg<'_>],
    new: &[RepoPkg<'_>],
    brs: &[&str],
) -> (Plan, Resolution, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let options = LoadOptions {
        ignore_weak_deps: true,
        ..LoadOptions::default()
    };
    let cache = tmp.path().join("cache");
    let old_repo = common::write_repo(&tmp.path().join("old"), old);
    let new_repo = common::write_repo(&tmp.path().join("new"), new);
    let old = SolvFile::ensure(&old_repo, &cache, &options).unwrap();
    let new = SolvFile::ensure(&new_repo, &cache, &options).unwrap();
    let group = ["base"];
    let previous = old.load().unwrap().resolve(&group, brs, &IGNORE);
    let mut new_sack = new.load().unwrap();
    let full = new_sack.resolve(&group, brs, &IGNORE);
    let names = common::names(&new_sack.dependencies(&full));
    let mut delta = RepoDelta::analyze(&old, &new).unwrap();
    let plan = delta.plan(Some((&group[..], brs, &previous)), &group, brs);
    (plan, full, names)
}
