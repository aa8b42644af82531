#!/usr/bin/env bash
# `make deps` must install every program the suite runs (issue 13, point 1:
# on a fresh Debian root `make deps check` failed for want of valgrind).
# (a) For each known COMMAND -> Debian package pair below, when a test
#     script, test program, tests/check, .ci/run or a Makefile recipe runs
#     the command, its package must be in the Makefile's DEB_PACKAGES. The
#     same for Python modules the tests import and headers the build needs.
# (b) Every program the scripts probe for (`command -v X`, require_tools X,
#     Python subprocess ["X", ...]) must be in that table or be a command
#     of an Essential package, so a new tool cannot slip past (a).
# (c) The table itself is checked against dpkg: where the command is
#     installed here, the package that owns it is the table's package (or
#     one that package depends on: python3 -> python3-minimal).
# sanitizer pass: skip (reads the Makefile and the scripts; runs no libvss code)
set -u
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

deb=$(make -s --no-print-directory \
    --eval '_print_deb_packages: ; @echo $(DEB_PACKAGES)' _print_deb_packages)
if [ -z "$deb" ]; then
    bad "cannot read DEB_PACKAGES from the Makefile"
    finish
    exit 1
fi
ok "DEB_PACKAGES read from the Makefile ($(echo $deb | wc -w) packages)"

