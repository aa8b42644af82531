/*
 * audit_int.h — shared by the audit engine (audit.c) and its reports
 * (audit_out.c). Not part of any public interface.
 */
#ifndef VSSINFO_AUDIT_INT_H
#define VSSINFO_AUDIT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "audit.h"

#define AUD_STRIP 1000  /* buckets of the provenance strip */

enum { AUD_MD5 = 0, AUD_SHA1 = 1, AUD_SHA256 = 2, AUD_NALG = 3 };

/* Hashes of one byte stream; `have` has bit (1 << AUD_*) per digest. */
typedef struct aud_digests {
    uint8_t v[AUD_NALG][32];
    unsigned have;
} aud_digests;

/* One file or named stream of a volume (a snapshot's or the live one). */
typedef struct aud_item {
    char *path;             /* "/dir/file" or "/dir/file:stream" */
    size_t stream_at;       /* offset of ':' in path; 0 = unnamed $DATA */
    uint64_t record;
    uint16_t sequence;
    uint64_t size;
    int resident;
    uint32_t attributes;
    uint64_t crtime, mtime, ctime, atime;   /* $STANDARD_INFORMATION */
    uint64_t record_offset;                 /* VSS_FS_NO_OFFSET if unknown */
    uint32_t names;         /* hard links met while walking */
    size_t order;           /* walk order (stable output) */
    int key_state;          /* live items: 1 once counted in the
                               progress bar's total */
} aud_item;

typedef struct aud_index {
    aud_item *v;
    size_t n, cap;
    size_t skipped;         /* metadata / shadow copy files left out */
    size_t errors;          /* directories or records that could not be read */
    uint64_t *bad;          /* records met while walking that could not be
                               read (unsorted) */
    size_t nbad, capbad;
} aud_index;

/* File bytes a snapshot did not preserve. */
typedef struct aud_range {
    uint64_t off, len;
    vss_class cls;
    vss_reason reason;
    int store;              /* stale from a newer store: its index */
    int source;             /* stale: STALE_* (what today's clusters hold) */
} aud_range;

/* Where the bytes of a stale range come from, as far as the volume Windows
 * reads them from (the live volume, or the newer snapshot whose store holds
 * them) can tell. Ordered by trust: a file's source is its least trusted
 * range's. */
enum aud_stale_source {
    STALE_NONE = 0,         /* no stale byte */
    STALE_SAME_FILE,        /* the same file (record and sequence) at the
                               same clusters, not modified since the
                               snapshot: very likely the snapshot's bytes */
    STALE_SAME_FILE_CHANGED,/* the same file at the same clusters, but
                               modified after the snapshot */
    STALE_UNKNOWN,          /* the reference volume could not be read */
    STALE_FREE,             /* free clusters (or an MFT record not in use):
                               the bytes prove nothing */
    STALE_OTHER_FILE        /* allocated, but not to this file at these
                               offsets: the bytes prove nothing */
};

enum aud_status {
    AUD_INTACT = 0,     /* every byte from a store or unchanged live data */
    AUD_DAMAGED,        /* some bytes zero: lost for sure */
    AUD_RESIDENT,       /* data inside the MFT record, record preserved */
    AUD_UNCHANGED,      /* intact and identical to the live version */
    AUD_UNVERIFIED,     /* no zero byte, but some stale: Windows returns
                           bytes it did not preserve */
    AUD_ERROR           /* could not be read */
};

enum aud_live {
    LIVE_SAME = 0,      /* same record and sequence: the same file */
    LIVE_REUSED,        /* the record now holds another file */
    LIVE_DELETED,       /* no live file with this record */
    LIVE_NOSTREAM,      /* the same file, but this stream is gone */
    LIVE_NONE,          /* not compared: the live file system could not
                           be read */
    LIVE_UNREADABLE     /* the live volume's record could not be read */
};

/* Per 16 KiB block of a file compared with its live version. */
enum aud_block_kind {
    BK_SAME = 0,        /* identical */
    BK_GAP,             /* differs only in bytes the snapshot did not
                           preserve (null-filled / stale gap) */
    BK_CHANGED,         /* preserved bytes differ: a real change */
    BK_SNAP_ONLY,       /* past the end of the live file */
    BK_LIVE_ONLY        /* past the end of the snapshot's file */
};

