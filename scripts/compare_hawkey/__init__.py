"""Comparison of our resolver with the original Koschei's (hawkey/libdnf) on a sample of
a distribution: `scripts/compare-hawkey` drives it.

Modules: `rpmmd` reads the repositories (build group, source packages and their
BuildRequires, the sample), `original` resolves the way the original's
`koschei/backend/depsolve.py` does with hawkey, `diff` compares the two sides' result
lines and summarises the differences.
"""
