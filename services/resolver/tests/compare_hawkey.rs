//! `scripts/compare-hawkey` on the original's test repository (`primary-f25-build-123`)
//! with a small source repository written here: every source package must resolve exactly
//! as the original's hawkey path resolves it (installs, distances, problem texts), with
//! weak dependencies kept and ignored. Needs the system python3 with hawkey (Debian's
//! `python3-hawkey`, installed by `scripts/lib.sh`) and the resolver-bench example, which
//! `cargo test`/`nextest` build next to the test binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

use koschei_core::testdata::shared_path;

/// Source packages covering the original's selector and goal rules: provides with
/// epochs, a file BuildRequire found through filelists, a dependency cycle (distances up
/// to 4), a package whose requires nothing provides (solver problem), a missing
/// BuildRequire, rich BuildRequires (one matching nothing: skipped), a virtual provide.
const SOURCE_PRIMARY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="7">
<package type="rpm"><name>alpha</name><arch>src</arch><version epoch="0" ver="1" rel="1"/><format><rpm:requires>
<rpm:entry name="A"/><rpm:entry name="C" flags="GE" epoch="1" ver="3"/><rpm:entry name="/usr/share/doc/E/bla"/></rpm:requires></format></package>
<package type="rpm"><name>bravo</name><arch>src</arch><version epoch="0" ver="1" rel="1"/><format><rpm:requires>
<rpm:entry name="E"/></rpm:requires></format></package>
<package type="rpm"><name>charlie</name><arch>src</arch><version epoch="0" ver="1" rel="1"/><format><rpm:requires>
<rpm:entry name="bar"/><rpm:entry name="A"/></rpm:requires></format></package>
<package type="rpm"><name>delta</name><arch>src</arch><version epoch="0" ver="1" rel="1"/><format><rpm:requires>
<rpm:entry name="nonexistent-br" flags="LT" epoch="0" ver="2"/><rpm:entry name="A"/></rpm:requires></format></package>
<package type="rpm"><name>echo</name><arch>src</arch><version epoch="0" ver="1" rel="1"/><format><rpm:requires>
<rpm:entry name="(sni-qt if plasma-workspace)"/><rpm:entry name="qt-x11"/><rpm:entry name="D" flags="EQ" epoch="2" ver="8.b" rel="1.rc1.fc22"/></rpm:requires></format></package>
<package type="rpm"><name>foxtrot</name><arch>src</arch><version epoch="0" ver="1" rel="1"/><format><rpm:requires>
<rpm:entry name="plasma-workspace"/><rpm:entry name="(nothing-a or nothing-b)"/></rpm:requires></format></package>
<package type="rpm"><name>golf</name><arch>src</arch><version epoch="0" ver="1" rel="1"/><format><rpm:requires>
<rpm:entry name="virtual"/><rpm:entry name="R" flags="LT" epoch="0" ver="4"/><rpm:entry name="/bin/csh"/></rpm:requires></format></package>
</metadata>
"#;

const SOURCE_REPOMD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="primary"><location href="repodata/primary.xml"/></data>
</repomd>
"#;

fn write_source_repo(dir: &Path) {
    std::fs::create_dir_all(dir.join("repodata")).unwrap();
    std::fs::write(dir.join("repodata/primary.xml"), SOURCE_PRIMARY).unwrap();
    std::fs::write(dir.join("repodata/repomd.xml"), SOURCE_REPOMD).unwrap();
}

/// The resolver-bench example built with this test (`target/<profile>/examples/`).
fn resolver_bench() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bench = profile_dir.join("examples/resolver-bench");
    assert!(
        bench.exists(),
        "{} not built (cargo test builds examples)",
        bench.display()
    );
    bench
}

/// Run the comparison; (exit status, JSON summary).
fn compare(source_repo: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/compare-hawkey");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .arg("--repo")
        .arg(shared_path("fixtures/koschei/repos/primary-f25-build-123"))
        .arg("--source-repo")
        .arg(source_repo)
        .arg("--bench")
        .arg(resolver_bench())
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON summary ({e}); stderr: {stderr}"));
    (out.status.code().unwrap_or(-1), summary)
}

fn assert_identical(status: i32, summary: &serde_json::Value) {
    assert_eq!(summary["sample"], 7, "{summary:#}");
    assert_eq!(summary["same_sample"], true, "{summary:#}");
    assert_eq!(summary["identical"], 7, "{summary:#}");
    assert_eq!(summary["differing"], 0, "{summary:#}");
    // charlie (nothing provides its requires) and delta (missing BuildRequire)
    assert_eq!(summary["resolved"]["hawkey"], 5, "{summary:#}");
    assert_eq!(summary["resolved"]["ours"], 5, "{summary:#}");
    assert_eq!(status, 0, "{summary:#}");
}

#[test]
fn resolves_like_hawkey_with_weak_dependencies_kept_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write_source_repo(dir.path());
    let (status, summary) = compare(dir.path(), &[]);
    assert_eq!(summary["ignore_weak_deps"], false);
    assert_identical(status, &summary);
    let (status, summary) = compare(dir.path(), &["--ignore-weak-deps"]);
    assert_eq!(summary["ignore_weak_deps"], true);
    assert_identical(status, &summary);
}

#[test]
fn sample_picks_every_len_over_n_th_package_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    write_source_repo(dir.path());
    let keep = dir.path().join("results");
    let (status, summary) = compare(
        dir.path(),
        &["--sample", "3", "--keep", keep.to_str().unwrap()],
    );
    assert_eq!(status, 0, "{summary:#}");
    assert_eq!(summary["sample"], 3);
    assert_eq!(summary["same_sample"], true);
    for side in ["ours.jsonl", "hawkey.jsonl"] {
        let names: Vec<String> = std::fs::read_to_string(keep.join(side))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].to_string())
            .collect();
        // indices 0, 7/3 = 2, 14/3 = 4 of the seven
        assert_eq!(names, [r#""alpha""#, r#""charlie""#, r#""echo""#], "{side}");
    }
}
