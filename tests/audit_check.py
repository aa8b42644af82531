#!/usr/bin/env python3
"""tests/audit_check.py — the checks of tests/test_audit.sh (issue #5).

  audit_check.py generated VSSINFO MANIFEST TMPDIR
      vssinfo --audit all on a generated image (testimages/) against its
      manifest, for every snapshot and every file:
      - the audited paths are exactly the manifest's (System Volume
        Information left aside, as the manifest does);
      - the damaged FILE byte ranges are exactly the manifest's zero_ranges
        (catalog flag 0x400) or live_ranges (0x40); no damage elsewhere;
      - each damaged range has the class Windows gives it: zero (0x400) or
        stale live data (0x40) -- or, the one documented difference
        (tests/check_generated.py, docs/format.md), stale from a NEWER
        store: the generator answers a not-in-use block with zeros / live
        data where libvss (like Windows) answers with the newer store's
        copy; those files' hashes are then checked against vssinfo --file
        instead of the manifest's windows_sha256;
      - files without damage: status intact/unchanged/resident and their
        SHA-256 (and MD5) the manifest's true hashes; resident as the
        manifest says;
      - damaged files: SHA-256 as Windows returns them = windows_sha256;
        recoverable exactly when the live file is the same file holding
        the snapshot's true content, and then the recovered SHA-256 and MD5
        are the manifest's true hashes; their differing 16 KiB blocks are
        all null-filled gaps;
      - the CSV and text reports agree with the JSON; the HTML report is
        self-contained and names every damaged file;
      - --diff A:B between consecutive snapshots: added / deleted /
        modified exactly as the manifest's Windows-view hashes say.

  audit_check.py real VSSINFO IMAGEDIR WORKDIR
      the real Windows images: the audit runs to completion on every
      snapshot (with --audit-system: NTFS metadata files too); every
      snapshot hash equals the SHA-256 of vssinfo --file; on the extracted
      snapshots of the smaller images every hash equals TSK icat's; every
      live hash equals icat's on the image itself.

Prints "ok ..." / "FAIL ..." lines and "N passed, N failed".
"""
import hashlib
import json
import os
import re
import sys

import vsstest
from vsstest import bad, ok, run



def merge(ranges):
    out = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [tuple(x) for x in out]


def sha256_of(data):
    return hashlib.sha256(data).hexdigest()


# ---- stale sources, by The Sleuth Kit ---------------------------------------
#
# For every unverified file the audit says what the volume Windows reads its
# stale bytes from (the live volume, or a newer snapshot whose store holds
# them) has at those clusters. TSK says it independently: istat gives the
# snapshot file's clusters (on the extracted snapshot; or, where extracting
# would take minutes, vssinfo --file --json's extents) and the reference
# volume's record (sequence, $STANDARD_INFORMATION times, clusters); blkls
# whether the clusters are allocated there.

TRUST = ["same-file", "same-file-changed", "unknown", "free", "other-file"]


def tsk_time(text, label):
    """The first `label:` time of istat -z UTC output (the
    $STANDARD_INFORMATION one), as 'YYYY-MM-DD HH:MM:SS.fffffffff'."""
    m = re.search(r"^%s:\s+(\S+ \S+)" % re.escape(label), text, re.M)
    return m.group(1) if m else None


def json_time(t):
    """'2014-03-01T08:10:00.0000000Z' in tsk_time's form."""
    day, rest = t.rstrip("Z").split("T")
    hms, _, frac = rest.partition(".")
    return "%s %s.%s" % (day, hms, (frac + "000000000")[:9])


def istat(raw, record, sector_offset=None):
    """(allocated, sequence, text, clusters of the unnamed $DATA) of an
    MFT record, by istat."""
    args = ["istat", "-z", "UTC"]
    if sector_offset is not None:
        args += ["-o", str(sector_offset)]
    r = run(args + [raw, str(record)])
    text = r.stdout.decode(errors="replace")
    m = re.search(r"^Entry: \d+\s+Sequence: (\d+)", text, re.M)
    seq = int(m.group(1)) if m else None
    allocated = "\nAllocated File" in text
    clusters, on = [], False
    for ln in text.splitlines():
        if ln.startswith("Type: "):
            on = ln.startswith("Type: $DATA") and "Name: N/A" in ln and \
                "Non-Resident" in ln
        elif on and re.match(r"^[\d ]+$", ln):
            clusters += [int(x) for x in ln.split()]
    return allocated, seq, text, clusters


def allocated_clusters(raw, clusters, sector_offset=None):
    """Is any of these clusters allocated (blkls -l, one call per run)?"""
    runs = []
    for c in sorted(set(clusters)):
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    for a, b in runs:
        args = ["blkls", "-l", "-e"]
        if sector_offset is not None:
            args += ["-o", str(sector_offset)]
        out = run(args + [raw, "%d-%d" % (a, b)]).stdout.decode()
        if re.search(r"^\d+\|a", out, re.M):
            return True
    return False


