/*
 * unit_test.c — tests of the decoders and of the read semantics on small
 * volumes built in memory by this file's own writer (it shares no code with
 * the library's decoders). Each check prints on failure; the last line is
 * "N passed, N failed".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vss.h"
#include "ctest.h"

#define BS 16384u
#define NBLOCKS 64u
#define VOLSIZE ((size_t)NBLOCKS * BS)

static const uint8_t VSSID[16] = {0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1,
                                  0x48, 0x4e, 0xb7, 0xae, 0x04, 0x04,
                                  0x6e, 0x6c, 0xc7, 0x52};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The common 128-byte block header. */
static void block_header(uint8_t *vol, uint64_t off, uint32_t type,
                         uint64_t next)
{
    uint8_t *p = vol + off;
    memcpy(p, VSSID, 16);
    put32(p + 16, 1);
    put32(p + 20, type);
    put64(p + 32, off);
    put64(p + 40, next);
}

typedef struct desc {
    uint64_t orig, rel, data;
    uint32_t flags, bitmap;
} desc;

typedef struct store_spec {
    uint8_t guid_byte;
    uint64_t flags;           /* catalog flags */
    const desc *descs;
    int ndescs;
    const int *unused;        /* not-in-use block numbers, -1 terminated */
    uint64_t range_start, range_size; /* block range (diff area) */
} store_spec;

/* Layout: header at 0x1E00, catalog at block 2, store k's metadata at
 * blocks 4+4k (header, list, ranges, bitmap), data blocks chosen by tests
 * (>= 24), live pattern elsewhere. */
static uint8_t *build_volume(const store_spec *stores, int n)
{
    uint8_t *vol = calloc(1, VOLSIZE);
    uint64_t cat = 2 * BS;
    int k;

    /* Live data: every sector holds its own volume offset and 'L'. */
    for (size_t off = 0; off < VOLSIZE; off += 512) {
        memset(vol + off, 'L', 512);
        put64(vol + off, off);
    }
    memset(vol, 0, 3 * BS);
    for (k = 0; k < n; k++)
        memset(vol + (4 + 4 * k) * (size_t)BS, 0, 4 * BS);

    memcpy(vol + 0x1E00, VSSID, 16);
    put32(vol + 0x1E00 + 16, 1);
    put32(vol + 0x1E00 + 20, 1);
    put64(vol + 0x1E00 + 24, 0x1E00);
    put64(vol + 0x1E00 + 32, 0x1E00);
    put64(vol + 0x1E00 + 48, cat);
    memset(vol + 0x1E00 + 64, 0xAA, 16); /* volume GUID */
    memset(vol + 0x1E00 + 80, 0xAA, 16); /* storage GUID: local */

    block_header(vol, cat, 2, 0);
    for (k = 0; k < n; k++) {
        const store_spec *s = &stores[k];
        uint8_t *e2 = vol + cat + 128 + (size_t)k * 256;
        uint8_t *e3 = e2 + 128;
        uint64_t base = (4 + 4 * (uint64_t)k) * BS;
        int i;
        put64(e2, 2);
        put64(e2 + 8, VOLSIZE);
        memset(e2 + 16, s->guid_byte, 16);
        put64(e2 + 32, (uint64_t)k + 1);
        put64(e2 + 40, s->flags);
        put64(e2 + 48, 132041653814843750ULL + (uint64_t)k);
        put64(e3, 3);
        put64(e3 + 8, base + BS);
        memset(e3 + 16, s->guid_byte, 16);
        put64(e3 + 32, base);
        put64(e3 + 40, base + 2 * BS);
        put64(e3 + 48, base + 3 * BS);

        block_header(vol, base, 4, 0);
        memset(vol + base + 128 + 16, s->guid_byte + 1, 16); /* copy ID */
        put32(vol + base + 128 + 56, 0x0002001d);
        put32(vol + base + 128 + 64, 4); /* "PC" */
        vol[base + 128 + 66] = 'P';
        vol[base + 128 + 68] = 'C';

        block_header(vol, base + BS, 3, 0);
        for (i = 0; i < s->ndescs; i++) {
            uint8_t *d = vol + base + BS + 128 + (size_t)i * 32;
            put64(d, s->descs[i].orig);
            put64(d + 8, s->descs[i].rel);
            put64(d + 16, s->descs[i].data);
            put32(d + 24, s->descs[i].flags);
            put32(d + 28, s->descs[i].bitmap);
        }
        block_header(vol, base + 2 * BS, 5, 0);
        if (s->range_size) {
            put64(vol + base + 2 * BS + 128, s->range_start);
            put64(vol + base + 2 * BS + 136, 0);
            put64(vol + base + 2 * BS + 144, s->range_size);
        }
        block_header(vol, base + 3 * BS, 6, 0);
        for (i = 0; s->unused && s->unused[i] >= 0; i++)
            vol[base + 3 * BS + 128 + s->unused[i] / 8] |=
                (uint8_t)(1u << (s->unused[i] % 8));
    }
    return vol;
}

