/*
 * history.c — vssinfo --history PATH|@RECORD [--export-versions DIR]: every
 * version of one file across the snapshots and the live volume (issue
 * #17), as text, JSON or CSV, and written out once per distinct version
 * with a manifest. The work is the library's (vss_history_*); this file
 * only prints and writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "history.h"
#include "html.h"
#include "json.h"
#include "report_meta.h"

#define warn cli_warn

/* A version's undetermined flag (vss_version), in words. */
#define UNDETERMINED_WORDS                                                 \
    "its holders read the same, but bytes were not preserved: whether "   \
    "the file changed between them can be neither seen nor ruled out"

/* "md5,sha1,sha256" -> VSS_HISTORY_* bits; 0 on a bad list. */
static unsigned parse_hash_list(const char *spec)
{
    unsigned bits = 0;
    const char *p = spec;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 3 && strncasecmp(p, "md5", 3) == 0)
            bits |= VSS_HISTORY_MD5;
        else if ((n == 4 && strncasecmp(p, "sha1", 4) == 0) ||
                 (n == 5 && strncasecmp(p, "sha-1", 5) == 0))
            bits |= VSS_HISTORY_SHA1;
        else if ((n == 6 && strncasecmp(p, "sha256", 6) == 0) ||
                 (n == 7 && strncasecmp(p, "sha-256", 7) == 0))
            bits |= VSS_HISTORY_SHA256;
        else
            return 0;
        p += n;
        if (*p == ',')
            p++;
    }
    return bits;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* "1" or "live" */
static const char *source_name(int snapshot, char *buf, size_t n)
{
    if (!snapshot)
        return "live";
    snprintf(buf, n, "%d", snapshot);
    return buf;
}

/* The holders as "1,2,3,live" (sep between). */
static void holders_text(const vss_version *v, const char *sep, FILE *f)
{
    char b[16];
    for (size_t i = 0; i < v->holder_count; i++)
        fprintf(f, "%s%s", i ? sep : "",
                source_name(v->holders[i].snapshot, b, sizeof b));
}

/* "snapshot 1", "snapshots 2,3", "live", "snapshots 2,3 and live" */
static void holders_words(const vss_version *v)
{
    size_t snaps = 0, k;
    int live = 0;
    for (k = 0; k < v->holder_count; k++) {
        if (v->holders[k].snapshot)
            snaps++;
        else
            live = 1;
    }
    if (snaps)
        printf("snapshot%s ", snaps == 1 ? "" : "s");
    for (k = 0; k < v->holder_count; k++)
        if (v->holders[k].snapshot)
            printf("%s%d", k ? "," : "", v->holders[k].snapshot);
    if (live)
        printf("%slive", snaps ? " and " : "");
}

typedef struct digests_view {
    const char *name;
    unsigned bit;
    size_t len;
} digests_view;

static const digests_view dv[3] = {{"md5", VSS_HISTORY_MD5, 16},
                                   {"sha1", VSS_HISTORY_SHA1, 20},
                                   {"sha256", VSS_HISTORY_SHA256, 32}};

static const uint8_t *digest_of(const vss_history_stream *s, int k)
{
    return k == 0 ? s->md5 : k == 1 ? s->sha1 : s->sha256;
}

static const uint8_t *recovered_digest_of(const vss_history_stream *s, int k)
{
    return k == 0 ? s->recovered_md5
                  : k == 1 ? s->recovered_sha1 : s->recovered_sha256;
}

/* What --export-versions wrote for one stream of a version (NULL: not
 * written). */
typedef struct exported {
    char *file;               /* as Windows returns it */
    char *recovered;          /* --recover: the recovered version */
} exported;

/* The ranges the recovered version reads from the live file, as
 * "START-END;START-END" (END exclusive). */
static void fill_ranges_text(const vss_history_stream *s, FILE *f)
{
    for (size_t i = 0; i < s->fill_count; i++)
        fprintf(f, "%s%" PRIu64 "-%" PRIu64, i ? ";" : "", s->fill[i].offset,
                s->fill[i].offset + s->fill[i].length);
}

static const vss_history_stream *unnamed(const vss_version *v)
{
    return v->stream_count && !v->streams[0].name[0] ? &v->streams[0] : NULL;
}

/* ---- text --------------------------------------------------------------- */

static void text_times(const char *what, uint64_t c, uint64_t m, uint64_t x,
                       uint64_t a)
{
    char t[4][32];
    vss_filetime_format(c, t[0]);
    vss_filetime_format(m, t[1]);
    vss_filetime_format(x, t[2]);
    vss_filetime_format(a, t[3]);
    printf("  %-22s created %s  modified %s  mft-changed %s  accessed %s\n",
           what, t[0], t[1], t[2], t[3]);
}

static void text_stream(const vss_history_stream *s, const char *indent)
{
    char h[65];
    for (int k = 0; k < 3; k++)
        if (s->hashes & dv[k].bit) {
            hex(digest_of(s, k), dv[k].len, h);
            printf("%s%-6s %s\n", indent, dv[k].name, h);
        }
    for (size_t i = 0; i < s->lost_count; i++) {
        const vss_lost_range *d = &s->lost[i];
        printf("%slost   bytes %" PRIu64 "-%" PRIu64 " (%" PRIu64
               " bytes): %s%s%s\n",
               indent, d->offset, d->offset + d->length, d->length,
               vss_class_name(d->cls), d->reason ? " " : "",
               vss_reason_name(d->reason));
    }
    if (s->recoverable == 0)
        printf("%snot recoverable: %s\n", indent, s->why);
    if (s->recoverable == 1) {
        printf("%srecovered as of snapshot %d: its bytes, with live /%s in ",
               indent, s->recovered_from, s->live_path);
        fill_ranges_text(s, stdout);
        putchar('\n');
        if (s->why[0])
            printf("%s(older snapshots not recoverable: %s)\n", indent,
                   s->why);
        for (int k = 0; k < 3; k++)
            if (s->recovered_hashes & dv[k].bit) {
                hex(recovered_digest_of(s, k), dv[k].len, h);
                printf("%srecovered %s %s\n", indent, dv[k].name, h);
            }
    }
}