typedef struct aud_result {
    int snapshot;           /* 0 = live */
    aud_item *it;
    aud_item *live;         /* live item with the same record (and stream) */
    int status;
    int live_state;
    char *error;            /* AUD_ERROR: what failed */
    aud_range *dmg;         /* bytes not preserved (zero and stale) */
    size_t ndmg;
    uint64_t lost;          /* bytes in dmg of class zero */
    uint64_t unverified;    /* bytes in dmg of class stale */
    int stale_source;       /* STALE_*: the least trusted stale range's */
    char stale_why[700];    /* one line: why */
    uint64_t by_class[5];   /* store, live, zero, stale, none (sparse,
                               uninitialised, no volume offset) */
    int record_damaged;     /* the MFT record has zero or stale bytes */
    aud_digests snap;       /* as Windows returns the file */
    aud_digests livd;       /* the live version (same file only) */
    aud_digests rec;        /* recovered: snapshot + live bytes in the gaps */
    int has_live, match;    /* livd valid; snap == livd */
    int recoverable;        /* -1 not applicable, 0 no, 1 yes */
    const char *why;        /* when not recoverable */
    int has_rec;
    /* block digests (blocks mode, files that differ from live) */
    uint8_t *bsnap, *blive, *bfill;
    size_t nb_snap, nb_live;
} aud_result;

/* The counts of one snapshot's audit, or of all snapshots together. */
typedef struct aud_tally {
    size_t files, intact, unchanged, resident, damaged, unverified, errors,
        recoverable;
    size_t walk_errors;     /* directories or records that could not be read
                               while walking */
    uint64_t bytes_lost, bytes_unverified, bytes_recoverable;
} aud_tally;

typedef struct aud_snapshot {
    int index;
    vss_snapshot_info info;
    vss_snapshot *snap;
    vss_fs *fs;
    aud_index ix;
    aud_result *res;
    size_t nres;
    aud_tally sum;
    /* provenance of the whole volume for the HTML strip */
    uint64_t strip[AUD_STRIP][4];
    uint64_t strip_width;   /* bytes per strip bucket */
    uint64_t by_class[4];
    int strip_ok;
    char error[512];        /* why it could not be opened */
} aud_snapshot;

typedef struct aud_diff_entry {
    int kind;               /* DF_* */
    aud_item *a, *b;
    aud_digests da, db;
    uint64_t lost_a, lost_b;          /* zero bytes of each side */
    uint64_t unverified_a, unverified_b;  /* stale bytes of each side */
} aud_diff_entry;

enum { DF_ADDED = 0, DF_DELETED, DF_MODIFIED, DF_RENAMED,
       DF_RENAMED_MODIFIED, DF_UNCHANGED };

typedef struct aud_run {
    const audit_options *o;
    found_volume *fv;
    int alg[AUD_NALG];      /* requested algorithms in order */
    int nalg;
    unsigned algs;          /* bit mask */
    int balg;               /* block digest algorithm */
    size_t blen;            /* its length */
    const char *subtree;    /* only paths under this ("" = all) */
    aud_index live;
    vss_fs *live_fs;
    struct aud_ref *refs;   /* [snapshot number], 0 = live: the volumes
                               stale bytes are read from (audit.c) */
    int nrefs;
    aud_snapshot *snaps;
    size_t nsnaps;
    /* --diff */
    int diff_a, diff_b;     /* snapshot numbers, 0 = live */
    aud_diff_entry *diff;
    size_t ndiff;
    size_t diff_unchanged;
} aud_run;

/* audit.c */
const char *aud_alg_name(int alg);
size_t aud_alg_len(int alg);
void aud_hex(const uint8_t *p, size_t n, char *out);
const char *aud_status_name(int s);
const char *aud_live_word(const aud_result *x);
const char *aud_stale_source_name(int s);
void aud_sort(void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *));
const char *aud_block_kind_name(int k);
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

#endif
