/* fuzz_carve.c — the input as a volume (at 16 KiB) for the carver: scan,
 * group, chain checks, then the carved stack opened and every carved
 * snapshot opened and its first blocks read and mapped. (The NTFS record hook
 * is not linked in the fuzz build: vss_carve_run without it.) */
#include "fuzz_common.h"
#include "vss/carve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_error err = {0};
    vss_source *src;
    vss_carve *c = NULL;
    vss_volume *v = NULL;
    fz_buf b;
    int rc;

    if (fz_chain_source(data, size, &b, &src))
        return 0;
    rc = vss_carve_run(src, NULL, NULL, NULL, NULL, &c, &err);
    fz_check_error(rc, &err);
    if (rc == 0) {
        size_t n = vss_carve_store_count(c);
        for (size_t i = 1; i <= n; i++) {
            const vss_carved_store *st = vss_carve_store(c, (int)i);
            FZ_ASSERT(st && st->index == (int)i, "carved store index");
            FZ_ASSERT(st->store_header_offset % FZ_BLOCK == 0,
                      "store header off a block boundary");
        }
        FZ_ASSERT(!vss_carve_store(c, (int)n + 1), "store past the end");
        rc = vss_carve_open_volume(c, &v, &err);
        fz_check_error(rc, &err);
        for (int k = 1; rc == 0 && k <= vss_volume_snapshot_count(v); k++) {
            static uint8_t buf[3 * FZ_BLOCK];
            vss_snapshot *s = NULL;
            int r = vss_snapshot_open(v, k, VSS_FILL_WINDOWS, &s, &err);
            fz_check_error(r, &err);
            if (r)
                continue;
            int64_t got = vss_snapshot_read_at(s, buf, sizeof buf, 0, &err);
            FZ_ASSERT(got >= 0 || err.message[0], "read failed silently");
            vss_snapshot_close(s);
        }
        vss_volume_close(v);
        vss_carve_close(c);
    }
    vss_source_release(src);
    free(b.data);
    return 0;
}
