/*
 * hasher.c — vss_hasher_*: the audit's digests (audit/digest.h) offered to
 * the callers that hash a byte stream of their own (vssinfo --extract), so
 * that the tools carry no digest code.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "audit/digest.h"

struct vss_hasher {
    int alg[VSS_HASH_COUNT];
    int nalg;
    digest d[VSS_HASH_COUNT];
};

int vss_hasher_open(const vss_hash *hashes, int n, vss_hasher **out,
                    vss_error *err)
{
    vss_hasher *h;
    int i;
    if (out)
        *out = NULL;
    if (!out || !hashes || n < 1 || n > VSS_HASH_COUNT)
        return vss_fail(err, VSS_EINVAL, "hasher: %d algorithms (1 to %d)",
                        n, VSS_HASH_COUNT);
    for (i = 0; i < n; i++)
        if (!vss_hash_length(hashes[i]))
            return vss_fail(err, VSS_EINVAL, "hasher: unknown hash %d",
                            (int)hashes[i]);
    h = vss_calloc(1, sizeof *h);
    if (!h)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        h->alg[i] = (int)hashes[i];
        digest_init(&h->d[i], h->alg[i]);
    }
    h->nalg = n;
    *out = h;
    return 0;
}

void vss_hasher_update(vss_hasher *h, const void *p, size_t n)
{
    int i;
    if (!h || !n)
        return;
    for (i = 0; i < h->nalg; i++)
        digest_update(&h->d[i], p, n);
}

void vss_hasher_final(vss_hasher *h, vss_digests *out)
{
    int i;
    memset(out, 0, sizeof *out);
    if (!h)
        return;
    for (i = 0; i < h->nalg; i++) {
        digest_final(&h->d[i], out->v[h->alg[i]]);
        out->have |= 1u << h->alg[i];
    }
    h->nalg = 0;
}

void vss_hasher_close(vss_hasher *h)
{
    free(h);
}
