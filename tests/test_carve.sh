#!/usr/bin/env bash
# Carving deleted snapshots (issue 16): copies of the Windows-made images
# (sparse, in the work directory, never next to the evidence) have their
# catalog destroyed by tests/carve_destroy.py as vssadmin delete shadows
# leaves it; every carved snapshot must then equal the original snapshot
# of the intact image (store GUIDs and order as the README's known
# answers, whole volumes byte for byte or provenance maps run for run),
# except where the deletion itself changed the volume. Hostile stores:
# chain loops, blocks at the wrong own offset, giant ranges.
set -u
. "$(dirname "$0")/lib.sh"
require_built

# A directory of this run's own (two runs at once must not share one),
# removed however the script ends.
mkdir -p "$WORK"
T=$(mktemp -d "$WORK/carve.XXXXXX")
trap 'rm -rf "$T"' EXIT

q() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- hostile stores (no ../shared needed) -----------------------------------
python3 - "$T/hostile.raw" <<'PY'
import struct, sys
BS = 16384
VSS_ID = bytes.fromhex("6b87083876c1484eb7ae04046e6cc752")
img = bytearray(2 << 20)
def blk(off, typ, rel, nxt, own=None):
    img[off:off + 48] = VSS_ID + struct.pack("<IIQQQ", 1, typ, rel, off if own is None else own, nxt)
blk(4 * BS, 4, 0, 0)                    # store header
blk(5 * BS, 3, BS, 6 * BS)              # block list: 5 -> 6 -> 7 -> 6 (loop)
blk(6 * BS, 3, 2 * BS, 7 * BS)
blk(7 * BS, 3, 3 * BS, 6 * BS)
blk(8 * BS, 6, 4 * BS, 0)               # bitmap
blk(20 * BS, 6, 0, 0, own=12345)        # wrong own offset: a copy
blk(40 * BS, 4, 0, 0)                   # second store: giant block range
blk(41 * BS, 3, BS, 0)
blk(42 * BS, 5, 2 * BS, 0)
img[42 * BS + 128:42 * BS + 152] = struct.pack("<QQQ", 43 * BS, 3 * BS, 1 << 63)
blk(43 * BS, 6, 3 * BS, 0)
blk(60 * BS, 4, 0, 0)                   # third store: overlapping ranges
blk(61 * BS, 3, BS, 0)
blk(62 * BS, 5, 2 * BS, 0)
img[62 * BS + 128:62 * BS + 176] = struct.pack("<QQQQQQ", 63 * BS, 3 * BS, 4 * BS,
                                               64 * BS, 5 * BS, 4 * BS)
blk(63 * BS, 6, 3 * BS, 0)
open(sys.argv[1], "wb").write(img)
PY
out=$("$VSSINFO" -o 0 --carve "$T/hostile.raw" 2>&1); st=$?
same "hostile: --carve exits 1 (a store cannot be read)" "$st" 1
check "hostile: the loop is named with its offsets" \
  grep -q "block list chain from offset 81920 loops (at offset" <<<"$out"
check "hostile: the block at a wrong own offset is not used" \
  grep -q "1 elsewhere (copies: not used)" <<<"$out"
check "hostile: the giant block range claims no store (extent guessed)" \
  grep -q "no block-range list maps its header" <<<"$out"
check "hostile: overlapping block ranges are named and not used" \
  grep -q "block-range list at offset 1015808 has overlapping ranges: not used" <<<"$out"
out=$("$VSSINFO" -o 0 --carved --extract 1 --output "$T/h1.raw" "$T/hostile.raw" 2>&1); st=$?
same "hostile: --carved --extract of the looped store fails" "$st" 1
check "hostile: ... naming the carved store and the loop" \
  grep -q "carved store at offset 65536:.*block list chain from offset 81920 loops" <<<"$out"
[ -e "$T/h1.raw" ] && bad "hostile: nothing written" || ok "hostile: nothing written"

