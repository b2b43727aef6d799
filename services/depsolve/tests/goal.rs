//! One resolution (`run_goal` in the original's `koschei/backend/depsolve.py`) on the
//! Koschei fixture repository (resolver_test's solver parts).

mod common;

use common::{f25_sack, names};
use koschei_depsolve::{ResolveOptions, Sack};

fn resolve(sack: &mut Sack, group: &[&str], brs: &[&str]) -> koschei_depsolve::Resolution {
    sack.resolve(group, brs, &ResolveOptions::default())
}

#[test]
fn resolves_foo_build_with_full_closure() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["R"], &["F", "A"]);
    assert!(res.resolved, "{:?}", res.problems);
    assert!(res.problems.is_empty());
    let deps = sack.dependencies(&res);
    let mut nevras: Vec<String> = deps.iter().map(|d| d.nevra.to_string()).collect();
    nevras.sort();
    assert_eq!(
        nevras,
        [
            "A-1-1.fc22.x86_64",
            "B-4.1-2.fc22.noarch",
            "C-1:3-1.fc22.x86_64",
            "D-2:8.b-1.rc1.fc22.x86_64",
            "E-0.1-1.fc22.1.noarch",
            "F-1-1.fc22.noarch",
            "R-3.3-2.fc22.x86_64",
        ]
    );
    let c = deps.iter().find(|d| d.nevra.name == "C").unwrap();
    assert_eq!((c.nevra.epoch, c.nevra.version.as_str()), (1, "3"));
}

#[test]
fn virtual_provide_in_group() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["virtual"], &["F", "A"]);
    assert!(res.resolved);
    assert!(names(&sack.dependencies(&res)).contains(&"R".to_string()));
}

#[test]
fn nonexistent_group_members_are_skipped() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["R", "does-not-exist", "/no/such/file"], &["A"]);
    assert!(res.resolved, "{:?}", res.problems);
    assert_eq!(names(&sack.dependencies(&res)), ["A", "B", "C", "R"]);
}

#[test]
fn every_missing_buildrequire_is_reported() {
    let mut sack = f25_sack();
    let res = resolve(
        &mut sack,
        &["R"],
        &["nonexistent", "A", "other-missing >= 2"],
    );
    assert!(!res.resolved);
    assert!(res.installs.is_empty());
    assert_eq!(
        res.problems,
        [
            "No package found for: nonexistent",
            "No package found for: other-missing >= 2"
        ]
    );
}

/// A missing BuildRequire does not stop the solver: the problems of the BuildRequires
/// that exist follow the `No package found for` ones, as in `run_goal` of Koschei's
/// `koschei/backend/depsolve.py` (`bar` exists but requires `nonexistent`).
#[test]
fn missing_buildrequire_and_solver_problems_are_both_reported() {
    let mut sack = f25_sack();
    let brs = ["libnone.so.1", "bar", "A", "libnone.so.1"];
    let res = resolve(&mut sack, &["R"], &brs);
    assert!(!res.resolved);
    assert!(res.installs.is_empty());
    assert_eq!(
        res.problems,
        [
            "No package found for: libnone.so.1",
            "Problem: conflicting requests\n - nothing provides nonexistent needed by bar-1-1.fc22.x86_64",
        ]
    );
    // the same request gives the same problems, and the traced solve agrees
    assert_eq!(resolve(&mut sack, &["R"], &brs), res);
    let (traced, trace) = sack.resolve_traced(&["R"], &brs, &ResolveOptions::default());
    assert_eq!((traced, trace), (res, None));
}

#[test]
fn solver_problem_in_libsolv_wording() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["R"], &["bar"]);
    assert!(!res.resolved);
    assert_eq!(res.problems.len(), 1);
    let p = &res.problems[0];
    assert!(p.starts_with("Problem: "), "{p}");
    assert!(p.contains("nonexistent"), "{p}");
    assert!(p.contains("bar-1-1.fc22.x86_64"), "{p}");
}

#[test]
fn broken_group_member_makes_buildroot_unresolvable() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["bar"], &[] as &[&str]);
    assert!(!res.resolved);
    assert!(res.problems.iter().any(|p| p.contains("nonexistent")));
}

#[test]
fn versioned_buildrequires() {
    let mut sack = f25_sack();
    assert!(resolve(&mut sack, &["R"], &["C >= 1:3"]).resolved);
    let res = resolve(&mut sack, &["R"], &["C > 1:3"]);
    assert_eq!(res.problems, ["No package found for: C > 1:3"]);
}

#[test]
fn file_buildrequire_pulls_provider_and_its_deps() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["R"], &["/bin/csh"]);
    assert!(res.resolved, "{:?}", res.problems);
    assert_eq!(names(&sack.dependencies(&res)), ["B", "C", "R"]);
    let alone = resolve(&mut sack, &[] as &[&str], &["/bin/csh"]);
    assert_eq!(names(&sack.dependencies(&alone)), ["B", "C"]);
}

#[test]
fn file_from_filelists_only() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &[] as &[&str], &["/usr/share/doc/E/bla"]);
    assert!(res.resolved, "{:?}", res.problems);
    assert!(names(&sack.dependencies(&res)).contains(&"E".to_string()));
}

#[test]
fn rich_requires_not_triggered() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["R"], &["qt-x11"]);
    assert!(res.resolved, "{:?}", res.problems);
    assert_eq!(names(&sack.dependencies(&res)), ["R", "qt-x11"]);
}

#[test]
fn rich_requires_triggered() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["R"], &["qt-x11", "plasma-workspace"]);
    assert!(res.resolved, "{:?}", res.problems);
    assert_eq!(
        names(&sack.dependencies(&res)),
        ["R", "plasma-workspace", "qt-x11", "sni-qt"]
    );
}

#[test]
fn rich_buildrequire() {
    let mut sack = f25_sack();
    let res = resolve(
        &mut sack,
        &["R"],
        &["(sni-qt(x86-64) if plasma-workspace)", "plasma-workspace"],
    );
    assert!(res.resolved, "{:?}", res.problems);
    assert_eq!(
        names(&sack.dependencies(&res)),
        ["R", "plasma-workspace", "sni-qt"]
    );
}

#[test]
fn unmatched_rich_buildrequire_is_skipped() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["R"], &["(nothing-here or nothing-else)", "A"]);
    assert!(res.resolved, "{:?}", res.problems);
    assert_eq!(names(&sack.dependencies(&res)), ["A", "B", "C", "R"]);
}

#[test]
fn src_packages_are_never_installed() {
    let mut sack = f25_sack();
    let res = resolve(&mut sack, &["R"], &["A"]);
    assert!(sack
        .dependencies(&res)
        .iter()
        .all(|d| d.nevra.arch != "src"));
}
