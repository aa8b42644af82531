/* fuzz_header.c — the VSS volume header (512 bytes at 0x1E00) and the
 * 128-byte block header of every record type. */
#include "fuzz_common.h"
#include "vss/vss_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_volume_header h;
    vss_block_header bh;
    vss_error err = {0};
    int rc;
    uint32_t t;

    rc = vss_volume_header_decode(data, size, &h, &err);
    fz_check_error(rc, &err);
    if (rc == 0) {
        FZ_ASSERT(size >= VSS_HEADER_SIZE, "decoded a short header");
        FZ_ASSERT(h.version == 1 || h.version == 2, "version %u", h.version);
        FZ_ASSERT(h.catalog_offset % VSS_BLOCK_SIZE == 0, "catalog offset");
    }
    for (t = 0; t <= 7; t++) {
        rc = vss_block_header_decode(data, size, t, 0x1E00, "fuzz block",
                                     &bh, &err);
        fz_check_error(rc, &err);
        if (rc == 0)
            FZ_ASSERT(bh.record_type == t, "record type");
    }
    {
        char g[37], ft[32];
        if (size >= 16)
            vss_guid_format(data, g);
        if (size >= 8) {
            vss_filetime_format(fz_le64(data), ft);
            FZ_ASSERT(strlen(ft) < 32, "filetime text");
        }
    }
    return 0;
}