# ---- generated: snapshots deleted as Windows does (docs/testimages.md) -------
# carve_all: every snapshot deleted; carve_keep: the two older of four
# (the newer two survive in the catalog); carve_reuse: all deleted, then
# new files on part of the freed store clusters. The manifests' truth was
# made before the deletion; tests/carve_generated.py checks every carved
# snapshot against it and that exactly the lost bytes are marked.
if make -s -C "$ROOT/testimages" carve >"$T/gen.log" 2>&1; then
    G=$ROOT/testimages/out/carve
    for m in "$G"/carve_*.json; do
        while IFS= read -r line; do
            case $line in
            PASS*) ok "${line#PASS }" ;;
            *) bad "${line#FAIL }" ;;
            esac
        done < <(python3 "$ROOT/tests/carve_generated.py" "$m" "$VSSINFO" "$T" 2>&1 ||
                 echo "FAIL $(basename "$m"): carve_generated.py stopped")
    done
    # Point 6: one pass that skips sparse holes and MiB chunks live files
    # wholly hold; --scan-all reads them too and finds the same stores.
    a=$("$VSSINFO" --carve --json "$G/carve_all.img")
    b=$("$VSSINFO" --carve --json --scan-all "$G/carve_all.img")
    same "carve_all: read + skipped (holes, live files) = the volume" \
      "$(echo "$a" | q 'sum(d["carved"][0][k] for k in ("bytes_read", "bytes_skipped_sparse", "bytes_skipped_live"))')" \
      "$(echo "$a" | q 'd["carved"][0]["volume_size"]')"
    same "carve_all: chunks of live files are skipped by default, not with --scan-all" \
      "$(echo "$a" | q 'd["carved"][0]["bytes_skipped_live"] > 0')/$(echo "$b" | q 'd["carved"][0]["bytes_skipped_live"]')" "True/0"
    same "carve_all: --scan-all carves the same stores" \
      "$(echo "$b" | q '[(s["store_guid"], s["store_header_offset"], s["metadata_blocks"]) for s in d["carved"][0]["stores"]]')" \
      "$(echo "$a" | q '[(s["store_guid"], s["store_header_offset"], s["metadata_blocks"]) for s in d["carved"][0]["stores"]]')"
    # Point 4: snapshots the catalog still lists and deleted ones, one
    # listing, each marked; the catalog alone lists only the survivors.
    same "carve_keep: --carve lists deleted and catalogued snapshots, marked" \
      "$("$VSSINFO" --carve "$G/carve_keep.img" | grep -o 'Carved snapshot [0-9] ([a-z ]*)' | tr '\n' ';')" \
      "Carved snapshot 1 (deleted);Carved snapshot 2 (deleted);Carved snapshot 3 (in the catalog);Carved snapshot 4 (in the catalog);"
    same "carve_keep: the catalog lists the two survivors (manifest 3, 4)" \
      "$("$VSSINFO" --json "$G/carve_keep.img" | q '" ".join(s["store_guid"] for s in d["volumes"][0]["snapshots"])')" \
      "$(q '" ".join(s["store_guid"] for s in d["snapshots"] if not s["deleted"])' <"$G/carve_keep.json")"
    same "carve_keep: --carved --extract 3 equals the catalog's snapshot 1" \
      "$("$VSSINFO" --carved --extract 3 "$G/carve_keep.img" | md5sum)" \
      "$("$VSSINFO" --extract 1 "$G/carve_keep.img" | md5sum)"
    # The store files' records were reused by the new files: only copies
    # inside store data name them; the stores still count as deleted and
    # their reused clusters are checked (tests/carve_generated.py).
    same "carve_reuse: store files deleted although their records were reused" \
      "$("$VSSINFO" --carve --json "$G/carve_reuse.img" | q '" ".join(str(s["file_deleted"]) for s in d["carved"][0]["stores"])')" \
      "True True True"
    off=$(q '[o for o, e in d["snapshots"][0]["overwritten"]][0]' <"$G/carve_reuse.json")
    same "carve_reuse: bytes marked overwritten are still shown (what the new file holds)" \
      "$("$VSSINFO" --carved --extract 1 --range "$off":512 "$G/carve_reuse.img" | python3 -c 'import sys; print(set(sys.stdin.buffer.read()))')" "{238}"
else
    bad "make -C testimages carve failed: $(tail -3 "$T/gen.log")"
fi

if ! prepare_real; then
    skip "real images: $REAL is absent"
    finish
    exit
fi
I=$WORK/real

# ---- vsstest (Windows 7): every snapshot deleted ----------------------------
cp --sparse=always "$I/vsstest.raw" "$T/vsstest.raw"
changed=$(python3 "$ROOT/tests/carve_destroy.py" "$T/vsstest.raw" 0)
check "vsstest: the original still lists 2 snapshots" \
  test "$("$VSSINFO" --json "$I/vsstest.raw" | q 'len(d["volumes"][0]["snapshots"])')" = 2