/* Fill a store data block with a recognisable pattern. */
static void data_block(uint8_t *vol, uint64_t block, char tag)
{
    memset(vol + block * BS, tag, BS);
}

typedef struct opened {
    vss_source *src;
    vss_volume *vol;
} opened;

static int open_mem(uint8_t *vol, opened *o)
{
    vss_error e = {0};
    if (vss_source_open_memory(vol, VOLSIZE, "mem", &o->src, &e) ||
        vss_volume_open(o->src, &o->vol, &e)) {
        printf("open failed: %s\n", e.message);
        return -1;
    }
    return 0;
}

static void close_mem(opened *o)
{
    vss_volume_close(o->vol);
    vss_source_release(o->src);
}

/* Read one sector of snapshot idx and describe it: 'L'ive (with its
 * offset check), a store tag letter, or '0' for zeros. */
static char sector_kind(vss_volume *v, int idx, vss_fill fill, uint64_t off)
{
    vss_snapshot *s;
    uint8_t buf[512];
    vss_error e = {0};
    if (vss_snapshot_open(v, idx, fill, &s, &e))
        return '!';
    if (vss_snapshot_read_at(s, buf, 512, off, &e) != 512) {
        vss_snapshot_close(s);
        return '!';
    }
    vss_snapshot_close(s);
    if (buf[8] == 'L') {
        uint64_t at = 0;
        for (int i = 0; i < 8; i++)
            at |= (uint64_t)buf[i] << (8 * i);
        return at == off ? 'L' : '?';
    }
    for (int i = 0; i < 512; i++)
        if (buf[i] != buf[0])
            return '?';
    return buf[0] ? (char)buf[0] : '0';
}

static int keep_run(const vss_run *run, void *user)
{
    *(vss_run *)user = *run;
    return 0;
}

/* The provenance class of the byte at off of snapshot idx. */
static vss_class class_at(vss_volume *v, int idx, vss_fill fill, uint64_t off)
{
    vss_snapshot *s;
    vss_run r = {0};
    if (vss_snapshot_open(v, idx, fill, &s, NULL))
        return (vss_class)-1;
    vss_snapshot_map(s, off, 1, keep_run, &r, NULL);
    vss_snapshot_close(s);
    return r.cls;
}

/* The run covering byte off of snapshot idx. */
static vss_run run_at(vss_volume *v, int idx, uint64_t off)
{
    vss_snapshot *s;
    vss_run r = {0};
    r.cls = (vss_class)-1;
    if (vss_snapshot_open(v, idx, VSS_FILL_WINDOWS, &s, NULL))
        return r;
    vss_snapshot_map(s, off, 1, keep_run, &r, NULL);
    vss_snapshot_close(s);
    return r;
}

