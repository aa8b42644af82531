/* fuzz_storage.c — redirected storage: a volume whose snapshots' data
 * lives on another volume. The input holds two sparse volumes (see
 * fuzz_common.h): a u32 LE length L, then L bytes of the source volume,
 * then the storage volume. The source is opened, the storage attached with
 * vss_volume_attach_storage (must work or fail cleanly: ENOTFOUND for a
 * GUID that is not the storage GUID, ECORRUPT for bad stores), then up to 4
 * snapshots are read with fuzz_snapshot's invariants (fz_volume.h): STORE
 * runs must read the attached storage volume. Seeds: the vss_1_vol +
 * vss_2_stor and vss_3_volstor pairs (make_seeds_storage.py). */
#include "fz_volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_source *src = NULL, *stor = NULL;
    vss_error err = {0};
    size_t l;
    if (size < 4)
        return 0;
    l = fz_le32(data);
    if (l > size - 4)
        l = size - 4;
    if (fz_sparse_source(data + 4, l, &src))
        return 0;
    if (fz_sparse_source(data + 4 + l, size - 4 - l, &stor)) {
        vss_source_release(src);
        return 0;
    }
    (void)fz_exercise_volume2(src, stor,
                              fz_hash(data, size < 4096 ? size : 4096), 4,
                              24, &err);
    vss_source_release(stor);
    vss_source_release(src);
    return 0;
}
