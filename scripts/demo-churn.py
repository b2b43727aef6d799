#!/usr/bin/env python3
"""The demo's Koji updates: a short story first, then steady churn.

The story (minutes after the start), told on stdout as it happens, about
packages the demo tracks (picked from the seed, so any sample works):

  0:30  a library update (a new build of source L, release bumped) breaks the
        build of the one tracked package P that build-requires it: P's next
        scratch build fails and P turns failing;
  1:00  an update of a widely used build dependency drops one of its virtual
        provides: the tracked packages that build-require it turn unresolved;
  ~2:00 once Koji has failed P's build, the fixed library: P is rebuilt, ok;
  2:30  the provide is back: its dependents are ok again;
  3:00  a side tag of the collection's build tag gets a change that is not
        merged: the provide of 1:00 dropped again and another library rebuilt
        with an API break. Koschei checks the side tag automatically (its
        impact.auto_side_tags): the provide's dependents are unresolvable with
        the change, the library's user is a regression (its build fails in the
        side tag, its baseline passes); nothing of the collection changes;
  3:30  the distribution's real next repo (debian-bookworm-next, a round of
        security updates: ~170 new builds) is tagged: many rebuilds, and what
        it really breaks shows.

Then, every INTERVAL seconds, a rebuild of a random build dependency (same
dependencies, release bumped); one in ten drops a virtual provide that tracked
packages need, and the next update restores it.

Each update is what Koji does: a new build of a source package with all its
binaries (versions, every dependency section, files and sizes from the corpus)
tagged into the collection, then a new repo (koji-sim's sim.importBuild and
sim.regenRepo).

usage: demo-churn.py HUB_URL SEED_DIR CORPUS_DIR NEXT_DIR COLLECTION INTERVAL
  SEED_DIR    koji-sim's seed (its source repo: the tracked packages)
  CORPUS_DIR  the full repo the seed was cut from (BuildRequires of any source)
  NEXT_DIR    the next repo, with changes.json; empty: no next repo, no story
"""
import gzip
import html
import json
import os
import random
import re
import sys
import time

import koji

FLAGS = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}
# rpm-md's dependency sections, in createrepo_c's order (koji-sim's importBuild keys)
SECTIONS = ("provides", "requires", "conflicts", "obsoletes", "suggests", "enhances",
            "recommends", "supplements")
PRE = " [pre]"  # koji-sim's suffix for a pre="1" entry (Requires(pre))
START = time.monotonic()


def say(text):
    print(f"demo-churn: {time.strftime('%H:%M:%S')} {text}", flush=True)


def packages(path):
    """Yields each <package> block of an rpm-md primary file (streamed)."""
    opener = gzip.open if path.endswith(".gz") else open
    block = None
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if "<package " in line:
                block = [line]
            elif block is not None:
                block.append(line)
                if "</package>" in line:
                    yield "".join(block)
                    block = None


def primary(repo_dir):
    with open(os.path.join(repo_dir, "repodata", "repomd.xml"), encoding="utf-8") as f:
        m = re.search(r'<data type="primary">.*?<location href="([^"]+)"', f.read(), re.S)
    return os.path.join(repo_dir, m.group(1))


def field(block, pattern):
    m = re.search(pattern, block, re.S)
    return html.unescape(m.group(1)) if m else None


def evr(a):
    out = f"{a.get('epoch', '0')}:{html.unescape(a.get('ver', ''))}"
    return out + (f"-{html.unescape(a['rel'])}" if "rel" in a else "")


def entries(block, kind):
    """A block's dependencies of one kind as koji-sim takes them: 'name [op E:V-R]',
    with the suffix ' [pre]' for a pre="1" entry."""
    section = field(block, rf"<rpm:{kind}>(.*?)</rpm:{kind}>") or ""
    out = []
    for attrs in re.findall(r"<rpm:entry ([^/]*)/>", section):
        a = dict(re.findall(r'(\w+)="([^"]*)"', attrs))
        name = html.unescape(a["name"])
        dep = f"{name} {FLAGS[a['flags']]} {evr(a)}" if "flags" in a else name
        out.append(dep + (PRE if a.get("pre") == "1" else ""))
    return out


