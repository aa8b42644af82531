/*
 * test_audit_api.c — the audit engine through its C API (vss_audit_*),
 * against the generator's manifests (testimages/out, made by
 * `make -C testimages`), which know every file's content and damage
 * independently of libvss. For every single-volume scenario, all its
 * snapshots audited at once (MD5, SHA-1, SHA-256; two workers):
 *  - the files reported are exactly the manifest's (System Volume
 *    Information aside), each once, snapshot by snapshot in order;
 *  - lost ranges (merged) are the manifest's zero_ranges (catalog flag
 *    0x400) or live_ranges (0x40), no lost byte elsewhere; the verdict is
 *    DAMAGED for zeros, UNVERIFIED for stale bytes only, intact /
 *    unchanged / resident without; lost_zero + lost_stale = the ranges;
 *  - digests: without damage MD5 and SHA-256 are the manifest's true ones,
 *    SHA-1 equals OpenSSL's over vss_fs_file_read_at's bytes; with damage
 *    SHA-256 is what Windows returns (windows_sha256), except the
 *    documented newer-store case (stale bytes from a newer snapshot's
 *    store); a recoverable file's recovered SHA-256 is the true one;
 *  - one worker and two give the same results in the same order;
 *  - the tally (vss_audit_snapshot_get) adds up to the results;
 *  - the diff of consecutive snapshots against the true contents: never
 *    MODIFIED where they are equal, never UNCHANGED (or only renamed)
 *    where they differ, UNDETERMINED only with bytes not preserved, and
 *    with every byte preserved MODIFIED exactly where the Windows-view
 *    hashes differ; each side's ranges
 *    not preserved (merged) the manifest's for that snapshot, their total
 *    the side's zero + stale counts.
 * And the contract: a file callback's non-zero return cancels the run with
 * that value and no further file is reported; a progress callback is told
 * the totals, ends at files_done == files_total, and cancels likewise; a
 * live volume that is not NTFS leaves every file without live comparison
 * (said through the message callback, counted as a problem); NULL and
 * bad arguments give VSS_EINVAL / VSS_ENOTFOUND, never a crash; every
 * allocation failing in turn gives VSS_ENOMEM or error results. And
 * vss_hasher (the same digests for any stream) on the standards' vectors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"
#include "base/base.h"   /* vss_test_fail_alloc_after */
#include "ctest.h"

/* ---- the manifest, as python3 reads it -------------------------------- */

typedef struct mfile {
    int snap;
    unsigned flags;
    int resident;
    uint64_t size;
    char md5[40], sha256[80], wsha[80];
    char ranges[2048];     /* "a-b,c-d" or "-" */
    char *path;
    int seen;
} mfile;

static mfile *mf;
static size_t nmf, capmf;
static int nsnaps;

static const char *manifest_py =
    "import json,sys,os\n"
    "for mp in sys.argv[1:]:\n"
    "  m=json.load(open(mp))\n"
    "  if m.get('block_list') is None or len(m['volumes'])!=1: continue\n"
    "  v=m['volumes'][0]\n"
    "  print('S',os.path.join(os.path.dirname(mp),m['images'][v['image']]['path']),v['offset'],v['size'],len(m['snapshots']),m['scenario'])\n"
    "  for s in m['snapshots']:\n"
    "    fl=s['catalog_flags']\n"
    "    for f in s['files']:\n"
    "      r=f.get('zero_ranges',[]) if fl&0x400 else f.get('live_ranges',[]) if fl&0x40 else []\n"
    "      rs=','.join('%d-%d'%(a,b) for a,b in r) or '-'\n"
    "      print('F',s['index'],fl,int(bool(f['resident'])),f['size'],f.get('md5','-'),f.get('sha256','-'),f.get('windows_sha256') or '-',rs,f['path'])\n"
    "  print('E')\n";

static mfile *mf_find(int snap, const char *path)
{
    size_t i;
    for (i = 0; i < nmf; i++)
        if (mf[i].snap == snap && strcmp(mf[i].path, path) == 0)
            return &mf[i];
    return NULL;
}

