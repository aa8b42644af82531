/*
 * audit/history.c — vss_history_*: every version of one file across the
 * snapshots of a volume and the live volume (issue #17), each with the
 * verdict of vss_provenance_status, its lost ranges, its named streams
 * and (on request) its digests.
 *
 * The work, source by source, oldest first (snapshot 1 .. N, then live):
 *  1. mount every source once (kept until vss_history_close, so that
 *     vss_history_version_open reads exactly what was hashed);
 *  2. find the file's identities (record, sequence): the files the path
 *     names in any source, or every file that held the record;
 *  3. in each source, find each identity: at the path, or by its record
 *     (vss_fs_record_path) when it had another name there;
 *  4. describe that copy: stat, every $DATA stream's provenance, status
 *     and digests, and for a stream with lost bytes whether the audit's
 *     test (audit/recover.h) vouches for filling them from the live file;
 *     fold it into an earlier version with the same fold key (identity,
 *     verdicts and contents) or start a new version. A version's recovery
 *     is its oldest holder's that passes the test, hashed once.
 *
 * Digests are computed once per content key (equal keys: equal bytes, see
 * provenance.c), so a file unchanged through thirty snapshots is read
 * once. OpenSSL's one-algorithm interface, not EVP, for the reason
 * provenance.c gives (the tools link libcrypto statically).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <openssl/sha.h>

#include "base/base.h"
#include "audit/recover.h"

#define ALL_HASHES (VSS_HISTORY_MD5 | VSS_HISTORY_SHA1 | VSS_HISTORY_SHA256)
#define READ_CHUNK (1u << 20)

typedef struct mount {
    int snapshot;             /* 0: live */
    vss_snapshot *snap;       /* NULL for live */
    vss_fs *fs;               /* NULL: could not be mounted */
} mount;

typedef struct identity {
    uint64_t record;
    uint16_t sequence;
} identity;

/* The digests of one byte stream. */
typedef struct digs {
    unsigned hashes;
    uint8_t md5[16], sha1[20], sha256[32];
} digs;

/* Digests already computed, by content key. */
typedef struct digest_entry {
    uint8_t key[32];
    digs d;
} digest_entry;

/* Reads n bytes at off of a stream (vss_fs_file_read_at's contract). */
typedef int64_t (*read_fn)(void *src, void *buf, size_t n, uint64_t off,
                           vss_error *err);

struct vss_history_recovered {
    vss_fs_file *snap;        /* the holder's copy */
    vss_fs_file *live;        /* the same file's stream on the live volume */
    const vss_lost_range *fill; /* owned by the history */
    size_t nfill;
    uint64_t size;
};

