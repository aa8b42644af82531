/*
 * volume_set.c — the volumes of several disk images at once (vss.h,
 * vss_volume_set_*): open each image in its container, find its volumes,
 * open their shadow copy metadata, and pair every redirected volume with
 * the volume (on any of the images) whose VSS GUID is its storage GUID.
 * Written against the public API only: it decodes no on-disk bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"

struct vss_volume_set {
    vss_volume_set_entry *v;
    size_t n;
    vss_source **images;
    char **paths;            /* copies of the callers' image paths */
    size_t nimages;
};

static void set_error(vss_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(vss_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* A new entry for part of image i; its volume opened when the range is
 * inside the image. Only a failure to allocate is fatal: a volume that
 * does not open is listed with its error. */
static int add_volume(vss_volume_set *set, size_t i, const vss_partition *part,
                      vss_error *err)
{
    vss_volume_set_entry *fv, *nv;
    vss_source *disk = set->images[i];
    uint64_t size = part->size;
    int rc;

    nv = realloc(set->v, (set->n + 1) * sizeof *nv);
    if (!nv) {
        set_error(err, VSS_ENOMEM, "out of memory listing volumes");
        return VSS_ENOMEM;
    }
    set->v = nv;
    fv = &set->v[set->n++];
    memset(fv, 0, sizeof *fv);
    fv->image_index = i;
    fv->image = set->paths[i];
    fv->part = *part;
    fv->storage = -1;
    if (part->offset >= vss_source_size(disk)) {
        set_error(&fv->error, VSS_EIO,
                  "starts at offset %llu, past the end of the image",
                  (unsigned long long)part->offset);
        return VSS_OK;
    }
    if (size > vss_source_size(disk) - part->offset)
        size = vss_source_size(disk) - part->offset;
    rc = vss_source_open_range(disk, part->offset, size, &fv->source, err);
    if (rc)
        return rc;
    fv->error.code = vss_volume_open(fv->source, &fv->volume, &fv->error);
    return VSS_OK;
}

/* The first image's volume at the offset the caller named, when no
 * partition table lists it (listed: the scan's entry stands). */
static int add_named_offset(vss_volume_set *set, const vss_partition *parts,
                            size_t nparts, uint64_t offset, vss_error *err)
{
    vss_partition x;
    uint64_t disk_size = vss_source_size(set->images[0]);
    size_t p;
    for (p = 0; p < nparts; p++)
        if (parts[p].offset == offset)
            return VSS_OK;
    memset(&x, 0, sizeof x);
    x.offset = offset;
    x.size = disk_size > offset ? disk_size - offset : 0;
    snprintf(x.scheme, sizeof x.scheme, "offset");
    snprintf(x.type, sizeof x.type, "given with -o");
    x.is_ntfs = 1;
    return add_volume(set, 0, &x, err);
}

/* Every redirected volume offered each other volume until one's GUID
 * matches (vss_volume_attach_storage checks it). */
static void pair_storage(vss_volume_set *set)
{
    size_t a, b;
    for (a = 0; a < set->n; a++) {
        vss_volume_set_entry *fv = &set->v[a];
        if (!fv->volume || !vss_volume_is_redirected(fv->volume))
            continue;
        for (b = 0; b < set->n; b++) {
            vss_error e = {0};
            int rc;
            if (b == a || !set->v[b].source)
                continue;
            rc = vss_volume_attach_storage(fv->volume, set->v[b].source, &e);
            if (rc == VSS_OK) {
                fv->storage = (long)b;
                break;
            }
            if (rc != VSS_ENOTFOUND) {
                fv->error = e;
                fv->error.code = rc;
                break;
            }
        }
    }
}

int vss_volume_set_open(const char *const *images, size_t nimages,
                        const vss_volume_set_options *opts,
                        vss_volume_set **out, vss_error *err)
{
    vss_volume_set *set;
    int64_t offset = opts ? opts->offset : -1;
    size_t i;
    int rc = VSS_OK;

    if (!out || !images || nimages == 0) {
        set_error(err, VSS_EINVAL, "vss_volume_set_open: no image given");
        return VSS_EINVAL;
    }
    *out = NULL;
    set = calloc(1, sizeof *set);
    if (set) {
        set->images = calloc(nimages, sizeof *set->images);
        set->paths = calloc(nimages, sizeof *set->paths);
    }
    if (!set || !set->images || !set->paths) {
        vss_volume_set_close(set);
        set_error(err, VSS_ENOMEM, "out of memory opening %zu images",
                  nimages);
        return VSS_ENOMEM;
    }
    set->nimages = nimages;
    for (i = 0; i < nimages && rc == VSS_OK; i++) {
        vss_partition *parts = NULL;
        size_t nparts = 0, p;
        vss_error e = {0};
        vss_image_options io = {i == 0 && opts ? opts->backing_path : NULL,
                                NULL};
        set->paths[i] = strdup(images[i] ? images[i] : "");
        if (!set->paths[i]) {
            set_error(err, VSS_ENOMEM, "out of memory");
            rc = VSS_ENOMEM;
            break;
        }
        rc = vss_source_open_image(set->paths[i], &io, &set->images[i], err);
        if (rc)
            break;
        int scan = vss_disk_scan(set->images[i], &parts, &nparts, &e);
        if (i == 0 && offset >= 0) {
            /* The caller named the volume: use it even if no table lists
             * it (nor any table could be read). */
            if (scan)
                nparts = 0;
            rc = add_named_offset(set, parts, nparts, (uint64_t)offset, err);
        } else if (scan) {
            /* Not fatal: the image may hold only a storage volume we can't
             * see, or nothing; the entry says why. */
            vss_partition x;
            memset(&x, 0, sizeof x);
            snprintf(x.scheme, sizeof x.scheme, "none");
            snprintf(x.type, sizeof x.type, "unknown");
            rc = add_volume(set, i, &x, err);
            if (rc == VSS_OK) {
                vss_volume_set_entry *fv = &set->v[set->n - 1];
                vss_volume_close(fv->volume);
                fv->volume = NULL;
                fv->error = e;
                fv->error.code = scan;
            }
            continue;
        }
        for (p = 0; rc == VSS_OK && p < nparts; p++)
            rc = add_volume(set, i, &parts[p], err);
        vss_partitions_free(parts);
    }
    if (rc) {
        vss_volume_set_close(set);
        return rc;
    }
    pair_storage(set);
    *out = set;
    return VSS_OK;
}

void vss_volume_set_close(vss_volume_set *set)
{
    size_t i;
    if (!set)
        return;
    for (i = 0; i < set->n; i++) {
        vss_volume_close(set->v[i].volume);
        vss_source_release(set->v[i].source);
    }
    for (i = 0; i < set->nimages; i++) {
        if (set->images)
            vss_source_release(set->images[i]);
        if (set->paths)
            free(set->paths[i]);
    }
    free(set->v);
    free(set->images);
    free(set->paths);
    free(set);
}

size_t vss_volume_set_count(const vss_volume_set *set)
{
    return set ? set->n : 0;
}

const vss_volume_set_entry *vss_volume_set_get(const vss_volume_set *set,
                                               size_t i)
{
    return set && i < set->n ? &set->v[i] : NULL;
}

size_t vss_volume_set_image_count(const vss_volume_set *set)
{
    return set ? set->nimages : 0;
}

vss_source *vss_volume_set_image(const vss_volume_set *set, size_t i)
{
    return set && i < set->nimages ? set->images[i] : NULL;
}

static int snapshot_count(const vss_volume_set_entry *fv)
{
    return fv->volume ? vss_volume_snapshot_count(fv->volume) : 0;
}

int vss_volume_set_any_snapshots(const vss_volume_set *set)
{
    size_t i;
    for (i = 0; set && i < set->n; i++)
        if (snapshot_count(&set->v[i]) > 0)
            return 1;
    return 0;
}

void vss_volume_set_describe(const vss_volume_set *set, size_t image_index,
                             uint32_t sector_size, char *out, size_t outsz)
{
    uint32_t ss = sector_size ? sector_size : 512;
    size_t i, o = 0;
    int k = 0;
    if (!outsz)
        return;
    out[0] = '\0';
    for (i = 0; set && i < set->n && o < outsz; i++) {
        const vss_volume_set_entry *fv = &set->v[i];
        /* volumes the image holds: not the one the caller's offset made
         * up, nor the empty entry of an image with no volume found */
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
    if (k == 0)
        snprintf(out, outsz, "none found");
}

int vss_volume_set_pick(const vss_volume_set *set, int64_t offset,
                        uint32_t sector_size, size_t *index, vss_error *err)
{
    size_t i, nwith = 0, pick = 0;
    char list[400] = "", where[1200];
    const char *image;

    if (!set || !index) {
        set_error(err, VSS_EINVAL, "vss_volume_set_pick: no set");
        return VSS_EINVAL;
    }
    image = set->n ? set->v[0].image : "the image";
    for (i = 0; i < set->n; i++) {
        const vss_volume_set_entry *fv = &set->v[i];
        if (fv->image_index != 0)
            continue;
        if (offset >= 0) {
            if (fv->part.offset != (uint64_t)offset)
                continue;
            /* An offset no partition table lists is taken as the caller's
             * word only if a volume with shadow copies (or a shadow copy
             * header that fails to open) is really there. */
            if (strcmp(fv->part.scheme, "offset") != 0 ||
                snapshot_count(fv) > 0 || (!fv->volume && fv->error.code) ||
                (fv->volume && vss_volume_has_vss(fv->volume))) {
                *index = i;
                return VSS_OK;
            }
            break;
        }
        /* A volume whose shadow copy metadata failed to open is a
         * candidate too, so that its error is what the caller sees. */
        if (snapshot_count(fv) > 0 ||
            (!fv->volume && fv->error.code && fv->part.is_ntfs)) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%llu", nwith ? ", " : "",
                     (unsigned long long)fv->part.offset);
            pick = i;
            nwith++;
        }
    }
    vss_volume_set_describe(set, 0, sector_size, where, sizeof where);
    if (offset >= 0) {
        set_error(err, VSS_ENOTFOUND,
                  "no volume with shadow copies at offset %lld of %s (-o "
                  "takes bytes, or sectors of %u bytes as 'Ns'); its volumes "
                  "start at byte offsets: %s",
                  (long long)offset, image, sector_size ? sector_size : 512,
                  where);
        return VSS_ENOTFOUND;
    }
    if (nwith == 1) {
        *index = pick;
        return VSS_OK;
    }
    if (nwith == 0) {
        set_error(err, VSS_ENOTFOUND,
                  "no volume with shadow copies in %s (its volumes: %s)",
                  image, where);
        return VSS_ENOTFOUND;
    }
    set_error(err, VSS_EINVAL,
              "%zu volumes with shadow copies (offsets %s): choose one with "
              "-o OFFSET",
              nwith, list);
    return VSS_EINVAL;
}

/* A whole decimal or 0x number, no sign, no trailing text. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return VSS_EINVAL;
    errno = 0;
    *out = strtoull(s, &end, 0);
    return errno || *end ? VSS_EINVAL : VSS_OK;
}

int vss_parse_offset(const char *s, uint32_t sector_size, uint64_t *out)
{
    char num[32];
    size_t n = s ? strlen(s) : 0;
    uint64_t v;
    if (n == 0 || !out)
        return VSS_EINVAL;
    if (s[n - 1] != 's')
        return parse_u64(s, out);
    if (n - 1 >= sizeof num || sector_size == 0)
        return VSS_EINVAL;
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    if (parse_u64(num, &v) || v > UINT64_MAX / sector_size)
        return VSS_EINVAL;
    *out = v * sector_size;
    return VSS_OK;
}