static void test_shadow_copy_files(void)
{
    /* Three stores without 0x400; store 1's block ranges (the diff area)
     * cover blocks 50-53. In snapshot 1: block 50 copied by store 1 (its
     * own copy: evidence), 51 copied by store 2 (a newer copy: stale),
     * 52 flagged not in use (live data: stale), 53 in use and copied by
     * nobody (live data, still not the snapshot's: stale). Snapshot 3,
     * the newest, reads them all as zeros. */
    const desc d1[] = {{50 * BS, 0, 27 * BS, 0, 0}};
    const desc d2[] = {{51 * BS, 0, 28 * BS, 0, 0}};
    const int unused1[] = {52, -1};
    store_spec st[3] = {{0x11, 0x40, d1, 1, unused1, 50 * BS, 4 * BS},
                        {0x22, 0x40, d2, 1, NULL, 0, 0},
                        {0x33, 0x40, NULL, 0, NULL, 0, 0}};
    uint8_t *vol = build_volume(st, 3);
    opened o;
    vss_run r;
    data_block(vol, 27, 'a');
    data_block(vol, 28, 'b');
    if (open_mem(vol, &o)) {
        failed++;
        free(vol);
        return;
    }
    r = run_at(o.vol, 1, 50 * BS);
    CHECK(r.cls == VSS_CLASS_STORE && r.store_index == 1 &&
              sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 50 * BS) == 'a',
          "shadow copy file block copied by the snapshot's own store: store");
    r = run_at(o.vol, 1, 51 * BS);
    CHECK(r.cls == VSS_CLASS_STALE && r.reason == VSS_REASON_DIFF_AREA &&
              r.store_index == 2 &&
              sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 51 * BS) == 'b',
          "shadow copy file block from a newer store: stale, diff-area");
    for (uint64_t b = 52; b <= 53; b++) {
        r = run_at(o.vol, 1, b * BS);
        CHECK(r.cls == VSS_CLASS_STALE && r.reason == VSS_REASON_DIFF_AREA &&
                  r.store_index == 0 && r.source_offset == b * BS &&
                  sector_kind(o.vol, 1, VSS_FILL_WINDOWS, b * BS) == 'L',
              "shadow copy file block %llu from the live volume: stale",
              (unsigned long long)b);
    }
    r = run_at(o.vol, 2, 51 * BS);
    CHECK(r.cls == VSS_CLASS_STORE && r.store_index == 2,
          "the same newer copy is snapshot 2's own: store");
    for (uint64_t b = 50; b <= 53; b++)
        CHECK(run_at(o.vol, 3, b * BS).cls == VSS_CLASS_ZERO &&
                  sector_kind(o.vol, 3, VSS_FILL_WINDOWS, b * BS) == '0',
              "newest snapshot: shadow copy file block %llu zeros",
              (unsigned long long)b);
    close_mem(&o);
    free(vol);
}

static void test_formatting(void)
{
    char g[37], t[32];
    const uint8_t guid[16] = {0x33, 0xa1, 0xe5, 0x12, 0x22, 0x87, 0xe9, 0x11,
                              0x91, 0x78, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    vss_guid_format(guid, g);
    CHECK(strcmp(g, "12e5a133-8722-11e9-9178-525400123456") == 0, "guid %s", g);
    vss_filetime_format(132041653814843750ULL, t);
    CHECK(strcmp(t, "2019-06-04T23:43:01.4843750Z") == 0, "time %s", t);
    vss_filetime_format(0, t);
    CHECK(strcmp(t, "1601-01-01T00:00:00.0000000Z") == 0, "time0 %s", t);
    vss_filetime_format(UINT64_MAX, t);
    CHECK(strlen(t) > 20, "max time %s", t);
}

static void test_stacking_and_bitmaps(void)
{
    /* Store 1 (older) copied block 31; store 2 copied 30 and 31. */
    const desc d1[] = {{31 * BS, 0, 24 * BS, 0, 0}};
    const desc d2[] = {{30 * BS, 0, 25 * BS, 0, 0}, {31 * BS, BS, 26 * BS, 0, 0}};
    const int unused1[] = {40, 41, -1}, unused2[] = {41, 42, -1};
    store_spec st[2] = {{0x11, 0x40, d1, 1, unused1, 0, 0},
                        {0x22, 0x40, d2, 2, unused2, 0, 0}};
    uint8_t *vol = build_volume(st, 2);
    opened o;
    data_block(vol, 24, 'a');
    data_block(vol, 25, 'b');
    data_block(vol, 26, 'c');
    if (open_mem(vol, &o)) {
        failed++;
        free(vol);
        return;
    }
    CHECK(vss_volume_snapshot_count(o.vol) == 2, "count");
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 31 * BS) == 'a', "s1 b31");
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 30 * BS + 512) == 'b',
          "s1 b30 through store 2");
    CHECK(sector_kind(o.vol, 2, VSS_FILL_WINDOWS, 31 * BS) == 'c', "s2 b31");
    CHECK(sector_kind(o.vol, 2, VSS_FILL_WINDOWS, 29 * BS) == 'L', "s2 live");
    CHECK(class_at(o.vol, 1, VSS_FILL_WINDOWS, 29 * BS) == VSS_CLASS_LIVE,
          "class live");
    CHECK(class_at(o.vol, 1, VSS_FILL_WINDOWS, 31 * BS) == VSS_CLASS_STORE,
          "class store");
    /* Block 40 not in use for store 1 only; without 0x400 reads live but is
     * stale; with fill=zero reads zeros. */
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 40 * BS) == 'L', "40 win");
    CHECK(class_at(o.vol, 1, VSS_FILL_WINDOWS, 40 * BS) == VSS_CLASS_STALE,
          "40 stale");
    CHECK(sector_kind(o.vol, 1, VSS_FILL_ZERO, 40 * BS) == '0', "40 zero");
    CHECK(class_at(o.vol, 1, VSS_FILL_ZERO, 40 * BS) == VSS_CLASS_ZERO,
          "40 class zero");
    /* Block 42 not in use for the newest store only: snapshot 1 passes
     * through store 2 and ends at the live volume via its bitmap. */
    CHECK(class_at(o.vol, 2, VSS_FILL_WINDOWS, 42 * BS) == VSS_CLASS_STALE,
          "42 s2 stale");
    CHECK(class_at(o.vol, 2, VSS_FILL_WINDOWS, 43 * BS) == VSS_CLASS_LIVE,
          "43 live");
    close_mem(&o);
    free(vol);

    /* The same with Windows 8+ catalog flag 0x400: zeros. */
    st[0].flags = st[1].flags = 0x440;
    vol = build_volume(st, 2);
    data_block(vol, 24, 'a');
    if (open_mem(vol, &o) == 0) {
        CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 40 * BS) == '0',
              "0x400 zero");
        CHECK(class_at(o.vol, 1, VSS_FILL_WINDOWS, 40 * BS) == VSS_CLASS_ZERO,
              "0x400 class");
        CHECK(sector_kind(o.vol, 2, VSS_FILL_WINDOWS, 42 * BS) == '0',
              "0x400 newest zero");
        CHECK(sector_kind(o.vol, 1, VSS_FILL_LIVE, 40 * BS) == 'L',
              "fill live");
        CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 31 * BS) == 'a',
              "store wins over bitmap");
        close_mem(&o);
    } else {
        failed++;
    }
    free(vol);
}

