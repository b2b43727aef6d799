//! Installability of binary packages: install one package into an empty root, with the
//! install set's totals.

mod common;

use common::{write_repo, RepoPkg};
use koschei_depsolve::{
    installability_incremental, installability_pass, InstallSizes, LoadOptions, ParallelOptions,
    Sack, SolvFile,
};

fn repo(dir: &std::path::Path) -> koschei_depsolve::RepoDir {
    let p = |name, requires, conflicts, recommends, sizes| RepoPkg {
        name,
        version: "1",
        requires,
        conflicts,
        recommends,
        sizes,
        ..RepoPkg::default()
    };
    write_repo(
        dir,
        &[
            p("app", &["lib >= 1"], &[], &["extra"], (100, 1000)),
            p("lib", &[], &[], &[], (10, 200)),
            p("extra", &[], &[], &[], (1, 2)),
            p("broken", &["missing-thing"], &[], &[], (5, 5)),
            p("needs-broken", &["broken"], &[], &[], (5, 5)),
            p("left", &["right"], &[], &[], (7, 7)),
            p("right", &[], &["left"], &[], (7, 7)),
        ],
    )
}

fn by_name(sack: &mut Sack, name: &str, ignore_weak: bool) -> koschei_depsolve::Installability {
    let package = sack
        .binary_packages()
        .into_iter()
        .find(|&i| sack.package(i).name == name)
        .expect("package in repo");
    sack.installability(package, ignore_weak)
}

#[test]
fn install_sets_are_summed_exactly_with_and_without_weak_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let mut sack = Sack::load(&repo(dir.path()), &LoadOptions::default()).unwrap();
    for (name, ignore_weak, (packages, download, installed)) in [
        ("app", true, (2, 110, 1200)),
        ("app", false, (3, 111, 1202)),
        ("lib", false, (1, 10, 200)),
    ] {
        let r = by_name(&mut sack, name, ignore_weak);
        assert!(r.installable(), "{name}: {:?}", r.problems);
        let expected = InstallSizes {
            packages,
            download,
            installed,
        };
        assert_eq!(
            r.sizes, expected,
            "{name}, ignore_weak_deps = {ignore_weak}"
        );
    }
}

#[test]
fn uninstallable_packages_carry_libsolv_problems_and_no_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let mut sack = Sack::load(&repo(dir.path()), &LoadOptions::default()).unwrap();
    for (name, needle) in [
        (
            "broken",
            "nothing provides missing-thing needed by broken-1-1.x86_64",
        ),
        (
            "needs-broken",
            "requires broken, but none of the providers can be installed",
        ),
        ("left", "conflicts with left"),
    ] {
        let r = by_name(&mut sack, name, true);
        assert!(!r.installable(), "{name}");
        assert_eq!(r.sizes, InstallSizes::default(), "{name}");
        let text = r.problems.join("\n");
        assert!(text.contains(needle), "{name}: {text}");
    }
    assert!(by_name(&mut sack, "right", true).installable());
}

#[test]
fn a_parallel_pass_gives_every_package_its_own_result_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let solv = SolvFile::ensure(&repo(dir.path()), cache.path(), &LoadOptions::default()).unwrap();
    let mut sack = solv.load().unwrap();
    let packages = sack.binary_packages();
    assert_eq!(packages.len(), 7);
    let options = ParallelOptions {
        threads: 2,
        chunk: 1,
        ..ParallelOptions::default()
    };
    let (results, _) = installability_pass(&solv, &packages, false, &options).unwrap();
    let one_by_one: Vec<_> = packages
        .iter()
        .map(|&p| sack.installability(p, false))
        .collect();
    assert_eq!(results, one_by_one);
    let names: Vec<String> = results
        .iter()
        .filter(|r| !r.installable())
        .map(|r| sack.package(r.package).name)
        .collect();
    assert_eq!(names, ["broken", "needs-broken", "left"]);
}

