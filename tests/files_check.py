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
 (b) `vssinfo --ls N -r --bodyfile` against `fls -r -u -m /` of the
     extracted snapshot, and of the live volume: the same lines, field for
     field, but for three differences asserted one by one (see
     check_bodyfile). Files without an unnamed $DATA stream ($Secure):
     `--file N:PATH` is empty with a note naming exactly the named $DATA
     streams fls lists, --ls says size 0, as istat shows no unnamed $DATA.
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

from vsstest import REAL_GROUPS, SAMPLED, SANITIZER_PASS, bad, \
    extract_sparse, fls_records, ok, run, same_sparse_files, \
    snapshots_to_check, streams_to_check

VSSINFO, IMAGES, WORK = (sys.argv[1:4] + [None] * 3)[:3]
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
        return None, None
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
    # Content: icat by TSK address vs vssinfo --file by path. One --file
    # run per stream gives both its bytes (--output) and its damaged
    # ranges (--json), which check_damage compares with istat's runlist.
    hashed = skipped = 0
    diffs = []
    reports = {}
    out = os.path.join(WORK, "file.bin")
    for p in streams_to_check(common):
        addr, is_dir, size, _ = tsk[p]
        if is_dir:
            continue
        if size > CAP:
            skipped += 1
            continue
        a = run(["icat", raw, addr]).stdout
        b = run([VSSINFO, "--file", "%d:%s" % (n, p), "--json", "--force",
                 "--output", out] + opts + imgs)
        got = b""
        if b.returncode == 0:
            reports[p] = json.loads(b.stdout)
            with open(out, "rb") as f:
                got = f.read()
        if b.returncode or sha(a) != sha(got) or len(got) != size:
            diffs.append("%s (%s)" % (p, b.stderr.decode(errors="replace")
                                      .strip()[:200]))
        hashed += 1
    if os.path.exists(out):
        os.unlink(out)
    if diffs:
        bad("%s snapshot %d: content differs from icat for %d of %d streams: "
            "%s" % (label, n, len(diffs), hashed, diffs[:4]))
    else:
        ok("%s snapshot %d: SHA-256 of all %d data streams%s equal icat's "
           "(%d larger than %d bytes skipped)" % (
               label, n, hashed, SAMPLED, skipped, CAP))
    return tsk, reports


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


def check_damage(group, n, raw, tsk, reports):
    """reports: path -> the --file --json report check_tree already has."""
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
        rep = reports.get(p)
        if rep is None and SANITIZER_PASS and not want:
            continue  # undamaged, not in check_tree's sample: plain pass
        if rep is None:
            r = run([VSSINFO, "--file", "%d:%s" % (n, p), "--json",
                     "--output", "/dev/null"] + opts + imgs)
            if r.returncode:
                diffs.append("%s: %s" % (p, r.stderr.decode(
                    errors="replace")))
                continue
            rep = json.loads(r.stdout)
        got = [[d["offset"], d["length"], d["class"], d["reason"]]
               for d in rep["damaged"]]
        compared += 1
        if got != want:
            diffs.append("%s: got %s want %s" % (p, got[:3], want[:3]))
        if want:
            damaged_files += 1
            # Without --json the same ranges are a warning on stderr.
            w = run([VSSINFO, "--file", "%d:%s" % (n, p), "--output",
                     "/dev/null"] + opts + imgs).stderr.decode(errors="replace")
            if "file byte ranges START-END, END exclusive:" not in w:
                warn_bad.append("%s: the warning does not state the range "
                                "convention" % p)
            for off, ln, cls, reason in want:
                # half-open ranges, END exclusive, as the warning says
                line = "file bytes %d-%d (%d bytes): %s (%s)" % (
                    off, off + ln, ln, cls, reason)
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


ORPHANS = re.compile(r"^0\|/\$OrphanFiles\|\d+\|V/V---------\|0\|0\|0\|0\|0\|0\|0$")


def istat_text(raw, rec, cache, sector_offset=None):
    key = (raw, rec)
    if key not in cache:
        args = ["istat"] + (["-o", str(sector_offset)] if sector_offset
                            is not None else []) + [raw, str(rec)]
        cache[key] = run(args).stdout.decode(errors="replace")
    return cache[key]


def short_si_owner_zero(text):
    """istat says the record's $STANDARD_INFORMATION is the 48-byte NTFS 1.x
    form (no owner id field) and its owner id is 0."""
    return (re.search(r"Type: \$STANDARD_INFORMATION \(16-\d+\)\s+Name: N/A"
                      r"\s+Resident\s+size: 48\b", text) is not None and
            re.search(r"^Owner ID: 0$", text, re.M) is not None)


