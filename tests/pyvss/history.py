#!/usr/bin/python3
"""pyvss's Volume.history (vss_history_*) against the generator's
manifests and vssinfo --history.

    history.py VSSINFO MANIFEST...

For every file of a manifest's newest snapshot (a sample of 25 per image):
each version's holders are snapshots that list the file, and the SHA-256
pyvss gives a version equals what Windows returns (the manifest's
windows_sha256) in every snapshot holding it; the versions, holders,
statuses, MD5s and undetermined flags equal those of `vssinfo --history
PATH --json` (tests/history_check.py checks that flag against the true
contents).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, manifest_source  # noqa: E402

import pyvss  # noqa: E402


# vssinfo runs without the sanitizer runtime test_pyvss.sh preloads into
# the interpreter in the sanitizer pass (an ASan vssinfo has its own).
VSSINFO_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def main():
    vssinfo, manifests = sys.argv[1], sys.argv[2:]
    for path in manifests:
        m, offset, images = manifest_source(path)
        vol = pyvss.open(*images, offset=offset)
        truth = {}  # (snapshot, path) -> windows_sha256
        for s in m["snapshots"]:
            for f in s["files"]:
                if f.get("windows_sha256") and ":" not in f["path"]:
                    truth[(s["index"], f["path"].lstrip("/"))] = \
                        f["windows_sha256"]
        newest = m["snapshots"][-1]
        files = sorted({f["path"].lstrip("/") for f in newest["files"]
                        if ":" not in f["path"]})[:25]
        probs, cli_probs, versions, compared = [], [], 0, 0
        for p in files:
            h = vol.history(path=p, hashes=["md5", "sha256"])
            versions += len(h.versions)
            for v in h.versions:
                sha = v.streams[0].digests.get("sha256") if v.streams else None
                for snap, hp in v.holders:
                    want = truth.get((snap, hp))
                    compared += bool(snap and want)
                    if snap and want and want != sha:
                        probs.append("%s v%s in %d: %s" % (p, v.record, snap,
                                                           sha))
            r = subprocess.run([vssinfo, "--history", p, "--json", "--hash",
                                "md5,sha256", "-o", str(offset)] + images,
                               capture_output=True, text=True, env=VSSINFO_ENV)
            if r.returncode:
                cli_probs.append("%s: vssinfo exit %d" % (p, r.returncode))
                continue
            doc = json.loads(r.stdout)
            ours = [([s or "live" for s, _ in v.holders], v.status,
                     v.streams[0].digests.get("md5") if v.streams else None,
                     v.undetermined)
                    for v in h.versions]
            cli = [(v["snapshots"], v["status"], v.get("md5"),
                    v["undetermined"])
                   for v in doc["versions"]]
            if ours != cli:
                cli_probs.append("%s: %s != %s" % (p, ours, cli))
        check(compared and not probs,
              "%s: history of %d files (%d versions): every version's "
              "SHA-256 is what Windows returns in each of the %d snapshot "
              "copies holding it%s"
              % (m["scenario"], len(files), versions, compared,
                 "; ".join([""] + probs[:3])))
        check(not cli_probs,
              "%s: the same versions, holders, statuses, MD5s and "
              "undetermined flags as vssinfo --history --json%s"
              % (m["scenario"], "; ".join([""] + cli_probs[:3])))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
