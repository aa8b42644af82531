#!/usr/bin/env python3
"""tests/files_check.py — the checks of tests/test_files.sh (issue #3).

For every snapshot of every real Windows image:
 (a) `vssinfo --extract N` to a sparse file, then compare what vssinfo sees
     inside snapshot N (--ls -r --json, --file) with what The Sleuth Kit sees
     in the extracted volume (fls -r -p -u -m, icat): the same directories
     and data streams, the same sizes, the same four $STANDARD_INFORMATION
     times, and the same SHA-256 for every data stream up to CAP bytes
     (bigger ones -- $BadClus:$Bad, a 64 MiB $LogFile -- are counted as
     skipped, to keep the run short).
 (c) for every non-resident stream, the damaged byte ranges vssinfo --file
     --json reports equal an independent computation: TSK's runlist
     (istat -r) intersected with the zero/stale runs of `vssinfo --map N`.
     vss_2003 snapshot 1 holds real cases (files written just before the
     snapshot, whose clusters the snapshot's bitmap calls not in use); the
     stderr warning is checked on those too.

Prints "ok ..." / "FAIL ..." lines; test_files.sh counts them.
Usage: files_check.py VSSINFO IMAGEDIR WORKDIR
"""
import hashlib
import json
import os
import re
import sys

from vsstest import REAL_GROUPS, bad, bodyfile_fn_times, fls_records, ok, run

VSSINFO, IMAGES, WORK = sys.argv[1:4]
CAP = int(os.environ.get("LIBVSS_FILES_CAP", 8 << 20))
# (label, image files, extra options, snapshot count): the README's known
# answers (tests/vsstest.py)
GROUPS = [(g.label, g.images, g.options, g.snapshots) for g in REAL_GROUPS]
# Byte offset of the snapshotted volume in the first image.
VOLUME_OFFSET = {g.label: g.volume_offset for g in REAL_GROUPS}


def filetime_to_unix(iso):
    # "2019-06-04T23:43:01.4843750Z" -> whole Unix seconds (as TSK prints)
    import datetime
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)", iso)
    y, mo, d, h, mi, s = map(int, m.groups())
    if y < 1970:
        return 0
    dt = datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def fls_entries(raw):
    """path -> (addr, is_dir, size, (atime, mtime, ctime, crtime))."""
    ents = {}
    for name, addr, mode, size, times in fls_records(raw):
        parts = addr.split("-")
        is_dir = mode.startswith("d/d")
        if not is_dir and (len(parts) < 2 or parts[1] != "128"):
            continue  # index roots ($O, $SDH...) are not data streams
        if is_dir and ":" in name.rsplit("/", 1)[-1]:
            continue  # "dir:$I30"-style index names
        ents[name] = (addr, is_dir, size, times)
    return ents


def our_entries(group, n):
    _, imgs, opts, _ = group
    r = run([VSSINFO, "--ls", str(n), "-r", "--json"] + opts + imgs)
    if r.returncode:
        return None, r.stderr.decode(errors="replace").strip()
    doc = json.loads(r.stdout)
    ents = {}
    for e in doc["entries"]:
        if "error" in e:
            continue
        is_dir = e["type"] == "directory"
        if not is_dir and not e["has_data"]:
            continue
        times = tuple(filetime_to_unix(e[k]) for k in
                      ("accessed", "modified", "mft_changed", "created"))
        ents[e["path"]] = (e["record"], is_dir, e["size"], times)
    return ents, None


def sha(data):
    return hashlib.sha256(data).hexdigest()


