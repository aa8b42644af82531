/*
 * chain.c — every chain of metadata blocks read from disk goes through a
 * guard: a block visited twice means a loop, and every chain has a hard
 * length cap derived from what the volume could possibly need.
 */
#include <stdlib.h>

#include "internal.h"

int vss_chain_visit(vss_chain *c, uint64_t offset, vss_error *err)
{
    size_t lo = lower_bound_u64(c->seen, c->n, offset);

    if (lo < c->n && c->seen[lo] == offset)
        return vss_fail(err, VSS_ECORRUPT,
                        "%s at offset %llu: visited twice (the chain loops)",
                        c->what, (unsigned long long)offset);
    if (c->n >= c->max)
        return vss_fail(err, VSS_ECORRUPT,
                        "%s at offset %llu: chain longer than %zu blocks",
                        c->what, (unsigned long long)offset, c->max);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        uint64_t *p = vss_realloc(c->seen, cap * sizeof *p);
        if (!p)
            return vss_fail(err, VSS_ENOMEM, "%s: out of memory", c->what);
        c->seen = p;
        c->cap = cap;
    }
    memmove(c->seen + lo + 1, c->seen + lo, (c->n - lo) * sizeof *c->seen);
    c->seen[lo] = offset;
    c->n++;
    return VSS_OK;
}

void vss_chain_free(vss_chain *c)
{
    free(c->seen);
    c->seen = NULL;
    c->n = c->cap = 0;
}

int vss_chain_offsets(vss_source *src, uint64_t first, uint32_t type,
                      const char *what, size_t max, uint64_t **out,
                      size_t *count, vss_error *err)
{
    vss_chain chain = {NULL, 0, 0, max, what};
    uint8_t hdr[VSS_BLOCK_HEADER_SIZE];
    uint64_t *list = NULL, offset = first;
    size_t n = 0, cap = 0;
    int rc = VSS_OK;

    *out = NULL;
    *count = 0;
    while (offset != 0) {
        vss_block_header bh;
        uint64_t *nl;
        if ((rc = vss_chain_visit(&chain, offset, err)) ||
            (rc = vss_read_exact(src, hdr, sizeof hdr, offset, what, err)) ||
            (rc = vss_block_header_decode(hdr, sizeof hdr, type, offset, what,
                                          &bh, err)))
            break;
        if (bh.own_offset != offset)
            break;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            nl = vss_realloc(list, ncap * sizeof *list);
            if (!nl) {
                rc = vss_fail(err, VSS_ENOMEM, "%s: out of memory", what);
                break;
            }
            list = nl;
            cap = ncap;
        }
        list[n++] = offset;
        if (bh.next_offset % VSS_BLOCK_SIZE || bh.next_offset == offset)
            break;
        offset = bh.next_offset;
    }
    vss_chain_free(&chain);
    if (rc) {
        free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return VSS_OK;
}
