/*
 * audit.c — vssinfo --audit and --diff (issue #5): the options, the
 * library's audit (vss_audit_*: libvss/src/audit/audit.c does the walking,
 * the damage and the hashing) and its results gathered for the reports
 * (audit_out.c: text, CSV, JSON, HTML).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "audit_int.h"
#include "progress.h"

#define warn cli_warn

/* ---- helpers of the reports ------------------------------------------------ */

void aud_hex(const uint8_t *p, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = h[p[i] >> 4];
        out[2 * i + 1] = h[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* What the live volume holds for the file, in every report's words. */
const char *aud_live_word(const aud_result *x)
{
    return x->live_word;
}

/* qsort, which must not be handed a NULL array even with no element (an
 * empty list has none: C says undefined, UBSan aborts). */
void aud_sort(void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

int aud_block_kind(const aud_run *r, const aud_result *x, size_t i)
{
    (void)r;
    return x->block_kinds ? x->block_kinds[i] : VSS_BLOCK_SAME;
}

void aud_human(uint64_t b, char *out, size_t outsz)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 5) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(out, outsz, "%" PRIu64 " B", b);
    else
        snprintf(out, outsz, "%.1f %s", v, u[i]);
}

/* Equal in every requested algorithm. */
int aud_digests_equal(const aud_run *r, const aud_digests *a,
                      const aud_digests *b)
{
    int i;
    for (i = 0; i < r->nalg; i++)
        if (memcmp(a->v[r->alg[i]], b->v[r->alg[i]],
                   vss_hash_length(r->alg[i])) != 0)
            return 0;
    return 1;
}

void aud_tally_add(aud_tally *to, const aud_tally *t)
{
    to->files += t->files;
    to->intact += t->intact;
    to->unchanged += t->unchanged;
    to->resident += t->resident;
    to->damaged += t->damaged;
    to->unverified += t->unverified;
    to->bytes_unverified += t->bytes_unverified;
    to->walk_errors += t->walk_errors;
    to->errors += t->errors;
    to->recoverable += t->recoverable;
    to->bytes_lost += t->bytes_lost;
    to->bytes_recoverable += t->bytes_recoverable;
}

/* ---- options ---------------------------------------------------------------- */

/* --hash LIST (default md5,sha256) into r->alg and the library's list. */
static int parse_hashes(aud_run *r, const char *spec, vss_audit_options *ao)
{
    const char *p = spec ? spec : "md5,sha256";
    unsigned seen = 0;
    r->nalg = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        int a = -1;
        if (n == 3 && strncasecmp(p, "md5", 3) == 0)
            a = VSS_HASH_MD5;
        else if ((n == 4 && strncasecmp(p, "sha1", 4) == 0) ||
                 (n == 5 && strncasecmp(p, "sha-1", 5) == 0))
            a = VSS_HASH_SHA1;
        else if ((n == 6 && strncasecmp(p, "sha256", 6) == 0) ||
                 (n == 7 && strncasecmp(p, "sha-256", 7) == 0))
            a = VSS_HASH_SHA256;
        if (a < 0)
            return -1;
        if (!(seen & (1u << a))) {
            ao->hashes[r->nalg] = (vss_hash)a;
            r->alg[r->nalg++] = a;
            seen |= 1u << a;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!r->nalg)
        return -1;
    ao->nhashes = r->nalg;
    r->balg = r->alg[0];
    r->blen = vss_hash_length(r->balg);
    return 0;
}

/* One side of --diff A:B: a snapshot number or "live" (0). */
static int parse_side(const char *s, size_t n, int count, int *out)
{
    char num[16], *end;
    unsigned long v;
    if (n == 4 && strncmp(s, "live", 4) == 0) {
        *out = 0;
        return 0;
    }
    if (!n || n >= sizeof num)
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    errno = 0;
    v = strtoul(num, &end, 10);
    if (errno || *end || num[0] == '-' || v < 1)
        return -1;
    if (v > (unsigned long)count)
        return -2;
    *out = (int)v;
    return 0;
}

/* ---- gathering the library's results -------------------------------------- */

typedef struct gather {
    aud_run *r;
    aud_snapshot *by_index;  /* [snapshot number]: results as they come */
    size_t cap_diff;
    progress bar;
    int bar_started;
    int bar_option;
    int oom;
} gather;

/* A warning gets a line of its own: the bar is erased first (and drawn
 * again by the next update). */
static void on_message(const char *text, void *user)
{
    gather *g = user;
    if (g->bar_started)
        progress_end(&g->bar);
    warn("%s", text);
}

static int on_progress(const vss_audit_progress *p, void *user)
{
    gather *g = user;
    if (!g->bar_started) {
        progress_start(&g->bar, g->bar_option, "audit", p->bytes_total);
        g->bar_started = 1;
    }
    g->bar.total = p->bytes_total;
    progress_update(&g->bar, p->bytes_done, 0);
    return 0;
}

static void *memdup(const void *p, size_t n, int *oom)
{
    void *q;
    if (!p || !n)
        return NULL;
    q = malloc(n);
    if (!q) {
        *oom = 1;
        return NULL;
    }
    return memcpy(q, p, n);
}

static char *strdup_or_oom(const char *s, int *oom)
{
    char *p = strdup(s ? s : "");
    if (!p)
        *oom = 1;
    return p;
}

/* v (capacity *cap elements of size bytes) with room for element n:
 * itself, or reallocated to double the capacity; NULL with oom set when
 * memory runs out (v is then still valid). */
static void *room_for(void *v, size_t *cap, size_t n, size_t size, int *oom)
{
    size_t nc;
    void *nv;
    if (n < *cap)
        return v;
    nc = *cap ? *cap * 2 : 64;
    nv = realloc(v, nc * size);
    if (!nv) {
        *oom = 1;
        return NULL;
    }
    *cap = nc;
    return nv;
}

/* The copies on_file made (the library's result points into memory that
 * lives only during the callback). */
static void result_free(aud_result *x)
{
    free((char *)x->error);
    free((char *)x->stale_why);
    free((void *)x->lost);
    free((void *)x->block_snap);
    free((void *)x->block_live);
    free((void *)x->block_fill);
    free((void *)x->block_kinds);
}

/* One file's result, kept: the library's own, with what it points to
 * copied (file, live, live_word and why live as long as the audit). */
static int on_file(const vss_audit_result *v, void *user)
{
    gather *g = user;
    aud_snapshot *S = &g->by_index[v->snapshot];
    aud_result *x;
    size_t blen = g->r->blen;

    x = room_for(S->res, &S->capres, S->nres, sizeof *S->res, &g->oom);
    if (!x)
        return VSS_ENOMEM;
    S->res = x;
    x = &S->res[S->nres++];
    *x = *v;
    x->error = strdup_or_oom(v->error, &g->oom);
    x->stale_why = strdup_or_oom(v->stale_why, &g->oom);
    x->lost = memdup(v->lost, v->lost_count * sizeof *v->lost, &g->oom);
    x->block_snap = memdup(v->block_snap, v->block_snap_count * blen,
                           &g->oom);
    x->block_live = memdup(v->block_live, v->block_live_count * blen,
                           &g->oom);
    x->block_fill = memdup(v->block_fill, v->block_snap_count * blen,
                           &g->oom);
    x->block_kinds = memdup(v->block_kinds, v->block_count, &g->oom);
    return g->oom ? VSS_ENOMEM : 0;
}

/* Every difference of the diff (the unchanged files are only counted). */
static int on_diff(const vss_diff_entry *d, void *user)
{
    gather *g = user;
    aud_run *r = g->r;
    aud_diff_entry *nv;
    if (d->kind == VSS_DIFF_UNCHANGED) {
        r->diff_unchanged++;
        return 0;
    }
    nv = room_for(r->diff, &g->cap_diff, r->ndiff, sizeof *r->diff, &g->oom);
    if (!nv)
        return VSS_ENOMEM;
    r->diff = nv;
    nv = &r->diff[r->ndiff++];
    *nv = *d;
    nv->error = NULL;
    nv->not_preserved_a = memdup(d->not_preserved_a, d->not_preserved_count_a *
                                 sizeof *d->not_preserved_a, &g->oom);
    nv->not_preserved_b = memdup(d->not_preserved_b, d->not_preserved_count_b *
                                 sizeof *d->not_preserved_b, &g->oom);
    if (!nv->not_preserved_a)
        nv->not_preserved_count_a = 0;
    if (!nv->not_preserved_b)
        nv->not_preserved_count_b = 0;
    return g->oom ? VSS_ENOMEM : 0;
}

static int cmp_result(const void *a, const void *b)
{
    const aud_result *x = a, *y = b;
    return strcmp(x->file->path, y->file->path);
}

static int cmp_diff(const void *a, const void *b)
{
    const aud_diff_entry *x = a, *y = b;
    const aud_item *ix = x->b ? x->b : x->a, *iy = y->b ? y->b : y->a;
    return strcmp(ix->path, iy->path);
}

/* The library's snapshot summaries and the gathered results, in the
 * selection's order, each snapshot's files sorted by path. */
static int collect(aud_run *r, gather *g, vss_audit *a)
{
    size_t i, n = vss_audit_snapshot_count(a);
    vss_audit_live_summary(a, &r->live.n, &r->live.errors);
    r->snaps = calloc(n ? n : 1, sizeof *r->snaps);
    if (!r->snaps)
        return -1;
    for (i = 0; i < n; i++) {
        const vss_audit_snapshot *p = vss_audit_snapshot_get(a, i);
        aud_snapshot *S = &r->snaps[r->nsnaps++];
        *S = g->by_index[p->index];
        memset(&g->by_index[p->index], 0, sizeof g->by_index[p->index]);
        S->index = p->index;
        S->info = p->info;
        S->opened = p->opened;
        S->error = p->error;
        S->size = p->size;
        S->ix.n = S->nres;
        S->ix.skipped = p->skipped;
        S->ix.errors = p->sum.walk_errors;
        S->sum = p->sum;
        S->strip = p->strip;
        S->strip_width = p->strip_width;
        memcpy(S->by_class, p->by_class, sizeof S->by_class);
        S->strip_ok = p->strip_ok;
        aud_sort(S->res, S->nres, sizeof *S->res, cmp_result);
    }
    return 0;
}

int audit_run(found_volume *fv, const audit_options *o)
{
    aud_run r;
    gather g;
    vss_audit_options ao;
    vss_audit_callbacks cb;
    vss_audit *a = NULL;
    vss_error e = {0};
    char *spec = NULL;
    const char *sub = "";
    size_t problems = 0, i, k;
    int count, rc = 0, lrc;

    memset(&r, 0, sizeof r);
    memset(&g, 0, sizeof g);
    memset(&ao, 0, sizeof ao);
    r.o = o;
    r.fv = fv;
    g.r = &r;
    g.bar_option = o->progress;
    if (parse_hashes(&r, o->hash, &ao))
        return warn("--hash: expected a list of md5, sha1, sha256; got '%s'",
                    o->hash) * 2;
    if (!fv->vol)
        return warn("%s", fv->open_error);
    if (fv->open_rc && !vss_volume_storage_ready(fv->vol))
        return warn("%s", fv->open_error);
    count = vss_volume_snapshot_count(fv->vol);
    if (o->diff) {
        const char *colon = strchr(o->diff, ':');
        const char *colon2 = colon ? strchr(colon + 1, ':') : NULL;
        size_t lb = colon2 ? (size_t)(colon2 - colon - 1)
                           : colon ? strlen(colon + 1) : 0;
        int pa, pb;
        if (!colon ||
            (pa = parse_side(o->diff, (size_t)(colon - o->diff), count,
                             &r.diff_a)) == -1 ||
            (pb = parse_side(colon + 1, lb, count, &r.diff_b)) == -1)
            return warn("--diff: expected A:B[:PATH] (snapshot numbers or "
                        "'live'), got '%s'", o->diff) * 2;
        if (colon2)
            sub = colon2 + 1;
        if (pa == -2 || pb == -2)
            return warn("--diff %s: the volume has %d snapshot%s", o->diff,
                        count, count == 1 ? "" : "s");
    } else {
        /* SPEC = SNAPSHOTS[:PATH] */
        const char *colon = strchr(o->audit, ':');
        size_t len = colon ? (size_t)(colon - o->audit) : strlen(o->audit);
        sub = colon ? colon + 1 : "";
        spec = strndup(o->audit, len);
        if (!spec)
            return warn("out of memory");
        ao.snapshots = spec;
        if (count == 0) {
            free(spec);
            return warn("--audit %s: the volume has 0 snapshots", o->audit);
        }
    }
    ao.path = sub;
    ao.fill = o->fill;
    ao.flags = (o->blocks || o->json ? VSS_AUDIT_BLOCKS : 0) |
               (o->system ? VSS_AUDIT_SYSTEM : 0) |
               (o->html ? VSS_AUDIT_STRIP_MAP : 0);
    lrc = vss_audit_open(fv->vol, fv->src, &ao, &a, &e);
    free(spec);
    if (lrc == VSS_EINVAL)
        return warn("--audit: expected all, N, N-M or a list of them "
                    "(then optionally :PATH), got '%s'", o->audit) * 2;
    if (lrc == VSS_ENOTFOUND)
        return warn("--audit %s: the volume has %d snapshot%s", o->audit,
                    count, count == 1 ? "" : "s");
    if (lrc)
        return warn("%s", e.message);
    /* the subtree as the reports name it: "Users" is "/Users" */
    r.subtree = *sub && *sub != '/' ? NULL : sub;
    if (!r.subtree) {
        char *s = malloc(strlen(sub) + 2);
        if (!s) {
            vss_audit_close(a);
            return warn("out of memory");
        }
        sprintf(s, "/%s", sub);
        r.subtree = s;
    }
    g.by_index = calloc((size_t)count + 1, sizeof *g.by_index);
    if (!g.by_index) {
        rc = warn("out of memory");
        goto done;
    }
    cb.file = on_file;
    cb.diff = on_diff;
    cb.progress = on_progress;
    cb.message = on_message;
    cb.user = &g;
    if (o->diff)
        lrc = vss_audit_diff(a, r.diff_a, r.diff_b, &cb, &problems, &e);
    else
        lrc = vss_audit_run(a, &cb, &problems, &e);
    if (g.bar_started)
        progress_end(&g.bar);
    if (g.oom)
        rc = warn("out of memory");
    else if (lrc)
        rc = warn("%s", e.message);
    if (rc || collect(&r, &g, a)) {
        rc = rc ? rc : warn("out of memory");
        goto done;
    }
    rc = problems ? 1 : 0;
    if (o->diff) {
        aud_sort(r.diff, r.ndiff, sizeof *r.diff, cmp_diff);
        if (o->json)
            aud_diff_json(stdout, &r);
        else if (o->csv)
            aud_diff_csv(stdout, &r);
        else
            aud_diff_text(stdout, &r);
        if (o->html && aud_diff_html(o->html, &r))
            rc = 1;
    } else {
        if (o->json)
            aud_report_json(stdout, &r);
        else if (o->csv)
            aud_report_csv(stdout, &r);
        else
            aud_report_text(stdout, &r);
        if (o->html && aud_report_html(o->html, &r))
            rc = 1;
    }
    if (fflush(stdout) || ferror(stdout))
        rc = warn("write failed");
done:
    for (i = 0; i < r.nsnaps; i++) {
        for (k = 0; k < r.snaps[i].nres; k++)
            result_free(&r.snaps[i].res[k]);
        free(r.snaps[i].res);
    }
    for (i = 0; g.by_index && i <= (size_t)count; i++) {
        for (k = 0; k < g.by_index[i].nres; k++)
            result_free(&g.by_index[i].res[k]);
        free(g.by_index[i].res);
    }
    free(g.by_index);
    free(r.snaps);
    for (i = 0; i < r.ndiff; i++) {
        free((void *)r.diff[i].not_preserved_a);
        free((void *)r.diff[i].not_preserved_b);
    }
    free(r.diff);
    if (r.subtree != sub)
        free((char *)r.subtree);
    vss_audit_close(a);
    return rc;
}
