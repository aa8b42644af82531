#!/usr/bin/env bash
# Known answers from Windows-made images (../shared/testimages/real/README.md
# and vss_2003_hashes.txt): listings, per-sector hashes, byte patterns of
# local and redirected storage.
set -u
. "$(dirname "$0")/lib.sh"

if ! prepare_real; then
    skip "real images: $REAL is absent (the tests that need ../shared skip)"
    finish
    exit
fi
I=$WORK/real
J() { "$VSSINFO" --json "$@"; }
q() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- vss_2003: six snapshots of Windows Server 2003 --------------------------
out=$(J -o 32256 "$I/vss_2003.raw")
same "vss_2003 snapshot count" "$(echo "$out" | q 'len([v for v in d["volumes"] if v["offset"]==32256][0]["snapshots"])')" 6
snaps='[s for v in d["volumes"] if v["offset"]==32256 for s in v["snapshots"]]'
same "vss_2003 store GUIDs" "$(echo "$out" | q "' '.join(s['store_guid'] for s in $snaps)")" \
  "12e5a133-8722-11e9-9178-525400123456 12e5a134-8722-11e9-9178-525400123456 12e5a137-8722-11e9-9178-525400123456 4ace022f-877d-11e9-8446-525400123456 4ace0230-877d-11e9-8446-525400123456 4ace0231-877d-11e9-8446-525400123456"
same "vss_2003 creation times" "$(echo "$out" | q "' '.join(s['creation_time'] for s in $snaps)")" \
  "2019-06-04T23:43:01.4843750Z 2019-06-04T23:43:32.0937500Z 2019-06-04T23:44:38.7968750Z 2019-06-05T10:34:42.4062500Z 2019-06-05T10:34:46.2656250Z 2019-06-05T10:34:48.8281250Z"
same "vss_2003 volume sizes" "$(echo "$out" | q "set(s['volume_size'] for s in $snaps)")" "{137436171264}"
same "vss_2003 attribute flags" "$(echo "$out" | q "set(hex(s['attribute_flags']) for s in $snaps)")" "{'0x2001d'}"
check "vss_2003 Windows hash list (every line; in the sanitizer pass every 4th)" \
  python3 "$ROOT/tests/check_hashlist.py" "$VSSINFO" "$I/vss_2003.raw" 32256 "$REAL/vss_2003_hashes.txt"

# ---- vss_2_stor: one local snapshot ------------------------------------------
out=$(J "$I/vss_2_stor.raw")
s0='[s for v in d["volumes"] for s in v["snapshots"]][0]'
same "vss_2_stor listing" "$(echo "$out" | q "$s0['store_guid'], $s0['volume_size']")" \
  "bbaa7659-8204-11eb-90f4-080027768df7 5333057536"
# The shared README gives this snapshot the set/shadow copy IDs that
# libvshadow prints (f08ed65e-…, c051f0ba-…). Those belong to store
# bbaa7663 (vss_1_vol's second snapshot), whose location entry is the last
# one in this catalog: libvshadow pairs location entries by position. The
# catalog pairs them by store GUID, and NTFS agrees: the store file named
# {bbaa7659-…}{3808876b-…} starts at this snapshot's store header.
same "vss_2_stor IDs come from its own store header" \
  "$(echo "$out" | q "$s0['shadow_copy_set_id'], $s0['shadow_copy_id']")" \
  "3cd694d8-90cb-4099-abd4-6ced9485ac1c e8e75155-2d2d-45bc-b67e-123e6f20b97d"
if command -v istat >/dev/null; then
    rec=$(echo "$out" | q "$s0['store_file_mft_record']")
    hdr=$(echo "$out" | q "$s0['store_header_offset']")
    st=$(istat -o $((34603008/512)) "$I/vss_2_stor.raw" "$rec")
    same "vss_2_stor store file (TSK) is named by the store GUID" \
      "$(echo "$st" | sed -n 's/^Name: //p' | head -1)" \
      "{bbaa7659-8204-11eb-90f4-080027768df7}{3808876b-c176-4e48-b7ae-04046e6cc752}"
    same "vss_2_stor store file (TSK) starts at the store header" \
      "$(( $(echo "$st" | awk '/^Type: \$DATA/{getline; print $1; exit}') * 4096 ))" "$hdr"
