/* fuzz_bitmap.c — the input as a bitmap chain at 16 KiB, read for a few
 * volume sizes (bit counts); the first input byte picks one more. */
#include "fuzz_common.h"
#include "vss/vss_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint64_t per = (FZ_BLOCK - 128) * 8;
    uint64_t sizes[6] = {0, 1, 65536, 2 * per + 3, 1ull << 50, 0};
    vss_error err = {0};
    vss_source *src;
    fz_buf b;

    sizes[5] = size ? (uint64_t)data[0] * 4099 : 7;
    if (fz_chain_source(data, size, &b, &src))
        return 0;
    for (int i = 0; i < 6; i++) {
        uint8_t *bm = NULL;
        uint64_t nbits = sizes[i], have = 0;
        int rc = vss_bitmap_read(src, FZ_BLOCK, nbits, &bm, &have, &err);
        fz_check_error(rc, &err);
        if (rc == 0) {
            size_t nbytes = (size_t)((have + 7) / 8);
            FZ_ASSERT(bm != NULL, "no bitmap");
            FZ_ASSERT(have <= nbits, "%llu bits of %llu",
                      (unsigned long long)have, (unsigned long long)nbits);
            FZ_ASSERT(have <= (size / 16256 + 1) * 16256 * 8,
                      "more bits than the chain holds");
            if (have % 8)
                FZ_ASSERT((bm[nbytes - 1] >> (have % 8)) == 0,
                          "spare bits set");
            /* Touch every byte (ASan checks the buffer's extent). */
            for (size_t j = 0; j < nbytes; j++)
                (void)*(volatile uint8_t *)&bm[j];
            /* Bits beyond have never test as set. */
            FZ_ASSERT(!bitmap_test(bm, have, have), "bit past the end");
        } else {
            FZ_ASSERT(bm == NULL, "bitmap on error");
        }
        free(bm);
    }
    vss_source_release(src);
    free(b.data);
    return 0;
}
