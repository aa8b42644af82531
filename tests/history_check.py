#!/usr/bin/env python3
"""vssinfo --history against a generated image's manifest (testimages/):
for every file the manifest lists in any snapshot, every snapshot's copy
must be in exactly one version, with the manifest's size and the SHA-256
Windows returns (windows_sha256; when the manifest cannot know it, the
copy must not be called intact), and with a verdict that agrees with the
manifest's lost ranges. Copies with the same content and verdict must be
one version, marked undetermined when its holders' true contents differ; versions must not mix contents, also when folded by content
key (no --hash), and resident files fold by their bytes then. Also: every version's MD5
equals vssinfo --file of its first snapshot, and each run of
--export-versions writes files whose hashes are the manifest's.
Recovery: a stream with lost bytes is recoverable exactly when --audit
vouches for the recovery in one of its holders (recovered_from = the
oldest such, with the audit's reason otherwise), its recovered SHA-256 is
the manifest's true content of that snapshot, and --export-versions
--recover writes that recovered file (and no other) beside its version.

usage: history_check.py VSSINFO MANIFEST WORKDIR  -> "N passed, N failed"
"""
import hashlib
import json
import os
import subprocess
import sys

vssinfo, manifest, work = sys.argv[1:4]
m = json.load(open(manifest))
base = os.path.dirname(manifest)
images = [os.path.join(base, i["path"]) for i in m["images"]]
src = [v for v in m["volumes"] if v["role"] == "source"][0]
first = images[src["image"]]
imgargs = ["-o", str(src["offset"]), first] + [p for p in images if p != first]
name = m["scenario"]
passed = failed = 0
recovered_files = 0

# (snapshot, record, stream) -> the audit's recoverability of that copy
audit = {}
r = subprocess.run([vssinfo, "--audit", "all", "--json", "--hash", "sha256"]
                   + imgargs, capture_output=True, text=True)
for s in json.loads(r.stdout)["snapshots"] if r.stdout else []:
    for f in s.get("files", []):
        stream = f["path"].rpartition("/")[2].partition(":")[2]
        audit[(s["snapshot"], f["record"], stream)] = f


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL %s: %s" % (name, what))


# path -> stream -> snapshot -> manifest entry
truth = {}
for s in m["snapshots"]:
    for f in s["files"]:
        p = f["path"].lstrip("/")
        path, _, stream = p.partition(":")
        truth.setdefault(path, {}).setdefault(stream, {})[s["index"]] = f