else
    skip "istat (sleuthkit) missing: store file cross-check"
fi
want=$(python3 -c "import sys,hashlib; print(hashlib.md5(b'STORAGE'*1100+bytes(492)).hexdigest())")
same "vss_2_stor snapshot 1 at 40*4096" \
  "$("$VSSINFO" --extract 1 --range $((40*4096)):8192 "$I/vss_2_stor.raw" | md5sum | cut -d' ' -f1)" "$want"
same "vss_2_stor live differs there (5TORAGE)" \
  "$(dd if="$I/vss_2_stor.raw" bs=4096 skip=$((34603008/4096+40)) count=1 status=none | head -c 7)" "5TORAGE"
same "vss_2_stor snapshot 1 MD5 at 44*4096" \
  "$("$VSSINFO" --extract 1 --range $((44*4096)):8192 "$I/vss_2_stor.raw" | md5sum | cut -d' ' -f1)" \
  "5149c33b9453e2bf30a5e6ec944654f7"

# ---- vss_1_vol + vss_2_stor: storage on another disk image -------------------
out=$(J "$I/vss_1_vol.raw" "$I/vss_2_stor.raw")
sv='[s for v in d["volumes"] if v["image"].endswith("vss_1_vol.raw") for s in v["snapshots"]]'
same "vss_1_vol store GUIDs" "$(echo "$out" | q "' '.join(s['store_guid'] for s in $sv)")" \
  "bbaa765b-8204-11eb-90f4-080027768df7 bbaa7663-8204-11eb-90f4-080027768df7"
same "vss_1_vol volume size" "$(echo "$out" | q "set(s['volume_size'] for s in $sv)")" "{5333057536}"
same "vss_1_vol storage found on the second image" \
  "$(echo "$out" | q "$sv[0]['storage']['image'].split('/')[-1], $sv[0]['storage']['offset']")" "vss_2_stor.raw 34603008"
pattern() { # CHAR COUNT ZEROS
    python3 -c "import sys,hashlib; print(hashlib.md5(b'$1'*$2+bytes($3)).hexdigest())"
}
for n in 1 2; do
    same "vss_1_vol snapshot $n pattern" \
      "$("$VSSINFO" --extract $n --range $((1837*4096)):704512 "$I/vss_1_vol.raw" "$I/vss_2_stor.raw" | md5sum | cut -d' ' -f1)" \
      "$(pattern $n 703800 712)"
done
same "vss_1_vol live pattern (3)" \
  "$(dd if="$I/vss_1_vol.raw" bs=4096 skip=$((34603008/4096+1837)) count=172 status=none | md5sum | cut -d' ' -f1)" \
  "$(pattern 3 703800 712)"
err=$("$VSSINFO" --extract 1 "$I/vss_1_vol.raw" 2>&1 >/dev/null); rc=$?
check "vss_1_vol without its storage image: clear error" \
  test "$rc" -eq 1 -a -n "$(echo "$err" | grep -i 'redirected storage')"

# The shadow copy files inside snapshots (docs/format.md, "The shadow copy
# files"): Windows' per-cluster hashes of both snapshots of a volume like
# this one (two snapshots, storage redirected, the catalog on the source
# volume) show the catalog's live bytes in the older snapshot and zeros in
# the newest. The catalog's blocks, found from the VSS header, must be
# mapped and read so.
check "vss_1_vol catalog: live bytes (stale, diff-area) in snapshot 1, zeros in snapshot 2" \
  python3 - "$VSSINFO" "$I/vss_1_vol.raw" "$I/vss_2_stor.raw" 34603008 <<'PY'