static void test_overlay_forwarder_diff_area(void)
{
    /* Store 1: overlay on block 32 (sectors 0 and 1), forwarder 33 -> 34,
     * regular entry for 35 followed by an overlay (sector 31). Store 2:
     * regular copy of 34 and of 32. Diff area: blocks 50-51. */
    const desc d1[] = {{32 * BS, 0, 27 * BS, 2, 0x3},
                       {33 * BS, 34 * BS, 0, 1, 0},
                       {35 * BS, 0, 28 * BS, 0, 0},
                       {35 * BS, 0, 29 * BS, 2, 0x80000000u},
                       {36 * BS, 37 * BS, 0, 1, 0}};
    const desc d2[] = {{34 * BS, 0, 30 * BS, 0, 0}, {32 * BS, 0, 31 * BS, 0, 0}};
    const int unused2[] = {37, -1};
    store_spec st[2] = {{0x11, 0x440, d1, 5, NULL, 50 * BS, 2 * BS},
                        {0x22, 0x440, d2, 2, unused2, 0, 0}};
    uint8_t *vol = build_volume(st, 2);
    opened o;
    data_block(vol, 27, 'o');
    data_block(vol, 28, 'r');
    data_block(vol, 29, 'p');
    data_block(vol, 30, 'f');
    data_block(vol, 31, 'g');
    if (open_mem(vol, &o)) {
        failed++;
        free(vol);
        return;
    }
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 32 * BS) == 'o', "ov s0");
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 32 * BS + 512) == 'o',
          "ov s1");
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 32 * BS + 1024) == 'g',
          "under overlay: the newer store's copy");
    CHECK(sector_kind(o.vol, 2, VSS_FILL_WINDOWS, 32 * BS) == 'g',
          "overlay of store 1 ignored from snapshot 2");
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 33 * BS) == 'f',
          "forwarder to the next store's block 34");
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 35 * BS) == 'r', "reg");
    /* A forwarder to a block the newest bitmap calls free: the moved
     * content, live, even with 0x400 (which zeros block 37 itself). */
    CHECK(class_at(o.vol, 1, VSS_FILL_WINDOWS, 36 * BS) == VSS_CLASS_LIVE &&
              sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 36 * BS) == '?',
          "forwarded to a free block: live, the target's data");
    CHECK(sector_kind(o.vol, 2, VSS_FILL_WINDOWS, 37 * BS) == '0',
          "the free target block itself reads zeros under 0x400");
    CHECK(sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 35 * BS + 31 * 512) == 'p',
          "overlay after regular");
    /* The shadow copy files: read through in an older snapshot (here the
     * live block, not evidence: stale), zeros in the newest. */
    CHECK(class_at(o.vol, 1, VSS_FILL_WINDOWS, 50 * BS) == VSS_CLASS_STALE &&
              sector_kind(o.vol, 1, VSS_FILL_WINDOWS, 50 * BS) == 'L',
          "diff area read through (stale) in an older snapshot");
    CHECK(class_at(o.vol, 2, VSS_FILL_WINDOWS, 51 * BS + 100) ==
              VSS_CLASS_ZERO,
          "diff area zero in the newest snapshot");
    /* Unaligned read spanning blocks equals the concatenation. */
    {
        vss_snapshot *s;
        uint8_t big[3 * BS], one[BS];
        int ok = 1;
        vss_snapshot_open(o.vol, 1, VSS_FILL_WINDOWS, &s, NULL);
        CHECK(vss_snapshot_read_at(s, big, sizeof big - 1000, 31 * BS + 1000,
                                   NULL) == (int64_t)(sizeof big - 1000),
              "long read");
        for (int b = 0; b < 3 && ok; b++) {
            vss_snapshot_read_at(s, one, BS, (31 + (uint64_t)b) * BS, NULL);
            for (size_t i = 0; i < BS; i++) {
                size_t at = (size_t)b * BS + i;
                if (at < 1000 || at - 1000 >= sizeof big - 1000)
                    continue;
                if (big[at - 1000] != one[i])
                    ok = 0;
            }
        }
        CHECK(ok, "unaligned read matches block reads");
        CHECK(vss_snapshot_read_at(s, one, BS, VOLSIZE - 10, NULL) == 10,
              "short at end");
        CHECK(vss_snapshot_read_at(s, one, BS, VOLSIZE, NULL) == 0, "eof");
        vss_snapshot_close(s);
    }
    close_mem(&o);
    free(vol);
}