def collation_key(path):
    """NTFS file name collation of each path component (upper-cased UTF-16
    units, then the units as they are): the order of a directory index, so
    a depth-first listing in index order is sorted by this key."""
    key = []
    for comp in path.strip("/").split("/"):
        units = [int.from_bytes(comp.encode("utf-16-le", "surrogatepass")
                                [i:i + 2], "little")
                 for i in range(0, len(comp.encode("utf-16-le",
                                                   "surrogatepass")), 2)]
        up = []
        for u in units:
            c = chr(u) if not 0xd800 <= u <= 0xdfff else ""
            uc = c.upper() if c else ""
            up.append(ord(uc) if len(uc) == 1 and ord(uc) < 0x10000 else u)
        key.append((up, units))
    return key


def body_blocks(lines):
    """Consecutive lines of one MFT record = the lines of one entry."""
    blocks = []
    for line in lines:
        rec = line.split("|")[2].split("-")[0]
        if blocks and blocks[-1][0] == rec:
            blocks[-1][1].append(line)
        else:
            blocks.append((rec, [line]))
    return [tuple(b) for _, b in blocks]


def block_path(block):
    names = [l.split("|")[1] for l in block]
    for n in names:
        if n.endswith(" ($FILE_NAME)"):
            return n[:-len(" ($FILE_NAME)")]
    for l in block:
        f = l.split("|")
        if f[2].count("-") == 0 or f[2].split("-")[1] in ("128", "144") and \
                ":" not in f[1].rsplit("/", 1)[-1]:
            return f[1]
    return names[0].rsplit(":", 1)[0]


EPOCH_FT = 116444736000000000  # 1970-01-01 as FILETIME