struct vss_history {
    vss_volume *v;
    vss_source *live;
    vss_history_options o;
    mount *m;
    int nm;
    identity *id;
    size_t nid, idcap;
    vss_version *ver;
    uint8_t (*fold)[32];      /* parallel to ver */
    size_t n, cap;
    vss_history_problem *pr;
    size_t npr, prcap;
    digest_entry *dg;
    size_t ndg, dgcap;
    uint8_t *buf;             /* READ_CHUNK bytes for hashing */
};

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = vss_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Grow *v (of elem-byte items, *cap of them) to hold one more. */
static int grow(void *vp, size_t *cap, size_t n, size_t elem)
{
    void **v = vp;
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *nv = vss_realloc(*v, nc * elem);
    if (!nv)
        return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

static int add_problem(vss_history *h, int snapshot, const vss_error *e)
{
    if (grow(&h->pr, &h->prcap, h->npr, sizeof *h->pr))
        return VSS_ENOMEM;
    h->pr[h->npr].snapshot = snapshot;
    h->pr[h->npr].error = *e;
    h->npr++;
    return VSS_OK;
}

/* A failure in one source: recorded, and the history goes on; only
 * running out of memory ends it. */
static int source_failed(vss_history *h, int snapshot, int rc,
                         const vss_error *e, vss_error *err)
{
    if (rc == VSS_ENOMEM || add_problem(h, snapshot, e))
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    return VSS_OK;
}

static void mount_source(vss_history *h, mount *m, vss_error *e)
{
    vss_source *src = NULL;
    if (m->snapshot) {
        if (vss_snapshot_open(h->v, m->snapshot, h->o.fill, &m->snap, e) ||
            vss_snapshot_source(m->snap, &src, e))
            return;
    } else {
        src = h->live;
        vss_source_retain(src);
    }
    if (vss_fs_open(src, &m->fs, e))
        m->fs = NULL;
    vss_source_release(src);
}

static int add_identity(vss_history *h, uint64_t record, uint16_t seq)
{
    for (size_t i = 0; i < h->nid; i++)
        if (h->id[i].record == record && h->id[i].sequence == seq)
            return VSS_OK;
    if (grow(&h->id, &h->idcap, h->nid, sizeof *h->id))
        return VSS_ENOMEM;
    h->id[h->nid].record = record;
    h->id[h->nid].sequence = seq;
    h->nid++;
    return VSS_OK;
}

/* ---- digests ------------------------------------------------------------ */

typedef struct hashers {
    MD5_CTX md5;
    SHA_CTX sha1;
    SHA256_CTX sha256;
} hashers;

/* Read a stream of `size` bytes whole (rd on src) into the digests `want`
 * asks for. */
static int hash_stream(vss_history *h, read_fn rd, void *src, uint64_t size,
                       unsigned want, digs *out, vss_error *err)
{
    hashers x;
    uint64_t off = 0;

    MD5_Init(&x.md5);
    SHA1_Init(&x.sha1);
    SHA256_Init(&x.sha256);
    while (off < size) {
        size_t len = size - off < READ_CHUNK ? (size_t)(size - off)
                                             : READ_CHUNK;
        int64_t got = rd(src, h->buf, len, off, err);
        if (got < 0)
            return (int)got;
        if (got == 0)
            return vss_fail(err, VSS_EIO,
                            "stream ended at byte %" PRIu64 " of %" PRIu64,
                            off, size);
        if (want & VSS_HISTORY_MD5)
            MD5_Update(&x.md5, h->buf, (size_t)got);
        if (want & VSS_HISTORY_SHA1)
            SHA1_Update(&x.sha1, h->buf, (size_t)got);
        if (want & VSS_HISTORY_SHA256)
            SHA256_Update(&x.sha256, h->buf, (size_t)got);
        off += (uint64_t)got;
    }
    memset(out, 0, sizeof *out);
    if (want & VSS_HISTORY_MD5)
        MD5_Final(out->md5, &x.md5);
    if (want & VSS_HISTORY_SHA1)
        SHA1_Final(out->sha1, &x.sha1);
    if (want & VSS_HISTORY_SHA256)
        SHA256_Final(out->sha256, &x.sha256);
    out->hashes = want;
    return VSS_OK;
}

static int64_t read_file(void *f, void *buf, size_t n, uint64_t off,
                         vss_error *err)
{
    return vss_fs_file_read_at(f, buf, n, off, err);
}

static void set_digests(vss_history_stream *s, const digs *d)
{
    s->hashes = d->hashes;
    memcpy(s->md5, d->md5, 16);
    memcpy(s->sha1, d->sha1, 20);
    memcpy(s->sha256, d->sha256, 32);
}

/* The digests of s: from the cache when a copy with the same content key
 * was hashed already, else by reading f (and remembered). */
static int stream_digests(vss_history *h, vss_fs_file *f,
                          const vss_provenance *p, vss_history_stream *s,
                          vss_error *err)
{
    unsigned want = h->o.hashes & ALL_HASHES;
    digs d;
    int rc;
    if (p->key_valid)
        for (size_t i = 0; i < h->ndg; i++)
            if (memcmp(h->dg[i].key, p->key, 32) == 0) {
                set_digests(s, &h->dg[i].d);
                return VSS_OK;
            }
    rc = hash_stream(h, read_file, f, vss_fs_file_size(f), want, &d, err);
    if (rc)
        return rc;
    set_digests(s, &d);
    if (!p->key_valid)
        return VSS_OK;
    if (grow(&h->dg, &h->dgcap, h->ndg, sizeof *h->dg))
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    memcpy(h->dg[h->ndg].key, p->key, 32);
    h->dg[h->ndg++].d = d;
    return VSS_OK;
}

/* ---- one copy of the file in one source --------------------------------- */

static void stream_free(vss_history_stream *s)
{
    free(s->name);
    free(s->lost);
    free(s->live_path);
    free(s->fill);
}

static void version_free(vss_version *v)
{
    for (size_t i = 0; i < v->holder_count; i++)
        free(v->holders[i].path);
    free(v->holders);
    for (size_t i = 0; i < v->stream_count; i++)
        stream_free(&v->streams[i]);
    free(v->streams);
}

/* Worse verdicts first: DAMAGED, UNVERIFIED, then the rest. */
static int status_rank(vss_status s)
{
    return s == VSS_STATUS_DAMAGED ? 2 : s == VSS_STATUS_UNVERIFIED ? 1 : 0;
}

/* "PATH" or "PATH:STREAM" (malloc'ed). */
static char *stream_path(const char *path, const char *stream)
{
    size_t a = strlen(path), b = strlen(stream);
    char *p = vss_malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, path, a);
    if (b) {
        p[a] = ':';
        memcpy(p + a + 1, stream, b + 1);
    } else {
        p[a] = '\0';
    }
    return p;
}