def tsk_source(f, created, snap_clusters, cluster, ref_raw, ref_off, d):
    """What TSK says the reference volume holds for stale range d of
    file f (a JSON entry of snapshot created `created`)."""
    alloc, seq, text, ref_clusters = istat(ref_raw, f["record"], ref_off)
    same = alloc and seq == f["sequence"]
    if not f["resident"]:
        idx = range(d["offset"] // cluster, (d["end"] - 1) // cluster + 1)
        if max(idx) >= len(snap_clusters):
            return "?"
        mine = [snap_clusters[i] for i in idx]
        same = same and max(idx) < len(ref_clusters) and \
            all(ref_clusters[i] == snap_clusters[i] for i in idx)
    if same:
        when = json_time(created)
        mod, mftmod = tsk_time(text, "File Modified"), \
            tsk_time(text, "MFT Modified")
        return "same-file" if mod <= when and mftmod <= when else \
            "same-file-changed"
    if f["resident"]:
        return "other-file" if alloc else "free"
    return "other-file" if allocated_clusters(ref_raw, mine, ref_off) \
        else "free"


def check_stale_sources(label, stale_files, snap_clusters_of, ref_of):
    """stale_files: (snapshot, creation time, JSON entry). snap_clusters_of
    (n, f) -> (cluster size, file-order clusters) or None; ref_of(k) -> (raw,
    sector offset) of reference volume k (0 = live) or None when it cannot
    be had cheaply."""
    problems, counts, skipped = [], {}, 0
    for n, created, f in stale_files:
        if f["path"].count(":"):
            skipped += 1    # named streams: istat lists them together
            continue
        sc = snap_clusters_of(n, f)
        worst = None
        for d in f["not_preserved"]:
            if d["class"] != "stale":
                continue
            ref = ref_of(d.get("store", 0))
            if ref is None or sc is None:
                worst = None
                break
            want = tsk_source(f, created, sc[1], sc[0], ref[0], ref[1], d)
            if d["source"] != want:
                problems.append("%d:%s %d-%d: source %s, TSK says %s" % (
                    n, f["path"], d["offset"], d["end"], d["source"], want))
            if worst is None or TRUST.index(want) > TRUST.index(worst):
                worst = want
        if worst is None:
            skipped += 1
            continue
        if f["stale_source"] != worst:
            problems.append("%d:%s: stale_source %s, TSK says %s" % (
                n, f["path"], f["stale_source"], worst))
        counts[worst] = counts.get(worst, 0) + 1
    if problems:
        bad("%s: stale sources differ from TSK: %s" % (label,
                                                        "; ".join(problems[:4])))
    elif counts:
        ok("%s: the stale source of %d unverified files agrees with TSK "
           "(istat, blkls on the reference volume): %s%s" % (
               label, sum(counts.values()),
               ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items())),
               "; %d not checked (named stream or reference volume not "
               "extracted)" % skipped if skipped else ""))
    elif skipped:
        print("skip %s: %d unverified files not checked by TSK" %
              (label, skipped))


# ---- generated images ------------------------------------------------------

