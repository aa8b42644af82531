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
 (b3) generated images (MANIFESTs of testimages/ and tests/audit/): with
      -s N every file's user.vss.status/lost/provenance equal vssinfo
      --audit --json and the manifest's lost ranges, inodes equal the MFT
      records of vssinfo --ls, $Secure is empty; --strict: files with lost
      bytes fail with EIO, their preserved ranges equal vssinfo --file; raw
      --strict against --map/--extract; -s all: vss1..vssN and live, inodes
      unique across trees, files equal vssinfo --file.
 Inode numbers of -s N also equal fls's records on the real images.
 Writes are refused; bad input fails before mounting; unmount is clean.
Prints "ok ..." / "FAIL ..." lines.
Usage: vssmount_check.py VSSMOUNT VSSINFO IMAGEDIR WORKDIR [MANIFEST...]
(IMAGEDIR "-": no real images)
"""
import errno
import hashlib
import json
import os
import random
import subprocess
import sys
import time

from vsstest import REAL_GROUPS, bad, fls_records, ok, real_group, run, \
    snapshots_to_check

VSSMOUNT, VSSINFO, IMAGES, WORK = sys.argv[1:5]
MANIFESTS = sys.argv[5:]
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
    for n in snapshots_to_check(count):
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


def fls_tree(raw, sector=None):
    data, dirs, anyname = {}, set(), set()
    for name, addr, mode, size, _ in fls_records(raw, sector):
        anyname.add(name.split(":")[0] if ":" in name.rsplit("/", 1)[-1]
                    else name)
        typ = addr.split("-")
        if mode.startswith("d/d"):
            if ":" not in name.rsplit("/", 1)[-1]:
                dirs.add(name)
        elif len(typ) >= 2 and typ[1] == "128":
            data[name] = (addr, size)
    return data, dirs, anyname


def check_tree(group, n, rawmnt, mnt, tree_no=0, what=None):
    """The tree at mnt against fls/icat on the raw vssN of rawmnt (n
    "live": on the live volume in the image). tree_no: the tree's number
    in the inodes (0 with -s N)."""
    label, imgs, opts, _, _ = group
    if n == "live":
        raw, sector = imgs[0], real_group(label).volume_offset // 512
        icat = ["icat", "-o", str(sector), raw]
    else:
        raw, sector = os.path.join(rawmnt, "vss%d" % n), None
        icat = ["icat", raw]
    what = what or "-s %s" % n
    data, dirs, anyname = fls_tree(raw, sector)
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
        ok("%s %s: same %d directories and %d data streams as fls" % (
            label, what, len(dirs), len(data)))
    else:
        bad("%s %s: tree differs: dirs only fls %s only mount %s; files "
            "only fls %s only mount %s" % (
                label, what, sorted(dirs - got_dirs)[:4],
                sorted(got_dirs - dirs)[:4], sorted(missing)[:4],
                sorted(extra)[:4]))
    sizes_bad = [p for p in data if p in got_files and
                 got_files[p] != data[p][1]]
    # Inode numbers are fls's MFT record numbers ($MFT: 2^48-1; a named
    # stream: its record with the stream's ordinal in bits 48-55).
    ino_bad = []
    for p, (addr, _) in data.items():
        if p not in got_files:
            continue
        ino = os.lstat(os.path.join(mnt, p)).st_ino
        rec = int(addr.split("-")[0])
        if ino >> 56 != tree_no:
            good = False
        elif ":" in p.rsplit("/", 1)[-1]:
            good = ino & ((1 << 48) - 1) == rec and 0 < (ino >> 48) & 255
        else:
            good = ino & ((1 << 56) - 1) == (rec or (0 if tree_no else
                                                     (1 << 48) - 1))
        if not good:
            ino_bad.append((p, ino, addr))
    if ino_bad:
        bad("%s %s: inodes differ from fls's records: %s" % (
            label, what, ino_bad[:4]))
    else:
        ok("%s %s: the inodes of %d data streams are fls's MFT records "
           "(tree %d)" % (label, what, len(data), tree_no))
    hashed = 0
    content_bad = []
    for p, (addr, size) in sorted(data.items()):
        if p not in got_files or size > CAP:
            continue
        a = hashlib.sha256(run(icat + [addr]).stdout).hexdigest()
        try:
            b = sha_file(os.path.join(mnt, p))
        except OSError as e:
            b = str(e)
        hashed += 1
        if a != b:
            content_bad.append(p)
    if sizes_bad or content_bad:
        bad("%s %s: sizes differ %s, content differs %s" % (
            label, what, sizes_bad[:4], content_bad[:4]))
    else:
        ok("%s %s: sizes equal, %d files up to %d bytes hash equal to "
           "icat" % (label, what, hashed, CAP))


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


# ---- generated images: what the snapshot did not preserve -----------------

XATTRS = ["user.vss.status", "user.vss.lost", "user.vss.provenance"]
INO_MFT = (1 << 48) - 1


def merge(ranges):
    out = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def xattrs(path):
    try:
        return {n: os.getxattr(path, n).decode() for n in os.listxattr(path)}
    except OSError as e:
        return {"error": str(e)}


def want_xattrs(f):
    """The attributes an audited file must carry: vssinfo --audit --json
    (its 'unchanged' is an intact file equal to the live one)."""
    st = "intact" if f["status"] == "unchanged" else f["status"]
    lost = "".join("%d-%d %s %s\n" % (d["offset"], d["end"], d["class"],
                                      d["reason"])
                   for d in f["not_preserved"])
    prov = "".join("%s %d\n" % (c, f["provenance"][c])
                   for c in ("store", "live", "zero", "stale", "none"))
    return {"user.vss.status": st, "user.vss.lost": lost,
            "user.vss.provenance": prov}


def check_real_xattrs(label, n, doc, mnt):
    """Windows-made data: every audited file's attributes equal vssinfo
    --audit --json (on the 2003 image: files whose blocks were not in use,
    stale bytes, 'unverified')."""
    audit = [x for x in doc["snapshots"] if x["snapshot"] == n][0]["files"]
    problems, seen = [], set()
    for f in audit:
        got = xattrs(os.path.join(mnt, f["path"].lstrip("/")))
        if got != want_xattrs(f):
            problems.append("%s: %s, audit %s" % (f["path"], got,
                                                  want_xattrs(f)))
        seen.add(got.get("user.vss.status"))
    if problems:
        bad("%s -s %d: xattrs differ from --audit: %s" % (label, n,
                                                          problems[:3]))
    else:
        ok("%s -s %d: user.vss.* of all %d audited files equal vssinfo "
           "--audit --json (statuses %s)" % (label, n, len(audit),
                                              " ".join(sorted(seen))))


def gen_images(manifest):
    m = json.load(open(manifest))
    base = os.path.dirname(manifest)
    images = [os.path.join(base, i["path"]) for i in m["images"]]
    src = [v for v in m["volumes"] if v["role"] == "source"][0]
    first = images[src["image"]]
    return m, ["-o", str(src["offset"]), first] + [p for p in images
                                                   if p != first]


def check_gen_xattrs(name, m, s, doc, mnt):
    """-s N: every audited file's attributes equal the audit's and the
    manifest's (zero_ranges on 0x400 volumes, live_ranges on 0x40)."""
    n = s["index"]
    key = "zero_ranges" if s["catalog_flags"] & 0x400 else "live_ranges"
    audit = [x for x in doc["snapshots"] if x["snapshot"] == n][0]["files"]
    manifest = {f["path"]: f for f in s["files"]}
    problems, lost_files = [], 0
    for f in audit:
        path = os.path.join(mnt, f["path"].lstrip("/"))
        got, want = xattrs(path), want_xattrs(f)
        if got != want:
            problems.append("%s: %s, audit %s" % (f["path"], got, want))
            continue
        w = manifest.get(f["path"])
        if w is None:
            continue
        exp = merge(tuple(x) for x in w.get(key, []))
        lines = [ln.split() for ln in got["user.vss.lost"].splitlines()]
        have = merge((int(a.split("-")[0]), int(a.split("-")[1]))
                     for a, _, _ in lines)
        classes = {c for _, c, _ in lines}
        st = ("damaged" if "zero" in classes else "unverified" if classes
              else "resident" if w["resident"] else "intact")
        if have != exp or got["user.vss.status"] != st:
            problems.append("%s: lost %s status %s, manifest %s %s (%s)" % (
                f["path"], have, got["user.vss.status"], key, exp, st))
        lost_files += bool(exp)
    if problems:
        bad("%s -s %d: xattrs differ: %s" % (name, n, problems[:3]))
    else:
        ok("%s -s %d: user.vss.status/lost/provenance of all %d audited "
           "files equal vssinfo --audit --json and the manifest (%d with "
           "%s)" % (name, n, len(audit), lost_files, key))
    # Directories carry their status; listxattr lists what getxattr gives.
    d = os.path.join(mnt, "Users")
    if xattrs(d).get("user.vss.status") in ("intact", "damaged",
                                           "unverified") and \
            len(xattrs(d)) == 1:
        ok("%s -s %d: a directory lists user.vss.status only" % (name, n))
    else:
        bad("%s -s %d: directory xattrs %s" % (name, n, xattrs(d)))


