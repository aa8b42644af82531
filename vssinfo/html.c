/*
 * html.c — the page, the stylesheets and the escaping shared by the HTML
 * reports of vssinfo (html.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "html.h"
#include "vssinfo.h"

void html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

void html_status(FILE *f, vss_status s)
{
    fprintf(f, "<span class=\"st %s\">%s</span>", vss_status_name(s),
            vss_status_name(s));
}

/* The screen look of every report. */
static const char html_screen_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;"
    "max-width:1400px}\n"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 "
    "6px;border-bottom:1px solid #ccc}\n"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid "
    "#ddd;padding:3px 6px;vertical-align:top;text-align:left}\n"
    "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:"
    "tabular-nums}\n"
    "code{font:12px ui-monospace,monospace;white-space:nowrap}\n"
    "table.dmg{width:100%}tr.top td{border-top:2px solid #bbb}\n"
    "td.hashes{background:#fafafa;border-top:none}td.hashes table"
    "{margin:0}td.hashes td{border:none;padding:1px 8px 1px 0;"
    "font-size:12px;color:#555}\n"
    ".alg{color:#777;font-size:11px}.muted{color:#666}\n"
    ".st{font-weight:600;padding:1px 6px;border-radius:3px;color:#fff}\n"
    ".damaged{background:#c62828}.unverified{background:#ef6c00}"
    ".intact{background:#2e7d32}"
    ".unchanged{background:#558b2f}.resident{background:#1565c0}"
    ".error{background:#6a1b9a}\n"
    "svg.strip{width:100%;height:36px;border:1px solid #999;"
    "display:block}\n"
    ".legend span{margin-right:14px;white-space:nowrap}.legend i{display:"
    "inline-block;width:12px;height:12px;margin-right:4px;vertical-align:"
    "-1px;border:1px solid #777}\n"
    ".yes{color:#2e7d32;font-weight:600}.no{color:#c62828;font-weight:"
    "600}.nw{white-space:nowrap}\n";

/* The report on paper (issue #18): the summary page first, every file
 * list open, table headers repeated on each page, rows kept whole, pages
 * numbered (CSS page margin boxes: Chromium 131 and later). What the
 * report is goes between the two halves, in the bottom-left corner of
 * each page. */
static const char html_print_css[] =
    "table.meta th{width:11em}"
    "code.cmd{white-space:pre-wrap;word-break:break-all}\n"
    "thead{display:table-header-group}\n"
    "@page{size:A4;margin:14mm 10mm 16mm;"
    "@bottom-right{content:\"page \" counter(page) \" of \" counter(pages);"
    "font:10px system-ui,sans-serif;color:#555}"
    "@bottom-left{content:\"Volume Shadow Copy ";
static const char html_print_css_end[] =
    "\";font:10px system-ui,sans-serif;color:#555}}\n"
    "@media print{body{margin:0;max-width:none;font-size:10px}"
    "code{font-size:9px}td{overflow-wrap:anywhere}"
    "h2{break-after:avoid}.summary-end{break-after:page}"
    "tr,svg,.legend{break-inside:avoid}"
    "details::details-content{content-visibility:visible;display:block}"
    "details>summary{list-style:none;font-weight:600;margin:8px 0 4px}"
    "a{color:inherit;text-decoration:none}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* The report on a narrow screen (a phone, a split window): the page never
 * gets wider than the screen; a table wider than it scrolls sideways in
 * its own box, long codes (hashes, paths, the command line) wrap. Screen
 * only: on paper tables keep their table layout (thead repeated). */
static const char html_narrow_css[] =
    "@media screen and (max-width:1100px){body{margin:8px;font-size:13px}"
    "table{display:block;max-width:100%;overflow-x:auto}"
    "code{white-space:normal;overflow-wrap:anywhere}"
    "table.meta th{width:auto}}\n";

FILE *html_create(const char *path, int force)
{
    int fd = output_create(path, force);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        output_refused("--html", path);
        if (fd >= 0)
            close(fd);
    }
    return f;
}

void html_begin(FILE *f, const char *what, const char *case_id)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, "
          "initial-scale=1\">\n", f);
    fprintf(f, "<title>Shadow copy %s", what);
    if (case_id) {
        fputs(", case ", f);
        html_esc(f, case_id);
    }
    fputs("</title>\n<style>\n", f);
    fputs(html_screen_css, f);
    fputs(html_print_css, f);
    fputs(what, f); /* the callers' words: no quote, no backslash */
    fputs(html_print_css_end, f);
    fputs(html_narrow_css, f);
    fputs("</style></head><body>\n", f);
    fprintf(f, "<h1>Volume Shadow Copy %s</h1>\n", what);
}

int html_finish(FILE *f, const char *path, const char *generated_by)
{
    fprintf(f, "<p class=\"muted\">Generated by vssinfo %s (libvss). "
            "Classes: <b>store</b> copied into a shadow copy store; "
            "<b>live</b> unchanged since the snapshot; <b>zero</b> not "
            "preserved, reads as zeros; <b>stale</b> not preserved, reads "
            "data written after the snapshot.</p>\n</body></html>\n",
            generated_by);
    if (fclose(f) != 0)
        return cli_warn("writing %s: %s", path, strerror(errno));
    return 0;
}
