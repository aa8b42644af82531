/*
 * bitmap.c — a store's current or previous bitmap (record type 6): one bit
 * per 16 KiB block of the volume, least significant bit first; a set bit
 * means the block was not in use when the snapshot was taken
 * (docs/format.md, "Bitmaps").
 */
#include <stdlib.h>

#include "internal.h"

int vss_bitmap_read(vss_source *src, uint64_t offset, uint64_t nbits,
                    uint8_t **out, vss_error *err)
{
    const size_t per_block = VSS_BLOCK_SIZE - VSS_BLOCK_HEADER_SIZE;
    size_t nbytes = (size_t)((nbits + 7) / 8), have = 0;
    /* Never follow the chain further than the volume needs (plus one block
     * so that a loop is still seen as such). */
    vss_chain chain = {NULL, 0, 0, nbytes / per_block + 2, "bitmap block"};
    uint8_t *block, *bm;
    int rc = VSS_OK;

    *out = NULL;
    if (nbits / 8 > SIZE_MAX / 2)
        return vss_fail(err, VSS_ENOMEM, "bitmap: %llu bits is too large",
                        (unsigned long long)nbits);
    block = vss_malloc(VSS_BLOCK_SIZE);
    bm = vss_calloc(nbytes ? nbytes : 1, 1);
    if (!block || !bm) {
        free(block);
        free(bm);
        return vss_fail(err, VSS_ENOMEM, "bitmap: out of memory");
    }
    while (offset != 0 && have < nbytes) {
        vss_block_header bh;
        size_t take;
        if ((rc = vss_chain_visit(&chain, offset, err)) ||
            (rc = vss_read_exact(src, block, VSS_BLOCK_SIZE, offset,
                                 "bitmap block", err)) ||
            (rc = vss_block_header_decode(block, VSS_BLOCK_SIZE,
                                          VSS_RECORD_BITMAP, offset,
                                          "bitmap block", &bh, err)))
            break;
        if (bh.own_offset != offset)
            break;
        take = nbytes - have < per_block ? nbytes - have : per_block;
        memcpy(bm + have, block + VSS_BLOCK_HEADER_SIZE, take);
        have += take;
        if (bh.next_offset % VSS_BLOCK_SIZE) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "bitmap block at offset %llu: next offset %llu not "
                          "16 KiB aligned",
                          (unsigned long long)offset,
                          (unsigned long long)bh.next_offset);
            break;
        }
        offset = bh.next_offset;
    }
    free(block);
    vss_chain_free(&chain);
    if (rc) {
        free(bm);
        return rc;
    }
    /* Bits past the last bitmap block stay 0: in use. The final byte's
     * spare bits are cleared so counts stay exact. */
    if (nbits % 8)
        bm[nbytes - 1] &= (uint8_t)((1u << (nbits % 8)) - 1);
    *out = bm;
    return VSS_OK;
}