static void mf_clear(void)
{
    size_t i;
    for (i = 0; i < nmf; i++)
        free(mf[i].path);
    nmf = 0;
}

/* ---- results gathered from the callbacks ------------------------------ */

typedef struct got {
    int snap;
    char *path;
    vss_status status;
    char ranges[2048];     /* merged, as the manifest writes them */
    uint64_t lost_zero, lost_stale, range_bytes;
    int newer_store;       /* a stale range from a newer store */
    vss_digests d, rec;
    int recoverable, has_rec;
    vss_live_state live_state;
} got;

typedef struct run {
    got *v;
    size_t n, cap;
    int cancel_after;      /* file callback: return 42 after this many */
    int calls_after_cancel;
    int progress_calls, progress_cancel;
    vss_audit_progress last;
    int messages;
    int order_ok;          /* snapshots ascending */
} run;

/* Ranges (the offset and length of element i of n, each `stride` bytes
 * apart: vss_audit_range and vss_lost_range both begin with them) merged
 * across classes into "a-b,c-d" ("-" for none), as the manifest lists
 * them; their byte total into *bytes. */
static void merged_ranges(const void *v, size_t n, size_t stride, char *out,
                          size_t outsz, uint64_t *bytes)
{
    uint64_t a = 0, b = 0;
    int open = 0;
    char *w = out;
    size_t i;
    *bytes = 0;
    for (i = 0; i < n; i++) {
        const uint64_t *x = (const uint64_t *)((const char *)v + i * stride);
        *bytes += x[1];
        if (open && x[0] <= b) {
            if (x[0] + x[1] > b)
                b = x[0] + x[1];
            continue;
        }
        if (open)
            w += sprintf(w, "%s%" PRIu64 "-%" PRIu64, w == out ? "" : ",",
                         a, b);
        a = x[0];
        b = x[0] + x[1];
        open = 1;
        if (w - out > (long)outsz - 64)
            break;
    }
    if (open)
        sprintf(w, "%s%" PRIu64 "-%" PRIu64, w == out ? "" : ",", a, b);
    else
        strcpy(out, "-");
}

static int on_file(const vss_audit_result *r, void *user)
{
    run *u = user;
    got *g;
    size_t i;
    if (u->cancel_after && (int)u->n >= u->cancel_after) {
        u->calls_after_cancel++;
        return 42;
    }
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 256;
        u->v = realloc(u->v, u->cap * sizeof *u->v);
        if (!u->v)
            abort();
    }
    if (u->n && u->v[u->n - 1].snap > r->snapshot)
        u->order_ok = 0;
    g = &u->v[u->n++];
    memset(g, 0, sizeof *g);
    g->snap = r->snapshot;
    g->path = strdup(r->file->path);
    g->status = r->status;
    g->lost_zero = r->lost_zero;
    g->lost_stale = r->lost_stale;
    g->d = r->digests;
    g->rec = r->recovered;
    g->has_rec = r->has_recovered;
    g->recoverable = r->recoverable;
    g->live_state = r->live_state;
    for (i = 0; i < r->lost_count; i++)
        if (r->lost[i].cls == VSS_CLASS_STALE &&
            r->lost[i].store_index > r->snapshot)
            g->newer_store = 1;
    merged_ranges(r->lost, r->lost_count, sizeof *r->lost, g->ranges,
                  sizeof g->ranges, &g->range_bytes);
    return 0;
}

static int on_progress(const vss_audit_progress *p, void *user)
{
    run *u = user;
    u->progress_calls++;
    u->last = *p;
    return u->progress_cancel;
}

static void on_message(const char *text, void *user)
{
    run *u = user;
    (void)text;
    u->messages++;
}

static void run_free(run *u)
{
    size_t i;
    for (i = 0; i < u->n; i++)
        free(u->v[i].path);
    free(u->v);
    memset(u, 0, sizeof *u);
}

