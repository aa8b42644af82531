#!/usr/bin/env python3
"""Check vssinfo against a generated image's manifest (testimages/): the
listing (GUIDs, times, flags, sizes) and every 16 KiB block of every
snapshot against the manifest's per-block SHA-256 of what Windows returns.

The shadow copy files (kind `vssfile`) must read as the manifest says:
zeros in the newest snapshot, read through (zeros with flag 0x400, live
data without) in older ones; libvss's map must call them `zero`/`diff-area`
in the newest snapshot and never `store` of another snapshot or `live`
in older ones.
One documented model difference is accepted, only where libvss's own map
says so (docs/testimages.md): blocks not in use for snapshot N that a newer
store holds: the generator gives the not-in-use answer, libvss gives that
store's copy as Windows does (dfir_ntfs's rule, validated on Windows-made
hashes) and marks it `stale`.
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


def check_vssfile_model(m, blocks, image, offset, name):
    """The manifest itself models the shadow copy file rule: its `vssfile`
    blocks are zeros in the newest snapshot and, in older ones, the
    not-in-use answer (zeros with flag 0x400, the live block without)."""
    zero = hashlib.sha256(bytes(BS)).hexdigest()
    newest = len(m["snapshots"])
    bad_blocks = checked = 0
    with open(image, "rb") as img:
        for s in m["snapshots"]:
            n = s["index"]
            for off, kind, digest in blocks.get(n, []):
                if kind != "vssfile":
                    continue
                if n == newest or s["catalog_flags"] & 0x400:
                    want = zero
                else:
                    img.seek(offset + off)
                    want = hashlib.sha256(img.read(BS)).hexdigest()
                checked += 1
                if digest != want:
                    bad_blocks += 1
    msg = ("%s: the manifest's %d shadow copy file blocks are zeros in the "
           "newest snapshot, read through in older ones" % (name, checked))
    if checked and not bad_blocks:
        ok(msg)
    else:
        bad(msg + ": %d differ" % bad_blocks)


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

    check_vssfile_model(m, blocks, images[src["image"]], src["offset"], name)

    with tempfile.TemporaryDirectory() as tmp:
        for s in m["snapshots"]:
            n = s["index"]
            out = os.path.join(tmp, "snap")
            subprocess.run(args[:1] + ["--extract", str(n), "--force", "--output", out] +
                           args[1:], check=True, stdout=subprocess.DEVNULL)
            mp = json.loads(subprocess.run(
                args[:1] + ["--map", str(n), "--json"] + args[1:],
                check=True, capture_output=True).stdout)["runs"]
            newest = n == len(m["snapshots"])
            # per block: the (class, reason, store) of every run touching it
            seen = {}
            newer_copy = set()
            for r in mp:
                blocks_of = range(r["offset"] // BS,
                                  (r["offset"] + r["length"] + BS - 1) // BS)
                for b in blocks_of:
                    seen.setdefault(b * BS, set()).add(
                        (r["class"], r.get("reason", ""), r.get("store", 0)))
                if r["class"] == "stale" and r.get("store"):
                    newer_copy.update(b * BS for b in blocks_of)
            mismatches = newer = vssfile = misclassed = 0
            with open(out, "rb") as f:
                for off, kind, digest in blocks.get(n, []):
                    if kind.startswith("vssfile"):
                        vssfile += 1
                        cls = seen.get(off, set())
                        want = ({("zero", "diff-area", 0)} if newest else None)
                        if (cls != want if newest else
                                any(c == "live" or (c == "store" and st != n)
                                    for c, _r, st in cls)):
                            misclassed += 1
                            if misclassed <= 5:
                                print("     shadow copy file block %d of "
                                      "snapshot %d classed %s" % (off, n, cls))
                    f.seek(off)
                    h = hashlib.sha256(f.read(BS)).hexdigest()
                    if h == digest:
                        continue
                    if kind in ("notinuse", "vssfile") and off in newer_copy:
                        newer += 1  # Windows answers from a newer store
                        continue
                    mismatches += 1
                    if mismatches <= 5:
                        print("     block %d (%s) differs" % (off, kind))
            total = len(blocks.get(n, []))
            msg = "%s snapshot %d: %d blocks as the manifest says" % (
                name, n, total - mismatches - newer)
            if vssfile:
                msg += " (%d of the shadow copy files, %s)" % (
                    vssfile, "zeros" if newest else "read through")
            if misclassed:
                mismatches += misclassed
                msg += ", %d shadow copy file blocks misclassed" % misclassed
            if newer:
                msg += (", %d not-in-use blocks read from a newer store, "
                        "marked stale (manifest: the not-in-use answer)" % newer)
            if mismatches == 0 and total > 0:
                ok(msg)
            else:
                bad(msg + ", %d differ" % mismatches)
            if s.get("sha256") and not newer:
                h = hashlib.sha256(open(out, "rb").read()).hexdigest()
                if h == s["sha256"]:
                    ok("%s snapshot %d: whole-volume SHA-256" % (name, n))
                else:
                    bad("%s snapshot %d: whole-volume SHA-256 %s != %s" %
                        (name, n, h, s["sha256"]))
    return vsstest.summary()


if __name__ == "__main__":
    sys.exit(main())
