/* fuzz_catalog.c — one catalog block decoded from the input, then the
 * input as a catalog chain starting at 16 KiB (see fuzz_common.h). */
#include "fuzz_common.h"
#include "vss/vss_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_catalog cat;
    vss_error err = {0};
    vss_source *src;
    fz_buf b;
    int rc;

    memset(&cat, 0, sizeof cat);
    rc = vss_catalog_decode_block(data, size < FZ_BLOCK ? size : FZ_BLOCK,
                                  FZ_BLOCK, &cat, &err);
    fz_check_error(rc, &err);
    FZ_ASSERT(cat.nsnapshots + cat.nlocations <= FZ_BLOCK / 128,
              "more entries than fit in a block");
    vss_catalog_free(&cat);

    if (fz_chain_source(data, size, &b, &src))
        return 0;
    rc = vss_catalog_read(src, FZ_BLOCK, &cat, &err);
    fz_check_error(rc, &err);
    if (rc == 0) {
        FZ_ASSERT(cat.nsnapshots + cat.nlocations <=
                      (size / FZ_BLOCK + 1) * (FZ_BLOCK / 128),
                  "more entries than blocks");
        for (size_t i = 0; i < cat.nsnapshots; i++)
            FZ_ASSERT(cat.snapshots[i].volume_size % 512 == 0 &&
                          cat.snapshots[i].volume_size,
                      "volume size");
        for (size_t i = 0; i < cat.nlocations; i++)
            FZ_ASSERT(cat.locations[i].block_list_offset % FZ_BLOCK == 0 &&
                          cat.locations[i].store_header_offset % FZ_BLOCK == 0,
                      "location offsets");
    } else {
        FZ_ASSERT(cat.snapshots == NULL && cat.locations == NULL,
                  "catalog not freed on error");
    }
    vss_catalog_free(&cat);
    vss_source_release(src);
    free(b.data);
    return 0;
}