static int audit(vss_volume *vol, vss_source *live, int threads,
                 const char *snaps, run *u, size_t *problems, vss_error *e)
{
    vss_audit_options o = {0};
    vss_audit_callbacks cb = {on_file, NULL, on_progress, on_message, u};
    vss_audit *a;
    int rc;
    o.snapshots = snaps;
    o.hashes[0] = VSS_HASH_MD5;
    o.hashes[1] = VSS_HASH_SHA1;
    o.hashes[2] = VSS_HASH_SHA256;
    o.nhashes = 3;
    o.threads = threads;
    u->order_ok = 1;
    if ((rc = vss_audit_open(vol, live, &o, &a, e)))
        return rc;
    rc = vss_audit_run(a, &cb, problems, e);
    vss_audit_close(a);
    return rc;
}

/* SHA-1 of a snapshot's file as the file API reads it. */
static int sha1_of(vss_volume *vol, int snap, const char *path, char *out)
{
    vss_snapshot *s = NULL;
    vss_source *src = NULL;
    vss_fs *fs = NULL;
    vss_fs_file *f = NULL;
    vss_error e;
    int rc = -1;
    if (vss_snapshot_open(vol, snap, VSS_FILL_WINDOWS, &s, &e) ||
        vss_snapshot_source(s, &src, &e) || vss_fs_open(src, &fs, &e) ||
        vss_fs_file_open(fs, path, &f, &e))
        goto out;
    rc = ct_stream_digest(f, EVP_sha1(), NULL, out);
out:
    vss_fs_file_close(f);
    vss_fs_close(fs);
    vss_source_release(src);
    vss_snapshot_close(s);
    return rc;
}

/* ---- one scenario ------------------------------------------------------- */

