#!/usr/bin/env bash
# make valgrind: the fuzz corpus replay, the fault-injection test and a
# reduced hostile-image run under valgrind memcheck (definite and indirect
# leaks are errors). Not named test_*.sh: tests/run does not pick it up.
set -u
. "$(dirname "$0")/lib.sh"
VG=${VALGRIND:-valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect}
out=$(VALGRIND="$VG" bash "$ROOT/tests/test_fuzz_replay.sh" 2>&1)
echo "$out" | grep -v '^ok '
line=$(echo "$out" | tail -n 1)
if echo "$line" | grep -q ', 0 failed$'; then
    ok "fuzz replay under valgrind: $line"
else
    bad "fuzz replay under valgrind: $line"
fi
for t in faults_test hostile_test; do
    bin=$ROOT/$BUILD/tests/$t
    if [ ! -x "$bin" ]; then skip "$t not built"; continue; fi
    if out=$(HOSTILE_FLIPS=${HOSTILE_FLIPS:-30} HOSTILE_NO_RLIMIT=1 HOSTILE_FORK=0 $VG "$bin" 2>&1); then
        ok "$t under valgrind: $(echo "$out" | tail -n 1)"
    else
        echo "$out" | grep -v '^ok ' | tail -n 30
        bad "$t under valgrind"
    fi
done
finish
