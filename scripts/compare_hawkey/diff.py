"""Comparison of two sides' result lines (`{"name", "buildrequires", "resolved",
"problems", "installs": {NEVRA: distance}}`, one per sampled source package)."""

import json

# differing packages listed in full in the summary
LISTED = 50


def read_lines(path):
    """The result lines of a JSON-lines file, in order."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def difference(ours, theirs):
    """What differs between our line and hawkey's for one package, or None."""
    found = {}
    if ours["resolved"] != theirs["resolved"]:
        found["resolved"] = {"ours": ours["resolved"], "hawkey": theirs["resolved"]}
    only_ours = sorted(set(ours["problems"]) - set(theirs["problems"]))
    only_theirs = sorted(set(theirs["problems"]) - set(ours["problems"]))
    if only_ours or only_theirs:
        found["problems"] = {"only_ours": only_ours, "only_hawkey": only_theirs}
    a, b = ours["installs"], theirs["installs"]
    if a.keys() != b.keys():
        found["installs_only_ours"] = sorted(a.keys() - b.keys())
        found["installs_only_hawkey"] = sorted(b.keys() - a.keys())
    distances = {n: [a[n], b[n]] for n in sorted(a.keys() & b.keys()) if a[n] != b[n]}
    if distances:
        found["distances_ours_hawkey"] = distances
    return found or None


def kind(found):
    """The coarsest thing that differs: resolved, installs, distances or problems."""
    for key, name in (
        ("resolved", "resolved"),
        ("installs_only_ours", "installs"),
        ("distances_ours_hawkey", "distances"),
    ):
        if key in found:
            return name
    return "problems"


def summarise(ours, theirs):
    """Summary of two sides' lines over the same sample: counts, what differs (the first
    LISTED packages in full) and whether the inputs (names, BuildRequires) agreed."""
    names_ours = [r["name"] for r in ours]
    names_theirs = [r["name"] for r in theirs]
    summary = {
        "sample": len(theirs),
        "same_sample": names_ours == names_theirs,
        "buildrequires_differ": [],
        "identical": 0,
        "differing": 0,
        "differing_by_kind": {"resolved": 0, "installs": 0, "distances": 0, "problems": 0},
        "resolved": {
            "ours": sum(r["resolved"] for r in ours),
            "hawkey": sum(r["resolved"] for r in theirs),
        },
        "differences": [],
    }
    if not summary["same_sample"]:
        return summary
    for a, b in zip(ours, theirs):
        if a["buildrequires"] != b["buildrequires"]:
            summary["buildrequires_differ"].append(a["name"])
        found = difference(a, b)
        if found is None:
            summary["identical"] += 1
            continue
        summary["differing"] += 1
        summary["differing_by_kind"][kind(found)] += 1
        if len(summary["differences"]) < LISTED:
            summary["differences"].append({"name": a["name"], **found})
    return summary


def agrees(summary):
    """True when nothing differs, inputs included."""
    return (
        summary["same_sample"]
        and not summary["buildrequires_differ"]
        and summary["differing"] == 0
    )