static void check_scenario(const char *name, vss_volume *vol,
                           vss_source *live)
{
    run u = {0}, u1 = {0};
    vss_error e = {0};
    size_t problems = 9, i, wrong = 0, files = 0, damaged = 0, unverified = 0,
           newer = 0, recovered = 0, sha1_checked = 0;
    char h[80], why[5000] = "";
    int rc = audit(vol, live, 2, NULL, &u, &problems, &e);

    check(rc == 0 && problems == 0, "%s: audit of every snapshot: rc %d, %zu "
          "problems %s", name, rc, problems, rc ? e.message : "");
    check(u.order_ok, "%s: results snapshot by snapshot", name);
    for (i = 0; i < u.n; i++) {
        got *g = &u.v[i];
        mfile *m;
        const char *problem = NULL;
        if (strncmp(g->path, "/System Volume Information/", 28) == 0)
            continue;
        files++;
        m = mf_find(g->snap, g->path);
        if (!m) {
            problem = "not in the manifest";
        } else if (m->seen++) {
            problem = "reported twice";
        } else if (strcmp(g->ranges, m->ranges) != 0) {
            problem = "lost ranges differ";
        } else if (g->lost_zero + g->lost_stale != g->range_bytes) {
            problem = "lost_zero + lost_stale != the ranges";
        } else if (strcmp(m->ranges, "-") == 0) {
            ct_hex(g->d.v[VSS_HASH_SHA256], 32, h);
            if (g->status != VSS_STATUS_INTACT &&
                g->status != VSS_STATUS_UNCHANGED &&
                g->status != VSS_STATUS_RESIDENT)
                problem = "no loss, yet not intact/unchanged/resident";
            else if ((g->status == VSS_STATUS_RESIDENT) != m->resident)
                problem = "resident differs";
            else if (strcmp(m->sha256, "-") && strcmp(h, m->sha256))
                problem = "SHA-256 is not the true one";
            else if ((ct_hex(g->d.v[VSS_HASH_MD5], 16, h), 0) ||
                     (strcmp(m->md5, "-") && strcmp(h, m->md5)))
                problem = "MD5 is not the true one";
            else if (g->recoverable != -1)
                problem = "recoverable set without loss";
            if (!problem && sha1_checked < 3 && g->status != VSS_STATUS_RESIDENT) {
                char want[48];
                ct_hex(g->d.v[VSS_HASH_SHA1], 20, h);
                if (sha1_of(vol, g->snap, g->path, want) || strcmp(h, want))
                    problem = "SHA-1 differs from the file API's bytes";
                sha1_checked++;
            }
        } else {
            int zero = (m->flags & 0x400) != 0;
            ct_hex(g->d.v[VSS_HASH_SHA256], 32, h);
            if (g->newer_store) {
                newer++;   /* documented: the newer store's copy */
                if (g->status != VSS_STATUS_DAMAGED &&
                    g->status != VSS_STATUS_UNVERIFIED)
                    problem = "newer-store loss, yet not damaged/unverified";
            } else if (g->status != (zero ? VSS_STATUS_DAMAGED
                                          : VSS_STATUS_UNVERIFIED)) {
                problem = zero ? "zeros lost, not DAMAGED"
                               : "stale bytes, not UNVERIFIED";
            } else if ((zero ? g->lost_zero : g->lost_stale) !=
                       g->range_bytes) {
                problem = "bytes of the wrong class";
            } else if (strcmp(m->wsha, "-") && strcmp(h, m->wsha)) {
                problem = "SHA-256 is not what Windows returns";
            }
            if (!problem && g->recoverable == 1) {
                ct_hex(g->rec.v[VSS_HASH_SHA256], 32, h);
                if (!g->has_rec || (strcmp(m->sha256, "-") &&
                                    strcmp(h, m->sha256)))
                    problem = "recovered SHA-256 is not the true one";
                recovered++;
            }
            damaged += g->status == VSS_STATUS_DAMAGED;
            unverified += g->status == VSS_STATUS_UNVERIFIED;
        }
        if (problem) {
            if (!wrong++)
                snprintf(why, sizeof why, "snapshot %d %s: %s (got %s, "
                         "manifest %s)", g->snap, g->path, problem,
                         g->ranges, m ? m->ranges : "-");
        }
    }
    for (i = 0; i < nmf; i++)
        if (!mf[i].seen && !wrong++)
            snprintf(why, sizeof why, "snapshot %d %s: in the manifest, not "
                     "reported", mf[i].snap, mf[i].path);
    check(!wrong && files == nmf, "%s: %zu files of %d snapshots: verdicts, "
          "lost ranges and hashes as the manifest says (%zu damaged, %zu "
          "unverified of which %zu from a newer store, %zu recovered to the "
          "true SHA-256; SHA-1 of %zu against the file API) %s", name, files,
          nsnaps, damaged, unverified, newer, recovered, sha1_checked, why);

    /* the tally */
    check(u.last.files_done == u.last.files_total && u.progress_calls > 0 &&
              u.last.bytes_done >= u.last.bytes_hashed,
          "%s: last progress: %zu of %zu files, %" PRIu64 " bytes hashed",
          name, u.last.files_done, u.last.files_total, u.last.bytes_hashed);

    /* one worker: the same results, in the same order */
    rc = audit(vol, live, 1, NULL, &u1, &problems, &e);
    wrong = rc != 0 || u1.n != u.n;
    for (i = 0; !wrong && i < u.n; i++)
        wrong = u.v[i].snap != u1.v[i].snap ||
                strcmp(u.v[i].path, u1.v[i].path) ||
                u.v[i].status != u1.v[i].status ||
                memcmp(&u.v[i].d, &u1.v[i].d, sizeof u.v[i].d);
    check(!wrong, "%s: one worker and two: the same %zu results in the "
          "same order", name, u.n);
    run_free(&u1);
    run_free(&u);
}

/* The diff of snapshots a and b: MODIFIED only where the manifest's
 * Windows-view SHA-256 of the path differs. */
typedef struct dcount {
    int a, b;
    size_t entries, modified, undetermined, wrong, sides;
    char why[300];
} dcount;

/* One side's ranges not preserved against the manifest's for the file
 * in that snapshot; their total against the side's zero + stale counts. */
