/*
 * chain.c — every chain of metadata blocks read from disk goes through a
 * guard: a block visited twice means a loop, and every chain has a hard
 * length cap derived from what the volume could possibly need.
 */
#include <stdlib.h>

#include "base/base.h"

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
