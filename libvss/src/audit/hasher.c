/*
 * hasher.c — vss_hasher_*: the audit's digests (audit/digest.h) offered to
 * the callers that hash a byte stream of their own (vssinfo --extract), so
 * that the tools carry no digest code.
 */
#include <inttypes.h>
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

/* Every byte of a source hashed, 1 MiB at a time (the reads a container
 * decodes in whole chunks). */
int vss_source_hash(vss_source *src, const vss_hash *hashes, int n,
                    vss_progress_cb progress, void *user, vss_digests *out,
                    vss_error *err)
{
    const size_t bufsz = 1u << 20;
    uint64_t size, off = 0;
    vss_hasher *h = NULL;
    uint8_t *buf;
    int rc;

    if (out)
        memset(out, 0, sizeof *out);
    if (!src || !out)
        return vss_fail(err, VSS_EINVAL, "source hash: no source or no "
                        "result");
    if ((rc = vss_hasher_open(hashes, n, &h, err)))
        return rc;
    buf = vss_malloc(bufsz);
    if (!buf) {
        vss_hasher_close(h);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    size = vss_source_size(src);
    while (off < size) {
        size_t want = size - off < bufsz ? (size_t)(size - off) : bufsz;
        int64_t got = vss_source_read_at(src, buf, want, off);
        if (got <= 0) {
            /* the container names what failed (a chunk's checksum...) */
            vss_error ce = {0};
            if (got < 0 && vss_source_container_error(src, &ce) &&
                ce.message[0])
                rc = vss_fail(err, (int)got, "at byte %" PRIu64 ": %s", off,
                              ce.message);
            else
                rc = vss_fail(err, got < 0 ? (int)got : VSS_EIO,
                              "at byte %" PRIu64 ": %s", off,
                              got < 0 ? vss_strerror((int)got)
                                      : "unexpected end of data");
            break;
        }
        vss_hasher_update(h, buf, (size_t)got);
        off += (uint64_t)got;
        if (progress && progress(off, size, user)) {
            rc = vss_fail(err, VSS_EINVAL, "at byte %" PRIu64 ": cancelled",
                          off);
            break;
        }
    }
    if (!rc)
        vss_hasher_final(h, out);
    vss_hasher_close(h);
    free(buf);
    return rc;
}
