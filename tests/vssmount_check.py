#!/usr/bin/env python3
"""tests/vssmount_check.py — the checks of tests/test_vssmount.sh.

 (b1) raw mode: for every real image (local storage, storage on a second
      image, storage on another partition) vss1..vssN under the mount equal
      `vssinfo --extract N`: the whole volume for vsstest (1 GiB), and for
      the 5-128 GiB ones every store run of --map (the bytes that differ
      from the live volume), the known-answer ranges of the README, the
      first and last MiB and 16 pseudo-random MiB (LIBVSS_FULL_HASH=1
      hashes every volume in full instead: minutes).
 (b2) -s N: the file tree of every snapshot equals fls run on the raw vssN
      file of a second mount (same directories, data streams as FILE:STREAM,
      sizes), and every file up to 8 MiB hashes equal to icat's.
 Writes are refused; bad input fails before mounting; unmount is clean.
Prints "ok ..." / "FAIL ..." lines.
Usage: vssmount_check.py VSSMOUNT VSSINFO IMAGEDIR WORKDIR
"""
import hashlib
import json
import os
import random
import subprocess
import sys
import time

from vsstest import REAL_GROUPS, bad, fls_records, ok, run

VSSMOUNT, VSSINFO, IMAGES, WORK = sys.argv[1:5]
FULL = os.environ.get("LIBVSS_FULL_HASH") == "1"
CAP = 8 << 20
# Ranges of the raw snapshot volumes whose known bytes the README gives.
KNOWN_RANGES = {
    "vss_2003": [],
    "vss_2_stor": [(40 * 4096, 8192)],
    "vss_1_vol+vss_2_stor": [(1837 * 4096, 704512)],
    "vss_3_volstor": [(261856 * 4096, 52272)],
    "vsstest": [(0x18e, 47), (0x3fffffd8, 8)],
}
GROUPS = [(g.label, g.images, g.options, g.snapshots, KNOWN_RANGES[g.label])
          for g in REAL_GROUPS]


def is_mounted(mnt):
    return run(["mountpoint", "-q", mnt]).returncode == 0


def mount(args, mnt):
    r = run([VSSMOUNT] + args + [mnt])
    if r.returncode:
        return r.stderr.decode(errors="replace").strip() or "exit %d" % (
            r.returncode)
    for _ in range(100):
        if is_mounted(mnt):
            return None
        time.sleep(0.05)
    return "not mounted after vssmount returned"


def umount(mnt):
    r = run(["fusermount3", "-u", mnt])
    for _ in range(100):
        if not is_mounted(mnt):
            return r.returncode == 0
        time.sleep(0.05)
    return False


def sha_stream(args):
    h = hashlib.sha256()
    p = subprocess.Popen(args, stdout=subprocess.PIPE)
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        h.update(b)
    p.wait()
    return h.hexdigest() if p.returncode == 0 else "error"


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def check_raw(group, mnt):
    label, imgs, opts, count, known = group
    names = sorted(os.listdir(mnt))
    want = ["vss%d" % i for i in range(1, count + 1)]
    if sorted(names) == sorted(want):
        ok("%s: raw mount lists %s" % (label, " ".join(want)))
    else:
        bad("%s: raw mount lists %s, want %s" % (label, names, want))
        return
    for n in range(1, count + 1):
        path = os.path.join(mnt, "vss%d" % n)
        doc = json.loads(run([VSSINFO, "--map", str(n), "--json"] + opts +
                             imgs).stdout)
        size = doc["volume_size"]
        if os.path.getsize(path) != size:
            bad("%s vss%d: size %d, want %d" % (label, n,
                                               os.path.getsize(path), size))
            continue
        if FULL or size <= (1 << 30) + (1 << 20):
            a = sha_file(path)
            b = sha_stream([VSSINFO, "--extract", str(n)] + opts + imgs)
            if a == b:
                ok("%s vss%d: SHA-256 of all %d bytes equals --extract" % (
                    label, n, size))
            else:
                bad("%s vss%d: SHA-256 differs from --extract" % (label, n))
            continue
        ranges = [(0, 1 << 20), (size - (1 << 20), 1 << 20)] + list(known)
        budget = 64 << 20
        for r in doc["runs"]:
            if "store" in r and budget > 0:
                ln = min(r["length"], budget)
                ranges.append((r["offset"], ln))
                budget -= ln
        rnd = random.Random("%s-%d" % (label, n))
        ranges += [(rnd.randrange(0, size - (1 << 20)) & ~511, 1 << 20)
                   for _ in range(16)]
        diffs = []
        total = 0
        with open(path, "rb") as f:
            for off, ln in ranges:
                f.seek(off)
                a = f.read(ln)
                b = run([VSSINFO, "--extract", str(n), "--range",
                         "%d:%d" % (off, ln)] + opts + imgs).stdout
                total += ln
                if a != b:
                    diffs.append(off)
        if diffs:
            bad("%s vss%d: bytes differ from --extract at offsets %s" % (
                label, n, diffs[:5]))
        else:
            ok("%s vss%d: %d ranges (%d bytes: every store run, known "
               "answers, first/last/random MiB) equal --extract" % (
                   label, n, len(ranges), total))
    # Read-only.
    path = os.path.join(mnt, "vss1")
    try:
        with open(path, "r+b") as f:
            f.write(b"x")
        bad("%s: writing vss1 succeeded" % label)
    except OSError as e:
        if e.errno == 30:  # EROFS
            ok("%s: writing vss1 fails with EROFS" % label)
        else:
            bad("%s: writing vss1 fails with %s, want EROFS" % (label, e))


