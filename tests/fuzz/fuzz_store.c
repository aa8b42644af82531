/* fuzz_store.c — a store header block: the block header (type 4) and the
 * store information after it; also the input as bare store information. */
#include "fuzz_common.h"
#include "vss/vss_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_info(const uint8_t *p, size_t n)
{
    vss_store_info si;
    vss_error err = {0};
    int rc = vss_store_info_decode(p, n, 128, &si, &err);
    fz_check_error(rc, &err);
    /* Names are always terminated UTF-8 inside their buffers. */
    FZ_ASSERT(memchr(si.originating_machine, 0,
                     sizeof si.originating_machine) != NULL,
              "originating machine not terminated");
    FZ_ASSERT(memchr(si.service_machine, 0, sizeof si.service_machine) !=
                  NULL,
              "service machine not terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_block_header bh;
    vss_error err = {0};
    int rc = vss_block_header_decode(data, size, VSS_RECORD_STORE_HEADER, 0,
                                     "store header", &bh, &err);
    fz_check_error(rc, &err);
    if (size >= VSS_BLOCK_HEADER_SIZE)
        check_info(data + VSS_BLOCK_HEADER_SIZE,
                   size - VSS_BLOCK_HEADER_SIZE);
    check_info(data, size);
    return 0;
}
