/*
 * catalog.c — the catalog: a chain of 16 KiB blocks, each a block header
 * and 127 entries of 128 bytes (docs/format.md, "Catalog"). Type 2 entries
 * describe snapshots, type 3 entries say where each snapshot's store lives.
 */
#include <stdlib.h>

#include "vss/vss_int.h"

enum { ENTRY_UNUSED = 1, ENTRY_SNAPSHOT = 2, ENTRY_LOCATION = 3 };

/* Type 2 entry fields. */
enum { E2_VOLUME_SIZE = 8, E2_STORE_GUID = 16, E2_STACK = 32, E2_FLAGS = 40,
       E2_TIME = 48 };
/* Type 3 entry fields. */
enum { E3_BLOCK_LIST = 8, E3_STORE_GUID = 16, E3_STORE_HEADER = 32,
       E3_BLOCK_RANGES = 40, E3_BITMAP = 48, E3_FILE_REF = 56,
       E3_ALLOCATED = 64, E3_PREV_BITMAP = 72 };

static int grow(void **arr, size_t count, size_t elem)
{
    /* Grow by doubling when count reaches a power of two. */
    if (count == 0 || (count & (count - 1)) == 0) {
        size_t cap = count ? count * 2 : 8;
        void *p = vss_realloc(*arr, cap * elem);
        if (!p)
            return VSS_ENOMEM;
        *arr = p;
    }
    return VSS_OK;
}

static int check_offset(uint64_t v, const char *field, uint64_t at,
                        int may_be_zero, vss_error *err)
{
    if ((!may_be_zero && v == 0) || v % VSS_BLOCK_SIZE != 0)
        return vss_fail(err, VSS_ECORRUPT,
                        "catalog entry at offset %llu: %s %llu is not a "
                        "non-zero multiple of 16 KiB",
                        (unsigned long long)at, field, (unsigned long long)v);
    return VSS_OK;
}

int vss_catalog_decode_block(const uint8_t *p, size_t len,
                             uint64_t block_offset, vss_catalog *cat,
                             vss_error *err)
{
    size_t pos;

    for (pos = VSS_BLOCK_HEADER_SIZE; pos + VSS_CATALOG_ENTRY_SIZE <= len;
         pos += VSS_CATALOG_ENTRY_SIZE) {
        const uint8_t *e = p + pos;
        uint64_t type = vss_le64(e);
        uint64_t at = block_offset + pos;

        if (type == 0)
            break; /* the rest of the block was never used */
        if (type == ENTRY_UNUSED)
            continue;
        if (type == ENTRY_SNAPSHOT) {
            vss_catalog_snapshot *s;
            if (grow((void **)&cat->snapshots, cat->nsnapshots, sizeof *s))
                return vss_fail(err, VSS_ENOMEM, "catalog: out of memory");
            s = &cat->snapshots[cat->nsnapshots++];
            s->volume_size = vss_le64(e + E2_VOLUME_SIZE);
            memcpy(s->store_guid, e + E2_STORE_GUID, 16);
            s->stack_position = vss_le64(e + E2_STACK);
            s->flags = vss_le64(e + E2_FLAGS);
            s->creation_time = vss_le64(e + E2_TIME);
            s->entry_offset = at;
            if (s->volume_size == 0 || s->volume_size % VSS_SECTOR_SIZE)
                return vss_fail(err, VSS_ECORRUPT,
                                "catalog entry at offset %llu: volume size "
                                "%llu is not a non-zero multiple of 512",
                                (unsigned long long)at,
                                (unsigned long long)s->volume_size);
        } else if (type == ENTRY_LOCATION) {
            vss_catalog_location *l;
            int rc;
            if (grow((void **)&cat->locations, cat->nlocations, sizeof *l))
                return vss_fail(err, VSS_ENOMEM, "catalog: out of memory");
            l = &cat->locations[cat->nlocations++];
            l->block_list_offset = vss_le64(e + E3_BLOCK_LIST);
            memcpy(l->store_guid, e + E3_STORE_GUID, 16);
            l->store_header_offset = vss_le64(e + E3_STORE_HEADER);
            l->block_range_offset = vss_le64(e + E3_BLOCK_RANGES);
            l->bitmap_offset = vss_le64(e + E3_BITMAP);
            l->file_reference = vss_le64(e + E3_FILE_REF);
            l->allocated_size = vss_le64(e + E3_ALLOCATED);
            l->previous_bitmap_offset = vss_le64(e + E3_PREV_BITMAP);
            l->entry_offset = at;
            if ((rc = check_offset(l->block_list_offset, "block list offset",
                                   at, 0, err)) ||
                (rc = check_offset(l->store_header_offset,
                                   "store header offset", at, 0, err)) ||
                (rc = check_offset(l->block_range_offset,
                                   "block range list offset", at, 1, err)) ||
                (rc = check_offset(l->bitmap_offset, "bitmap offset", at, 1,
                                   err)) ||
                (rc = check_offset(l->previous_bitmap_offset,
                                   "previous bitmap offset", at, 1, err)))
                return rc;
        } else {
            return vss_fail(err, VSS_ECORRUPT,
                            "catalog entry at offset %llu: unknown entry "
                            "type %llu",
                            (unsigned long long)at, (unsigned long long)type);
        }
    }
    return VSS_OK;
}

int vss_catalog_read(vss_source *src, uint64_t offset, vss_catalog *cat,
                     vss_error *err)
{
    uint8_t *block = vss_malloc(VSS_BLOCK_SIZE);
    vss_chain chain = {NULL, 0, 0, VSS_CATALOG_MAX_BLOCKS, "catalog block"};
    int rc = VSS_OK;

    memset(cat, 0, sizeof *cat);
    if (!block)
        return vss_fail(err, VSS_ENOMEM, "catalog: out of memory");
    while (offset != 0) {
        vss_block_header bh;
        if ((rc = vss_chain_visit(&chain, offset, err)))
            break;
        rc = vss_read_exact(src, block, VSS_BLOCK_SIZE, offset,
                            "catalog block", err);
        if (rc)
            break;
        rc = vss_block_header_decode(block, VSS_BLOCK_SIZE, VSS_RECORD_CATALOG,
                                     offset, "catalog block", &bh, err);
        if (rc)
            break;
        /* A block that does not know itself at this offset is not part of
         * the chain (stale or forged): the chain ends before it. */
        if (bh.own_offset != offset)
            break;
        rc = vss_catalog_decode_block(block, VSS_BLOCK_SIZE, offset, cat, err);
        if (rc)
            break;
        if (grow((void **)&cat->blocks, cat->nblocks, sizeof *cat->blocks)) {
            rc = vss_fail(err, VSS_ENOMEM, "catalog: out of memory");
            break;
        }
        cat->blocks[cat->nblocks++] = offset;
        if (bh.next_offset % VSS_BLOCK_SIZE != 0) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "catalog block at offset %llu: next offset %llu is "
                          "not a multiple of 16 KiB",
                          (unsigned long long)offset,
                          (unsigned long long)bh.next_offset);
            break;
        }
        if (bh.next_offset == offset)
            break;
        offset = bh.next_offset;
    }
    free(block);
    vss_chain_free(&chain);
    if (rc)
        vss_catalog_free(cat);
    return rc;
}

void vss_catalog_free(vss_catalog *cat)
{
    free(cat->snapshots);
    free(cat->locations);
    free(cat->blocks);
    memset(cat, 0, sizeof *cat);
}