import json, struct, subprocess, sys
vssinfo, img, stor, base = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
f = open(img, "rb")
f.seek(base + 0x1E00 + 48)
off = struct.unpack("<Q", f.read(8))[0]
blocks = []
while off:                       # the catalog chain: next offset at +40
    blocks.append(off)
    f.seek(base + off + 40)
    off = struct.unpack("<Q", f.read(8))[0]
assert blocks, "no catalog"
for snap, cls in ((1, "stale"), (2, "zero")):
    runs = json.loads(subprocess.run(
        [vssinfo, "--map", str(snap), "--json", img, stor],
        check=True, capture_output=True).stdout)["runs"]
    for b in blocks:
        hit = [r for r in runs if r["offset"] < b + 16384 and b < r["offset"] + r["length"]]
        assert all(r["class"] == cls and r.get("reason") == "diff-area" for r in hit), (snap, b, hit)
        got = subprocess.run([vssinfo, "--extract", str(snap), "--range", "%d:16384" % b, img, stor],
                             check=True, capture_output=True).stdout
        f.seek(base + b)
        live = f.read(16384)
        assert got == (live if snap == 1 else bytes(16384)), (snap, b)
        assert live != bytes(16384)
print(len(blocks), "catalog blocks")
PY

# ---- vss_3_volstor: storage on another partition of the same disk ------------
out=$(J "$I/vss_3_volstor.raw")
same "vss_3_volstor partition 1 has no snapshots, partition 2 has two" \
  "$(echo "$out" | q "[(v['offset'], len(v['snapshots'])) for v in d['volumes']]")" "[(1048576, 0), (2148532224, 2)]"
same "vss_3_volstor store GUIDs" \
  "$(echo "$out" | q "' '.join(s['store_guid'] for v in d['volumes'] for s in v['snapshots'])")" \
  "9b2ae2cc-8461-11eb-90f8-080027768df7 9b2ae2cf-8461-11eb-90f8-080027768df7"
same "vss_3_volstor volume size" "$(echo "$out" | q "set(s['volume_size'] for v in d['volumes'] for s in v['snapshots'])")" "{3218079744}"
for n in 1 2; do
    same "vss_3_volstor snapshot $n pattern" \
      "$("$VSSINFO" --extract $n --range $((261856*4096)):52272 "$I/vss_3_volstor.raw" | md5sum | cut -d' ' -f1)" \
      "$(pattern $n 52272 0)"
done
same "vss_3_volstor live pattern (3)" \
  "$(dd if="$I/vss_3_volstor.raw" bs=4096 skip=$((2148532224/4096+261856)) count=13 status=none | head -c 52272 | md5sum | cut -d' ' -f1)" \
  "$(pattern 3 52272 0)"

# ---- vsstest: Windows 7 era, bare volume ---------------------------------------
out=$(J "$I/vsstest.raw")
vs='[s for v in d["volumes"] for s in v["snapshots"]]'
same "vsstest listing" "$(echo "$out" | q "[(s['store_guid'], s['shadow_copy_set_id'], s['shadow_copy_id'], s['creation_time'], s['volume_size'], hex(s['attribute_flags'])) for s in $vs]")" \
  "[('600f0b69-5bdf-11e3-9d6c-005056c00008', '0a4e3901-6abb-48fc-95c2-6ab9e38e9e71', '4e3c03c2-7bc6-4288-ad96-c1eac1a55f71', '2013-12-03T06:35:09.7363787Z', 1073741824, '0x420009'), ('600f0b6d-5bdf-11e3-9d6c-005056c00008', '8438a0ee-0f06-443b-ac0c-2905647ca5d6', '18f1ac6e-959d-436f-bdcc-e797a729e290', '2013-12-03T06:37:48.9190583Z', 1073741824, '0x420009')]"
