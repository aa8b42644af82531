#!/usr/bin/env bash
# Evidence containers (issue #8): images converted by independent writers
# (ewfacquire, qemu-img, split) must read back byte-identical to the raw
# original through vss_source_open_image, and vssinfo must list and
# extract the same snapshots through each of them. Hostile containers
# (truncated segments, broken tables, bad chunks, giant sizes) must give a
# clean error naming the structure, never a crash or hang.
# Everything is written to a temp dir; ../shared is only read.
set -u
. "$(dirname "$0")/lib.sh"
IMGCAT=${IMGCAT:-$ROOT/$BUILD/tests/imgcat}
T=$(mktemp -d "${TMPDIR:-/tmp}/libvss-containers.XXXXXX")
trap 'rm -rf "$T"' EXIT

for tool in ewfacquire qemu-img qemu-io python3; do
    if ! command -v $tool >/dev/null; then
        skip "$tool missing (Debian: ewf-tools, qemu-utils): container tests"
        finish; exit
    fi
done
if [ ! -x "$IMGCAT" ]; then
    bad "$IMGCAT not built (make test-bins)"
    finish; exit
fi
# Private copies: a rebuild in the shared tree during the run must not mix
# two builds in one comparison.
cp "$VSSINFO" "$T/vssinfo" && VSSINFO=$T/vssinfo
cp "$IMGCAT" "$T/imgcat" && IMGCAT=$T/imgcat

