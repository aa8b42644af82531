#!/usr/bin/python3
"""pyvss's audit and diff iterators (Volume.audit: vss_audit_*) against the
generator's manifests.

    audit.py MANIFEST...

Audit: every file and stream the manifest lists for a snapshot comes out
of Audit.run() with the SHA-256 of what Windows returns (windows_sha256),
its zero ranges exactly the manifest's zero_ranges and status damaged
exactly then; results arrive snapshot by snapshot. Diff: between each
snapshot and the next, a file of only the newer one is "added", of only
the older one "deleted" (or renamed), one of both "unchanged" when what
Windows returns is the same and "modified" otherwise, "undetermined" (or
"modified" where the true contents differ) when a side has bytes not
preserved, with the digests of
both sides and each side's zero ranges exactly the manifest's. Leaving a
run's loop early cancels it.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, open_manifest  # noqa: E402




def check_audit(m, vol):
    name = m["scenario"]
    results = {}
    order = []
    audit = vol.audit(hashes=["sha256"])
    for r in audit.run():
        results[(r.snapshot, r.file.path)] = r
        order.append(r.snapshot)
    check_audit.total = len(order)
    check(order == sorted(order) and audit.problems == 0,
          "%s: audit of %d snapshots: %d results, snapshot by snapshot, "
          "nothing unreadable" % (name, len(vol), len(order)))
    for s in m["snapshots"]:
        probs = []
        for f in s["files"]:
            r = results.get((s["index"], f["path"]))
            if r is None:
                probs.append("%s missing" % f["path"])
                continue
            if f.get("windows_sha256") and \
                    r.digests["sha256"] != f["windows_sha256"]:
                probs.append("%s: sha256 %s" % (f["path"], r.digests["sha256"]))
            zeros = [[x.offset, x.offset + x.length] for x in r.lost
                     if x.cls == "zero"]
            if zeros != (f.get("zero_ranges") or []):
                probs.append("%s: zero ranges %s" % (f["path"], zeros))
            if (r.status == "damaged") != bool(f.get("zero_ranges")):
                probs.append("%s: status %s" % (f["path"], r.status))
        check(not probs, "%s snapshot %d: the audit's %d files: what Windows "
              "returns, zero ranges and status as the manifest says%s" %
              (name, s["index"], len(s["files"]), "; ".join([""] + probs[:4])))


def check_diff(m, vol):
    name = m["scenario"]
    snaps = m["snapshots"]
    for older, newer in zip(snaps, snaps[1:]):
        a = {f["path"]: f.get("windows_sha256") for f in older["files"]}
        b = {f["path"]: f.get("windows_sha256") for f in newer["files"]}
        true_a = {f["path"]: f.get("sha256") for f in older["files"]}
        true_b = {f["path"]: f.get("sha256") for f in newer["files"]}

        def not_preserved(snap, f):
            return f.get("zero_ranges" if snap["catalog_flags"] & 0x400
                         else "live_ranges") or []
        partial = {f["path"] for s_ in (older, newer) for f in s_["files"]
                   if not_preserved(s_, f)}
        # each side's zero ranges: the manifest's for that snapshot
        zeros_of = {(older["index"], f["path"]): f.get("zero_ranges") or []
                    for f in older["files"]}
        zeros_of.update({(newer["index"], f["path"]):
                         f.get("zero_ranges") or [] for f in newer["files"]})
        seen = {}
        for e in vol.audit().diff(older["index"], newer["index"]):
            for side in (e.a, e.b):
                if side is not None:
                    seen.setdefault(side.path, []).append(e)
        probs = []
        for p in set(a) | set(b):
            kinds = {e.kind for e in seen.get(p, [])}
            if p not in a:
                want = {"added", "renamed", "renamed-modified",
                        "renamed-undetermined"}
            elif p not in b:
                want = {"deleted", "renamed", "renamed-modified",
                        "renamed-undetermined"}
            elif p in partial:
                # bytes not preserved: modified only where preserved
                # bytes differ (tests/audit_check.py compares them), and
                # never against the true contents
                want = {"undetermined"} | (
                    {"modified"} if true_a[p] != true_b[p] else set())
            elif a[p] == b[p]:
                want = {"unchanged"}
            else:
                want = {"modified", "renamed-modified"}
            if not kinds or not kinds <= want:
                probs.append("%s: %s" % (p, sorted(kinds)))
            for e in seen.get(p, []):
                if e.b is not None and e.b.path == p and b.get(p) and \
                        e.digests_b.get("sha256") != b[p]:
                    probs.append("%s: newer side's digest" % p)
                for k, f, ranges, lost, stale in (
                        (older["index"], e.a, e.not_preserved_a, e.lost_a,
                         e.unverified_a),
                        (newer["index"], e.b, e.not_preserved_b, e.lost_b,
                         e.unverified_b)):
                    if f is None or f.path != p:
                        continue
                    zeros = [[x.offset, x.offset + x.length] for x in ranges
                             if x.cls == "zero"]
                    if (k, p) in zeros_of and zeros != zeros_of[(k, p)]:
                        probs.append("%s: snapshot %d's zero ranges %s" %
                                     (p, k, zeros))
                    if sum(x.length for x in ranges if x.cls == "zero") != \
                            lost or sum(x.length for x in ranges
                                        if x.cls == "stale") != stale:
                        probs.append("%s: ranges do not sum to lost_*/"
                                     "unverified_*" % p)
        check(not probs, "%s: diff %d -> %d: %d files added, deleted, "
              "modified or unchanged as the manifest says, each side's "
              "zero ranges (not_preserved_a/_b) the manifest's%s" %
              (name, older["index"], newer["index"], len(set(a) | set(b)),
               "; ".join([""] + probs[:4])))


def check_cancel(vol, total):
    """Leaving the loop after one result: the run stops (the snapshots'
    tallies count far fewer files than a whole run's `total`)."""
    audit = vol.audit(threads=1)
    for _ in audit.run():
        break
    done = sum(s["tally"]["files"] for s in audit.summary()["snapshots"])
    check(audit.problems is not None and done < total / 2,
          "leaving the audit's loop after one result cancels the run "
          "(%d of %d files audited)" % (done, total))


def main():
    biggest = None
    for path in sys.argv[1:]:
        m, vol = open_manifest(path)
        check_audit(m, vol)
        check_diff(m, vol)
        if biggest is None or check_audit.total > biggest[1]:
            biggest = (vol, check_audit.total)
    if biggest is not None:
        check_cancel(*biggest)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