#[test]
fn a_pass_in_reaches_answers_as_plain_libsolv_in_the_whole_pool() {
    let cache = tempfile::tempdir().unwrap();
    let repo =
        koschei_depsolve::RepoDir::open(common::fixture_repo("primary-f25-build-123")).unwrap();
    for ignore_weak in [false, true] {
        let options = LoadOptions {
            ignore_weak_deps: ignore_weak,
            ..LoadOptions::default()
        };
        let solv = SolvFile::ensure(&repo, cache.path(), &options).unwrap();
        let mut plain = solv.load().unwrap();
        plain.reveal_weak_deps();
        let packages = plain.binary_packages();
        assert!(packages.len() > 10);
        let (results, _) =
            installability_pass(&solv, &packages, ignore_weak, &ParallelOptions::default())
                .unwrap();
        let expected: Vec<_> = packages
            .iter()
            .map(|&p| plain.installability(p, ignore_weak))
            .collect();
        assert_eq!(results, expected, "ignore_weak_deps = {ignore_weak}");
        assert!(results.iter().any(|r| !r.installable()));
        assert!(results.iter().any(|r| r.sizes.packages > 2));
    }
}

#[test]
fn an_incremental_pass_carries_results_over_and_answers_as_a_full_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name, version, requires, sizes| RepoPkg {
        name,
        version,
        requires,
        sizes,
        ..RepoPkg::default()
    };
    let lib = |version, sizes| RepoPkg {
        provides: &["libfoo.so.1"],
        ..p("libfoo", version, &[], sizes)
    };
    let old_repo = write_repo(
        &tmp.path().join("old"),
        &[
            lib("1", (10, 100)),
            p("app", "1", &["libfoo.so.1"], (20, 200)),
            p("tool", "1", &["app"], (1, 1)),
            p("data", "1", &[], (5, 5)),
            p("broken", "1", &["missing"], (1, 1)),
        ],
    );
    // libfoo and data are updated (other sizes), extra is new
    let new_repo = write_repo(
        &tmp.path().join("new"),
        &[
            lib("2", (11, 130)),
            p("app", "1", &["libfoo.so.1"], (20, 200)),
            p("tool", "1", &["app"], (1, 1)),
            p("data", "2", &[], (6, 7)),
            p("broken", "1", &["missing"], (1, 1)),
            p("extra", "1", &["data"], (2, 2)),
        ],
    );
    for ignore_weak_deps in [true, false] {
        let options = LoadOptions {
            ignore_weak_deps,
            ..LoadOptions::default()
        };
        let cache = tmp.path().join(format!("cache-{ignore_weak_deps}"));
        let old = SolvFile::ensure(&old_repo, &cache, &options).unwrap();
        let new = SolvFile::ensure(&new_repo, &cache, &options).unwrap();
        let one = ParallelOptions {
            threads: 1,
            ..ParallelOptions::default()
        };
        let old_packages = old.load().unwrap().binary_packages();
        let (previous, _) =
            installability_pass(&old, &old_packages, ignore_weak_deps, &one).unwrap();
        let new_packages = new.load().unwrap().binary_packages();
        let (full, _) = installability_pass(&new, &new_packages, ignore_weak_deps, &one).unwrap();
        let (incremental, counts) =
            installability_incremental(&old, &new, &previous, &new_packages, &one).unwrap();
        assert_eq!(incremental, full, "ignore_weak_deps = {ignore_weak_deps}");
        assert_eq!(counts.reused + counts.solved, new_packages.len());
        assert!(counts.reused >= 2, "{counts:?}");
        assert!(counts.solved >= 2, "{counts:?}: broken and extra at least");
        // app carried over with libfoo 2's sizes
        let sack = new.load().unwrap();
        let app = incremental
            .iter()
            .find(|r| sack.package(r.package).name == "app")
            .unwrap();
        assert_eq!(
            app.sizes,
            InstallSizes {
                packages: 2,
                download: 31,
                installed: 330
            }
        );
    }
}
