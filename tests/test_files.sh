#!/usr/bin/env bash
# tests/test_files.sh — files inside snapshots (issue #3): vssinfo --ls /
# --file against The Sleuth Kit on every snapshot of every real image,
# damaged-range reports checked independently, and the images unchanged.
# The checks themselves are in tests/files_check.py. Ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

require_tools fls icat istat fsstat qemu-img python3
require_built "$VSSINFO"
require_real
before=$(real_fingerprints)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libvss-files.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A private copy: a concurrent `make` must not swap the binary mid-test.
cp "$VSSINFO" "$tmp/vssinfo" && VSSINFO=$tmp/vssinfo

# A few CLI checks that need no TSK.
img="$WORK/real/vsstest.raw"
out=$("$VSSINFO" --ls 1 "$img" 2>&1)
check "--ls 1 lists the root of vsstest snapshot 1 (syslog, record 35)" \
    grep -Eq '^- +35 +1 +1247 .* syslog$' <<<"$out"
out=$("$VSSINFO" --ls 'live:System Volume Information' "$img" 2>&1)
check "--ls live:PATH lists a subdirectory of the live volume" \
    grep -q '{3808876b-c176-4e48-b7ae-04046e6cc752}$' <<<"$out"
out=$("$VSSINFO" --ls 1 -r --bodyfile "$img" 2>&1)
check "--bodyfile prints TSK body lines (address RECORD-TYPE-ID)" \
    grep -q '^0|/syslog|35-128-3|r/rrwxrwxrwx|0|0|1247|1386052344|1386052344|1386052344|1386052344$' <<<"$out"
out=$("$VSSINFO" --file '2:$Secure:$SDS' "$img" | wc -c)
same "--file PATH:STREAM recovers a named stream (\$Secure:\$SDS)" "$out" 263492
# $Secure has no unnamed $DATA: PATH alone is its (empty) unnamed stream,
# never $SDS, and the note says which stream to ask for.
"$VSSINFO" --file '2:$Secure' "$img" >"$tmp/out" 2>"$tmp/err"
same "--file N:\$Secure exits 0" "$?" 0
same "  ... writes nothing (no unnamed \$DATA; was \$SDS's 263492 bytes)" \
    "$(wc -c <"$tmp/out")" 0
check "  ... and names \$Secure:\$SDS in a note" \
    grep -qF "vssinfo:   --file '2:\$Secure:\$SDS' (263492 bytes)" "$tmp/err"
"$VSSINFO" --file 1:no/such/file "$img" >/dev/null 2>"$tmp/err"
same "--file of a missing path fails with exit code 1" "$?" 1
check "  ... and names what was not found" grep -q "'no' not found" "$tmp/err"
"$VSSINFO" --file 1:syslog --output "$img" "$img" 2>/dev/null
same "--file refuses to write over an evidence image" "$?" 2
"$VSSINFO" --file 1:syslog --json "$img" >/dev/null 2>&1
same "--file --json without --output is a usage error" "$?" 2

# (a) + (c): every snapshot of every image against TSK.
while IFS= read -r line; do
    case $line in
    ok\ *) ok "${line#ok   }" ;;
    FAIL\ *) bad "${line#FAIL }" ;;
    *) echo "$line" ;;
    esac
done < <(python3 tests/files_check.py "$VSSINFO" "$WORK/real" "$tmp" 2>&1)

check_real_unchanged "$before"
finish
