"""vsstest.py — what the python test scripts of tests/ share: the ok/bad
lines tests/run counts, running a command, and the real images of
../shared/testimages/real (their README's known answers: which images
make a group, the options vssinfo needs, how many snapshots, where the
snapshotted volume starts in the first image)."""
import json
import os
import subprocess

from imagehash import data_extents  # noqa: F401  (same_sparse_files, users)

passed = failed = 0


def ok(msg):
    global passed
    passed += 1
    print("ok   " + msg, flush=True)


def bad(msg):
    global failed
    failed += 1
    print("FAIL " + msg, flush=True)


def run(args, **kw):
    """Run args, capturing stdout and stderr (bytes)."""
    return subprocess.run(args, capture_output=True, **kw)


class RealGroup:
    def __init__(self, label, images, options, snapshots, volume_offset):
        self.label = label              # e.g. "vss_1_vol+vss_2_stor"
        self.images = images            # files, the first one snapshotted
        self.options = options          # vssinfo options it needs
        self.snapshots = snapshots      # how many
        self.volume_offset = volume_offset  # bytes, in the first image


REAL_GROUPS = [
    RealGroup("vss_2003", ["vss_2003.raw"], ["-o", "32256"], 6, 32256),
    RealGroup("vss_2_stor", ["vss_2_stor.raw"], [], 1, 34603008),
    RealGroup("vss_1_vol+vss_2_stor", ["vss_1_vol.raw", "vss_2_stor.raw"], [],
              2, 34603008),
    RealGroup("vss_3_volstor", ["vss_3_volstor.raw"], [], 2, 2148532224),
    RealGroup("vsstest", ["vsstest.raw"], [], 2, 0),
]


# The sanitizer pass of the suite (make test-asan) repeats these checks to
# find memory errors, not to re-prove every snapshot: there the first and
# the last snapshot of each image stand for all (the oldest reads through
# every newer store, the newest is the one the shadow copy files are zeros
# in), which keeps every code path and drops vss_2003's four middle ones.
SANITIZER_PASS = os.environ.get("LIBVSS_SANITIZER_PASS") == "1"


def snapshots_to_check(count):
    """The snapshot numbers (1 = oldest) a check of count snapshots runs."""
    if SANITIZER_PASS and count > 2:
        return [1, count]
    return list(range(1, count + 1))


# Per-stream checks that start processes for every stream (vssinfo --file,
# icat, per snapshot) check every stream in the plain pass; the sanitizer
# pass takes every SAMPLE_EVERY-th of the sorted list (plus, where the
# caller says so, every stream with damage): the code paths are the same
# for all streams of a kind, and the plain pass has proved each result.
SAMPLE_EVERY = 4
SAMPLED = (" (the sanitizer pass's sample: 1 in %d)" % SAMPLE_EVERY
           if SANITIZER_PASS else "")


def streams_to_check(items):
    """The items (sorted paths, files...) a per-stream check runs on."""
    items = list(items)
    if SANITIZER_PASS:
        return items[::SAMPLE_EVERY]
    return items


def real_group(label):
    return next(g for g in REAL_GROUPS if g.label == label)


def summary():
    """Print the "N passed, N failed" line; the exit status to return."""
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


def fls_records(raw, sector_offset=None):
    """The Sleuth Kit's recursive listing of raw (fls -r -p -u -m /), the
    independent truth for file trees: (path without its leading "/", inode
    address "REC-TYPE-ID", mode, size, (atime, mtime, ctime, crtime)) for
    each entry, its "($FILE_NAME)" twins and orphan files left out."""
    args = ["fls", "-r", "-p", "-u", "-m", "/"]
    if sector_offset is not None:
        args += ["-o", str(sector_offset)]
    out = run(args + [raw]).stdout.decode("utf-8", "surrogateescape")
    recs = []
    for line in out.splitlines():
        f = line.split("|")
        if len(f) != 11:
            continue
        name = f[1]
        if name.endswith(" ($FILE_NAME)") or name.startswith("/$OrphanFiles"):
            continue
        recs.append((name[1:], f[2], f[3], int(f[6]),
                     tuple(int(x) for x in f[7:11])))
    return recs


def same_sparse_files(a, b):
    """Do files a and b hold the same bytes? Reads only the data extents of
    either (a hole reads as zeros), not the whole of two sparse volumes."""
    if os.path.getsize(a) != os.path.getsize(b):
        return False
    ranges = sorted(data_extents(a) + data_extents(b))
    with open(a, "rb") as fa, open(b, "rb") as fb:
        for start, end in ranges:
            fa.seek(start)
            fb.seek(start)
            while start < end:
                n = min(end - start, 1 << 24)
                if fa.read(n) != fb.read(n):
                    return False
                start += n
    return True


def extract_sparse(vssinfo, images, options, volume_offset, n, raw):
    """The bytes of snapshot N, as `vssinfo --extract N` gives them, in the
    sparse file raw -- without reading a whole volume (the 128 GiB of
    vss_2003, the 5 GiB ones: a full --extract of each took 8-14 s of CPU
    to find their zeros). Every byte written comes from `vssinfo --extract
    N --range`; only ranges that must read as zeros are left as holes: zero
    runs of --map, and the parts of live/stale runs where the first image
    (the snapshotted volume, at volume_offset) is itself a hole. Returns
    None, or what failed. tests/files_check.py checks that this equals a
    plain --extract (vsstest snapshot 1)."""
    doc = json.loads(run([vssinfo, "--map", str(n), "--json"] + options +
                         images).stdout)
    ext = [(s - volume_offset, e - volume_offset)
           for s, e in data_extents(images[0]) if e > volume_offset]
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
            r = run([vssinfo, "--extract", str(n), "--range",
                     "%d:%d" % (a, b - a)] + options + images)
            if r.returncode or len(r.stdout) != b - a:
                return "--extract --range %d:%d: %s" % (
                    a, b - a, r.stderr.decode(errors="replace"))
            f.seek(a)
            f.write(r.stdout)
    return None


if __name__ == "__main__":
    # vsstest.py extract VSSINFO IMAGEDIR LABEL N OUTPUT: extract_sparse of
    # snapshot N of a real group (for the shell scripts).
    import sys
    if len(sys.argv) != 7 or sys.argv[1] != "extract":
        sys.exit("usage: vsstest.py extract VSSINFO IMAGEDIR LABEL N OUTPUT")
    _, _, vssinfo, imgdir, label, n, output = sys.argv
    g = real_group(label)
    err = extract_sparse(vssinfo, [os.path.join(imgdir, i) for i in g.images],
                         g.options, g.volume_offset, int(n), output)
    if err:
        sys.exit("vsstest.py: %s snapshot %s: %s" % (label, n, err))
