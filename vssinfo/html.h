/*
 * html.h — the one page of vssinfo's HTML reports (--audit, --diff,
 * --history; issue #18): a self-contained page (inline CSS, no external
 * resource) with the same look and the same print stylesheet for each,
 * so that every report prints the same way (summary page first, table
 * headers repeated, rows kept whole, pages numbered). The reports write
 * what goes between html_begin and html_finish.
 */
#ifndef VSSINFO_HTML_H
#define VSSINFO_HTML_H

#include <stdio.h>

#include "vss.h"

/* path created for writing; NULL after a message. */
FILE *html_create(const char *path, int force);
/* The page up to and including its heading: "Volume Shadow Copy WHAT"
 * (WHAT: "audit", "diff", "file history"), which also names every
 * printed page; case_id (NULL: none) goes into the page title. */
void html_begin(FILE *f, const char *what, const char *case_id);
/* The closing paragraph (the classes of provenance in words) and the end
 * of the page; then f is closed. 0, or 1 after a message naming path. */
int html_finish(FILE *f, const char *path, const char *generated_by);

/* Text inside HTML (element content or a quoted attribute). */
void html_esc(FILE *f, const char *s);
/* A status as the coloured badge every report uses. */
void html_status(FILE *f, vss_status s);

#endif
