"""The check counter the koji-sim client scripts share (koji_sim_client.py,
koji_sim_secondary.py): one "ok NAME" line per passed check; the first failed check
prints "FAIL NAME: DETAIL" and the "N passed, 1 failed" summary and exits with status 1;
`finish()` prints the closing "N passed, 0 failed" line the Rust test reads.
"""

import sys

passed = 0


def check(name, condition, detail=""):
    """Counts a passed check, or reports the failed one and exits."""
    global passed
    if not condition:
        print(f"FAIL {name}: {detail}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok {name}")


def finish():
    """Prints the closing summary after every check passed."""
    print(f"{passed} passed, 0 failed")
