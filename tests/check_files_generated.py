#!/usr/bin/env python3
"""File-level checks on a generated image (testimages/), snapshot by
snapshot, against two independent truths:

1. the manifest: for every user file and stream the generator wrote, what
   Windows returns (windows_sha256) must be what `vssinfo --file` recovers,
   and the byte ranges the manifest says Windows returns as zeros (flag
   0x400: zero_ranges) must be exactly the ranges vssinfo reports damaged;
   files with no such ranges must not be reported damaged;
2. The Sleuth Kit: `vssinfo --ls -r --bodyfile` equals `fls -r -u -m /` of
   the snapshot extracted with `vssinfo --extract` (the differences
   files_check.check_bodyfile explains, asserted there);
3. ntfs-3g: the snapshot extracted with `vssinfo --extract` and mounted
   read-only with ntfs-3g (when FUSE is available) must show the same user
   files with the same sizes and SHA-256 as `vssinfo --ls -r` / `--file`.

The sanitizer pass (make test-asan) checks the first and the last
snapshot of each image (vsstest.snapshots_to_check), as the real-image
checkers do; the plain pass checks every one.

Usage: check_files_generated.py VSSINFO MANIFEST WORKDIR
Prints one line per check, ends with "N passed, N failed".
"""
import hashlib
import json
import os
import subprocess
import sys

import vsstest
from files_check import check_bodyfile
from vsstest import bad, ok, run



def main():
    vssinfo, manifest, work = sys.argv[1:4]
    m = json.load(open(manifest))
    base = os.path.dirname(manifest)
    images = [os.path.join(base, i["path"]) for i in m["images"]]
    src = [v for v in m["volumes"] if v["role"] == "source"][0]
    first = images[src["image"]]
    imgargs = ["-o", str(src["offset"]), first] + [p for p in images if p != first]
    name = m["scenario"]
    fuse = os.path.exists("/dev/fuse") and subprocess.run(
        ["which", "ntfs-3g"], capture_output=True).returncode == 0

    checked = vsstest.snapshots_to_check(len(m["snapshots"]))
    for s in m["snapshots"]:
        n = s["index"]
        if n not in checked:
            continue
        # 1. the manifest's files
        good = damaged_ok = 0
        problems = []
        recovered = {}  # path -> SHA-256 of vssinfo --file (part 3 too)
        for f in s["files"]:
            path = f["path"]
            r = run([vssinfo, "--file", "%d:%s" % (n, path), "--json",
                     "--force", "--output", os.path.join(work, "f")] + imgargs)
            if r.returncode != 0:
                problems.append("%s: vssinfo --file failed: %s" % (path, r.stderr.decode()[:200]))
                continue
            rep = json.loads(r.stdout)
            h = hashlib.sha256(open(os.path.join(work, "f"), "rb").read()).hexdigest()
            recovered[path] = h
            want = f.get("windows_sha256")
            if want and h != want:
                problems.append("%s: recovered %s, Windows returns %s" % (path, h, want))
                continue
            lost = [[d["offset"], d["offset"] + d["length"]] for d in rep["damaged"]
                    if d["class"] == "zero"]
            # merge adjacent ranges (classes or reasons may split them)
            merged = []
            for a, b in sorted(lost):
                if merged and merged[-1][1] == a:
                    merged[-1][1] = b
                else:
                    merged.append([a, b])
            want_zero = f.get("zero_ranges", []) if s["catalog_flags"] & 0x400 else []
            if merged != want_zero:
                problems.append("%s: zero ranges %s, manifest %s" % (path, merged, want_zero))
                continue
            if not (s["catalog_flags"] & 0x400) and f.get("live_ranges"):
                stale = sorted([d["offset"], d["offset"] + d["length"]] for d in rep["damaged"]
                               if d["class"] == "stale")
                mstale = []
                for a, b in stale:
                    if mstale and mstale[-1][1] == a:
                        mstale[-1][1] = b
                    else:
                        mstale.append([a, b])
                if mstale != f["live_ranges"]:
                    problems.append("%s: stale ranges %s, manifest live ranges %s" %
                                    (path, mstale, f["live_ranges"]))
                    continue
            good += 1
            damaged_ok += bool(want_zero or f.get("live_ranges"))
        for p in problems[:10]:
            print("     " + p)
        if problems:
            bad("%s snapshot %d: %d of %d manifest files wrong" % (name, n, len(problems), len(s["files"])))
        else:
            ok("%s snapshot %d: %d manifest files recovered as Windows returns them, "
               "%d with exactly the manifest's damaged ranges" % (name, n, good, damaged_ok))

        snap = os.path.join(work, "snap.raw")
        if os.path.exists(snap):
            os.unlink(snap)
        subprocess.run([vssinfo, "--extract", str(n), "--output", snap] + imgargs, check=True,
                       stdout=subprocess.DEVNULL)
        # 2. --bodyfile against fls -m of the extracted snapshot
        ls_json = run([vssinfo, "--ls", str(n), "-r", "--json"] + imgargs,
                      check=True).stdout
        check_bodyfile(
            "%s snapshot %d" % (name, n),
            run([vssinfo, "--ls", str(n), "-r", "--bodyfile"] + imgargs)
            .stdout.decode("utf-8", "surrogateescape"),
            run(["fls", "-r", "-u", "-m", "/", snap]).stdout.decode(
                "utf-8", "surrogateescape"),
            snap, ls_json=ls_json)
        # 3. ntfs-3g on the extracted snapshot
        if not fuse:
            print("skip %s snapshot %d: ntfs-3g/FUSE not available" % (name, n))
            os.unlink(snap)
            continue
        mnt = os.path.join(work, "mnt")
        os.makedirs(mnt, exist_ok=True)
        r = run(["ntfs-3g", "-o", "ro", snap, mnt])
        if r.returncode != 0:
            bad("%s snapshot %d: ntfs-3g cannot mount the extracted snapshot: %s" %
                (name, n, r.stderr.decode()[:200]))
            continue
        try:
            theirs = {}
            for root, dirs, files in os.walk(mnt):
                rel = os.path.relpath(root, mnt)
                if rel.startswith("System Volume Information"):
                    continue
                for fn in files:
                    p = os.path.join(root, fn)
                    key = "/" + os.path.normpath(os.path.join(rel, fn)).lstrip("./")
                    with open(p, "rb") as fh:
                        theirs[key] = (os.path.getsize(p), hashlib.sha256(fh.read()).hexdigest())
        finally:
            subprocess.run(["fusermount3", "-u", mnt])
        ours = {}
        for e in json.loads(ls_json)["entries"]:
            p = "/" + e["path"]
            if e["type"] != "file" or p.startswith("/$") or \
                    p.startswith("/System Volume Information"):
                continue
            # the manifest's files were read by --file in part 1
            if p not in recovered:
                data = run([vssinfo, "--file", "%d:%s" % (n, p)] +
                           imgargs).stdout
                recovered[p] = hashlib.sha256(data).hexdigest()
            ours[p] = (e["size"], recovered[p])
        if ours == theirs and ours:
            ok("%s snapshot %d: %d files, sizes and SHA-256 as ntfs-3g sees them" %
               (name, n, len(ours)))
        else:
            only = sorted(set(ours) ^ set(theirs))[:5]
            diff = [k for k in ours if k in theirs and ours[k] != theirs[k]][:5]
            bad("%s snapshot %d: tree differs from ntfs-3g (only one side: %s; differ: %s)" %
                (name, n, only, diff))
        os.unlink(snap)
    return vsstest.summary()


if __name__ == "__main__":
    sys.exit(main())