/* The report header of issue #18 (report_meta.h) over every snapshot: a
 * history reads them all. */
typedef struct report_head {
    const report_meta *meta;
    const found_volume *fv;
    int *snaps;
    size_t nsnaps;
} report_head;

static int report_head_init(report_head *r, const report_meta *meta,
                            const found_volume *fv)
{
    int n = meta && fv->vol ? vss_volume_snapshot_count(fv->vol) : 0;
    memset(r, 0, sizeof *r);
    r->meta = meta;
    r->fv = fv;
    if (n <= 0)
        return 0;
    r->snaps = calloc((size_t)n, sizeof *r->snaps);
    if (!r->snaps)
        return -1;
    for (int i = 0; i < n; i++)
        r->snaps[i] = i + 1;
    r->nsnaps = (size_t)n;
    return 0;
}

static void print_text(const vss_history *h, const char *what,
                       const report_head *r)
{
    size_t n = vss_history_count(h);
    if (r->meta)
        report_meta_text(stdout, r->meta, r->fv, r->snaps, r->nsnaps);
    printf("%s: %zu version%s in %d source%s (snapshots oldest first, then "
           "live)\n",
           what, n, n == 1 ? "" : "s", vss_history_source_count(h),
           vss_history_source_count(h) == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const vss_version *v = vss_history_version(h, i);
        const vss_history_stream *u = unnamed(v);
        int same_path = 1;
        printf("\nversion %zu: ", i + 1);
        holders_words(v);
        printf("\n  record %" PRIu64 ", sequence %u; %s; size %" PRIu64
               "; %s%s\n",
               v->mft_record, (unsigned)v->sequence,
               v->st.is_directory ? "directory" : "file", v->st.size,
               vss_status_name(v->status),
               v->record_damaged ? "; MFT record not fully preserved: "
                                   "metadata may not be the snapshot's"
                                 : "");
        if (v->undetermined)
            printf("  %s\n", UNDETERMINED_WORDS);
        for (size_t k = 1; k < v->holder_count; k++)
            if (strcmp(v->holders[k].path, v->holders[0].path))
                same_path = 0;
        if (same_path) {
            printf("  path %s\n", v->holders[0].path);
        } else {
            char b[16];
            for (size_t k = 0; k < v->holder_count; k++)
                printf("  path in %s: %s\n",
                       source_name(v->holders[k].snapshot, b, sizeof b),
                       v->holders[k].path);
        }
        text_times("$STANDARD_INFORMATION", v->st.creation_time,
                   v->st.modification_time, v->st.mft_change_time,
                   v->st.access_time);
        if (v->st.has_file_name)
            text_times("$FILE_NAME", v->st.fn_creation_time,
                       v->st.fn_modification_time, v->st.fn_mft_change_time,
                       v->st.fn_access_time);
        if (u)
            text_stream(u, "  ");
        for (size_t k = 0; k < v->stream_count; k++) {
            const vss_history_stream *s = &v->streams[k];
            if (s == u)
                continue;
            printf("  stream %s: size %" PRIu64 "; %s\n", s->name, s->size,
                   vss_status_name(s->status));
            text_stream(s, "    ");
        }
    }
}

/* ---- JSON ----------------------------------------------------------------- */


static void json_source(json *j, int snapshot)
{
    if (snapshot)
        json_i64(j, snapshot);
    else
        json_string(j, "live");
}

static void json_stream(json *j, const vss_history_stream *s,
                        const exported *x)
{
    char h[65];
    json_object(j);
    json_key_string(j, "name", s->name);
    json_key_u64(j, "size", s->size);
    json_key_bool(j, "resident", s->resident);
    json_key_string(j, "status", vss_status_name(s->status));
    for (int k = 0; k < 3; k++)
        if (s->hashes & dv[k].bit) {
            hex(digest_of(s, k), dv[k].len, h);
            json_key_string(j, dv[k].name, h);
        }
    json_key_u64(j, "lost_zero", s->lost_zero);
    json_key_u64(j, "lost_stale", s->lost_stale);
    json_key(j, "lost");
    json_array(j);
    for (size_t i = 0; i < s->lost_count; i++) {
        json_object(j);
        json_key_u64(j, "offset", s->lost[i].offset);
        json_key_u64(j, "length", s->lost[i].length);
        json_key_string(j, "class", vss_class_name(s->lost[i].cls));
        json_key_string(j, "reason", vss_reason_name(s->lost[i].reason));
        json_end_object(j);
    }
    json_end_array(j);
    /* null: nothing lost */
    json_key(j, "recoverable");
    if (s->recoverable < 0)
        json_null(j);
    else
        json_bool(j, s->recoverable);
    if (s->why[0])
        json_key_string(j, "not_recoverable_because", s->why);
    if (s->recoverable == 1) {
        json_key(j, "recovered");
        json_object(j);
        json_key_i64(j, "from_snapshot", s->recovered_from);
        json_key_string(j, "live_path", s->live_path);
        json_key(j, "live_ranges");
        json_array(j);
        for (size_t i = 0; i < s->fill_count; i++) {
            json_object(j);
            json_key_u64(j, "offset", s->fill[i].offset);
            json_key_u64(j, "length", s->fill[i].length);
            json_end_object(j);
        }
        json_end_array(j);
        for (int k = 0; k < 3; k++)
            if (s->recovered_hashes & dv[k].bit) {
                hex(recovered_digest_of(s, k), dv[k].len, h);
                json_key_string(j, dv[k].name, h);
            }
        if (x) {
            json_key(j, "file");
            if (x->recovered)
                json_string(j, x->recovered);
            else
                json_null(j);
        }
        json_end_object(j);
    }
    json_end_object(j);
}