def fls_tree(raw):
    data, dirs, anyname = {}, set(), set()
    for name, addr, mode, size, _ in fls_records(raw):
        anyname.add(name.split(":")[0] if ":" in name.rsplit("/", 1)[-1]
                    else name)
        typ = addr.split("-")
        if mode.startswith("d/d"):
            if ":" not in name.rsplit("/", 1)[-1]:
                dirs.add(name)
        elif len(typ) >= 2 and typ[1] == "128":
            data[name] = (addr, size)
    return data, dirs, anyname


def check_tree(group, n, rawmnt, mnt):
    label, imgs, opts, _, _ = group
    raw = os.path.join(rawmnt, "vss%d" % n)
    data, dirs, anyname = fls_tree(raw)
    got_dirs, got_files = set(), {}
    for root, dnames, fnames in os.walk(mnt):
        rel = os.path.relpath(root, mnt)
        rel = "" if rel == "." else rel + "/"
        for d in dnames:
            got_dirs.add(rel + d)
        for fn in fnames:
            got_files[rel + fn] = os.path.getsize(os.path.join(root, fn))
    # Files without an unnamed $DATA ($Secure, $Extend/$Quota...) show as
    # empty files; fls names them only through their other attributes.
    extra = {p for p in set(got_files) - set(data)
             if not (got_files[p] == 0 and p in anyname)}
    missing = set(data) - set(got_files)
    if got_dirs == dirs and not extra and not missing:
        ok("%s -s %d: same %d directories and %d data streams as fls" % (
            label, n, len(dirs), len(data)))
    else:
        bad("%s -s %d: tree differs: dirs only fls %s only mount %s; files "
            "only fls %s only mount %s" % (
                label, n, sorted(dirs - got_dirs)[:4],
                sorted(got_dirs - dirs)[:4], sorted(missing)[:4],
                sorted(extra)[:4]))
    sizes_bad = [p for p in data if p in got_files and
                 got_files[p] != data[p][1]]
    hashed = 0
    content_bad = []
    for p, (addr, size) in sorted(data.items()):
        if p not in got_files or size > CAP:
            continue
        a = hashlib.sha256(run(["icat", raw, addr]).stdout).hexdigest()
        try:
            b = sha_file(os.path.join(mnt, p))
        except OSError as e:
            b = str(e)
        hashed += 1
        if a != b:
            content_bad.append(p)
    if sizes_bad or content_bad:
        bad("%s -s %d: sizes differ %s, content differs %s" % (
            label, n, sizes_bad[:4], content_bad[:4]))
    else:
        ok("%s -s %d: sizes equal, %d files up to %d bytes hash equal to "
           "icat" % (label, n, hashed, CAP))


def check_errors(mnt):
    r = run([VSSMOUNT, "no-such-image.raw", mnt])
    if r.returncode == 1 and not is_mounted(mnt) and b"no-such" in r.stderr:
        ok("missing image: exit 1 with a message, nothing mounted")
    else:
        bad("missing image: exit %d, mounted %s, %r" % (
            r.returncode, is_mounted(mnt), r.stderr))
    r = run([VSSMOUNT, "-s", "99", "vsstest.raw", mnt])
    if r.returncode == 2 and not is_mounted(mnt):
        ok("-s 99 on a 2-snapshot volume: exit 2, nothing mounted")
    else:
        bad("-s 99: exit %d, %r" % (r.returncode, r.stderr))
    r = run([VSSMOUNT, "vsstest.raw", os.path.join(WORK, "no-such-dir")])
    if r.returncode == 2:
        ok("missing mount point: exit 2")
    else:
        bad("missing mount point: exit %d" % r.returncode)
    r = run([VSSMOUNT, "vss_1_vol.raw", mnt])
    if r.returncode == 1 and not is_mounted(mnt) and b"storage" in r.stderr:
        ok("redirected volume without its storage image: exit 1, names the "
           "storage")
    else:
        bad("redirected volume without storage: exit %d, %r" % (
            r.returncode, r.stderr))


def main():
    os.chdir(IMAGES)
    mnt = os.path.join(WORK, "mnt")
    tmnt = os.path.join(WORK, "tree")
    os.makedirs(mnt, exist_ok=True)
    os.makedirs(tmnt, exist_ok=True)
    check_errors(mnt)
    for g in GROUPS:
        label, imgs, opts, count, _ = g
        err = mount(opts + imgs, mnt)
        if err:
            bad("%s: vssmount failed: %s" % (label, err))
            continue
        try:
            check_raw(g, mnt)
            for n in range(1, count + 1):
                err = mount(["-s", str(n)] + opts + imgs, tmnt)
                if err:
                    bad("%s -s %d: vssmount failed: %s" % (label, n, err))
                    continue
                try:
                    check_tree(g, n, mnt, tmnt)
                    try:
                        open(os.path.join(tmnt, "new-file"), "wb")
                        bad("%s -s %d: creating a file succeeded" % (label, n))
                    except OSError as e:
                        if e.errno != 30:
                            bad("%s -s %d: create fails with %s, want EROFS"
                                % (label, n, e))
                finally:
                    if not umount(tmnt):
                        bad("%s -s %d: fusermount3 -u failed" % (label, n))
        finally:
            if umount(mnt):
                ok("%s: fusermount3 -u unmounts cleanly" % label)
            else:
                bad("%s: fusermount3 -u failed" % label)


main()
