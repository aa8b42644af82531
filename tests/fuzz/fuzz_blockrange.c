/* fuzz_blockrange.c — the input as a block range list chain at 16 KiB. */
#include "fuzz_common.h"
#include "vss/vss_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_error err = {0};
    vss_source *src;
    vss_block_range *r = NULL;
    size_t n = 0;
    fz_buf b;
    int rc;

    if (fz_chain_source(data, size, &b, &src))
        return 0;
    rc = vss_block_ranges_read(src, FZ_BLOCK, 64, &r, &n, &err);
    fz_check_error(rc, &err);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            FZ_ASSERT(r[i].size && r[i].volume_offset &&
                          r[i].volume_offset + r[i].size > r[i].volume_offset,
                      "bad range kept");
    } else {
        FZ_ASSERT(r == NULL && n == 0, "output set on error");
    }
    free(r);
    vss_source_release(src);
    free(b.data);
    return 0;
}