/* SHA-256 of a resident stream (inside one MFT record: small). */
static int resident_digest(vss_fs_file *f, uint64_t size, uint8_t d[32],
                           vss_error *err)
{
    uint8_t *buf;
    int64_t got;
    if (size > 65536)
        return vss_fail(err, VSS_ECORRUPT,
                        "resident stream of %" PRIu64 " bytes (more than "
                        "an MFT record holds)",
                        size);
    buf = vss_malloc(size ? (size_t)size : 1);
    if (!buf)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    got = size ? vss_fs_file_read_at(f, buf, (size_t)size, 0, err) : 0;
    if (got >= 0 && (uint64_t)got != size)
        got = vss_fail(err, VSS_EIO,
                       "resident stream: %" PRId64 " of %" PRIu64
                       " bytes read",
                       got, size);
    if (got >= 0)
        SHA256(buf, (size_t)size, d);
    free(buf);
    return got < 0 ? (int)got : VSS_OK;
}

/* ---- the recovered version ------------------------------------------- */

static mount *find_mount(vss_history *h, int snapshot)
{
    for (int k = 0; k < h->nm; k++)
        if (h->m[k].snapshot == snapshot && h->m[k].fs)
            return &h->m[k];
    return NULL;
}

/* Can the lost bytes of stream s (provenance p) of the copy of file
 * (record, seq) in snapshot m be taken from the live volume? The audit's
 * answers, in its words: first that the live file is the same file with
 * the stream (as audit.c's live states say), then audit_recover_why. */
