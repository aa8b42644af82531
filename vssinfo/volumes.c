/*
 * volumes.c — find the volumes of the images on the command line, open
 * their shadow copies, and pair each redirected volume with the volume
 * (on any of the images) whose VSS GUID is its storage GUID.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vssinfo.h"

/* --backing: the backing file / parent of the first image (issue #8). */
const char *volumes_backing_path;

static int add_volume(volume_set *set, int image_index, const char *image,
                      vss_source *disk, const vss_partition *part,
                      vss_error *err)
{
    found_volume *fv, *nv;
    vss_error e = {0};
    uint64_t size = part->size;

    nv = realloc(set->v, (set->n + 1) * sizeof *nv);
    if (!nv)
        return VSS_ENOMEM;
    set->v = nv;
    fv = &set->v[set->n++];
    memset(fv, 0, sizeof *fv);
    fv->image_index = image_index;
    fv->image = image;
    fv->part = *part;
    if (part->offset >= vss_source_size(disk)) {
        fv->open_rc = VSS_EIO;
        snprintf(fv->open_error, sizeof fv->open_error,
                 "starts at offset %llu, past the end of the image",
                 (unsigned long long)part->offset);
        return VSS_OK;
    }
    if (size > vss_source_size(disk) - part->offset)
        size = vss_source_size(disk) - part->offset;
    fv->open_rc = vss_source_open_range(disk, part->offset, size, &fv->src, err);
    if (fv->open_rc)
        return fv->open_rc;
    fv->open_rc = vss_volume_open(fv->src, &fv->vol, &e);
    if (fv->open_rc)
        snprintf(fv->open_error, sizeof fv->open_error, "%s", e.message);
    return VSS_OK;
}

int volumes_discover(volume_set *set, char **images, int nimages,
                     int64_t override_offset, vss_error *err)
{
    int i;
    size_t a, b;

    memset(set, 0, sizeof *set);
    set->images = calloc((size_t)nimages, sizeof *set->images);
    if (!set->images)
        return VSS_ENOMEM;
    set->nimages = (size_t)nimages;
    for (i = 0; i < nimages; i++) {
        vss_partition *parts = NULL;
        size_t nparts = 0, p;
        vss_error e = {0};
        vss_image_options io = {i == 0 ? volumes_backing_path : NULL, NULL};
        int rc = vss_source_open_image(images[i], &io, &set->images[i], err);
        if (rc)
            return rc;
        rc = vss_disk_scan(set->images[i], &parts, &nparts, &e);
        if (i == 0 && override_offset >= 0) {
            /* The user named the volume: use it even if no table lists it. */
            int listed = 0;
            for (p = 0; rc == VSS_OK && p < nparts; p++)
                listed |= parts[p].offset == (uint64_t)override_offset;
            if (!listed) {
                vss_partition x;
                memset(&x, 0, sizeof x);
                x.offset = (uint64_t)override_offset;
                x.size = vss_source_size(set->images[i]) >
                                 (uint64_t)override_offset
                             ? vss_source_size(set->images[i]) -
                                   (uint64_t)override_offset
                             : 0;
                snprintf(x.scheme, sizeof x.scheme, "offset");
                snprintf(x.type, sizeof x.type, "given with -o");
                x.is_ntfs = 1;
                rc = add_volume(set, i, images[i], set->images[i], &x, err);
                if (rc)
                    return rc;
            }
            rc = VSS_OK;
        } else if (rc) {
            /* Not fatal: the image may hold only a storage volume we can't
             * see, or nothing; say so in the listing. */
            vss_partition x;
            memset(&x, 0, sizeof x);
            snprintf(x.scheme, sizeof x.scheme, "none");
            snprintf(x.type, sizeof x.type, "unknown");
            if (add_volume(set, i, images[i], set->images[i], &x, err))
                return VSS_ENOMEM;
            found_volume *fv = &set->v[set->n - 1];
            fv->open_rc = rc;
            snprintf(fv->open_error, sizeof fv->open_error, "%s", e.message);
            vss_volume_close(fv->vol);
            fv->vol = NULL;
            continue;
        }
        for (p = 0; p < nparts; p++) {
            rc = add_volume(set, i, images[i], set->images[i], &parts[p], err);
            if (rc) {
                vss_partitions_free(parts);
                return rc;
            }
        }
        vss_partitions_free(parts);
    }
    /* Pair redirected volumes with their storage volumes. */
    for (a = 0; a < set->n; a++) {
        found_volume *fv = &set->v[a];
        if (!fv->vol || !vss_volume_is_redirected(fv->vol))
            continue;
        for (b = 0; b < set->n; b++) {
            vss_error e = {0};
            int rc;
            if (b == a || !set->v[b].src)
                continue;
            rc = vss_volume_attach_storage(fv->vol, set->v[b].src, &e);
            if (rc == VSS_OK) {
                fv->storage = &set->v[b];
                break;
            }
            if (rc != VSS_ENOTFOUND) {
                fv->open_rc = rc;
                snprintf(fv->open_error, sizeof fv->open_error, "%s",
                         e.message);
                break;
            }
        }
    }
    return VSS_OK;
}

