/*
 * vss_header.c — the VSS volume header at 0x1E00 and the 128-byte header
 * every VSS metadata block starts with (docs/format.md, "Volume header" and
 * "Metadata blocks"). Pure decoders: bytes in, structs out; and
 * vss_chain_offsets, which lists the blocks of a chain by their headers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vss/vss_int.h"

/* {3808876b-c176-4e48-b7ae-04046e6cc752} in on-disk (mixed-endian) layout. */
const uint8_t vss_identifier[16] = {0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1,
                                    0x48, 0x4e, 0xb7, 0xae, 0x04, 0x04,
                                    0x6e, 0x6c, 0xc7, 0x52};

/* Block header field offsets. */
enum {
    BH_IDENTIFIER = 0,
    BH_VERSION = 16,
    BH_RECORD_TYPE = 20,
    BH_RELATIVE = 24,
    BH_OWN = 32,
    BH_NEXT = 40,
    BH_INFO_SIZE = 48
};

static const char *record_name(uint32_t type)
{
    switch (type) {
    case VSS_RECORD_VOLUME_HEADER: return "volume header";
    case VSS_RECORD_CATALOG: return "catalog block";
    case VSS_RECORD_BLOCK_LIST: return "block list block";
    case VSS_RECORD_STORE_HEADER: return "store header";
    case VSS_RECORD_BLOCK_RANGES: return "block range list block";
    case VSS_RECORD_BITMAP: return "bitmap block";
    default: return "unknown record";
    }
}

int vss_block_header_decode(const uint8_t *p, size_t len, uint32_t type,
                            uint64_t offset, const char *what,
                            vss_block_header *out, vss_error *err)
{
    if (len < VSS_BLOCK_HEADER_SIZE)
        return vss_fail(err, VSS_ECORRUPT, "%s at offset %llu: truncated",
                        what, (unsigned long long)offset);
    if (memcmp(p + BH_IDENTIFIER, vss_identifier, 16) != 0)
        return vss_fail(err, VSS_ECORRUPT,
                        "%s at offset %llu: no VSS identifier", what,
                        (unsigned long long)offset);
    out->version = vss_le32(p + BH_VERSION);
    out->record_type = vss_le32(p + BH_RECORD_TYPE);
    out->relative_offset = vss_le64(p + BH_RELATIVE);
    out->own_offset = vss_le64(p + BH_OWN);
    out->next_offset = vss_le64(p + BH_NEXT);
    out->info_size = vss_le64(p + BH_INFO_SIZE);
    if (out->record_type != type)
        return vss_fail(err, VSS_ECORRUPT,
                        "%s at offset %llu: record type %u (%s), expected %u",
                        what, (unsigned long long)offset, out->record_type,
                        record_name(out->record_type), type);
    return VSS_OK;
}

/* Volume header field offsets (512 bytes at volume offset 0x1E00). */
enum {
    VH_CATALOG = 48,
    VH_MAX_SIZE = 56,
    VH_VOLUME_GUID = 64,
    VH_STORAGE_GUID = 80,
    VH_APP_FLAGS = 96
};

int vss_volume_header_decode(const uint8_t *p, size_t len,
                             vss_volume_header *out, vss_error *err)
{
    vss_block_header bh;
    int rc;

    if (len < VSS_HEADER_SIZE || memcmp(p, vss_identifier, 16) != 0)
        return vss_fail(err, VSS_ENOTFOUND,
                        "volume header at offset %u: no VSS identifier",
                        VSS_HEADER_OFFSET);
    rc = vss_block_header_decode(p, len, VSS_RECORD_VOLUME_HEADER,
                                 VSS_HEADER_OFFSET, "volume header", &bh, err);
    if (rc)
        return rc;
    if (bh.version != 1 && bh.version != 2)
        return vss_fail(err, VSS_EUNSUPPORTED,
                        "volume header at offset %u: version %u (known: 1, 2)",
                        VSS_HEADER_OFFSET, bh.version);
    out->version = bh.version;
    out->catalog_offset = vss_le64(p + VH_CATALOG);
    out->max_diff_area = vss_le64(p + VH_MAX_SIZE);
    memcpy(out->volume_guid, p + VH_VOLUME_GUID, 16);
    memcpy(out->storage_guid, p + VH_STORAGE_GUID, 16);
    out->application_flags = vss_le64(p + VH_APP_FLAGS);
    if (out->catalog_offset % VSS_BLOCK_SIZE != 0)
        return vss_fail(err, VSS_ECORRUPT,
                        "volume header at offset %u: catalog offset %llu is "
                        "not a multiple of 16 KiB",
                        VSS_HEADER_OFFSET,
                        (unsigned long long)out->catalog_offset);
    return VSS_OK;
}

/* ---- presentation helpers ---------------------------------------------- */

void vss_guid_format(const uint8_t g[16], char out[37])
{
    /* The first three groups are little-endian, the last two bytes in
     * order. Written by hand: a listing formats dozens of GUIDs and
     * snprintf was 14 % of its instructions. */
    static const char hex[] = "0123456789abcdef";
    static const int8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6,
                                     8, 9, 10, 11, 12, 13, 14, 15};
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[g[order[i]] >> 4];
        *p++ = hex[g[order[i]] & 15];
    }
    *p = '\0';
}

void vss_filetime_format(uint64_t ft, char out[32])
{
    /* Days-from-civil in reverse (Howard Hinnant's algorithm), so any
     * FILETIME formats without relying on the platform's time_t range. */
    uint64_t ticks = ft % 10000000u;
    uint64_t secs = ft / 10000000u;
    int64_t days = (int64_t)(secs / 86400u) - 134774; /* 1601 -> 1970 */
    unsigned sod = (unsigned)(secs % 86400u);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    char text[64];
    /* y is at most 60056 for any 64-bit FILETIME: the text fits 32. */
    snprintf(text, sizeof text, "%04d-%02u-%02uT%02u:%02u:%02u.%07uZ", (int)y,
             m, d, sod / 3600, sod / 60 % 60, sod % 60, (unsigned)ticks);
    memcpy(out, text, 31);
    out[31] = '\0';
}

/* Walks the headers of a chain of metadata blocks with the chain guard
 * (base/chain.c); here, beside the header decoder it relies on. */
int vss_chain_offsets(vss_source *src, uint64_t first, uint32_t type,
                      const char *what, size_t max, uint64_t **out,
                      size_t *count, vss_error *err)
{
    vss_chain chain = {NULL, 0, 0, max, what};
    uint8_t hdr[VSS_BLOCK_HEADER_SIZE];
    uint64_t *list = NULL, offset = first;
    size_t n = 0, cap = 0;
    int rc = VSS_OK;

    *out = NULL;
    *count = 0;
    while (offset != 0) {
        vss_block_header bh;
        uint64_t *nl;
        if ((rc = vss_chain_visit(&chain, offset, err)) ||
            (rc = vss_read_exact(src, hdr, sizeof hdr, offset, what, err)) ||
            (rc = vss_block_header_decode(hdr, sizeof hdr, type, offset, what,
                                          &bh, err)))
            break;
        if (bh.own_offset != offset)
            break;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            nl = vss_realloc(list, ncap * sizeof *list);
            if (!nl) {
                rc = vss_fail(err, VSS_ENOMEM, "%s: out of memory", what);
                break;
            }
            list = nl;
            cap = ncap;
        }
        list[n++] = offset;
        if (bh.next_offset % VSS_BLOCK_SIZE || bh.next_offset == offset)
            break;
        offset = bh.next_offset;
    }
    vss_chain_free(&chain);
    if (rc) {
        free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return VSS_OK;
}
