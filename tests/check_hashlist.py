#!/usr/bin/env python3
"""Check vssinfo against a Windows-made per-sector hash list.

Each line of the list: snapshot<TAB>volume offset<TAB>flags<TAB>32 MD5s,
the MD5 of every 512-byte sector of that 16 KiB block as Windows returned
it from the shadow copy device. Prints one line per mismatch, how many
lines fall on blocks of each provenance libvss gives (the evidence each
reading rule of docs/format.md rests on, e.g. how many lines fall on the
shadow copy files) and a summary; exit 0 only when every line matches.
The sanitizer pass (make test-asan) checks every 4th line (vsstest.py's
streams_to_check: each line runs the same code, and the plain pass has
checked them all).
"""
import hashlib
import json
import subprocess
import sys

from vsstest import SAMPLED, streams_to_check

BS = 16384
ZERO_MD5 = hashlib.md5(bytes(512)).hexdigest()


def provenance(vssinfo, image, offset, snap, voff, maps):
    """The class[/reason] libvss's map gives the block (several if mixed)."""
    if snap not in maps:
        maps[snap] = json.loads(subprocess.run(
            [vssinfo, "-o", offset, "--map", snap, "--json", image],
            check=True, capture_output=True).stdout)["runs"]
    kinds = set()
    for r in maps[snap]:
        if r["offset"] < voff + BS and voff < r["offset"] + r["length"]:
            k = r["class"] + ("/" + r["reason"] if r.get("reason") else "")
            if r.get("store"):
                k += " (%s store)" % ("own" if str(r["store"]) == snap
                                      else "a newer")
            kinds.add(k)
    return "+".join(sorted(kinds))


def main():
    vssinfo, image, offset, hashlist = sys.argv[1:5]
    ok = bad = 0
    maps, tally = {}, {}
    for line in streams_to_check(open(hashlist)):
        snap, voff, _flags, md5s = line.rstrip("\n").split("\t")
        want = md5s.split(" ")
        kind = provenance(vssinfo, image, offset, snap, int(voff), maps)
        zeros = all(h == ZERO_MD5 for h in want)
        t = tally.setdefault(kind, [0, 0])
        t[0] += 1
        t[1] += zeros
        data = subprocess.run(
            [vssinfo, "-o", offset, "--extract", snap, "--range",
             "%s:16384" % voff, image],
            check=True, capture_output=True).stdout
        got = [hashlib.md5(data[i:i + 512]).hexdigest()
               for i in range(0, 16384, 512)]
        if got == want:
            ok += 1
        else:
            bad += 1
            diff = [i for i in range(32) if i >= len(got) or got[i] != want[i]]
            print("MISMATCH snapshot %s offset %s sectors %s" % (snap, voff, diff))
    for kind, (n, zeros) in sorted(tally.items()):
        print("  %d lines on %s blocks (%d of them all zeros)" % (n, kind, zeros))
    shadow = sum(n for k, (n, _z) in tally.items() if "diff-area" in k)
    print("  %d lines on blocks of the shadow copy files" % shadow)
    print("hash list %s: %d blocks match, %d differ%s" % (hashlist, ok, bad,
                                                         SAMPLED))
    return 0 if bad == 0 and ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
