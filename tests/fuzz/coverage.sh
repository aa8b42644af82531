#!/usr/bin/env bash
# tests/fuzz/coverage.sh — line/branch coverage of the library's parsers by
# the fuzzing corpora (committed seeds + build/fuzz/corpus/<harness> when a
# local fuzzing run left one), measured with clang source-based coverage
# (-fprofile-instr-generate -fcoverage-mapping, llvm-profdata, llvm-cov).
# Usage: tests/fuzz/coverage.sh [--with-tests]   (also the hostile-image
# and fault-injection tests). Output: build/cov/report.txt.
set -eu
cd "$(dirname "$0")/../.."
out=build/cov
names="header catalog store blocklist blockrange bitmap partition volume snapshot
       container ntfs storage multi"
flags="-std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -O1 -g -fprofile-instr-generate -fcoverage-mapping -Ilibvss/include -Ilibvss/src"
src=$(ls libvss/src/*.c | grep -v ntfs.c)
parsers="bitmap blocklist blockrange catalog chain partition snapshot store volume vss_header io error
         container container_ewf container_qcow2 container_vhd container_vhdx container_split ntfs"
rm -rf "$out"; mkdir -p "$out/prof"
for n in $names; do
    extra=
    [ $n = ntfs ] && extra="libvss/src/ntfs.c -lntfs-3g"
    clang $flags -o "$out/replay_$n" tests/fuzz/fuzz_$n.c tests/fuzz/replay_main.c $src $extra -lpthread -lz -lcrypto
    dirs="tests/fuzz/corpus/$n"
    [ -d build/fuzz/corpus/$n ] && dirs="$dirs build/fuzz/corpus/$n"
    [ $n = volume ] && dirs="$dirs tests/fuzz/corpus/snapshot"
    echo "replay_$n: $(LLVM_PROFILE_FILE="$out/prof/$n.profraw" "$out/replay_$n" $dirs | tail -n 1)"
done
objs=""
for n in $names; do objs="$objs -object $out/replay_$n"; done
if [ "${1:-}" = "--with-tests" ]; then
    for t in hostile faults; do
        clang $flags -o "$out/$t" tests/test_$t.c $src -lpthread -lz -lcrypto
        HOSTILE_FORK=0 LLVM_PROFILE_FILE="$out/prof/$t.profraw" "$out/$t" | tail -n 1
        objs="$objs -object $out/$t"
    done
fi
llvm-profdata merge -sparse "$out"/prof/*.profraw -o "$out/all.profdata"
first=$out/replay_header
files=""
for p in $parsers; do files="$files libvss/src/$p.c"; done
llvm-cov report "$first" $objs -instr-profile="$out/all.profdata" $files | tee "$out/report.txt"