def check_tree(group, n, raw):
    label, imgs, opts, _ = group
    tsk = fls_entries(raw)
    ours, err = our_entries(group, n)
    if ours is None:
        bad("%s snapshot %d: vssinfo --ls failed: %s" % (label, n, err))
        return None
    same_names = set(tsk) == set(ours)
    if same_names:
        ok("%s snapshot %d: same %d paths as fls (%d directories)" % (
            label, n, len(ours), sum(1 for v in ours.values() if v[1])))
    else:
        only_t = sorted(set(tsk) - set(ours))[:8]
        only_o = sorted(set(ours) - set(tsk))[:8]
        bad("%s snapshot %d: paths differ: only fls %s, only vssinfo %s" % (
            label, n, only_t, only_o))
    common = sorted(set(tsk) & set(ours))
    size_bad = [p for p in common if not tsk[p][1] and tsk[p][2] != ours[p][2]]
    time_bad = [p for p in common if tsk[p][3] != ours[p][3]]
    if size_bad:
        bad("%s snapshot %d: sizes differ for %s" % (label, n, size_bad[:5]))
    else:
        ok("%s snapshot %d: same sizes" % (label, n))
    if time_bad:
        p = time_bad[0]
        bad("%s snapshot %d: $SI times differ for %d paths, e.g. %s fls %s "
            "vssinfo %s" % (label, n, len(time_bad), p, tsk[p][3], ours[p][3]))
    else:
        ok("%s snapshot %d: same four $STANDARD_INFORMATION times" % (label, n))
    # --bodyfile's "PATH ($FILE_NAME)" lines against fls -m's.
    tsk_fn = bodyfile_fn_times(run(["fls", "-r", "-p", "-u", "-m", "/", raw])
                               .stdout.decode("utf-8", "surrogateescape"))
    our_fn = bodyfile_fn_times(run([VSSINFO, "--ls", str(n), "-r",
                                    "--bodyfile"] + opts + imgs)
                               .stdout.decode("utf-8", "surrogateescape"))
    only_t = sorted(set(tsk_fn) - set(our_fn))
    fn_bad = [p for p in set(tsk_fn) & set(our_fn) if tsk_fn[p] != our_fn[p]]
    if not tsk_fn or only_t or fn_bad:
        p = fn_bad[0] if fn_bad else None
        bad("%s snapshot %d: $FILE_NAME lines: %d from fls, %d missing in "
            "--bodyfile (e.g. %s), %d with other times (e.g. %s: fls %s, "
            "vssinfo %s)" % (label, n, len(tsk_fn), len(only_t), only_t[:3],
                             len(fn_bad), p, tsk_fn.get(p), our_fn.get(p)))
    else:
        ok("%s snapshot %d: --bodyfile gives fls's four $FILE_NAME times for "
           "all %d names" % (label, n, len(tsk_fn)))
    # Content: icat by TSK address vs vssinfo --file by path.
    hashed = skipped = 0
    diffs = []
    for p in common:
        addr, is_dir, size, _ = tsk[p]
        if is_dir:
            continue
        if size > CAP:
            skipped += 1
            continue
        a = run(["icat", raw, addr]).stdout
        b = run([VSSINFO, "--file", "%d:%s" % (n, p)] + opts + imgs)
        if b.returncode or sha(a) != sha(b.stdout) or len(b.stdout) != size:
            diffs.append("%s (%s)" % (p, b.stderr.decode(errors="replace")
                                      .strip()[:200]))
        hashed += 1
    if diffs:
        bad("%s snapshot %d: content differs from icat for %d of %d streams: "
            "%s" % (label, n, len(diffs), hashed, diffs[:4]))
    else:
        ok("%s snapshot %d: SHA-256 of all %d data streams equal icat's "
           "(%d larger than %d bytes skipped)" % (label, n, hashed, skipped,
                                                   CAP))
    return tsk


def runs_of_volume(group, n):
    _, imgs, opts, _ = group
    r = run([VSSINFO, "--map", str(n), "--json"] + opts + imgs)
    doc = json.loads(r.stdout)
    return [x for x in doc["runs"] if x["class"] in ("zero", "stale")]


def istat_runs(raw, addr):
    """(size, init_size, [(start_cluster, length)]) of attribute addr, or
    None when resident or not fully described by the run list."""
    rec, typ, aid = addr.split("-")
    out = run(["istat", "-r", raw, rec]).stdout.decode(errors="replace")
    sec = None
    runs = []
    for line in out.splitlines():
        m = re.match(r"Type: \S+ \((\d+)-(\d+)\)\s+Name: .*?(Resident|"
                     r"Non-Resident)\s+size: (\d+)(?:\s+init_size: (\d+))?",
                     line)
        if m:
            if sec is not None:
                break
            if m.group(1) == typ and m.group(2) == aid:
                if m.group(3) == "Resident":
                    return None
                sec = (int(m.group(4)), int(m.group(5) or m.group(4)))
            continue
        if sec is not None:
            m = re.match(r"\s+Starting address: (\d+), length: (\d+)", line)
            if m:
                runs.append((int(m.group(1)), int(m.group(2))))
            elif line.strip():
                return None  # sparse / filler runs: not comparable here
    if sec is None:
        return None
    return sec[0], sec[1], runs


def expected_damage(size, init, runs, cs, bad_runs):
    limit = min(size, init)
    out = []
    fo = 0
    for start, length in runs:
        vo, ln = start * cs, length * cs
        if fo >= limit:
            break
        ln = min(ln, limit - fo)
        for r in bad_runs:
            a = max(vo, r["offset"])
            b = min(vo + ln, r["offset"] + r["length"])
            if a < b:
                out.append([fo + a - vo, b - a, r["class"], r.get("reason")])
        fo += length * cs
    out.sort()
    merged = []
    for x in out:
        if merged and merged[-1][2:] == x[2:] and \
                merged[-1][0] + merged[-1][1] == x[0]:
            merged[-1][1] += x[1]
        else:
            merged.append(x)
    return merged