/* Open src: the volume opens, opening snapshot 1 fails with an error
 * containing want, and the listing then shows it as the store's error. */
static int corrupt_store(vss_source *src, const char *want)
{
    vss_volume *v;
    vss_snapshot *s = NULL;
    vss_snapshot_info si;
    vss_error e = {0};
    int ok;
    if (vss_volume_open(src, &v, &e) != VSS_OK) {
        printf("open: %s\n", e.message);
        return 0;
    }
    /* Some damage shows when listing, some only when the store is read
     * for the first snapshot opened through it; after that, both. */
    ok = vss_snapshot_open(v, 1, VSS_FILL_WINDOWS, &s, &e) == VSS_ECORRUPT &&
         strstr(e.message, want) &&
         vss_volume_snapshot_info(v, 1, &si, &e) == VSS_OK &&
         si.store_error == VSS_ECORRUPT &&
         strstr(si.store_error_message, want);
    if (!ok)
        printf("store error: %s / %s\n", si.store_error_message, e.message);
    vss_snapshot_close(s);
    vss_volume_close(v);
    return ok;
}

static void test_hostile_headers(void)
{
    const desc d1[] = {{31 * BS, 0, 24 * BS, 0, 0}};
    store_spec st[1] = {{0x11, 0x40, d1, 1, NULL, 0, 0}};
    uint8_t *vol = build_volume(st, 1);
    vss_source *src;
    vss_volume *v;
    vss_error e = {0};
    int rc;

    /* Catalog pointing at itself via next offset: ends, not a hang. */
    put64(vol + 2 * BS + 40, 2 * BS);
    vss_source_open_memory(vol, VOLSIZE, "mem", &src, NULL);
    rc = vss_volume_open(src, &v, &e);
    CHECK(rc == 0, "self-loop catalog tolerated: %s", e.message);
    if (!rc)
        vss_volume_close(v);
    /* A two-block loop is corrupt. */
    memset(vol + 3 * BS, 0, BS);
    block_header(vol, 3 * BS, 2, 2 * BS);
    put64(vol + 2 * BS + 40, 3 * BS);
    rc = vss_volume_open(src, &v, &e);
    CHECK(rc == VSS_ECORRUPT && strstr(e.message, "loop"), "loop: %d %s", rc,
          e.message);
    put64(vol + 2 * BS + 40, 0);
    /* A corrupt store: the volume opens, lists the snapshot with the
     * store's error, and refuses to read it. */
    put64(vol + 5 * BS + 128 + 16, (uint64_t)VOLSIZE + BS);
    CHECK(corrupt_store(src, "past the end"), "data past end");
    put64(vol + 5 * BS + 128 + 16, 24 * BS);
    put32(vol + 5 * BS + 128 + 24, 0x100); /* unknown descriptor flags */
    CHECK(corrupt_store(src, "flags 0x100"), "flags");
    put32(vol + 5 * BS + 128 + 24, 0);
    put32(vol + 4 * BS + 20, 6); /* wrong record type for the store header */
    CHECK(corrupt_store(src, "store header at offset 65536: record type 6"),
          "type");
    put32(vol + 4 * BS + 20, 4);
    /* Zeroed header: no VSS, zero snapshots, not an error. */
    memset(vol + 0x1E00, 0, 512);
    rc = vss_volume_open(src, &v, &e);
    CHECK(rc == 0 && !vss_volume_has_vss(v) &&
              vss_volume_snapshot_count(v) == 0,
          "zeroed header");
    if (!rc)
        vss_volume_close(v);
    vss_source_release(src);
    /* Truncated image: the catalog lies past the end. */
    {
        uint8_t *v2 = build_volume(st, 1);
        vss_source_open_memory(v2, 2 * BS + 100, "short", &src, NULL);
        rc = vss_volume_open(src, &v, &e);
        CHECK(rc == VSS_EIO && strstr(e.message, "catalog block"),
              "truncated: %d %s", rc, e.message);
        vss_source_release(src);
        free(v2);
    }
    free(vol);
}