def check_gen_inodes(name, imgs, n, mnt):
    """-s N: inode numbers are the MFT records vssinfo --ls gives; named
    streams carry their ordinal in bits 48-55; $MFT is 2^48-1."""
    ls = json.loads(run([VSSINFO, "--ls", str(n), "-r", "--json"] +
                        imgs).stdout)
    problems, ords = [], {}
    for e in ls["entries"]:
        try:
            ino = os.lstat(os.path.join(mnt, e["path"])).st_ino
        except OSError as x:
            problems.append("%s: %s" % (e["path"], x))
            continue
        if e["type"] == "stream":
            base = e["path"].split(":")[0]
            ords.setdefault(base, 0)
            ords[base] += 1
            want = (ords[base] << 48) | e["record"]
        else:
            want = e["record"] or INO_MFT
        if ino != want:
            problems.append("%s: inode %d, want %d" % (e["path"], ino, want))
    if problems:
        bad("%s -s %d: inodes differ from --ls records: %s" % (
            name, n, problems[:4]))
    else:
        ok("%s -s %d: the inodes of all %d entries are their --ls MFT "
           "records (streams: ordinal << 48; $MFT 2^48-1)" % (
               name, n, len(ls["entries"])))


def file_bytes(imgs, spec):
    r = run([VSSINFO, "--file", spec] + imgs)
    return r.stdout if r.returncode == 0 else None


