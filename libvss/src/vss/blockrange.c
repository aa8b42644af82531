/*
 * blockrange.c — a store's block-range list (record type 5): 24-byte
 * entries giving the extents of the store file itself on the storage
 * volume (docs/format.md, "Block ranges"). volsnap keeps these so that the
 * diff area's own blocks are never copied, and reads of them from a
 * snapshot of the same volume return zeros.
 */
#include <stdlib.h>

#include "vss/vss_int.h"

#define RANGE_ENTRY_SIZE 24u

int vss_block_ranges_read(vss_source *src, uint64_t offset, size_t max_blocks,
                          vss_block_range **out, size_t *count, vss_error *err)
{
    vss_chain chain = {NULL, 0, 0, max_blocks, "block range list block"};
    uint8_t *block = vss_malloc(VSS_BLOCK_SIZE);
    vss_block_range *list = NULL;
    size_t n = 0, cap = 0;
    int rc = VSS_OK;

    *out = NULL;
    *count = 0;
    if (!block)
        return vss_fail(err, VSS_ENOMEM, "block ranges: out of memory");
    while (offset != 0) {
        vss_block_header bh;
        size_t pos;
        if ((rc = vss_chain_visit(&chain, offset, err)) ||
            (rc = vss_read_exact(src, block, VSS_BLOCK_SIZE, offset,
                                 "block range list block", err)) ||
            (rc = vss_block_header_decode(block, VSS_BLOCK_SIZE,
                                          VSS_RECORD_BLOCK_RANGES, offset,
                                          "block range list block", &bh,
                                          err)))
            break;
        if (bh.own_offset != offset)
            break;
        for (pos = VSS_BLOCK_HEADER_SIZE;
             pos + RANGE_ENTRY_SIZE <= VSS_BLOCK_SIZE;
             pos += RANGE_ENTRY_SIZE) {
            vss_block_range r;
            uint64_t end;
            r.volume_offset = vss_le64(block + pos);
            r.relative_offset = vss_le64(block + pos + 8);
            r.size = vss_le64(block + pos + 16);
            if (r.volume_offset == 0)
                break;
            if (r.size == 0 || add_overflows(r.volume_offset, r.size, &end)) {
                rc = vss_fail(err, VSS_ECORRUPT,
                              "block range at offset %llu: size %llu invalid",
                              (unsigned long long)(offset + pos),
                              (unsigned long long)r.size);
                goto out;
            }
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                vss_block_range *np = vss_realloc(list, ncap * sizeof *np);
                if (!np) {
                    rc = vss_fail(err, VSS_ENOMEM,
                                  "block ranges: out of memory");
                    goto out;
                }
                list = np;
                cap = ncap;
            }
            list[n++] = r;
        }
        if (bh.next_offset % VSS_BLOCK_SIZE) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "block range list block at offset %llu: next offset "
                          "%llu not 16 KiB aligned",
                          (unsigned long long)offset,
                          (unsigned long long)bh.next_offset);
            break;
        }
        offset = bh.next_offset;
    }
out:
    free(block);
    vss_chain_free(&chain);
    if (rc) {
        free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return VSS_OK;
}
