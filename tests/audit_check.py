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
        damaged = intact = recovered = 0
        for p in sorted(set(got) & set(want)):
            g, w = got[p], want[p]
            exp = merge([tuple(x) for x in w.get(key, [])])
            have = merge([(d["offset"], d["end"]) for d in g["damaged"]])
            if have != exp:
                problems.append("%s: damaged %s, manifest %s %s" %
                                (p, have, key, exp))
                continue
            newer = [d for d in g["damaged"]
                     if d["class"] == "stale" and d.get("store", 0) > n]
            for d in g["damaged"]:
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
            damaged += 1
            if g["status"] != "damaged":
                problems.append("%s: status %s, expected damaged" %
                                (p, g["status"]))
            if g["bytes_lost"] != sum(b - a for a, b in exp):
                problems.append("%s: bytes_lost %d != %d" % (
                    p, g["bytes_lost"], sum(b - a for a, b in exp)))
            live = g["live"]
            if "sha256" in w:
                # the live file holds the true content and its
                # $STANDARD_INFORMATION times say it was not changed since
                # (a rename stamps the MFT change time: not recoverable)
                can = (live["state"] == "same" and "hashes" in live and
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
            ok("%s snapshot %d: %d damaged files with exactly the manifest's "
               "%s, %d intact files with the true hashes, %d recoverable "
               "with the true hashes" % (name, n, damaged, key, intact,
                                         recovered))
    if newer_store_files:
        ok("%s: %d files hold not-in-use blocks a newer store has (stale "
           "from that store; documented difference), hashes = vssinfo "
           "--file" % (name, newer_store_files))

    # CSV and text agree with the JSON.
    r = run([vssinfo, "--audit", "all", "--csv", "--no-progress"] + imgs)
    rows = r.stdout.decode().splitlines()
    import csv
    rd = list(csv.DictReader(rows))
    jrows = [(x["snapshot"], f["path"], f["status"], f["hashes"]["md5"])
             for x in doc["snapshots"] for f in x["files"]]
    crows = [(int(c["snapshot"]), c["path"], c["status"], c["md5"])
             for c in rd]
    if r.returncode == 0 and sorted(jrows) == sorted(crows):
        ok("%s: --csv has the JSON's %d rows (status, MD5)" %
           (name, len(crows)))
    else:
        bad("%s: --csv differs from --json" % name)
    r = run([vssinfo, "--audit", "all", "--no-progress", "--html", html] +
            imgs)
    text = r.stdout.decode()
    summ = doc["summary"]
    line = ("All snapshots: %d files audited: %d intact" %
            (summ["files"], summ["intact"])) if len(doc["snapshots"]) > 1 \
        else ("Snapshot %d: %d files audited" %
              (doc["snapshots"][0]["snapshot"], summ["files"]))
    dam_lines = sum(1 for ln in text.splitlines()
                    if ln.startswith("damaged "))
    if r.returncode == 0 and line in text and dam_lines == summ["damaged"]:
        ok("%s: text report: summary line and %d damaged rows" %
           (name, dam_lines))
    else:
        bad("%s: text report disagrees with JSON (%r, %d damaged rows)" %
            (name, line, dam_lines))
    page = open(html, encoding="utf-8").read() if os.path.exists(html) else ""
    external = re.findall(r'(?:src|href)="(?!#)[^"]*"|url\(|@import|'
                          r'<script|<link', page)
    names = [f["path"] for x in doc["snapshots"] for f in x["files"]
             if f["status"] == "damaged"]
    missing = [p for p in names if p.replace("&", "&amp;") not in page]
    if page.startswith("<!DOCTYPE html>") and not external and \
            "<svg" in page and not missing and page.rstrip().endswith(
                "</html>"):
        ok("%s: HTML report self-contained (no external resource), SVG "
           "provenance strips, all %d damaged files named" %
           (name, len(names)))
    else:
        bad("%s: HTML report: external %s, missing %s" %
            (name, external[:3], missing[:3]))

    # --diff between consecutive snapshots, by the Windows view.
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
        want = set()
        # a rename (same record and sequence) is known to the audit only;
        # the manifest must show the old path gone and the new one come
        renames = {}
        for c in d["changes"]:
            if c["change"].startswith("renamed"):
                renames[c["a"]["path"]] = c["b"]["path"]
        for old, new in renames.items():
            if old in fa and old not in fb and new in fb and new not in fa:
                mod = fa[old]["windows_sha256"] != fb[new]["windows_sha256"]
                want.add(("renamed+modified" if mod else "renamed", new))
        for p in set(fa) | set(fb):
            if p in renames or p in renames.values():
                continue
            if p not in fb:
                want.add(("deleted", p))
            elif p not in fa:
                want.add(("added", p))
            elif fa[p]["windows_sha256"] != fb[p]["windows_sha256"]:
                want.add(("modified", p))
        if got == want:
            ok("%s: --diff %d:%d: %d added, %d deleted, %d modified, %d "
               "renamed as the manifest says" % (
                   name, a["index"], b["index"], d["summary"]["added"],
                   d["summary"]["deleted"], d["summary"]["modified"],
                   d["summary"]["renamed"]))
        else:
            bad("%s: --diff %d:%d: only audit %s, only manifest %s" % (
                name, a["index"], b["index"], sorted(got - want),
                sorted(want - got)))


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
    for label, files, opts, extract, voff in GROUPS:
        imgs = opts + [os.path.join(imgdir, f) for f in files]
        if not all(os.path.exists(os.path.join(imgdir, f)) for f in files):
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
           "intact, %d damaged (%d bytes lost), %d recoverable" % (
               label, len(doc["snapshots"]), s["files"], s["intact"],
               s["damaged"], s["bytes_lost"], s["recoverable"]))
        # every snapshot hash = vssinfo --file (the other read path)
        diffs = []
        count = 0
        for snap in doc["snapshots"]:
            for f in snap["files"]:
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
               "bytes) equal vssinfo --file's" % (label, count, CAP))
        # live hashes = icat on the image itself
        lraw = os.path.join(imgdir, files[0])
        addrs = fls_addrs(lraw, voff // 512)
        diffs = []
        count = 0
        seen = set()
        for snap in doc["snapshots"]:
            for f in snap["files"]:
                lv = f.get("live", {})
                if "hashes" not in lv or lv["path"] in seen:
                    continue
                seen.add(lv["path"])
                a = addrs.get(lv["path"])
                if a is None or lv.get("size", 0) > CAP:
                    continue
                count += 1
                if icat_sha(lraw, a, voff // 512) != lv["hashes"]["sha256"]:
                    diffs.append(lv["path"])
        if diffs:
            bad("%s: live hashes differ from icat for %s" % (label,
                                                               diffs[:4]))
        else:
            ok("%s: SHA-256 of %d live streams equal icat's on the image" %
               (label, count))
        # snapshot hashes = icat on the extracted snapshot
        for n in extract:
            raw = os.path.join(work, "%s-%d.raw" % (label, n))
            x = run([vssinfo, "--extract", str(n), "--output", raw] + imgs)
            if x.returncode:
                bad("%s snapshot %d: --extract failed" % (label, n))
                continue
            addrs = fls_addrs(raw)
            snap = [y for y in doc["snapshots"] if y["snapshot"] == n][0]
            diffs = []
            count = 0
            for f in snap["files"]:
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
                ok("%s snapshot %d: SHA-256 of all %d streams equal icat's on "
                   "the extracted snapshot" % (label, n, count))
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
