"""vsstest.py — what the python test scripts of tests/ share: the ok/bad
lines tests/run counts, running a command, and the real images of
../shared/testimages/real (their README's known answers: which images
make a group, the options vssinfo needs, how many snapshots, where the
snapshotted volume starts in the first image)."""
import os
import subprocess

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