def check_gen_strict(name, imgs, s, doc, mnt):
    """--strict -s N: a file with lost bytes cannot be read whole (EIO);
    every preserved range reads and equals vssinfo --file; files without
    lost bytes read whole."""
    n = s["index"]
    audit = [x for x in doc["snapshots"] if x["snapshot"] == n][0]["files"]
    problems, lost_files, ranges, whole = [], 0, 0, 0
    for f in audit:
        path = os.path.join(mnt, f["path"].lstrip("/"))
        truth = file_bytes(imgs, "%d:%s" % (n, f["path"]))
        if truth is None:
            problems.append("%s: vssinfo --file failed" % f["path"])
            continue
        lost = merge((d["offset"], d["end"]) for d in f["not_preserved"])
        if not lost:
            try:
                with open(path, "rb") as fh:
                    if fh.read() != truth:
                        problems.append("%s: differs" % f["path"])
                whole += 1
            except OSError as e:
                problems.append("%s: %s" % (f["path"], e))
            continue
        lost_files += 1
        r = run(["cat", path])
        if r.returncode == 0 or b"Input/output error" not in r.stderr:
            problems.append("%s: cat exit %d %r, want EIO" % (
                f["path"], r.returncode, r.stderr[-100:]))
        try:
            with open(path, "rb") as fh:
                fh.read()
            problems.append("%s: read whole despite lost bytes" % f["path"])
        except OSError as e:
            if e.errno != errno.EIO:
                problems.append("%s: %s, want EIO" % (f["path"], e))
        keep, pos = [], 0
        for a, b in lost:
            if a > pos:
                keep.append((pos, a))
            pos = b
        if pos < f["size"]:
            keep.append((pos, f["size"]))
        with open(path, "rb", buffering=0) as fh:
            for a, b in keep:
                try:
                    fh.seek(a)
                    got = b""
                    while len(got) < b - a:
                        chunk = fh.read(b - a - len(got))
                        if not chunk:
                            break
                        got += chunk
                    if got != truth[a:b]:
                        problems.append("%s: bytes %d-%d differ" % (
                            f["path"], a, b))
                    ranges += 1
                except OSError as e:
                    problems.append("%s: bytes %d-%d: %s" % (f["path"], a,
                                                             b, e))
            for a, b in lost:   # one byte inside each lost range fails
                try:
                    fh.seek(a)
                    fh.read(1)
                    problems.append("%s: byte %d read" % (f["path"], a))
                except OSError as e:
                    if e.errno != errno.EIO:
                        problems.append("%s: byte %d: %s" % (f["path"], a,
                                                             e))
    if problems or not lost_files:
        bad("%s --strict -s %d: %s" % (name, n, problems[:3] or
                                        "no file with lost bytes to test"))
    else:
        ok("%s --strict -s %d: %d files with lost bytes fail with EIO (cat, "
           "read), their "
           "%d preserved ranges read and equal vssinfo --file; %d others "
           "read whole" % (name, n, lost_files, ranges, whole))


