#!/usr/bin/env bash
# libvss against the generated images (testimages/): every snapshot of
# every default scenario, block by block, as the manifests say.
set -u
. "$(dirname "$0")/lib.sh"
if ! make -s -C "$ROOT/testimages" >/dev/null 2>&1; then
    bad "make -C testimages failed"
    finish; exit
fi
for m in "$ROOT"/testimages/out/*.json; do
    # The benchmark scenario (make -C testimages large) has no per-block
    # truth and is not part of the default set.
    if grep -q '"block_list": null' "$m"; then
        skip "$(basename "$m"): no per-block manifest (benchmark scenario)"
        continue
    fi
    out=$(python3 "$ROOT/tests/check_generated.py" "$VSSINFO" "$m" 2>&1)
    echo "$out" | grep -v '^[0-9]* passed'
    p=$(echo "$out" | tail -1 | awk '{print $1}')
    f=$(echo "$out" | tail -1 | awk '{print $3}')
    PASS=$((PASS + ${p:-0}))
    FAIL=$((FAIL + ${f:-1}))
done
finish