void volumes_free(volume_set *set)
{
    size_t i;
    for (i = 0; i < set->n; i++) {
        vss_volume_close(set->v[i].vol);
        vss_source_release(set->v[i].src);
    }
    for (i = 0; i < set->nimages; i++)
        vss_source_release(set->images[i]);
    free(set->v);
    free(set->images);
    memset(set, 0, sizeof *set);
}

uint32_t volumes_sector_size(const volume_set *set)
{
    return set->sector_size ? set->sector_size : 512;
}

static int snapshot_count(const found_volume *fv)
{
    return fv->vol ? vss_volume_snapshot_count(fv->vol) : 0;
}

int volumes_any_snapshots(const volume_set *set)
{
    size_t i;
    for (i = 0; i < set->n; i++)
        if (snapshot_count(&set->v[i]) > 0)
            return 1;
    return 0;
}

void volumes_describe(const volume_set *set, int image_index, char *out,
                      size_t outsz)
{
    uint32_t ss = volumes_sector_size(set);
    size_t i, o = 0;
    int k = 0;
    out[0] = '\0';
    for (i = 0; i < set->n && o < outsz; i++) {
        const found_volume *fv = &set->v[i];
        /* volumes the image holds: not the one -o made up, nor the empty
         * entry that stands for an image with no volume found */
        if (fv->image_index != image_index ||
            strcmp(fv->part.scheme, "offset") == 0 || fv->part.size == 0)
            continue;
        o += (size_t)snprintf(out + o, outsz - o, "%s%llu", k++ ? ", " : "",
                              (unsigned long long)fv->part.offset);
        if (o < outsz && fv->part.offset % ss == 0)
            o += (size_t)snprintf(out + o, outsz - o, " = sector %llu",
                                  (unsigned long long)(fv->part.offset / ss));
        if (o < outsz)
            o += (size_t)snprintf(out + o, outsz - o,
                                  " (%llu bytes, %s, %d snapshot%s)",
                                  (unsigned long long)fv->part.size,
                                  fv->part.is_ntfs ? "NTFS" : "not NTFS",
                                  snapshot_count(fv),
                                  snapshot_count(fv) == 1 ? "" : "s");
    }
    if (k == 0 && outsz)
        snprintf(out, outsz, "none found");
}

/* err = code and message (cut to the message's size: the volume list can
 * be long). */
static void fail_with(vss_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_with(vss_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

found_volume *volumes_pick(volume_set *set, int64_t override_offset,
                           vss_error *err)
{
    found_volume *pick = NULL;
    size_t i, nwith = 0;
    char list[400] = "", where[1200];
    const char *image = set->n ? set->v[0].image : "the image";

    for (i = 0; i < set->n; i++) {
        found_volume *fv = &set->v[i];
        if (fv->image_index != 0)
            continue;
        if (override_offset >= 0) {
            if (fv->part.offset != (uint64_t)override_offset)
                continue;
            /* An offset no partition table lists is taken as the user's
             * word only if a volume with shadow copies (or a shadow copy
             * header that fails to open) is really there. */
            if (strcmp(fv->part.scheme, "offset") != 0 ||
                snapshot_count(fv) > 0 || (!fv->vol && fv->open_rc) ||
                (fv->vol && vss_volume_has_vss(fv->vol)))
                return fv;
            break;
        }
        /* A volume whose shadow copy metadata failed to open is a
         * candidate too, so that its error is what the user sees. */
        if (snapshot_count(fv) > 0 ||
            (!fv->vol && fv->open_rc && fv->part.is_ntfs)) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%llu", nwith ? ", " : "",
                     (unsigned long long)fv->part.offset);
            pick = fv;
            nwith++;
        }
    }
    volumes_describe(set, 0, where, sizeof where);
    if (override_offset >= 0) {
        uint32_t ss = volumes_sector_size(set);
        fail_with(err, VSS_ENOTFOUND,
                 "no volume with shadow copies at offset %lld of %s (-o takes "
                 "bytes, or sectors of %u bytes as 'Ns'); its volumes start "
                 "at byte offsets: %s",
                 (long long)override_offset, image, ss, where);
        return NULL;
    }
    if (nwith == 1)
        return pick;
    if (nwith == 0) {
        fail_with(err, VSS_ENOTFOUND,
                 "no volume with shadow copies in %s (its volumes: %s)",
                 image, where);
    } else {
        fail_with(err, VSS_EINVAL,
                 "%zu volumes with shadow copies (offsets %s): choose one "
                 "with -o OFFSET",
                 nwith, list);
    }
    return NULL;
}