/* One version as a JSON object; files: what was exported of each stream
 * (or NULL). */
static void json_version(json *j, const vss_version *v, size_t i,
                         const exported *files)
{
    const vss_history_stream *u = unnamed(v);
    json_object(j);
    json_key_u64(j, "version", i + 1);
    json_key_u64(j, "record", v->mft_record);
    json_key_u64(j, "sequence", v->sequence);
    json_key(j, "snapshots");
    json_array(j);
    for (size_t k = 0; k < v->holder_count; k++)
        json_source(j, v->holders[k].snapshot);
    json_end_array(j);
    json_key(j, "paths");
    json_array(j);
    for (size_t k = 0; k < v->holder_count; k++)
        json_string(j, v->holders[k].path);
    json_end_array(j);
    json_key_string(j, "type", v->st.is_directory ? "directory" : "file");
    json_key_u64(j, "size", v->st.size);
    json_key_string(j, "status", vss_status_name(v->status));
    json_key_bool(j, "record_damaged", v->record_damaged);
    json_key_bool(j, "undetermined", v->undetermined);
    json_key_u64(j, "attributes", v->st.attributes);
    json_key_times(j, v->st.creation_time, v->st.modification_time,
                   v->st.mft_change_time, v->st.access_time);
    if (v->st.has_file_name) {
        json_key(j, "file_name_times");
        json_object(j);
        json_key_times(j, v->st.fn_creation_time,
                       v->st.fn_modification_time, v->st.fn_mft_change_time,
                       v->st.fn_access_time);
        json_end_object(j);
    }
    if (u) {
        char h[65];
        for (int k = 0; k < 3; k++)
            if (u->hashes & dv[k].bit) {
                hex(digest_of(u, k), dv[k].len, h);
                json_key_string(j, dv[k].name, h);
            }
    }
    json_key(j, "streams");
    json_array(j);
    for (size_t k = 0; k < v->stream_count; k++)
        json_stream(j, &v->streams[k], files ? &files[k] : NULL);
    json_end_array(j);
    if (files) {
        json_key(j, "exported");
        json_array(j);
        for (size_t k = 0; k < v->stream_count; k++)
            if (files[k].file)
                json_string(j, files[k].file);
            else
                json_null(j);
        json_end_array(j);
    }
    json_end_object(j);
}

static void json_problems(json *j, const vss_history *h)
{
    json_key(j, "problems");
    json_array(j);
    for (size_t i = 0; i < vss_history_problem_count(h); i++) {
        const vss_history_problem *p = vss_history_problem_at(h, i);
        json_object(j);
        json_key(j, "snapshot");
        json_source(j, p->snapshot);
        json_key_string(j, "error", vss_strerror(p->error.code));
        json_key_string(j, "message", p->error.message);
        json_end_object(j);
    }
    json_end_array(j);
}

static void print_json(FILE *f, const vss_history *h, const char *what,
                       exported **files, const report_head *r)
{
    json j;
    json_begin(&j, f);
    json_object(&j);
    if (r->meta)
        report_meta_json(&j, r->meta, r->fv, r->snaps, r->nsnaps);
    json_key_string(&j, "file", what);
    json_key_i64(&j, "sources", vss_history_source_count(h));
    json_key(&j, "versions");
    json_array(&j);
    for (size_t i = 0; i < vss_history_count(h); i++)
        json_version(&j, vss_history_version(h, i), i,
                     files ? files[i] : NULL);
    json_end_array(&j);
    json_problems(&j, h);
    json_end_object(&j);
    json_finish(&j);
}

/* ---- CSV: one row per stream of each version ------------------------------ */


static void csv_times(FILE *f, uint64_t c, uint64_t m, uint64_t x,
                      uint64_t a)
{
    const uint64_t t[4] = {c, m, x, a};
    char ts[32];
    for (int i = 0; i < 4; i++) {
        vss_filetime_format(t[i], ts);
        fprintf(f, ",%s", ts);
    }
}

