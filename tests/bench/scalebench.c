/*
 * scalebench — how open time and memory grow with the number of block
 * descriptors and snapshots. Builds, in memory, a volume of 4 GiB (sparse:
 * only metadata is stored) with S snapshots holding D descriptors in all,
 * opens it and its oldest snapshot (which loads every store's descriptors)
 * R times and prints:
 *   "<snapshots> <descriptors> <open seconds> <bytes allocated by open>"
 * Memory is measured with mallinfo2 around the two opens.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vss.h"

#define BS 16384u
static const uint8_t VSSID[16] = {0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1,
                                  0x48, 0x4e, 0xb7, 0xae, 0x04, 0x04,
                                  0x6e, 0x6c, 0xc7, 0x52};

/* A sparse in-memory volume: a map from block number to 16 KiB buffers. */
typedef struct sparse {
    uint64_t size;
    uint8_t **blocks;
} sparse;

static uint8_t *blk(sparse *s, uint64_t off)
{
    uint64_t i = off / BS;
    if (!s->blocks[i])
        s->blocks[i] = calloc(1, BS);
    return s->blocks[i] + off % BS;
}

static int64_t sp_read(void *ctx, void *buf, size_t len, uint64_t off)
{
    sparse *s = ctx;
    size_t done = 0;
    while (done < len) {
        uint64_t i = (off + done) / BS, in = (off + done) % BS;
        size_t n = BS - in < len - done ? BS - in : len - done;
        if (s->blocks[i])
            memcpy((uint8_t *)buf + done, s->blocks[i] + in, n);
        else
            memset((uint8_t *)buf + done, 0, n);
        done += n;
    }
    return (int64_t)done;
}

static const vss_source_ops sp_ops = {sp_read, NULL};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void header(sparse *s, uint64_t off, uint32_t type, uint64_t next)
{
    uint8_t *p = blk(s, off);
    memcpy(p, VSSID, 16);
    put32(p + 16, 1);
    put32(p + 20, type);
    put64(p + 32, off);
    put64(p + 40, next);
}

int main(int argc, char **argv)
{
    int nsnap = argc > 1 ? atoi(argv[1]) : 1;
    uint64_t ndesc = argc > 2 ? strtoull(argv[2], NULL, 0) : 1000;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    sparse s = {4ull << 30, NULL};
    uint64_t nblocks = s.size / BS, next_meta = 16 * BS;
    uint64_t per = ndesc / (uint64_t)nsnap, cat = 2 * BS;
    const uint64_t per_block = (BS - 128) / 32;
    double best = 1e9;
    size_t mem = 0;

    s.blocks = calloc(nblocks, sizeof *s.blocks);
    memcpy(blk(&s, 0x1E00), VSSID, 16);
    put32(blk(&s, 0x1E00 + 16), 1);
    put32(blk(&s, 0x1E00 + 20), 1);
    put64(blk(&s, 0x1E00 + 48), cat);
    memset(blk(&s, 0x1E00 + 64), 0xAA, 32);
    header(&s, cat, 2, 0);
    for (int k = 0; k < nsnap; k++) {
        uint8_t *e2 = blk(&s, cat + 128 + (uint64_t)k * 256);
        uint8_t *e3 = e2 + 128;
        uint64_t hdr = next_meta, list = hdr + BS, nlist;
        next_meta += BS;
        put64(e2, 2);
        put64(e2 + 8, s.size);
        memset(e2 + 16, k + 1, 16);
        put64(e2 + 32, (uint64_t)k + 1);
        put64(e2 + 40, 0x40);
        put64(e3, 3);
        memset(e3 + 16, k + 1, 16);
        put64(e3 + 32, hdr);
        header(&s, hdr, 4, 0);
        nlist = (per + per_block - 1) / per_block;
        if (!nlist)
            nlist = 1;
        put64(e3 + 8, next_meta);
        for (uint64_t b = 0; b < nlist; b++) {
            uint64_t at = next_meta;
            next_meta += BS;
            header(&s, at, 3, b + 1 < nlist ? next_meta : 0);
            for (uint64_t i = 0; i < per_block && b * per_block + i < per; i++) {
                uint64_t n = b * per_block + i;
                uint8_t *d = blk(&s, at + 128 + i * 32);
                /* Spread originals over the volume, data at the end. */
                put64(d, ((n * 2654435761u) % (nblocks / 2)) * BS);
                put64(d + 16, (nblocks / 2 + n % (nblocks / 2 - 1)) * BS);
            }
        }
        (void)list;
    }
    for (int r = 0; r < reps; r++) {
        vss_source *src;
        vss_volume *v;
        vss_error e = {0};
        struct timespec a, b;
        struct mallinfo2 m0, m1;
        vss_source_new(&sp_ops, &s, s.size, "sparse", &src, &e);
        m0 = mallinfo2();
        clock_gettime(CLOCK_MONOTONIC, &a);
        vss_snapshot *snap = NULL;
        /* Opening snapshot 1 loads every store's descriptors (listing
         * alone reads only their counts). */
        if (vss_volume_open(src, &v, &e) ||
            vss_snapshot_open(v, 1, VSS_FILL_WINDOWS, &snap, &e)) {
            fprintf(stderr, "open: %s\n", e.message);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        m1 = mallinfo2();
        double t = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
        if (t < best)
            best = t;
        mem = m1.uordblks + m1.hblkhd - m0.uordblks - m0.hblkhd;
        vss_snapshot_close(snap);
        vss_volume_close(v);
        vss_source_release(src);
    }
    printf("%d %llu %.6f %zu\n", nsnap, (unsigned long long)ndesc, best, mem);
    return 0;
}
