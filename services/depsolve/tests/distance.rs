//! Dependency distances (`compute_dependency_distances` in the original's
//! `koschei/backend/depsolve.py`) on the fixture repository.

mod common;

use std::collections::BTreeMap;

use common::f25_sack;
use koschei_depsolve::ResolveOptions;

fn distances(group: &[&str], brs: &[&str]) -> BTreeMap<String, Option<u8>> {
    let mut sack = f25_sack();
    let res = sack.resolve(group, brs, &ResolveOptions::default());
    assert!(res.resolved, "{:?}", res.problems);
    sack.dependencies(&res)
        .into_iter()
        .map(|d| (d.nevra.name, d.distance))
        .collect()
}

#[test]
fn fixture_example_from_the_spec() {
    let d = distances(&["R"], &["A", "F"]);
    let expected: BTreeMap<String, Option<u8>> = [
        ("A", Some(1)),
        ("F", Some(1)),
        ("B", Some(2)),
        ("C", Some(2)),
        ("E", Some(2)),
        ("D", Some(3)),
        ("R", None),
    ]
    .into_iter()
    .map(|(n, d)| (n.to_string(), d))
    .collect();
    assert_eq!(d, expected);
}

#[test]
fn chain_is_cut_after_level_four() {
    // E(1) -> D(2) -> F(3) -> B, C, E(4 / already 1); B -> C
    let d = distances(&[], &["E"]);
    assert_eq!(d["E"], Some(1));
    assert_eq!(d["D"], Some(2));
    assert_eq!(d["F"], Some(3));
    assert_eq!(d["B"], Some(4));
    assert_eq!(d["C"], Some(4));
}

#[test]
fn file_buildrequire_is_level_one() {
    let d = distances(&["R"], &["/bin/csh"]);
    assert_eq!(d["B"], Some(1));
    assert_eq!(d["C"], Some(2));
    assert_eq!(d["R"], None);
}

#[test]
fn distances_can_be_switched_off() {
    let mut sack = f25_sack();
    let options = ResolveOptions {
        distances: false,
        ..Default::default()
    };
    let res = sack.resolve(&["R"], &["A"], &options);
    assert!(res.installs.iter().all(|i| i.distance.is_none()));
}