static void print_csv(FILE *f, const vss_history *h, exported **files,
                      const report_head *r)
{
    if (r->meta)
        report_meta_csv(f, r->meta, r->fv, r->snaps, r->nsnaps);
    fputs("version,record,sequence,stream,snapshots,paths,size,status,"
          "record_damaged,lost_zero,lost_stale,created,modified,mft_changed,"
          "accessed,fn_created,fn_modified,fn_mft_changed,fn_accessed,md5,"
          "sha1,sha256,recoverable,not_recoverable_because,recovered_from,"
          "recovered_live_path,recovered_live_ranges,recovered_md5,"
          "recovered_sha1,recovered_sha256,undetermined",
          f);
    fputs(files ? ",recovered_file,exported\n" : "\n", f);
    for (size_t i = 0; i < vss_history_count(h); i++) {
        const vss_version *v = vss_history_version(h, i);
        size_t rows = v->stream_count ? v->stream_count : 1;
        for (size_t k = 0; k < rows; k++) {
            const vss_history_stream *s =
                v->stream_count ? &v->streams[k] : NULL;
            char *paths = NULL;
            size_t plen = 0;
            FILE *pm = open_memstream(&paths, &plen);
            char hbuf[65];
            fprintf(f, "%zu,%" PRIu64 ",%u,", i + 1, v->mft_record,
                    (unsigned)v->sequence);
            csv_str(f, s ? s->name : "");
            fputc(',', f);
            holders_text(v, ";", f);
            for (size_t m = 0; pm && m < v->holder_count; m++)
                fprintf(pm, "%s%s", m ? ";" : "", v->holders[m].path);
            if (pm)
                fclose(pm);
            fputc(',', f);
            csv_str(f, paths ? paths : "");
            free(paths);
            fprintf(f, ",%" PRIu64 ",%s,%d,%" PRIu64 ",%" PRIu64,
                    s ? s->size : v->st.size,
                    vss_status_name(s ? s->status : v->status),
                    v->record_damaged, s ? s->lost_zero : 0,
                    s ? s->lost_stale : 0);
            csv_times(f, v->st.creation_time, v->st.modification_time,
                      v->st.mft_change_time, v->st.access_time);
            if (v->st.has_file_name)
                csv_times(f, v->st.fn_creation_time,
                          v->st.fn_modification_time,
                          v->st.fn_mft_change_time, v->st.fn_access_time);
            else
                fputs(",,,,", f);
            for (int d = 0; d < 3; d++) {
                fputc(',', f);
                if (s && (s->hashes & dv[d].bit)) {
                    hex(digest_of(s, d), dv[d].len, hbuf);
                    fputs(hbuf, f);
                }
            }
            /* recoverable: yes, no, or empty when nothing was lost */
            fprintf(f, ",%s,", !s || s->recoverable < 0 ? ""
                               : s->recoverable ? "yes" : "no");
            if (s && s->recoverable >= 0)
                csv_str(f, s->why);
            fputc(',', f);
            if (s && s->recoverable == 1) {
                fprintf(f, "%d,", s->recovered_from);
                csv_str(f, s->live_path);
                fputc(',', f);
                fill_ranges_text(s, f);
            } else {
                fputs(",,", f);
            }
            for (int d = 0; d < 3; d++) {
                fputc(',', f);
                if (s && s->recoverable == 1 &&
                    (s->recovered_hashes & dv[d].bit)) {
                    hex(recovered_digest_of(s, d), dv[d].len, hbuf);
                    fputs(hbuf, f);
                }
            }
            fprintf(f, ",%d", v->undetermined);
            if (files) {
                fputc(',', f);
                if (s && files[i][k].recovered)
                    csv_str(f, files[i][k].recovered);
                fputc(',', f);
                if (s && files[i][k].file)
                    csv_str(f, files[i][k].file);
            }
            fputc('\n', f);
        }
    }
}

/* ---- HTML: one printable page (html.h, the audit report's look) ---------- */

/* "snapshot 2 (created 2019-...Z)" or "live", each holder on a line. */
static void html_holders(FILE *f, const vss_version *v, const vss_volume *vol)
{
    for (size_t k = 0; k < v->holder_count; k++) {
        vss_snapshot_info si;
        char t[32];
        int n = v->holders[k].snapshot;
        fputs(k ? "<br>" : "", f);
        if (!n) {
            fputs("live", f);
            continue;
        }
        fprintf(f, "snapshot %d", n);
        if (vss_volume_snapshot_info((vss_volume *)vol, n, &si, NULL) == 0) {
            vss_filetime_format(si.creation_time, t);
            fprintf(f, " <span class=muted>(created <code>%s</code>)</span>",
                    t);
        }
    }
}

static void html_times(FILE *f, const char *what, uint64_t c, uint64_t m,
                       uint64_t x, uint64_t a)
{
    static const char *const word[4] = {"created", "modified", "MFT changed",
                                        "accessed"};
    const uint64_t t[4] = {c, m, x, a};
    char ts[32];
    fprintf(f, "<tr><th>%s</th><td>", what);
    for (int i = 0; i < 4; i++) {
        vss_filetime_format(t[i], ts);
        fprintf(f, "%s%s <code>%s</code>", i ? "<br>" : "", word[i], ts);
    }
    fputs("</td></tr>\n", f);
}

static void html_digests(FILE *f, const char *label, unsigned have,
                         const uint8_t *(*of)(const vss_history_stream *,
                                              int),
                         const vss_history_stream *s)
{
    char h[65];
    if (!have)
        return;
    fprintf(f, "<tr><td>%s</td><td>", label);
    for (int k = 0, n = 0; k < 3; k++)
        if (have & dv[k].bit) {
            hex(of(s, k), dv[k].len, h);
            fprintf(f, "%s<span class=\"alg\">%s</span>&nbsp;<code>%s</code>",
                    n++ ? " &nbsp; " : "", dv[k].name, h);
        }
    fputs("</td></tr>", f);
}

/* One stream of a version: a row of what it is and what it lost (every
 * range, as the text lists them), then its hashes and recovery. */