"$VSSINFO" "$T/vsstest.raw" >/dev/null 2>&1
same "vsstest: after the deletion no snapshot is listed (exit 3)" "$?" 3
j=$("$VSSINFO" --carve --json "$T/vsstest.raw")
same "vsstest: carved store GUIDs, oldest first (README)" \
  "$(echo "$j" | q '" ".join(s["store_guid"] for s in d["carved"][0]["stores"])')" \
  "600f0b69-5bdf-11e3-9d6c-005056c00008 600f0b6d-5bdf-11e3-9d6c-005056c00008"
same "vsstest: shadow copy IDs (README)" \
  "$(echo "$j" | q '" ".join(s["shadow_copy_id"] for s in d["carved"][0]["stores"])')" \
  "4e3c03c2-7bc6-4288-ad96-c1eac1a55f71 18f1ac6e-959d-436f-bdcc-e797a729e290"
same "vsstest: attribute flags, confidence, deleted" \
  "$(echo "$j" | q '" ".join("%x/%s/%s" % (s["attribute_flags"], s["confidence"], s["in_catalog"]) for s in d["carved"][0]["stores"])')" \
  "420009/high/False 420009/high/False"
same "vsstest: no 0x400 (header version 1)" \
  "$(echo "$j" | q '" ".join(hex(s["catalog_flags"]) for s in d["carved"][0]["stores"])')" "0x40 0x40"
# Creation estimate within 1 s of the catalog's (README: 06:35:09.736, 06:37:48.919)
same "vsstest: creation estimates within a second of the catalog's" \
  "$(echo "$j" | q '" ".join(s["creation_time"][:18] for s in d["carved"][0]["stores"])')" \
  "2013-12-03T06:35:0 2013-12-03T06:37:4"
# The original's offsets of every piece (its catalog) equal the carved ones.
same "vsstest: store header offsets equal the catalog's" \
  "$(echo "$j" | q '" ".join(str(s["store_header_offset"]) for s in d["carved"][0]["stores"])')" \
  "$("$VSSINFO" --json "$I/vsstest.raw" | q '" ".join(str(s["store_header_offset"]) for s in d["volumes"][0]["snapshots"])')"
# Snapshot 1 reads through both stores: byte for byte; snapshot 2 by map.
printf '%s\n' "$changed" >"$T/vchanged"
"$VSSINFO" --extract 1 --output "$T/o1.raw" "$I/vsstest.raw" >/dev/null
"$VSSINFO" --carved --extract 1 --output "$T/c1.raw" "$T/vsstest.raw" >/dev/null
same "vsstest: carved snapshot 1 equals the original outside the deleted catalog" \
  "$(python3 "$ROOT/tests/carve_bytecmp.py" "$T/o1.raw" "$T/c1.raw" "$T/vchanged")" 0
rm -f "$T/o1.raw" "$T/c1.raw"
"$VSSINFO" --map 2 "$I/vsstest.raw" >"$T/om2"
"$VSSINFO" --carved --map 2 "$T/vsstest.raw" >"$T/cm2"
check "vsstest: carved snapshot 2 reads from where the original does (map)" \
  python3 "$ROOT/tests/carve_mapcmp.py" "$T/om2" "$T/cm2" "$T/vchanged"
check "vsstest: --carved --ls reads the carved snapshot's NTFS" \
  test "$("$VSSINFO" --carved --ls 1:/ "$T/vsstest.raw" | wc -l)" -gt 3

# vssmount --carved: vss1 of the carved stack against the intact original.
VSSMOUNT=${VSSMOUNT:-$ROOT/$BUILD/vssmount}
if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null && [ -x "$VSSMOUNT" ]; then
    mkdir -p "$T/m"
    if "$VSSMOUNT" --carved "$T/vsstest.raw" "$T/m"; then
        same "vssmount --carved: vss1, 1 MiB with store data, equals the original snapshot 1" \
          "$(dd if="$T/m/vss1" bs=65536 skip=2 count=16 2>/dev/null | md5sum)" \
          "$("$VSSINFO" --extract 1 --range 131072:1048576 "$I/vsstest.raw" | md5sum)"
        fusermount3 -u "$T/m"
    else
        bad "vssmount --carved did not mount"
    fi
else
    skip "vssmount --carved: FUSE is not available"
fi

