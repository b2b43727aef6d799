//! Proof of fidelity: the real `koji` Python client (from PyPI) drives koji-sim through
//! `tests/python/koji_sim_client.py`, and the published messages validate against the
//! real koji-fedoramessaging schemas.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::SimProcess;

#[test]
fn real_koji_client_drives_koji_sim() {
    let python = std::env::var("KOSCHEI_PYTHON").unwrap_or_else(|_| {
        panic!(
            "KOSCHEI_PYTHON is not set: this test needs the Python venv with the real koji client. \
             Run scripts/test (it creates .state/venv via ensure_python_venv in scripts/lib.sh and \
             exports KOSCHEI_PYTHON), or set KOSCHEI_PYTHON=.state/venv/bin/python yourself."
        )
    });
    let sim = SimProcess::start(&["--build-time", "0.1"]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../python/koji_sim_client.py");
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
    assert!(passed >= 30, "only {passed} checks ran\n{stdout}");
}