def source_of(sourcerpm):
    stem = sourcerpm[: -len(".src.rpm")]
    return stem.rsplit("-", 2)[0]


class Binary:
    """A binary package as a new build carries it: everything of its primary block a
    solver reads (every dependency section, files), sizes and location."""

    def __init__(self, block):
        self.name = field(block, r"<name>([^<]*)</name>")
        self.arch = field(block, r"<arch>([^<]*)</arch>")
        v = dict(re.findall(r'(\w+)="([^"]*)"', field(block, r"<version ([^/]*)/>")))
        self.epoch, self.version, self.release = int(v.get("epoch", 0)), v["ver"], v.get("rel", "0")
        self.source = source_of(field(block, r"<rpm:sourcerpm>([^<]*)</rpm:sourcerpm>"))
        # provides keep the binary's own 'name = E:V-R' where it is (koji-sim adds it
        # only when missing)
        self.deps = {kind: entries(block, kind) for kind in SECTIONS}
        self.files = [html.unescape(f) for f in re.findall(r"<file(?: [^>]*)?>([^<]*)</file>", block)]
        size = dict(re.findall(r'(\w+)="(\d+)"', field(block, r"<size ([^/]*)/>") or ""))
        self.size = {k: int(size.get(k, 0)) for k in ("package", "installed", "archive")}
        self.location = field(block, r'<location href="([^"]*)"')

    def evr(self, release=None):
        return f"{self.epoch}:{self.version}-{release or self.release}"

    def spec(self, release=None, rewrite=lambda dep: dep, drop=()):
        """Its binary struct for sim.importBuild: as released, or rebuilt with `release`
        (dependencies passed through `rewrite`, provides named in `drop` left out, the
        location koji-sim's default)."""
        out = {"name": self.name, "arch": self.arch, "epoch": self.epoch,
               "version": self.version, "release": release or self.release,
               "files": self.files, "size": self.size}
        for kind, deps in self.deps.items():
            out[kind] = [rewrite(d) for d in deps
                         if not (kind == "provides" and dep_name(d) in drop)]
        if release is None and self.location:
            out["location"] = self.location
        return out


def dep_name(dep):
    return dep.split(" ")[0]