static void diff_side_ranges(dcount *c, int snap, const vss_audit_file *f,
                             const vss_lost_range *l, size_t n,
                             uint64_t zero, uint64_t stale)
{
    char text[2048];
    uint64_t bytes;
    mfile *m;
    if (!f || !(m = mf_find(snap, f->path)))
        return;
    merged_ranges(l, n, sizeof *l, text, sizeof text, &bytes);
    c->sides++;
    if ((strcmp(text, m->ranges) != 0 || bytes != zero + stale) &&
        !c->wrong++)
        snprintf(c->why, sizeof c->why, "%.80s in snapshot %d: ranges "
                 "%.80s, the manifest's %.80s", f->path, snap, text,
                 m->ranges);
}

static int on_diff(const vss_diff_entry *d, void *user)
{
    dcount *c = user;
    const vss_audit_file *f = d->b ? d->b : d->a;
    mfile *ma, *mb;
    c->entries++;
    diff_side_ranges(c, c->a, d->a, d->not_preserved_a,
                     d->not_preserved_count_a, d->lost_a, d->unverified_a);
    diff_side_ranges(c, c->b, d->b, d->not_preserved_b,
                     d->not_preserved_count_b, d->lost_b, d->unverified_b);
    if (!d->a || !d->b)
        return 0;
    ma = mf_find(c->a, d->a->path);
    mb = mf_find(c->b, d->b->path);
    if (!ma || !mb || !strcmp(ma->sha256, "-") || !strcmp(mb->sha256, "-") ||
        !strcmp(ma->wsha, "-") || !strcmp(mb->wsha, "-"))
        return 0;
    {
        int modified = d->kind == VSS_DIFF_MODIFIED ||
                       d->kind == VSS_DIFF_RENAMED_MODIFIED;
        int undetermined = d->kind == VSS_DIFF_UNDETERMINED ||
                           d->kind == VSS_DIFF_RENAMED_UNDETERMINED;
        int partial = strcmp(ma->ranges, "-") || strcmp(mb->ranges, "-");
        int truly = strcmp(ma->sha256, mb->sha256) != 0;  /* true content */
        const char *why = NULL;
        if (modified && !truly)
            why = "modified, but the true contents are equal";
        else if (!modified && !undetermined && truly)
            why = "unchanged, but the true contents differ";
        else if (undetermined && !partial)
            why = "undetermined with every byte preserved";
        else if (!partial && modified != (strcmp(ma->wsha, mb->wsha) != 0))
            why = "every byte preserved, yet not as Windows' bytes differ";
        if (why && !c->wrong++)
            snprintf(c->why, sizeof c->why, "%.120s: kind %d: %s", f->path,
                     d->kind, why);
        c->modified += modified;
        c->undetermined += undetermined;
    }
    return 0;
}

static void check_diff(const char *name, vss_volume *vol, vss_source *live)
{
    vss_audit *a = NULL;
    vss_error e = {0};
    dcount c = {1, 2, 0, 0, 0, 0, 0, ""};
    vss_audit_callbacks cb = {NULL, on_diff, NULL, NULL, &c};
    size_t problems = 0;
    int rc;
    if (nsnaps < 2)
        return;
    rc = vss_audit_open(vol, live, NULL, &a, &e) ||
         vss_audit_diff(a, 1, 2, &cb, &problems, &e);
    check(rc == 0 && !c.wrong && c.entries > 0,
          "%s: diff 1:2: %zu entries, %zu modified (true contents differ), "
          "%zu undetermined (bytes not preserved), none unchanged whose true "
          "contents differ; the ranges not preserved of %zu sides the "
          "manifest's %s%s", name, c.entries, c.modified, c.undetermined,
          c.sides, c.why, rc ? e.message : "");
    vss_audit_close(a);
}

