/*
 * files.h — vssinfo's file-level actions (files.c): --ls, --bodyfile and
 * --file over the NTFS inside a snapshot or the live volume.
 */
#ifndef VSSINFO_FILES_H
#define VSSINFO_FILES_H

#include "vssinfo.h"

typedef struct files_options {
    const char *ls;       /* --ls SPEC: "N", "live", "all", "N-M" or a
                             list of them, then [:PATH] */
    const char *file;     /* --file SPEC: "N:PATH[:STREAM]" */
    int recursive;        /* -r */
    int bodyfile;         /* --bodyfile: TSK body format for mactime */
    int unique;           /* --unique: several sources, each line once */
    int json;
    const char *output;   /* --file: write here instead of stdout */
    int force;            /* --force: --output may replace a file */
    vss_fill fill;
} files_options;

/* Run --ls or --file on the picked volume; returns the exit code
 * (0 ok, 1 failure reading, 2 bad usage). */
int files_run(found_volume *fv, const files_options *o);

#endif
