/*
 * fuzz_common.h — shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c),
 * the replay driver and the hostile-image test: input sources and checks.
 *
 * Two input layouts:
 *  - chain inputs (catalog, block list, block ranges, bitmap): the input is
 *    a run of 16 KiB blocks; the source is 16 KiB of zeros, then the input
 *    zero-padded to a whole block, then one more zero block. The chain
 *    starts at offset 16384 (the input's first byte).
 *  - sparse volumes (volume, snapshot): a u64 LE virtual volume size, then
 *    chunks (u64 LE offset, u32 LE length, bytes). The source has the
 *    virtual size; bytes not covered by a chunk read as zeros; a later chunk
 *    wins where chunks overlap. tests/fuzz/make_seeds.py writes these from
 *    the real images' metadata blocks.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"

#define FZ_BLOCK 16384u

/* A failed invariant: print and abort, so libFuzzer records a crash. */
#define FZ_ASSERT(cond, ...)                                                 \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "invariant failed at %s:%d: %s: ", __FILE__,     \
                    __LINE__, #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* Every failure must be a known code with a message (the "clear error"). */
static inline void fz_check_error(int rc, const vss_error *err)
{
    if (rc >= 0)
        return;
    FZ_ASSERT(rc >= VSS_ENOSTORAGE, "unknown error code %d", rc);
    FZ_ASSERT(err->code == rc, "err.code %d but returned %d (%s)", err->code,
              rc, err->message);
    FZ_ASSERT(err->message[0] != '\0', "error %d without a message", rc);
}

/* ---- chain inputs --------------------------------------------------------- */

typedef struct fz_buf {
    uint8_t *data;
    size_t size;
} fz_buf;

static inline int fz_chain_source(const uint8_t *in, size_t n, fz_buf *b,
                                  vss_source **src)
{
    size_t blocks = (n + FZ_BLOCK - 1) / FZ_BLOCK;
    vss_error err;
    b->size = (blocks + 2) * FZ_BLOCK;
    b->data = calloc(1, b->size);
    if (!b->data)
        return -1;
    if (n)
        memcpy(b->data + FZ_BLOCK, in, n);
    if (vss_source_open_memory(b->data, b->size, "fuzz", src, &err) != 0) {
        free(b->data);
        return -1;
    }
    return 0;
}

/* ---- sparse volumes ---------------------------------------------------------- */

typedef struct fz_chunk {
    uint64_t off;
    size_t len;
    const uint8_t *p;
} fz_chunk;

typedef struct fz_sparse {
    fz_chunk *c;
    size_t n;
} fz_sparse;

#define FZ_MAX_CHUNKS 4096u

static inline uint64_t fz_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline uint32_t fz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int64_t fz_sparse_read(void *ctx, void *buf, size_t len, uint64_t off)
{
    fz_sparse *s = ctx;
    uint64_t end = off + len; /* the source layer clips len to the size */
    memset(buf, 0, len);
    for (size_t i = 0; i < s->n; i++) {
        const fz_chunk *c = &s->c[i];
        uint64_t cend = c->off + c->len;
        uint64_t a, z;
        if (cend < c->off) /* wraps: clip at 2^64 */
            cend = UINT64_MAX;
        a = c->off > off ? c->off : off;
        z = cend < end ? cend : end;
        if (a < z)
            memcpy((uint8_t *)buf + (a - off), c->p + (a - c->off),
                   (size_t)(z - a));
    }
    return (int64_t)len;
}

static void fz_sparse_close(void *ctx)
{
    fz_sparse *s = ctx;
    free(s->c);
    free(s);
}

static const vss_source_ops fz_sparse_ops = {fz_sparse_read, fz_sparse_close};

/* The input bytes must outlive the source. Returns 0 or -1. */
static inline int fz_sparse_source(const uint8_t *in, size_t n,
                                   vss_source **src)
{
    fz_sparse *s;
    uint64_t size;
    size_t pos = 8;
    vss_error err;

    if (n < 8)
        return -1;
    size = fz_le64(in);
    s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->c = calloc(FZ_MAX_CHUNKS, sizeof *s->c);
    if (!s->c) {
        free(s);
        return -1;
    }
    while (pos + 12 <= n && s->n < FZ_MAX_CHUNKS) {
        fz_chunk *c = &s->c[s->n++];
        c->off = fz_le64(in + pos);
        c->len = fz_le32(in + pos + 8);
        pos += 12;
        if (c->len > n - pos)
            c->len = n - pos;
        c->p = in + pos;
        pos += c->len;
    }
    if (vss_source_new(&fz_sparse_ops, s, size, "fuzz-volume", src, &err))
        return -1; /* closed s */
    return 0;
}

/* ---- a small deterministic PRNG (splitmix64) --------------------------------- */

static inline uint64_t fz_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t fz_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

#endif