# expect NAME PATTERN -- COMMAND...: exit status 1 and stderr matching.
expect_fail() {
    local name=$1 pattern=$2 out rc
    shift 3
    out=$(timeout 30 "$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -eq 1 ] && echo "$out" | grep -qiE -- "$pattern"; then
        ok "$name"
    else
        bad "$name: status $rc (want 1), message: $out"
    fi
}
# same_media NAME IMAGE [imgcat args]: the container's bytes equal the raw
# original (bytes past the original's end, e.g. VHD CHS rounding, are 0).
same_media() {
    local name=$1 img=$2 got tail
    shift 2
    got=$("$IMGCAT" "$@" "$img" | head -c "$SMALL_SIZE" | sha256sum | cut -d' ' -f1)
    same "$name: media sha256" "$got" "$SMALL_SHA"
    tail=$("$IMGCAT" "$@" --range "$SMALL_SIZE:1000000000" "$img" | tr -d '\0' | wc -c)
    same "$name: bytes past the original are zeros" "$tail" 0
}
le() { python3 -c "import struct,sys; sys.stdout.buffer.write(struct.pack('<$1', $2))"; }
poke() { # FILE OFFSET BYTES-FROM-STDIN
    dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}

# ---- a small raw made here: random, text, zeros, a tail not on a chunk ----
SMALL=$T/small.raw
python3 - "$SMALL" <<'EOF'
import random, sys
r = random.Random(8)
size = 40 * 1024 * 1024 + 12345 * 512
with open(sys.argv[1], 'wb') as f:
    f.truncate(size)
    for i in range(0, size, 1 << 20):
        f.seek(i)
        k = (i >> 20) % 4
        if k == 0: f.write(r.randbytes(300000))
        elif k == 1: f.write((b'container %d ' % i) * 5000)
        elif k == 3: f.write(r.randbytes(700) + b'\0' * 5000 + r.randbytes(33))
    f.seek(size - 1000); f.write(r.randbytes(1000))
EOF
SMALL_SIZE=$(stat -c %s "$SMALL")
SMALL_SHA=$(sha256sum < "$SMALL" | cut -d' ' -f1)
SMALL_MD5=$(md5sum < "$SMALL" | cut -d' ' -f1)
SMALL_SHA1=$(sha1sum < "$SMALL" | cut -d' ' -f1)

same_media "raw" "$SMALL"
same "raw: container type" "$("$IMGCAT" --info "$SMALL" | sed -n 's/^type: //p')" raw

# E01, compressed (deflate:best), with acquisition metadata and SHA-1
ewfacquire -q -u -t "$T/sc" -f encase6 -c deflate:best -C CASE-8 \
    -D "container test" -e "Jane Examiner" -E EV-1 -N "notes here" -d sha1 \
    "$SMALL" >/dev/null 2>&1
same_media "E01 deflate:best" "$T/sc.E01"
info=$("$IMGCAT" --info "$T/sc.E01")
field() { echo "$info" | sed -n "s/^$1: //p"; }
same "E01: type" "$(field type)" ewf
same "E01: case number" "$(field case_number)" CASE-8
same "E01: examiner" "$(field examiner)" "Jane Examiner"
same "E01: evidence number" "$(field evidence_number)" EV-1
same "E01: description" "$(field description)" "container test"
same "E01: notes" "$(field notes)" "notes here"
same "E01: compressed" "$(field compressed)" 1
check "E01: acquiry date" test -n "$(field acquiry_date)"
same "E01: stored MD5" "$(field md5)" "$SMALL_MD5"
same "E01: stored SHA-1" "$(field sha1)" "$SMALL_SHA1"
check "E01: vssinfo --verify-image" \
    bash -c "'$VSSINFO' --verify-image '$T/sc.E01' | grep -q 'SHA-1 $SMALL_SHA1  matches'"
check "E01: 4 threads of random reads" \
    "$IMGCAT" --stress "$SMALL" --threads 4 --reads 300 "$T/sc.E01"

# E01, uncompressed, split into 5 MiB segments
ewfacquire -q -u -t "$T/su" -f encase6 -c none -S 5M -d sha1 "$SMALL" \
    >/dev/null 2>&1
nseg=$(ls "$T"/su.E?? | wc -l)
check "E01 uncompressed: several segments ($nseg)" test "$nseg" -ge 5
same_media "E01 uncompressed, $nseg segments" "$T/su.E01"
info=$("$IMGCAT" --info "$T/su.E01")
same "E01 segments: segment count" "$(field segments)" "$nseg"
same "E01 segments: compressed" "$(field compressed)" 0
check "E01 segments: verify" "$IMGCAT" --verify "$T/su.E01"
check "E01 segments: 4 threads of random reads" \
    "$IMGCAT" --stress "$SMALL" --threads 4 --reads 300 "$T/su.E01"
# --output onto a segment that is not on the command line (or the storage
# image, a backing file): refused before anything is written.
seg3=$(sha256sum < "$T/su.E03")
out=$("$VSSINFO" --extract 1 --output "$T/su.E03" "$T/su.E01" 2>&1 >/dev/null)
rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "refusing to write over the evidence image" &&
   [ "$(sha256sum < "$T/su.E03")" = "$seg3" ]; then
    ok "--output onto segment 3 of the E01 being read: refused, segment unchanged"
else
    bad "--output onto segment 3: status $rc ($out)"
fi

# the other layouts ewfacquire writes: original EWF and SMART (chunks
# inside the table sections, 94-byte volume section, lower-case .e01/.s01
# segment names), FTK, EnCase 2/5/7, linen 6, EWF-X
for fmt in ewf smart ftk encase2 encase5 linen6 encase7 ewfx; do
    ewfacquire -q -u -t "$T/f_$fmt" -f $fmt -c deflate:fast -S 20M "$SMALL" \
        >/dev/null 2>&1
    first=$(ls "$T"/f_$fmt.* | head -1)
    got=$("$IMGCAT" "$first" | sha256sum | cut -d' ' -f1)
    same "ewfacquire -f $fmt ($(ls "$T"/f_$fmt.* | wc -l) segments): media sha256" \
        "$got" "$SMALL_SHA"
    rm -f "$T"/f_$fmt.*
done

# a raw whose size is not a multiple of 512: ewfacquire keeps the whole
# sectors only, but stores the partial one's bytes in the last chunk
head -c $((3 * 1048576 + 700)) "$SMALL" > "$T/odd.raw"
ewfacquire -q -u -t "$T/odd" -f encase6 -c none "$T/odd.raw" >/dev/null 2>&1
ewfacquire -q -u -t "$T/oddc" -f encase6 -c deflate:best "$T/odd.raw" >/dev/null 2>&1
want=$(head -c $((3 * 1048576 + 512)) "$SMALL" | sha256sum | cut -d' ' -f1)
same "E01 of a raw with a partial last sector" \
    "$("$IMGCAT" "$T/odd.E01" | sha256sum | cut -d' ' -f1)" "$want"
same "E01 (compressed) of a raw with a partial last sector" \
    "$("$IMGCAT" "$T/oddc.E01" | sha256sum | cut -d' ' -f1)" "$want"
rm -f "$T"/odd*

# qemu-img: qcow2 v3, qcow2 v3 compressed, qcow2 v2 compressed, VHD, VHDX
qemu-img convert -O qcow2 "$SMALL" "$T/s.qcow2"
qemu-img convert -O qcow2 -c "$SMALL" "$T/sc.qcow2"
qemu-img convert -O qcow2 -o compat=0.10 -c "$SMALL" "$T/sc2.qcow2"
qemu-img convert -O vpc "$SMALL" "$T/s.vhd"
qemu-img convert -O vpc -o subformat=fixed "$SMALL" "$T/sf.vhd"
qemu-img convert -O vhdx "$SMALL" "$T/s.vhdx"
for x in s.qcow2:qcow2 sc.qcow2:qcow2 sc2.qcow2:qcow2 s.vhd:vhd sf.vhd:vhd \
         s.vhdx:vhdx; do
    f=${x%%:*}
    same_media "$f" "$T/$f"
    same "$f: type" "$("$IMGCAT" --info "$T/$f" | sed -n 's/^type: //p')" "${x#*:}"
    check "$f: 4 threads of random reads" \
        "$IMGCAT" --stress "$SMALL" --threads 4 --reads 150 "$T/$f"
done
same "qcow2 -c compat=0.10: version 2" \
    "$("$IMGCAT" --info "$T/sc2.qcow2" | sed -n 's/^format: //p')" "qcow2 v2"

# qcow2 with a backing file: refused unless given, then read through it
qemu-img create -q -f qcow2 -b "$T/s.qcow2" -F qcow2 "$T/ov.qcow2"
qemu-io -c "write -P 0x5a 1M 64k" "$T/ov.qcow2" >/dev/null
expect_fail "qcow2 overlay without --backing: refused" "backing file" -- \
    "$IMGCAT" "$T/ov.qcow2"
cp "$SMALL" "$T/ov.raw"
python3 -c "
import sys
with open(sys.argv[1], 'r+b') as f: f.seek(1 << 20); f.write(b'\x5a' * 65536)" "$T/ov.raw"
got=$("$IMGCAT" --backing "$T/s.qcow2" "$T/ov.qcow2" | sha256sum | cut -d' ' -f1)
same "qcow2 overlay with --backing" "$got" "$(sha256sum < "$T/ov.raw" | cut -d' ' -f1)"
rm -f "$T/ov.raw"

# differencing VHD and VHDX (qemu cannot write them: made from the specs by
# tests/containers_mkdiff.py over the first 8 MiB of the small raw)
head -c 8388608 "$SMALL" > "$T/parent.raw"
python3 "$ROOT/tests/containers_mkdiff.py" "$T/parent.raw" "$T"
for x in vhd vhdx; do
    expect_fail "differencing $x without --backing: refused" \
        "differencing disk.*give the parent" -- "$IMGCAT" "$T/diff.$x"
    got=$("$IMGCAT" --backing "$T/parent.raw" "$T/diff.$x" | sha256sum | cut -d' ' -f1)
    same "differencing $x over its parent" "$got" \
        "$(sha256sum < "$T/diff.$x.expected" | cut -d' ' -f1)"
    check "differencing $x: 4 threads of random reads" \
        "$IMGCAT" --backing "$T/parent.raw" --stress "$T/diff.$x.expected" \
        --threads 4 --reads 150 "$T/diff.$x"
done
rm -f "$T"/diff.* "$T/parent.raw"

# encrypted qcow2: refused clearly
if qemu-img create -q -f qcow2 --object secret,id=s0,data=abc \
    -o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 \
    "$T/enc.qcow2" 1M 2>/dev/null; then
    expect_fail "encrypted qcow2: refused" "encrypted.*not supported" -- \
        "$IMGCAT" "$T/enc.qcow2"
else
    skip "qemu-img cannot make a LUKS qcow2 here"
fi

# split raw: .aa .ab ... and .000 .001 ...
split -b 7M "$SMALL" "$T/sp.raw."
same_media "split -b 7M (.aa ...)" "$T/sp.raw.aa"
same "split: segments" "$("$IMGCAT" --info "$T/sp.raw.aa" | sed -n 's/^segments: //p')" 7
split -b 10M -d -a 3 "$SMALL" "$T/spn."
same_media "split -d -a 3 (.000 ...)" "$T/spn.000"
check "split: 4 threads of random reads" \
    "$IMGCAT" --stress "$SMALL" --threads 4 --reads 150 "$T/spn.000"
rm -f "$T"/sp.raw.a? "$T"/spn.00?

# ---- hostile containers ---------------------------------------------------
H=$T/h
mkdir -p "$H"
# truncated segment
cp "$T"/su.E?? "$H"/
truncate -s 3000000 "$H/su.E03"
expect_fail "E01 truncated segment 3" "segment 3.*trunc" -- \
    "$IMGCAT" "$H/su.E01"
# missing segment
rm -f "$H/su.E03"
expect_fail "E01 missing segment 3" "segment 3 missing" -- \
    "$IMGCAT" "$H/su.E01"
rm -f "$H"/su.E??
# a stored chunk with a flipped byte: Adler-32 names the chunk
cp "$T"/su.E?? "$H"/
printf '\xff\xff\xff\xff' | poke "$H/su.E02" 200000
expect_fail "E01 corrupted stored chunk (imgcat)" \
    "EWF chunk [0-9]+ \(segment 2.*Adler-32 mismatch" -- "$IMGCAT" "$H/su.E01"
expect_fail "E01 corrupted stored chunk (vssinfo --verify-image)" \
    "EWF chunk [0-9]+ \(segment 2.*Adler-32" -- "$VSSINFO" --verify-image "$H/su.E01"
rm -f "$H"/su.E??
# table entries: broken table, intact table2 copy -> still reads
cp "$T"/su.E?? "$H"/
python3 - "$H/su.E01" > "$T/tbl" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off = 13
while True:
    t = d[off:off + 16].rstrip(b'\0')
    nxt = struct.unpack('<Q', d[off + 16:off + 24])[0]
    if t in (b'table', b'table2'):
        print(t.decode(), off)
    if nxt == off: break
    off = nxt
EOF
tbl=$(awk '$1=="table"{print $2; exit}' "$T/tbl")
tbl2=$(awk '$1=="table2"{print $2; exit}' "$T/tbl")
printf '\x00\x00\x00\x7f' | poke "$H/su.E01" $((tbl + 76 + 24 + 8))
got=$("$IMGCAT" "$H/su.E01" | sha256sum | cut -d' ' -f1)
same "E01 broken table, table2 intact: reads from table2" "$got" "$SMALL_SHA"
printf '\x00\x00\x00\x7f' | poke "$H/su.E01" $((tbl2 + 76 + 24 + 8))
expect_fail "E01 broken table and table2" "table2? entries: checksum mismatch" -- \
    "$IMGCAT" "$H/su.E01"
rm -f "$H"/su.E??
# a compressed chunk replaced by a zlib stream that inflates past the chunk
cp "$T/sc.E01" "$H/"
python3 - "$H/sc.E01" <<'EOF'
import struct, sys, zlib
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
off = 13
while True:
    t = bytes(d[off:off + 16]).rstrip(b'\0')
    nxt, size = struct.unpack('<QQ', d[off + 16:off + 32])
    if t == b'table': break
    off = nxt
n, base = struct.unpack('<I4xQ', d[off + 76:off + 92])
ents = [struct.unpack('<I', d[off + 100 + 4 * i:off + 104 + 4 * i])[0] for i in range(n)]
bomb = zlib.compress(b'\0' * 100000, 9)
for i in range(n - 1):
    a, b = ents[i] & 0x7fffffff, ents[i + 1] & 0x7fffffff
    if ents[i] >> 31 and b - a >= len(bomb):
        d[base + a:base + a + len(bomb)] = bomb
        break
else:
    sys.exit("no compressed chunk large enough")
open(p, 'wb').write(d)
EOF
expect_fail "E01 chunk that inflates past its size" "inflates past its size" -- \
    "$IMGCAT" "$H/sc.E01"
rm -f "$H/sc.E01"
# a section descriptor whose next offset loops back
cp "$T/sc.E01" "$H/"
python3 - "$H/sc.E01" <<'EOF'
import struct, sys, zlib
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
off = 13
nxt = struct.unpack('<Q', d[off + 16:off + 24])[0]
d[nxt + 16:nxt + 24] = struct.pack('<Q', 13)          # second section -> first
d[nxt + 72:nxt + 76] = struct.pack('<I', zlib.adler32(bytes(d[nxt:nxt + 72])))
open(p, 'wb').write(d)
EOF
expect_fail "E01 section chain loop" "does not go forward \(loop\)" -- \
    "$IMGCAT" "$H/sc.E01"
rm -f "$H/sc.E01"
# qcow2: L1 entry pointing past the end of the file
cp "$T/s.qcow2" "$H/"
l1=$(python3 -c "import struct;d=open('$H/s.qcow2','rb').read(48);print(struct.unpack('>Q',d[40:48])[0])")
printf '\x00\x00\x7f\x00\x00\x00\x00\x00' | poke "$H/s.qcow2" "$l1"
expect_fail "qcow2 corrupted L1 pointer" "L1 entry 0 .*past the end" -- \
    "$IMGCAT" "$H/s.qcow2"
expect_fail "qcow2 corrupted L1 pointer (vssinfo)" "L1 entry 0" -- \
    "$VSSINFO" "$H/s.qcow2"
# qcow2: L2 entry with reserved bits / out-of-file cluster
cp "$T/s.qcow2" "$H/"
l2=$(python3 -c "import struct;d=open('$H/s.qcow2','rb').read();o=struct.unpack('>Q',d[40:48])[0];print(struct.unpack('>Q',d[o:o+8])[0]&0x00fffffffffffe00)")
printf '\x80\x00\x7f\x00\x00\x00\x00\x00' | poke "$H/s.qcow2" "$l2"
expect_fail "qcow2 corrupted L2 entry" "L2 table at offset $l2, entry 0" -- \
    "$IMGCAT" "$H/s.qcow2"
# qcow2: giant virtual size
cp "$T/s.qcow2" "$H/"
printf '\x40\x00\x00\x00\x00\x00\x00\x00' | poke "$H/s.qcow2" 24
expect_fail "qcow2 giant virtual size" "virtual size .* out of bounds" -- \
    "$IMGCAT" "$H/s.qcow2"
# qcow2: compressed cluster with garbage
cp "$T/sc.qcow2" "$H/"
python3 - "$H/sc.qcow2" <<'EOF'
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
cb = struct.unpack('>I', d[20:24])[0]
l1 = struct.unpack('>Q', d[40:48])[0]
l2 = struct.unpack('>Q', d[l1:l1 + 8])[0] & 0x00fffffffffffe00
for i in range(1 << (cb - 3)):
    e = struct.unpack('>Q', d[l2 + 8 * i:l2 + 8 * i + 8])[0]
    if e >> 62 & 1:
        host = e & ((1 << (62 - (cb - 8))) - 1)
        d[host:host + 64] = b'\xff' * 64
        break
open(p, 'wb').write(d)
EOF
expect_fail "qcow2 corrupted compressed cluster" "qcow2 compressed cluster at host offset" -- \
    "$IMGCAT" "$H/sc.qcow2"
rm -f "$H"/*.qcow2
# VHD: BAT past the end of the file (checksum of the header fixed up)
cp "$T/s.vhd" "$H/"
python3 - "$H/s.vhd" <<'EOF'
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
dyn = struct.unpack('>Q', d[16:24])[0]
d[dyn + 28:dyn + 32] = struct.pack('>I', 0x7fffffff)  # max table entries
d[dyn + 36:dyn + 40] = b'\0\0\0\0'
s = sum(d[dyn:dyn + 1024]) & 0xffffffff
d[dyn + 36:dyn + 40] = struct.pack('>I', ~s & 0xffffffff)
open(p, 'wb').write(d)
EOF
expect_fail "VHD giant block allocation table" "block allocation table .* past the end" -- \
    "$IMGCAT" "$H/s.vhd"
rm -f "$H/s.vhd"
# VHDX: a log that would need replaying
cp "$T/s.vhdx" "$H/"
python3 - "$H/s.vhdx" <<'EOF'
import struct, sys
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0x82f63b78 if c & 1 else c >> 1
    return c ^ 0xffffffff
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
for h in (65536, 131072):
    d[h + 48:h + 64] = b'\x11' * 16
    d[h + 4:h + 8] = b'\0\0\0\0'
    d[h + 4:h + 8] = struct.pack('<I', crc32c(bytes(d[h:h + 4096])))
open(p, 'wb').write(d)
EOF
expect_fail "VHDX with a log to replay: refused" "log is not empty" -- \
    "$IMGCAT" "$H/s.vhdx"
rm -f "$H/s.vhdx"
# a raw disk whose last sector merely starts with "conectix" stays raw
cp "$SMALL" "$H/fake.raw"
printf 'conectix' | poke "$H/fake.raw" $((SMALL_SIZE - 512))
same "raw ending in 'conectix' without a valid VHD footer: read as raw" \
    "$("$IMGCAT" --info "$H/fake.raw" | sed -n 's/^type: //p')" raw
rm -f "$H/fake.raw"
# not a container at all, and a random file named like a segment set
head -c 100000 /dev/urandom > "$H/x.E01"
same "random bytes named .E01: read as raw" \
    "$("$IMGCAT" --info "$H/x.E01" | sed -n 's/^type: //p')" raw
rm -f "$T"/s*.qcow2 "$T"/*.vhd "$T"/*.vhdx "$T"/ov.qcow2

# ---- the real Windows images ------------------------------------------------
if ! prepare_real; then
    skip "real images absent: snapshots through containers"
    finish; exit
fi
RAW=$WORK/real/vsstest.raw
# listing without the Image/Container lines
listing() { "$VSSINFO" "$@" | grep -v -e '^Image ' -e '^Container: '; }
want_list=$(listing "$RAW")
nsnap=$("$VSSINFO" --json "$RAW" | python3 -c "import json,sys; print(sum(len(v.get('snapshots', [])) for v in json.load(sys.stdin)['volumes']))")
check "vsstest: has snapshots ($nsnap)" test "$nsnap" -ge 1
# Snapshots are extracted sparse (--output skips all-zero MiB blocks, the
# same ones for the same bytes), then fingerprinted: SHA-256 over every data
# extent with its offset (tests/imagehash.py), holes reading as zeros. Equal
# fingerprints = byte-identical volumes, without piping GiBs around.
fp() { python3 "$ROOT/tests/imagehash.py" "$1" | cut -d' ' -f1; }
# The sanitizer pass (make test-asan) extracts the oldest only, which reads
# through every newer store: what differs from one snapshot to another is
# the shadow copy code, not the container's (every container read is the
# same kind for all of them), and the plain pass has proved each.
through_containers=$(seq 1 "$nsnap")
[ "${LIBVSS_SANITIZER_PASS:-0}" = 1 ] && through_containers=1
declare -A want_fp
for n in $through_containers; do
    "$VSSINFO" --extract "$n" --force --output "$T/snap" "$RAW" >/dev/null
    want_fp[$n]=$(fp "$T/snap")
    echo "ok   vsstest snapshot $n: fingerprint ${want_fp[$n]:0:16}..."
done
# same_snapshots NAME IMAGE [vssinfo args]: same listing, and every
# snapshot extracted through the container (those of through_containers)
# is byte-identical.
same_snapshots() {
    local name=$1 img=$2 n
    shift 2
    same "$name: same listing" "$(listing "$@" "$img")" "$want_list"
    for n in $through_containers; do
        rm -f "$T/snap"
        "$VSSINFO" "$@" --extract "$n" --output "$T/snap" "$img" >/dev/null
        same "$name: snapshot $n byte-identical (sha256 of extents)" \
            "$(fp "$T/snap")" "${want_fp[$n]}"
    done
    rm -f "$T/snap"
}
same_snapshots "vsstest.qcow2 (shared, read natively)" "$REAL/vsstest.qcow2"
ewfacquire -q -u -t "$T/vt" -f encase6 -c deflate:best -S 1M -C VT \
    -e Examiner -d sha1 "$RAW" >/dev/null 2>&1
same_snapshots "vsstest E01 deflate:best ($(ls "$T"/vt.E?? | wc -l) segments)" "$T/vt.E01"
check "vsstest E01: container line in the listing" \
    bash -c "'$VSSINFO' '$T/vt.E01' | grep -q '^Container: EWF (E01), .* segments, .*compressed; case VT; examiner Examiner'"
check "vsstest E01: JSON container object" \
    bash -c "'$VSSINFO' --json '$T/vt.E01' | python3 -c \"import json,sys; c=json.load(sys.stdin)['volumes'][0]['container']; assert c['type']=='ewf' and c['case_number']=='VT' and len(c['sha1'])==40\""
qemu-img convert -O qcow2 "$RAW" "$T/vt.qcow2"
same_snapshots "vsstest qcow2" "$T/vt.qcow2"
rm -f "$T/vt.qcow2"
qemu-img convert -O qcow2 -c "$RAW" "$T/vtc.qcow2"
same_snapshots "vsstest qcow2 -c" "$T/vtc.qcow2"
rm -f "$T/vtc.qcow2"
# force_size: the exact size, not rounded up to a CHS geometry (the small
# image above checks the rounded kind)
qemu-img convert -O vpc -o force_size=on "$RAW" "$T/vt.vhd"
same_snapshots "vsstest VHD dynamic" "$T/vt.vhd"
rm -f "$T/vt.vhd"
qemu-img convert -O vpc -o subformat=fixed,force_size=on "$RAW" "$T/vtf.vhd"
same_snapshots "vsstest VHD fixed" "$T/vtf.vhd"
rm -f "$T/vtf.vhd"
qemu-img convert -O vhdx "$RAW" "$T/vt.vhdx"
same_snapshots "vsstest VHDX" "$T/vt.vhdx"
rm -f "$T/vt.vhdx"
# split raw: sparse pieces of 256 MiB (dd conv=sparse keeps it fast)
for i in 0 1 2 3; do
    dd if="$RAW" of="$T/vt.00$((i + 1))" bs=1M skip=$((i * 256)) count=256 \
        conv=sparse status=none
done
same_snapshots "vsstest split raw (.001 ...)" "$T/vt.001"
rm -f "$T"/vt.00?
# a corrupted chunk inside the live volume: the chunk holding the first
# catalog block (0x6e30000), read when the shadow copies are opened
K=$((0x6e30000 / 32768))
python3 - "$T/vt.E01" "$K" <<'EOF'
import os, struct, sys
first, k = sys.argv[1], int(sys.argv[2])
seg = 1
while True:
    p = first[:-2] + '%02d' % seg
    d = open(p, 'rb').read()
    off = 13
    while True:
        t = d[off:off + 16].rstrip(b'\0')
        nxt = struct.unpack('<Q', d[off + 16:off + 24])[0]
        if t == b'table':
            n, base = struct.unpack('<I4xQ', d[off + 76:off + 92])
            if k < n:
                e = struct.unpack('<I', d[off + 100 + 4 * k:off + 104 + 4 * k])[0]
                a = base + (e & 0x7fffffff)
                with open(p, 'r+b') as f:
                    f.seek(a + 10); f.write(b'\x55' * 10)
                sys.exit(0)
            k -= n
        if nxt == off: break
        off = nxt
    seg += 1
EOF
expect_fail "vsstest E01 corrupted chunk: vssinfo --extract names it" \
    "EWF chunk $((0x6e30000 / 32768)) \(segment" -- "$VSSINFO" --extract 1 "$T/vt.E01"
expect_fail "vsstest E01 corrupted chunk: vssinfo listing names it" \
    "EWF chunk $((0x6e30000 / 32768)) \(segment" -- "$VSSINFO" "$T/vt.E01"
finish
