# libvss — plain Makefile (no autotools). Targets:
#   all (default)  library, vssinfo, vssmount
#   test           build and run the whole test suite (tests/run)
#   testimages     generate the test images (testimages/)
#   asan           build with AddressSanitizer + UBSan into build/asan
#   fuzz           libFuzzer harnesses (clang)
#   bench          benchmarks against libvshadow and the raw-read limit
#   python         the Python package pyvss into build/python/ (docs/python.md)
#   install        into $(DESTDIR)$(PREFIX): tools, libvss.a, libvss.so.*,
#                  vss.h, libvss.pc, man pages, docs, examples, pyvss
#   uninstall      remove exactly what install put there

CC ?= cc
PREFIX ?= /usr/local
BUILD ?= build
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Wvla -Wformat=2 -Wmissing-prototypes -Wshadow \
       -Wstrict-prototypes -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) \
             -fvisibility=hidden -fPIC -Ilibvss/include $(CFLAGS) $(EXTRA_CFLAGS)
# -lz: EWF chunks and qcow2 compressed clusters (libvss/src/io/container_*.c);
# -lcrypto: MD5/SHA-1 when verifying an E01 against its stored hashes.
LDLIBS_BASE = -lpthread -lz -lcrypto $(EXTRA_LDFLAGS)
# libvss/src/ntfs/ (files inside snapshots) reads NTFS through libntfs-3g.
NTFS_LIBS = -lntfs-3g
# The tools link libntfs-3g, libcrypto and zlib from their static archives
# when the system has them (Debian's -dev packages do): binding libcrypto's
# thousands of dynamic symbols at start-up took ~2.9 M of the ~3.4 M
# instructions of a whole `vssinfo` listing (callgrind), more than the
# listing itself; statically only the digest code we call comes in
# (libvss/src/audit/digest.h). Still a PIE. STATIC_DEPS=0 links them dynamically
# (the sanitizer build does).
static_archive = $(filter /%,$(shell $(CC) -print-file-name=$(1) 2>/dev/null))
STATIC_DEPS ?= $(if $(and $(call static_archive,libcrypto.a),$(call static_archive,libntfs-3g.a),$(call static_archive,libz.a)),1,0)
ifeq ($(STATIC_DEPS),1)
TOOL_LIBS = -Wl,-Bstatic $(NTFS_LIBS) -lcrypto -lz -Wl,-Bdynamic -lpthread -ldl $(EXTRA_LDFLAGS)
else
TOOL_LIBS = $(NTFS_LIBS) $(LDLIBS_BASE)
endif
FUSE_CFLAGS = $(shell pkg-config --cflags fuse3 2>/dev/null || echo -I/usr/include/fuse3)
FUSE_LIBS = $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3)

