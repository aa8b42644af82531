/*
 * base/base.h — the library's ground floor, shared by every layer above
 * (io, vss, ntfs): visibility and format attributes, little-endian readers,
 * checked arithmetic, errors, the allocation wrappers where tests inject
 * failures, and the chain guard (loop and length cap) every on-disk chain
 * walk uses. Never installed; includes nothing of the library but vss.h.
 */
#ifndef VSS_BASE_H
#define VSS_BASE_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "vss.h"

#define VSS_HIDDEN __attribute__((visibility("hidden")))
#define VSS_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- little-endian readers: widen before shifting ----------------------
 * Named vss_le* so that they never clash with libntfs-3g's le16/le32
 * types (ntfs/ includes both). */


static inline uint16_t vss_le16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t vss_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t vss_le64(const uint8_t *p)
{
    return (uint64_t)vss_le32(p) | (uint64_t)vss_le32(p + 4) << 32;
}

/* Checked arithmetic for offsets taken from disk. */
/* Index of the first element >= key in the sorted array a[0..n). */
static inline size_t lower_bound_u64(const uint64_t *a, size_t n,
                                     uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (a[m] < key)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

static inline int add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
    return __builtin_add_overflow(a, b, sum);
}

/* ---- errors -------------------------------------------------------------- */

/* Record code and message in err (if not NULL); returns code. */
VSS_HIDDEN int vss_fail(vss_error *err, int code, const char *fmt, ...)
    VSS_PRINTF(3, 4);

/* ---- allocation: one place to inject failures in tests ------------------- */

VSS_HIDDEN void *vss_malloc(size_t n);
VSS_HIDDEN void *vss_calloc(size_t n, size_t size);
VSS_HIDDEN void *vss_realloc(void *p, size_t n);

/* Fail the Nth allocation from now on (0 = never): a test hook, hidden
 * like the rest (the tests link libvss.a, which keeps it visible to them;
 * libvss.so does not export it). */
VSS_HIDDEN void vss_test_fail_alloc_after(long n);

/* ---- chains of blocks on disk: loop and length guard --------------------- */

typedef struct vss_chain {
    uint64_t *seen;   /* sorted offsets visited so far */
    size_t n, cap;
    size_t max;       /* hard cap on the chain length */
    const char *what; /* "catalog block", ... for messages */
} vss_chain;

/* Record a visit to offset: VSS_ECORRUPT if seen before (a loop) or if the
 * chain grows past max. */
VSS_HIDDEN int vss_chain_visit(vss_chain *c, uint64_t offset, vss_error *err);
VSS_HIDDEN void vss_chain_free(vss_chain *c);

#endif