/* A corrupt older store leaves the newer snapshots readable; a corrupt
 * newer store makes every older snapshot unreadable (they read through
 * it). */
static void test_partial_open(void)
{
    const desc d1[] = {{31 * BS, 0, 24 * BS, 0, 0}};
    const desc d2[] = {{30 * BS, 0, 25 * BS, 0, 0}};
    store_spec st[2] = {{0x11, 0x40, d1, 1, NULL, 0, 0},
                        {0x22, 0x40, d2, 1, NULL, 0, 0}};
    uint8_t *vol = build_volume(st, 2);
    opened o;
    vss_snapshot *s = NULL;
    vss_error e = {0};

    put32(vol + 4 * BS + 20, 6); /* store 1's header: wrong type */
    if (open_mem(vol, &o) == 0) {
        CHECK(vss_snapshot_open(o.vol, 2, VSS_FILL_WINDOWS, &s, &e) == 0,
              "snapshot 2 readable despite store 1: %s", e.message);
        vss_snapshot_close(s);
        s = NULL;
        CHECK(vss_snapshot_open(o.vol, 1, VSS_FILL_WINDOWS, &s, &e) ==
                  VSS_ECORRUPT,
              "snapshot 1 refused");
        close_mem(&o);
    } else {
        failed++;
    }
    put32(vol + 4 * BS + 20, 4);
    put32(vol + 8 * BS + 20, 6); /* store 2's header */
    if (open_mem(vol, &o) == 0) {
        CHECK(vss_snapshot_open(o.vol, 1, VSS_FILL_WINDOWS, &s, &e) ==
                      VSS_ECORRUPT &&
                  strstr(e.message, "store of snapshot 2"),
              "snapshot 1 reads through broken store 2: %s", e.message);
        close_mem(&o);
    } else {
        failed++;
    }
    free(vol);
}

