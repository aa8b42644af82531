#!/usr/bin/env bash
# tests/test_testimages.sh - check the images testimages/vssgen writes with
# readers we did not write: libvshadow (vshadowinfo, and its Python binding
# for block reads) and The Sleuth Kit (fls, icat) on the snapshots
# libvshadow extracts.  The manifests (docs/testimages.md) are the truth.
#
# Builds the default image set first (make -C testimages) unless
# VSSGEN_NOBUILD=1.  Skips, with a message, what a missing tool prevents.
# Ends with the line "N passed, N failed".
# sanitizer pass: skip (checks the generator's images with other readers; runs no libvss code)
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
OUT=${VSSGEN_OUT:-$ROOT/testimages/out}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

if [ "${VSSGEN_NOBUILD:-0}" != 1 ]; then
    missing=
    command -v mkntfs >/dev/null 2>&1 || missing="$missing mkntfs(ntfs-3g)"
    [ -e /usr/include/ntfs-3g/volume.h ] || missing="$missing libntfs-3g(ntfs-3g-dev)"
    [ -e /usr/include/openssl/evp.h ] || missing="$missing openssl(libssl-dev)"
    if [ -n "$missing" ]; then
        echo "skip building the test images: missing$missing (make deps installs them)"
        echo "0 passed, 0 failed"
        exit 0
    fi
    log=$(mktemp)
    if ! make -s -C "$ROOT/testimages" >"$log" 2>&1; then
        cat "$log"
        rm -f "$log"
        echo "FAIL building the test images (make -C testimages)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    rm -f "$log"
fi

exec "$PY" - "$OUT" <<'PYEOF'
import datetime, glob, hashlib, json, os, re, shutil, struct, subprocess, sys, tempfile

out = sys.argv[1]
PASS = FAIL = 0
def ok(m):
    global PASS; PASS += 1; print("ok   " + m)
def bad(m):
    global FAIL; FAIL += 1; print("FAIL " + m)
def skip(m): print("skip " + m)
def have(tool): return shutil.which(tool) is not None

try:
    import pyvshadow
except ImportError:
    pyvshadow = None
    skip("python3-libvshadow (pyvshadow) is not installed: no block or file checks "
         "(apt-get install python3-libvshadow)")
for t in ("vshadowinfo", "fls", "icat"):
    if not have(t):
        skip("%s not found: its checks are skipped (apt-get install %s)" %
             (t, "libvshadow-utils" if t == "vshadowinfo" else "sleuthkit"))

class Sub:
    """A file object over a byte range of an image (for pyvshadow)."""
    def __init__(s, path, off, size): s.f = open(path, 'rb'); s.off = off; s.size = size; s.pos = 0
    def read(s, n=-1):
        if n is None or n < 0 or s.pos + n > s.size: n = max(0, s.size - s.pos)
        s.f.seek(s.off + s.pos); d = s.f.read(n); s.pos += len(d); return d
    def seek(s, o, w=0): s.pos = o if w == 0 else (s.pos + o if w == 1 else s.size + o)
    def tell(s): return s.pos
    def get_size(s): return s.size
    def close(s): s.f.close()

def vshadow_time(ft):
    """FILETIME -> the way vshadowinfo prints it."""
    secs, ticks = divmod(ft, 10**7)
    t = datetime.datetime(1601, 1, 1) + datetime.timedelta(seconds=secs)
    return t.strftime("%b %d, %Y %H:%M:%S") + ".%09d UTC" % (ticks * 100)

def vshadowinfo(img, off):
    r = subprocess.run(["vshadowinfo", "-o", str(off), img], capture_output=True, text=True)
    stores, cur = [], None
    for line in r.stdout.splitlines():
        m = re.match(r"^Store: (\d+)", line)
        if m: cur = {}; stores.append(cur); continue
        m = re.match(r"^\t([^:\t]+?)\s*:\s*(.*)$", line)
        if m and cur is not None: cur[m.group(1)] = m.group(2)
        if cur is not None and "Data stored outside volume" in line: cur["outside"] = True
    return r.returncode, stores

