//! "Would a rebuild fix it?": a scratch build's binaries, known by their rpm headers,
//! installed from the repository their old builds are uninstallable in.

mod common;

use common::{write_repo, RepoPkg};
use koschei_depsolve::{HeaderDep, LoadOptions, Nevra, RebuiltBinary, Sack};

const LESS: i64 = 2;
const GREATER: i64 = 4;
const EQUAL: i64 = 8;
const RPMLIB: i64 = 1 << 24;

fn dep(name: &str, flags: i64, version: &str) -> HeaderDep {
    HeaderDep {
        name: name.into(),
        flags,
        version: version.into(),
    }
}

fn binary(name: &str, arch: &str, provides: &[HeaderDep], requires: &[HeaderDep]) -> RebuiltBinary {
    RebuiltBinary {
        nevra: Nevra::from_evr(name, "1-1", arch),
        provides: provides.to_vec(),
        requires: requires.to_vec(),
        conflicts: vec![],
        obsoletes: vec![],
    }
}

/// libfoo moved from soname 1 to 2; app and app-data were linked against soname 1.
fn sack(dir: &std::path::Path) -> Sack {
    let p = |name, version, provides, requires| RepoPkg {
        name,
        version,
        provides,
        requires,
        ..RepoPkg::default()
    };
    let repo = write_repo(
        dir,
        &[
            p("libfoo", "2", &["libfoo.so.2()(64bit)"], &[]),
            p("app", "1", &[], &["libfoo.so.1()(64bit)", "app-data = 1-1"]),
            p("app-data", "1", &[], &["libfoo.so.1()(64bit)"]),
        ],
    );
    Sack::load(&repo, &LoadOptions::default()).unwrap()
}

#[test]
fn binaries_rebuilt_against_the_new_soname_install_with_their_rebuilt_siblings() {
    let dir = tempfile::tempdir().unwrap();
    let mut sack = sack(dir.path());
    let app = sack
        .binary_packages()
        .into_iter()
        .find(|&i| sack.package(i).name == "app")
        .unwrap();
    assert!(!sack.installability(app, true).installable());

    let rebuilt = [
        binary(
            "app",
            "x86_64",
            &[dep("app", EQUAL, "1-1")],
            &[
                dep("libfoo.so.2()(64bit)", 0, ""),
                dep("app-data", EQUAL, "1-1"),
                dep("libfoo", GREATER | EQUAL, "2"),
                dep(
                    "rpmlib(CompressedFileNames)",
                    LESS | EQUAL | RPMLIB,
                    "3.0.4-1",
                ),
            ],
        ),
        // the sibling the repository also has, uninstallable there
        binary(
            "app-data",
            "x86_64",
            &[],
            &[dep("libfoo.so.2()(64bit)", 0, "")],
        ),
        // still linked against something nothing provides
        binary(
            "app-tools",
            "x86_64",
            &[],
            &[dep("libbar.so.9()(64bit)", 0, "")],
        ),
        // a rich dependency that does not parse is not silently dropped
        binary("app-rich", "x86_64", &[], &[dep("(libfoo or", 0, "")]),
        binary("app-other-arch", "s390x", &[], &[]),
    ];
    let problems = sack.rebuilt_installability(&rebuilt, true);
    // another arch task's binary is not checked here
    assert_eq!(problems[4], None);
    let problems: Vec<Vec<String>> = problems
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    assert_eq!(problems[0], Vec::<String>::new());
    assert_eq!(problems[1], Vec::<String>::new());
    assert!(
        problems[2][0].contains("nothing provides libbar.so.9()(64bit) needed by app-tools-1-1"),
        "{:?}",
        problems[2]
    );
    assert!(
        problems[3][0].contains("nothing provides (libfoo or"),
        "{:?}",
        problems[3]
    );
}

#[test]
fn one_sack_serves_many_rebuilds_each_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut sack = sack(dir.path());
    let data = [binary(
        "app-data",
        "x86_64",
        &[],
        &[dep("libfoo.so.2()(64bit)", 0, "")],
    )];
    assert_eq!(sack.rebuilt_installability(&data, true), [Some(vec![])]);
    // the rebuilt app-data of the first check is gone: app's rebuild needs the repo's,
    // which requires the old soname
    let app = [binary(
        "app",
        "x86_64",
        &[],
        &[dep("libfoo.so.2()(64bit)", 0, ""), dep("app-data", 0, "")],
    )];
    let problems = sack.rebuilt_installability(&app, true);
    let problems = problems[0].as_ref().unwrap();
    assert!(
        problems[0].contains("nothing provides libfoo.so.1()(64bit) needed by app-data-1-1.x86_64"),
        "{problems:?}"
    );
}

#[test]
fn a_rebuild_still_requiring_the_old_soname_does_not_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut sack = sack(dir.path());
    let rebuilt = [binary(
        "app",
        "x86_64",
        &[],
        &[dep("libfoo.so.1()(64bit)", 0, ""), dep("libfoo", LESS, "2")],
    )];
    let problems = sack.rebuilt_installability(&rebuilt, false);
    assert_eq!(problems.len(), 1);
    let problems = problems[0].as_ref().unwrap();
    assert!(
        problems[0].contains("nothing provides libfoo.so.1()(64bit) needed by app-1-1.x86_64"),
        "{problems:?}"
    );
}
