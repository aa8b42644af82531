/* fuzz_volume.c — vss_volume_open on a sparse in-memory volume (see
 * fuzz_common.h) and the listing of every snapshot. */
#include "fz_volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_source *src;
    vss_error err = {0};
    if (fz_sparse_source(data, size, &src))
        return 0;
    (void)fz_exercise_volume(src, 0, 0, 0, &err);
    vss_source_release(src);
    return 0;
}