/* Cancel and progress contracts, and a live volume that is not NTFS. */
static void check_contract(const char *name, vss_volume *vol,
                           vss_source *live)
{
    run u = {0};
    vss_error e = {0};
    size_t problems = 0, i, none = 0;
    static uint8_t junk[1 << 20];
    vss_source *bad = NULL;
    int rc;

    u.cancel_after = 3;
    rc = audit(vol, live, 2, NULL, &u, &problems, &e);
    check(rc == 42 && u.n == 3 && u.calls_after_cancel == 1,
          "%s: file callback returns 42 after 3 files: run returns %d, %zu "
          "files kept, %d call refused, none after", name, rc, u.n,
          u.calls_after_cancel);
    run_free(&u);

    u.progress_cancel = 7;
    rc = audit(vol, live, 2, NULL, &u, &problems, &e);
    check(rc == 7 && u.progress_calls == 1,
          "%s: progress callback returns 7: run returns %d after %d call",
          name, rc, u.progress_calls);
    run_free(&u);

    memset(junk, 0xAB, sizeof junk);
    if (vss_source_open_memory(junk, sizeof junk, "junk", &bad, &e)) {
        check(0, "memory source: %s", e.message);
        return;
    }
    rc = audit(vol, bad, 2, "1", &u, &problems, &e);
    for (i = 0; i < u.n; i++)
        none += u.v[i].live_state == VSS_LIVE_NONE;
    check(rc == 0 && problems == 1 && u.messages >= 1 && u.n > 0 &&
              none == u.n,
          "%s: live volume not NTFS: rc %d, %zu problem, %d message, all %zu "
          "files without live comparison", name, rc, problems, u.messages,
          u.n);
    run_free(&u);
    vss_source_release(bad);
}

/* Out of memory at every allocation of the audit in turn (one worker:
 * the fault hook is for single-threaded tests): each run ends with
 * VSS_ENOMEM or with results marked as errors, never a crash or a leak
 * (the sanitizer build checks), until a run completes untouched. */
static void check_out_of_memory(const char *name, vss_volume *vol,
                                vss_source *live)
{
    run ref = {0}, u = {0};
    vss_error e = {0};
    size_t problems = 0;
    long n, runs = 0, clean = 0;
    int rc, bad = 0;

    if (audit(vol, live, 1, "1", &ref, &problems, &e)) {
        check(0, "%s: audit of snapshot 1: %s", name, e.message);
        return;
    }
    for (n = 1; n < 5000 && !clean; n += n < 200 ? 1 : 17) {
        vss_test_fail_alloc_after(n);
        rc = audit(vol, live, 1, "1", &u, &problems, &e);
        vss_test_fail_alloc_after(0);
        runs++;
        if (rc == 0 && problems == 0 && u.n == ref.n)
            clean = n;
        else if (rc != 0 && rc != VSS_ENOMEM)
            bad++;
        run_free(&u);
    }
    check(clean && !bad, "%s: allocation N failing, N = 1.. (%ld runs): "
          "every run VSS_ENOMEM or marked results, none other; the run "
          "needing fewer than %ld allocations completes like the reference",
          name, runs, clean);
    run_free(&ref);
}

