/*
 * volumes.c — vssinfo's view of the library's volume set (vss.h,
 * vss_volume_set_*): the discovery, the storage pairing and the choice of
 * a volume are the library's; this only mirrors its entries as the
 * found_volume records the reports, --ls/--file and --audit take.
 */
#include <stdlib.h>
#include <string.h>

#include "vssinfo.h"

int volumes_discover(volume_set *set, char **images, int nimages,
                     int64_t override_offset, const char *backing_path,
                     vss_error *err)
{
    vss_volume_set_options opts = {backing_path, override_offset};
    size_t i;
    int rc;

    memset(set, 0, sizeof *set);
    rc = vss_volume_set_open((const char *const *)images, (size_t)nimages,
                             &opts, &set->lib, err);
    if (rc)
        return rc;
    set->n = vss_volume_set_count(set->lib);
    set->nimages = vss_volume_set_image_count(set->lib);
    set->v = calloc(set->n ? set->n : 1, sizeof *set->v);
    set->images = calloc(set->nimages, sizeof *set->images);
    if (!set->v || !set->images) {
        err->code = VSS_ENOMEM;
        strcpy(err->message, "out of memory");
        return VSS_ENOMEM;
    }
    for (i = 0; i < set->nimages; i++)
        set->images[i] = vss_volume_set_image(set->lib, i);
    for (i = 0; i < set->n; i++) {
        const vss_volume_set_entry *le = vss_volume_set_get(set->lib, i);
        found_volume *fv = &set->v[i];
        fv->image_index = (int)le->image_index;
        fv->image = le->image;
        fv->part = le->part;
        fv->src = le->source;
        fv->vol = le->volume;
        fv->open_rc = le->error.code;
        if (le->error.code)
            memcpy(fv->open_error, le->error.message, sizeof fv->open_error);
        fv->storage = le->storage >= 0 ? &set->v[le->storage] : NULL;
    }
    return VSS_OK;
}

void volumes_free(volume_set *set)
{
    vss_volume_set_close(set->lib);
    free(set->v);
    free(set->images);
    memset(set, 0, sizeof *set);
}

uint32_t volumes_sector_size(const volume_set *set)
{
    return set->sector_size ? set->sector_size : 512;
}

found_volume *volumes_pick(volume_set *set, int64_t override_offset,
                           vss_error *err)
{
    size_t i;
    if (vss_volume_set_pick(set->lib, override_offset,
                            volumes_sector_size(set), &i, err))
        return NULL;
    return &set->v[i];
}
