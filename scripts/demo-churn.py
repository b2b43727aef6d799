#!/usr/bin/env python3
"""Keeps the demo alive: every INTERVAL seconds, koji-sim gets a new build of
a binary package that the tracked packages build-require (same dependencies,
bumped release), is tagged, and a new repo is generated. About one update in
ten drops the package's virtual provides, so some dependents break and show
up as failing or unresolved until a later update restores them.

usage: demo-churn.py HUB_URL SEED_DIR COLLECTION INTERVAL
"""
import gzip
import random
import re
import sys
import time

import koji

hub, seed, collection, interval = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
rng = random.Random(42)
FLAGS = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}


def blocks(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        text = f.read()
    return text.split('<package type="rpm">')[1:]


def field(block, pattern):
    m = re.search(pattern, block, re.S)
    return m.group(1) if m else None


def entries(block, kind):
    section = field(block, rf"<rpm:{kind}>(.*?)</rpm:{kind}>") or ""
    out = []
    for attrs in re.findall(r"<rpm:entry ([^/]*)/>", section):
        a = dict(re.findall(r'(\w+)="([^"]*)"', attrs))
        name = a["name"].replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")
        if "flags" in a:
            evr = f"{a.get('epoch', '0')}:{a.get('ver', '')}-{a.get('rel', '0')}"
            out.append(f"{name} {FLAGS[a['flags']]} {evr}")
        else:
            out.append(name)
    return out


brs = set()
for b in blocks(f"{seed}/source/repodata/primary.xml.gz"):
    brs.update(e.split(" ")[0] for e in entries(b, "requires") if not e.startswith("("))
binaries = {}
for b in blocks(f"{seed}/repodata/primary.xml.gz"):
    name = field(b, r"<name>([^<]*)</name>")
    if name in brs and name not in binaries:
        binaries[name] = b
candidates = sorted(binaries)
print(f"demo-churn: {len(candidates)} build dependencies to update every {interval:.0f} s", flush=True)

session = koji.ClientSession(hub)
generation = 0
if not candidates:
    sys.exit("demo-churn: no build dependency of the sample found in the binary repo")
while True:
    time.sleep(interval)
    generation += 1
    name = rng.choice(candidates)
    b = binaries[name]
    version = field(b, r'ver="([^"]*)"')
    old_release = field(b, r'rel="([^"]*)"')
    release = f"{old_release}.sim{generation}"
    breaking = rng.random() < 0.1
    provides = [p for p in entries(b, "provides") if not p.startswith(name + " ")]
    binary = {
        "name": name,
        "arch": field(b, r"<arch>([^<]*)</arch>"),
        "provides": [] if breaking else provides,
        "requires": entries(b, "requires"),
    }
    spec = {"name": name, "version": version, "release": release, "tag": collection, "binaries": [binary]}
    try:
        session.callMethod("sim.importBuild", spec)
        repo = session.callMethod("sim.regenRepo")
        kind = "breaking" if breaking else "compatible"
        print(f"demo-churn: {name}-{version}-{release} ({kind}), repo {repo}", flush=True)
    except Exception as e:  # koji-sim restarting: try again next time
        print(f"demo-churn: {e}", flush=True)
