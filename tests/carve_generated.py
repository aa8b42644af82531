#!/usr/bin/env python3
"""Check vssinfo --carve/--carved on a generated image whose snapshots were
deleted (testimages/scenarios/carve_*.scn) against its manifest: the
generator's truth, made before the deletion (docs/testimages.md,
"Deleting snapshots").

- the carved stack has the manifest's stores, oldest first, and marks
  which ones the catalog still lists (the manifest's "deleted");
- every block of every carved snapshot that the manifest calls in use
  (blocks.tsv kind not notinuse/vssfile) and whose bytes the manifest does
  not call lost ("overwritten": a deleted store's clusters now held by a
  new file; "changed": places written after the deletion that no
  allocation shows) has the manifest's SHA-256;
- the bytes the carved map marks reason "overwritten" in those in-use
  blocks are exactly the manifest's "overwritten" ranges: not more, not
  less.

Prints one line per check, "PASS name" or "FAIL name: detail".
usage: carve_generated.py MANIFEST VSSINFO SCRATCH_DIR"""
import hashlib
import json
import os
import subprocess
import sys

man_path, vssinfo, tmp = sys.argv[1:4]
man = json.load(open(man_path))
base = os.path.dirname(man_path)
img = os.path.join(base, man["images"][0]["path"])
name = man["scenario"]
BS = man["block_size"]


def report(ok, what, detail=""):
    print("%s %s: %s%s" % ("PASS" if ok else "FAIL", name, what,
                            "" if ok else ": " + detail))


def run(*args):
    return subprocess.run([vssinfo, *args, img], check=True,
                          capture_output=True).stdout


def to_set(ranges, keep=None):
    """Byte ranges as a set of 512-byte sector numbers (all ranges here
    are sector-aligned), optionally only those inside the blocks keep."""
    out = set()
    for a, b in ranges:
        assert a % 512 == 0 and b % 512 == 0, (a, b)
        out.update(s for s in range(a // 512, b // 512)
                   if keep is None or s * 512 // BS in keep)
    return out


# blocks.tsv: snapshot -> {block: (kind, sha256)}
tsv = {}
for line in open(os.path.join(base, man["block_list"])):
    if line.startswith("#"):
        continue
    k, off, kind, _src, sha = line.split("\t")
    tsv.setdefault(int(k), {})[int(off) // BS] = (kind.split("+")[0], sha.strip())

carved = json.loads(run("--carve", "--json", "--no-progress"))["carved"][0]["stores"]
snaps = man["snapshots"]
report([s["store_guid"] for s in carved] == [s["store_guid"] for s in snaps],
       "carved stores are the manifest's, oldest first",
       str([s["store_guid"][:8] for s in carved]))
report([s["in_catalog"] for s in carved] == [not s["deleted"] for s in snaps],
       "deleted and surviving snapshots marked as the manifest says",
       str([s["in_catalog"] for s in carved]))
report([s["overwritten_bytes"] for s in carved] ==
       [s.get("store_overwritten_bytes", 0) for s in snaps],
       "each store's clusters new files hold, counted",
       str([s["overwritten_bytes"] for s in carved]))
# whole chains: high; data now held by new files: medium, with the reason
report([s["confidence"] for s in carved] ==
       ["medium" if s.get("store_overwritten_bytes") else "high" for s in snaps],
       "confidence high, medium where new files hold store clusters",
       str([(s["confidence"], s["problems"]) for s in carved]))

for s in snaps:
    k = s["index"]
    inuse = {b for b, (kind, _) in tsv[k].items() if kind not in ("notinuse", "vssfile")}
    lost = to_set(s.get("overwritten", []) + s.get("changed", []))
    lost_blocks = {x * 512 // BS for x in lost}
    out = os.path.join(tmp, "%s.%d.raw" % (name, k))
    run("--carved", "--no-progress", "--extract", str(k), "--output", out)
    bad, compared = [], 0
    with open(out, "rb") as f:
        for b in sorted(inuse - lost_blocks):
            f.seek(b * BS)
            compared += 1
            if hashlib.sha256(f.read(BS)).hexdigest() != tsv[k][b][1]:
                bad.append(b * BS)
    os.unlink(out)
    report(not bad and compared > 0,
           "snapshot %d: %d in-use blocks that survive equal the manifest"
           % (k, compared), "%d differ, first at %s" % (len(bad), bad[:3]))
    runs = json.loads(run("--carved", "--no-progress", "--map", str(k),
                          "--json"))["runs"]
    marked = to_set([(r["offset"], r["offset"] + r["length"]) for r in runs
                     if r.get("reason") == "overwritten"], keep=inuse)
    want = to_set(s.get("overwritten", []), keep=inuse)
    report(marked == want,
           "snapshot %d: exactly the %d lost bytes are marked overwritten"
           % (k, 512 * len(want)),
           "%d marked, %d expected, %d not marked, %d marked too many"
           % (len(marked), len(want), len(want - marked), len(marked - want)))
