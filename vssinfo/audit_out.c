/*
 * audit_out.c — the reports of vssinfo --audit / --diff: an aligned text
 * table for people, JSON and CSV for tools, and one self-contained HTML
 * page (inline CSS and SVG, no external resources).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "html.h"
#include "json.h"
#include "report_meta.h"

#define BS VSS_BLOCK_SIZE
#define MAX_RANGES_TEXT 8
/* VSS_DIFF_UNDETERMINED in words, for the text and HTML reports */
#define UNDETERMINED_DIFF                                                  \
    "equal where both sides were preserved, but bytes of a side were not " \
    "preserved: a change there can be neither seen nor ruled out"

static const char *const class_colour[4] = {"#2e7d32", "#90caf9", "#424242",
                                             "#ef6c00"};

static void hexd(const aud_run *r, const aud_digests *d, int alg, char *out)
{
    if (d->have & (1u << alg))
        aud_hex(d->v[alg], vss_hash_length(alg), out);
    else
        strcpy(out, "-");
}

#define live_word aud_live_word

/* The one range convention of every report, stated in each. */
#define RANGES_NOTE "file byte ranges are START-END with END exclusive " \
                    "(half-open)"

/* ---- the header of every report (report_meta.c) -------------------------- */

/* The snapshot numbers a report covers: the audited ones, or the sides of
 * the diff that are snapshots. NULL (and *n 0) when there is no header to
 * write or no memory. The caller frees. */
static int *report_snaps(const aud_run *r, size_t *n)
{
    int *v = malloc((r->nsnaps + 2) * sizeof *v);
    size_t i;
    *n = 0;
    if (!v)
        return NULL;
    if (r->o->diff) {
        if (r->diff_a)
            v[(*n)++] = r->diff_a;
        if (r->diff_b && r->diff_b != r->diff_a)
            v[(*n)++] = r->diff_b;
    } else {
        for (i = 0; i < r->nsnaps; i++)
            v[(*n)++] = r->snaps[i].index;
    }
    return v;
}

#define WITH_REPORT_SNAPS(r, call)                                         \
    do {                                                                   \
        size_t ns_;                                                        \
        int *sn_;                                                          \
        if (!(r)->o->meta)                                                 \
            break;                                                         \
        sn_ = report_snaps(r, &ns_);                                       \
        call;                                                              \
        free(sn_);                                                         \
    } while (0)

static void head_text(FILE *f, const aud_run *r)
{
    WITH_REPORT_SNAPS(r, report_meta_text(f, r->o->meta, r->fv, sn_, ns_));
}

static void head_json(json *j, const aud_run *r)
{
    WITH_REPORT_SNAPS(r, report_meta_json(j, r->o->meta, r->fv, sn_, ns_));
}

static void head_csv(FILE *f, const aud_run *r)
{
    WITH_REPORT_SNAPS(r, report_meta_csv(f, r->o->meta, r->fv, sn_, ns_));
}

static void head_html(FILE *f, const aud_run *r)
{
    WITH_REPORT_SNAPS(r, report_meta_html(f, r->o->meta, r->fv, sn_, ns_));
}

static void snapshot_title(FILE *f, const aud_run *r, const aud_snapshot *S)
{
    char t[32];
    vss_filetime_format(S->info.creation_time, t);
    fprintf(f, "Snapshot %d of %s (volume at offset %" PRIu64
            "), created %s, catalog flags 0x%" PRIx64 "\n",
            S->index, r->o->image ? r->o->image : "?", r->fv->part.offset, t,
            S->info.catalog_flags);
}

static void summary_line(FILE *f, const char *who, const aud_tally *t)
{
    char h[32], hu[32], hr[32];
    aud_human(t->bytes_lost, h, sizeof h);
    aud_human(t->bytes_unverified, hu, sizeof hu);
    aud_human(t->bytes_recoverable, hr, sizeof hr);
    fprintf(f, "%s: %zu files audited: %zu intact (%zu unchanged, %zu "
            "resident), %zu damaged, %zu unverified, %s (%" PRIu64 " bytes) "
            "lost, %s (%" PRIu64 " bytes) unverified, %zu recoverable (%s)",
            who, t->files, t->intact, t->unchanged, t->resident, t->damaged,
            t->unverified, h, t->bytes_lost, hu, t->bytes_unverified,
            t->recoverable, hr);
    if (t->errors)
        fprintf(f, ", %zu unreadable", t->errors);
    if (t->walk_errors)
        fprintf(f, ", %zu directories or records could not be read",
                t->walk_errors);
    fputc('\n', f);
}

/* A file byte range not preserved, as every report shows it: the
 * audit's (vss_audit_range: with what the stale bytes' clusters hold now)
 * and the diff's (vss_lost_range: without). */
typedef struct np_range {
    uint64_t offset, length;
    vss_class cls;
    vss_reason reason;
    int store_index;
    int has_source;
    vss_stale_source source;
} np_range;

static np_range np_audit(const vss_audit_range *g)
{
    np_range n = {g->offset, g->length, g->cls, g->reason, g->store_index,
                  1, g->source};
    return n;
}

static np_range np_diff(const vss_lost_range *g)
{
    np_range n = {g->offset, g->length, g->cls, g->reason, g->store_index,
                  0, VSS_STALE_NONE};
    return n;
}

/* "          lost 0-40960 (40960 bytes): zero (not-in-use)\n" */
static void np_text(FILE *f, const char *lead, const np_range *g)
{
    fprintf(f, "%s%s %" PRIu64 "-%" PRIu64 " (%" PRIu64 " bytes): %s (%s",
            lead, g->cls == VSS_CLASS_ZERO ? "lost" : "unverified", g->offset,
            g->offset + g->length, g->length, vss_class_name(g->cls),
            vss_reason_name(g->reason));
    if (g->store_index > 0)
        fprintf(f, ", from the newer store of snapshot %d", g->store_index);
    fputc(')', f);
    if (g->has_source && g->cls == VSS_CLASS_STALE)
        fprintf(f, ", source %s", vss_stale_source_name(g->source));
    fputc('\n', f);
}

static void np_json(json *j, const np_range *g)
{
    json_object(j);
    json_key_u64(j, "offset", g->offset);
    json_key_u64(j, "end", g->offset + g->length);
    json_key_u64(j, "length", g->length);
    json_key_string(j, "class", vss_class_name(g->cls));
    json_key_string(j, "reason", vss_reason_name(g->reason));
    if (g->store_index > 0)
        json_key_i64(j, "store", g->store_index);
    if (g->has_source && g->cls == VSS_CLASS_STALE)
        json_key_string(j, "source", vss_stale_source_name(g->source));
    json_end_object(j);
}

/* START-END:class/reason[/source], ';' between ranges */
static void np_csv(FILE *f, size_t d, const np_range *g)
{
    fprintf(f, "%s%" PRIu64 "-%" PRIu64 ":%s/%s", d ? ";" : "", g->offset,
            g->offset + g->length, vss_class_name(g->cls),
            vss_reason_name(g->reason));
    if (g->has_source && g->cls == VSS_CLASS_STALE)
        fprintf(f, "/%s", vss_stale_source_name(g->source));
}