def generated(vssinfo, manifest, tmp):
    m = json.load(open(manifest))
    base = os.path.dirname(manifest)
    images = [os.path.join(base, i["path"]) for i in m["images"]]
    src = [v for v in m["volumes"] if v["role"] == "source"][0]
    first = images[src["image"]]
    imgs = ["-o", str(src["offset"]), first] + [p for p in images
                                                if p != first]
    name = m["scenario"]
    html = os.path.join(tmp, name + ".html")
    r = run([vssinfo, "--audit", "all", "--json", "--no-progress"] + imgs)
    if r.returncode:
        bad("%s: vssinfo --audit all --json failed: %s" %
            (name, r.stderr.decode(errors="replace")[:300]))
        return
    doc = json.loads(r.stdout)
    newer_store_files = 0
    stale_files = []
    for s in m["snapshots"]:
        n = s["index"]
        flag400 = bool(s["catalog_flags"] & 0x400)
        key = "zero_ranges" if flag400 else "live_ranges"
        snap = [x for x in doc["snapshots"] if x["snapshot"] == n]
        if len(snap) != 1:
            bad("%s snapshot %d: not in the audit" % (name, n))
            continue
        got = {f["path"]: f for f in snap[0]["files"]
               if not f["path"].startswith("/System Volume Information/")}
        want = {f["path"]: f for f in s["files"]}
        if set(got) == set(want):
            ok("%s snapshot %d: the %d audited files are the manifest's" %
               (name, n, len(want)))
        else:
            bad("%s snapshot %d: files differ: only audit %s, only manifest "
                "%s" % (name, n, sorted(set(got) - set(want)),
                        sorted(set(want) - set(got))))
        problems = []
        damaged = unverified = intact = recovered = 0
        for p in sorted(set(got) & set(want)):
            g, w = got[p], want[p]
            exp = merge([tuple(x) for x in w.get(key, [])])
            have = merge([(d["offset"], d["end"]) for d in g["not_preserved"]])
            if have != exp:
                problems.append("%s: damaged %s, manifest %s %s" %
                                (p, have, key, exp))
                continue
            newer = [d for d in g["not_preserved"]
                     if d["class"] == "stale" and d.get("store", 0) > n]
            for d in g["not_preserved"]:
                if d in newer:
                    continue
                want_cls = "zero" if flag400 else "stale"
                if d["class"] != want_cls or d["reason"] != "not-in-use" or \
                        d.get("store", 0):
                    problems.append("%s: range %d-%d is %s/%s store %s, "
                                    "expected %s/not-in-use" % (
                                        p, d["offset"], d["end"], d["class"],
                                        d["reason"], d.get("store"),
                                        want_cls))
            if g["size"] != w["size"]:
                problems.append("%s: size %d, manifest %d" %
                                (p, g["size"], w["size"]))
            if g["resident"] != w["resident"]:
                problems.append("%s: resident %s, manifest %s" %
                                (p, g["resident"], w["resident"]))
            sha = g["hashes"]["sha256"]
            if newer:
                # documented difference: check against vssinfo --file
                newer_store_files += 1
                f = run([vssinfo, "--file", "%d:%s" % (n, p)] + imgs)
                if sha256_of(f.stdout) != sha:
                    problems.append("%s: SHA-256 %s != vssinfo --file's" %
                                    (p, sha))
            elif w.get("windows_sha256") and sha != w["windows_sha256"]:
                problems.append("%s: SHA-256 %s != manifest windows_sha256 "
                                "%s" % (p, sha, w["windows_sha256"]))
            if not exp:
                intact += 1
                if g["status"] not in ("intact", "unchanged", "resident"):
                    problems.append("%s: status %s without damage" %
                                    (p, g["status"]))
                if g["status"] == "resident" and not w["resident"]:
                    problems.append("%s: resident status, manifest says "
                                    "non-resident" % p)
                if "sha256" in w and (sha != w["sha256"] or
                                      g["hashes"]["md5"] != w["md5"]):
                    problems.append("%s: hashes %s/%s != true %s/%s" % (
                        p, g["hashes"]["md5"], sha, w["md5"], w["sha256"]))
                if g["recoverable"] is not None:
                    problems.append("%s: recoverable set on an intact file" %
                                    p)
                continue
            # zeros are lost for sure (damaged); bytes Windows returns
            # without having preserved them (stale) make a file unverified
            zero = sum(d["length"] for d in g["not_preserved"]
                       if d["class"] == "zero")
            stale = sum(d["length"] for d in g["not_preserved"]
                        if d["class"] == "stale")
            want_status = "damaged" if zero else "unverified"
            if want_status == "damaged":
                damaged += 1
            else:
                unverified += 1
            if g["status"] != want_status:
                problems.append("%s: status %s, expected %s" %
                                (p, g["status"], want_status))
            if g["bytes_lost"] != zero or g["bytes_unverified"] != stale or \
                    zero + stale != sum(b - a for a, b in exp):
                problems.append("%s: bytes_lost %d + bytes_unverified %d != "
                                "%d" % (p, g["bytes_lost"],
                                        g["bytes_unverified"],
                                        sum(b - a for a, b in exp)))
            if bool(stale) != (g["stale_source"] is not None):
                problems.append("%s: stale_source %s with %d stale bytes" %
                                (p, g["stale_source"], stale))
            elif stale:
                stale_files.append((n, s["creation_time"], g))
            live = g["live"]
            if "sha256" in w:
                # the live file holds the true content and its
                # $STANDARD_INFORMATION times say it was not changed since
                # (a rename stamps the MFT change time: not recoverable)
                can = (live["state"] in ("identical", "differs") and
                       "hashes" in live and
                       live["hashes"]["sha256"] == w["sha256"] and
                       live["modified"] <= s["creation_time"] and
                       live["mft_changed"] <= s["creation_time"])
            else:
                can = None  # no truth: only the consistency checks below
            if can is not None and bool(g["recoverable"]) != can:
                problems.append("%s: recoverable %s, expected %s (%s)" % (
                    p, g["recoverable"], can,
                    g.get("not_recoverable_because", "")))
            if g["recoverable"]:
                recovered += 1
                rh = g["recovered_hashes"]
                if "sha256" in w and (rh["sha256"] != w["sha256"] or
                                      rh["md5"] != w["md5"]):
                    problems.append("%s: recovered %s/%s != true %s/%s" % (
                        p, rh["md5"], rh["sha256"], w["md5"], w["sha256"]))
                if rh["sha256"] != live["hashes"]["sha256"]:
                    problems.append("%s: recovered != live" % p)
                kinds = set(b["kind"] for b in g.get("blocks", {})
                            .get("list", []))
                if kinds - {"gap"}:
                    problems.append("%s: recoverable, but its blocks differ "
                                    "as %s" % (p, sorted(kinds)))
            elif g["recovered_hashes"] is not None:
                problems.append("%s: recovered hashes without recovery" % p)
        if problems:
            bad("%s snapshot %d: %s" % (name, n, "; ".join(problems[:6])))
        else:
            ok("%s snapshot %d: %d damaged and %d unverified files with "
               "exactly the manifest's %s, %d intact files with the true "
               "hashes, %d recoverable with the true hashes" % (
                   name, n, damaged, unverified, key, intact, recovered))
    if newer_store_files:
        ok("%s: %d files hold not-in-use blocks a newer store has (stale "
           "from that store; documented difference), hashes = vssinfo "
           "--file" % (name, newer_store_files))

    # Stale sources against TSK on the extracted snapshots and the live
    # volume (the generated volumes are small).
    extracted = {}

    def extract(k):
        if k not in extracted:
            raw = os.path.join(tmp, "%s-%d.raw" % (name, k))
            x = run([vssinfo, "--extract", str(k), "--output", raw] + imgs)
            extracted[k] = raw if x.returncode == 0 else None
        return extracted[k]

    def snap_clusters(n, f):
        raw = extract(n)
        if raw is None:
            return None
        st = run(["fsstat", raw]).stdout.decode()
        cs = int(re.search(r"Cluster Size: (\d+)", st).group(1))
        return cs, istat(raw, f["record"])[3]

    def ref(k):
        if k == 0:
            return first, src["offset"] // 512
        raw = extract(k)
        return (raw, None) if raw else None

    if stale_files:
        check_stale_sources(name, stale_files, snap_clusters, ref)
        for raw in extracted.values():
            if raw:
                os.unlink(raw)

    # CSV and text agree with the JSON.
    r = run([vssinfo, "--audit", "all", "--csv", "--no-progress"] + imgs)
    # "#key,value" records (the report's header) come before the CSV header
    rows = [l for l in r.stdout.decode().splitlines() if not l.startswith("#")]
    import csv
    rd = list(csv.DictReader(rows))
    def json_ranges(f):
        # the one convention: START-END, END exclusive (half-open)
        return ";".join("%d-%d:%s/%s%s" % (
            d["offset"], d["end"], d["class"], d["reason"],
            "/" + d["source"] if d["class"] == "stale" else "")
            for d in f["not_preserved"])
    jrows = [(x["snapshot"], f["path"], f["status"], f["hashes"]["md5"],
              f["bytes_lost"], f["bytes_unverified"], json_ranges(f),
              f["stale_source"] or "", f["live"]["state"])
             for x in doc["snapshots"] for f in x["files"]]
    crows = [(int(c["snapshot"]), c["path"], c["status"], c["md5"],
              int(c["bytes_lost"]), int(c["bytes_unverified"]),
              c["not_preserved_ranges"], c["stale_source"], c["live_state"])
             for c in rd]
    bad_ends = [d for x in doc["snapshots"] for f in x["files"]
                for d in f["not_preserved"]
                if d["end"] - d["offset"] != d["length"]]
    if r.returncode == 0 and sorted(jrows) == sorted(crows) and \
            not bad_ends:
        ok("%s: --csv has the JSON's %d rows (status, MD5, bytes lost and "
           "unverified, half-open ranges, stale source, live state)" %
           (name, len(crows)))
    else:
        bad("%s: --csv differs from --json: %s" % (
            name, sorted(set(crows) ^ set(jrows))[:2] or bad_ends[:2]))
    r = run([vssinfo, "--audit", "all", "--no-progress", "--html", html] +
            imgs)
    text = r.stdout.decode()
    summ = doc["summary"]
    line = ("All snapshots: %d files audited: %d intact" %
            (summ["files"], summ["intact"])) if len(doc["snapshots"]) > 1 \
        else ("Snapshot %d: %d files audited" %
              (doc["snapshots"][0]["snapshot"], summ["files"]))
    rows = [ln.split() for ln in text.splitlines()
            if re.match(r"(intact|unchanged|resident|damaged|unverified|"
                        r"error) +\d+-\d+ ", ln)]
    dam_lines = sum(1 for w in rows if w[0] == "damaged")
    unv_lines = sum(1 for w in rows if w[0] == "unverified")
    # the LIVE column speaks the JSON's live.state words
    text_live = sorted(w[5] for w in rows if w[0] != "error")
    json_live = sorted(f["live"]["state"] for x in doc["snapshots"]
                       for f in x["files"] if f["status"] != "error")
    # range lines "lost|unverified START-END (N bytes)": END exclusive
    text_ranges = sorted((int(a), int(b), int(c)) for a, b, c in re.findall(
        r"^ +(?:lost|unverified) (\d+)-(\d+) \((\d+) bytes\)", text, re.M))
    json_text_ranges = sorted(
        (d["offset"], d["end"], d["length"]) for x in doc["snapshots"]
        for f in x["files"] for d in f["not_preserved"][:8])
    if r.returncode == 0 and line in text and \
            dam_lines == summ["damaged"] and \
            unv_lines == summ["unverified"] and text_live == json_live and \
            text_ranges == json_text_ranges and \
            "END exclusive" in text.splitlines()[0]:
        ok("%s: text report: summary line, %d damaged and %d unverified "
           "rows, the JSON's live states and half-open ranges" %
           (name, dam_lines, unv_lines))
    else:
        bad("%s: text report disagrees with JSON (%r, %d damaged, %d "
            "unverified rows; live %s; ranges %s vs %s)" % (
                name, line, dam_lines, unv_lines, text_live == json_live,
                text_ranges[:2], json_text_ranges[:2]))
    page = open(html, encoding="utf-8").read() if os.path.exists(html) else ""
    external = re.findall(r'(?:src|href)="(?!#)[^"]*"|url\(|@import|'
                          r'<script|<link', page)
    names = [f["path"] for x in doc["snapshots"] for f in x["files"]
             if f["status"] in ("damaged", "unverified")]
    missing = [p for p in names if p.replace("&", "&amp;") not in page]
    missing += ["<code>%d-%d</code>" % (d["offset"], d["end"])
                for x in doc["snapshots"] for f in x["files"]
                for d in f["not_preserved"][:4]
                if "<code>%d-%d</code>" % (d["offset"], d["end"]) not in page]
    missing += ["%s</b>:" % f["stale_source"] for x in doc["snapshots"]
                for f in x["files"] if f["stale_source"] and
                "<b>%s</b>:" % f["stale_source"] not in page]
    if page.startswith("<!DOCTYPE html>") and not external and \
            "<svg" in page and not missing and page.rstrip().endswith(
                "</html>"):
        ok("%s: HTML report self-contained (no external resource), SVG "
           "provenance strips, all %d damaged and unverified files named "
           "with their half-open ranges and stale sources" %
           (name, len(names)))
    else:
        bad("%s: HTML report: external %s, missing %s" %
            (name, external[:3], missing[:3]))

    # --diff between consecutive snapshots, by the Windows view and the
    # manifest's ranges: a file with bytes not preserved on a side is
    # "modified" only when the bytes both sides preserved differ (compared
    # here on vssinfo --file's Windows view, masked by the manifest's
    # ranges), else "undetermined"; and against the true contents, never
    # "modified" where they are equal nor left out (unchanged) where they
    # differ.
    def ranges_of(snap, f):
        key = "zero_ranges" if snap["catalog_flags"] & 0x400 else \
            "live_ranges"
        return f.get(key) or []

    def preserved_differ(sa, pa, sb, pb):
        fa_, fb_ = sa_files[sa["index"]][pa], sa_files[sb["index"]][pb]
        if fa_["size"] != fb_["size"]:
            return True
        ra = run([vssinfo, "--file", "%d:%s" % (sa["index"], pa.lstrip("/")),
                  "--no-progress"] + imgs).stdout
        rb = run([vssinfo, "--file", "%d:%s" % (sb["index"], pb.lstrip("/")),
                  "--no-progress"] + imgs).stdout
        mask = bytearray(len(ra))
        for lo, hi in ranges_of(sa, fa_) + ranges_of(sb, fb_):
            mask[lo:hi] = b"\x01" * (min(hi, len(ra)) - lo)
        return any(x != y for x, y, k in zip(ra, rb, mask) if not k)

    sa_files = {s_["index"]: {f["path"]: f for f in s_["files"]}
                for s_ in m["snapshots"]}
    for a, b in zip(m["snapshots"], m["snapshots"][1:]):
        r = run([vssinfo, "--diff", "%d:%d" % (a["index"], b["index"]),
                 "--json", "--no-progress"] + imgs)
        if r.returncode:
            bad("%s: --diff %d:%d failed" % (name, a["index"], b["index"]))
            continue
        d = json.loads(r.stdout)
        fa = {f["path"]: f for f in a["files"]}
        fb = {f["path"]: f for f in b["files"]}
        sv = "/System Volume Information/"
        got = set()
        for c in d["changes"]:
            p = (c.get("b") or c["a"])["path"]
            if not p.startswith(sv):
                got.add((c["change"], p))

        def content(pa, pb):
            """"" (unchanged), "modified" or "undetermined"; and whether
            that claim contradicts the true contents."""
            x, y = fa[pa], fb[pb]
            partial = bool(ranges_of(a, x) or ranges_of(b, y))
            if not partial:
                kind = "modified" if x["windows_sha256"] != \
                    y["windows_sha256"] else ""
            elif preserved_differ(a, pa, b, pb):
                kind = "modified"
            else:
                kind = "undetermined"
            truly = x["sha256"] != y["sha256"]
            if (kind == "modified") != truly and kind != "undetermined":
                lies.append((pb, kind or "unchanged", "true contents %s" %
                             ("differ" if truly else "equal")))
            return kind
        lies = []
        want = set()
        # a rename (same record and sequence) is known to the audit only;
        # the manifest must show the old path gone and the new one come
        renames = {}
        for c in d["changes"]:
            if c["change"].startswith("renamed"):
                renames[c["a"]["path"]] = c["b"]["path"]
        for old, new in renames.items():
            if old in fa and old not in fb and new in fb and new not in fa:
                k = content(old, new)
                want.add(("renamed+" + k if k else "renamed", new))
        for p in set(fa) | set(fb):
            if p in renames or p in renames.values():
                continue
            if p not in fb:
                want.add(("deleted", p))
            elif p not in fa:
                want.add(("added", p))
            else:
                k = content(p, p)
                if k:
                    want.add((k, p))
        if lies:
            bad("%s: --diff %d:%d: the manifest's true contents contradict "
                "the rule itself: %s" % (name, a["index"], b["index"],
                                         lies[:3]))
        if got == want:
            ok("%s: --diff %d:%d: %d added, %d deleted, %d modified, %d "
               "renamed, %d undetermined as the manifest says (modified "
               "only where preserved bytes differ; never unchanged where the "
               "true contents differ)" % (
                   name, a["index"], b["index"], d["summary"]["added"],
                   d["summary"]["deleted"], d["summary"]["modified"],
                   d["summary"]["renamed"], d["summary"]["undetermined"]))
        else:
            bad("%s: --diff %d:%d: only audit %s, only manifest %s" % (
                name, a["index"], b["index"], sorted(got - want),
                sorted(want - got)))
        check_diff_ranges(name, vssinfo, imgs, d, a["index"], b["index"],
                          doc, tmp)


