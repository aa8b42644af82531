#!/usr/bin/env bash
# make valgrind: the fuzz corpus replay, the fault-injection test and a
# reduced hostile-image run under valgrind memcheck (definite and indirect
# leaks are errors). Not named test_*.sh: tests/run does not pick it up.
# The three are independent and run side by side (one per core).
set -u
. "$(dirname "$0")/lib.sh"
VG=${VALGRIND:-valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect}
T=$(mktemp -d "${TMPDIR:-/tmp}/libvss-valgrind.XXXXXX")
trap 'rm -rf "$T"' EXIT

VALGRIND="$VG" bash "$ROOT/tests/test_fuzz_replay.sh" >"$T/replay.out" 2>&1 &
for t in faults_test hostile_test; do
    bin=$ROOT/$BUILD/tests/$t
    [ -x "$bin" ] || continue
    (HOSTILE_FLIPS=${HOSTILE_FLIPS:-30} HOSTILE_NO_RLIMIT=1 HOSTILE_FORK=0 \
        $VG "$bin" >"$T/$t.out" 2>&1
     echo $? >"$T/$t.rc") &
done
wait

grep -v '^ok ' "$T/replay.out"
line=$(tail -n 1 "$T/replay.out")
if echo "$line" | grep -q ', 0 failed$'; then
    ok "fuzz replay under valgrind: $line"
else
    bad "fuzz replay under valgrind: $line"
fi
for t in faults_test hostile_test; do
    if [ ! -e "$T/$t.rc" ]; then skip "$t not built"; continue; fi
    if [ "$(cat "$T/$t.rc")" = 0 ]; then
        ok "$t under valgrind: $(tail -n 1 "$T/$t.out")"
    else
        grep -v '^ok ' "$T/$t.out" | tail -n 30
        bad "$t under valgrind"
    fi
done
finish