class World:
    """What the story needs to know about the seed and the corpus."""

    def __init__(self, seed, corpus, nxt):
        self.corpus, self.next = corpus, nxt
        # Tracked packages: the seed's sources, with their plain BuildRequires.
        self.tracked = {}
        for b in packages(primary(os.path.join(seed, "source"))):
            name = field(b, r"<name>([^<]*)</name>")
            self.tracked[name] = {dep_name(r) for r in entries(b, "requires") if not r.startswith("(")}
        needed = set().union(*self.tracked.values()) if self.tracked else set()
        # The binary repo, light: source and the needed names each binary provides.
        self.required_by = {}
        for t, reqs in self.tracked.items():
            for r in reqs:
                self.required_by.setdefault(r, set()).add(t)
        self.source = {}
        self.binaries_of = {}
        self.providers = {}
        self.needed_provides = {}
        for b in packages(primary(seed)):
            name = field(b, r"<name>([^<]*)</name>")
            src = source_of(field(b, r"<rpm:sourcerpm>([^<]*)</rpm:sourcerpm>"))
            self.source[name] = src
            self.binaries_of.setdefault(src, set()).add(name)
            for p in entries(b, "provides"):
                if dep_name(p) in needed:
                    self.providers.setdefault(dep_name(p), set()).add(name)
                    self.needed_provides.setdefault(name, set()).add(dep_name(p))
        self.changed = set()
        if nxt:
            with open(os.path.join(nxt, "changes.json"), encoding="utf-8") as f:
                changes = json.load(f)
            self.next_sources = {r["name"]: r.get("new_evr") or r["evr"]
                                 for k in ("updated", "added") for r in changes["source"][k]}
            self.changed = set(self.next_sources)

    def users(self, source):
        """Tracked packages that build-require a binary of `source` by name or provide."""
        names = set(self.binaries_of.get(source, ()))
        names |= {p for b in list(names) for p in self.needed_provides.get(b, ())}
        return set().union(*(self.required_by.get(n, set()) for n in names))

    def sole_provides(self, source):
        """The virtual provides tracked packages build-require that only binaries of
        `source` provide (dropping one makes its dependents unresolved)."""
        names = self.binaries_of.get(source, set())
        return sorted(v for b in names for v in self.needed_provides.get(b, ())
                      if v not in self.source and self.providers[v] <= names)

    def pick_provide(self):
        """A virtual provide of one source that most tracked packages build-require
        (at most 5 % of them): (provide, its source, dependents)."""
        best = None
        limit = max(2, len(self.tracked) // 20)
        for src in sorted(self.binaries_of):
            if src in self.changed or src in self.tracked or len(self.binaries_of[src]) > 40:
                continue
            for v in self.sole_provides(src):
                deps = sorted(self.required_by[v])
                if 2 <= len(deps) <= limit and (best is None or len(deps) > len(best[2])):
                    best = (v, src, deps)
        return best

    def pick_library(self, avoid_sources, avoid_packages):
        """A tracked package P and a -dev binary it build-requires whose source no
        other tracked package uses: (P, binary, source)."""
        for p in sorted(self.tracked):
            if p in avoid_packages:
                continue
            for d in sorted(self.tracked[p]):
                src = self.source.get(d)
                if (not d.endswith("-dev") or src is None or src in avoid_sources
                        or src in self.changed or src in self.tracked
                        or len(self.binaries_of[src]) > 10 or self.users(src) != {p}):
                    continue
                return p, d, src
        return None

    def blocks(self, sources, repo):
        """The binaries of `sources` in `repo`, by source."""
        out = {s: [] for s in sources}
        for b in packages(primary(repo)):
            src = source_of(field(b, r"<rpm:sourcerpm>([^<]*)</rpm:sourcerpm>"))
            if src in out:
                out[src].append(Binary(b))
        return out

    def build_requires(self, sources, repo):
        """Source name → (epoch, version, release, BuildRequires) in `repo`."""
        out = {}
        for b in packages(primary(os.path.join(repo, "source"))):
            name = field(b, r"<name>([^<]*)</name>")
            if name in sources:
                v = dict(re.findall(r'(\w+)="([^"]*)"', field(b, r"<version ([^/]*)/>")))
                out[name] = (int(v.get("epoch", 0)), v["ver"], v.get("rel", "0"), entries(b, "requires"))
        return out


class Koji:
    def __init__(self, hub, collection):
        self.session = koji.ClientSession(hub)
        self.collection = collection
        self.bumps = {}

    def rebuild(self, source, binaries, srpm, drop=(), breaks=(), tag=None):
        """A new build of `source` (release bumped), without the provides `drop`,
        tagged into `tag` (default: the collection's); its binaries make the scratch
        builds of `breaks` fail. Returns the NVR."""
        n = self.bumps[source] = self.bumps.get(source, 0) + 1
        epoch, version, release, brs = srpm
        bumped = {b.name: (b.evr(), b.evr(f"{b.release}.{n}")) for b in binaries}

        def rewrite(dep):  # exact relations between the build's binaries follow it
            pre = dep.endswith(PRE)
            parts = dep.removesuffix(PRE).split(" ")
            name = re.sub(r"^versioned\((.*)\)$", r"\1", parts[0])
            if len(parts) == 3 and name in bumped and parts[2] == bumped[name][0]:
                return f"{parts[0]} {parts[1]} {bumped[name][1]}" + (PRE if pre else "")
            return dep

        spec = {
            "name": source, "epoch": epoch, "version": version, "release": f"{release}.{n}",
            "buildrequires": brs, "tag": tag or self.collection, "breaks": list(breaks),
            "binaries": [b.spec(f"{b.release}.{n}", rewrite, drop) for b in binaries],
        }
        self.session.callMethod("sim.importBuild", spec)
        return f"{source}-{version}-{release}.{n}"

    def import_next(self, world):
        """Tags every new build of the next repo (as released) and makes a repo."""
        sources = world.next_sources
        binaries = world.blocks(set(sources), world.next)
        srpms = world.build_requires(set(sources), world.next)
        self.session.multicall = True
        for name in sorted(set(sources) & set(srpms)):
            epoch, version, release, brs = srpms[name]
            self.session.callMethod("sim.importBuild", {
                "name": name, "epoch": epoch, "version": version, "release": release,
                "buildrequires": brs, "tag": self.collection,
                "binaries": [b.spec() for b in binaries[name]],
            })
        # in batches: a request of all of them outgrows a hub's request size limit
        for result in self.session.multiCall(strict=False, batch=10):
            if isinstance(result, dict):  # a fault: already imported by an earlier run
                say(f"  {result.get('faultString')}")
        return len(sources), sum(len(b) for b in binaries.values())

    def repo(self, tag=None):
        return self.session.callMethod("sim.regenRepo", *([tag] if tag else []))

    def side_tag(self, base):
        """A new side tag of `base` (Koji's sidetag plugin wants a login; koji-sim takes
        any certificate, and the client's own ssl_login insists on HTTPS)."""
        self.session.setSession(self.session._callMethod("sslLogin", [], {}))
        return self.session.createSideTag(base)["name"]

    def failed_build(self, package, nvr, since):
        """Whether Koji failed a scratch build of `package` created after `since`."""
        tasks = self.session.listTasks({"method": "build", "state": [koji.TASK_STATES["FAILED"]],
                                        "createdAfter": since, "decode": True})
        srpm = f"{package}-{nvr}.src.rpm"
        return any(str(t.get("request", [""])[0]).endswith("/" + srpm) for t in tasks)


def wait_until(minute):
    time.sleep(max(0.0, START + minute * 60 - time.monotonic()))


def story(world, k):
    picked_provide = world.pick_provide()
    avoid = {picked_provide[1]} if picked_provide else set()
    picked_lib = world.pick_library(avoid, set(picked_provide[2]) if picked_provide else set())
    sources = {s for s in (picked_provide and picked_provide[1], picked_lib and picked_lib[2]) if s}
    blocks = world.blocks(sources, world.corpus)
    srpms = world.build_requires(sources | ({picked_lib[0]} if picked_lib else set()), world.corpus)
    if picked_lib and picked_lib[2] not in srpms:
        picked_lib = None
    if picked_provide and picked_provide[1] not in srpms:
        picked_provide = None
    if picked_lib:
        package, dev, lib = picked_lib
        say(f"story: {lib} will break the build of {package} (it build-requires {dev}), "
            "then be fixed")
    if picked_provide:
        provide, src, deps = picked_provide
        say(f"story: {src} will drop '{provide}', needed by {len(deps)} tracked packages: "
            f"{', '.join(deps)}; then restore it")

    def step(minute, action):
        wait_until(minute)
        try:
            action()
        except (koji.GenericError, OSError) as e:
            say(f"update failed: {e}")

    broken_since = []

    def break_library():
        broken_since.append(time.time())
        nvr = k.rebuild(lib, blocks[lib], srpms[lib], breaks=[package])
        say(f"update: {nvr} changes the API {package} uses: repo {k.repo()}; {package}'s "
            f"dependency changed, so Koschei rebuilds it, the scratch build fails and "
            f"{package} turns failing")

    def fix_library():
        # The maintainer fixes the library once Koji failed the package's build
        # (waiting at most until minute 4), and the failure showed for a while.
        _, version, release, _ = srpms[package]
        while (time.monotonic() < START + 4 * 60
               and not k.failed_build(package, f"{version}-{release}", broken_since[0])):
            time.sleep(5)
        time.sleep(20)
        nvr = k.rebuild(lib, blocks[lib], srpms[lib])
        say(f"update: {nvr} fixes the API break: repo {k.repo()}; {package} is rebuilt and "
            "turns ok again")

    def drop_provide():
        nvr = k.rebuild(src, blocks[src], srpms[src], drop={provide})
        say(f"update: {nvr} no longer provides '{provide}': repo {k.repo()}; "
            f"{', '.join(deps)} turn unresolved")

    def restore_provide():
        nvr = k.rebuild(src, blocks[src], srpms[src])
        say(f"update: {nvr} provides '{provide}' again: repo {k.repo()}; {', '.join(deps)} "
            "are ok again")

    def next_repo():
        say("update: the distribution's next repo (debian-bookworm-next, a round of security "
            "updates) is being tagged")
        builds, binaries = k.import_next(world)
        say(f"update: {builds} new builds ({binaries} binaries) from the next repo: repo "
            f"{k.repo()}; Koschei rebuilds what they change")

    # the side tag's library: another one, used by another tracked package
    avoid_users = set(picked_provide[2]) if picked_provide else set()
    if picked_lib:
        avoid_users.add(picked_lib[0])
    side_lib = world.pick_library(sources, avoid_users)
    side_blocks = world.blocks({side_lib[2]}, world.corpus) if side_lib else {}
    side_srpms = world.build_requires({side_lib[2]}, world.corpus) if side_lib else {}
    if side_lib and side_lib[2] not in side_srpms:
        side_lib = None

    def side_tag_change():
        tag = k.side_tag(f"{k.collection}-build")
        parts = []
        if picked_provide:
            k.rebuild(src, blocks[src], srpms[src], drop={provide}, tag=tag)
            parts.append(f"{src} without '{provide}' ({', '.join(deps)} cannot resolve with it)")
        if side_lib:
            user, _, lib2 = side_lib
            k.rebuild(lib2, side_blocks[lib2], side_srpms[lib2], breaks=[user], tag=tag)
            parts.append(f"{lib2} with an API break ({user}'s build fails with it)")
        say(f"update: side tag {tag} gets {' and '.join(parts)}: repo {k.repo(tag)}; "
            "Koschei checks its impact automatically (see Impact checks on the dashboard)")

    if picked_lib:
        step(0.5, break_library)
    if picked_provide:
        step(1, drop_provide)
    if picked_lib and broken_since:
        step(1.5, fix_library)
    if picked_provide:
        step(2.5, restore_provide)
    if picked_provide or side_lib:
        step(3, side_tag_change)
    step(3.5, next_repo)


def churn(world, k, interval, rng):
    """Rebuilds of random build dependencies; one in ten drops a provide that tracked
    packages need, which the next update restores."""
    candidates = sorted({world.source[d] for reqs in world.tracked.values() for d in reqs
                         if d in world.source})
    candidates = sorted(rng.sample(candidates, min(len(candidates), 200)))
    repo = world.next or world.corpus
    blocks = world.blocks(set(candidates), repo)
    srpms = world.build_requires(set(candidates), repo)
    candidates = [c for c in candidates if blocks[c] and c in srpms]
    say(f"{len(candidates)} build dependencies to update every {interval:.0f} s")
    broken = None
    while True:
        time.sleep(interval)
        if not candidates:
            continue
        try:
            if broken:
                src, provide, deps = broken
                nvr = k.rebuild(src, blocks[src], srpms[src])
                say(f"update: {nvr} provides '{provide}' again: repo {k.repo()}")
                broken = None
                continue
            src = rng.choice(candidates)
            virtual = world.sole_provides(src)
            if virtual and rng.random() < 0.1:
                provide = rng.choice(virtual)
                deps = sorted(world.required_by[provide])
                nvr = k.rebuild(src, blocks[src], srpms[src], drop={provide})
                say(f"update: {nvr} drops '{provide}': repo {k.repo()}; {', '.join(deps)} "
                    "turn unresolved until the next update")
                broken = (src, provide, deps)
            else:
                nvr = k.rebuild(src, blocks[src], srpms[src])
                say(f"update: {nvr} (same dependencies): repo {k.repo()}")
        except (koji.GenericError, OSError) as e:  # koji-sim restarting: try again next time
            say(f"{e}")


def main():
    hub, seed, corpus, nxt, collection, interval = sys.argv[1:7]
    world = World(seed, corpus, nxt or None)
    k = Koji(hub, collection)
    if world.next:
        story(world, k)
    churn(world, k, float(interval), random.Random(42))


if __name__ == "__main__":
    main()