# The files whose commands the suite runs: every test script and program,
# the runners, CI, the Makefiles (recipes of test, check, bench, example),
# and the commands README.md shows.
mapfile -t suite < <(ls tests/*.sh tests/*.py tests/pyvss/*.py tests/run tests/check \
    tests/fuzz/*.sh tests/fuzz/*.py tests/bench/*.sh .ci/run Makefile \
    testimages/Makefile README.md 2>/dev/null)

out=$(DEB="$deb" python3 - "${suite[@]}" <<'PYEOF'
import os, re, subprocess, sys

# COMMAND (as the scripts write it) -> Debian package (bookworm).
COMMANDS = {
    "valgrind": "valgrind",
    "fls": "sleuthkit", "icat": "sleuthkit", "istat": "sleuthkit",
    "fsstat": "sleuthkit", "mmls": "sleuthkit", "mactime": "sleuthkit",
    "blkstat": "sleuthkit",
    "vshadowinfo": "libvshadow-utils", "vshadowmount": "libvshadow-utils",
    "ewfacquire": "ewf-tools", "ewfmount": "ewf-tools",
    "ewfinfo": "ewf-tools", "ewfverify": "ewf-tools",
    "qemu-img": "qemu-utils", "qemu-io": "qemu-utils",
    "mkntfs": "ntfs-3g", "ntfs-3g": "ntfs-3g",
    "fusermount3": "fuse3",
    "getfattr": "attr", "setfattr": "attr",
    "chromium": "chromium",
    "pdftotext": "poppler-utils", "pdftoppm": "poppler-utils",
    "jq": "jq", "xxd": "xxd", "strace": "strace", "perf": "linux-perf",
    "clang": "clang", "gcc": "build-essential", "cc": "build-essential",
    "make": "build-essential", "ar": "build-essential",
    "nm": "build-essential", "readelf": "build-essential",
    "pkg-config": "pkg-config",
    "/usr/bin/time": "time",
    "openssl": "openssl",
    "free": "procps", "ps": "procps", "pgrep": "procps",
    "hexdump": "bsdextrautils",
    "python3": "python3", "/usr/bin/python3": "python3",
    "llvm-profdata": "llvm", "llvm-cov": "llvm",
    "bc": "bc", "xz": "xz-utils", "curl": "curl",
    "sfdisk": "fdisk", "sgdisk": "gdisk", "parted": "parted",
}
# Programs of Essential packages (always on a Debian root) and shell
# builtins the scripts probe for: need no entry in DEB_PACKAGES.
ESSENTIAL = set("""
awk basename bash cat chmod cmp cp cut date dd diff dirname echo env find
grep gzip head kill ln ls md5sum mkdir mktemp mount mountpoint mv nproc od
printf readlink rm rmdir script sed seq setsid sha1sum sha256sum sh sleep
sort split stat tail tar tee timeout touch tr true truncate umount uname
uniq wc xargs zcat getconf nice nohup dpkg dpkg-query
""".split())
# Where a command is used only by a developer tool outside the suite and
# make bench (tests/fuzz/coverage.sh: llvm-cov), no package is required.
OPTIONAL_FILES = {"tests/fuzz/coverage.sh"}
# Python modules the tests import that are not in the standard library.
MODULES = {"pyvshadow": "python3-libvshadow"}
# Python modules this project builds (make python), not packages.
BUILT_MODULES = {"pyvss"}
# Headers the build (Makefile, testimages/) needs -> their -dev package.
HEADERS = {
    "/usr/include/ntfs-3g/volume.h": "ntfs-3g-dev",
    "/usr/include/openssl/evp.h": "libssl-dev",
    "/usr/include/zlib.h": "zlib1g-dev",
    "/usr/include/fuse3/fuse.h": "libfuse3-dev",
    "/usr/include/libvshadow.h": "libvshadow-dev",
    "/usr/include/libbfio.h": "libbfio-dev",
    # make python: Debian's python3 headers (/usr/include/python3.X/).
    "/usr/include/python3.X/Python.h": "python3-dev",
}

deb = set(os.environ["DEB"].split())
npass = nfail = 0
def ok(m):
    global npass; npass += 1; print("ok   " + m)
def bad(m):
    global nfail; nfail += 1; print("FAIL " + m)

def code_lines(path):
    """The lines of a file without its comments (# to end of line, when
    the # starts a word: not ${#x} nor 'a#b'); of a Markdown file, its
    indented command lines only."""
    out = []
    in_list = False   # the DEB_PACKAGES assignment names packages, runs none
    for line in open(path, errors="replace"):
        if path.endswith(".md") and not line.startswith("    "):
            continue
        if line.startswith("DEB_PACKAGES") or in_list:
            in_list = line.rstrip("\n").endswith("\\")
            continue
        line = re.sub(r'(^|\s)#.*', '', line.rstrip("\n"))
        if line.strip():
            out.append(line)
    return out

# This test names every command of its table: not a user of them.
files = {p: code_lines(p) for p in sys.argv[1:] if p != "tests/test_deps.sh"}

def uses(cmd, lines):
    pat = re.compile(r'(^|[\s;&|(`"\'=\[,{])' + re.escape(cmd) +
                     r'($|[\s;&|)`"\',\]}])')
    return any(pat.search(l) for l in lines)

# (a) commands
for cmd, pkg in sorted(COMMANDS.items()):
    where = [p for p, lines in files.items()
             if p not in OPTIONAL_FILES and uses(cmd, lines)]
    if not where:
        continue
    if pkg in deb:
        ok("%s (used by %s) comes from %s, in DEB_PACKAGES"
           % (cmd, ", ".join(where[:3]) + (" ..." if len(where) > 3 else ""), pkg))
    else:
        bad("%s is run by %s but its package %s is not in DEB_PACKAGES"
            % (cmd, ", ".join(where), pkg))

# (a) Python modules: import lines of the .py files and of the Python
# embedded in shell scripts (heredocs, python3 -c).
stdlib = set(getattr(sys, "stdlib_module_names", ()))
local = {os.path.basename(p)[:-3] for p in files if p.endswith(".py")}
imported = {}
for p, lines in files.items():
    for l in lines:
        for m in re.finditer(r'(?:^|[\s;"\'])(?:import\s+([\w.]+(?:\s*,\s*[\w.]+)*)'
                             r'|from\s+([\w.]+)\s+import\b)', l):
            names = m.group(1).split(",") if m.group(1) else [m.group(2)]
            for n in names:
                top = n.strip().split(".")[0]
                if top:
                    imported.setdefault(top, set()).add(p)
for mod, where in sorted(imported.items()):
    if mod in stdlib or mod in local or mod in BUILT_MODULES or \
            mod == "__future__":
        continue
    pkg = MODULES.get(mod)
    if pkg is None:
        bad("Python module %s (imported by %s) has no package in this "
            "test's table: add it and its package to DEB_PACKAGES"
            % (mod, ", ".join(sorted(where))))
    elif pkg in deb:
        ok("Python module %s comes from %s, in DEB_PACKAGES" % (mod, pkg))
    else:
        bad("Python module %s (imported by %s) needs %s, not in DEB_PACKAGES"
            % (mod, ", ".join(sorted(where)), pkg))
if not stdlib:
    bad("this python3 has no sys.stdlib_module_names (3.10+ needed)")

# (a) headers
for h, pkg in sorted(HEADERS.items()):
    if pkg in deb:
        ok("%s comes from %s, in DEB_PACKAGES" % (h, pkg))
    else:
        bad("%s is needed but %s is not in DEB_PACKAGES" % (h, pkg))

# (b) every program a script probes for is known: `command -v X`,
# require_tools X..., `for v in X Y; do ... command -v $v` (within 3 lines)
# and Python's subprocess / run(["X", ...).
probed = {}
def probe(t, p):
    probed.setdefault(t, set()).add(p)
for p, lines in files.items():
    for i, l in enumerate(lines):
        for m in re.finditer(r'command -v\s+("?)([\w./+-]+)\1', l):
            probe(m.group(2), p)
        m = re.search(r'\brequire_tools\s+(.*)', l)
        if m and not l.lstrip().startswith("require_tools()"):
            for t in m.group(1).split():
                probe(t, p)
        m = re.search(r'\bfor\s+(\w+)\s+in\s+([^;]*);', l)
        words = m.group(2).split() if m else []
        # a literal list of names (not one computed at run time)
        if (words and all(re.fullmatch(r'[\w./+-]+', t) for t in words) and
                re.search(r'command -v\s+"?\$\{?' + m.group(1) + r'\b',
                          "\n".join(lines[i:i + 4]))):
            for t in words:
                probe(t, p)
        if p.endswith(".py"):
            for m in re.finditer(r'(?:subprocess\.\w+|\brun)\(\s*\[\s*"([\w./+-]+)"', l):
                probe(m.group(1), p)
for t, where in sorted(probed.items()):
    if t in COMMANDS or t in ESSENTIAL:
        continue
    bad("%s (run by %s) is in neither this test's package table nor the "
        "Essential commands: add COMMAND -> package here and to DEB_PACKAGES"
        % (t, ", ".join(sorted(where))))
ok("%d probed programs, each known (%s)" % (len(probed), " ".join(sorted(probed))))

# (c) the table agrees with dpkg where the command is installed here
def dpkg_owner(path):
    r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    # a diverted file (perf) has a "diversion by PKG from: PATH" line first
    lines = [l for l in r.stdout.splitlines() if not l.startswith("diversion by")]
    return lines[0].split(":")[0].strip() if lines else None

def direct_deps(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", pkg],
                       capture_output=True, text=True)
    return {re.split(r'[\s(:]', d.strip())[0]
            for d in re.split(r'[,|]', r.stdout) if d.strip()}

def deps_of(pkg):
    """What pkg depends on, two levels deep (build-essential -> gcc ->
    binutils)."""
    first = direct_deps(pkg)
    return first.union(*(direct_deps(d) for d in first))

have_dpkg = subprocess.run(["sh", "-c", "command -v dpkg"],
                           capture_output=True).returncode == 0
checked = 0
for cmd, pkg in sorted(COMMANDS.items()) if have_dpkg else []:
    name = cmd if cmd.startswith("/") else None
    cands = [name] if name else [d + "/" + cmd for d in
                                 ("/usr/bin", "/usr/sbin", "/bin", "/sbin")]
    owner = None
    for c in cands:
        if os.path.exists(c):
            owner = dpkg_owner(c) or dpkg_owner(c.replace("/usr/", "/", 1))
            if owner:
                break
    if owner is None:
        continue
    checked += 1
    if owner != pkg and owner not in deps_of(pkg):
        bad("the table says %s comes from %s; dpkg says %s" % (cmd, pkg, owner))
if have_dpkg:
    ok("package table agrees with dpkg for the %d commands installed here" % checked)
print("%d passed, %d failed" % (npass, nfail))
PYEOF
)
echo "$out" | grep -v '^[0-9]* passed'
p=$(echo "$out" | tail -1 | awk '{print $1}')
f=$(echo "$out" | tail -1 | awk '{print $3}')
PASS=$((PASS + ${p:-0}))
FAIL=$((FAIL + ${f:-1}))
finish