def check_diff_ranges(name, vssinfo, imgs, d, ia, ib, audit, tmp):
    """--diff IA:IB's not_preserved ranges of each side = the audit's
    not_preserved of the same file in that snapshot (checked above against
    the manifest; the diff does not classify stale sources), their sums =
    the side's bytes_lost / bytes_unverified, and --csv and the text report
    give the same ranges."""
    files = {x["snapshot"]: {f["path"]: f for f in x["files"]}
             for x in audit["snapshots"]}

    def key(r):
        return (r["offset"], r["end"], r["length"], r["class"], r["reason"],
                r.get("store", 0))

    sides, problems = 0, []
    for c in d["changes"]:
        for side, k in (("a", ia), ("b", ib)):
            x = c.get(side)
            if not x:
                continue
            mine = [key(r) for r in x["not_preserved"]]
            ref = files.get(k, {}).get(x["path"])
            if ref is None:
                problems.append((side, x["path"], "not in the audit"))
                continue
            theirs = [key(r) for r in ref["not_preserved"]]
            zero = sum(r[2] for r in mine if r[3] == "zero")
            stale = sum(r[2] for r in mine if r[3] == "stale")
            if mine != theirs or zero != x["bytes_lost"] or \
                    stale != x["bytes_unverified"] or \
                    any(r[1] - r[0] != r[2] for r in mine):
                problems.append((side, x["path"], mine, theirs))
            sides += bool(mine)
    if problems:
        bad("%s: --diff %d:%d: ranges not preserved differ from the "
            "audit's: %s" % (name, ia, ib, problems[:2]))
    else:
        ok("%s: --diff %d:%d: the ranges not preserved of %d sides = the "
           "audit's, summing to their bytes lost and unverified" %
           (name, ia, ib, sides))

    def joined(x):
        return ";".join("%d-%d:%s/%s" % (r["offset"], r["end"], r["class"],
                                         r["reason"])
                        for r in (x or {}).get("not_preserved", ()))
    r = run([vssinfo, "--diff", "%d:%d" % (ia, ib), "--csv",
             "--no-progress"] + imgs)
    rows = [l for l in r.stdout.decode().splitlines() if not l.startswith("#")]
    import csv
    crows = sorted((c["path_a"], c["path_b"], c["not_preserved_a"],
                    c["not_preserved_b"]) for c in csv.DictReader(rows))
    jrows = sorted(((c.get("a") or {}).get("path", ""),
                    (c.get("b") or {}).get("path", ""),
                    joined(c.get("a")), joined(c.get("b")))
                   for c in d["changes"])
    html = os.path.join(tmp, "%s-diff-%d-%d.html" % (name, ia, ib))
    r2 = run([vssinfo, "--diff", "%d:%d" % (ia, ib), "--no-progress",
              "--html", html] + imgs)
    text = r2.stdout.decode()
    page = open(html).read() if os.path.exists(html) else ""
    missing_html = ["<code>%d-%d</code> %s" % (x["offset"], x["end"],
                                               x["class"])
                    for c in d["changes"] for side in ("a", "b")
                    if c.get(side) for x in c[side]["not_preserved"][:4]
                    if "<code>%d-%d</code> %s" % (x["offset"], x["end"],
                                                  x["class"]) not in page]
    want_lines = ["%s: %s %d-%d (%d bytes): %s (%s" % (
        side.upper(), "lost" if x["class"] == "zero" else "unverified",
        x["offset"], x["end"], x["length"], x["class"], x["reason"])
        for c in d["changes"] for side in ("a", "b") if c.get(side)
        for x in c[side]["not_preserved"][:8]]
    missing = [w for w in want_lines if w not in text]
    if r.returncode == 0 and r2.returncode == 0 and crows == jrows and \
            not missing and page and not missing_html:
        ok("%s: --diff %d:%d: --csv, the text report and --html show the "
           "JSON's %d ranges not preserved" % (name, ia, ib, len(want_lines)))
    else:
        bad("%s: --diff %d:%d: --csv/text/--html ranges differ from --json: "
            "%s %s %s" % (name, ia, ib, sorted(set(crows) ^ set(jrows))[:2],
                          missing[:2], missing_html[:2]))


