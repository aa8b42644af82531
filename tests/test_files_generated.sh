#!/usr/bin/env bash
# Files inside the generated images' snapshots: recovered as Windows returns
# them, damaged exactly where the manifest says, --bodyfile as fls -m
# writes it, and the same tree as ntfs-3g sees on the extracted snapshot.
set -u
. "$(dirname "$0")/lib.sh"
require_tools fls istat python3
if ! make -s -C "$ROOT/testimages" >/dev/null 2>&1; then
    bad "make -C testimages failed"
    finish; exit
fi
T=$(mktemp -d)
trap 'fusermount3 -u "$T/mnt" 2>/dev/null; rm -rf "$T"' EXIT
for m in "$ROOT"/testimages/out/*.json; do
    # The benchmark scenario (make -C testimages large) has no per-block
    # truth and is not part of the default set.
    if grep -q '"block_list": null' "$m"; then
        skip "$(basename "$m"): no per-block manifest (benchmark scenario)"
        continue
    fi
    out=$(python3 "$ROOT/tests/check_files_generated.py" "$VSSINFO" "$m" "$T" 2>&1)
    echo "$out" | grep -v '^[0-9]* passed'
    last=$(echo "$out" | tail -1)
    PASS=$((PASS + $(echo "$last" | awk '{print $1+0}')))
    FAIL=$((FAIL + $(echo "$last" | awk '/passed/{print $3+0; exit} {print 1}')))
done
finish
