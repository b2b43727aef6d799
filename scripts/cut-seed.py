#!/usr/bin/env python3
"""Cuts a koji-sim seed from the benchmark corpus: the whole binary repo
(symlinked) and a sample of COUNT source packages spread over the alphabet.

usage: cut-seed.py CORPUS_DIR OUT_DIR COUNT
"""
import gzip
import hashlib
import os
import re
import shutil
import sys

corpus, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

# Binary repo: a copy of the corpus files (never links: the corpus is shared
# read-only data and must not be reachable for writing from the demo's state).
os.makedirs(os.path.join(out, "repodata"), exist_ok=True)
for name in os.listdir(os.path.join(corpus, "repodata")):
    target = os.path.join(out, "repodata", name)
    if os.path.islink(target):
        os.unlink(target)
    if not os.path.exists(target):
        shutil.copyfile(os.path.join(corpus, "repodata", name), target)

# Source repo: every k-th package.
with gzip.open(os.path.join(corpus, "source/repodata/primary.xml.gz"), "rt", encoding="utf-8") as f:
    text = f.read()
head, _, rest = text.partition('<package type="rpm">')
blocks = ('<package type="rpm">' + rest).split('<package type="rpm">')[1:]
blocks = ['<package type="rpm">' + b.split("</metadata>")[0] for b in blocks]
step = max(1, len(blocks) // count)
chosen = blocks[::step][:count]
head = re.sub(r'packages="\d+"', f'packages="{len(chosen)}"', head)
xml = (head + "".join(chosen) + "</metadata>\n").encode("utf-8")

src = os.path.join(out, "source/repodata")
os.makedirs(src, exist_ok=True)
gz = gzip.compress(xml, mtime=0)
with open(os.path.join(src, "primary.xml.gz"), "wb") as f:
    f.write(gz)
with open(os.path.join(src, "repomd.xml"), "w") as f:
    f.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1</revision>
  <data type="primary">
    <checksum type="sha256">{hashlib.sha256(gz).hexdigest()}</checksum>
    <open-checksum type="sha256">{hashlib.sha256(xml).hexdigest()}</open-checksum>
    <location href="repodata/primary.xml.gz"/>
    <timestamp>1</timestamp>
    <size>{len(gz)}</size>
    <open-size>{len(xml)}</open-size>
  </data>
</repomd>
""")
print(f"seed {out}: {len(chosen)} of {len(blocks)} source packages")
