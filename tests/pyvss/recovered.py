#!/usr/bin/python3
"""pyvss's Volume.open_recovered (vss_history_recovered_*) against the
generator's manifests and vssinfo --history.

    recovered.py VSSINFO MANIFEST...

For every file the manifest says lost bytes in some snapshot (zero_ranges,
unnamed streams): each version's verdict (recoverable, why: the reason
for the oldest holder, also when a newer one passes; recovered_from) equals `vssinfo --history PATH --json`'s; a recoverable version reads
(read, readinto, seek, read_at) as the manifest's true content (sha256) of
the snapshot it is recovered from, and as the library's recovered digest;
a refused one raises pyvss.Error carrying the same reason vssinfo gives.
"""
import hashlib
import io
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, manifest_source  # noqa: E402

import pyvss  # noqa: E402

# vssinfo runs without the sanitizer runtime test_pyvss.sh may preload
VSSINFO_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def read_pieces(r):
    """The reader's bytes by readinto in odd-sized pieces after a seek
    back and forth (the file-object path, not read())."""
    r.seek(0, io.SEEK_END)
    end = r.tell()
    r.seek(0)
    out = bytearray()
    buf = bytearray(12345)
    while True:
        n = r.readinto(buf)
        if not n:
            break
        out += buf[:n]
    return end, bytes(out)


def main():
    vssinfo, manifests = sys.argv[1], sys.argv[2:]
    for path in manifests:
        m, offset, images = manifest_source(path)
        vol = pyvss.open(*images, offset=offset)
        truth = {}   # (snapshot, path) -> true content's sha256
        lossy = set()
        for s in m["snapshots"]:
            for f in s["files"]:
                if ":" in f["path"]:
                    continue
                p = f["path"].lstrip("/")
                truth[(s["index"], p)] = f["sha256"]
                if f.get("zero_ranges"):
                    lossy.add(p)
        recovered, refused = [], []
        for p in sorted(lossy):
            r = subprocess.run([vssinfo, "--history", p, "--json", "-o",
                                str(offset)] + images,
                               capture_output=True, text=True,
                               env=VSSINFO_ENV)
            if r.returncode:
                check(False, "%s: vssinfo --history exit %d" %
                      (p, r.returncode))
                continue
            cli = json.loads(r.stdout)["versions"]
            h = vol.history(path=p, hashes=["sha256"])
            check(len(cli) == len(h.versions),
                  "%s: %d versions, vssinfo %d" % (p, len(h.versions),
                                                   len(cli)))
            for i, (v, cv) in enumerate(zip(h.versions, cli)):
                s, cs = v.streams[0], cv["streams"][0]
                what = "%s version %d" % (p, i + 1)
                want_why = cs.get("not_recoverable_because") or ""
                check((s.recoverable, s.why) == (cs["recoverable"], want_why),
                      "%s: recoverable %r (%r), vssinfo %r (%r)"
                      % (what, s.recoverable, s.why, cs["recoverable"],
                         want_why))
                if s.recoverable:
                    k = s.recovered_from
                    check(k == cs["recovered"]["from_snapshot"],
                          "%s: recovered from %s, vssinfo %s"
                          % (what, k, cs["recovered"]["from_snapshot"]))
                    with vol.open_recovered(path=p, version=i) as rf:
                        whole = rf.read()
                        end, pieces = read_pieces(rf)
                        mid = len(whole) // 3
                        at = rf.read_at(mid, 5000)
                        size = rf.size
                        rio = isinstance(rf, io.RawIOBase)
                    got = hashlib.sha256(whole).hexdigest()
                    check(got == truth.get((k, p)) and
                          got == s.recovered_digests["sha256"],
                          "%s: recovered SHA-256 %s, the manifest's true "
                          "content in snapshot %d %s" %
                          (what, got, k, truth.get((k, p))))
                    check(rio and size == end == len(whole) == s.size and
                          pieces == whole and at == whole[mid:mid + 5000],
                          "%s: a RawIOBase (%s); size %d, seek(0, 2) %d, "
                          "read %d bytes; readinto and read_at read the "
                          "same" % (what, rio, size, end, len(whole)))
                    recovered.append(p.rpartition("/")[2])
                else:
                    try:
                        vol.open_recovered(path=p, version=i)
                        check(False, "%s: opened, but not recoverable" % what)
                    except pyvss.Error as e:
                        check(e.code == pyvss.EINVAL and
                              e.recoverable == s.recoverable and
                              e.why == want_why and
                              (not want_why or str(e).endswith(want_why)),
                              "%s: refused (%s): %s; recoverable %r why %r"
                              % (what, e.code_name, e, e.recoverable, e.why))
                    if s.recoverable is False:
                        refused.append(p.rpartition("/")[2])
        print("%s: recovered %s; refused %s" % (m["scenario"], recovered,
                                                refused))
        check(recovered and refused,
              "%s: both kinds seen (%d recovered, %d refused)"
              % (m["scenario"], len(recovered), len(refused)))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
