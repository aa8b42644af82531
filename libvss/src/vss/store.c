/*
 * store.c — the store header block (record type 4) and the store
 * information that follows its 128-byte header (docs/format.md, "Store
 * header"): shadow copy and set IDs, context, attribute flags and the
 * two machine names.
 */
#include <stdio.h>

#include "vss/vss_int.h"

enum {
    SI_UNKNOWN_GUID = 0,
    SI_SHADOW_COPY_ID = 16,
    SI_SET_ID = 32,
    SI_CONTEXT = 48,
    SI_PROVIDER = 52,
    SI_ATTRIBUTES = 56,
    SI_MACHINE_NAMES = 64,
    SI_MIN_SIZE = 66
};

/* Decode a UTF-16LE string of nbytes into UTF-8 (always terminated;
 * unpaired surrogates become U+FFFD). */
static void utf16_to_utf8(const uint8_t *p, size_t nbytes, char *out,
                          size_t outsz)
{
    size_t o = 0, i = 0;

    while (i + 1 < nbytes) {
        uint32_t c = vss_le16(p + i);
        char tmp[4];
        size_t n;
        i += 2;
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < nbytes &&
            vss_le16(p + i) >= 0xDC00 && vss_le16(p + i) < 0xE000) {
            c = 0x10000 + ((c - 0xD800) << 10) + (vss_le16(p + i) - 0xDC00);
            i += 2;
        } else if (c >= 0xD800 && c < 0xE000) {
            c = 0xFFFD;
        }
        if (c < 0x80) {
            tmp[0] = (char)c;
            n = 1;
        } else if (c < 0x800) {
            tmp[0] = (char)(0xC0 | c >> 6);
            tmp[1] = (char)(0x80 | (c & 0x3F));
            n = 2;
        } else if (c < 0x10000) {
            tmp[0] = (char)(0xE0 | c >> 12);
            tmp[1] = (char)(0x80 | (c >> 6 & 0x3F));
            tmp[2] = (char)(0x80 | (c & 0x3F));
            n = 3;
        } else {
            tmp[0] = (char)(0xF0 | c >> 18);
            tmp[1] = (char)(0x80 | (c >> 12 & 0x3F));
            tmp[2] = (char)(0x80 | (c >> 6 & 0x3F));
            tmp[3] = (char)(0x80 | (c & 0x3F));
            n = 4;
        }
        if (o + n >= outsz)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
}

/* A length-prefixed (u16 bytes) UTF-16LE name at *pos; advances *pos. */
static int read_name(const uint8_t *p, size_t len, size_t *pos,
                     uint64_t offset, const char *what, char *out,
                     size_t outsz, vss_error *err)
{
    size_t n = vss_le16(p + *pos);
    *pos += 2;
    if (n > len - *pos)
        return vss_fail(err, VSS_ECORRUPT,
                        "store information at offset %llu: %s of %zu bytes "
                        "runs past the block",
                        (unsigned long long)offset, what, n);
    utf16_to_utf8(p + *pos, n, out, outsz);
    *pos += n;
    return VSS_OK;
}

int vss_store_info_decode(const uint8_t *p, size_t len, uint64_t offset,
                          vss_store_info *out, vss_error *err)
{
    size_t pos;
    int rc;

    memset(out, 0, sizeof *out);
    if (len < SI_MIN_SIZE)
        return vss_fail(err, VSS_ECORRUPT,
                        "store information at offset %llu: truncated (%zu "
                        "bytes)",
                        (unsigned long long)offset, len);
    memcpy(out->unknown_guid, p + SI_UNKNOWN_GUID, 16);
    memcpy(out->shadow_copy_id, p + SI_SHADOW_COPY_ID, 16);
    memcpy(out->shadow_copy_set_id, p + SI_SET_ID, 16);
    out->snapshot_context = vss_le32(p + SI_CONTEXT);
    out->provider_flags = vss_le32(p + SI_PROVIDER);
    out->attribute_flags = vss_le32(p + SI_ATTRIBUTES);

    pos = SI_MACHINE_NAMES;
    rc = read_name(p, len, &pos, offset, "originating machine name",
                   out->originating_machine, sizeof out->originating_machine,
                   err);
    if (rc || pos + 2 > len)
        return rc; /* (a record may end before the service machine name) */
    rc = read_name(p, len, &pos, offset, "service machine name",
                   out->service_machine, sizeof out->service_machine, err);
    if (rc)
        return rc;
    return VSS_OK;
}
