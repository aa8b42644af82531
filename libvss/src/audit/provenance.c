/*
 * provenance.c — vss_fs_file_provenance: which bytes of one stream of a
 * snapshot the snapshot did not preserve (by class and reason), bytes per
 * class, and a content key. The one implementation behind vssinfo --file's
 * warning, the audit's verdicts and vssmount's damage attributes.
 *
 * The stream's extents (vss_fs_file_extents) are mapped through the
 * snapshot (vss_snapshot_map); runs of class zero or stale become lost
 * file ranges. Written against the public API.
 *
 * The content key: two versions of a stream with the same key have the
 * same bytes, so a digest computed for one serves the other. It is a
 * SHA-256 over the size, the compression unit, every extent (offset,
 * length, flags) and where its bytes come from, as maximal pieces:
 * 'V' + live volume offset, 'S' + storage offset, 'Z' (zeros); a resident
 * stream adds its name and its MFT record's pieces.
 */
#include <stdlib.h>
#include <string.h>

/* SHA-256 through OpenSSL's one-algorithm interface, not EVP: the tools
 * link libcrypto statically, and EVP's provider tables would come along
 * (vssinfo 1.2 -> 5.6 MB, 85 more page faults at every start; see
 * vssinfo/digest.h and docs/design.md). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "base/base.h"

typedef struct kwalk {
    SHA256_CTX *k;          /* content key hasher, NULL: none */
    int pk;                /* pending piece: 0, 'Z', 'V' (volume), 'S' */
    uint64_t poff, plen;
    vss_provenance *p;
    uint64_t vol_start, file_start;
    /* ranges go to *list (file offsets: file_start + run - vol_start) */
    vss_lost_range **list;
    size_t *count, cap;
    int count_classes;     /* add run lengths to p->bytes */
    int damaged;
    vss_lost_range first;  /* the first zero or stale run */
    int oom;
} kwalk;