static void html_stream(FILE *f, const vss_history_stream *s,
                        const exported *x)
{
    fputs("<tr class=top><td>", f);
    if (s->name[0])
        html_esc(f, s->name);
    else
        fputs("<span class=muted>(unnamed $DATA)</span>", f);
    fprintf(f, "</td><td class=n>%" PRIu64 "</td><td>", s->size);
    html_status(f, s->status);
    fprintf(f, "</td><td class=n>%" PRIu64 "</td><td class=n>%" PRIu64
            "</td><td>", s->lost_zero, s->lost_stale);
    for (size_t i = 0; i < s->lost_count; i++) {
        const vss_lost_range *d = &s->lost[i];
        /* one range on one line, also on paper */
        fprintf(f, "%s<span class=nw><code>%" PRIu64 "-%" PRIu64 "</code> %"
                PRIu64 " bytes <span class=\"st %s\">%s</span> <span "
                "class=muted>(%s)</span></span>", i ? "<br>" : "", d->offset,
                d->offset + d->length, d->length,
                d->cls == VSS_CLASS_ZERO ? "damaged" : "unverified",
                vss_class_name(d->cls), vss_reason_name(d->reason));
    }
    if (!s->lost_count)
        fputs("<span class=muted>none</span>", f);
    fputs("</td><td>", f);
    if (s->recoverable < 0)
        fputs("<span class=muted>nothing lost</span>", f);
    else if (s->recoverable == 0) {
        fputs("<span class=no>not recoverable</span>: ", f);
        html_esc(f, s->why);
    } else {
        fprintf(f, "<span class=yes>recovered</span> as of snapshot %d: its "
                "bytes, with live <code>/", s->recovered_from);
        html_esc(f, s->live_path);
        fputs("</code> in <code>", f);
        for (size_t i = 0; i < s->fill_count; i++)
            fprintf(f, "%s%" PRIu64 "-%" PRIu64, i ? " " : "",
                    s->fill[i].offset, s->fill[i].offset + s->fill[i].length);
        fputs("</code>", f);
        if (s->why[0]) {
            fputs(" (older snapshots not recoverable: ", f);
            html_esc(f, s->why);
            fputc(')', f);
        }
    }
    fputs("</td></tr>\n<tr><td colspan=7 class=hashes><table>", f);
    html_digests(f, s->lost_count ? "as Windows returns it (not preserved "
                                    "bytes included)"
                                  : "hashes",
                 s->hashes, digest_of, s);
    if (s->recoverable == 1)
        html_digests(f, "recovered (live bytes in the gaps)",
                     s->recovered_hashes, recovered_digest_of, s);
    if (x && x->file) {
        fputs("<tr><td>written to</td><td><code>", f);
        html_esc(f, x->file);
        fputs("</code></td></tr>", f);
    }
    if (x && x->recovered) {
        fputs("<tr><td>recovered written to</td><td><code>", f);
        html_esc(f, x->recovered);
        fputs("</code></td></tr>", f);
    }
    fputs("</table></td></tr>\n", f);
}

static void html_version(FILE *f, const vss_version *v, size_t i,
                         const exported *files, const vss_volume *vol)
{
    int same_path = 1;
    fprintf(f, "<h2 id=\"v%zu\">Version %zu</h2>\n<table class=meta>\n"
            "<tr><th>found in</th><td>", i + 1, i + 1);
    html_holders(f, v, vol);
    fputs("</td></tr>\n", f);
    for (size_t k = 1; k < v->holder_count; k++)
        if (strcmp(v->holders[k].path, v->holders[0].path))
            same_path = 0;
    for (size_t k = 0; k < (same_path ? 1 : v->holder_count); k++) {
        char b[16];
        if (same_path)
            fputs("<tr><th>path</th><td>", f);
        else
            fprintf(f, "<tr><th>path in %s</th><td>",
                    source_name(v->holders[k].snapshot, b, sizeof b));
        html_esc(f, v->holders[k].path);
        fputs("</td></tr>\n", f);
    }
    fprintf(f, "<tr><th>MFT record</th><td>%" PRIu64 ", sequence %u; %s; "
            "size %" PRIu64 "; ", v->mft_record, (unsigned)v->sequence,
            v->st.is_directory ? "directory" : "file", v->st.size);
    html_status(f, v->status);
    if (v->record_damaged)
        fputs(" <b>the MFT record was not fully preserved: its times and "
              "sizes may not be the snapshot's</b>", f);
    if (v->undetermined)
        fprintf(f, "<br><b>%s</b>", UNDETERMINED_WORDS);
    fputs("</td></tr>\n", f);
    html_times(f, "$STANDARD_INFORMATION", v->st.creation_time,
               v->st.modification_time, v->st.mft_change_time,
               v->st.access_time);
    if (v->st.has_file_name)
        html_times(f, "$FILE_NAME", v->st.fn_creation_time,
                   v->st.fn_modification_time, v->st.fn_mft_change_time,
                   v->st.fn_access_time);
    fputs("</table>\n", f);
    if (!v->stream_count)
        return;
    fprintf(f, "<table class=dmg id=\"streams%zu\"><thead><tr><th>stream"
            "</th><th>size</th><th>status</th><th>bytes lost</th><th>bytes "
            "unverified</th><th>not preserved (file bytes, END exclusive)"
            "</th><th>recovery</th></tr></thead>\n", i + 1);
    for (size_t k = 0; k < v->stream_count; k++)
        html_stream(f, &v->streams[k], files ? &files[k] : NULL);
    fputs("</table>\n", f);
}

