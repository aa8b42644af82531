/* fuzz_blocklist.c — block descriptors one by one, then the input as a
 * block list chain at 16 KiB on a memory source (see fuzz_common.h). */
#include "fuzz_common.h"
#include "vss/vss_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_error err = {0};
    vss_source *src;
    vss_desc *d = NULL;
    size_t n = 0, listed = 0, raw = 0, pos;
    fz_buf b;
    int rc;

    for (pos = 0; pos + VSS_DESC_SIZE <= size && pos < 4096;
         pos += VSS_DESC_SIZE) {
        vss_raw_desc r;
        rc = vss_desc_decode(data + pos, pos, &r, &err);
        fz_check_error(rc, &err);
        FZ_ASSERT(rc >= -7 && rc <= 1, "desc rc %d", rc);
        if (rc == 1)
            FZ_ASSERT(r.original % FZ_BLOCK == 0 && r.data % FZ_BLOCK == 0,
                      "unaligned descriptor accepted");
    }
    if (fz_chain_source(data, size, &b, &src))
        return 0;
    rc = vss_block_list_read(src, FZ_BLOCK, 64, &d, &n, &listed, &err);
    fz_check_error(rc, &err);
    raw = (size / FZ_BLOCK + 1) * ((FZ_BLOCK - 128) / 32);
    if (rc == 0) {
        FZ_ASSERT(n <= listed && listed <= raw,
                  "%zu resolved of %zu listed descriptors from %zu bytes", n,
                  listed, size);
        FZ_ASSERT((n == 0) == (d == NULL), "count/array mismatch");
        for (size_t i = 1; i < n; i++)
            FZ_ASSERT(d[i - 1].original <= d[i].original, "not sorted");
        for (size_t i = 0; i < n; i++) {
            FZ_ASSERT(d[i].original % FZ_BLOCK == 0, "original unaligned");
            FZ_ASSERT(!(d[i].flags & VSS_DESC_IGNORE), "ignored kept");
        }
    } else {
        FZ_ASSERT(d == NULL && n == 0 && listed == 0, "output set on error");
    }
    free(d);
    vss_source_release(src);
    free(b.data);
    return 0;
}