static void check_arguments(vss_volume *vol, vss_source *live)
{
    vss_audit *a = (vss_audit *)1;
    vss_audit_options o = {0};
    vss_error e = {0};
    size_t problems = 5;
    check(vss_audit_open(NULL, live, NULL, &a, &e) == VSS_EINVAL && !a,
          "open without a volume: VSS_EINVAL, *out NULL: %s", e.message);
    check(vss_audit_open(vol, live, NULL, NULL, &e) == VSS_EINVAL,
          "open without a result pointer: VSS_EINVAL");
    o.snapshots = "x";
    check(vss_audit_open(vol, live, &o, &a, &e) == VSS_EINVAL,
          "snapshots 'x': VSS_EINVAL: %s", e.message);
    o.snapshots = "2-1";
    check(vss_audit_open(vol, live, &o, &a, &e) == VSS_EINVAL,
          "snapshots '2-1': VSS_EINVAL");
    o.snapshots = "1,,2";
    check(vss_audit_open(vol, live, &o, &a, &e) == VSS_EINVAL,
          "snapshots '1,,2': VSS_EINVAL");
    o.snapshots = "";
    check(vss_audit_open(vol, live, &o, &a, &e) == VSS_EINVAL,
          "snapshots '': VSS_EINVAL");
    o.snapshots = "999";
    check(vss_audit_open(vol, live, &o, &a, &e) == VSS_ENOTFOUND,
          "snapshots '999': VSS_ENOTFOUND: %s", e.message);
    o.snapshots = NULL;
    o.nhashes = 4;
    check(vss_audit_open(vol, live, &o, &a, &e) == VSS_EINVAL,
          "4 hashes: VSS_EINVAL");
    o.nhashes = 1;
    o.hashes[0] = (vss_hash)7;
    check(vss_audit_open(vol, live, &o, &a, &e) == VSS_EINVAL,
          "hash 7: VSS_EINVAL: %s", e.message);
    o.hashes[0] = VSS_HASH_SHA1;
    o.threads = -1;
    check(vss_audit_open(vol, live, &o, &a, &e) == VSS_EINVAL,
          "threads -1: VSS_EINVAL");
    check(vss_audit_run(NULL, NULL, &problems, &e) == VSS_EINVAL &&
              problems == 0,
          "run of NULL: VSS_EINVAL, problems 0");
    check(vss_audit_diff(NULL, 0, 1, NULL, NULL, &e) == VSS_EINVAL,
          "diff of NULL: VSS_EINVAL");
    o.threads = 0;
    o.snapshots = "1";
    if (vss_audit_open(vol, live, &o, &a, &e) == 0) {
        /* no callbacks at all: runs, reports nothing */
        int r1 = vss_audit_run(a, NULL, NULL, &e);
        int r2 = vss_audit_run(a, NULL, NULL, &e);
        const vss_audit_snapshot *s = vss_audit_snapshot_get(a, 0);
        check(r1 == 0 && r2 == VSS_EINVAL && vss_audit_snapshot_count(a) == 1 &&
                  s && s->index == 1 && s->opened && s->sum.files > 0 &&
                  !vss_audit_snapshot_get(a, 1),
              "run without callbacks: rc %d, %zu files tallied; a second run "
              "refused (%d)", r1, s ? s->sum.files : 0, r2);
        check(vss_audit_diff(a, 1, 2, NULL, NULL, &e) == VSS_EINVAL,
              "diff after run: VSS_EINVAL");
        vss_audit_close(a);
    }
    if (vss_audit_open(vol, live, NULL, &a, &e) == 0) {
        check(vss_audit_diff(a, 1, 999, NULL, NULL, &e) == VSS_ENOTFOUND,
              "diff 1:999: VSS_ENOTFOUND: %s", e.message);
        vss_audit_close(a);
    }
    vss_audit_close(NULL);
    check(vss_audit_snapshot_count(NULL) == 0 &&
              !vss_audit_snapshot_get(NULL, 0) &&
              strcmp(vss_hash_name(VSS_HASH_SHA256), "sha256") == 0 &&
              vss_hash_length((vss_hash)9) == 0 &&
              strcmp(vss_block_kind_name((vss_block_kind)99), "?") == 0 &&
              strcmp(vss_stale_source_name(VSS_STALE_FREE), "free") == 0,
          "NULL objects and out-of-range names: no crash");
}

