"""rpm-md repositories as the comparison reads them: data file locations from
repomd.xml, the build group from comps, source packages with their BuildRequires as
dependency strings, and the deterministic sample."""

import gzip
import os
import re
import xml.etree.ElementTree as ET

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
COMMON_NS = "{http://linux.duke.edu/metadata/common}"
RPM_NS = "{http://linux.duke.edu/metadata/rpm}"

# rpm-md comparison flags -> the operator of a dependency string
OPERATORS = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}


def data_locations(repo_dir):
    """{type: absolute path} of the data files listed in DIR/repodata/repomd.xml."""
    tree = ET.parse(os.path.join(repo_dir, "repodata", "repomd.xml"))
    found = {}
    for data in tree.getroot().iter(REPO_NS + "data"):
        location = data.find(REPO_NS + "location")
        if location is not None:
            found[data.get("type")] = os.path.join(repo_dir, location.get("href"))
    return found


def _open(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_group(repo_dir, group_id):
    """Package names of comps group `group_id` whose type is mandatory or default (none
    given counts as mandatory), in document order; None when the group is missing. The
    original asks Koji for the same list (`koji_util.get_build_group`)."""
    locations = data_locations(repo_dir)
    path = locations.get("group") or locations.get("group_gz")
    if path is None:
        raise SystemExit(f"{repo_dir}: no comps (group) file in repomd.xml")
    with _open(path) as f:
        root = ET.parse(f).getroot()
    for group in root.iter("group"):
        if (group.findtext("id") or "").strip() != group_id:
            continue
        return [
            req.text.strip()
            for req in group.iter("packagereq")
            if req.get("type") in (None, "mandatory", "default") and (req.text or "").strip()
        ]
    return None


def _evr(entry):
    """[E:]V[-R] of an rpm:entry the way libsolv's rpm-md reader forms it: epoch 0 left
    out (kept as 0: when the version itself looks like one)."""
    epoch, version, release = entry.get("epoch"), entry.get("ver"), entry.get("rel")
    if epoch in ("", "0"):
        epoch = None
    if epoch is None and version and re.match(r"[0-9]+:", version):
        epoch = "0"
    evr = (f"{epoch}:" if epoch else "") + (version or "")
    if release:
        evr += f"-{release}"
    return evr


def dependency_string(entry):
    """`name`, `name OP evr`, or a rich dependency `(…)` as written."""
    name = entry.get("name")
    flags = entry.get("flags")
    if not flags or flags not in OPERATORS:
        return name
    return f"{name} {OPERATORS[flags]} {_evr(entry)}"


def read_source_packages(source_dir):
    """[(name, evr, [BuildRequires])] of every package of a source rpm-md repository (its
    requires are its BuildRequires), sorted by name, then EVR text."""
    primary = data_locations(source_dir)["primary"]
    packages = []
    with _open(primary) as f:
        for _, elem in ET.iterparse(f):
            if elem.tag != COMMON_NS + "package":
                continue
            name = elem.findtext(COMMON_NS + "name")
            version = elem.find(COMMON_NS + "version")
            evr = _evr(version) if version is not None else ""
            requires = elem.find(f"{COMMON_NS}format/{RPM_NS}requires")
            brs = []
            if requires is not None:
                brs = [dependency_string(e) for e in requires.iter(RPM_NS + "entry")]
            packages.append((name, evr, brs))
            elem.clear()
    packages.sort(key=lambda p: (p[0].encode(), p[1].encode()))
    return packages


def pick_sample(packages, n):
    """The `n` packages at index i * len / n (i = 0..n-1) of the sorted list — the same
    rule as resolver-bench's --sample; everything when n >= len."""
    if n >= len(packages):
        return list(packages)
    return [packages[i * len(packages) // n] for i in range(n)]