# ---- vsstest: only the older snapshot deleted ---------------------------------
cp --sparse=always "$I/vsstest.raw" "$T/keep.raw"
python3 "$ROOT/tests/carve_destroy.py" "$T/keep.raw" 0 --keep 1 >/dev/null
j=$("$VSSINFO" --carve --json "$T/keep.raw")
same "vsstest keep 1: one command shows both, marked" \
  "$(echo "$j" | q '" ".join("%s:%s" % (s["store_guid"][:8], s["in_catalog"]) for s in d["carved"][0]["stores"])')" \
  "600f0b69:False 600f0b6d:True"

# ---- vsstest: store files deleted in NTFS, then part of one reused ---------
# The store files are deleted with ntfs-3g as Windows deletes them (their
# clusters freed, records marked unused), then 16 KiB of store 2's data
# (where the original snapshot 2 reads one of its blocks) is given to "a
# new file": overwritten and set in the live $Bitmap (tests/carve_reuse.py;
# The Sleuth Kit's blkstat must then call the cluster allocated). Exactly
# the snapshot bytes read from there must be marked stale/overwritten.
if command -v ntfs-3g >/dev/null && command -v blkstat >/dev/null &&
   [ -w /dev/fuse ] && [ "$(id -u)" = 0 ]; then
    cp --sparse=always "$I/vsstest.raw" "$T/ow.raw"
    python3 "$ROOT/tests/carve_destroy.py" "$T/ow.raw" 0 >"$T/owchanged"
    mkdir -p "$T/mnt"
    ntfs-3g -o rw "$T/ow.raw" "$T/mnt" &&
      rm "$T/mnt/System Volume Information/"*3808876b*
    umount "$T/mnt"
    "$VSSINFO" --map 2 --json "$I/vsstest.raw" >"$T/om2.json"
    S=$(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["runs"]:
    if r["class"] == "store" and r["length"] >= 16384 and r["store_offset"] % 16384 == 0:
        print(r["store_offset"]); break' "$T/om2.json")
    python3 "$ROOT/tests/carve_reuse.py" "$T/ow.raw" "$S" >/dev/null
    same "reuse: TSK calls the reused cluster allocated" \
      "$(blkstat "$T/ow.raw" $((S / 4096)) | tail -1)" Allocated
    j=$("$VSSINFO" --carve --json "$T/ow.raw")
    same "reuse: both store files deleted, 16384 bytes of store 2 overwritten" \
      "$(echo "$j" | q '" ".join("%s/%d" % (s["file_deleted"], s["overwritten_bytes"]) for s in d["carved"][0]["stores"])')" \
      "True/0 True/16384"
    for n in 1 2; do
        "$VSSINFO" --map $n --json "$I/vsstest.raw" >"$T/om.json"
        "$VSSINFO" --carved --map $n --json "$T/ow.raw" >"$T/cm.json"
        # expected: the original's store-2 runs read from [S, S+16384)
        # (snapshot 1 has its own copy of that block: none there)
        same "reuse: snapshot $n marks exactly the bytes read from the reused clusters" \
          "$(python3 -c '
import json, sys
S = int(sys.argv[3])
want = []
for r in json.load(open(sys.argv[1]))["runs"]:
    so = r.get("store_offset")
    if r["class"] == "store" and r["store"] == 2 and so < S + 16384 and S < so + r["length"]:
        a = max(so, S); b = min(so + r["length"], S + 16384)
        want.append((r["offset"] + a - so, b - a))
got = [(r["offset"], r["length"]) for r in json.load(open(sys.argv[2]))["runs"]
       if r.get("reason") == "overwritten"]
print(got == want and (len(want) > 0 or sys.argv[4] == "1"))' "$T/om.json" "$T/cm.json" "$S" $n)" True
    done
    off=$(python3 -c 'import json,sys; print([r["offset"] for r in json.load(open(sys.argv[1]))["runs"] if r.get("reason") == "overwritten"][0])' "$T/cm.json")
    same "reuse: the bytes there are read (what the new file holds), only labelled" \
      "$("$VSSINFO" --carved --extract 2 --range "$off":512 "$T/ow.raw" | python3 -c 'import sys; print(set(sys.stdin.buffer.read()))')" "{238}"
    rm -f "$T/ow.raw"
else
    skip "reuse: needs root, /dev/fuse, ntfs-3g and The Sleuth Kit"
fi

# ---- vss_2003 (six snapshots, 128 GiB sparse): all deleted --------------------
cp --sparse=always "$I/vss_2003.raw" "$T/vss_2003.raw"
python3 "$ROOT/tests/carve_destroy.py" "$T/vss_2003.raw" 32256 >"$T/changed"
j=$("$VSSINFO" -o 32256 --carve --json --no-progress "$T/vss_2003.raw")
check "vss_2003: the scan passes over the sparse image's holes (reads < 1 GiB of 128)" \
  test "$(echo "$j" | q 'd["carved"][0]["bytes_read"] < (1 << 30) < d["carved"][0]["bytes_skipped_sparse"]')" = True
same "vss_2003: carved store GUIDs in stack order (README)" \
  "$(echo "$j" | q '" ".join(s["store_guid"] for s in d["carved"][0]["stores"])')" \
  "12e5a133-8722-11e9-9178-525400123456 12e5a134-8722-11e9-9178-525400123456 12e5a137-8722-11e9-9178-525400123456 4ace022f-877d-11e9-8446-525400123456 4ace0230-877d-11e9-8446-525400123456 4ace0231-877d-11e9-8446-525400123456"
same "vss_2003: volume size and attribute flags (README)" \
  "$(echo "$j" | q 'set((s["volume_size"], hex(s["attribute_flags"])) for s in d["carved"][0]["stores"])')" \
  "{(137436171264, '0x2001d')}"
for n in 1; do  # snapshot 1 reads through all six stores
    "$VSSINFO" -o 32256 --map $n "$I/vss_2003.raw" >"$T/om$n"
    "$VSSINFO" -o 32256 --carved --no-progress --map $n "$T/vss_2003.raw" >"$T/cm$n"
    check "vss_2003: carved snapshot $n reads from where the original does (map)" \
      python3 "$ROOT/tests/carve_mapcmp.py" "$T/om$n" "$T/cm$n" "$T/changed"
done
# ---- vss_2_stor: one own snapshot, two stores kept for vss_1_vol ---------------
j=$("$VSSINFO" -o 34603008 --carve --json "$I/vss_2_stor.raw")
same "vss_2_stor: only its own store is in the stack (README: bbaa7659)" \
  "$(echo "$j" | q '" ".join(s["store_guid"] for s in d["carved"][0]["stores"])')" \
  "bbaa7659-8204-11eb-90f4-080027768df7"
same "vss_2_stor: the two stores of vss_1_vol are counted apart" \
  "$(echo "$j" | q 'd["carved"][0]["other_volume_stores"]')" 2
cp --sparse=always "$I/vss_2_stor.raw" "$T/vss_2_stor.raw"
python3 "$ROOT/tests/carve_destroy.py" "$T/vss_2_stor.raw" 34603008 >/dev/null
# Without any catalog the stores kept for vss_1_vol cannot be told from
# the volume's own (docs/format.md): they stay in the stack, newer than
# bbaa7659 by their times, and snapshot 1 still reads the README's bytes.
same "vss_2_stor, catalog destroyed: snapshot 1 at 40*4096 (README)" \
  "$("$VSSINFO" -o 34603008 --carved --extract 1 --range 163840:8192 "$T/vss_2_stor.raw" | python3 -c 'import sys; d=sys.stdin.buffer.read(); print(d == b"STORAGE" * 1100 + bytes(492))')" True
same "vss_2_stor, catalog destroyed: snapshot 1 at 44*4096 (README MD5)" \
  "$("$VSSINFO" -o 34603008 --carved --extract 1 --range 180224:8192 "$T/vss_2_stor.raw" | md5sum | cut -d' ' -f1)" \
  5149c33b9453e2bf30a5e6ec944654f7
rm -f "$T/vss_2_stor.raw"

# ---- vss_3_volstor: partition 1 keeps partition 2's stores, none of its own --
j=$("$VSSINFO" -o 1048576 --carve --json "$I/vss_3_volstor.raw")
same "vss_3_volstor p1: partition 2's two stores are not its snapshots" \
  "$(echo "$j" | q 'd["carved"][0]["other_volume_stores"]')" 2
# A third, deleted store lies there too (its NTFS record is deleted); as
# partition 1 has no snapshots of its own (README) it is not claimed as
# one with confidence: medium, with the reason.
same "vss_3_volstor p1: the deleted store found is flagged as maybe another volume's" \
  "$(echo "$j" | q '" ".join("%s/%s/%s" % (s["confidence"], s["file_deleted"], "another volume" in s["problems"]) for s in d["carved"][0]["stores"])')" \
  "medium/True/True"
finish
