#!/usr/bin/env bash
# pyvss, the Python bindings (issue 15; docs/python.md), with Debian's
# interpreter: the native API (the history's recovered versions too)
# against the generator's manifests and
# `vssinfo --json --stats`, a Python file object against the path, errors,
# seek/read rules, threads and leaks (tests/pyvss/*.py), the pyvshadow shim
# against python3-libvshadow block by block (every difference explained by
# libvss's map), dfVFS's call sequence into pyvshadow replayed on the shim,
# and the examples of docs/python.md and README.md as written.
set -u
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
PY=/usr/bin/python3   # word-split on purpose below (env ... for ASan)
export PYTHONPATH=$ROOT/$BUILD/python
T=$ROOT/tests/pyvss
if [ ! -x "$PY" ]; then
    skip "Debian's /usr/bin/python3 is absent"
    finish
    exit 0
fi
ext=$(ls "$BUILD"/python/pyvss/_pyvss*.so 2>/dev/null | head -1)
if [ -z "$ext" ]; then
    bad "$BUILD/python/pyvss is not built (make python)"
    finish
    exit 1
fi
# A sanitizer build: the interpreter is not instrumented, so the runtime
# is preloaded; CPython's own allocations at exit are not leaks of ours.
# Only the interpreter gets it (PY), not the other commands run here.
if nm -D --undefined-only "$ext" | grep -q ' __asan_'; then
    PY="env LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so) ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 $PY"
fi

# The sanitizer pass (make test-asan) runs every kind of check once, on
# fewer inputs: CI time (the interpreter under ASan is slow).
SAN_PASS=${LIBVSS_SANITIZER_PASS:-0}
[ "$SAN_PASS" = 1 ] && export PYVSS_DIFF_SAMPLE=200

# pyrun NAME ARGS...: one of tests/pyvss/*.py; its checks count here.
pyrun() {
    local out rc line p f
    out=$($PY "$@" 2>&1)
    rc=$?
    echo "$out" | grep -vE '^[0-9]+ passed, [0-9]+ failed$'
    line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
    if [ -z "$line" ]; then
        bad "$1 printed no summary (exit $rc): $(echo "$out" | tail -3)"
        return
    fi
    p=${line%% passed*}
    f=${line#*passed, }
    f=${f%% failed}
    PASS=$((PASS + p))
    FAIL=$((FAIL + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then bad "$1 exited with $rc"; fi
}

got=$($PY -c 'import pyvss, sys; sys.modules["pyvshadow"] = pyvss.pyvshadow
import pyvshadow; print(pyvss.LIBVSS_VERSION, issubclass(pyvss.Error, OSError), pyvshadow.volume.__module__)' 2>&1)
same "import pyvss; pyvss.pyvshadow stands in for pyvshadow" "$got" \
    "$(sed -n 's/^#define VSS_VERSION_STRING "\(.*\)"$/\1/p' libvss/include/vss.h) True pyvss.pyvshadow"

# ---- the generated images ----------------------------------------------------
if make -s -C testimages >/dev/null 2>&1; then
    mapfile -t manifests < <(grep -L '"block_list": null' testimages/out/*.json)
    pyrun "$T/native.py" manifests "${manifests[@]}"
    pyrun "$T/audit.py" "${manifests[@]}"
    pyrun "$T/history.py" "$VSSINFO" "${manifests[@]}"
    # the recovered versions (files that lost bytes: win10scope has both
    # kinds, a recovery the audit vouches for and one it refuses)
    pyrun "$T/recovered.py" "$VSSINFO" testimages/out/win10scope.json
    pyrun "$T/behaviour.py" testimages/out/win7.img
else
    bad "make -C testimages failed"
fi

# ---- the Windows-made images -----------------------------------------------
if prepare_real; then
    R=$WORK/real
    pyrun "$T/native.py" vssinfo "$VSSINFO" "$R/vsstest.raw"
    pyrun "$T/native.py" vssinfo "$VSSINFO" "$R/vss_1_vol.raw" "$R/vss_2_stor.raw"
    pyrun "$T/native.py" vssinfo "$VSSINFO" "$R/vss_2003.raw" "$R/vss_3_volstor.raw"
    pyrun "$T/native.py" fileobj "$R/vsstest.raw" "$REAL/vsstest.qcow2"
    if [ "$SAN_PASS" = 1 ]; then
        skip "behaviour.py on vsstest: sanitizer pass (run on win7.img above)"
    else
        pyrun "$T/behaviour.py" "$R/vsstest.raw"
    fi
else
    skip "the real images ($REAL) are absent"
fi

# ---- the pyvshadow shim against python3-libvshadow --------------------------
if ! $PY -c 'import pyvshadow' 2>/dev/null; then
    skip "differential test: python3-libvshadow (pyvshadow) is not installed (make deps)"
else
    # The default generated set (not the bench's 8 GiB large.img, made by
    # `make -C testimages large` on demand: docs/performance.md has its
    # differential, by tests/vshadow_diff)
    imgs=()
    for f in testimages/out/*.img; do
        [ "$f" = testimages/out/large.img ] || imgs+=("$f")
    done
    prepare_real && imgs+=("$WORK"/real/*.raw)
    pyrun "$T/vshadow_diff.py" "${imgs[@]}"
fi
# dfVFS's calls into pyvshadow, replayed against the shim (and compared
# with python3-libvshadow when present: dfvfs_replay.py says where)
rimgs=(testimages/out/win7.img testimages/out/redirpart.img)
prepare_real && rimgs+=("$WORK/real/vsstest.raw" "$WORK/real/vss_2003.raw" "$WORK/real/vss_2_stor.raw")
pyrun "$T/dfvfs_replay.py" "${rimgs[@]}"

# ---- docs/python.md and README's Python section: every example, as written ----
if [ "$SAN_PASS" = 1 ]; then
    skip "the documentation's examples: sanitizer pass (the calls are tested above)"
else
    pyrun "$T/doc_examples.py" docs/python.md README.md
fi
finish
