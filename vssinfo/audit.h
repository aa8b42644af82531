/*
 * audit.h — vssinfo --audit / --diff (issue #5): what each snapshot really
 * preserved, file by file, with hashes. The engine is the library's
 * (vss_audit_*); audit.c turns the options into its options and gathers
 * its results, audit_out.c writes the text, CSV, JSON and HTML reports.
 */
#ifndef VSSINFO_AUDIT_H
#define VSSINFO_AUDIT_H

#include "vssinfo.h"

typedef struct audit_options {
    const char *audit;   /* --audit SPEC: "all" | "N[,N|N-M...]" [":PATH"] */
    const char *diff;    /* --diff A:B (snapshot numbers or "live") */
    const char *hash;    /* --hash LIST: md5,sha1,sha256 (default md5,sha256) */
    int blocks;          /* --audit-blocks: every 16 KiB block of files that
                            differ from the live volume */
    int system;          /* --audit-system: NTFS metadata files and the
                            shadow copy files too */
    int json, csv;
    const char *html;    /* --html FILE */
    int force;           /* --force: --html may replace a file */
    const char *image;   /* for the report headers */
    vss_fill fill;
    int progress;        /* 1 on, 0 off, -1 when stderr is a terminal */
    const struct report_meta *meta; /* the reports' header (report_meta.h);
                                       NULL: none */
} audit_options;

/* Exit code: 0 done (even with damaged files), 1 read failures, 2 usage. */
int audit_run(found_volume *fv, const audit_options *o);

#endif
