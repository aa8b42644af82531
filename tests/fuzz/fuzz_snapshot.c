/* fuzz_snapshot.c — open a sparse in-memory volume, then for each snapshot
 * (up to 4) read ranges and check the read/map invariants of fz_volume.h.
 * The ranges and fill modes come from a hash of the input. */
#include "fz_volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_source *src;
    vss_error err = {0};
    if (fz_sparse_source(data, size, &src))
        return 0;
    (void)fz_exercise_volume(src, fz_hash(data, size < 4096 ? size : 4096),
                             4, 24, &err);
    vss_source_release(src);
    return 0;
}
