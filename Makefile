# libvss — plain Makefile (no autotools). Targets:
#   all (default)  library, vssinfo, vssmount
#   test           build and run the whole test suite (tests/run)
#   testimages     generate the test images (testimages/)
#   asan           build with AddressSanitizer + UBSan into build/asan
#   fuzz           libFuzzer harnesses (clang)
#   bench          benchmarks against libvshadow and the raw-read limit
#   install        into $(PREFIX)

CC ?= cc
PREFIX ?= /usr/local
BUILD ?= build
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Wvla -Wformat=2 -Wmissing-prototypes -Wshadow \
       -Wstrict-prototypes -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) \
             -fvisibility=hidden -fPIC -Ilibvss/include $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_BASE = -lpthread $(EXTRA_LDFLAGS)

LIB_SRC = $(wildcard libvss/src/*.c)
LIB_OBJ = $(LIB_SRC:libvss/src/%.c=$(BUILD)/obj/libvss/%.o)
LIB_A = $(BUILD)/libvss.a

VSSINFO_SRC = $(wildcard vssinfo/*.c)
VSSINFO_OBJ = $(VSSINFO_SRC:vssinfo/%.c=$(BUILD)/obj/vssinfo/%.o)
VSSINFO = $(BUILD)/vssinfo

.PHONY: all test testimages asan fuzz bench install clean

all: $(LIB_A) $(VSSINFO)

$(BUILD)/obj/libvss/%.o: libvss/src/%.c libvss/include/vss.h libvss/src/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibvss/src -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/vssinfo/%.o: vssinfo/%.c libvss/include/vss.h vssinfo/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(VSSINFO): $(VSSINFO_OBJ) $(LIB_A)
	$(CC) $(ALL_CFLAGS) -o $@ $(VSSINFO_OBJ) $(LIB_A) $(LDLIBS_BASE)

test: all
	bash tests/run

asan:
	$(MAKE) BUILD=build/asan CC=clang \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(VSSINFO) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 libvss/include/vss.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 docs/vssinfo.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build