/* The page; files: what --export-versions wrote (NULL: nothing), to dir. */
static int print_html(const char *path, int force, const vss_history *h,
                      const char *what, exported **files, const char *dir,
                      unsigned hashes, const report_head *r)
{
    FILE *f = html_create(path, force);
    size_t n = vss_history_count(h), np = vss_history_problem_count(h);
    if (!f)
        return 1;
    html_begin(f, "file history", r->meta ? r->meta->case_id : NULL);
    fputs("<p class=\"muted\">", f);
    html_esc(f, what);
    fputs(" &middot; ", f);
    html_esc(f, r->fv->image);
    fprintf(f, ", volume at offset %" PRIu64 " &middot; vssinfo %s &middot; "
            "hashes: ", r->fv->part.offset, VSS_VERSION_STRING);
    for (int k = 0, m = 0; k < 3; k++)
        if (hashes & dv[k].bit)
            fprintf(f, "%s%s", m++ ? ", " : "", dv[k].name);
    fputs(hashes ? "</p>\n" : "none (--hash)</p>\n", f);
    if (r->meta)
        report_meta_html(f, r->meta, r->fv, r->snaps, r->nsnaps);
    fputs("<p>Every version of the file in the snapshots (oldest first) and "
          "on the live volume; a version is found in each source that holds "
          "the same file (MFT record and sequence) with the same content. "
          "Its status and the ranges not preserved are those of its oldest "
          "copy: <b>damaged</b>: some bytes were not preserved and Windows "
          "returns them as zeros, lost for sure; <b>unverified</b>: no byte "
          "lost, but some were not preserved and Windows returns today's "
          "bytes or a newer snapshot's (<i>stale</i>): not evidence of the "
          "snapshot. Hashes are of the bytes as Windows returns them, those "
          "included. <b>Recovered</b>: the copy's bytes with the live file's "
          "in the gaps, only where the audit vouches for it (the same file, "
          "not modified since). File byte ranges are <code>START-END</code> "
          "with END exclusive (half-open).</p>\n", f);
    fprintf(f, "<h2>Summary</h2>\n<p><b>%zu version%s</b> of <code>", n,
            n == 1 ? "" : "s");
    html_esc(f, what);
    fprintf(f, "</code> in %d source%s", vss_history_source_count(h),
            vss_history_source_count(h) == 1 ? "" : "s");
    if (files) {
        fputs("; each version written once to <code>", f);
        html_esc(f, dir);
        fputs("</code> (manifest.csv, manifest.json)", f);
    }
    fputs(".</p>\n", f);
    if (np) {
        fprintf(f, "<p><b>%zu source%s could not be searched</b> (the "
                "history goes on without %s):</p>\n<ul>", np,
                np == 1 ? "" : "s", np == 1 ? "it" : "them");
        for (size_t i = 0; i < np; i++) {
            const vss_history_problem *p = vss_history_problem_at(h, i);
            char b[16];
            fprintf(f, "<li>%s%s: ", p->snapshot ? "snapshot " : "",
                    source_name(p->snapshot, b, sizeof b));
            html_esc(f, p->error.message);
            fputs("</li>", f);
        }
        fputs("</ul>\n", f);
    }
    fputs("<table id=versions><thead><tr><th>version</th><th>found in</th>"
          "<th>record-seq</th><th>type</th><th>size</th><th>status</th><th>"
          "modified (UTC)</th><th>bytes lost</th><th>bytes unverified</th>"
          "</tr></thead>\n", f);
    for (size_t i = 0; i < n; i++) {
        const vss_version *v = vss_history_version(h, i);
        uint64_t zero = 0, stale = 0;
        char t[32];
        for (size_t k = 0; k < v->stream_count; k++) {
            zero += v->streams[k].lost_zero;
            stale += v->streams[k].lost_stale;
        }
        vss_filetime_format(v->st.modification_time, t);
        fprintf(f, "<tr><td class=n><a href=\"#v%zu\">%zu</a></td><td>",
                i + 1, i + 1);
        holders_text(v, ", ", f);
        fprintf(f, "</td><td class=n>%" PRIu64 "-%u</td><td>%s</td><td "
                "class=n>%" PRIu64 "</td><td>", v->mft_record,
                (unsigned)v->sequence,
                v->st.is_directory ? "directory" : "file", v->st.size);
        html_status(f, v->status);
        fprintf(f, "</td><td><code>%s</code></td><td class=n>%" PRIu64
                "</td><td class=n>%" PRIu64 "</td></tr>\n", t, zero, stale);
    }
    fputs("</table>\n<div class=summary-end></div>\n", f);
    for (size_t i = 0; i < n; i++)
        html_version(f, vss_history_version(h, i), i,
                     files ? files[i] : NULL, r->fv->vol);
    if (html_finish(f, path, "--history"))
        return 1;
    return report_meta_seal(path);
}

/* ---- --export-versions ---------------------------------------------------- */

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Characters a file name cannot hold (or that confuse a shell listing)
 * become '_'. */
static void append_clean(char *out, size_t outsz, const char *s)
{
    size_t l = strlen(out);
    for (; *s && l + 1 < outsz; s++)
        out[l++] = ((unsigned char)*s < 0x20 || *s == '/') ? '_' : *s;
    out[l] = '\0';
}

/* NAME.vNN.vssKK.YYYYMMDDTHHMMSSZ.EXT (live: NAME.vNN.live.EXT), then
 * ".STREAM" for a named stream. NAME is the file asked about (for a
 * record: its name in the first version), also for versions found under
 * another name, so that sorted by name the versions come in order, oldest
 * first; the manifest gives each version's paths. A recovered version
 * (recovered_from: the snapshot it is recovered for; 0: not one) is
 * named by that snapshot and has ".recovered" before the EXT: it sorts
 * beside its version. */
static void export_name(const vss_history *h, vss_volume *vol, size_t i,
                        const char *stream, const char *what,
                        int recovered_from, char *out, size_t outsz)
{
    const vss_version *v = vss_history_version(h, i);
    const char *path =
        what[0] == '@' ? vss_history_version(h, 0)->holders[0].path : what;
    const char *base = strrchr(path, '/');
    const char *dot;
    char stem[256] = "", tag[96];
    int width = vss_history_count(h) >= 100 ? 3 : 2;
    int snap = recovered_from ? recovered_from : v->holders[0].snapshot;

    base = base ? base + 1 : path;
    if (!*base)
        base = "root";
    dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = base + strlen(base);
    snprintf(stem, sizeof stem, "%.*s", (int)(dot - base), base);
    if (snap) {
        vss_snapshot_info si;
        char t[32] = "";
        if (vss_volume_snapshot_info(vol, snap, &si, NULL) == 0) {
            /* 2019-06-04T23:43:01.4843750Z -> 20190604T234301Z */
            char f[32];
            size_t o = 0;
            vss_filetime_format(si.creation_time, f);
            for (size_t k = 0; f[k] && f[k] != '.' && o + 2 < sizeof t; k++)
                if (f[k] != '-' && f[k] != ':')
                    t[o++] = f[k];
            t[o++] = 'Z';
            t[o] = '\0';
        }
        snprintf(tag, sizeof tag, ".v%0*zu.vss%02d.%s", width, i + 1, snap,
                 t);
    } else {
        snprintf(tag, sizeof tag, ".v%0*zu.live", width, i + 1);
    }
    out[0] = '\0';
    append_clean(out, outsz, stem);
    append_clean(out, outsz, tag);
    if (recovered_from)
        append_clean(out, outsz, ".recovered");
    append_clean(out, outsz, dot);
    if (stream && *stream) {
        append_clean(out, outsz, ".");
        append_clean(out, outsz, stream);
    }
}

