/*
 * report_meta.h — what every audit and diff report states about itself
 * (issue #18): the case, examiner and notes the examiner gave, the tool
 * and its version, the exact command line, when it was made (UTC), each
 * image (full path, size, container, E01 case data and stored hashes,
 * the hashes --image-hash computed) and the identities of the snapshots
 * it covers. One header per report format; the writers of the reports
 * (audit_out.c, history.c) call them. The report's own
 * SHA-256 goes to a side file (report_meta_seal).
 */
#ifndef VSSINFO_REPORT_META_H
#define VSSINFO_REPORT_META_H

#include <stdio.h>

#include "json.h"
#include "vssinfo.h"

typedef struct report_image {
    const char *path;       /* as given */
    char *full_path;        /* realpath, or path when it cannot be had */
    vss_digests hashes;     /* --image-hash: have says which */
} report_image;

typedef struct report_meta {
    const char *case_id;    /* --case, --examiner, --notes; NULL: not given */
    const char *examiner;
    const char *notes;
    int argc;               /* the command line, as main() got it */
    char **argv;
    char *command_line;     /* argv, each word quoted for a POSIX shell */
    char generated[32];     /* UTC, ISO 8601 with Z */
    int csv_bom;            /* --csv-bom: a UTF-8 byte order mark first */
    vss_hash image_hash[VSS_HASH_COUNT]; /* --image-hash, in order given */
    int n_image_hash;
    const volume_set *set;  /* the images (report_meta_images) */
    report_image *img;      /* one per set->images */
    size_t nimg;
} report_meta;

/* The command line and the time; the rest is filled by the caller
 * (nothing is allocated until report_meta_images). */
void report_meta_init(report_meta *m, int argc, char **argv);
/* --image-hash LIST (md5, sha1, sha256; comma-separated): 0 or -1. */
int report_meta_parse_image_hash(report_meta *m, const char *list);
/* The quoted command line; full paths of the images of set, and their hashes when asked (read
 * through the library, as the snapshots are: an E01's media, not its
 * segment files), with a progress bar (progress.h option). 0 or an exit
 * status after a message. */
int report_meta_images(report_meta *m, const volume_set *set, int progress);
void report_meta_free(report_meta *m);

/* The headers. snaps: the snapshot numbers the report covers (of fv). */
void report_meta_text(FILE *f, const report_meta *m, const found_volume *fv,
                      const int *snaps, size_t nsnaps);
/* "report": {...} as a key of the object being written. */
void report_meta_json(json *j, const report_meta *m, const found_volume *fv,
                      const int *snaps, size_t nsnaps);
/* The byte order mark (--csv-bom) and "#key,value" records before the
 * CSV header (docs/audit.md: the CSV convention). */
void report_meta_csv(FILE *f, const report_meta *m, const found_volume *fv,
                     const int *snaps, size_t nsnaps);
/* A "Case" section and a table of the snapshots' identities. */
void report_meta_html(FILE *f, const report_meta *m, const found_volume *fv,
                      const int *snaps, size_t nsnaps);

/* One CSV field of the reports (audit_out.c), quoted when it holds a
 * comma, quote, line break or '#'. (HTML's escaper: html.h.) */
void csv_str(FILE *f, const char *s);

/* Write PATH.sha256, "HEX  NAME\n" (NAME: PATH's last component), so
 * that `sha256sum -c NAME.sha256` in PATH's folder verifies the report.
 * A PATH that is not a regular file (a device such as /dev/null, a pipe)
 * kept nothing to read back: no seal. 0, or 1 after a message. */
int report_meta_seal(const char *path);

#endif