/* vss_hasher against the FIPS 180 / RFC 1321 test vectors of "abc". */
static void check_hasher(void)
{
    static const vss_hash all[3] = {VSS_HASH_SHA256, VSS_HASH_MD5,
                                    VSS_HASH_SHA1};
    vss_hasher *h = NULL;
    vss_digests d;
    vss_error e = {0};
    char m[40], s1[48], s2[80];
    if (vss_hasher_open(all, 3, &h, &e)) {
        check(0, "hasher opens: %s", e.message);
        return;
    }
    vss_hasher_update(h, "a", 1);
    vss_hasher_update(h, "bc", 2);
    vss_hasher_final(h, &d);
    vss_hasher_close(h);
    ct_hex(d.v[VSS_HASH_MD5], 16, m);
    ct_hex(d.v[VSS_HASH_SHA1], 20, s1);
    ct_hex(d.v[VSS_HASH_SHA256], 32, s2);
    check(d.have == 7 && !strcmp(m, "900150983cd24fb0d6963f7d28e17f72") &&
              !strcmp(s1, "a9993e364706816aba3e25717850c26c9cd0d89d") &&
              !strcmp(s2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
                          "b410ff61f20015ad"),
          "hasher: MD5, SHA-1, SHA-256 of \"abc\" fed in two pieces are the "
          "standards' test vectors");
    check(vss_hasher_open(all, 0, &h, &e) == VSS_EINVAL && !h &&
              vss_hasher_open(NULL, 1, &h, &e) == VSS_EINVAL &&
              vss_hasher_open(all, 4, &h, &e) == VSS_EINVAL,
          "hasher: 0, NULL or 4 algorithms refused: %s", e.message);
    vss_hasher_update(NULL, "x", 1);
    vss_hasher_close(NULL);
}

static int scenarios, contract_done;

/* Every single-volume manifest of dir. */
static void check_dir(const char *dir)
{
    char line[8192], name[256] = "", path[4096] = "";
    uint64_t off = 0, size = 0;
    FILE *py;

    py = ct_manifests(dir, manifest_py);
    if (!py) {
        check(0, "python3 runs");
        return;
    }
    while (fgets(line, sizeof line, py)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == 'S') {
            mf_clear();
            if (sscanf(line, "S %4095s %" SCNu64 " %" SCNu64 " %d %255s",
                       path, &off, &size, &nsnaps, name) != 5)
                name[0] = '\0';
        } else if (line[0] == 'F' && name[0]) {
            mfile m = {0};
            int k = 0;
            if (sscanf(line, "F %d %u %d %" SCNu64 " %39s %79s %79s %2047s %n",
                       &m.snap, &m.flags, &m.resident, &m.size, m.md5,
                       m.sha256, m.wsha, m.ranges, &k) != 8 || !k)
                continue;
            m.path = strdup(line + k);
            if (nmf == capmf) {
                capmf = capmf ? 2 * capmf : 256;
                mf = realloc(mf, capmf * sizeof *mf);
                if (!mf)
                    abort();
            }
            mf[nmf++] = m;
        } else if (line[0] == 'E' && name[0]) {
            vss_source *img = NULL, *part = NULL;
            vss_volume *vol = NULL;
            vss_error e = {0};
            scenarios++;
            if (vss_source_open_image(path, NULL, &img, &e) ||
                vss_source_open_range(img, off, size, &part, &e) ||
                vss_volume_open(part, &vol, &e)) {
                check(0, "%s: open %s: %s", name, path, e.message);
            } else {
                check_scenario(name, vol, part);
                check_diff(name, vol, part);
                if (!contract_done) {
                    check_contract(name, vol, part);
                    check_arguments(vol, part);
                    check_out_of_memory(name, vol, part);
                    contract_done = 1;
                }
            }
            vss_volume_close(vol);
            vss_source_release(part);
            vss_source_release(img);
        }
    }
    pclose(py);
    mf_clear();
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/libvss-audit-api.XXXXXX", cmd[512];

    check_hasher();
    check_dir(argc > 1 ? argv[1] : "testimages/out");
    if (!scenarios)
        printf("skip: no generated manifest (make -C testimages)\n");
    /* The stale case (catalog flag 0x40: bytes Windows returns without
     * having preserved them), recovery and the newer-store difference:
     * tests/audit/win7scope.scn, generated here. */
    if (argc <= 1 && mkdtemp(tmp)) {
        snprintf(cmd, sizeof cmd, "testimages/vssgen -o %s "
                 "tests/audit/win7scope.scn >/dev/null 2>&1", tmp);
        if (system(cmd) == 0)
            check_dir(tmp);
        else
            check(0, "%s", cmd);
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
        if (system(cmd) != 0)
            printf("note: %s failed\n", cmd);
    }
    free(mf);
    return ct_finish(NULL);
}
