/*
 * history.h — vssinfo --history / --export-versions (history.c): every
 * version of one file across the snapshots, through vss_history_*.
 */
#ifndef VSSINFO_HISTORY_H
#define VSSINFO_HISTORY_H

#include "report_meta.h"
#include "vssinfo.h"

typedef struct history_options {
    const char *history;    /* --history PATH or @RECORD */
    const char *hash;       /* --hash LIST (NULL: none; md5,sha256 when
                               exporting) */
    const char *export_dir; /* --export-versions DIR */
    int recover;            /* --recover: also the recovered versions */
    int json, csv;
    const char *html;       /* --html FILE: also as an HTML page, sealed
                               (FILE.sha256) */
    int force;              /* --force: --html may replace a file */
    vss_fill fill;
    const report_meta *meta; /* the report header (case, images, command
                                line, every snapshot's identity); NULL:
                                none */
} history_options;

/* Exit code: 0 done, 1 a source or a version could not be read or
 * written, 2 bad usage. */
int history_run(found_volume *fv, const history_options *o);

#endif
