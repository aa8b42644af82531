#!/usr/bin/env bash
# vssinfo on real images, as an examiner drives it (issue 13, point 5):
#  - volumes by sector as mmls (The Sleuth Kit) prints them: the listing's
#    start sectors equal mmls's, -o Ns picks the volume -o BYTES picks,
#    --sector-size scales Ns; a wrong -o (bytes where sectors were meant)
#    exits 3 and lists where the volumes really are;
#  - --extract --output prints the MD5 and SHA-256 of what it wrote: equal
#    to md5sum/sha256sum of the file;
#  - --extract and --verify-image draw a progress bar on a terminal
#    (script(1) gives one) and nothing otherwise or with --no-progress.
set -u
. "$(dirname "$0")/lib.sh"
require_built "$VSSINFO"
require_tools mmls md5sum sha256sum
require_real
T=$(mktemp -d "${TMPDIR:-/tmp}/libvss-extract.XXXXXX")
trap 'rm -rf "$T"' EXIT
I=$WORK/real

# ---- sectors as mmls prints them ---------------------------------------------
# mmls's NTFS rows: START (sectors of 512 bytes).
mmls_starts() { mmls "$1" | awk '$NF ~ /0x07\)$/ || /NTFS/ {print $3 + 0}'; }
for img in vss_2003 vss_3_volstor; do
    starts=$(mmls_starts "$I/$img.raw")
    if [ -z "$starts" ]; then
        bad "$img: mmls lists no NTFS volume"
        continue
    fi
    listing=$(timeout 60 "$VSSINFO" "$I/$img.raw" 2>/dev/null)
    for s in $starts; do
        check "$img: the listing shows mmls's start sector $s (offset $((s * 512)))" \
            grep -q "^Volume at offset $((s * 512)) = sector $s " <<<"$listing"
        same "$img: --json start_sector of the volume at $((s * 512)) is mmls's $s" \
            "$("$VSSINFO" --json "$I/$img.raw" | python3 -c "import json,sys; print([v['start_sector'] for v in json.load(sys.stdin)['volumes'] if v['offset'] == $((s * 512))])")" "[$s]"
    done
    # the volume with snapshots, named by sector and by byte offset
    for s in $starts; do
        bymap=$(timeout 60 "$VSSINFO" -o "$((s * 512))" --map 1 "$I/$img.raw" 2>&1); rc1=$?
        bysec=$(timeout 60 "$VSSINFO" -o "${s}s" --map 1 "$I/$img.raw" 2>&1); rc2=$?
        if [ "$bymap" == "$bysec" ] && [ $rc1 = $rc2 ]; then
            ok "$img: -o ${s}s acts on the volume -o $((s * 512)) does (status $rc1)"
        else
            bad "$img: -o ${s}s differs from -o $((s * 512)): status $rc2 vs $rc1"
        fi
    done
    # the classic mistake: mmls's sector number given as a byte offset
    s=$(echo "$starts" | tail -1)
    out=$(timeout 60 "$VSSINFO" -o "$s" --extract 1 "$I/$img.raw" 2>&1 >/dev/null); rc=$?
    same "$img: -o $s (sectors given as bytes): status 3" $rc 3
    for s2 in $starts; do
        check "$img: the wrong -o's message lists the volume at $((s2 * 512)) = sector $s2" \
            grep -q "$((s2 * 512)) = sector $s2 " <<<"$out"
    done
done
# vss_3_volstor's volume 2 starts at sector 4196352 of 512 bytes: 524544 of
# 4096. --sector-size scales both -o Ns and the listing.
same "--sector-size 4096: the listing counts 4 KiB sectors" \
    "$("$VSSINFO" --sector-size 4096 "$I/vss_3_volstor.raw" | grep -o '= sector [0-9]*' | tr '\n' ' ')" \
    "= sector 256 = sector 524544 "
same "--sector-size 4096 -o 524544s is -o 2148532224" \
    "$("$VSSINFO" --sector-size 4096 -o 524544s --map 2 "$I/vss_3_volstor.raw" | md5sum)" \
    "$("$VSSINFO" -o 2148532224 --map 2 "$I/vss_3_volstor.raw" | md5sum)"
out=$("$VSSINFO" -o 2048s --map 1 "$I/vss_3_volstor.raw" 2>&1 >/dev/null); rc=$?
check "-o at a volume without shadow copies: status 3, says which volume has them" \
    bash -c '[ "$1" = 3 ] && grep -q "4196352 (3218079744 bytes, NTFS, 2 snapshots)" <<<"$2"' _ $rc "$out"