# The library's sources live in one folder per layer (base, io, vss, ntfs,
# ...: docs/design.md); objects keep the folder, includes are written
# "base/base.h" etc. against -Ilibvss/src.
LIB_SRC = $(wildcard libvss/src/*.c libvss/src/*/*.c)
LIB_OBJ = $(LIB_SRC:libvss/src/%.c=$(BUILD)/obj/libvss/%.o)
LIB_HDRS = libvss/include/vss.h $(wildcard libvss/src/*/*.h)
LIB_A = $(BUILD)/libvss.a

# The shared library, linked from the same PIC objects as libvss.a. Its
# version is the header's VSS_VERSION_STRING (one place to change); the
# SONAME carries the major number only: libvss.so.0 -> libvss.so.0.1.0.
VERSION := $(shell sed -n 's/^\#define VSS_VERSION_STRING "\([0-9.]*\)"$$/\1/p' libvss/include/vss.h)
ifeq ($(VERSION),)
$(error cannot read VSS_VERSION_STRING from libvss/include/vss.h)
endif
SO_MAJOR = $(firstword $(subst ., ,$(VERSION)))
SONAME = libvss.so.$(SO_MAJOR)
LIB_SO = $(BUILD)/libvss.so.$(VERSION)
# Only vss_* leaves the library: -fvisibility=hidden keeps every internal
# function local, and the version script (libvss/libvss.map) makes sure
# nothing else is exported (a non-vss_ symbol marked VSS_API by mistake,
# the test hooks). tests/test_install.sh checks the dynamic symbol table
# against the functions vss.h declares.
# Its dependencies are DT_NEEDED entries (never their static archives:
# those are not PIC). -z defs: every symbol the library uses must come
# from one of them. The sanitizer builds leave the sanitizer runtime to
# the executable, so they link without it (SO_DEFS=).
SO_LIBS = $(NTFS_LIBS) -lcrypto -lz -lpthread $(EXTRA_LDFLAGS)
SO_DEFS = -Wl,-z,defs

VSSINFO_SRC = $(wildcard vssinfo/*.c)
VSSINFO_OBJ = $(VSSINFO_SRC:vssinfo/%.c=$(BUILD)/obj/vssinfo/%.o) $(TOOLS_OBJ)
# tools/: the command-line helpers both tools compile (messages, number
# parsing, exit statuses); not part of the library.
TOOLS_OBJ = $(patsubst tools/%.c,$(BUILD)/obj/tools/%.o,$(wildcard tools/*.c))
VSSINFO = $(BUILD)/vssinfo

TEST_BINS = $(BUILD)/tests/unit_test $(BUILD)/tests/vshadow_diff \
            $(BUILD)/tests/volume_set_test \
            $(BUILD)/tests/imgcat

.PHONY: all deps example test check test-bins testimages asan fuzz bench install \
        uninstall clean FORCE python

# Debian packages the build, the tests (make check), make bench and the
# peers we compare with need; tests/test_deps.sh fails when a program the
# suite runs comes from a package missing here. Essential packages
# (coreutils, util-linux's mountpoint, bsdutils' script, ...) are on every
# Debian root and not listed.
DEB_PACKAGES = build-essential clang python3 pkg-config qemu-utils sleuthkit \
  libvshadow-dev libvshadow-utils libbfio-dev ntfs-3g ntfs-3g-dev \
  libfuse3-dev fuse3 libssl-dev zlib1g-dev ewf-tools jq time python3-libvshadow chromium \
  valgrind attr xxd procps openssl poppler-utils strace linux-perf python3-dev

# vssmount finds its volume through the library (vss_volume_set_*) and
# shares only tools/ with vssinfo.
VSSMOUNT_SRC = $(wildcard vssmount/*.c)
VSSMOUNT_OBJ = $(VSSMOUNT_SRC:vssmount/%.c=$(BUILD)/obj/vssmount/%.o) \
               $(TOOLS_OBJ)
VSSMOUNT = $(BUILD)/vssmount

all: $(LIB_A) $(LIB_SO) $(VSSINFO) $(VSSMOUNT)

$(BUILD)/obj/libvss/%.o: libvss/src/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibvss/src -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Also the links a program finds it by: libvss.so.0 (the run-time
# loader, by SONAME) and libvss.so (the linker's -lvss).
$(LIB_SO): $(LIB_OBJ) libvss/libvss.map
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) \
	  -Wl,--version-script=libvss/libvss.map $(SO_DEFS) \
	  -o $@ $(LIB_OBJ) $(SO_LIBS)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libvss.so

$(BUILD)/obj/vssinfo/%.o: vssinfo/%.c libvss/include/vss.h vssinfo/*.h tools/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itools -c $< -o $@

$(BUILD)/obj/tools/%.o: tools/%.c libvss/include/vss.h tools/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# vssinfo --audit/--extract hash through the library (libvss/src/audit/).
$(VSSINFO): $(VSSINFO_OBJ) $(LIB_A)
	$(CC) $(ALL_CFLAGS) -o $@ $(VSSINFO_OBJ) $(LIB_A) $(TOOL_LIBS)

$(BUILD)/obj/vssmount/%.o: vssmount/%.c vssmount/*.h libvss/include/vss.h tools/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itools $(FUSE_CFLAGS) -c $< -o $@

$(VSSMOUNT): $(VSSMOUNT_OBJ) $(LIB_A)
	$(CC) $(ALL_CFLAGS) -o $@ $(VSSMOUNT_OBJ) $(LIB_A) $(FUSE_LIBS) $(TOOL_LIBS)

# Test programs. vshadow_diff needs Debian's libvshadow-dev + libbfio-dev
# (installed by .ci/run); without them it is skipped.
test-bins: $(TEST_BINS)

$(BUILD)/tests/unit_test: tests/unit_test.c tests/ctest.h $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_BASE)

# Evidence containers (issue #8): cat/info/verify/stress any image.
$(BUILD)/tests/imgcat: tests/imgcat.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_BASE)

$(BUILD)/tests/vshadow_diff: tests/vshadow_diff.c $(LIB_A)
	@mkdir -p $(dir $@)
	@if [ -e /usr/include/libvshadow.h ] && [ -e /usr/include/libbfio.h ]; then \
	  echo "$(CC) ... -o $@ -lvshadow -lbfio"; \
	  $(CC) $(ALL_CFLAGS) -Ilibvss/src -Wno-missing-prototypes -o $@ $< $(LIB_A) -lvshadow -lbfio $(LDLIBS_BASE); \
	else echo "libvshadow-dev/libbfio-dev missing: $@ not built"; fi

test: all test-bins python
	bash tests/run

# Generated test images with known content (testimages/, docs/testimages.md)
testimages:
	$(MAKE) -C testimages

# Benchmarks (not part of make test): tests/bench/bench.sh prints a report.
$(BUILD)/bench/readbench: tests/bench/readbench.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB_A) -lvshadow -lbfio $(LDLIBS_BASE)

$(BUILD)/bench/scalebench: tests/bench/scalebench.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_BASE)

bench: deps all python $(BUILD)/bench/readbench $(BUILD)/bench/scalebench
	bash tests/bench/bench.sh

# What CI runs (README's test command): the suite as built, the suite again
# under AddressSanitizer + UndefinedBehaviorSanitizer, and the reliability
# programs under valgrind.
check:
	bash tests/check

# Install what the build and the tests need (Debian; run as root or with
# sudo available). Skips apt-get when everything is already there.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing:" $$missing; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	else echo "dependencies already installed"; fi

# The README's first command: vssinfo on the bundled example image.
EXAMPLE = $(BUILD)/example/example.img
$(EXAMPLE): testimages/example/example.img.gz
	@mkdir -p $(dir $@)
	gzip -dc $< > $@

example: all $(EXAMPLE)
	$(VSSINFO) $(EXAMPLE)
	@echo; echo "== provenance of snapshot 1 (first 20 runs): vssinfo --map 1"
	@$(VSSINFO) --map 1 $(EXAMPLE) | head -20
	@echo; echo "== what snapshot 1 really preserved, file by file: vssinfo --audit=1"
	@$(VSSINFO) --audit=1 --no-progress $(EXAMPLE)

asan:
	$(MAKE) BUILD=build/asan CC=clang STATIC_DEPS=0 SO_DEFS= \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all

# ---- Python: the pyvss package (issue 15, docs/python.md) ------------------
# Debian's interpreter (a python3 earlier on PATH, e.g. pyenv's, cannot
# import Debian's modules such as pyvshadow). The C core _pyvss links the
# library's PIC objects (libvss.a) into itself rather than libvss.so: the
# module then loads with no rpath or LD_LIBRARY_PATH from build/python as
# well as from any PREFIX/DESTDIR, always with the library it was built
# against; libvss keeps no global state, so a second copy in a process that
# also loads libvss.so is harmless. Its own dependencies (libntfs-3g,
# libcrypto, zlib) are linked as shared libraries (their static archives
# are not PIC). Recursive variables: python3 is asked only when used.
PYTHON ?= /usr/bin/python3
PY_INCLUDE = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PY_EXT_SUFFIX = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
PY_SRC = $(wildcard python/pyvss/*.py)
PY_BUILD = $(BUILD)/python/pyvss
PY_EXT = $(PY_BUILD)/_pyvss$(PY_EXT_SUFFIX)
# Where Debian's python3 looks for packages not installed by apt:
# /usr/local/lib/python3/dist-packages for the default PREFIX.
PYDIR ?= $(PREFIX)/lib/python3/dist-packages

python: $(PY_EXT) $(PY_SRC:python/pyvss/%=$(PY_BUILD)/%)

$(PY_EXT): python/_pyvss.c python/audit.inc python/history.inc \
  libvss/include/vss.h $(LIB_A)
	@mkdir -p $(dir $@)
	@test -e "$(PY_INCLUDE)/Python.h" || { echo "$(PY_INCLUDE)/Python.h missing: install python3-dev (make deps)"; exit 1; }
	$(CC) $(ALL_CFLAGS) -isystem $(PY_INCLUDE) -shared -o $@ $< $(LIB_A) \
	  $(NTFS_LIBS) -lcrypto -lz -lpthread $(EXTRA_LDFLAGS)

$(PY_BUILD)/%.py: python/pyvss/%.py
	@mkdir -p $(dir $@)
	cp $< $@

# ---- install ------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=/staging]: the tools, both
# libraries, the header, libvss.pc, man pages and docs (with the examples,
# which build against the installed library through pkg-config). Each
# directory may be moved on its own (LIBDIR=$(PREFIX)/lib/x86_64-linux-gnu,
# ...). make uninstall (same variables) removes exactly those files, and
# the package's own doc directories if nothing else is left in them.
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/libvss
MAN1 = $(wildcard docs/*.1)
DOC_FILES = README.md $(wildcard docs/*.md docs/*.png)
EXAMPLE_FILES = examples/README.md examples/Makefile $(wildcard examples/*.c)
# libvss.pc names its directories through ${prefix} when they lie under
# PREFIX, so `pkg-config --define-variable=prefix=DIR` finds a moved tree.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
INSTALLED = $(BINDIR)/vssinfo $(BINDIR)/vssmount \
  $(LIBDIR)/libvss.a $(LIBDIR)/$(notdir $(LIB_SO)) $(LIBDIR)/$(SONAME) \
  $(LIBDIR)/libvss.so $(INCLUDEDIR)/vss.h $(PKGCONFIGDIR)/libvss.pc \
  $(addprefix $(MANDIR)/man1/,$(notdir $(MAN1))) \
  $(addprefix $(DOCDIR)/,$(notdir $(DOC_FILES))) \
  $(addprefix $(DOCDIR)/examples/,$(notdir $(EXAMPLE_FILES))) \
  $(addprefix $(PYDIR)/pyvss/,$(notdir $(PY_EXT) $(PY_SRC)))

$(BUILD)/libvss.pc: libvss/libvss.pc.in libvss/include/vss.h FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	  -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
	  -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' $< > $@

install: all python $(BUILD)/libvss.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(VSSINFO) $(VSSMOUNT) $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libvss.so
	install -m 644 libvss/include/vss.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/libvss.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	install -m 644 $(EXAMPLE_FILES) $(DESTDIR)$(DOCDIR)/examples/
	install -d $(DESTDIR)$(PYDIR)/pyvss
	install -m 644 $(PY_EXT) $(PY_SRC) $(DESTDIR)$(PYDIR)/pyvss/
	@# The run-time loader finds a new library in a system directory
	@# only once its cache is rebuilt.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rm -rf $(DESTDIR)$(PYDIR)/pyvss/__pycache__
	@for d in $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PYDIR)/pyvss; do \
	  if [ -d "$$d" ]; then rmdir "$$d" 2>/dev/null || echo "$$d: not empty, left"; fi; \
	done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

FORCE:

clean:
	rm -rf build

# ---- reliability (issue #6): fuzzing, hostile images, fault injection ------
# make fuzz         libFuzzer harnesses into build/fuzz/ (clang)
# make fuzz-run     run each harness FUZZ_SECONDS (default 60) on its corpus
# make reliability-tests  replay drivers and test binaries in $(BUILD)/tests
# make test-asan    the whole suite (tests/run) against build/asan
# make valgrind     the reliability tests under valgrind (memcheck)
FUZZ_NAMES = header catalog store blocklist blockrange bitmap partition \
             volume snapshot carve
FUZZ_DIR = build/fuzz
FUZZ_CC = clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) -g -O1 \
              -fno-omit-frame-pointer -Ilibvss/include -Ilibvss/src
# The NTFS layer (libvss/src/ntfs/, libntfs-3g) is not a parser of VSS
# metadata: not linked here, nor the audit layer built on it.
FUZZ_NTFS_OBJ = $(patsubst libvss/src/%.c,$(FUZZ_DIR)/obj/%.o,$(filter libvss/src/ntfs/%,$(LIB_SRC)))
FUZZ_LIB_OBJ = $(patsubst libvss/src/%.c,$(FUZZ_DIR)/obj/%.o,$(filter-out libvss/src/ntfs/% libvss/src/audit/%,$(LIB_SRC)))
# Evidence containers, the NTFS layer (ntfs/ + libntfs-3g) and redirected
# storage (two sources from one input): docs/reliability.md.
FUZZ_NAMES += container ntfs storage multi
FUZZ_BINS = $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_HDRS = tests/fuzz/fuzz_common.h tests/fuzz/fz_volume.h $(LIB_HDRS)
FUZZ_SECONDS ?= 60
REPLAY_BINS = $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz_replay_%)
REL_TESTS = $(BUILD)/tests/hostile_test $(BUILD)/tests/faults_test \
            $(BUILD)/tests/provenance_test $(BUILD)/tests/audit_api_test \
            $(BUILD)/tests/history_test
# the flags in words of the reports (issue #18)
REL_TESTS += $(BUILD)/tests/flags_text_test
# vss_source_hash; vss_volume_snapshot_info from several threads
REL_TESTS += $(BUILD)/tests/source_hash_test $(BUILD)/tests/threads_test
REL_TESTS += $(BUILD)/tests/newer_index_test

.PHONY: fuzz fuzz-run reliability-tests test-asan valgrind

fuzz: $(FUZZ_BINS)

.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_NTFS_OBJ)

$(FUZZ_DIR)/obj/%.o: libvss/src/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_LIB_OBJ) -lpthread -lz -lcrypto

# libntfs-3g leaks on some failed mounts (not our code): tests/fuzz/lsan.supp.
fuzz-run: export LSAN_OPTIONS = suppressions=$(CURDIR)/tests/fuzz/lsan.supp

# Each harness on its corpus (new inputs go to build/fuzz/corpus/<name>, the
# committed seeds stay as they are); the volume harness also reads the
# snapshot seeds.
fuzz-run: fuzz
	@for n in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$n $(FUZZ_DIR)/artifacts; \
	  extra=; [ $$n = volume ] && extra=tests/fuzz/corpus/snapshot; \
	  echo "== fuzz_$$n ($(FUZZ_SECONDS) s)"; \
	  $(FUZZ_DIR)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -timeout=10 -dict=tests/fuzz/vss.dict \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$n- \
	    $(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n $$extra 2>&1 | \
	    grep -E '^(#[0-9]+.*DONE|==[0-9]+==ERROR|SUMMARY|Done)' ; \
	done

$(BUILD)/tests/fuzz_replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c \
                              $(FUZZ_HDRS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibvss/src -o $@ $< tests/fuzz/replay_main.c \
	  $(LIB_A) $(LDLIBS_BASE)

# fuzz_ntfs also needs the NTFS layer (instrumented) and libntfs-3g (not
# instrumented: ASan sees its heap use through malloc/free and the libc
# interceptors only).
$(FUZZ_DIR)/fuzz_ntfs: tests/fuzz/fuzz_ntfs.c $(FUZZ_HDRS) $(FUZZ_LIB_OBJ) \
                       $(FUZZ_NTFS_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_LIB_OBJ) $(FUZZ_NTFS_OBJ) $(NTFS_LIBS) -lpthread -lz -lcrypto

$(BUILD)/tests/fuzz_replay_ntfs: tests/fuzz/fuzz_ntfs.c tests/fuzz/replay_main.c \
                                 $(FUZZ_HDRS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibvss/src -o $@ $< tests/fuzz/replay_main.c \
	  $(LIB_A) $(NTFS_LIBS) $(LDLIBS_BASE)

$(BUILD)/tests/%_test: tests/test_%.c tests/ctest.h $(FUZZ_HDRS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibvss/src -o $@ $< $(LIB_A) $(NTFS_LIBS) $(LDLIBS_BASE)

reliability-tests: $(REPLAY_BINS) $(REL_TESTS)

test: reliability-tests

# The sanitizer build on every core (clang -O1 with ASan/UBSan is slow).
test-asan:
	$(MAKE) -j$$(nproc) BUILD=build/asan CC=clang STATIC_DEPS=0 SO_DEFS= \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all test-bins reliability-tests python
	BUILD=build/asan LIBVSS_SANITIZER_PASS=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 bash tests/run

valgrind: all reliability-tests
	BUILD=$(BUILD) VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
	  bash tests/reliability_valgrind.sh