def iso_to_filetime(iso):
    """vssinfo's "1601-01-01T00:00:00.0000000Z" -> FILETIME."""
    import datetime
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d{7})Z$", iso)
    y, mo, d, h, mi, sec, frac = map(int, m.groups())
    delta = datetime.datetime(y, mo, d, h, mi, sec) - \
        datetime.datetime(1601, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 10000000 + frac


def tsk_time(ft):
    """What fls prints for a FILETIME: (ft - 1970) in unsigned 64-bit
    arithmetic, / 10^7, truncated to 32 bits -- so a time before 1970 (0 =
    never set) wraps to a date past 2038."""
    return ((ft - EPOCH_FT) % 2 ** 64) // 10000000 % 2 ** 32


def ls_filetimes(ls_json):
    """path -> ($SI times, $FILE_NAME times) as FILETIMEs, in body order
    (accessed, modified, mft_changed, created), from --ls -r --json."""
    keys = ("accessed", "modified", "mft_changed", "created")
    out = {}
    for e in json.loads(ls_json)["entries"]:
        if "error" in e or e["type"] == "stream":
            continue
        fn = e.get("file_name_times")
        out["/" + e["path"]] = (
            tuple(iso_to_filetime(e[k]) for k in keys),
            tuple(iso_to_filetime(fn[k]) for k in keys) if fn else None)
    return out


def check_bodyfile(what, ours_text, fls_text, raw, sector_offset=None,
                   ls_json=None):
    """--bodyfile against fls -r -u -m /. These differences are expected and
    each is asserted exactly, the rest must be equal line for line:
     1. fls adds its virtual "$OrphanFiles" directory line (TSK's invention,
        no such name on the volume);
     2. for records whose $STANDARD_INFORMATION is the short NTFS 1.x form
        (48 bytes: no owner id), fls prints as UID the 4 bytes that follow
        the value in the record (the next attribute's type, 48); istat of
        the same TSK says "Owner ID: 0", which is what vssinfo prints;
     3. order of entries: vssinfo lists each directory in NTFS collation
        order (the in-order walk of its B+tree, as Windows lists it), depth
        first; fls walks the index node by node, an order that depends on
        the tree's shape. The entries' blocks of lines must be the same, and
        ours must be sorted by NTFS collation of the path (computed here);
     4. attributes that an attribute list places in an extension record:
        fls renumbers their ids (its own scheme, e.g. 144-5 for an index root
        that is instance 0 of record 77), vssinfo prints the instance number
        the attribute has in its record; accepted where istat lists an
        $ATTRIBUTE_LIST and the attribute under fls's id;
     5. (with ls_json) a time before 1970: vssinfo prints 0, fls the 32-bit
        wrap of a negative number (FILETIME 0, "never", becomes 2076-11-29):
        accepted where ours is 0 and fls's is tsk_time() of the FILETIME
        --ls --json gives for that path."""
    ours = ours_text.splitlines()
    tsk = fls_text.splitlines()
    orphans = [l for l in tsk if ORPHANS.match(l)]
    rest = [l for l in tsk if l.split("|")[1].startswith("/$OrphanFiles")
            and not ORPHANS.match(l)]
    tsk = [l for l in tsk if not ORPHANS.match(l)]
    if len(orphans) != 1 or rest:
        bad("%s: fls -m: expected exactly the $OrphanFiles line, got %s %s" %
            (what, orphans, rest[:3]))
        return
    cache = {}
    uid_fixed = set()
    pre1970 = 0
    fts = ls_filetimes(ls_json) if ls_json else {}
    relisted = 0
    by_key = {}
    for l in ours:
        f = l.split("|")
        by_key[f[1]] = f
    fixed = []
    for l in tsk:
        f = l.split("|")
        o = by_key.get(f[1])
        if o and o[2] != f[2] and o[2].split("-")[:2] == f[2].split("-")[:2]:
            rec, typ, tid = f[2].split("-")
            it = istat_text(raw, rec, cache, sector_offset)
            if "Type: $ATTRIBUTE_LIST (32-" in it and \
                    re.search(r"\(%s-%s\)" % (typ, tid), it):
                relisted += 1
                f = f[:2] + [o[2]] + f[3:]
        if o and fts and o[7:] != f[7:] and o[:7] == f[:7]:
            is_fn = f[1].endswith(" ($FILE_NAME)")
            base = f[1][:-len(" ($FILE_NAME)")] if is_fn else f[1]
            ft = fts.get(base) or fts.get(base.rsplit(":", 1)[0])
            ft = ft and ft[1 if is_fn else 0]
            if ft and all(a == b or (a == "0" and ft[i] < EPOCH_FT and
                                     int(b) == tsk_time(ft[i]))
                          for i, (a, b) in enumerate(zip(o[7:], f[7:]))):
                pre1970 += 1
                f = f[:7] + o[7:]
        if o and o != f and o[:4] + o[5:] == f[:4] + f[5:] and o[4] == "0":
            rec = f[2].split("-")[0]
            if not short_si_owner_zero(istat_text(raw, rec, cache,
                                                  sector_offset)):
                bad("%s: UID %s (fls) vs 0 (vssinfo) for %s, but istat does "
                    "not show a 48-byte $STANDARD_INFORMATION with owner 0" %
                    (what, f[4], f[1]))
                return
            uid_fixed.add(rec)
            f = f[:4] + ["0"] + f[5:]
        fixed.append("|".join(f))
    tb, ob = body_blocks(fixed), body_blocks(ours)
    if sorted(tb) != sorted(ob):
        only_t = sorted(set(fixed) - set(ours))[:3]
        only_o = sorted(set(ours) - set(fixed))[:3]
        bad("%s: --bodyfile differs from fls -m: only fls %s, only vssinfo "
            "%s (%d vs %d lines)" % (what, only_t, only_o, len(fixed),
                                     len(ours)))
        return
    keys = [collation_key(block_path(b)) for b in ob]
    if keys != sorted(keys):
        i = next(i for i in range(1, len(keys)) if keys[i] < keys[i - 1])
        bad("%s: --bodyfile not in index order at %s after %s" % (
            what, block_path(ob[i]), block_path(ob[i - 1])))
        return
    ok("%s: --bodyfile equals fls -r -u -m / : %d lines, %d entries (%s; "
       "fls's $OrphanFiles line; UID 0 where istat says the short $SI has no "
       "owner: %d records; ids of attribute-list attributes: %d; pre-1970 "
       "times 0, not fls's wrap: %d lines)" % (
           what, len(ours), len(ob),
           "same order" if tb == ob else
           "same lines per entry, entries in collation order, fls's by node",
           len(uid_fixed), relisted, pre1970))


def check_no_unnamed_data(group, n, raw, fls_text):
    """Every non-directory whose fls lines show named $DATA streams but no
    unnamed one ($Secure...): istat agrees there is no unnamed $DATA, --file
    N:PATH is empty (exit 0) with a note naming exactly those streams and
    sizes, --ls gives size 0."""
    label, imgs, opts, _ = group
    entries = {}
    for line in fls_text.splitlines():
        f = line.split("|")
        if len(f) != 11 or f[3].startswith("d/") or \
                f[1].startswith("/$OrphanFiles") or "-128-" not in f[2]:
            continue
        rec = f[2].split("-")[0]
        base = f[1][1:]
        last = base.rsplit("/", 1)[-1]
        e = entries.setdefault(rec, {"named": [], "unnamed": False,
                                     "path": None})
        if ":" in last:
            e["named"].append((base.rsplit(":", 1)[1], int(f[6])))
            e["path"] = base.rsplit(":", 1)[0]
        else:
            e["unnamed"] = True
    cache = {}
    found = 0
    for rec, e in sorted(entries.items()):
        if e["unnamed"] or not e["named"]:
            continue
        found += 1
        p = e["path"]
        it = istat_text(raw, rec, cache)
        if re.search(r"Type: \$DATA \(128-\d+\)\s+Name: N/A", it):
            bad("%s snapshot %d: istat shows an unnamed $DATA in %s" % (
                label, n, p))
            continue
        r = run([VSSINFO, "--file", "%d:%s" % (n, p)] + opts + imgs)
        err = r.stderr.decode(errors="replace")
        want = ["vssinfo:   --file '%d:%s:%s' (%d bytes)" % (n, p, s, z)
                for s, z in e["named"]]
        got = [l for l in err.splitlines() if l.startswith("vssinfo:   ")]
        ls = run([VSSINFO, "--ls", "%d:%s" % (n, p), "--json"] + opts + imgs)
        lsdoc = json.loads(ls.stdout) if ls.returncode == 0 else None
        if (r.returncode or r.stdout or "has no unnamed $DATA stream" not in
                err or sorted(got) != sorted(want) or not lsdoc or
                lsdoc["entries"][0]["size"] != 0):
            bad("%s snapshot %d: --file %s: rc %d, %d bytes, note %s (want "
                "%s), --ls %s" % (label, n, p, r.returncode, len(r.stdout),
                                  got, want, lsdoc and lsdoc["entries"]))
        else:
            ok("%s snapshot %d: --file %s (no unnamed $DATA, per istat) is "
               "empty, size 0, and names its %d streams as fls lists them" %
               (label, n, p, len(want)))
    return found


def main():
    os.chdir(IMAGES)
    total_damaged = no_unnamed = 0
    for g in GROUPS:
        label, imgs, opts, count = g
        for n in snapshots_to_check(count):
            raw = os.path.join(WORK, "snap.raw")
            err = extract_sparse(VSSINFO, imgs, opts, VOLUME_OFFSET[label],
                                 n, raw)
            if err:
                bad("%s: snapshot %d: %s" % (label, n, err))
                continue
            if label == "vsstest" and n == 1:
                # The shortcut above must equal a plain --extract.
                full = os.path.join(WORK, "full.raw")
                x = run([VSSINFO, "--extract", "1", "--output", full] + imgs)
                same = x.returncode == 0 and same_sparse_files(raw, full)
                os.unlink(full)
                if same:
                    ok("vsstest snapshot 1: sparse extraction by --map ranges "
                       "equals a full --extract")
                else:
                    bad("vsstest snapshot 1: sparse extraction differs from "
                        "a full --extract")
            fls_text = run(["fls", "-r", "-u", "-m", "/", raw]).stdout \
                .decode("utf-8", "surrogateescape")
            ours = run([VSSINFO, "--ls", str(n), "-r", "--bodyfile"] + opts +
                       imgs).stdout.decode("utf-8", "surrogateescape")
            check_bodyfile("%s snapshot %d" % (label, n), ours, fls_text, raw)
            no_unnamed += check_no_unnamed_data(g, n, raw, fls_text)
            tsk, reports = check_tree(g, n, raw)
            if tsk is not None:
                total_damaged += check_damage(g, n, raw, tsk, reports)
            os.unlink(raw)
        # The live volume too: fls on the image at the volume's sector.
        sect = VOLUME_OFFSET[label] // 512
        fls_text = run(["fls", "-r", "-u", "-m", "/", "-o", str(sect),
                        imgs[0]]).stdout.decode("utf-8", "surrogateescape")
        ours = run([VSSINFO, "--ls", "live", "-r", "--bodyfile"] + opts +
                   imgs).stdout.decode("utf-8", "surrogateescape")
        check_bodyfile("%s live volume" % label, ours, fls_text, imgs[0],
                       sect)
    if no_unnamed:
        ok("real images: %d files without unnamed $DATA checked" % no_unnamed)
    else:
        bad("no file without unnamed $DATA ($Secure) found in the real images")
    # The real images must hold at least one damaged file (vss_2003 #1).
    if total_damaged:
        ok("real images: %d streams with not-preserved ranges found and "
           "checked" % total_damaged)
    else:
        bad("no stream with zero/stale ranges found in the real images")


if __name__ == "__main__":
    main()