for path in sorted(truth):
    r = subprocess.run([vssinfo, "--history", path, "--hash", "md5,sha256",
                        "--json"] + imgargs, capture_output=True, text=True)
    if r.returncode != 0:
        check(False, "%s: exit %d: %s" % (path, r.returncode, r.stderr))
        continue
    h = json.loads(r.stdout)
    versions = h["versions"]
    # the first holder's order is the order of the versions
    firsts = [(v["snapshots"][0] if v["snapshots"][0] != "live" else 10**6)
              for v in versions]
    check(firsts == sorted(firsts), "%s: versions not oldest first" % path)
    for stream, snaps in truth[path].items():
        seen = {}  # version -> set of windows hashes known
        for k, f in snaps.items():
            holding = [v for v in versions if k in v["snapshots"]
                       and any(p == path for p in v["paths"])]
            if len(holding) != 1:
                check(False, "%s:%s snapshot %d in %d versions"
                      % (path, stream, k, len(holding)))
                continue
            v = holding[0]
            st = [x for x in v["streams"] if x["name"] == stream]
            if len(st) != 1:
                check(False, "%s:%s snapshot %d: stream missing"
                      % (path, stream, k))
                continue
            st = st[0]
            ranges = f.get("zero_ranges", f.get("live_ranges", []))
            whash = f["windows_sha256"]
            check(st["size"] == f["size"], "%s:%s snapshot %d: size %d, "
                  "manifest %d" % (path, stream, k, st["size"], f["size"]))
            if whash:
                check(st["sha256"] == whash, "%s:%s snapshot %d: sha256 %s, "
                      "manifest %s" % (path, stream, k, st["sha256"], whash))
            sound = st["status"] in ("intact", "resident")
            if not ranges and f["in_scope"]:
                check(sound, "%s:%s snapshot %d: status %s, but the snapshot "
                      "preserved it all" % (path, stream, k, st["status"]))
                check(st["sha256"] == f["sha256"], "%s:%s snapshot %d: "
                      "content differs from the snapshot's"
                      % (path, stream, k))
            elif ranges or whash != f["sha256"]:
                check(not sound, "%s:%s snapshot %d: status %s, but the "
                      "manifest says bytes were lost"
                      % (path, stream, k, st["status"]))
            seen.setdefault(v["version"], set()).add(
                (st["sha256"], st["status"]))
        # folding: one content and verdict per version, and no two
        # versions of the same file (record) with the same of both
        for ver, contents in seen.items():
            check(len(contents) == 1, "%s:%s version %d mixes contents"
                  % (path, stream, ver))
    # one version is no claim of one content where bytes were lost: a
    # version whose snapshot holders had different true contents must say
    # it is undetermined, and only a version of several holders with bytes
    # not preserved may
    for v in versions:
        true = set()
        for k, p in zip(v["snapshots"], v["paths"]):
            for stream, snaps in truth.get(p.lstrip("/"), {}).items():
                if k in snaps and snaps[k].get("sha256"):
                    true.add((stream, snaps[k]["sha256"]))
        names = {s for s, _ in true}
        differ = len(true) > len(names)
        check(not differ or v["undetermined"], "%s: version %d holds "
              "different true contents %s but is not undetermined"
              % (path, v["version"], sorted(true)))
        check(not v["undetermined"] or (len(v["snapshots"]) > 1 and
                                        v["status"] in ("damaged",
                                                        "unverified")),
              "%s: version %d undetermined with %s, %s" % (
                  path, v["version"], v["snapshots"], v["status"]))
    keys = {}
    for v in versions:
        key = (v["record"], v["sequence"], v["status"],
               tuple((x["name"], x.get("sha256")) for x in v["streams"]))
        check(key not in keys, "%s: versions %s and %d are the same content"
              % (path, keys.get(key), v["version"]))
        keys[key] = v["version"]
    # without digests, copies fold by content key (resident data by its
    # bytes): never two contents in one version, and for a file whose
    # streams are all resident exactly the grouping the digests give
    r = subprocess.run([vssinfo, "--history", path, "--json"] + imgargs,
                       capture_output=True, text=True)
    if r.returncode == 0:
        groups = [set(map(str, v["snapshots"])) for v in versions]
        nk = [set(map(str, v["snapshots"])) for v in
              json.loads(r.stdout)["versions"]]
        check(all(any(g <= h for h in groups) for g in nk),
              "%s: without --hash a version mixes contents" % path)
        if versions and all(x["resident"] for v in versions
                            for x in v["streams"]):
            check(sorted(map(sorted, nk)) == sorted(map(sorted, groups)),
                  "%s (resident): folded as by digests without --hash"
                  % path)
    else:
        check(False, "%s: --history without --hash: exit %d"
              % (path, r.returncode))
    # recovery: the audit's verdict in each holder, the manifest's truth
    recovering = False
    for v in versions:
        for x in v["streams"]:
            if x["recoverable"] is None:
                continue
            holders = [k for k in v["snapshots"] if k != "live"]
            a = [audit.get((k, v["record"], x["name"])) for k in holders]
            if any(y is None for y in a):
                check(False, "%s: version %d: a holder is not in --audit"
                      % (path, v["version"]))
                continue
            yes = [k for k, y in zip(holders, a) if y["recoverable"]]
            what = "%s:%s version %d" % (path, x["name"], v["version"])
            check(x["recoverable"] == bool(yes), "%s: recoverable %s, the "
                  "audit says %s in %s" % (what, x["recoverable"],
                                           [y["recoverable"] for y in a],
                                           holders))
            if not a[0]["recoverable"]:
                check(x.get("not_recoverable_because") ==
                      a[0]["not_recoverable_because"],
                      "%s: reason %r, the audit's %r" % (
                          what, x.get("not_recoverable_because"),
                          a[0]["not_recoverable_because"]))
            if not yes or not x["recoverable"]:
                continue
            recovering = True
            rec = x["recovered"]
            k = yes[0]
            check(rec["from_snapshot"] == k, "%s: recovered from %s, the "
                  "audit's oldest is %d" % (what, rec["from_snapshot"], k))
            true = truth.get(path, {}).get(x["name"], {}).get(k)
            check(true is not None and rec["sha256"] == true["sha256"],
                  "%s: recovered sha256 %s is not the manifest's content "
                  "of snapshot %d" % (what, rec["sha256"], k))
            check(rec["sha256"] == a[holders.index(k)]["recovered_hashes"]
                  ["sha256"], "%s: recovered sha256 is not the audit's"
                  % what)
    if recovering or any(x["recoverable"] is False for v in versions
                         for x in v["streams"]):
        out = os.path.join(work, "rx-" + name + "-" +
                           path.replace("/", "_"))
        os.makedirs(work, exist_ok=True)
        r = subprocess.run([vssinfo, "--history", path, "--export-versions",
                            out, "--recover"] + imgargs,
                           capture_output=True, text=True)
        check(r.returncode == 0, "%s: --export-versions --recover: exit %d "
              "%s" % (path, r.returncode, r.stderr))
        if r.returncode == 0:
            ex = json.load(open(os.path.join(out, "manifest.json")))
            written = sorted(f for f in os.listdir(out) if ".recovered" in f)
            want = []
            for v in ex["versions"]:
                for x in v["streams"]:
                    if not x["recoverable"]:
                        continue
                    f = x["recovered"]["file"]
                    want.append(f)
                    k = x["recovered"]["from_snapshot"]
                    true = truth[path][x["name"]][k]["sha256"]
                    got = hashlib.sha256(
                        open(os.path.join(out, f), "rb").read()).hexdigest()
                    recovered_files += 1
                    check(got == true, "%s: %s is not the manifest's content "
                          "of snapshot %d" % (path, f, k))
                    # sorts with its version: the same NAME.vNN. prefix
                    vn = v["exported"][0].split(".vss")[0].split(".live")[0]
                    check(f.startswith(vn + ".vss%02d." % k) and
                          ".recovered" in f,
                          "%s: %s is not named by snapshot %d beside %s"
                          % (path, f, k, v["exported"][0]))
            check(written == sorted(want), "%s: recovered files %s, the "
                  "manifest names %s" % (path, written, want))
    # every version's MD5 is --file's of its first holder (one per file,
    # the newest version: enough to catch a wrong source)
    for v in versions[-1:] + versions[:1]:
        if v["type"] != "file":
            continue
        for x in v["streams"]:
            spec = "%s:%s%s" % (v["snapshots"][0], v["paths"][0],
                                ":" + x["name"] if x["name"] else "")
            r = subprocess.run([vssinfo, "--file", spec] + imgargs,
                               capture_output=True)
            check(r.returncode == 0 and
                  hashlib.md5(r.stdout).hexdigest() == x["md5"],
                  "%s: version %d stream '%s': --file %s gives another MD5"
                  % (path, v["version"], x["name"], spec))

if recovered_files:
    print("%s: %d recovered files equal the manifest's true content"
          % (name, recovered_files))
print("%d passed, %d failed" % (passed, failed))