def check_damage(group, n, raw, tsk):
    label, imgs, opts, _ = group
    bad_runs = runs_of_volume(group, n)
    cs_m = re.search(r"Cluster Size: (\d+)",
                     run(["fsstat", raw]).stdout.decode(errors="replace"))
    cs = int(cs_m.group(1))
    compared = damaged_files = 0
    diffs = []
    warn_bad = []
    for p, (addr, is_dir, size, _) in sorted(tsk.items()):
        if is_dir or size > (1 << 30):
            continue
        ir = istat_runs(raw, addr)
        if ir is None:
            continue
        want = expected_damage(ir[0], ir[1], ir[2], cs, bad_runs)
        r = run([VSSINFO, "--file", "%d:%s" % (n, p), "--json", "--output",
                 "/dev/null"] + opts + imgs)
        if r.returncode:
            diffs.append("%s: %s" % (p, r.stderr.decode(errors="replace")))
            continue
        got = [[d["offset"], d["length"], d["class"], d["reason"]]
               for d in json.loads(r.stdout)["damaged"]]
        compared += 1
        if got != want:
            diffs.append("%s: got %s want %s" % (p, got[:3], want[:3]))
        if want:
            damaged_files += 1
            # Without --json the same ranges are a warning on stderr.
            w = run([VSSINFO, "--file", "%d:%s" % (n, p), "--output",
                     "/dev/null"] + opts + imgs).stderr.decode(errors="replace")
            for off, ln, cls, reason in want:
                line = "file bytes %d-%d (%d bytes): %s (%s)" % (
                    off, off + ln - 1, ln, cls, reason)
                if line not in w:
                    warn_bad.append("%s: missing '%s'" % (p, line))
    if diffs:
        bad("%s snapshot %d: damaged ranges differ from istat+--map for %d "
            "streams: %s" % (label, n, len(diffs), diffs[:3]))
    else:
        ok("%s snapshot %d: damaged ranges of %d non-resident streams match "
           "istat runlists x --map (%d streams damaged)" % (
               label, n, compared, damaged_files))
    if damaged_files:
        if warn_bad:
            bad("%s snapshot %d: stderr warnings: %s" % (label, n,
                                                         warn_bad[:3]))
        else:
            ok("%s snapshot %d: stderr warning lists every damaged range of "
               "the %d damaged streams" % (label, n, damaged_files))
    return damaged_files


def data_extents(path):
    """[start, end) of the data (non-hole) extents of a sparse file."""
    out = []
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        off = 0
        while off < size:
            try:
                s = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            e = os.lseek(fd, s, os.SEEK_HOLE)
            out.append((s, e))
            off = e
    finally:
        os.close(fd)
    return out


def extract_sparse(group, n, raw):
    """The bytes of snapshot N, as `vssinfo --extract N` gives them, in a
    sparse file -- without reading the 128 GiB of vss_2003 in full. Every
    byte written comes from `vssinfo --extract N --range`; only ranges that
    must read as zeros are left as holes: zero runs of --map, and the parts
    of live/stale runs where the image itself is a hole (reads as zeros)."""
    label, imgs, opts, _ = group
    doc = json.loads(run([VSSINFO, "--map", str(n), "--json"] + opts +
                         imgs).stdout)
    vol = VOLUME_OFFSET[label]
    ext = [(s - vol, e - vol) for s, e in data_extents(imgs[0]) if e > vol]
    want = []
    for r in doc["runs"]:
        off, ln = r["offset"], r["length"]
        if "store" in r:  # store data, or stale data a newer store holds
            want.append((off, off + ln))
        elif "live_offset" in r:
            lo = r["live_offset"]
            for s, e in ext:
                a, b = max(s, lo), min(e, lo + ln)
                if a < b:
                    want.append((off + a - lo, off + b - lo))
    want.sort()
    merged = []
    for a, b in want:
        if merged and a <= merged[-1][1] + (1 << 20):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    with open(raw, "wb") as f:
        f.truncate(doc["volume_size"])
        for a, b in merged:
            b = min(b, doc["volume_size"])
            r = run([VSSINFO, "--extract", str(n), "--range",
                     "%d:%d" % (a, b - a)] + opts + imgs)
            if r.returncode or len(r.stdout) != b - a:
                return "--extract --range %d:%d: %s" % (
                    a, b - a, r.stderr.decode(errors="replace"))
            f.seek(a)
            f.write(r.stdout)
    return None


def main():
    os.chdir(IMAGES)
    total_damaged = 0
    for g in GROUPS:
        label, imgs, opts, count = g
        for n in range(1, count + 1):
            raw = os.path.join(WORK, "snap.raw")
            err = extract_sparse(g, n, raw)
            if err:
                bad("%s: snapshot %d: %s" % (label, n, err))
                continue
            if label == "vsstest" and n == 1:
                # The shortcut above must equal a plain --extract.
                full = os.path.join(WORK, "full.raw")
                run([VSSINFO, "--extract", "1", "--output", full] + imgs)
                h1 = run(["sha256sum", raw]).stdout.split()[0]
                h2 = run(["sha256sum", full]).stdout.split()[0]
                os.unlink(full)
                if h1 == h2:
                    ok("vsstest snapshot 1: sparse extraction by --map ranges "
                       "equals a full --extract")
                else:
                    bad("vsstest snapshot 1: sparse extraction differs from "
                        "a full --extract")
            tsk = check_tree(g, n, raw)
            if tsk is not None:
                total_damaged += check_damage(g, n, raw, tsk)
            os.unlink(raw)
    # The real images must hold at least one damaged file (vss_2003 #1).
    if total_damaged:
        ok("real images: %d streams with not-preserved ranges found and "
           "checked" % total_damaged)
    else:
        bad("no stream with zero/stale ranges found in the real images")


main()