static void put_u64(SHA256_CTX *k, uint64_t v)
{
    uint8_t b[8];
    int i;
    for (i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    SHA256_Update(k, b, 8);
}

static void key_flush(kwalk *w)
{
    if (w->k && w->pk) {
        uint8_t t = (uint8_t)w->pk;
        SHA256_Update(w->k, &t, 1);
        put_u64(w->k, w->poff);
        put_u64(w->k, w->plen);
    }
    w->pk = 0;
}

/* Contiguous pieces of one kind merge (zeros merge whatever their place). */
static void key_piece(kwalk *w, int kind, uint64_t off, uint64_t len)
{
    if (w->pk == kind && (kind == 'Z' || w->poff + w->plen == off)) {
        w->plen += len;
        return;
    }
    key_flush(w);
    w->pk = kind;
    w->poff = kind == 'Z' ? 0 : off;
    w->plen = len;
}

/* The merging rule: a range continues the last one when it is adjacent and
 * has the same class, reason and store. */
static int range_add(vss_lost_range **v, size_t *n, size_t *cap,
                     uint64_t off, uint64_t len, vss_class cls,
                     vss_reason reason, int store)
{
    vss_lost_range *p = *n ? &(*v)[*n - 1] : NULL;
    if (p && p->cls == cls && p->reason == reason &&
        p->store_index == store && p->offset + p->length == off) {
        p->length += len;
        return 0;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        vss_lost_range *nv = vss_realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    p = &(*v)[(*n)++];
    p->offset = off;
    p->length = len;
    p->cls = cls;
    p->reason = reason;
    p->store_index = store;
    return 0;
}

static int map_cb(const vss_run *r, void *user)
{
    kwalk *w = user;
    int kind;
    switch (r->cls) {
    case VSS_CLASS_STORE: kind = 'S'; break;
    case VSS_CLASS_LIVE: kind = 'V'; break;
    case VSS_CLASS_ZERO: kind = 'Z'; break;
    default: kind = r->store_index > 0 ? 'S' : 'V'; break;
    }
    key_piece(w, kind, r->source_offset, r->length);
    if (w->count_classes && (unsigned)r->cls < 4)
        w->p->bytes[r->cls] += r->length;
    if (r->cls == VSS_CLASS_ZERO || r->cls == VSS_CLASS_STALE) {
        if (!w->damaged) {
            w->first.cls = r->cls;
            w->first.reason = r->reason;
            w->first.store_index = r->store_index;
        }
        w->damaged = 1;
        if (range_add(w->list, w->count, &w->cap,
                      w->file_start + (r->offset - w->vol_start), r->length,
                      r->cls, r->reason, r->store_index))
            w->oom = 1;
    }
    return w->oom ? VSS_ENOMEM : 0;
}

/* Compressed data: a lost cluster spoils its whole compression unit, and
 * one zero cluster makes the unit lost for sure (ZERO wins). */
static void widen_to_units(vss_provenance *p)
{
    size_t i, k = 0;
    uint32_t unit = p->compression_unit;
    if (!unit || !p->lost_count)
        return;
    for (i = 0; i < p->lost_count; i++) {
        vss_lost_range *d = &p->lost[i];
        uint64_t s = d->offset / unit * unit;
        uint64_t e = d->offset + d->length;
        e = (e + unit - 1) / unit * unit;
        if (e > p->size)
            e = p->size;
        d->offset = s;
        d->length = e > s ? e - s : 0;
    }
    /* The ranges came in file order (the extents cover the stream in
     * order) and widening keeps that order: overlaps are neighbours. */
    for (i = 1; i < p->lost_count; i++) {
        vss_lost_range *q = &p->lost[k];
        const vss_lost_range *d = &p->lost[i];
        if (d->offset <= q->offset + q->length) {
            uint64_t e = d->offset + d->length;
            if (e > q->offset + q->length)
                q->length = e - q->offset;
            if (d->cls == VSS_CLASS_ZERO && q->cls != VSS_CLASS_ZERO) {
                q->cls = VSS_CLASS_ZERO;
                q->reason = d->reason;
                q->store_index = 0;
            }
        } else {
            p->lost[++k] = *d;
        }
    }
    p->lost_count = k + 1;
}

void vss_provenance_free(vss_provenance *p)
{
    if (!p)
        return;
    vss_fs_extents_free(p->extents);
    free(p->lost);
    free(p->record_lost);
    memset(p, 0, sizeof *p);
}

vss_status vss_provenance_status(const vss_provenance *p)
{
    if (p->lost_zero)
        return VSS_STATUS_DAMAGED;
    if (p->lost_stale)
        return VSS_STATUS_UNVERIFIED;
    return p->resident ? VSS_STATUS_RESIDENT : VSS_STATUS_INTACT;
}

const char *vss_status_name(vss_status s)
{
    switch (s) {
    case VSS_STATUS_INTACT: return "intact";
    case VSS_STATUS_DAMAGED: return "damaged";
    case VSS_STATUS_RESIDENT: return "resident";
    case VSS_STATUS_UNCHANGED: return "unchanged";
    case VSS_STATUS_UNVERIFIED: return "unverified";
    case VSS_STATUS_ERROR: return "error";
    }
    return "unknown";
}

int vss_fs_file_provenance(vss_snapshot *snap, vss_fs *fs, vss_fs_file *f,
                           const char *stream, vss_provenance *p,
                           vss_error *err)
{
    SHA256_CTX kctx, *k = &kctx;
    vss_fs_stat st;
    kwalk w;
    size_t i, reccap = 0;
    int rc = 0;

    if (!p)
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_provenance: no result");
    memset(p, 0, sizeof *p);
    if (!fs || !f)
        return vss_fail(err, VSS_EINVAL,
                        "vss_fs_file_provenance: no file system or file");
    if ((rc = vss_fs_file_stat(f, &st, err)) ||
        (rc = vss_fs_file_extents(f, &p->extents, &p->extent_count, err)))
        return rc;
    SHA256_Init(k);
    p->size = vss_fs_file_size(f);
    p->compression_unit = vss_fs_file_compression_unit(f);
    p->resident = p->extent_count == 1 &&
                  (p->extents[0].flags & VSS_EXTENT_RESIDENT);
    p->record_offset = st.record_offset;
    p->key_valid = 1;
    SHA256_Update(k, "vssaudit1", 9);
    put_u64(k, p->size);
    put_u64(k, p->compression_unit);
    memset(&w, 0, sizeof w);
    w.k = k;
    w.p = p;
    w.list = &p->lost;
    w.count = &p->lost_count;
    w.count_classes = 1;
    for (i = 0; i < p->extent_count && !rc; i++) {
        const vss_fs_extent *x = &p->extents[i];
        put_u64(k, x->file_offset);
        put_u64(k, x->length);
        put_u64(k, x->flags);
        if (x->flags & (VSS_EXTENT_SPARSE | VSS_EXTENT_UNINIT) &&
            !(x->flags & VSS_EXTENT_RESIDENT)) {
            p->bytes[4] += x->length;
            continue;
        }
        if (x->volume_offset == VSS_FS_NO_OFFSET) {
            p->bytes[4] += x->length;
            p->key_valid = 0;
            continue;
        }
        w.vol_start = x->volume_offset;
        w.file_start = x->file_offset;
        if (snap) {
            rc = vss_snapshot_map(snap, x->volume_offset, x->length, map_cb,
                                  &w, err);
        } else {
            key_piece(&w, 'V', x->volume_offset, x->length);
            p->bytes[VSS_CLASS_LIVE] += x->length;
        }
        key_flush(&w);
    }
    if (rc && w.oom)
        rc = vss_fail(err, VSS_ENOMEM, "out of memory");
    if (!rc)
        widen_to_units(p);
    /* The MFT record: its provenance is the resident data's too (a value
     * crossing a sector end keeps its last bytes in the fixup array). */
    if (!rc && p->record_offset != VSS_FS_NO_OFFSET) {
        kwalk rw;
        memset(&rw, 0, sizeof rw);
        rw.k = p->resident ? k : NULL;
        rw.p = p;
        rw.list = &p->record_lost;
        rw.count = &p->record_lost_count;
        if (p->resident && stream && *stream) {
            SHA256_Update(k, ":", 1);
            SHA256_Update(k, stream, strlen(stream));
        }
        if (snap)
            rc = vss_snapshot_map(snap, p->record_offset,
                                  vss_fs_record_size(fs), map_cb, &rw, err);
        else
            key_piece(&rw, 'V', p->record_offset, vss_fs_record_size(fs));
        key_flush(&rw);
        if (rc && rw.oom)
            rc = vss_fail(err, VSS_ENOMEM, "out of memory");
        p->record_damaged = rw.damaged;
        /* Resident data lives in the record: a damaged record loses it. */
        if (!rc && p->resident && rw.damaged && !p->lost_count && p->size &&
            range_add(&p->lost, &p->lost_count, &reccap, 0, p->size,
                      rw.first.cls, rw.first.reason, rw.first.store_index))
            rc = vss_fail(err, VSS_ENOMEM, "out of memory");
    } else if (p->resident) {
        p->key_valid = 0;
    }
    for (i = 0; i < p->lost_count; i++) {
        if (p->lost[i].cls == VSS_CLASS_ZERO)
            p->lost_zero += p->lost[i].length;
        else
            p->lost_stale += p->lost[i].length;
    }
    if (!SHA256_Final(p->key, k))
        p->key_valid = 0;
    if (rc)
        vss_provenance_free(p);
    return rc;
}