same "vsstest snapshot 1 at 0x18e" "$("$VSSINFO" --extract 1 --range 0x18e:47 "$I/vsstest.raw" | od -An -c | tr -s ' ' | tr -d '\n')" \
  "$(printf 'A disk read error occurred\0\r\nBOOTMGR is missing' | od -An -c | tr -s ' ' | tr -d '\n')"
same "vsstest snapshot 1 at 0x1e0" "$("$VSSINFO" --extract 1 --range 0x1e0:16 "$I/vsstest.raw")" "rl+Alt+Del to re"
same "vsstest snapshot 1 at 0x3fffffd8" "$("$VSSINFO" --extract 1 --range 0x3fffffd8:8 "$I/vsstest.raw")" "Press Ct"

# The whole older snapshot, shadow copy files included, as libvshadow reads
# it (and dfir_ntfs: MD5 bc15e510…, as the issue reports): both read those
# files through in every snapshot but the newest.
if /usr/bin/python3 -c 'import pyvshadow' 2>/dev/null; then
    same "vsstest snapshot 1: whole-volume MD5 as libvshadow (pyvshadow) reads it" \
      "$("$VSSINFO" --extract 1 "$I/vsstest.raw" | md5sum | cut -d' ' -f1)" \
      "$(/usr/bin/python3 - "$I/vsstest.raw" <<'PY'
import hashlib, sys, pyvshadow
v = pyvshadow.volume()
v.open(sys.argv[1])
s = v.get_store(0)
h, left = hashlib.md5(), s.volume_size
while left:
    b = s.read(min(left, 1 << 22))
    h.update(b)
    left -= len(b)
print(h.hexdigest())
PY
)"
else
    skip "pyvshadow (python3-libvshadow) missing: whole-snapshot comparison"
fi

# ---- whole-volume extraction, sparse output, and the provenance map ----------
T=$(mktemp -d)
"$VSSINFO" --extract 2 --output "$T/s2.raw" "$I/vsstest.raw" >/dev/null
same "sparse --output has the volume size" "$(stat -c %s "$T/s2.raw")" 1073741824
same "--output equals stdout" "$(md5sum < "$T/s2.raw" | cut -d' ' -f1)" \
  "$("$VSSINFO" --extract 2 "$I/vsstest.raw" | md5sum | cut -d' ' -f1)"
"$VSSINFO" --map 2 "$I/vsstest.raw" > "$T/map"
check "--map runs cover the volume exactly, in order" python3 - "$T/map" 1073741824 <<'PY'
import sys
pos = 0
for line in open(sys.argv[1]):
    f = line.split()
    off, n, cls = int(f[0]), int(f[1]), f[2]
    assert off == pos and n > 0 and cls in ("store", "live", "zero", "stale"), line
    assert len(f) == 5 if cls == "store" else len(f) in (3, 5), line
    pos += n
assert pos == int(sys.argv[2]), pos
PY
check "--map store runs hold exactly the extracted bytes" python3 - "$T/map" "$T/s2.raw" "$I/vsstest.raw" <<'PY'
import sys
runs = [l.split() for l in open(sys.argv[1])]
snap, img = open(sys.argv[2], "rb"), open(sys.argv[3], "rb")
checked = 0
for f in runs:
    if f[2] not in ("store", "live"):
        continue
    off, n = int(f[0]), int(f[1])
    src = int(f[4]) if f[2] == "store" else off
    n = min(n, 65536)
    snap.seek(off); img.seek(src)
    assert snap.read(n) == img.read(n), f
    checked += 1
assert checked > 0
PY
"$VSSINFO" --map 1 --json --range 0:65536 "$I/vsstest.raw" > "$T/map.json"
check "--map --json is valid and covers the range" python3 -c "
import json; d=json.load(open('$T/map.json')); r=d['runs']
assert r[0]['offset']==0 and sum(x['length'] for x in r)==65536"
rm -rf "$T"
finish
