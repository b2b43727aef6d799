//! Proof of fidelity: the real `koji` Python client (from PyPI) drives koji-sim through
//! `tests/python/koji_sim_client.py` (and the tag, group and external-repo calls through
//! `koji_sim_secondary.py`, side tags through `koji_sim_sidetags.py`), and the published
//! messages validate against the real koji-fedoramessaging schemas.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::SimProcess;

#[test]
fn real_koji_client_drives_koji_sim() {
    run_script("koji_sim_client.py", 30);
}

/// The calls secondary mode's repo regeneration makes on the primary hub (tags, target,
/// groups in a multicall, external repos, `newRepo`), checked with the real client.
#[test]
fn real_koji_client_manages_tags_groups_and_external_repos() {
    run_script("koji_sim_secondary.py", 20);
}

/// Side tags (Koji's sidetag plugin): create, list, change a library in one, build
/// against its repo, remove; checked with the real client.
#[test]
fn real_koji_client_uses_side_tags() {
    run_script("koji_sim_sidetags.py", 40);
}

/// Runs `tests/python/<script>` with the real koji client against a fresh koji-sim and
/// asserts it passed at least `min_checks` checks and failed none.
fn run_script(script: &str, min_checks: usize) {
    let python = std::env::var("KOSCHEI_PYTHON").unwrap_or_else(|_| {
        panic!(
            "KOSCHEI_PYTHON is not set: this test needs the Python venv with the real koji client. \
             Run scripts/test (it creates .state/venv via ensure_python_venv in scripts/lib.sh and \
             exports KOSCHEI_PYTHON), or set KOSCHEI_PYTHON=.state/venv/bin/python yourself."
        )
    });
    let sim = SimProcess::start(&["--build-time", "0.1"]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../python")
        .join(script);
    let output = Command::new(&python)
        .arg(&script)
        .arg(&sim.hub)
        .arg(&sim.topurl)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "koji client script failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with("passed, 0 failed"),
        "unexpected summary {summary:?}\n{stdout}"
    );
    let passed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= min_checks, "only {passed} checks ran\n{stdout}");
}
