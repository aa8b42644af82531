#!/usr/bin/env python3
"""Check vssinfo against a generated image's manifest (testimages/): the
listing (GUIDs, times, flags, sizes) and every 16 KiB block of every
snapshot against the manifest's per-block SHA-256 of what Windows returns.

Two documented model differences are accepted, each only where libvss's
own map says so (docs/format.md):
- blocks of the shadow copy files on a volume without catalog flag 0x400:
  the generator models them as live data, libvss reads them as zeros
  (`zero`, reason `diff-area`);
- blocks not in use for snapshot N that a newer store holds: the generator
  gives zeros (0x400), libvss gives that store's copy as Windows does
  (dfir_ntfs's rule, validated on Windows-made hashes) and marks it
  `stale`.
Any other difference fails. Prints one line per check; ends with "N passed, N failed".
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import vsstest
from vsstest import bad, ok

BS = 16384


def main():
    vssinfo, manifest = sys.argv[1], sys.argv[2]
    m = json.load(open(manifest))
    base = os.path.dirname(manifest)
    images = [os.path.join(base, i["path"]) for i in m["images"]]
    src = [v for v in m["volumes"] if v["role"] == "source"][0]
    first = images[src["image"]]
    args = [vssinfo, "-o", str(src["offset"]), first] + \
        [p for p in images if p != first]
    name = m["scenario"]

    listing = json.loads(subprocess.run(args[:1] + ["--json"] + args[1:],
                                        check=True, capture_output=True).stdout)
    vol = [v for v in listing["volumes"]
           if v["image"] == first and v["offset"] == src["offset"]][0]
    got = [(s["store_guid"], s.get("shadow_copy_id"), s.get("shadow_copy_set_id"),
            s["creation_time"], s["volume_size"], s["catalog_flags"],
            s.get("attribute_flags")) for s in vol["snapshots"]]
    want = [(s["store_guid"], s["shadow_copy_id"], s["shadow_copy_set_id"],
             s["creation_time"], s["volume_size"], s["catalog_flags"],
             s["attribute_flags"]) for s in m["snapshots"]]
    if got == want:
        ok("%s: listing of %d snapshots" % (name, len(want)))
    else:
        bad("%s: listing %s != manifest %s" % (name, got, want))

    blocks = {}
    for line in open(os.path.join(base, m["block_list"])):
        if line.startswith("#"):
            continue
        snap, off, kind, _src, digest = line.rstrip("\n").split("\t")
        blocks.setdefault(int(snap), []).append((int(off), kind, digest))

    with tempfile.TemporaryDirectory() as tmp:
        for s in m["snapshots"]:
            n = s["index"]
            out = os.path.join(tmp, "snap")
            subprocess.run(args[:1] + ["--extract", str(n), "--force", "--output", out] +
                           args[1:], check=True, stdout=subprocess.DEVNULL)
            mp = json.loads(subprocess.run(
                args[:1] + ["--map", str(n), "--json"] + args[1:],
                check=True, capture_output=True).stdout)["runs"]
            diff_area, newer_copy = set(), set()
            for r in mp:
                blocks_of = range(r["offset"] // BS,
                                  (r["offset"] + r["length"] + BS - 1) // BS)
                if r["class"] == "zero" and r.get("reason") == "diff-area":
                    diff_area.update(b * BS for b in blocks_of)
                if r["class"] == "stale" and r.get("store"):
                    newer_copy.update(b * BS for b in blocks_of)
            mismatches = explained = newer = 0
            with open(out, "rb") as f:
                for off, kind, digest in blocks.get(n, []):
                    f.seek(off)
                    h = hashlib.sha256(f.read(BS)).hexdigest()
                    if h == digest:
                        continue
                    if (kind in ("vssfile", "notinuse") and off in diff_area
                            and not s["catalog_flags"] & 0x400):
                        explained += 1  # the shadow copy files read as zeros
                        continue
                    if kind == "notinuse" and off in newer_copy:
                        newer += 1  # Windows answers from a newer store
                        continue
                    mismatches += 1
                    if mismatches <= 5:
                        print("     block %d (%s) differs" % (off, kind))
            total = len(blocks.get(n, []))
            msg = "%s snapshot %d: %d blocks as the manifest says" % (
                name, n, total - mismatches - explained - newer)
            if explained:
                msg += ", %d VSS-file blocks zero (manifest: live)" % explained
            if newer:
                msg += (", %d not-in-use blocks read from a newer store, "
                        "marked stale (manifest: zeros)" % newer)
            if mismatches == 0 and total > 0:
                ok(msg)
            else:
                bad(msg + ", %d differ" % mismatches)
            if s["catalog_flags"] & 0x400 and not newer:
                h = hashlib.sha256(open(out, "rb").read()).hexdigest()
                if h == s["sha256"]:
                    ok("%s snapshot %d: whole-volume SHA-256" % (name, n))
                else:
                    bad("%s snapshot %d: whole-volume SHA-256 %s != %s" %
                        (name, n, h, s["sha256"]))
    return vsstest.summary()


if __name__ == "__main__":
    sys.exit(main())
