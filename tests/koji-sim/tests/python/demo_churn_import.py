"""Imports builds of the corpus's next repo into koji-sim the way the demo does
(scripts/demo-churn.py: World, Koji.import_next) and regenerates the repo.

usage: demo_churn_import.py DEMO_CHURN HUB SEED_DIR NEXT_DIR SOURCE...
Prints one JSON line: {"repo": the new repo id, "blocks": the imported binaries'
original <package> blocks from NEXT_DIR}.
"""
import importlib.util
import json
import os
import sys
import tempfile


def main():
    demo_path, hub, seed, nxt, *sources = sys.argv[1:]
    spec = importlib.util.spec_from_file_location("demo_churn", demo_path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    with open(os.path.join(nxt, "changes.json"), encoding="utf-8") as f:
        changes = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        # the next repo with only `sources` changed
        for part in ("repodata", "source"):
            os.symlink(os.path.join(nxt, part), os.path.join(tmp, part))
        picked = {k: [r for r in changes["source"][k] if r["name"] in sources]
                  for k in ("updated", "added")}
        assert sum(map(len, picked.values())) == len(sources), picked
        with open(os.path.join(tmp, "changes.json"), "w", encoding="utf-8") as f:
            json.dump({"source": picked}, f)
        k = demo.Koji(hub, "f99")
        k.import_next(demo.World(seed, None, tmp))
        repo = k.repo()
    blocks = [b for b in demo.packages(demo.primary(nxt))
              if demo.source_of(demo.field(b, r"<rpm:sourcerpm>([^<]*)</rpm:sourcerpm>"))
              in sources]
    print(json.dumps({"repo": repo, "blocks": blocks}))


if __name__ == "__main__":
    main()