/* What --export-versions writes, read through one interface: a version
 * as Windows returns it, or its recovered version. */
typedef struct version_reader {
    int (*open)(vss_history *h, size_t i, const char *stream, void **src,
                vss_error *err);
    uint64_t (*size)(const void *src);
    int64_t (*read)(void *src, void *buf, size_t n, uint64_t off,
                    vss_error *err);
    void (*close)(void *src);
} version_reader;

static int version_open(vss_history *h, size_t i, const char *stream,
                        void **src, vss_error *err)
{
    vss_fs_file *f = NULL;
    int rc = vss_history_version_open(h, i, stream, &f, err);
    *src = f;
    return rc;
}

static uint64_t version_size(const void *f)
{
    return vss_fs_file_size(f);
}

static int64_t version_read(void *f, void *buf, size_t n, uint64_t off,
                            vss_error *err)
{
    return vss_fs_file_read_at(f, buf, n, off, err);
}

static void version_close(void *f)
{
    vss_fs_file_close(f);
}

/* The library's recovered version: only where the audit vouches for it. */
static int recovered_open(vss_history *h, size_t i, const char *stream,
                          void **src, vss_error *err)
{
    vss_history_recovered *r = NULL;
    int rc = vss_history_recovered_open(h, i, stream, &r, err);
    *src = r;
    return rc;
}

static uint64_t recovered_size(const void *r)
{
    return vss_history_recovered_size(r);
}

static int64_t recovered_read(void *r, void *buf, size_t n, uint64_t off,
                              vss_error *err)
{
    return vss_history_recovered_read_at(r, buf, n, off, err);
}

static void recovered_close(void *r)
{
    vss_history_recovered_close(r);
}

static const version_reader as_windows_returns_it = {
    version_open, version_size, version_read, version_close};
static const version_reader recovered_version = {
    recovered_open, recovered_size, recovered_read, recovered_close};

/* Write `size` bytes of src (read with rd) to dir/name, never over an
 * existing file, sparse (all-zero MiB become holes, as --extract
 * writes); i is the version (for messages). */
static int write_out(const version_reader *rd, void *src, uint64_t size,
                     size_t i, int dirfd, const char *name, const char *dir)
{
    vss_error e = {0};
    uint64_t off = 0;
    size_t bufsz = 1u << 20;
    uint8_t *buf = NULL;
    int fd, rc = 0;

    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return warn("cannot create %s/%s: %s", dir, name,
                    errno == EEXIST ? "it exists (never overwritten)"
                                    : strerror(errno));
    buf = malloc(bufsz);
    while (!rc && buf && off < size) {
        size_t want = size - off < bufsz ? (size_t)(size - off) : bufsz;
        int64_t n = rd->read(src, buf, want, off, &e);
        if (n <= 0)
            rc = warn("version %zu: %s", i + 1,
                      n < 0 ? e.message : "unexpected end of data");
        else if (all_zero(buf, (size_t)n)
                     ? lseek(fd, n, SEEK_CUR) < 0
                     : cli_write_all(fd, buf, (size_t)n) != 0)
            rc = warn("writing %s/%s: %s", dir, name, strerror(errno));
        else
            off += (uint64_t)n;
    }
    if (!buf)
        rc = warn("out of memory");
    if (!rc && ftruncate(fd, (off_t)size) != 0)
        rc = warn("writing %s/%s: %s", dir, name, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = warn("closing %s/%s: %s", dir, name, strerror(errno));
    free(buf);
    return rc;
}

/* Stream `stream` of version i, read with rd, to dir/name. */
static int export_stream(const version_reader *rd, vss_history *h, size_t i,
                         const char *stream, int dirfd, const char *name,
                         const char *dir)
{
    void *src = NULL;
    vss_error e = {0};
    int rc;
    if (rd->open(h, i, stream, &src, &e))
        return warn("version %zu: %s", i + 1, e.message);
    rc = write_out(rd, src, rd->size(src), i, dirfd, name, dir);
    rd->close(src);
    return rc;
}

/* A manifest file in dir, created (never replaced). */
static FILE *create_in(int dirfd, const char *dir, const char *name)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    0644);
    FILE *f;
    if (fd < 0) {
        warn("cannot create %s/%s: %s", dir, name,
             errno == EEXIST ? "it exists (never overwritten)"
                             : strerror(errno));
        return NULL;
    }
    f = fdopen(fd, "w");
    if (!f)
        close(fd);
    return f;
}

/* NAME.sha256 beside dir/NAME (report_meta_seal), for a report with a
 * header: the manifest can be verified later like any report. */
static int seal_in(const char *dir, const char *name, const report_head *r)
{
    char path[4096];
    if (!r->meta)
        return 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
        sizeof path)
        return warn("%s/%s: path too long", dir, name);
    return report_meta_seal(path);
}

static void exported_free(const vss_history *h, exported **files)
{
    for (size_t i = 0; files && i < vss_history_count(h); i++) {
        const vss_version *v = vss_history_version(h, i);
        for (size_t k = 0; files[i] && k < v->stream_count; k++) {
            free(files[i][k].file);
            free(files[i][k].recovered);
        }
        free(files[i]);
    }
    free(files);
}