def check_gen_raw_strict(name, imgs, s, mnt):
    """--strict raw mode: reads in zero/stale runs of --map fail with EIO,
    reads in store/live runs equal --extract; user.vss.provenance sums the
    runs by class."""
    n = s["index"]
    doc = json.loads(run([VSSINFO, "--map", str(n), "--json"] +
                         imgs).stdout)
    path = os.path.join(mnt, "vss%d" % n)
    sums = {c: 0 for c in ("store", "live", "zero", "stale", "none")}
    for r in doc["runs"]:
        sums[r["class"]] += r["length"]
    want = "".join("%s %d\n" % (c, sums[c]) for c in sums)
    got = xattrs(path).get("user.vss.provenance")
    same_prov = got == want
    problems, tested = [], 0
    with open(path, "rb", buffering=0) as fh:
        for cls in ("zero", "stale", "store", "live"):
            runs = [r for r in doc["runs"] if r["class"] == cls][:3]
            for r in runs:
                off, ln = r["offset"], min(r["length"], 65536)
                fh.seek(off)
                try:
                    b = fh.read(ln)
                    if cls in ("zero", "stale"):
                        problems.append("vss%d: %s run at %d read" % (
                            n, cls, off))
                    elif b != run([VSSINFO, "--extract", str(n), "--range",
                                   "%d:%d" % (off, ln)] + imgs).stdout:
                        problems.append("vss%d: bytes at %d differ" % (n,
                                                                      off))
                except OSError as e:
                    if cls in ("store", "live") or e.errno != errno.EIO:
                        problems.append("vss%d: %s run at %d: %s" % (
                            n, cls, off, e))
                tested += 1
    if problems or not same_prov:
        bad("%s --strict vss%d: %s; provenance %r, want %r" % (
            name, n, problems[:3], got, want))
    else:
        ok("%s --strict vss%d: %d runs: zero/stale fail with EIO, store/live "
           "equal --extract; user.vss.provenance = --map bytes per class" % (
               name, n, tested))


def check_gen_all(name, m, imgs, mnt):
    """-s all: vss1/..vssN/ and live/; inodes unique across the trees
    (tree number in bits 56-63); files equal vssinfo --file N:PATH."""
    count = len(m["snapshots"])
    want = ["vss%d" % i for i in range(1, count + 1)] + ["live"]
    names = sorted(os.listdir(mnt))
    if names == sorted(want):
        ok("%s -s all: lists %s" % (name, " ".join(want)))
    else:
        bad("%s -s all: lists %s, want %s" % (name, names, want))
        return
    owner, clash, wrong_tree, entries = {}, [], [], 0
    for t, top in enumerate(want, 1):
        for root, dnames, fnames in os.walk(os.path.join(mnt, top)):
            for x in dnames + fnames:
                p = os.path.join(root, x)
                ino = os.lstat(p).st_ino
                entries += 1
                if ino >> 56 != t:
                    wrong_tree.append((p, hex(ino)))
                key = (top, ino & ((1 << 56) - 1))
                if owner.setdefault(ino, key) != key:
                    clash.append(p)
    if clash or wrong_tree:
        bad("%s -s all: inodes shared across trees %s, wrong tree bits %s" %
            (name, clash[:3], wrong_tree[:3]))
    else:
        ok("%s -s all: %d entries, inodes unique across the trees, tree "
           "number in bits 56-63" % (name, entries))
    problems, compared = [], 0
    for tree in want:
        spec = tree[3:] if tree != "live" else "live"
        files = (m["snapshots"][int(spec) - 1]["files"] if spec != "live"
                 else m["snapshots"][-1]["files"])[:4]
        for f in files:
            truth = file_bytes(imgs, "%s:%s" % (spec, f["path"]))
            if truth is None:
                continue  # not on the live volume
            try:
                with open(os.path.join(mnt, tree, f["path"].lstrip("/")),
                          "rb") as fh:
                    got = fh.read()
            except OSError as e:
                got = str(e)
            compared += 1
            if got != truth:
                problems.append("%s%s" % (tree, f["path"]))
    if problems or not compared:
        bad("%s -s all: differ from vssinfo --file: %s" % (name, problems[:4]))
    else:
        ok("%s -s all: %d files of vss1..vss%d and live equal vssinfo --file"
           % (name, compared, count))