static void test_partitions(void)
{
    uint8_t *disk = calloc(1, 4 << 20);
    vss_source *src;
    vss_partition *p;
    size_t n;
    vss_error e = {0};
    /* MBR: partition 1 at sector 2048, an extended partition at 4096 with
     * one logical at +1 sector. */
    disk[510] = 0x55;
    disk[511] = 0xAA;
    disk[446 + 4] = 0x07;
    put32(disk + 446 + 8, 2048);
    put32(disk + 446 + 12, 1024);
    disk[462 + 4] = 0x05;
    put32(disk + 462 + 8, 4096);
    put32(disk + 462 + 12, 2048);
    disk[4096 * 512 + 510] = 0x55;
    disk[4096 * 512 + 511] = 0xAA;
    disk[4096 * 512 + 446 + 4] = 0x07;
    put32(disk + 4096 * 512 + 446 + 8, 1);
    put32(disk + 4096 * 512 + 446 + 12, 100);
    memcpy(disk + 2048 * 512 + 3, "NTFS    ", 8);
    put32(disk + 2048 * 512 + 11, 512 | (8 << 16));
    disk[2048 * 512 + 510] = 0x55;
    disk[2048 * 512 + 511] = 0xAA;
    vss_source_open_memory(disk, 4 << 20, "disk", &src, NULL);
    CHECK(vss_disk_scan(src, &p, &n, &e) == 0 && n == 2, "mbr scan %zu %s", n,
          e.message);
    if (n == 2) {
        CHECK(p[0].offset == 2048 * 512 && p[0].is_ntfs, "p1");
        CHECK(p[1].offset == 4097 * 512 && p[1].number == 5, "logical");
    }
    vss_partitions_free(p);
    /* EBR that links to itself: a loop, reported. */
    disk[4096 * 512 + 462 + 4] = 0x05;
    put32(disk + 4096 * 512 + 462 + 8, 0);
    put32(disk + 4096 * 512 + 462 + 8, 0);
    CHECK(vss_disk_scan(src, &p, &n, &e) == 0, "ebr link 0 ends chain");
    vss_partitions_free(p);
    vss_source_release(src);
    free(disk);
}

/* File sources fill reads that fall in a hole of a sparse image without
 * reading (io.c): every read must still give exactly the file's bytes,
 * across data/hole boundaries and at the end. */
static void test_sparse_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    static uint8_t a[300000], b[300000];
    uint64_t size = 8 * 1048576 + 123, x = 88172645463325252ULL;
    vss_source *src = NULL;
    vss_error e = {0};
    int fd, rfd, ok = 1;

    snprintf(path, sizeof path, "%s/libvss-unit-sparse-XXXXXX",
             dir ? dir : "/tmp");
    fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp %s", path);
    if (fd < 0)
        return;
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(i * 7 + 1);
    /* data at 0, around 1 MiB + 100, 5 MiB (64 KiB) and in the last bytes */
    CHECK(pwrite(fd, a, 4096, 0) == 4096 &&
              pwrite(fd, a, 9000, 1048576 + 100) == 9000 &&
              pwrite(fd, a, 65536, 5 * 1048576) == 65536 &&
              ftruncate(fd, (off_t)size) == 0 &&
              pwrite(fd, a, 50, (off_t)size - 50) == 50,
          "writing the sparse file");
    close(fd);
    rfd = open(path, O_RDONLY);
    CHECK(vss_source_open_file(path, &src, &e) == 0, "open: %s", e.message);
    for (int r = 0; src && rfd >= 0 && r < 4000; r++) {
        uint64_t off, len;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        off = x % (size + 1000);
        if (r % 3 == 0) /* near a boundary */
            off = (r % 2 ? 1048576 + 100 + 9000 : 5 * 1048576) - 2000 +
                  x % 4000;
        len = 1 + (x >> 40) % (r % 5 ? 4096 : sizeof a);
        int64_t got = vss_source_read_at(src, a, (size_t)len, off);
        ssize_t want = pread(rfd, b, (size_t)len, (off_t)off);
        if (got != want || (got > 0 && memcmp(a, b, (size_t)got) != 0)) {
            ok = 0;
            printf("sparse read of %llu at %llu: got %lld, want %zd\n",
                   (unsigned long long)len, (unsigned long long)off,
                   (long long)got, want);
            break;
        }
    }
    CHECK(ok, "reads of a sparse file equal pread's");
    vss_source_release(src);
    if (rfd >= 0)
        close(rfd);
    unlink(path);
}

int main(void)
{
    test_formatting();
    test_stacking_and_bitmaps();
    test_overlay_forwarder_diff_area();
    test_shadow_copy_files();
    test_hostile_headers();
    test_partial_open();
    test_partitions();
    test_sparse_file();
    return ct_finish("unit");
}
