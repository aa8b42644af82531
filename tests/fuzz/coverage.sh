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
# The layers below NTFS (base, io, vss) go into every replay program; the
# NTFS layer (libvss/src/ntfs/, libntfs-3g) into fuzz_ntfs's only.
src=$(ls libvss/src/base/*.c libvss/src/io/*.c libvss/src/vss/*.c)
ntfs_src=$(ls libvss/src/ntfs/*.c)
rm -rf "$out"; mkdir -p "$out/prof"
for n in $names; do
    extra=
    [ $n = ntfs ] && extra="$ntfs_src -lntfs-3g"
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
llvm-cov report "$first" $objs -instr-profile="$out/all.profdata" $src $ntfs_src | tee "$out/report.txt"
