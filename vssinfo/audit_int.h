/*
 * audit_int.h — shared by vssinfo's audit front end (audit.c) and its
 * reports (audit_out.c). The engine is the library's (vss_audit_*, vss.h):
 * these are the results it reported, gathered for the reports. Not part
 * of any public interface.
 */
#ifndef VSSINFO_AUDIT_INT_H
#define VSSINFO_AUDIT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "audit.h"

/* The library's types, under the names the reports use. */
typedef vss_digests aud_digests;
typedef vss_audit_file aud_item;      /* path, record, sequence, size... */
typedef vss_audit_tally aud_tally;
/* A --diff change as the library reported it, kept past the callback:
 * error NULL, not_preserved_a/_b copies audit.c owns. */
typedef vss_diff_entry aud_diff_entry;
/* One file's result as the library reported it, kept past the callback:
 * error, stale_why, lost and the block arrays are copies audit.c owns. */
typedef vss_audit_result aud_result;

/* The counts of a walk (a snapshot's or the live volume's). */
typedef struct aud_index {
    size_t n;               /* files and streams */
    size_t skipped;         /* metadata / shadow copy files left out */
    size_t errors;          /* directories or records that could not be read */
} aud_index;

typedef struct aud_snapshot {
    int index;
    vss_snapshot_info info;
    int opened;             /* 0: error says why it could not be read */
    const char *error;
    uint64_t size;          /* of the snapshot's volume */
    aud_index ix;
    aud_result *res;        /* sorted by path */
    size_t nres, capres;
    aud_tally sum;
    /* provenance of the whole volume for the HTML strip (the library's,
     * valid while the audit object is open) */
    const uint64_t (*strip)[4];
    uint64_t strip_width;   /* bytes per strip bucket */
    uint64_t by_class[4];
    int strip_ok;
} aud_snapshot;

typedef struct aud_run {
    const audit_options *o;
    found_volume *fv;
    int alg[VSS_HASH_COUNT]; /* requested algorithms in order */
    int nalg;
    int balg;               /* block digest algorithm */
    size_t blen;            /* its length */
    const char *subtree;    /* only paths under this ("" = all) */
    aud_index live;
    aud_snapshot *snaps;
    size_t nsnaps;
    /* --diff */
    int diff_a, diff_b;     /* snapshot numbers, 0 = live */
    aud_diff_entry *diff;
    size_t ndiff;
    size_t diff_unchanged;
} aud_run;

/* audit.c */
void aud_hex(const uint8_t *p, size_t n, char *out);
const char *aud_live_word(const aud_result *x);
void aud_sort(void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *));
int aud_block_kind(const aud_run *r, const aud_result *x, size_t i);
void aud_human(uint64_t bytes, char *out, size_t outsz);
int aud_digests_equal(const aud_run *r, const aud_digests *a,
                      const aud_digests *b);
void aud_tally_add(aud_tally *to, const aud_tally *t);

/* audit_out.c */
void aud_report_text(FILE *f, const aud_run *r);
void aud_report_json(FILE *f, const aud_run *r);
void aud_report_csv(FILE *f, const aud_run *r);
int aud_report_html(const char *path, const aud_run *r);
void aud_diff_text(FILE *f, const aud_run *r);
void aud_diff_json(FILE *f, const aud_run *r);
void aud_diff_csv(FILE *f, const aud_run *r);
int aud_diff_html(const char *path, const aud_run *r);

#endif