static void np_html(FILE *f, const np_range *g)
{
    fprintf(f, "<br><code>%" PRIu64 "-%" PRIu64 "</code> %s <span "
            "class=muted>(%s%s", g->offset, g->offset + g->length,
            vss_class_name(g->cls), vss_reason_name(g->reason),
            g->store_index > 0 ? ", newer store" : "");
    if (g->has_source && g->cls == VSS_CLASS_STALE)
        fprintf(f, ", source %s", vss_stale_source_name(g->source));
    fputs(")</span>", f);
}

void aud_report_text(FILE *f, const aud_run *r)
{
    size_t i, k, pw = 4;
    aud_tally all = {0};
    int a0 = r->alg[0];
    char hash[65], name[16];

    snprintf(name, sizeof name, "%s", vss_hash_name(a0));
    for (i = 0; name[i]; i++)
        name[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32
                                                           : name[i]);
    fprintf(f, "Statuses: damaged = some bytes read as zeros (lost for "
            "sure); unverified = Windows returns bytes the snapshot did not "
            "preserve (stale); %s.\n", RANGES_NOTE);
    head_text(f, r); /* after the line that says how to read it */
    for (i = 0; i < r->nsnaps; i++) {
        const aud_snapshot *S = &r->snaps[i];
        snapshot_title(f, r, S);
        if (!S->opened) {
            fprintf(f, "Snapshot %d could not be read: %s\n\n", S->index,
                    S->error);
            continue;
        }
        (void)pw;
        fprintf(f, "%-10s %14s %14s %14s %14s %-14s %-7s %-*s %s\n",
                "STATUS", "RECORD-SEQ", "SIZE", "LOST", "UNVERIFIED", "LIVE",
                "RECOVER", (int)vss_hash_length(a0) * 2, name, "PATH");
        for (k = 0; k < S->nres; k++) {
            const aud_result *x = &S->res[k];
            char rs[32];
            snprintf(rs, sizeof rs, "%" PRIu64 "-%u", x->file->record,
                     (unsigned)x->file->sequence);
            if (x->status == VSS_STATUS_ERROR)
                strcpy(hash, "-");
            else
                hexd(r, &x->digests, a0, hash);
            fprintf(f, "%-10s %14s %14" PRIu64 " %14" PRIu64 " %14" PRIu64
                    " %-14s %-7s %-*s %s\n",
                    vss_status_name(x->status), rs, x->file->size,
                    x->lost_zero, x->lost_stale,
                    x->status == VSS_STATUS_ERROR ? "-" : live_word(x),
                    x->recoverable < 0 ? "-" : x->recoverable ? "yes" : "no",
                    (int)vss_hash_length(a0) * 2, hash, x->file->path);
            if (x->status == VSS_STATUS_ERROR) {
                fprintf(f, "          error: %s\n", x->error);
                continue;
            }
            for (size_t d = 0; d < x->lost_count && d < MAX_RANGES_TEXT; d++) {
                np_range g = np_audit(&x->lost[d]);
                np_text(f, "          ", &g);
            }
            if (x->lost_count > MAX_RANGES_TEXT)
                fprintf(f, "          ... %zu more ranges not preserved "
                        "(--json lists all)\n",
                        x->lost_count - MAX_RANGES_TEXT);
            if (x->stale_source)
                fprintf(f, "          stale source %s: %s\n",
                        vss_stale_source_name(x->stale_source),
                        x->stale_why);
            if (x->record_damaged && !x->lost_count)
                fprintf(f, "          note: the MFT record was not fully "
                        "preserved: its metadata may not be the snapshot's\n");
            if (x->live_state == VSS_LIVE_SAME && x->live &&
                strcmp(x->live->path, x->file->path) != 0)
                fprintf(f, "          live path: %s\n", x->live->path);
            if (x->has_live && !x->match) {
                hexd(r, &x->live_digests, a0, hash);
                fprintf(f, "          live %s %s\n", vss_hash_name(a0), hash);
            }
            if (x->recoverable == 1 && x->has_recovered) {
                hexd(r, &x->recovered, a0, hash);
                fprintf(f, "          recovered %s %s (snapshot bytes + live "
                        "bytes in the gaps)%s\n", vss_hash_name(a0), hash,
                        x->has_live && aud_digests_equal(r, &x->recovered,
                                                          &x->live_digests)
                            ? ", identical to live" : "");
            } else if (x->recoverable == 0) {
                fprintf(f, "          not recoverable: %s\n", x->why);
            }
            if (r->o->blocks && x->block_snap && x->block_live) {
                size_t nb = x->block_count;
                char hs[65], hl[65];
                for (size_t b = 0; b < nb; b++) {
                    int kind = aud_block_kind(r, x, b);
                    if (b < x->block_snap_count)
                        aud_hex(x->block_snap + b * r->blen, r->blen, hs);
                    else
                        strcpy(hs, "-");
                    if (b < x->block_live_count)
                        aud_hex(x->block_live + b * r->blen, r->blen, hl);
                    else
                        strcpy(hl, "-");
                    fprintf(f, "          block %6zu @%-12" PRIu64
                            " %-13s snapshot %s live %s\n",
                            b, (uint64_t)b * BS, vss_block_kind_name(kind),
                            hs, hl);
                }
            }
        }
        {
            char who[32];
            snprintf(who, sizeof who, "Snapshot %d", S->index);
            summary_line(f, who, &S->sum);
        }
        fputc('\n', f);
        aud_tally_add(&all, &S->sum);
    }
    if (r->nsnaps > 1)
        summary_line(f, "All snapshots", &all);
    if (r->live.errors)
        fprintf(f, "Live volume: %zu directories or records could not be "
                "read (their files' live state: unreadable)\n",
                r->live.errors);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_digests(json *j, const aud_run *r, const aud_digests *d)
{
    char h[65];
    int i;
    json_object(j);
    for (i = 0; i < r->nalg; i++) {
        json_key(j, vss_hash_name(r->alg[i]));
        hexd(r, d, r->alg[i], h);
        json_string(j, h);
    }
    json_end_object(j);
}

static void json_time(json *j, const char *k, uint64_t ft)
{
    char t[32];
    vss_filetime_format(ft, t);
    json_key_string(j, k, t);
}

static void json_summary(json *j, const aud_tally *t)
{
    json_object(j);
    json_key_u64(j, "files", t->files);
    json_key_u64(j, "intact", t->intact);
    json_key_u64(j, "unchanged", t->unchanged);
    json_key_u64(j, "resident", t->resident);
    json_key_u64(j, "damaged", t->damaged);
    json_key_u64(j, "unverified", t->unverified);
    json_key_u64(j, "errors", t->errors);
    json_key_u64(j, "walk_errors", t->walk_errors);
    json_key_u64(j, "bytes_lost", t->bytes_lost);
    json_key_u64(j, "bytes_unverified", t->bytes_unverified);
    json_key_u64(j, "recoverable", t->recoverable);
    json_key_u64(j, "bytes_recoverable", t->bytes_recoverable);
    json_end_object(j);
}

static void json_result(json *j, const aud_run *r, const aud_result *x)
{
    size_t d;
    static const char *const cn[5] = {"store", "live", "zero", "stale",
                                      "none"};
    json_object(j);
    json_key_string(j, "path", x->file->path);
    json_key_u64(j, "record", x->file->record);
    json_key_u64(j, "sequence", x->file->sequence);
    json_key_u64(j, "size", x->file->size);
    json_key_string(j, "status", vss_status_name(x->status));
    if (x->status == VSS_STATUS_ERROR) {
        json_key_string(j, "error", x->error);
        json_end_object(j);
        return;
    }
    json_key_bool(j, "resident", x->file->resident);
    json_key_u64(j, "names", x->file->names);
    json_time(j, "modified", x->file->mtime);
    json_time(j, "mft_changed", x->file->ctime);
    json_key_bool(j, "record_damaged", x->record_damaged);
    json_key(j, "provenance");
    json_object(j);
    for (d = 0; d < 5; d++) {
        json_key_u64(j, cn[d], x->bytes[d]);
    }
    json_end_object(j);
    json_key_u64(j, "bytes_lost", x->lost_zero);
    json_key_u64(j, "bytes_unverified", x->lost_stale);
    json_key(j, "not_preserved");
    json_array(j);
    for (d = 0; d < x->lost_count; d++) {
        np_range g = np_audit(&x->lost[d]);
        np_json(j, &g);
    }
    json_end_array(j);
    json_key(j, "stale_source");
    if (x->stale_source)
        json_string(j, vss_stale_source_name(x->stale_source));
    else
        json_null(j);
    json_key(j, "stale_source_reason");
    if (x->stale_source)
        json_string(j, x->stale_why);
    else
        json_null(j);
    json_key(j, "hashes");
    json_digests(j, r, &x->digests);
    json_key(j, "live");
    json_object(j);
    json_key_string(j, "state", live_word(x));
    if (x->live) {
        json_key_string(j, "path", x->live->path);
        json_key_u64(j, "record", x->live->record);
        json_key_u64(j, "sequence", x->live->sequence);
        if (x->live_state == VSS_LIVE_SAME) {
            json_key_u64(j, "size", x->live->size);
            json_time(j, "modified", x->live->mtime);
            json_time(j, "mft_changed", x->live->ctime);
        }
    }
    if (x->has_live) {
        json_key(j, "hashes");
        json_digests(j, r, &x->live_digests);
    }
    json_end_object(j);
    json_key(j, "matches_live");
    if (x->has_live)
        json_bool(j, x->match);
    else
        json_null(j);
    json_key(j, "recoverable");
    if (x->recoverable < 0)
        json_null(j);
    else
        json_bool(j, x->recoverable);
    if (x->recoverable == 0) {
        json_key_string(j, "not_recoverable_because", x->why);
    }
    json_key(j, "recovered_hashes");
    if (x->recoverable == 1 && x->has_recovered)
        json_digests(j, r, &x->recovered);
    else
        json_null(j);
    if (x->block_snap && x->block_live) {
        size_t nb = x->block_count, b;
        size_t counts[5] = {0};
        char h[65];
        json_key(j, "blocks");
        json_object(j);
        json_key_string(j, "hash", vss_hash_name(r->balg));
        json_key_u64(j, "size", BS);
        json_key_u64(j, "count", nb);
        json_key(j, "list");
        json_array(j);
        for (b = 0; b < nb; b++) {
            int kind = aud_block_kind(r, x, b);
            counts[kind]++;
            if (kind == VSS_BLOCK_SAME && !r->o->blocks)
                continue;
            json_object(j);
            json_key_u64(j, "index", b);
            json_key_u64(j, "offset", (uint64_t)b * BS);
            json_key_string(j, "kind", vss_block_kind_name(kind));
            json_key(j, "snapshot");
            if (b < x->block_snap_count) {
                aud_hex(x->block_snap + b * r->blen, r->blen, h);
                json_string(j, h);
            } else {
                json_null(j);
            }
            json_key(j, "live");
            if (b < x->block_live_count) {
                aud_hex(x->block_live + b * r->blen, r->blen, h);
                json_string(j, h);
            } else {
                json_null(j);
            }
            if (x->block_fill && b < x->block_snap_count &&
                kind != VSS_BLOCK_SAME) {
                json_key(j, "filled");
                aud_hex(x->block_fill + b * r->blen, r->blen, h);
                json_string(j, h);
            }
            json_end_object(j);
        }
        json_end_array(j);
        json_key(j, "kinds");
        json_object(j);
        for (b = 0; b < 5; b++) {
            json_key_u64(j, vss_block_kind_name((int)b), counts[b]);
        }
        json_end_object(j);
        json_end_object(j);
    }
    json_end_object(j);
}

static void json_head(json *j, const aud_run *r)
{
    int i;
    head_json(j, r);
    json_key_string(j, "image", r->o->image ? r->o->image : "");
    json_key_u64(j, "volume_offset", r->fv->part.offset);
    json_key(j, "hash");
    json_array(j);
    for (i = 0; i < r->nalg; i++)
        json_string(j, vss_hash_name(r->alg[i]));
    json_end_array(j);
}

void aud_report_json(FILE *f, const aud_run *r)
{
    json j;
    size_t i, k;
    aud_tally all = {0};
    json_begin(&j, f);
    json_object(&j);
    json_head(&j, r);
    json_key_string(&j, "ranges", RANGES_NOTE);
    json_key_u64(&j, "block_size", BS);
    json_key_string(&j, "block_hash", vss_hash_name(r->balg));
    json_key_string(&j, "path", r->subtree && *r->subtree ? r->subtree : "/");
    json_key_u64(&j, "live_files", r->live.n);
    json_key_u64(&j, "live_walk_errors", r->live.errors);
    json_key(&j, "snapshots");
    json_array(&j);
    for (i = 0; i < r->nsnaps; i++) {
        const aud_snapshot *S = &r->snaps[i];
        char t[32];
        json_object(&j);
        json_key_i64(&j, "snapshot", S->index);
        vss_filetime_format(S->info.creation_time, t);
        json_key_string(&j, "creation_time", t);
        json_key_u64(&j, "catalog_flags", S->info.catalog_flags);
        json_key_bool(&j, "readable", S->opened);
        if (!S->opened) {
            json_key_string(&j, "error", S->error);
        }
        json_key_u64(&j, "skipped", S->ix.skipped);
        json_key_u64(&j, "walk_errors", S->ix.errors);
        json_key(&j, "summary");
        json_summary(&j, &S->sum);
        if (S->strip_ok) {
            json_key(&j, "volume_provenance");
            json_object(&j);
            for (k = 0; k < 4; k++) {
                json_key_u64(&j, vss_class_name((vss_class)k), S->by_class[k]);
            }
            json_end_object(&j);
        }
        json_key(&j, "files");
        json_array(&j);
        for (k = 0; k < S->nres; k++)
            json_result(&j, r, &S->res[k]);
        json_end_array(&j);
        json_end_object(&j);
        aud_tally_add(&all, &S->sum);
    }
    json_end_array(&j);
    json_key(&j, "summary");
    json_summary(&j, &all);
    json_end_object(&j);
    json_finish(&j);
}

/* ---- CSV ------------------------------------------------------------------- */

void csv_str(FILE *f, const char *s)
{
    if (!s)
        return;
    /* '#' quoted too: readers that skip the "#key,value" header lines as
     * comments (pandas' comment="#") cut an unquoted field at a '#'. */
    if (strpbrk(s, ",\"\r\n#") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void aud_report_csv(FILE *f, const aud_run *r)
{
    size_t i, k, d;
    int a;
    char h[65];
    head_csv(f, r);
    /* ranges: START-END:class/reason[/source], END exclusive */
    fputs("snapshot,path,record,sequence,size,status,resident,"
          "record_damaged,bytes_lost,bytes_unverified,not_preserved_ranges,"
          "stale_source,stale_source_reason", f);
    for (a = 0; a < r->nalg; a++)
        fprintf(f, ",%s", vss_hash_name(r->alg[a]));
    fputs(",live_state,live_path", f);
    for (a = 0; a < r->nalg; a++)
        fprintf(f, ",live_%s", vss_hash_name(r->alg[a]));
    fputs(",matches_live,recoverable", f);
    for (a = 0; a < r->nalg; a++)
        fprintf(f, ",recovered_%s", vss_hash_name(r->alg[a]));
    fputs(",note\n", f);
    for (i = 0; i < r->nsnaps; i++) {
        const aud_snapshot *S = &r->snaps[i];
        for (k = 0; k < S->nres; k++) {
            const aud_result *x = &S->res[k];
            fprintf(f, "%d,", S->index);
            csv_str(f, x->file->path);
            fprintf(f, ",%" PRIu64 ",%u,%" PRIu64 ",%s,%d,%d,%" PRIu64
                    ",%" PRIu64 ",", x->file->record,
                    (unsigned)x->file->sequence, x->file->size,
                    vss_status_name(x->status), x->file->resident,
                    x->record_damaged, x->lost_zero, x->lost_stale);
            for (d = 0; d < x->lost_count; d++) {
                np_range g = np_audit(&x->lost[d]);
                np_csv(f, d, &g);
            }
            fprintf(f, ",%s,", vss_stale_source_name(x->stale_source));
            csv_str(f, x->stale_why);
            for (a = 0; a < r->nalg; a++) {
                fputc(',', f);
                if (x->status != VSS_STATUS_ERROR) {
                    hexd(r, &x->digests, r->alg[a], h);
                    fputs(h, f);
                }
            }
            fprintf(f, ",%s,", x->status == VSS_STATUS_ERROR ? "" : live_word(x));
            if (x->live)
                csv_str(f, x->live->path);
            for (a = 0; a < r->nalg; a++) {
                fputc(',', f);
                if (x->has_live) {
                    hexd(r, &x->live_digests, r->alg[a], h);
                    fputs(h, f);
                }
            }
            fprintf(f, ",%s,%s", x->has_live ? (x->match ? "yes" : "no") : "",
                    x->recoverable < 0 ? "" : x->recoverable ? "yes" : "no");
            for (a = 0; a < r->nalg; a++) {
                fputc(',', f);
                if (x->recoverable == 1 && x->has_recovered) {
                    hexd(r, &x->recovered, r->alg[a], h);
                    fputs(h, f);
                }
            }
            fputc(',', f);
            csv_str(f, x->status == VSS_STATUS_ERROR ? x->error
                       : x->recoverable == 0 ? x->why : "");
            fputc('\n', f);
        }
    }
}

/* ---- --diff ---------------------------------------------------------------- */

static const char *diff_kind(int k)
{
    static const char *const n[] = {"added", "deleted", "modified",
                                    "renamed", "renamed+modified",
                                    "unchanged", "undetermined",
                                    "renamed+undetermined"};
    return k >= 0 && k <= VSS_DIFF_RENAMED_UNDETERMINED ? n[k] : "?";
}

static void side_name(int n, char *out, size_t outsz)
{
    if (n)
        snprintf(out, outsz, "snapshot %d", n);
    else
        snprintf(out, outsz, "live");
}

/* The summary's counts: a renamed file also counts as modified or
 * undetermined when its content is. */
typedef struct diff_tally {
    size_t added, deleted, modified, renamed, undetermined, unchanged;
} diff_tally;

static diff_tally diff_counts(const aud_run *r)
{
    diff_tally t = {0, 0, 0, 0, 0, r->diff_unchanged};
    size_t i;
    for (i = 0; i < r->ndiff; i++) {
        vss_diff_kind k = r->diff[i].kind;
        t.added += k == VSS_DIFF_ADDED;
        t.deleted += k == VSS_DIFF_DELETED;
        t.modified += k == VSS_DIFF_MODIFIED ||
                      k == VSS_DIFF_RENAMED_MODIFIED;
        t.renamed += k == VSS_DIFF_RENAMED ||
                     k == VSS_DIFF_RENAMED_MODIFIED ||
                     k == VSS_DIFF_RENAMED_UNDETERMINED;
        t.undetermined += k == VSS_DIFF_UNDETERMINED ||
                          k == VSS_DIFF_RENAMED_UNDETERMINED;
    }
    return t;
}

/* The ranges one side of a --diff change did not preserve, under its
 * line: "          A: lost 0-92160 (92160 bytes): zero (not-in-use)". */
static void diff_side_ranges_text(FILE *f, const char *side,
                                  const vss_lost_range *l, size_t n)
{
    char lead[32];
    size_t d;
    snprintf(lead, sizeof lead, "          %s: ", side);
    for (d = 0; d < n && d < MAX_RANGES_TEXT; d++) {
        np_range g = np_diff(&l[d]);
        np_text(f, lead, &g);
    }
    if (n > MAX_RANGES_TEXT)
        fprintf(f, "          %s: ... %zu more ranges not preserved (--json "
                "lists all)\n", side, n - MAX_RANGES_TEXT);
}

void aud_diff_text(FILE *f, const aud_run *r)
{
    size_t i;
    diff_tally c;
    char an[24], bn[24], ha[65], hb[65];
    int a0 = r->alg[0];
    head_text(f, r);
    side_name(r->diff_a, an, sizeof an);
    side_name(r->diff_b, bn, sizeof bn);
    c = diff_counts(r);
    fprintf(f, "Diff %s -> %s of %s (volume at offset %" PRIu64 ")%s%s: "
            "%zu added, %zu deleted, %zu modified, %zu renamed, %zu "
            "undetermined, %zu unchanged\n", an, bn,
            r->o->image ? r->o->image : "?", r->fv->part.offset,
            *r->subtree ? ", under " : "", r->subtree, c.added, c.deleted,
            c.modified, c.renamed, c.undetermined, c.unchanged);
    if (c.undetermined)
        fprintf(f, "undetermined: %s\n", UNDETERMINED_DIFF);
    fprintf(f, "%-20s %14s %14s %-*s %-*s %s\n", "CHANGE", "RECORD-SEQ",
            "SIZE", (int)vss_hash_length(a0) * 2, "A", (int)vss_hash_length(a0) * 2,
            "B", "PATH");
    for (i = 0; i < r->ndiff; i++) {
        const aud_diff_entry *x = &r->diff[i];
        const aud_item *it = x->b ? x->b : x->a;
        char rs[32];
        snprintf(rs, sizeof rs, "%" PRIu64 "-%u", it->record,
                 (unsigned)it->sequence);
        if (x->a)
            hexd(r, &x->da, a0, ha);
        else
            strcpy(ha, "-");
        if (x->b)
            hexd(r, &x->db, a0, hb);
        else
            strcpy(hb, "-");
        fprintf(f, "%-20s %14s %14" PRIu64 " %-*s %-*s ", diff_kind(x->kind),
                rs, it->size, (int)vss_hash_length(a0) * 2, ha,
                (int)vss_hash_length(a0) * 2, hb);
        if (x->a && x->b && strcmp(x->a->path, x->b->path) != 0)
            fprintf(f, "%s -> %s", x->a->path, x->b->path);
        else
            fputs(it->path, f);
        if (x->lost_a || x->lost_b || x->unverified_a || x->unverified_b) {
            /* zeros: lost for sure; stale: returned, not preserved */
            const char *sep = "";
            fputs("  [not preserved:", f);
            if (x->lost_a)
                fprintf(f, "%s %" PRIu64 " bytes lost (zero) in A", sep,
                        x->lost_a), sep = ";";
            if (x->unverified_a)
                fprintf(f, "%s %" PRIu64 " bytes unverified (stale) in A",
                        sep, x->unverified_a), sep = ";";
            if (x->lost_b)
                fprintf(f, "%s %" PRIu64 " bytes lost (zero) in B", sep,
                        x->lost_b), sep = ";";
            if (x->unverified_b)
                fprintf(f, "%s %" PRIu64 " bytes unverified (stale) in B",
                        sep, x->unverified_b);
            fputc(']', f);
        }
        fputc('\n', f);
        diff_side_ranges_text(f, "A", x->not_preserved_a,
                              x->not_preserved_count_a);
        diff_side_ranges_text(f, "B", x->not_preserved_b,
                              x->not_preserved_count_b);
    }
}

/* One side ("a" or "b") of a --diff change; nothing when the file is not
 * on that side. */
static void json_diff_side(json *j, const aud_run *r, const char *key,
                           const aud_item *it, uint64_t lost,
                           uint64_t unverified, const vss_lost_range *l,
                           size_t n, const aud_digests *d)
{
    size_t k;
    if (!it)
        return;
    json_key(j, key);
    json_object(j);
    json_key_string(j, "path", it->path);
    json_key_u64(j, "size", it->size);
    json_key_u64(j, "bytes_lost", lost);
    json_key_u64(j, "bytes_unverified", unverified);
    json_key(j, "not_preserved");
    json_array(j);
    for (k = 0; k < n; k++) {
        np_range g = np_diff(&l[k]);
        np_json(j, &g);
    }
    json_end_array(j);
    json_key(j, "hashes");
    json_digests(j, r, d);
    json_end_object(j);
}

void aud_diff_json(FILE *f, const aud_run *r)
{
    json j;
    size_t i;
    diff_tally c = diff_counts(r);
    json_begin(&j, f);
    json_object(&j);
    json_head(&j, r);
    json_key_string(&j, "path", *r->subtree ? r->subtree : "/");
    json_key(&j, "a");
    if (r->diff_a)
        json_i64(&j, r->diff_a);
    else
        json_string(&j, "live");
    json_key(&j, "b");
    if (r->diff_b)
        json_i64(&j, r->diff_b);
    else
        json_string(&j, "live");
    json_key(&j, "summary");
    json_object(&j);
    json_key_u64(&j, "added", c.added);
    json_key_u64(&j, "deleted", c.deleted);
    json_key_u64(&j, "modified", c.modified);
    json_key_u64(&j, "renamed", c.renamed);
    json_key_u64(&j, "undetermined", c.undetermined);
    json_key_u64(&j, "unchanged", c.unchanged);
    json_end_object(&j);
    json_key(&j, "changes");
    json_array(&j);
    for (i = 0; i < r->ndiff; i++) {
        const aud_diff_entry *x = &r->diff[i];
        const aud_item *it = x->b ? x->b : x->a;
        json_object(&j);
        json_key_string(&j, "change", diff_kind(x->kind));
        json_key_u64(&j, "record", it->record);
        json_key_u64(&j, "sequence", it->sequence);
        json_diff_side(&j, r, "a", x->a, x->lost_a, x->unverified_a,
                       x->not_preserved_a, x->not_preserved_count_a, &x->da);
        json_diff_side(&j, r, "b", x->b, x->lost_b, x->unverified_b,
                       x->not_preserved_b, x->not_preserved_count_b, &x->db);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_finish(&j);
}

void aud_diff_csv(FILE *f, const aud_run *r)
{
    size_t i, k;
    int a;
    char h[65];
    head_csv(f, r);
    fputs("change,record,sequence,path_a,path_b,size_a,size_b,lost_a,lost_b,"
          "unverified_a,unverified_b", f);
    for (a = 0; a < r->nalg; a++)
        fprintf(f, ",a_%s", vss_hash_name(r->alg[a]));
    for (a = 0; a < r->nalg; a++)
        fprintf(f, ",b_%s", vss_hash_name(r->alg[a]));
    /* last, so that the columns before keep their places */
    fputs(",not_preserved_a,not_preserved_b\n", f);
    for (i = 0; i < r->ndiff; i++) {
        const aud_diff_entry *x = &r->diff[i];
        const aud_item *it = x->b ? x->b : x->a;
        fprintf(f, "%s,%" PRIu64 ",%u,", diff_kind(x->kind), it->record,
                (unsigned)it->sequence);
        if (x->a)
            csv_str(f, x->a->path);
        fputc(',', f);
        if (x->b)
            csv_str(f, x->b->path);
        fputc(',', f);
        if (x->a)
            fprintf(f, "%" PRIu64, x->a->size);
        fputc(',', f);
        if (x->b)
            fprintf(f, "%" PRIu64, x->b->size);
        fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
                x->lost_a, x->lost_b, x->unverified_a, x->unverified_b);
        for (a = 0; a < r->nalg; a++) {
            fputc(',', f);
            if (x->a) {
                hexd(r, &x->da, r->alg[a], h);
                fputs(h, f);
            }
        }
        for (a = 0; a < r->nalg; a++) {
            fputc(',', f);
            if (x->b) {
                hexd(r, &x->db, r->alg[a], h);
                fputs(h, f);
            }
        }
        fputc(',', f);
        for (k = 0; k < x->not_preserved_count_a; k++) {
            np_range g = np_diff(&x->not_preserved_a[k]);
            np_csv(f, k, &g);
        }
        fputc(',', f);
        for (k = 0; k < x->not_preserved_count_b; k++) {
            np_range g = np_diff(&x->not_preserved_b[k]);
            np_csv(f, k, &g);
        }
        fputc('\n', f);
    }
}

/* ---- HTML ------------------------------------------------------------------ */

/* Heights of the four classes in one column, rounded so that columns of
 * the same make-up compare equal. */
static void bucket_heights(const aud_snapshot *S, size_t b, int H,
                           double hh[4])
{
    uint64_t tot = S->strip[b][0] + S->strip[b][1] + S->strip[b][2] +
                   S->strip[b][3];
    int c;
    for (c = 0; c < 4; c++)
        hh[c] = tot ? (double)(long)((double)S->strip[b][c] * H * 100.0 /
                                     (double)tot + 0.5) / 100.0
                    : 0;
}

static void html_strip(FILE *f, const aud_snapshot *S)
{
    const int W = 1000, H = 36;
    size_t b, nb = 0;
    uint64_t size = S->size;
    char h[4][32];
    for (b = 0; b < VSS_AUDIT_STRIP; b++)
        if (S->strip[b][0] + S->strip[b][1] + S->strip[b][2] +
            S->strip[b][3])
            nb = b + 1;
    fprintf(f, "<svg class=\"strip\" viewBox=\"0 0 %d %d\" "
            "preserveAspectRatio=\"none\" role=\"img\" aria-label=\"provenance "
            "of snapshot %d\">\n", W, H, S->index);
    /* zero and stale on top: lost bytes catch the eye. Columns of the
     * same make-up are drawn as one rectangle per class. */
    for (b = 0; b < nb;) {
        static const int order[4] = {2, 3, 0, 1};
        double hh[4], y = 0, x, w;
        size_t e;
        int k;
        bucket_heights(S, b, H, hh);
        for (e = b + 1; e < nb; e++) {
            double h2[4];
            bucket_heights(S, e, H, h2);
            if (memcmp(hh, h2, sizeof hh) != 0)
                break;
        }
        x = (double)b * W / (double)nb;
        w = (double)(e - b) * W / (double)nb;
        for (k = 0; k < 4; k++) {
            int c = order[k];
            if (hh[c] <= 0)
                continue;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.2f\" width=\"%.1f\" "
                    "height=\"%.2f\" fill=\"%s\"/>", x, y, w + 0.05, hh[c],
                    class_colour[c]);
            y += hh[c];
        }
        b = e;
    }
    fprintf(f, "\n</svg>\n");
    for (b = 0; b < 4; b++)
        aud_human(S->by_class[b], h[b], sizeof h[b]);
    fprintf(f, "<p class=\"legend\">volume 0 &rarr; %" PRIu64 " bytes, %" PRIu64
            " bytes per column. ", size, S->strip_width);
    for (b = 0; b < 4; b++)
        fprintf(f, "<span><i style=\"background:%s\"></i>%s %s</span> ",
                class_colour[b], vss_class_name((vss_class)b), h[b]);
    fputs("</p>\n", f);
}

/* The damaged ranges of a file along its length. */
static void html_file_bar(FILE *f, const aud_result *x)
{
    const int W = 240, H = 12;
    size_t d;
    fprintf(f, "<svg class=\"fbar\" viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\"><rect width=\"%d\" height=\"%d\" fill=\"%s\"/>",
            W, H, W, H, W, H, class_colour[0]);
    for (d = 0; d < x->lost_count && x->file->size; d++) {
        double a = (double)x->lost[d].offset * W / (double)x->file->size;
        double w = (double)x->lost[d].length * W / (double)x->file->size;
        if (w < 0.5)
            w = 0.5;
        fprintf(f, "<rect x=\"%.2f\" width=\"%.2f\" height=\"%d\" "
                "fill=\"%s\"/>", a, w, H,
                class_colour[(unsigned)x->lost[d].cls < 4 ? x->lost[d].cls
                                                           : 2]);
    }
    fputs("</svg>", f);
}

static void html_hash(FILE *f, const aud_run *r, const aud_digests *d)
{
    char h[65];
    int a;
    for (a = 0; a < r->nalg; a++) {
        hexd(r, d, r->alg[a], h);
        fprintf(f, "%s<span class=\"alg\">%s</span>&nbsp;<code>%s</code>",
                a ? " &nbsp; " : "", vss_hash_name(r->alg[a]), h);
    }
}

int aud_report_html(const char *path, const aud_run *r)
{
    FILE *f = html_create(path, r->o->force);
    size_t i, k;
    char t[32], h[32];
    if (!f)
        return 1;
    html_begin(f, "audit", r->o->meta ? r->o->meta->case_id : NULL);
    fputs("<p class=\"muted\">", f);
    html_esc(f, r->o->image);
    fprintf(f, ", volume at offset %" PRIu64 " &middot; vssinfo %s &middot; "
            "hashes: ", r->fv->part.offset, VSS_VERSION_STRING);
    for (i = 0; i < (size_t)r->nalg; i++)
        fprintf(f, "%s%s", i ? ", " : "", vss_hash_name(r->alg[i]));
    fputs("</p>\n", f);
    head_html(f, r);
    fputs("<p>What each snapshot really preserved, file by file. "
          "<b>intact</b>: every byte from a shadow copy store or unchanged "
          "live data; <b>unchanged</b>: intact and identical to the live "
          "file; <b>resident</b>: data inside its MFT record, which was "
          "preserved; <b>damaged</b>: some bytes were not preserved and "
          "Windows returns them as zeros: lost for sure; <b>unverified</b>: "
          "no byte lost, but some were not preserved and Windows returns "
          "them from today's volume or a newer snapshot (<i>stale</i>): not "
          "evidence of the snapshot, and their <b>stale source</b> says what "
          "those clusters hold now &mdash; <i>same-file</i> (the same file, "
          "not modified since the snapshot: very likely the snapshot's "
          "bytes), <i>same-file-changed</i>, <i>other-file</i> or "
          "<i>free</i> (the bytes prove nothing). <b>Recoverable</b>: the "
          "live file is the same file (MFT record and sequence), not "
          "modified since the snapshot, with the lost bytes at the same "
          "clusters. File byte ranges are <code>START-END</code> with END "
          "exclusive (half-open).</p>\n", f);

    fputs("<h2>Summary</h2>\n<table><thead><tr><th>snapshot</th><th>created "
          "(UTC)</th><th>catalog flags</th><th>files</th><th>intact</th>"
          "<th>unchanged</th><th>resident</th><th>damaged</th><th>"
          "unverified</th><th>bytes lost</th><th>bytes unverified</th><th>"
          "recoverable</th><th>unreadable</th></tr></thead>\n", f);
    for (i = 0; i < r->nsnaps; i++) {
        const aud_snapshot *S = &r->snaps[i];
        char hu[32];
        vss_filetime_format(S->info.creation_time, t);
        aud_human(S->sum.bytes_lost, h, sizeof h);
        aud_human(S->sum.bytes_unverified, hu, sizeof hu);
        fprintf(f, "<tr><td><a href=\"#s%d\">%d</a></td><td><code>%s</code>"
                "</td><td>0x%" PRIx64 "</td><td class=n>%zu</td><td class=n>%zu</td><td "
                "class=n>%zu</td><td class=n>%zu</td><td class=n>%zu</td><td "
                "class=n>%zu</td><td class=n>%s</td><td class=n>%s</td><td "
                "class=n>%zu</td><td class=n>%zu</td></tr>\n", S->index,
                S->index, t, S->info.catalog_flags, S->sum.files,
                S->sum.intact, S->sum.unchanged, S->sum.resident,
                S->sum.damaged, S->sum.unverified, h, hu,
                S->sum.recoverable, S->sum.errors + S->sum.walk_errors);
    }
    fputs("</table>\n<div class=summary-end></div>\n", f);

    for (i = 0; i < r->nsnaps; i++) {
        const aud_snapshot *S = &r->snaps[i];
        size_t nd = 0;
        vss_filetime_format(S->info.creation_time, t);
        fprintf(f, "<h2 id=\"s%d\">Snapshot %d &middot; %s</h2>\n", S->index,
                S->index, t);
        if (!S->opened) {
            fputs("<p>could not be read: ", f);
            html_esc(f, S->error);
            fputs("</p>\n", f);
            continue;
        }
        if (S->strip_ok) {
            fputs("<p>Where the snapshot's bytes come from, along the "
                  "volume (free space is not preserved either: it reads as "
                  "zeros, or as today's data without catalog flag "
                  "0x400):</p>\n", f);
            html_strip(f, S);
        }
        for (k = 0; k < S->nres; k++)
            nd += S->res[k].status == VSS_STATUS_DAMAGED ||
                  S->res[k].status == VSS_STATUS_UNVERIFIED ||
                  S->res[k].status == VSS_STATUS_ERROR;
        if (!nd) {
            fputs("<p>No damaged, unverified or unreadable file.</p>\n", f);
        } else {
            fprintf(f, "<p>%zu damaged, unverified or unreadable file%s:</p>"
                    "\n<table class=dmg><thead><tr><th>status</th><th>path</th>"
                    "<th>record-seq</th><th>size</th><th>bytes lost</th><th>"
                    "bytes unverified</th><th>where (file bytes, END "
                    "exclusive)</th><th>live file</th><th>recovery</th></tr>"
                    "</thead>\n", nd,
                    nd == 1 ? "" : "s");
            for (k = 0; k < S->nres; k++) {
                const aud_result *x = &S->res[k];
                if (x->status != VSS_STATUS_DAMAGED &&
                    x->status != VSS_STATUS_UNVERIFIED && x->status != VSS_STATUS_ERROR)
                    continue;
                fprintf(f, "<tr class=top><td><span class=\"st %s\">%s"
                        "</span></td><td><b>", vss_status_name(x->status),
                        vss_status_name(x->status));
                html_esc(f, x->file->path);
                fprintf(f, "</b></td><td class=n>%" PRIu64 "-%u</td><td "
                        "class=n>%" PRIu64 "</td><td class=n>%" PRIu64
                        "</td><td class=n>%" PRIu64 "</td><td>",
                        x->file->record, (unsigned)x->file->sequence,
                        x->file->size, x->lost_zero, x->lost_stale);
                if (x->status == VSS_STATUS_ERROR) {
                    html_esc(f, x->error);
                    fputs("</td><td></td><td></td></tr>\n", f);
                    continue;
                }
                html_file_bar(f, x);
                for (size_t d = 0; d < x->lost_count && d < 4; d++) {
                    np_range g = np_audit(&x->lost[d]);
                    np_html(f, &g);
                }
                if (x->lost_count > 4)
                    fprintf(f, "<br>&hellip; %zu more", x->lost_count - 4);
                fputs("</td><td>", f);
                fputs(live_word(x), f);
                fputs("</td><td>", f);
                if (x->recoverable == 1 && x->has_recovered)
                    fputs("<span class=yes>recoverable</span>", f);
                else {
                    fputs("<span class=no>no</span>: ", f);
                    html_esc(f, x->why ? x->why : "");
                }
                fputs("</td></tr>\n<tr><td colspan=9 class=hashes><table>",
                      f);
                if (x->stale_source) {
                    fprintf(f, "<tr><td>stale source</td><td><b>%s</b>: ",
                            vss_stale_source_name(x->stale_source));
                    html_esc(f, x->stale_why);
                    fputs("</td></tr>", f);
                }
                fputs("<tr><td>as Windows returns it</td><td>", f);
                html_hash(f, r, &x->digests);
                fputs("</td></tr>", f);
                if (x->has_live) {
                    fputs("<tr><td>live</td><td>", f);
                    html_hash(f, r, &x->live_digests);
                    fputs("</td></tr>", f);
                }
                if (x->recoverable == 1 && x->has_recovered) {
                    fputs("<tr><td>recovered (live bytes in the gaps)</td>"
                          "<td>", f);
                    html_hash(f, r, &x->recovered);
                    fputs("</td></tr>", f);
                }
                fputs("</table></td></tr>\n", f);
            }
            fputs("</table>\n", f);
        }
        fprintf(f, "<details><summary>All %zu files of snapshot %d</summary>"
                "\n<table><thead><tr><th>status</th><th>path</th><th>"
                "record-seq</th><th>size</th><th>live</th><th>%s</th></tr>"
                "</thead>\n", S->nres,
                S->index, vss_hash_name(r->alg[0]));
        for (k = 0; k < S->nres; k++) {
            const aud_result *x = &S->res[k];
            char hh[65];
            if (x->status == VSS_STATUS_ERROR)
                strcpy(hh, "-");
            else
                hexd(r, &x->digests, r->alg[0], hh);
            fprintf(f, "<tr><td><span class=\"st %s\">%s</span></td><td>",
                    vss_status_name(x->status), vss_status_name(x->status));
            html_esc(f, x->file->path);
            fprintf(f, "</td><td class=n>%" PRIu64 "-%u</td><td class=n>%"
                    PRIu64 "</td><td>%s</td><td><code>%s</code></td></tr>\n",
                    x->file->record, (unsigned)x->file->sequence,
                    x->file->size,
                    x->status == VSS_STATUS_ERROR ? "-" : live_word(x), hh);
        }
        fputs("</table></details>\n", f);
    }
    return html_finish(f, path, "--audit");
}

/* ---- --diff as HTML ------------------------------------------------------- */

/* One side of the diff in words, with its creation time for a snapshot. */
static void html_side(FILE *f, const aud_run *r, int side)
{
    vss_snapshot_info si;
    char t[32];
    if (!side) {
        fputs("the live volume", f);
        return;
    }
    fprintf(f, "snapshot %d", side);
    if (r->fv->vol &&
        vss_volume_snapshot_info(r->fv->vol, side, &si, NULL) == 0) {
        vss_filetime_format(si.creation_time, t);
        fprintf(f, ", created <code>%s</code>", t);
    }
}

/* What a side did not preserve, as the badges of the audit's statuses:
 * zeros are lost for sure (damaged), stale bytes are Windows' but not the
 * snapshot's (unverified). Returns whether anything was written. */
static int html_not_preserved(FILE *f, const char *side, uint64_t lost,
                              uint64_t unverified, const vss_lost_range *l,
                              size_t n, int sep)
{
    size_t d;
    if (lost)
        fprintf(f, "%s<span class=\"st damaged\">%s: %" PRIu64 " bytes "
                "lost (zero)</span>", sep++ ? "<br>" : "", side, lost);
    if (unverified)
        fprintf(f, "%s<span class=\"st unverified\">%s: %" PRIu64
                " bytes unverified (stale)</span>", sep++ ? "<br>" : "",
                side, unverified);
    for (d = 0; d < n && d < 4; d++) {
        np_range g = np_diff(&l[d]);
        np_html(f, &g);
    }
    if (n > 4)
        fprintf(f, "<br>&hellip; %zu more", n - 4);
    return sep;
}

/* The hashes of one side, saying so when they are of bytes the snapshot
 * did not preserve. */
static void html_diff_hashes(FILE *f, const aud_run *r, const char *side,
                             const aud_item *it, const aud_digests *d,
                             uint64_t lost, uint64_t unverified)
{
    if (!it)
        return;
    fprintf(f, "<tr><td>%s</td><td>", side);
    html_hash(f, r, d);
    if (lost || unverified)
        fprintf(f, " <b>of the bytes Windows returns: %" PRIu64 " of them "
                "not preserved</b>", lost + unverified);
    fputs("</td></tr>", f);
}

static void html_size_time(FILE *f, const aud_item *it)
{
    char t[32];
    if (!it) {
        fputs("<td class=n>-</td><td>-</td>", f);
        return;
    }
    vss_filetime_format(it->mtime, t);
    fprintf(f, "<td class=n>%" PRIu64 "</td><td><code>%s</code></td>",
            it->size, t);
}

int aud_diff_html(const char *path, const aud_run *r)
{
    FILE *f = html_create(path, r->o->force);
    size_t i, np_a = 0, np_b = 0;
    diff_tally c;
    int a;
    if (!f)
        return 1;
    c = diff_counts(r);
    for (i = 0; i < r->ndiff; i++) {
        np_a += r->diff[i].lost_a || r->diff[i].unverified_a;
        np_b += r->diff[i].lost_b || r->diff[i].unverified_b;
    }
    html_begin(f, "diff", r->o->meta ? r->o->meta->case_id : NULL);
    fputs("<p class=\"muted\">", f);
    html_esc(f, r->o->image);
    fprintf(f, ", volume at offset %" PRIu64 " &middot; vssinfo %s &middot; "
            "hashes: ", r->fv->part.offset, VSS_VERSION_STRING);
    for (a = 0; a < r->nalg; a++)
        fprintf(f, "%s%s", a ? ", " : "", vss_hash_name(r->alg[a]));
    fputs("</p>\n", f);
    head_html(f, r);
    fputs("<p>Every file that differs between side <b>A</b> and side "
          "<b>B</b>. <b>added</b>: only in B; <b>deleted</b>: only in A; "
          "<b>modified</b>: other content (hashes); <b>renamed</b>: the "
          "same file (MFT record and sequence) under another path. "
          "<b>Not preserved</b> names the side whose bytes the snapshot did "
          "not preserve: <span class=\"st damaged\">lost (zero)</span> "
          "Windows returns them as zeros, lost for sure; <span class=\"st "
          "unverified\">unverified (stale)</span> Windows returns today's "
          "bytes or a newer snapshot's: not evidence of the snapshot. A "
          "side's hashes are of the bytes Windows returns, those included. "
          "Sizes in bytes; <i>modified</i> is the $STANDARD_INFORMATION "
          "modification time (UTC).</p>\n", f);
    fputs("<h2>Summary</h2>\n<table class=meta><tr><th>A</th><td>", f);
    html_side(f, r, r->diff_a);
    fputs("</td></tr>\n<tr><th>B</th><td>", f);
    html_side(f, r, r->diff_b);
    fputs("</td></tr>\n<tr><th>under</th><td>", f);
    html_esc(f, *r->subtree ? r->subtree : "/");
    fputs("</td></tr>\n</table>\n", f);
    fprintf(f, "<table id=counts><thead><tr><th>added</th><th>deleted</th>"
            "<th>modified</th><th>renamed</th><th>undetermined</th><th>"
            "unchanged</th><th>with bytes not preserved in A</th><th>with "
            "bytes not preserved in B</th></tr></thead>\n<tr><td class=n>"
            "%zu</td><td class=n>%zu</td><td class=n>%zu</td><td class=n>%zu"
            "</td><td class=n>%zu</td><td class=n>%zu</td><td class=n>%zu"
            "</td><td class=n>%zu</td></tr>\n</table>\n"
            "<div class=summary-end></div>\n",
            c.added, c.deleted, c.modified, c.renamed, c.undetermined,
            c.unchanged, np_a, np_b);
    if (c.undetermined)
        fprintf(f, "<p><b>undetermined</b>: %s.</p>\n", UNDETERMINED_DIFF);
    fprintf(f, "<h2>Changes</h2>\n<p>%zu change%s.</p>\n", r->ndiff,
            r->ndiff == 1 ? "" : "s");
    if (r->ndiff)
        fputs("<table class=dmg id=changes><thead><tr><th>change</th><th>"
              "path</th><th>record-seq</th><th>size A</th><th>modified A"
              "</th><th>size B</th><th>modified B</th><th>not preserved"
              "</th></tr></thead>\n", f);
    for (i = 0; i < r->ndiff; i++) {
        const aud_diff_entry *x = &r->diff[i];
        const aud_item *it = x->b ? x->b : x->a;
        fprintf(f, "<tr class=top><td class=nw><b>%s</b></td><td>",
                diff_kind(x->kind));
        if (x->a && x->b && strcmp(x->a->path, x->b->path) != 0) {
            html_esc(f, x->a->path);
            fputs(" &rarr; ", f);
            html_esc(f, x->b->path);
        } else {
            html_esc(f, it->path);
        }
        fprintf(f, "</td><td class=n>%" PRIu64 "-%u</td>", it->record,
                (unsigned)it->sequence);
        html_size_time(f, x->a);
        html_size_time(f, x->b);
        fputs("<td>", f);
        if (!html_not_preserved(f, "B", x->lost_b, x->unverified_b,
                                x->not_preserved_b, x->not_preserved_count_b,
                                html_not_preserved(f, "A", x->lost_a,
                                                   x->unverified_a,
                                                   x->not_preserved_a,
                                                   x->not_preserved_count_a,
                                                   0)))
            fputs("<span class=muted>none</span>", f);
        fputs("</td></tr>\n<tr><td colspan=8 class=hashes><table>", f);
        html_diff_hashes(f, r, "A", x->a, &x->da, x->lost_a,
                         x->unverified_a);
        html_diff_hashes(f, r, "B", x->b, &x->db, x->lost_b,
                         x->unverified_b);
        fputs("</table></td></tr>\n", f);
    }
    if (r->ndiff)
        fputs("</table>\n", f);
    return html_finish(f, path, "--diff");
}
