#!/usr/bin/env bash
# Replay every committed fuzzing input (tests/fuzz/corpus/<harness>: seeds
# cut from the real images and the regression inputs of fixed bugs) through
# its harness, without libFuzzer: $BUILD/tests/fuzz_replay_<harness>, built
# by `make reliability-tests` (a dependency of `make test`). An invariant
# violation aborts the replay, which counts as a failure. VALGRIND="valgrind
# ..." runs each replay under it (make valgrind).
set -u
. "$(dirname "$0")/lib.sh"
names="header catalog store blocklist blockrange bitmap partition volume snapshot
       container ntfs storage multi carve"
for n in $names; do
    bin=$ROOT/$BUILD/tests/fuzz_replay_$n
    if [ ! -x "$bin" ]; then
        skip "fuzz_$n: $bin not built (make reliability-tests)"
        continue
    fi
    dirs=$ROOT/tests/fuzz/corpus/$n
    [ $n = volume ] && dirs="$dirs $ROOT/tests/fuzz/corpus/snapshot"
    if out=$(${VALGRIND:-} "$bin" $dirs 2>&1); then
        ok "fuzz_$n replay: $(echo "$out" | tail -n 1)"
    else
        bad "fuzz_$n replay: $(echo "$out" | tail -n 5 | tr '\n' ' ')"
    fi
done
finish
