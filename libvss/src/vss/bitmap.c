/*
 * bitmap.c — a store's current or previous bitmap (record type 6): one bit
 * per 16 KiB block of the volume, least significant bit first; a set bit
 * means the block was not in use when the snapshot was taken
 * (docs/format.md, "Bitmaps").
 */
#include <stdlib.h>

#include "vss/vss_int.h"

int vss_bitmap_read(vss_source *src, uint64_t offset, uint64_t nbits,
                    uint8_t **out, uint64_t *have_bits, vss_error *err)
{
    const size_t per_block = VSS_BLOCK_SIZE - VSS_BLOCK_HEADER_SIZE;
    uint64_t nbytes = nbits / 8 + (nbits % 8 != 0);
    size_t have = 0, cap = 0;
    /* Never follow the chain further than the volume needs (plus one block
     * so that a loop is still seen as such). The buffer grows with the
     * blocks read: a giant volume size in a hostile catalog costs nothing
     * unless the chain on disk is that long too. */
    vss_chain chain = {NULL, 0, 0,
                       (size_t)(nbytes / per_block + 2 < SIZE_MAX / 2
                                    ? nbytes / per_block + 2
                                    : SIZE_MAX / 2),
                       "bitmap block"};
    uint8_t *block, *bm = NULL;
    int rc = VSS_OK;

    *out = NULL;
    *have_bits = 0;
    block = vss_malloc(VSS_BLOCK_SIZE);
    if (!block)
        return vss_fail(err, VSS_ENOMEM, "bitmap: out of memory");
    while (offset != 0 && have < nbytes) {
        vss_block_header bh;
        size_t take;
        uint8_t *nb;
        if ((rc = vss_chain_visit(&chain, offset, err)) ||
            (rc = vss_read_exact(src, block, VSS_BLOCK_SIZE, offset,
                                 "bitmap block", err)) ||
            (rc = vss_block_header_decode(block, VSS_BLOCK_SIZE,
                                          VSS_RECORD_BITMAP, offset,
                                          "bitmap block", &bh, err)))
            break;
        if (bh.own_offset != offset)
            break;
        take = nbytes - have < per_block ? (size_t)(nbytes - have) : per_block;
        if (have + take > cap) {
            /* Doubling (up to what the volume needs) keeps the copying
             * linear in the bitmap's size. */
            size_t ncap = cap ? cap * 2 : 4 * per_block;
            if (ncap > nbytes)
                ncap = (size_t)nbytes;
            if (ncap < have + take)
                ncap = have + take;
            nb = vss_realloc(bm, ncap);
            if (!nb) {
                rc = vss_fail(err, VSS_ENOMEM, "bitmap: out of memory");
                break;
            }
            bm = nb;
            cap = ncap;
        }
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
    if (!bm) {
        /* No block: every bit reads 0 (in use); callers test bm != NULL. */
        bm = vss_calloc(1, 1);
        if (!bm)
            return vss_fail(err, VSS_ENOMEM, "bitmap: out of memory");
    }
    /* Bits past the last bitmap block read 0: in use. The final byte's
     * spare bits are cleared so counts stay exact. */
    *have_bits = (uint64_t)have * 8 < nbits ? (uint64_t)have * 8 : nbits;
    if (have && *have_bits % 8)
        bm[have - 1] &= (uint8_t)((1u << (*have_bits % 8)) - 1);
    *out = bm;
    return VSS_OK;
}