/* Every version written to dir, with the manifests; *written: what was
 * written of each stream of each version (exported_free; NULL when the
 * folder could not be had). */
static int export_versions(vss_history *h, vss_volume *vol,
                           const char *dir, const char *what, int recover,
                           const report_head *r, size_t *recovered,
                           exported ***written)
{
    size_t n = vss_history_count(h);
    exported **files = calloc(n ? n : 1, sizeof *files);
    int dirfd, rc = 0;
    FILE *f;

    *written = NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        free(files);
        return warn("cannot create %s: %s", dir, strerror(errno));
    }
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || !files) {
        free(files);
        if (dirfd >= 0)
            close(dirfd);
        return warn("cannot open %s: %s", dir, strerror(errno));
    }
    for (size_t i = 0; i < n; i++) {
        const vss_version *v = vss_history_version(h, i);
        files[i] = calloc(v->stream_count ? v->stream_count : 1,
                          sizeof **files);
        for (size_t k = 0; files[i] && k < v->stream_count; k++) {
            const vss_history_stream *s = &v->streams[k];
            char name[1024];
            export_name(h, vol, i, s->name, what, 0, name, sizeof name);
            if (export_stream(&as_windows_returns_it, h, i, s->name, dirfd,
                              name, dir))
                rc = 1;
            else
                files[i][k].file = strdup(name);
            if (!recover || s->recoverable != 1)
                continue;
            export_name(h, vol, i, s->name, what, s->recovered_from, name,
                        sizeof name);
            if (export_stream(&recovered_version, h, i, s->name, dirfd,
                              name, dir))
                rc = 1;
            else if ((files[i][k].recovered = strdup(name)) != NULL)
                (*recovered)++;
        }
    }
    if ((f = create_in(dirfd, dir, "manifest.csv")) != NULL) {
        print_csv(f, h, files, r);
        if (fclose(f) != 0)
            rc = warn("writing %s/manifest.csv failed", dir);
        else
            rc |= seal_in(dir, "manifest.csv", r);
    } else {
        rc = 1;
    }
    if ((f = create_in(dirfd, dir, "manifest.json")) != NULL) {
        print_json(f, h, what, files, r);
        if (fclose(f) != 0)
            rc = warn("writing %s/manifest.json failed", dir);
        else
            rc |= seal_in(dir, "manifest.json", r);
    } else {
        rc = 1;
    }
    close(dirfd);
    *written = files;
    return rc;
}

/* ---- the run ------------------------------------------------------------- */

int history_run(found_volume *fv, const history_options *o)
{
    vss_history_options ho = {0};
    vss_history *h = NULL;
    vss_error e = {0};
    report_head head;
    exported **files = NULL; /* --export-versions: what was written */
    const char *path = NULL;
    uint64_t record = VSS_HISTORY_NO_RECORD;
    int rc = 0;

    if (o->history[0] == '@') {
        if (cli_parse_u64(o->history + 1, &record) ||
            record >= ((uint64_t)1 << 48))
            return warn("--history: bad MFT record number '%s'",
                        o->history + 1) * 2;
    } else {
        path = o->history;
    }
    if (o->hash) {
        ho.hashes = parse_hash_list(o->hash);
        if (!ho.hashes)
            return warn("--hash: expected a list of md5, sha1, sha256, got "
                        "'%s'",
                        o->hash) * 2;
    } else if (o->export_dir) {
        /* the manifest vouches for what was written */
        ho.hashes = VSS_HISTORY_MD5 | VSS_HISTORY_SHA256;
    }
    ho.fill = o->fill;
    if (!fv->vol)
        return warn("%s", fv->open_error);
    if (fv->open_rc && !vss_volume_storage_ready(fv->vol))
        return warn("%s", fv->open_error);
    if (report_head_init(&head, o->meta, fv))
        return warn("out of memory");
    if (vss_history_open(fv->vol, fv->src, path, record, &ho, &h, &e)) {
        free(head.snaps);
        return warn("%s", e.message);
    }
    for (size_t i = 0; i < vss_history_problem_count(h); i++) {
        const vss_history_problem *p = vss_history_problem_at(h, i);
        char b[16];
        warn("%s%s: %s", p->snapshot ? "snapshot " : "",
             source_name(p->snapshot, b, sizeof b), p->error.message);
        rc = 1;
    }
    if (o->export_dir) {
        size_t nrec = 0;
        if (export_versions(h, fv->vol, o->export_dir, o->history,
                            o->recover, &head, &nrec, &files))
            rc = 1;
        else if (o->recover)
            printf("Wrote %zu version%s of %s and %zu recovered version%s "
                   "to %s (manifest.csv, manifest.json)\n",
                   vss_history_count(h),
                   vss_history_count(h) == 1 ? "" : "s", o->history, nrec,
                   nrec == 1 ? "" : "s", o->export_dir);
        else
            printf("Wrote %zu version%s of %s to %s (manifest.csv, "
                   "manifest.json)\n",
                   vss_history_count(h),
                   vss_history_count(h) == 1 ? "" : "s", o->history,
                   o->export_dir);
    } else if (o->json) {
        print_json(stdout, h, o->history, NULL, &head);
    } else if (o->csv) {
        print_csv(stdout, h, NULL, &head);
    } else {
        print_text(h, o->history, &head);
    }
    if (o->html && print_html(o->html, o->force, h, o->history, files,
                              o->export_dir, ho.hashes, &head))
        rc = 1;
    exported_free(h, files);
    vss_history_close(h);
    free(head.snaps);
    if (fflush(stdout) || ferror(stdout))
        return warn("write failed");
    return rc;
}
