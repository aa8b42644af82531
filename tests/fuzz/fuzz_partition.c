/* fuzz_partition.c — vss_disk_scan on the input as a memory disk. */
#include "fuzz_common.h"
#include "vss/vss_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_error err = {0};
    vss_source *src;
    vss_partition *p = NULL;
    size_t n = 0;
    int rc;

    if (vss_source_open_memory(size ? data : NULL, size, "disk", &src, &err))
        return 0;
    rc = vss_disk_scan(src, &p, &n, &err);
    fz_check_error(rc, &err);
    if (rc == 0) {
        /* A GPT with no entries is a valid disk with no volumes. */
        FZ_ASSERT(n == 0 || p != NULL, "partitions without an array");
        for (size_t i = 0; i < n; i++) {
            FZ_ASSERT(memchr(p[i].scheme, 0, sizeof p[i].scheme), "scheme");
            FZ_ASSERT(memchr(p[i].type, 0, sizeof p[i].type), "type");
            FZ_ASSERT(!p[i].is_ntfs || p[i].offset < size, "NTFS past end");
        }
    } else {
        FZ_ASSERT(p == NULL && n == 0, "output on error");
    }
    vss_partitions_free(p);
    (void)vss_is_ntfs_boot_sector(data, size);
    vss_source_release(src);
    return 0;
}