static int recover_check(vss_history *h, mount *m, uint64_t record,
                         uint16_t seq, vss_history_stream *s,
                         const vss_provenance *p, vss_error *err)
{
    mount *live = find_mount(h, 0);
    vss_fs_stat lst;
    vss_fs_file *lf = NULL;
    vss_provenance lp = {0};
    vss_snapshot_info si;
    vss_error e = {0};
    char *path = NULL, *sp;
    int rc;

    s->recoverable = p->lost_count ? 0 : -1;
    s->why = "";
    if (!p->lost_count)
        return VSS_OK;
    if (!h->live) {
        s->why = "no live volume was given to take the lost bytes from";
        return VSS_OK;
    }
    if (!live) {
        s->why = "the live volume's file system could not be read";
        return VSS_OK;
    }
    rc = vss_fs_record_path(live->fs, record, &path, &lst, &e);
    if (rc == VSS_ENOMEM)
        return vss_fail(err, rc, "out of memory");
    if (rc == VSS_ENOTFOUND) {
        s->why = "the file was deleted (record not in use in the live file "
                 "system)";
        return VSS_OK;
    }
    if (rc) {
        s->why = "the live volume's MFT record of the file could not be read";
        return VSS_OK;
    }
    if (lst.sequence != seq) {
        s->why = "the MFT record now holds another file (sequence changed)";
        free(path);
        return VSS_OK;
    }
    sp = stream_path(path, s->name);
    if (!sp) {
        free(path);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    rc = vss_fs_file_open(live->fs, sp, &lf, &e);
    free(sp);
    if (rc == VSS_OK)
        rc = vss_fs_file_provenance(NULL, live->fs, lf, s->name, &lp, &e);
    if (rc == VSS_ENOMEM) {
        s->why = "";
        rc = vss_fail(err, rc, "out of memory");
    } else if (rc == VSS_ENOTFOUND && !lf) {
        s->why = "the stream was deleted from the live file";
        rc = VSS_OK;
    } else if (rc) {
        s->why = "the live file could not be read";
        rc = VSS_OK;
    } else if (vss_volume_snapshot_info(h->v, m->snapshot, &si, &e)) {
        s->why = "the snapshot's creation time could not be read";
    } else if ((s->why = audit_recover_why(p, s->size, &lp,
                                           vss_fs_file_size(lf),
                                           lst.modification_time,
                                           lst.mft_change_time,
                                           si.creation_time)) == NULL) {
        s->why = "";
        s->fill = vss_malloc(p->lost_count * sizeof *s->fill);
        if (!s->fill) {
            rc = vss_fail(err, VSS_ENOMEM, "out of memory");
        } else {
            memcpy(s->fill, p->lost, p->lost_count * sizeof *s->fill);
            s->fill_count = p->lost_count;
            s->live_path = path;
            path = NULL;
            s->recovered_from = m->snapshot;
            s->recoverable = 1;
        }
    }
    vss_provenance_free(&lp);
    vss_fs_file_close(lf);
    free(path);
    return rc;
}

static int read_all(vss_fs_file *f, uint8_t *p, size_t n, uint64_t off,
                    vss_error *err)
{
    while (n) {
        int64_t got = vss_fs_file_read_at(f, p, n, off, err);
        if (got < 0)
            return (int)got;
        if (got == 0)
            return vss_fail(err, VSS_EIO,
                            "stream ended at byte %" PRIu64, off);
        p += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return VSS_OK;
}

/* Open the recovered version of stream s as the copy at `path` of
 * snapshot `snapshot` holds it. */
static int recovered_open(vss_history *h, int snapshot, const char *path,
                          const vss_history_stream *s,
                          vss_history_recovered **out, vss_error *err)
{
    mount *m = find_mount(h, snapshot), *live = find_mount(h, 0);
    vss_history_recovered *r;
    char *sp;
    int rc;

    *out = NULL;
    if (!m || !live || s->recoverable != 1)
        return vss_fail(err, VSS_EINVAL, "no recovered version of '%s'",
                        path);
    r = vss_calloc(1, sizeof *r);
    if (!r)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    r->fill = s->fill;
    r->nfill = s->fill_count;
    sp = stream_path(path, s->name);
    rc = sp ? vss_fs_file_open(m->fs, sp, &r->snap, err)
            : vss_fail(err, VSS_ENOMEM, "out of memory");
    free(sp);
    if (rc == VSS_OK) {
        sp = stream_path(s->live_path, s->name);
        rc = sp ? vss_fs_file_open(live->fs, sp, &r->live, err)
                : vss_fail(err, VSS_ENOMEM, "out of memory");
        free(sp);
    }
    if (rc == VSS_OK) {
        r->size = vss_fs_file_size(r->snap);
        if (vss_fs_file_size(r->live) != r->size)
            rc = vss_fail(err, VSS_EIO,
                          "the live file '%s' changed size while read",
                          s->live_path);
    }
    if (rc) {
        vss_history_recovered_close(r);
        return rc;
    }
    *out = r;
    return VSS_OK;
}

int64_t vss_history_recovered_read_at(vss_history_recovered *r, void *buf,
                                      size_t n, uint64_t off, vss_error *err)
{
    uint8_t *p = buf;
    int rc;
    if (!r || (!buf && n))
        return vss_fail(err, VSS_EINVAL,
                        "vss_history_recovered_read_at: NULL argument");
    if (off >= r->size)
        return 0;
    if (n > r->size - off)
        n = (size_t)(r->size - off);
    /* the copy's bytes, then the live bytes over the ranges it lost */
    rc = read_all(r->snap, p, n, off, err);
    for (size_t i = 0; rc == VSS_OK && i < r->nfill; i++) {
        uint64_t a = r->fill[i].offset, b = a + r->fill[i].length;
        if (b <= off || a >= off + n)
            continue;
        if (a < off)
            a = off;
        if (b > off + n)
            b = off + n;
        rc = read_all(r->live, p + (a - off), (size_t)(b - a), a, err);
    }
    return rc ? rc : (int64_t)n;
}

uint64_t vss_history_recovered_size(const vss_history_recovered *r)
{
    return r ? r->size : 0;
}

void vss_history_recovered_close(vss_history_recovered *r)
{
    if (!r)
        return;
    vss_fs_file_close(r->snap);
    vss_fs_file_close(r->live);
    free(r);
}

static int64_t read_recovered(void *r, void *buf, size_t n, uint64_t off,
                              vss_error *err)
{
    return vss_history_recovered_read_at(r, buf, n, off, err);
}

/* The recovered digests of stream s of the copy at `path` in `snapshot`
 * (recoverable 1), when digests are asked for. */
static int recovered_digests(vss_history *h, int snapshot, const char *path,
                             vss_history_stream *s, vss_error *err)
{
    vss_history_recovered *r = NULL;
    digs d;
    int rc;
    if (!(h->o.hashes & ALL_HASHES))
        return VSS_OK;
    rc = recovered_open(h, snapshot, path, s, &r, err);
    if (rc == VSS_OK)
        rc = hash_stream(h, read_recovered, r, r->size,
                         h->o.hashes & ALL_HASHES, &d, err);
    vss_history_recovered_close(r);
    if (rc)
        return rc;
    s->recovered_hashes = d.hashes;
    memcpy(s->recovered_md5, d.md5, 16);
    memcpy(s->recovered_sha1, d.sha1, 20);
    memcpy(s->recovered_sha256, d.sha256, 32);
    return VSS_OK;
}

/* Stream s of the copy at `path` in m: provenance, verdict, digests. Its
 * content key, or (no hashes) the key it is folded by, goes to fold. */
static int describe_stream(vss_history *h, mount *m, const char *path,
                           const vss_version *v, vss_history_stream *s,
                           int *record_damaged, SHA256_CTX *fold,
                           vss_error *err)
{
    vss_fs_file *f = NULL;
    vss_provenance p = {0};
    char *sp = stream_path(path, s->name);
    int rc;

    if (!sp)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    rc = vss_fs_file_open(m->fs, sp, &f, err);
    free(sp);
    if (rc)
        return rc;
    rc = vss_fs_file_provenance(m->snap, m->fs, f, s->name, &p, err);
    if (rc) {
        vss_fs_file_close(f);
        return rc;
    }
    s->size = vss_fs_file_size(f);
    s->resident = p.resident;
    s->status = vss_provenance_status(&p);
    rc = recover_check(h, m, v->mft_record, v->sequence, s, &p, err);
    if (rc) {
        vss_provenance_free(&p);
        vss_fs_file_close(f);
        return rc;
    }
    s->lost = p.lost;
    s->lost_count = p.lost_count;
    s->lost_zero = p.lost_zero;
    s->lost_stale = p.lost_stale;
    p.lost = NULL;
    p.lost_count = 0;
    if (p.record_damaged)
        *record_damaged = 1;
    if (h->o.hashes & ALL_HASHES)
        rc = stream_digests(h, f, &p, s, err);
    SHA256_Update(fold, s->name, strlen(s->name) + 1);
    SHA256_Update(fold, &s->size, sizeof s->size);
    SHA256_Update(fold, &s->status, sizeof s->status);
    if (rc == VSS_OK && s->hashes) {
        SHA256_Update(fold, s->md5, sizeof s->md5);
        SHA256_Update(fold, s->sha1, sizeof s->sha1);
        SHA256_Update(fold, s->sha256, sizeof s->sha256);
    } else if (rc == VSS_OK && p.resident) {
        /* No digest asked for. A resident stream's key names its MFT
         * record's place (a store copy or the live record), which differs
         * for equal bytes; its few bytes are compared instead. */
        uint8_t d[32];
        rc = resident_digest(f, s->size, d, err);
        SHA256_Update(fold, d, sizeof d);
    } else if (rc == VSS_OK) {
        /* No digest: equal keys, equal bytes; a copy without a key
         * (some byte's source unknown) folds with nothing. */
        SHA256_Update(fold, p.key, sizeof p.key);
        if (!p.key_valid)
            SHA256_Update(fold, &m->snapshot, sizeof m->snapshot);
    }
    vss_provenance_free(&p);
    vss_fs_file_close(f);
    return rc;
}

/* Add holder (m, path) to version i. */
static int add_holder(vss_version *v, int snapshot, const char *path)
{
    vss_history_holder *nh =
        vss_realloc(v->holders, (v->holder_count + 1) * sizeof *nh);
    if (!nh)
        return VSS_ENOMEM;
    v->holders = nh;
    nh[v->holder_count].snapshot = snapshot;
    nh[v->holder_count].path = dup(path);
    if (!nh[v->holder_count].path)
        return VSS_ENOMEM;
    v->holder_count++;
    return VSS_OK;
}

/* A copy c (at `path` of `snapshot`) folds into version v: a stream v
 * cannot recover yet but c can takes c's recovery (a newer holder, whose
 * creation time passes the audit's test). */
static int adopt_recoveries(vss_history *h, vss_version *v, vss_version *c,
                            int snapshot, const char *path, vss_error *err)
{
    for (size_t k = 0; k < v->stream_count && k < c->stream_count; k++) {
        vss_history_stream *a = &v->streams[k], *b = &c->streams[k];
        vss_error e = {0};
        int rc;
        if (a->recoverable != 0 || b->recoverable != 1 ||
            strcmp(a->name, b->name) != 0)
            continue;
        rc = recovered_digests(h, snapshot, path, b, &e);
        if (rc == VSS_ENOMEM)
            return vss_fail(err, rc, "out of memory");
        if (rc) {
            /* read errors: that copy is a problem of its source */
            if (source_failed(h, snapshot, rc, &e, err))
                return VSS_ENOMEM;
            continue;
        }
        a->recoverable = 1; /* a->why: why the older holders' copies are not */
        a->recovered_from = b->recovered_from;
        a->live_path = b->live_path;
        a->fill = b->fill;
        a->fill_count = b->fill_count;
        a->recovered_hashes = b->recovered_hashes;
        memcpy(a->recovered_md5, b->recovered_md5, 16);
        memcpy(a->recovered_sha1, b->recovered_sha1, 20);
        memcpy(a->recovered_sha256, b->recovered_sha256, 32);
        b->live_path = NULL;
        b->fill = NULL;
        b->fill_count = 0;
    }
    return VSS_OK;
}

/* The copy of identity `id` at `path` in m: a holder of an existing
 * version with the same fold key, or a new version. A copy that cannot be
 * read there is a problem of that source. */
static int add_copy(vss_history *h, mount *m, const char *path,
                    vss_error *err)
{
    vss_version v;
    vss_fs_stream *ss = NULL;
    size_t nss = 0, i;
    vss_error e = {0};
    SHA256_CTX fold;
    uint8_t key[32];
    int rc;

    memset(&v, 0, sizeof v);
    rc = vss_fs_stat_path(m->fs, path, &v.st, &e);
    if (rc == VSS_OK && !v.st.is_directory)
        rc = vss_fs_streams(m->fs, path, &ss, &nss, &e);
    if (rc)
        return source_failed(h, m->snapshot, rc, &e, err);
    v.mft_record = v.st.mft_record;
    v.sequence = v.st.sequence;
    v.status = VSS_STATUS_INTACT; /* no stream (a directory): nothing lost */
    SHA256_Init(&fold);
    SHA256_Update(&fold, &v.mft_record, sizeof v.mft_record);
    SHA256_Update(&fold, &v.sequence, sizeof v.sequence);
    if (nss) {
        v.streams = vss_calloc(nss, sizeof *v.streams);
        if (!v.streams) {
            vss_fs_streams_free(ss, nss);
            return vss_fail(err, VSS_ENOMEM, "out of memory");
        }
    }
    for (i = 0; i < nss; i++) {
        vss_history_stream *s = &v.streams[v.stream_count];
        s->name = dup(ss[i].name);
        if (!s->name) {
            rc = VSS_ENOMEM;
            break;
        }
        v.stream_count++;
        rc = describe_stream(h, m, path, &v, s, &v.record_damaged, &fold,
                             &e);
        if (rc)
            break;
        /* the unnamed stream's verdict, unless a named one is worse */
        if (status_rank(s->status) > status_rank(v.status) || !s->name[0])
            v.status = s->status;
    }
    vss_fs_streams_free(ss, nss);
    if (rc) {
        version_free(&v);
        return rc == VSS_ENOMEM ? vss_fail(err, rc, "out of memory")
                                : source_failed(h, m->snapshot, rc, &e, err);
    }
    SHA256_Update(&fold, &v.record_damaged, sizeof v.record_damaged);
    SHA256_Final(key, &fold);
    for (i = 0; i < h->n; i++)
        if (memcmp(h->fold[i], key, 32) == 0) {
            /* equal as read is no evidence of equal where not preserved */
            if (v.status == VSS_STATUS_DAMAGED ||
                v.status == VSS_STATUS_UNVERIFIED)
                h->ver[i].undetermined = 1;
            rc = adopt_recoveries(h, &h->ver[i], &v, m->snapshot, path, err);
            version_free(&v);
            if (rc == VSS_OK && add_holder(&h->ver[i], m->snapshot, path))
                rc = vss_fail(err, VSS_ENOMEM, "out of memory");
            return rc;
        }
    for (i = 0; i < v.stream_count; i++)
        if (v.streams[i].recoverable == 1 &&
            (rc = recovered_digests(h, m->snapshot, path, &v.streams[i],
                                    &e))) {
            version_free(&v);
            return rc == VSS_ENOMEM ? vss_fail(err, rc, "out of memory")
                                    : source_failed(h, m->snapshot, rc, &e,
                                                    err);
        }
    if (grow(&h->ver, &h->cap, h->n, sizeof *h->ver)) {
        version_free(&v);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    {
        /* fold keeps ver's capacity */
        uint8_t(*nf)[32] = vss_realloc(h->fold, h->cap * sizeof *nf);
        if (!nf) {
            version_free(&v);
            return vss_fail(err, VSS_ENOMEM, "out of memory");
        }
        h->fold = nf;
    }
    if (add_holder(&v, m->snapshot, path)) {
        version_free(&v);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    memcpy(h->fold[h->n], key, 32);
    h->ver[h->n++] = v;
    return VSS_OK;
}

/* ---- finding the file in each source ------------------------------------ */

/* Step 2: who the file is. */
static int find_identities(vss_history *h, const char *path, uint64_t record,
                           vss_error *err)
{
    for (int k = 0; k < h->nm; k++) {
        mount *m = &h->m[k];
        vss_fs_stat st;
        vss_error e = {0};
        char *p = NULL;
        int rc;
        if (!m->fs)
            continue;
        if (path)
            rc = vss_fs_stat_path(m->fs, path, &st, &e);
        else
            rc = vss_fs_record_path(m->fs, record, &p, &st, &e);
        free(p);
        if (rc == VSS_ENOTFOUND)
            continue;
        if (rc) {
            if (source_failed(h, m->snapshot, rc, &e, err))
                return VSS_ENOMEM;
            continue;
        }
        if (add_identity(h, st.mft_record, st.sequence))
            return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    return VSS_OK;
}

/* Steps 3 and 4 for source m. */
static int collect_source(vss_history *h, mount *m, const char *path,
                          vss_error *err)
{
    vss_fs_stat at;        /* what the path names here */
    vss_error e = {0};
    int at_rc = VSS_ENOTFOUND;

    if (path) {
        at_rc = vss_fs_stat_path(m->fs, path, &at, &e);
        if (at_rc && at_rc != VSS_ENOTFOUND) {
            /* already a problem of this source (find_identities) */
            at_rc = VSS_ENOTFOUND;
        }
    }
    for (size_t i = 0; i < h->nid; i++) {
        const identity *id = &h->id[i];
        vss_fs_stat st;
        char *p = NULL;
        int rc;
        if (at_rc == VSS_OK && at.mft_record == id->record &&
            at.sequence == id->sequence) {
            rc = add_copy(h, m, path, err);
            if (rc)
                return rc;
            continue;
        }
        /* Elsewhere under another name, or not in this source. */
        memset(&e, 0, sizeof e);
        rc = vss_fs_record_path(m->fs, id->record, &p, &st, &e);
        if (rc == VSS_OK && st.sequence == id->sequence)
            rc = add_copy(h, m, p, err);
        else if (rc == VSS_ENOMEM)
            rc = vss_fail(err, rc, "out of memory");
        else
            rc = VSS_OK; /* another file holds the record, or none */
        free(p);
        if (rc)
            return rc;
    }
    return VSS_OK;
}

/* ---- public ------------------------------------------------------------- */

int vss_history_open(vss_volume *v, vss_source *live, const char *path,
                     uint64_t record, const vss_history_options *opts,
                     vss_history **out, vss_error *err)
{
    vss_history *h;
    int nsnap, rc = VSS_OK;
    char *norm = NULL;

    if (!out)
        return vss_fail(err, VSS_EINVAL, "vss_history_open: NULL argument");
    *out = NULL;
    if (!v || (path != NULL) == (record != VSS_HISTORY_NO_RECORD))
        return vss_fail(err, VSS_EINVAL,
                        "vss_history_open: give a volume and either a path "
                        "or a record number");
    h = vss_calloc(1, sizeof *h);
    if (!h)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    h->v = v;
    h->live = live;
    if (opts)
        h->o = *opts;
    nsnap = vss_volume_snapshot_count(v);
    h->m = vss_calloc((size_t)nsnap + 1, sizeof *h->m);
    h->buf = (h->o.hashes & ALL_HASHES) ? vss_malloc(READ_CHUNK) : NULL;
    if (path) {
        /* the form the tools print: no leading or trailing '/' */
        while (*path == '/')
            path++;
        norm = dup(path);
        if (norm)
            for (size_t l = strlen(norm); l && norm[l - 1] == '/'; l--)
                norm[l - 1] = '\0';
    }
    if (!h->m || ((h->o.hashes & ALL_HASHES) && !h->buf) ||
        (path && !norm)) {
        rc = vss_fail(err, VSS_ENOMEM, "out of memory");
        goto fail;
    }
    /* Step 1: mount every source, oldest first. */
    for (int k = 1; k <= nsnap + (live ? 1 : 0); k++) {
        mount *m = &h->m[h->nm++];
        vss_error e = {0};
        m->snapshot = k <= nsnap ? k : 0;
        mount_source(h, m, &e);
        if (!m->fs && (rc = source_failed(h, m->snapshot, e.code, &e, err)))
            goto fail;
    }
    rc = find_identities(h, norm, record, err);
    if (rc)
        goto fail;
    if (h->nid == 0) {
        if (path)
            rc = vss_fail(err, VSS_ENOTFOUND,
                          "'%s' is in none of the %d snapshots%s", norm,
                          nsnap, live ? " nor on the live volume" : "");
        else
            rc = vss_fail(err, VSS_ENOTFOUND,
                          "MFT record %" PRIu64 " holds a file in none of "
                          "the %d snapshots%s",
                          record, nsnap, live ? " nor on the live volume" : "");
        goto fail;
    }
    for (int k = 0; k < h->nm; k++)
        if (h->m[k].fs && (rc = collect_source(h, &h->m[k], norm, err)))
            goto fail;
    free(norm);
    free(h->buf);
    h->buf = NULL;
    *out = h;
    return VSS_OK;
fail:
    free(norm);
    vss_history_close(h);
    return rc;
}

void vss_history_close(vss_history *h)
{
    if (!h)
        return;
    for (int k = 0; h->m && k < h->nm; k++) {
        vss_fs_close(h->m[k].fs);
        vss_snapshot_close(h->m[k].snap);
    }
    free(h->m);
    for (size_t i = 0; i < h->n; i++)
        version_free(&h->ver[i]);
    free(h->ver);
    free(h->fold);
    free(h->id);
    free(h->pr);
    free(h->dg);
    free(h->buf);
    free(h);
}

int vss_history_source_count(const vss_history *h)
{
    return h ? h->nm : 0;
}

size_t vss_history_count(const vss_history *h)
{
    return h ? h->n : 0;
}

const vss_version *vss_history_version(const vss_history *h, size_t i)
{
    return h && i < h->n ? &h->ver[i] : NULL;
}

size_t vss_history_problem_count(const vss_history *h)
{
    return h ? h->npr : 0;
}

const vss_history_problem *vss_history_problem_at(const vss_history *h,
                                                  size_t i)
{
    return h && i < h->npr ? &h->pr[i] : NULL;
}

int vss_history_recovered_open(vss_history *h, size_t i, const char *stream,
                               vss_history_recovered **out, vss_error *err)
{
    const vss_version *v;
    const vss_history_stream *s = NULL;

    if (!out)
        return vss_fail(err, VSS_EINVAL, "vss_history_recovered_open: NULL");
    *out = NULL;
    if (!h || i >= h->n)
        return vss_fail(err, VSS_EINVAL,
                        "vss_history_recovered_open: no version %zu", i);
    v = &h->ver[i];
    for (size_t k = 0; k < v->stream_count; k++)
        if (strcmp(v->streams[k].name, stream ? stream : "") == 0)
            s = &v->streams[k];
    if (!s)
        return vss_fail(err, VSS_ENOTFOUND, "version %zu has no stream '%s'",
                        i + 1, stream ? stream : "");
    if (s->recoverable != 1)
        return vss_fail(err, VSS_EINVAL,
                        "version %zu%s%s: no recovered version: %s", i + 1,
                        s->name[0] ? ":" : "", s->name,
                        s->recoverable < 0 ? "no byte was lost" : s->why);
    for (size_t k = 0; k < v->holder_count; k++)
        if (v->holders[k].snapshot == s->recovered_from)
            return recovered_open(h, s->recovered_from, v->holders[k].path,
                                  s, out, err);
    return vss_fail(err, VSS_ENOTFOUND, "version %zu: its source is gone",
                    i + 1);
}

int vss_history_version_open(vss_history *h, size_t i, const char *stream,
                             vss_fs_file **out, vss_error *err)
{
    const vss_version *v;
    char *sp;
    int rc;

    if (!out)
        return vss_fail(err, VSS_EINVAL, "vss_history_version_open: NULL");
    *out = NULL;
    if (!h || i >= h->n)
        return vss_fail(err, VSS_EINVAL,
                        "vss_history_version_open: no version %zu", i);
    v = &h->ver[i];
    for (int k = 0; k < h->nm; k++) {
        if (h->m[k].snapshot != v->holders[0].snapshot || !h->m[k].fs)
            continue;
        sp = stream_path(v->holders[0].path, stream ? stream : "");
        if (!sp)
            return vss_fail(err, VSS_ENOMEM, "out of memory");
        rc = vss_fs_file_open(h->m[k].fs, sp, out, err);
        free(sp);
        return rc;
    }
    return vss_fail(err, VSS_ENOTFOUND, "version %zu: its source is gone", i);
}
