"""The original Koschei's resolution with hawkey (libdnf), driven as the original drives
it (`koschei/backend/depsolve.py`: `run_goal`, `_get_builddep_selector`,
`compute_dependency_distances`; the sack as `repo_util.load_sack` loads it): one goal
per source package with the build group's members and the BuildRequires,
`ignore_weak_deps` as configured, then the dependency distances of the installs."""

import json
import tempfile
import time
import warnings

import hawkey

from . import rpmmd

# `dependency.resolve_for_arch` of the original's configuration
ARCH = "x86_64"
# the original stops its breadth-first walk when the level reaches this
DISTANCE_LEVEL_LIMIT = 5


def load_sack(repo_dir, cache_dir):
    """A sack with the repository's primary and filelists, for ARCH, nothing installed."""
    locations = rpmmd.data_locations(repo_dir)
    sack = hawkey.Sack(arch=ARCH, cachedir=cache_dir)
    # the original loads its repositories with this deprecated class too; recording
    # swallows the warning hawkey forces out
    with warnings.catch_warnings(record=True):
        repo = hawkey.Repo("koschei-compare")
    repo.repomd_fn = f"{repo_dir}/repodata/repomd.xml"
    repo.primary_fn = locations["primary"]
    repo.filelists_fn = locations["filelists"]
    sack.load_repo(repo, load_filelists=True, build_cache=False)
    return sack


def builddep_selector(sack, dep):
    """Selector of what provides `dep`, or of the packages owning it when it is a path
    that nothing provides."""
    selector = hawkey.Selector(sack)
    selector.set(provides=dep)
    if not selector.matches() and dep.startswith("/"):
        selector = hawkey.Selector(sack)
        selector.set(file=dep)
    return selector


def run_goal(sack, buildrequires, group, ignore_weak_deps):
    """(resolved, problems, installed packages or None): group members that match
    nothing are skipped, BuildRequires that match nothing (rich ones excepted) are
    "No package found for: X" problems and the goal still runs on the rest."""
    goal = hawkey.Goal(sack)
    problems = []
    for name in group:
        selector = builddep_selector(sack, name)
        if selector.matches():
            goal.install(select=selector)
    for dep in buildrequires:
        selector = builddep_selector(sack, dep)
        if selector.matches():
            goal.install(select=selector)
        elif not dep.startswith("("):
            problems.append(f"No package found for: {dep}")
    goal.run(**({"ignore_weak_deps": True} if ignore_weak_deps else {}))
    for first, *rest in goal.problem_rules():
        problems.append(f"Problem: {first}" + "".join(f"\n - {p}" for p in rest))
    resolved = not problems
    return resolved, problems, goal.list_installs() if resolved else None


def dependency_distances(sack, buildrequires, installs):
    """Distance (1..4 or None) per install, in their order: the level of a depth-limited
    breadth-first walk from every package matching a BuildRequire over Requires →
    providers at which a package of the install's *name* first appears (the original keys
    installs by name, so of two installs with one name only the last gets a distance)."""
    distances = [None] * len(installs)
    index_by_name = {pkg.name: i for i, pkg in enumerate(installs)}
    visited = set()
    level = 1
    on_level = {p for dep in buildrequires for p in builddep_selector(sack, dep).matches()}
    while on_level:
        for pkg in on_level:
            i = index_by_name.get(pkg.name)
            if i is not None and distances[i] is None:
                distances[i] = level
        level += 1
        if level >= DISTANCE_LEVEL_LIMIT:
            break
        requires = {req for pkg in on_level if pkg not in visited for req in pkg.requires}
        visited.update(on_level)
        on_level = set(hawkey.Query(sack).filter(provides=requires))
    return distances


def nevra(pkg):
    """name-[epoch:]version-release.arch, epoch 0 left out (resolver-bench's format)."""
    epoch = f"{pkg.epoch}:" if pkg.epoch else ""
    return f"{pkg.name}-{epoch}{pkg.version}-{pkg.release}.{pkg.arch}"


def resolve(sack, group, name, buildrequires, ignore_weak_deps, seconds):
    """One source package's result line (the shape resolver-bench --results writes);
    adds the time of the goal and of the distances to seconds["goal"/"distances"]."""
    t0 = time.perf_counter()
    resolved, problems, installs = run_goal(sack, buildrequires, group, ignore_weak_deps)
    t1 = time.perf_counter()
    result = {
        "name": name,
        "buildrequires": buildrequires,
        "resolved": resolved,
        "problems": problems,
        "installs": {},
    }
    if resolved:
        binaries = [pkg for pkg in installs if pkg.arch != "src"]
        distances = dependency_distances(sack, buildrequires, binaries)
        result["installs"] = {nevra(p): d for p, d in zip(binaries, distances)}
    seconds["goal"] += t1 - t0
    seconds["distances"] += time.perf_counter() - t1
    return result


def write_results(repo_dir, group, packages, ignore_weak_deps, path):
    """Resolve `packages` ([(name, evr, BuildRequires)]) on this thread and write one JSON
    line each to `path`; returns seconds spent {"sack_load", "goal", "distances"}."""
    seconds = {"sack_load": 0.0, "goal": 0.0, "distances": 0.0}
    with tempfile.TemporaryDirectory(prefix="compare-hawkey-") as cache_dir:
        t0 = time.perf_counter()
        sack = load_sack(repo_dir, cache_dir)
        seconds["sack_load"] = time.perf_counter() - t0
        with open(path, "w") as out:
            for name, _, buildrequires in packages:
                line = resolve(sack, group, name, buildrequires, ignore_weak_deps, seconds)
                out.write(json.dumps(line) + "\n")
    return seconds
