/*
 * vssinfo.h — shared between the command-line front end (main.c), its
 * view of the library's volume set (volumes.c) and the reports (report.c).
 * Only the public libvss API is used here: the tool never decodes on-disk
 * bytes itself.
 */
#ifndef VSSINFO_H
#define VSSINFO_H

#include <stdint.h>
#include <stdio.h>

#include "vss.h"

typedef struct found_volume {
    int image_index;         /* which IMAGE argument */
    const char *image;       /* its path */
    vss_partition part;      /* where the volume is in the image */
    vss_source *src;         /* the volume's bytes */
    vss_volume *vol;         /* NULL if opening failed */
    int open_rc;
    char open_error[512];
    struct found_volume *storage; /* volume holding the diff area, if found */
} found_volume;

/* The library's volume set (vss_volume_set) and, for each of its
 * entries, a found_volume pointing into it (borrowed: valid until
 * volumes_free). */
typedef struct volume_set {
    vss_volume_set *lib;
    found_volume *v;
    size_t n;
    vss_source **images;
    size_t nimages;
    /* Bytes per sector for the sector numbers the listing and the
     * messages show (--sector-size); 0 means 512. Set by the caller. */
    uint32_t sector_size;
} volume_set;

/* Find and open every volume of every image; pair redirected storage
 * (vss_volume_set_open). override_offset >= 0 names the volume of the
 * first image explicitly; backing_path is the backing file / parent of the
 * first image (--backing; NULL: none). */
int volumes_discover(volume_set *set, char **images, int nimages,
                     int64_t override_offset, const char *backing_path,
                     vss_error *err);
void volumes_free(volume_set *set);
/* The container of an image, one line ("" for a plain raw file). */
void describe_container(vss_source *img, char *out, size_t outsz);
/* The volume snapshot operations act on (vss_volume_set_pick; see
 * docs/vssinfo.1). On failure err->code is VSS_ENOTFOUND when there is no
 * volume with shadow copies (in the first image, or at override_offset:
 * the message then lists where the image's volumes are), VSS_EINVAL when
 * several volumes have them and -o must choose. */
found_volume *volumes_pick(volume_set *set, int64_t override_offset,
                           vss_error *err);
/* The sector size in use (set->sector_size, or 512). */
uint32_t volumes_sector_size(const volume_set *set);

void report_list_text(FILE *f, const volume_set *set);
/* Snapshot k (1-based) of fv as the listing shows it: store GUID, shadow
 * copy and set IDs, creation time, flags in words, machines. The reports
 * (report_meta.c) state their snapshots' identities with these. */
void report_snapshot_text(FILE *f, const found_volume *fv, int k);
struct json;
void report_snapshot_json(struct json *j, const found_volume *fv, int k);
/* "container": {...} of an image (docs/json.md). */
void container_json(struct json *j, vss_source *img);
void report_list_json(FILE *f, const volume_set *set);
/* Create a file vssinfo writes (--output, --html; output.c): a new file,
 * or with force a replaced one; an existing device, /dev/null or pipe is
 * opened as it is. An fd, or -1 with errno (EEXIST: a regular file is
 * there and force is 0). */
int output_create(const char *path, int force);
/* After output_create failed for option (e.g. "--output"): the message,
 * and the exit status: 2 when a file is there ("exists; --force replaces
 * it"), 1 when the file cannot be created. */
int output_refused(const char *option, const char *path);
/* Whether path names a regular file (what a report's seal can read back). */
int output_is_regular(const char *path);
/* n bytes as 2n lowercase hex digits and a NUL (digests). */
void hexstr(const uint8_t *p, size_t n, char *out);

#endif