def merged_storage(m, base, tmp):
    """For redirected storage: a copy of the storage volume whose catalog
    also carries the source volume's type-2 entries, so that libvshadow
    (which does not follow redirection) reads the stores from it."""
    src, sto = m['volumes'][0], m['volumes'][1]
    def read(v, off, n):
        with open(os.path.join(base, m['images'][v['image']]['path']), 'rb') as f:
            f.seek(v['offset'] + off); return f.read(n)
    path = os.path.join(tmp, "storage-merged.raw")
    with open(os.path.join(base, m['images'][sto['image']]['path']), 'rb') as f, open(path, 'wb') as o:
        f.seek(sto['offset']); left = sto['size']
        while left:
            b = f.read(min(left, 1 << 22)); o.write(b); left -= len(b)
        # libvshadow sizes a snapshot by the NTFS boot sector of the volume
        # it opened: make that the source volume's size
        o.truncate(max(src['size'], sto['size']))
        o.seek(0x28); o.write(struct.pack('<Q', src['size'] // 512 - 1))
    def entries(v):
        out, off = [], v['catalog_offset']
        for i in range(4):
            blk = read(v, off + i * 16384, 16384)
            for j in range(127):
                e = blk[128 + 128 * j: 256 + 128 * j]
                if struct.unpack_from('<Q', e)[0] in (2, 3): out.append(e)
        return out
    ents = entries(src) + entries(sto)
    ents.sort(key=lambda e: (e[16:32], struct.unpack_from('<Q', e)[0]))
    with open(path, 'r+b') as o:
        for k, e in enumerate(ents):
            o.seek(sto['catalog_offset'] + (k // 127) * 16384 + 128 + (k % 127) * 128); o.write(e)
    return path

def kinds(m, base):
    exp = {}
    with open(os.path.join(base, m['block_list'])) as f:
        for line in f:
            if line.startswith('#'): continue
            k, off, kind, srcs, h = line.rstrip('\n').split('\t')
            exp[(int(k), int(off))] = (kind, h)
    return exp

def fuse_check(m, base, name, img, src, snaps):
    unmount = shutil.which("fusermount3") or shutil.which("fusermount")
    if not (have("vshadowmount") and unmount and os.path.exists("/dev/fuse")):
        skip("%s: vshadowmount, fusermount or /dev/fuse missing: FUSE check skipped" % name); return
    mnt = tempfile.mkdtemp(prefix="vssgen-fuse-")
    try:
        r = subprocess.run(["vshadowmount", "-o", str(src['offset']), img, mnt], capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or not os.path.exists(os.path.join(mnt, "vss1")):
            skip("%s: vshadowmount could not mount (%s): FUSE check skipped" % (name, (r.stderr or "").strip().splitlines()[-1:] or "?")); return
        exp = kinds(m, base)
        wrong = []
        for s in snaps:
            k = s['index']; h = hashlib.sha256()
            with open(os.path.join(mnt, "vss%d" % k), 'rb') as f:
                for off in range(0, s['volume_size'], 16384):
                    b = f.read(16384)
                    kind = exp[(k, off)][0]
                    h.update(bytes(16384) if kind.startswith("notinuse") or kind.startswith("vssfile") else b)
            if h.hexdigest() != s['sha256_in_use']: wrong.append(k)
        if wrong: bad("%s: vshadowmount: snapshots %s differ from the manifest" % (name, wrong))
        else: ok("%s: vshadowmount: all %d snapshots match the manifest on every in-use block" % (name, len(snaps)))
    finally:
        subprocess.run([unmount, "-u", mnt], capture_output=True)
        try: os.rmdir(mnt)
        except OSError: pass

def check(mpath):
    m = json.load(open(mpath))
    base = os.path.dirname(mpath)
    name = m['scenario']
    src = m['volumes'][0]
    img = os.path.join(base, m['images'][src['image']]['path'])
    redirected = m['storage'] != 'local'
    snaps = m['snapshots']
    if not os.path.exists(img):
        bad("%s: image %s missing" % (name, img)); return
    # 1. vshadowinfo lists every snapshot with the manifest's identity
    if have("vshadowinfo"):
        rc, st = vshadowinfo(img, src['offset'])
        if rc != 0 or len(st) != len(snaps):
            bad("%s: vshadowinfo lists %d stores (exit %d), manifest %d" % (name, len(st), rc, len(snaps)))
        else:
            errs = []
            for s, e in zip(snaps, st):
                want = {"Identifier": s['store_guid'], "Creation time": vshadow_time(s['creation_filetime']),
                        "Volume size": "%d bytes" % s['volume_size']}
                if not redirected:
                    want.update({"Shadow copy set ID": s['shadow_copy_set_id'],
                                 "Shadow copy ID": s['shadow_copy_id'],
                                 "Attribute flags": "0x%08x" % s['attribute_flags']})
                elif not e.get("outside"):
                    errs.append("store %d not reported as stored outside the volume" % s['index'])
                for k, v in want.items():
                    got = e.get(k, "")
                    if (k == "Volume size" and v not in got) or (k != "Volume size" and got != v):
                        errs.append("store %d %s: got %r want %r" % (s['index'], k, got, v))
            if errs: bad("%s: vshadowinfo: %s" % (name, "; ".join(errs[:4])))
            else: ok("%s: vshadowinfo lists %d snapshots with the manifest's GUIDs, times, sizes" % (name, len(snaps)))
    if not m.get('block_list'):
        skip("%s: no per-block list in the manifest (large image): block and file checks skipped" % name)
        return
    # 1b. vshadowmount (FUSE) exposes each snapshot with the manifest's content
    if snaps and not redirected and 'sha256_in_use' in snaps[0] and m.get('block_list'):
        fuse_check(m, base, name, img, src, snaps)
    if pyvshadow is None:
        return
    # 2. every block both semantics define identically reads as the manifest says
    exp = kinds(m, base)
    tmp = tempfile.mkdtemp(prefix="vssgen-test-")
    try:
        if redirected:
            vobj = Sub(merged_storage(m, base, tmp), 0, max(src['size'], m['volumes'][1]['size']))
            # only blocks a store holds: libvshadow's "live volume" would be the storage volume
            checkable = lambda kind: kind.startswith("copied")
        else:
            vobj = Sub(img, src['offset'], src['size'])
            checkable = lambda kind: not (kind.startswith("notinuse") or kind.startswith("vssfile"))
        vol = pyvshadow.volume()
        vol.open_file_object(vobj)
        if vol.number_of_stores != len(snaps):
            bad("%s: libvshadow opens %d stores, manifest %d" % (name, vol.number_of_stores, len(snaps))); return
        for i, s in enumerate(snaps):
            k = s['index']
            store = vol.get_store(i)
            good = wrong = 0; first = None
            raw = os.path.join(tmp, "snap%d.raw" % k) if not redirected else None
            rf = open(raw, 'wb') if raw else None
            hin = hashlib.sha256()
            hall = hashlib.sha256()
            # libvshadow zero-fills not-in-use blocks of the newest store only:
            # there it agrees with Windows (flag 0x400) on every block
            newest_win = (not redirected and i == len(snaps) - 1 and s['catalog_flags'] & 0x400
                          and 'sha256' in s)
            for off in range(0, s['volume_size'], 16384):
                store.seek_offset(off)
                b = store.read_buffer(16384)
                if rf: rf.write(b)
                kind, h = exp[(k, off)]
                masked = kind.startswith("notinuse") or kind.startswith("vssfile")
                hin.update(bytes(16384) if masked else b)
                if newest_win: hall.update(b)
                if not checkable(kind): continue
                if hashlib.sha256(b).hexdigest() == h: good += 1
                else:
                    wrong += 1
                    if first is None: first = "0x%x (%s)" % (off, kind)
            if rf: rf.close()
            if wrong: bad("%s: snapshot %d: %d of %d blocks differ from the manifest, first at %s" % (name, k, wrong, good + wrong, first))
            else: ok("%s: snapshot %d: libvshadow returns the manifest's content for all %d checkable blocks" % (name, k, good))
            if not redirected and 'sha256_in_use' in s:
                if hin.hexdigest() == s['sha256_in_use']: ok("%s: snapshot %d: whole-volume SHA-256 (not-in-use blocks zeroed) matches" % (name, k))
                else: bad("%s: snapshot %d: whole-volume SHA-256 (not-in-use blocks zeroed) differs" % (name, k))
            if newest_win:
                if hall.hexdigest() == s['sha256']: ok("%s: snapshot %d (newest, flag 0x400): whole-volume SHA-256 equals the Windows view" % (name, k))
                else: bad("%s: snapshot %d (newest, flag 0x400): whole-volume SHA-256 differs from the Windows view" % (name, k))
            # 3. The Sleuth Kit sees the manifest's files in the extracted snapshot
            if raw and have("fls") and have("icat"):
                r = subprocess.run(["fls", "-r", "-p", "-f", "ntfs", raw], capture_output=True, text=True)
                names = {}
                for line in r.stdout.splitlines():
                    mm = re.match(r"^(\S+) (\* )?(\S+):\t(.*)$", line)
                    if mm and not mm.group(2): names["/" + mm.group(4)] = mm.group(3)
                missing = [f['path'] for f in s['files'] if f['path'] not in names]
                if r.returncode or missing: bad("%s: snapshot %d: fls misses %s" % (name, k, missing[:5] or "everything"))
                else: ok("%s: snapshot %d: fls -r -p lists all %d manifest files" % (name, k, len(s['files'])))
                ch = dif = 0; which = []
                for f in s['files']:
                    inode = names.get(f['path'])
                    if inode is None: continue
                    rng = f.get('zero_ranges') or f.get('live_ranges')
                    if rng and not (newest_win and f.get('windows_sha256')):
                        continue          # libvshadow and Windows differ on these bytes
                    d = subprocess.run(["icat", "-f", "ntfs", raw, inode], capture_output=True).stdout
                    good_f = (hashlib.sha256(d).hexdigest() == f['windows_sha256']) if rng else \
                             (hashlib.md5(d).hexdigest() == f['md5'])
                    if good_f and len(d) == f['size']: ch += 1
                    else: dif += 1; which.append(f['path'])
                if dif: bad("%s: snapshot %d: icat content differs for %s" % (name, k, which[:4]))
                else: ok("%s: snapshot %d: icat returns the manifest's content of %d files%s" % (name, k, ch,
                        " (zero ranges included)" if newest_win else ""))
            if raw: os.unlink(raw)
        vobj.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

mans = sorted(glob.glob(os.path.join(out, "*.json")))
example = os.path.join(os.path.dirname(out), "example", "example.json")
if os.path.exists(example) and os.path.exists(os.path.join(os.path.dirname(example), "example.img.gz")):
    tmpd = tempfile.mkdtemp(prefix="vssgen-example-")
    with open(os.path.join(tmpd, "example.img"), "wb") as f:
        f.write(subprocess.run(["gzip", "-dc", os.path.join(os.path.dirname(example), "example.img.gz")],
                               capture_output=True, check=True).stdout)
    shutil.copy(example, tmpd)
    ex_blocks = os.path.join(os.path.dirname(example), "example.blocks.tsv.gz")
    if os.path.exists(ex_blocks):
        with open(os.path.join(tmpd, "example.blocks.tsv"), "wb") as f:
            f.write(subprocess.run(["gzip", "-dc", ex_blocks], capture_output=True, check=True).stdout)
    mans.append(os.path.join(tmpd, "example.json"))
if not mans:
    bad("no manifests in %s (run make -C testimages)" % out)
for mp in mans:
    try:
        check(mp)
    except Exception as e:
        bad("%s: checker crashed: %r" % (mp, e))
print("%d passed, %d failed" % (PASS, FAIL))
sys.exit(1 if FAIL else 0)
PYEOF