def check_generated(manifest, mnt):
    m, imgs = gen_images(manifest)
    name = m["scenario"]
    r = run([VSSINFO, "--audit", "all", "--json", "--no-progress"] + imgs)
    if r.returncode:
        bad("%s: vssinfo --audit failed: %s" % (name, r.stderr[:300]))
        return
    doc = json.loads(r.stdout)
    for s in m["snapshots"]:
        n = s["index"]
        for strict in ([], ["--strict"]):
            err = mount(strict + ["-s", str(n)] + imgs, mnt)
            if err:
                bad("%s %s-s %d: vssmount failed: %s" % (
                    name, " ".join(strict + [""]), n, err))
                continue
            try:
                if strict:
                    check_gen_strict(name, imgs, s, doc, mnt)
                else:
                    check_gen_xattrs(name, m, s, doc, mnt)
                    check_gen_inodes(name, imgs, n, mnt)
                    check_secure(name, n, mnt)
            finally:
                if not umount(mnt):
                    bad("%s -s %d: fusermount3 -u failed" % (name, n))
    err = mount(["--strict"] + imgs, mnt)
    if err:
        bad("%s --strict (raw): vssmount failed: %s" % (name, err))
    else:
        try:
            for s in m["snapshots"]:
                check_gen_raw_strict(name, imgs, s, mnt)
        finally:
            umount(mnt)
    err = mount(["-s", "all"] + imgs, mnt)
    if err:
        bad("%s -s all: vssmount failed: %s" % (name, err))
    else:
        try:
            check_gen_all(name, m, imgs, mnt)
        finally:
            if not umount(mnt):
                bad("%s -s all: fusermount3 -u failed" % name)


def check_secure(name, n, mnt):
    """$Secure has no unnamed $DATA: an empty file that reads empty."""
    p = os.path.join(mnt, "$Secure")
    try:
        size = os.path.getsize(p)
        with open(p, "rb") as fh:
            data = fh.read()
        if size == 0 and data == b"":
            ok("%s -s %d: $Secure is 0 bytes and reads empty" % (name, n))
        else:
            bad("%s -s %d: $Secure size %d, read %d bytes" % (name, n, size,
                                                             len(data)))
    except OSError as e:
        bad("%s -s %d: $Secure: %s" % (name, n, e))


def main():
    mnt = os.path.join(WORK, "mnt")
    tmnt = os.path.join(WORK, "tree")
    os.makedirs(mnt, exist_ok=True)
    os.makedirs(tmnt, exist_ok=True)
    for manifest in MANIFESTS:
        check_generated(os.path.abspath(manifest), mnt)
    if IMAGES == "-":
        return
    os.chdir(IMAGES)
    check_errors(mnt)
    for g in GROUPS:
        label, imgs, opts, count, _ = g
        err = mount(opts + imgs, mnt)
        if err:
            bad("%s: vssmount failed: %s" % (label, err))
            continue
        audit = None
        if label == "vss_2003":  # small enough to audit in seconds
            audit = json.loads(run([VSSINFO, "--audit", "all", "--json",
                                    "--no-progress", "--hash", "md5"] +
                                   opts + imgs).stdout)
        try:
            check_raw(g, mnt)
            for n in snapshots_to_check(count):
                err = mount(["-s", str(n)] + opts + imgs, tmnt)
                if err:
                    bad("%s -s %d: vssmount failed: %s" % (label, n, err))
                    continue
                try:
                    check_tree(g, n, mnt, tmnt)
                    if audit:
                        check_real_xattrs(label, n, audit, tmnt)
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
            # -s all: every snapshot's tree and the live volume's; the
            # oldest and the live one against fls (tree numbers 1, N+1).
            err = mount(["-s", "all"] + opts + imgs, tmnt)
            if err:
                bad("%s -s all: vssmount failed: %s" % (label, err))
            else:
                try:
                    want = ["vss%d" % i for i in range(1, count + 1)]
                    got = sorted(os.listdir(tmnt))
                    if got == sorted(want + ["live"]):
                        ok("%s -s all: lists %s live" % (label,
                                                         " ".join(want)))
                    else:
                        bad("%s -s all: lists %s" % (label, got))
                    check_tree(g, 1, mnt, os.path.join(tmnt, "vss1"), 1,
                               "-s all vss1/")
                    check_tree(g, "live", mnt, os.path.join(tmnt, "live"),
                               count + 1, "-s all live/")
                finally:
                    if not umount(tmnt):
                        bad("%s -s all: fusermount3 -u failed" % label)
        finally:
            if umount(mnt):
                ok("%s: fusermount3 -u unmounts cleanly" % label)
            else:
                bad("%s: fusermount3 -u failed" % label)


main()
print("checker finished", flush=True)