# ---- hashes of what --extract --output wrote ---------------------------------
hash_of() { sed -n "s/^$1 *\([0-9a-f]*\)$/\1/p" "$2"; }
extract_hashes() { # NAME ARGS...: extract to $T/out, compare the printed hashes
    local name=$1
    shift
    rm -f "$T/out"
    timeout 300 "$VSSINFO" "$@" --output "$T/out" >"$T/printed" 2>"$T/err"
    local rc=$?
    same "$name: status" $rc 0
    same "$name: printed MD5 = md5sum of the file" \
        "$(hash_of MD5 "$T/printed")" "$(md5sum < "$T/out" | cut -d' ' -f1)"
    same "$name: printed SHA-256 = sha256sum of the file" \
        "$(hash_of SHA-256 "$T/printed")" "$(sha256sum < "$T/out" | cut -d' ' -f1)"
    same "$name: printed byte count = file size" \
        "$(sed -n 's/^Wrote \([0-9]*\) bytes to .*/\1/p' "$T/printed")" "$(stat -c %s "$T/out")"
    check "$name: no progress bar when stderr is not a terminal" test ! -s "$T/err"
}
extract_hashes "vsstest snapshot 2 (sparse output, holes hashed as zeros)" --extract 2 "$I/vsstest.raw"
extract_hashes "vss_2003 snapshot 3, a 64 MiB range" --extract 3 --range 1048576:67108864 "$I/vss_2003.raw"
extract_hashes "vss_3_volstor snapshot 1 -o 4196352s, a range" -o 4196352s --extract 1 --range 0:33554432 "$I/vss_3_volstor.raw"
# the same bytes to stdout: no hash lines among the data
same "without --output: stdout is the data alone" \
    "$("$VSSINFO" -o 4196352s --extract 1 --range 0:33554432 "$I/vss_3_volstor.raw" | md5sum | cut -d' ' -f1)" \
    "$(md5sum < "$T/out" | cut -d' ' -f1)"

# ---- progress bar on a terminal -------------------------------------------------
if command -v script >/dev/null; then
    rm -f "$T/out"
    script -qec "'$VSSINFO' --extract 1 --range 0:536870912 --output '$T/out' '$I/vsstest.raw'" /dev/null >"$T/tty" 2>&1
    tr '\r' '\n' <"$T/tty" >"$T/lines"
    check "--extract on a terminal: a bar with percent, bytes of the total and rate" \
        grep -qE '\[extract\] [#.]{24} +[0-9]+%  [0-9.]+ [KMG]?i?B of 512.0 MiB  [0-9.]+ [KMG]?i?B/s' "$T/lines"
    check "--extract on a terminal: the finished bar stays, at 100%" \
        grep -qE '\[extract\] #{24} 100%  512.0 MiB of 512.0 MiB  [0-9.]+ [KMG]?i?B/s *$' "$T/lines"
    check "--extract on a terminal: the hashes still printed" grep -q '^SHA-256 [0-9a-f]\{64\}' "$T/lines"
    rm -f "$T/out"
    script -qec "'$VSSINFO' --no-progress --extract 1 --range 0:536870912 --output '$T/out' '$I/vsstest.raw'" /dev/null >"$T/tty" 2>&1
    check "--no-progress: no bar on a terminal" bash -c '! grep -q "\[extract\]" "$1"' _ "$T/tty"
    check "--no-progress: the hashes printed" grep -q '^MD5 ' "$T/tty"
    head -c 300000000 /dev/urandom > "$T/v.raw"
    script -qec "'$VSSINFO' --verify-image '$T/v.raw'" /dev/null >"$T/tty" 2>&1
    check "--verify-image on a terminal: a progress bar that finishes" \
        bash -c 'tr "\r" "\n" <"$1" | grep -q "\[verify\] #\{24\} 100%  286.1 MiB of 286.1 MiB"' _ "$T/tty"
    check "--verify-image on a terminal: its MD5 is md5sum's" \
        grep -q "MD5   $(md5sum < "$T/v.raw" | cut -d' ' -f1)" "$T/tty"
    "$VSSINFO" --verify-image "$T/v.raw" >/dev/null 2>"$T/err"
    check "--verify-image, stderr not a terminal: no bar" test ! -s "$T/err"
else
    skip "script (bsdutils) missing: progress bars on a terminal"
fi
finish