# ---- real images ---------------------------------------------------------------

# Snapshots to extract for TSK. vss_2003's 137 GB volume takes minutes to
# extract: it is checked against --file and (live) icat only.
EXTRACT = {"vsstest": [1, 2], "vss_3_volstor": [1, 2],
           "vss_1_vol+vss_2_stor": [2], "vss_2_stor": [1], "vss_2003": []}
# label, images, options, snapshots to extract, volume offset
GROUPS = [(g.label, g.images, g.options, EXTRACT[g.label], g.volume_offset)
          for g in vsstest.REAL_GROUPS]
CAP = 64 << 20


def fls_addrs(raw, sector_offset=None):
    """"/path" -> the inode address of its $DATA (type 128) stream."""
    addrs = {}
    for name, addr, _, _, _ in vsstest.fls_records(raw, sector_offset):
        parts = addr.split("-")
        if len(parts) < 2 or parts[1] != "128":
            continue
        addrs.setdefault("/" + name, addr)
    return addrs


def icat_sha(raw, addr, sector_offset=None):
    args = ["icat"]
    if sector_offset is not None:
        args += ["-o", str(sector_offset)]
    r = run(args + [raw, addr])
    return sha256_of(r.stdout) if r.returncode == 0 else None


def real(vssinfo, imgdir, work):
    for label, glist, opts, extract, voff in GROUPS:
        imgs = opts + [os.path.join(imgdir, f) for f in glist]
        if not all(os.path.exists(os.path.join(imgdir, f)) for f in glist):
            print("skip %s: images missing" % label)
            continue
        r = run([vssinfo, "--audit", "all", "--audit-system", "--json",
                 "--hash", "md5,sha1,sha256", "--no-progress"] + imgs)
        if r.returncode:
            bad("%s: --audit all failed: %s" %
                (label, r.stderr.decode(errors="replace")[:300]))
            continue
        doc = json.loads(r.stdout)
        s = doc["summary"]
        ok("%s: audit of %d snapshots ran to completion: %d streams, %d "
           "intact, %d damaged (%d bytes lost), %d unverified (%d bytes), "
           "%d recoverable" % (
               label, len(doc["snapshots"]), s["files"], s["intact"],
               s["damaged"], s["bytes_lost"], s["unverified"],
               s["bytes_unverified"], s["recoverable"]))
        # damaged = some bytes read as zeros, nothing else; unverified =
        # stale bytes only. On vss_2003 (no catalog flag 0x400) Windows
        # returns every byte (its hash list): no file may be damaged.
        files = [(x["snapshot"], f) for x in doc["snapshots"]
                 for f in x["files"] if f["status"] != "error"]
        wrong = ["%d:%s %s" % (n, f["path"], f["status"]) for n, f in files
                 if (f["status"] == "damaged") !=
                 any(d["class"] == "zero" for d in f["not_preserved"]) or
                 (f["status"] == "unverified") != (
                     not any(d["class"] == "zero" for d in f["not_preserved"])
                     and any(d["class"] == "stale"
                             for d in f["not_preserved"]))]
        if label == "vss_2003" and s["damaged"]:
            wrong.append("%d damaged files on vss_2003" % s["damaged"])
        if wrong:
            bad("%s: statuses disagree with the classes of the bytes not "
                "preserved: %s" % (label, wrong[:4]))
        else:
            ok("%s: damaged exactly where bytes read as zeros (%d files), "
               "unverified exactly where the only bytes not preserved are "
               "stale (%d files)" % (label, s["damaged"], s["unverified"]))
        # stale sources against TSK on the live volume (the snapshot file's
        # clusters from vssinfo --file --json: extracting snapshots of the
        # 137 GB vss_2003 would take minutes)
        lraw = os.path.join(imgdir, glist[0])
        fs = run(["fsstat", "-o", str(voff // 512), lraw]).stdout.decode()
        mcs = re.search(r"Cluster Size: (\d+)", fs)

        def snap_clusters(n, f):
            out = os.path.join(work, "file.bin")
            x = run([vssinfo, "--file", "%d:%s" % (n, f["path"]), "--output",
                     out, "--json"] + imgs)
            if os.path.exists(out):
                os.unlink(out)
            if x.returncode or not mcs:
                return None
            cs = int(mcs.group(1))
            cl = []
            for e in json.loads(x.stdout)["extents"]:
                n_cl = (e["length"] + cs - 1) // cs
                if e["sparse"] or e["resident"]:
                    cl += [0] * n_cl
                else:
                    cl += [e["volume_offset"] // cs + i for i in range(n_cl)]
            return cs, cl

        stale = [(n, [x for x in doc["snapshots"]
                      if x["snapshot"] == n][0]["creation_time"], f)
                 for n, f in files if f["stale_source"]]
        check_stale_sources(label, stale, snap_clusters,
                            lambda k: (lraw, voff // 512) if k == 0
                            else None)
        # every snapshot hash = vssinfo --file (the other read path)
        diffs = []
        count = 0
        for snap in doc["snapshots"]:
            for f in vsstest.streams_to_check(snap["files"]):
                if f["status"] == "error" or f["size"] > CAP:
                    continue
                spec = "%d:%s" % (snap["snapshot"], f["path"])
                out = run([vssinfo, "--file", spec] + imgs).stdout
                count += 1
                h = f["hashes"]
                if (sha256_of(out) != h["sha256"] or
                        hashlib.md5(out).hexdigest() != h["md5"] or
                        hashlib.sha1(out).hexdigest() != h["sha1"]):
                    diffs.append(spec)
        if diffs:
            bad("%s: %d of %d streams hash differently from vssinfo --file: "
                "%s" % (label, len(diffs), count, diffs[:4]))
        else:
            ok("%s: MD5, SHA-1 and SHA-256 of all %d streams (up to %d "
               "bytes)%s equal vssinfo --file's" % (label, count, CAP,
                                                   vsstest.SAMPLED))
        # live hashes = icat on the image itself
        addrs = fls_addrs(lraw, voff // 512)
        diffs = []
        count = 0
        live = {}
        for snap in doc["snapshots"]:
            for f in snap["files"]:
                lv = f.get("live", {})
                if "hashes" in lv:
                    live.setdefault(lv["path"], lv)
        for path in vsstest.streams_to_check(sorted(live)):
            lv = live[path]
            a = addrs.get(path)
            if a is None or lv.get("size", 0) > CAP:
                continue
            count += 1
            if icat_sha(lraw, a, voff // 512) != lv["hashes"]["sha256"]:
                diffs.append(path)
        if diffs:
            bad("%s: live hashes differ from icat for %s" % (label,
                                                               diffs[:4]))
        else:
            ok("%s: SHA-256 of %d live streams%s equal icat's on the image" %
               (label, count, vsstest.SAMPLED))
        # snapshot hashes = icat on the extracted snapshot
        for n in extract:
            raw = os.path.join(work, "%s-%d.raw" % (label, n))
            err = vsstest.extract_sparse(vssinfo, imgs[len(opts):], opts,
                                         voff, n, raw)
            if err:
                bad("%s snapshot %d: extraction failed: %s" % (label, n, err))
                continue
            addrs = fls_addrs(raw)
            snap = [y for y in doc["snapshots"] if y["snapshot"] == n][0]
            diffs = []
            count = 0
            for f in vsstest.streams_to_check(snap["files"]):
                a = addrs.get(f["path"])
                if f["status"] == "error" or a is None or f["size"] > CAP:
                    continue
                count += 1
                if icat_sha(raw, a) != f["hashes"]["sha256"]:
                    diffs.append(f["path"])
            os.unlink(raw)
            if diffs or not count:
                bad("%s snapshot %d: %d of %d streams differ from icat: %s" %
                    (label, n, len(diffs), count, diffs[:4]))
            else:
                ok("%s snapshot %d: SHA-256 of all %d streams%s equal icat's "
                   "on the extracted snapshot" % (label, n, count,
                                                  vsstest.SAMPLED))
        r = run([vssinfo, "--diff", "1:live", "--json", "--no-progress"] +
                imgs)
        if r.returncode == 0 and "summary" in json.loads(r.stdout):
            d = json.loads(r.stdout)["summary"]
            ok("%s: --diff 1:live: %d added, %d deleted, %d modified, %d "
               "renamed, %d unchanged" % (label, d["added"], d["deleted"],
                                          d["modified"], d["renamed"],
                                          d["unchanged"]))
        else:
            bad("%s: --diff 1:live failed" % label)


def main():
    mode = sys.argv[1]
    if mode == "generated":
        generated(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        real(sys.argv[2], sys.argv[3], sys.argv[4])
    return vsstest.summary()


if __name__ == "__main__":
    sys.exit(main())
