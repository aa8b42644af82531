/*
 * ntfs/file.c — what a snapshot's NTFS file holds: its attributes and
 * $DATA streams, open files, reads (through libntfs-3g: compression,
 * sparse runs) and extents (where each byte lies on the volume). Every
 * entry point takes fs->lock (ntfs_int.h).
 */

#include "ntfs/ntfs_int.h"

/* ---- attributes ---------------------------------------------------------- */

/* Name of the attribute a search context points at, bounds-checked against
 * the attribute record. NULL with errno set on failure. */
static char *attr_name(const ATTR_RECORD *a)
{
    uint32_t alen = le32_to_cpu(a->length);
    uint32_t noff = le16_to_cpu(a->name_offset);
    uint32_t nlen = a->name_length;
    if (!nlen)
        return strdup("");
    if (noff > alen || (uint64_t)nlen * 2 > alen - noff) {
        errno = EIO;
        return NULL;
    }
    return name_to_utf8((const ntfschar *)((const uint8_t *)a + noff),
                        (int)nlen);
}

void vss_fs_attrs_free(vss_fs_attr *attrs, size_t count)
{
    size_t i;
    if (!attrs)
        return;
    for (i = 0; i < count; i++)
        free(attrs[i].name);
    free(attrs);
}

/* Is a (type and name) already in al: a continuation extent of an
 * attribute listed before? */
static int attr_listed(const attr_list *al, const ATTR_RECORD *a)
{
    char *name = attr_name(a);
    size_t i;
    int found = 0;
    if (!name)
        return 1; /* cannot tell: skip it */
    for (i = 0; i < al->n && !found; i++)
        found = al->v[i].type == le32_to_cpu(a->type) &&
                strcmp(al->v[i].name, name) == 0;
    free(name);
    return found;
}

/* The namespace byte of a resident $FILE_NAME value, or 0xff when the value
 * is too short or out of its record (corrupt). */
static uint8_t file_name_space(const ATTR_RECORD *a)
{
    uint32_t alen = le32_to_cpu(a->length);
    uint32_t len = le32_to_cpu(a->value_length);
    uint16_t off = le16_to_cpu(a->value_offset);
    if (a->non_resident || len <= offsetof(FILE_NAME_ATTR, file_name_type) ||
        off > alen || alen - off < len)
        return 0xff;
    return ((const FILE_NAME_ATTR *)((const u8 *)a + off))->file_name_type;
}

/* Every attribute of ni of type `type` (AT_UNUSED: all) in enumeration
 * order, first extents only; lock held. */
int collect_attrs(vss_fs *fs, ntfs_inode *ni, ATTR_TYPES type,
                  attr_list *al, vss_error *err)
{
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
    int rc = VSS_OK;

    if (!ctx)
        return fs_fail(fs, err, errno, "MFT record %llu: attribute search",
                       (unsigned long long)ni->mft_no);
    while (!ntfs_attr_lookup(type, NULL, 0, CASE_SENSITIVE, 0, NULL, 0,
                             ctx)) {
        const ATTR_RECORD *a = ctx->attr;
        vss_fs_attr x;

        /* Continuation extents of a fragmented attribute repeat it. A
         * first extent that claims a non-zero lowest VCN (corrupt) still
         * names the attribute: ntfs_attr_open opens it, so list it too. */
        if (a->non_resident && sle64_to_cpu(a->lowest_vcn) != 0 &&
            attr_listed(al, a))
            continue;
        if (al->n >= MAX_STREAMS) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: MFT record %llu has more than %u "
                          "attributes",
                          (unsigned long long)ni->mft_no, MAX_STREAMS);
            break;
        }
        memset(&x, 0, sizeof x);
        x.type = le32_to_cpu(a->type);
        x.id = le16_to_cpu(a->instance);
        x.name = attr_name(a);
        if (!x.name) {
            rc = fs_fail(fs, err, errno ? errno : ENOMEM,
                         "MFT record %llu: name of attribute 0x%x",
                         (unsigned long long)ni->mft_no, (unsigned)x.type);
            break;
        }
        if (a->non_resident) {
            s64 ds = sle64_to_cpu(a->data_size);
            s64 as = sle64_to_cpu(a->allocated_size);
            x.size = ds > 0 ? (uint64_t)ds : 0;
            x.allocated_size = as > 0 ? (uint64_t)as : 0;
        } else {
            x.size = le32_to_cpu(a->value_length);
            x.resident = 1;
        }
        if (x.type == VSS_FS_ATTR_FILE_NAME)
            x.name_space = file_name_space(a);
        if (al->n == al->cap) {
            size_t ncap = al->cap ? al->cap * 2 : 8;
            vss_fs_attr *nv = vss_realloc(al->v, ncap * sizeof *nv);
            if (!nv) {
                free(x.name);
                rc = vss_fail(err, VSS_ENOMEM, "out of memory");
                break;
            }
            al->v = nv;
            al->cap = ncap;
        }
        al->v[al->n++] = x;
    }
    if (rc == VSS_OK && errno != ENOENT)
        rc = fs_fail(fs, err, errno, "MFT record %llu: attributes",
                     (unsigned long long)ni->mft_no);
    ntfs_attr_put_search_ctx(ctx);
    if (rc) {
        vss_fs_attrs_free(al->v, al->n);
        al->v = NULL;
        al->n = al->cap = 0;
    }
    return rc;
}

/* The vss_fs_stream of a $DATA attribute; takes over its name. */
static vss_fs_stream stream_of(const vss_fs_attr *a)
{
    vss_fs_stream s = {a->name, a->size, a->allocated_size, a->resident};
    return s;
}

/* Is there a stream called name in sl already? */
static int stream_listed(const stream_list *sl, const char *name)
{
    size_t i;
    for (i = 0; i < sl->n; i++)
        if (strcmp(sl->v[i].name, name) == 0)
            return 1;
    return 0;
}

/* Every $DATA stream of ni, the unnamed one first; lock held. A record
 * holding two $DATA attributes of one name (corrupt: NTFS allows one) has
 * one stream by that name, the first, which is what opening the name
 * reads (ntfs_attr_open); vss_fs_attrs still lists both. */
int collect_streams(vss_fs *fs, ntfs_inode *ni, stream_list *sl,
                    vss_error *err)
{
    attr_list al = {0};
    size_t i, first = 0;
    int rc = collect_attrs(fs, ni, AT_DATA, &al, err);

    if (rc)
        return rc;
    sl->n = 0;
    sl->v = al.n ? vss_calloc(al.n, sizeof *sl->v) : NULL;
    if (al.n && !sl->v) {
        vss_fs_attrs_free(al.v, al.n);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    /* The unnamed stream goes first. */
    while (first < al.n && al.v[first].name[0])
        first++;
    if (first < al.n)
        sl->v[sl->n++] = stream_of(&al.v[first]);
    for (i = 0; i < al.n; i++) {
        if (i == first)
            continue;
        if (stream_listed(sl, al.v[i].name))
            free(al.v[i].name);  /* a later duplicate: unreachable */
        else
            sl->v[sl->n++] = stream_of(&al.v[i]);
    }
    free(al.v);  /* the names now belong to sl */
    return VSS_OK;
}

void vss_fs_streams_free(vss_fs_stream *streams, size_t count)
{
    size_t i;
    if (!streams)
        return;
    for (i = 0; i < count; i++)
        free(streams[i].name);
    free(streams);
}

int vss_fs_streams(vss_fs *fs, const char *path, vss_fs_stream **streams,
                   size_t *count, vss_error *err)
{
    ntfs_inode *ni;
    stream_list sl = {0};
    int rc;

    if (!fs || !path || !streams || !count)
        return vss_fail(err, VSS_EINVAL, "vss_fs_streams: NULL argument");
    *streams = NULL;
    *count = 0;
    fs_lock(fs);
    rc = fs_lookup(fs, path, &ni, err);
    if (rc == VSS_OK) {
        rc = collect_streams(fs, ni, &sl, err);
        ntfs_inode_close(ni);
    }
    fs_unlock(fs);
    if (rc) {
        vss_fs_streams_free(sl.v, sl.n);
        return rc;
    }
    *streams = sl.v;
    *count = sl.n;
    return VSS_OK;
}

int vss_fs_attrs(vss_fs *fs, const char *path, vss_fs_attr **attrs,
                 size_t *count, vss_error *err)
{
    ntfs_inode *ni;
    attr_list al = {0};
    int rc;

    if (!fs || !path || !attrs || !count)
        return vss_fail(err, VSS_EINVAL, "vss_fs_attrs: NULL argument");
    *attrs = NULL;
    *count = 0;
    fs_lock(fs);
    rc = fs_lookup(fs, path, &ni, err);
    if (rc == VSS_OK) {
        rc = collect_attrs(fs, ni, AT_UNUSED, &al, err);
        ntfs_inode_close(ni);
    }
    fs_unlock(fs);
    if (rc)
        return rc;
    *attrs = al.v;
    *count = al.n;
    return VSS_OK;
}

/* ---- files -------------------------------------------------------------- */

int vss_fs_file_open(vss_fs *fs, const char *path, vss_fs_file **out,
                     vss_error *err)
{
    vss_fs_file *f;
    ntfs_inode *ni;
    ntfschar *uname;
    char *stream;
    int ulen, rc;

    if (!fs || !path || !out)
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_open: NULL argument");
    *out = NULL;
    f = vss_calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    fs_lock(fs);
    rc = fs_resolve(fs, path, &ni, &stream, err);
    if (rc)
        goto fail;
    if ((ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) && !stream[0]) {
        rc = vss_fail(err, VSS_EINVAL,
                      "NTFS: '%s' (MFT record %llu) is a directory", path,
                      (unsigned long long)ni->mft_no);
        goto fail_ni;
    }
    if (stream_name_ucs(stream, &uname, &ulen)) {
        rc = vss_fail(err, VSS_EINVAL, "NTFS: bad stream name in '%s'",
                      path);
        goto fail_ni;
    }
    f->na = ntfs_attr_open(ni, AT_DATA, uname, (u32)ulen);
    if (uname != AT_UNNAMED)
        free(uname);
    /* Asked for the unnamed stream of a file that has none, libntfs-3g
     * answers with its first named one ($Secure gives $SDS): refuse that. */
    if (f->na && !stream[0] && f->na->name_len) {
        ntfs_attr_close(f->na);
        f->na = NULL;
        errno = ENOENT;
    }
    if (!f->na && errno == ENOENT && !stream[0]) {
        /* No unnamed $DATA (metadata files such as $Secure, $Extend/$Quota):
         * the file's content is empty, as its stat says (size 0, has_data
         * 0). Its named streams are opened as PATH:STREAM. */
        f->size = 0;
        goto opened;
    }
    if (!f->na) {
        if (errno == ENOENT)
            rc = vss_fail(err, VSS_ENOTFOUND,
                          "NTFS: '%s': no $DATA stream%s%s in MFT record "
                          "%llu",
                          path, stream[0] ? " " : "", stream,
                          (unsigned long long)ni->mft_no);
        else
            rc = fs_fail(fs, err, errno, "'%s' (MFT record %llu) $DATA",
                         path, (unsigned long long)ni->mft_no);
        goto fail_ni;
    }
    if (f->na->data_size < 0 || f->na->initialized_size < 0 ||
        f->na->initialized_size > f->na->allocated_size) {
        rc = vss_fail(err, VSS_ECORRUPT,
                      "NTFS: '%s' (MFT record %llu): $DATA sizes "
                      "inconsistent (data %lld, initialized %lld, "
                      "allocated %lld)",
                      path, (unsigned long long)ni->mft_no,
                      (long long)f->na->data_size,
                      (long long)f->na->initialized_size,
                      (long long)f->na->allocated_size);
        ntfs_attr_close(f->na);
        goto fail_ni;
    }
    f->size = (uint64_t)f->na->data_size;
opened:
    f->ni = ni;
    f->fs = fs;
    fs->refs++;
    free(stream);
    fs_unlock(fs);
    *out = f;
    return VSS_OK;
fail_ni:
    ntfs_inode_close(ni);
    free(stream);
fail:
    fs_unlock(fs);
    free(f->path);
    free(f);
    return rc;
}

void vss_fs_file_close(vss_fs_file *f)
{
    vss_fs *fs;
    if (!f)
        return;
    fs = f->fs;
    fs_lock(fs);
    if (f->na)
        ntfs_attr_close(f->na);
    ntfs_inode_close(f->ni);
    fs_unlock(fs);
    free(f->path);
    free(f);
    fs_put(fs);
}

uint64_t vss_fs_file_size(const vss_fs_file *f)
{
    return f ? f->size : 0;
}

uint32_t vss_fs_file_compression_unit(const vss_fs_file *f)
{
    if (!f || !f->na || !(f->na->data_flags & ATTR_COMPRESSION_MASK) ||
        !NAttrNonResident(f->na))
        return 0;
    return f->na->compression_block_size;
}

int vss_fs_file_stat(vss_fs_file *f, vss_fs_stat *st, vss_error *err)
{
    char *stream;
    int rc;
    if (!f || !st)
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_stat: NULL argument");
    stream = f->na && f->na->name_len
                 ? name_to_utf8(f->na->name, (int)f->na->name_len)
                 : NULL;
    if (f->na && f->na->name_len && !stream)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    fs_lock(f->fs);
    rc = fill_stat(f->fs, f->ni, stream, st, err);
    fs_unlock(f->fs);
    free(stream);
    return rc;
}

int64_t vss_fs_file_read_at(vss_fs_file *f, void *buf, size_t len,
                            uint64_t offset, vss_error *err)
{
    size_t done = 0;

    if (!f || (!buf && len))
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_read_at: bad argument");
    if (offset >= f->size)
        return 0;
    if (len > f->size - offset)
        len = (size_t)(f->size - offset);
    if (len > (size_t)INT64_MAX)
        len = (size_t)INT64_MAX;
    fs_lock(f->fs);
    while (done < len) {
        s64 n = ntfs_attr_pread(f->na, (s64)(offset + done),
                                (s64)(len - done), (uint8_t *)buf + done);
        if (n < 0) {
            int eo = errno;
            int rc = eo == EACCES && (f->na->data_flags & ATTR_IS_ENCRYPTED)
                         ? vss_fail(err, VSS_EUNSUPPORTED,
                                    "NTFS: '%s' (MFT record %llu) is "
                                    "encrypted (EFS)",
                                    f->path,
                                    (unsigned long long)f->ni->mft_no)
                         : fs_fail(f->fs, err, eo,
                                   "'%s' (MFT record %llu) reading %zu bytes "
                                   "at file offset %llu",
                                   f->path,
                                   (unsigned long long)f->ni->mft_no,
                                   len - done,
                                   (unsigned long long)(offset + done));
            fs_unlock(f->fs);
            return rc;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    fs_unlock(f->fs);
    if (done < len)
        return vss_fail(err, VSS_ECORRUPT,
                        "NTFS: '%s' (MFT record %llu): data ends at file "
                        "offset %llu, before its size %llu",
                        f->path, (unsigned long long)f->ni->mft_no,
                        (unsigned long long)(offset + done),
                        (unsigned long long)f->size);
    return (int64_t)done;
}

/* ---- extents ------------------------------------------------------------ */

typedef struct extent_list {
    vss_fs_extent *v;
    size_t n, cap;
} extent_list;

static int extent_add(extent_list *el, uint64_t foff, uint64_t voff,
                      uint64_t len, unsigned flags)
{
    if (!len)
        return VSS_OK;
    /* Merge with the previous extent when contiguous on both sides. */
    if (el->n) {
        vss_fs_extent *p = &el->v[el->n - 1];
        if (p->flags == flags && p->file_offset + p->length == foff &&
            (flags & VSS_EXTENT_SPARSE ||
             (p->volume_offset != VSS_FS_NO_OFFSET &&
              p->volume_offset + p->length == voff))) {
            p->length += len;
            return VSS_OK;
        }
    }
    if (el->n == el->cap) {
        size_t ncap = el->cap ? el->cap * 2 : 16;
        vss_fs_extent *nv = vss_realloc(el->v, ncap * sizeof *nv);
        if (!nv)
            return VSS_ENOMEM;
        el->v = nv;
        el->cap = ncap;
    }
    el->v[el->n].file_offset = foff;
    el->v[el->n].volume_offset = voff;
    el->v[el->n].length = len;
    el->v[el->n].flags = flags;
    el->n++;
    return VSS_OK;
}

/* Resident value: its bytes inside the MFT record that holds it. */
static int resident_extent(vss_fs_file *f, extent_list *el, vss_error *err)
{
    vss_fs *fs = f->fs;
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(f->ni, NULL);
    uint64_t voff = VSS_FS_NO_OFFSET;
    int rc;

    if (!ctx)
        return fs_fail(fs, err, errno, "'%s': attribute search", f->path);
    if (ntfs_attr_lookup(AT_DATA, f->na->name, f->na->name_len,
                         CASE_SENSITIVE, 0, NULL, 0, ctx)) {
        rc = fs_fail(fs, err, errno, "'%s' (MFT record %llu): $DATA",
                     f->path, (unsigned long long)f->ni->mft_no);
        ntfs_attr_put_search_ctx(ctx);
        return rc;
    }
    {
        const uint8_t *rec = (const uint8_t *)ctx->mrec;
        const uint8_t *at = (const uint8_t *)ctx->attr;
        uint64_t in_rec = (uint64_t)(at - rec) +
                          le16_to_cpu(ctx->attr->value_offset);
        if (in_rec < fs->vol->mft_record_size)
            voff = mft_volume_offset(fs, ctx->ntfs_ino->mft_no,
                                     (uint32_t)in_rec);
        /* A value crossing a cluster boundary of a fragmented $MFT has no
         * single offset; say unknown rather than guess. */
        if (voff != VSS_FS_NO_OFFSET && f->size) {
            uint64_t last = in_rec + f->size - 1;
            if (last >= fs->vol->mft_record_size ||
                mft_volume_offset(fs, ctx->ntfs_ino->mft_no,
                                  (uint32_t)last) != voff + f->size - 1)
                voff = VSS_FS_NO_OFFSET;
        }
    }
    ntfs_attr_put_search_ctx(ctx);
    rc = extent_add(el, 0, voff, f->size, VSS_EXTENT_RESIDENT);
    return rc ? vss_fail(err, rc, "out of memory") : VSS_OK;
}

int vss_fs_file_extents(vss_fs_file *f, vss_fs_extent **extents,
                        size_t *count, vss_error *err)
{
    vss_fs *fs;
    extent_list el = {0};
    runlist_element *rl;
    uint64_t init, cs;
    unsigned base;
    size_t i;
    int rc = VSS_OK;

    if (!f || !extents || !count)
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_extents: NULL argument");
    *extents = NULL;
    *count = 0;
    fs = f->fs;
    if (!f->na)
        return VSS_OK;  /* no unnamed $DATA: empty, no extent */
    fs_lock(fs);
    if (!NAttrNonResident(f->na)) {
        rc = resident_extent(f, &el, err);
        goto out;
    }
    if (ntfs_attr_map_whole_runlist(f->na)) {
        rc = fs_fail(fs, err, errno,
                     "'%s' (MFT record %llu): runlist of $DATA", f->path,
                     (unsigned long long)f->ni->mft_no);
        goto out;
    }
    cs = fs->vol->cluster_size;
    init = (uint64_t)f->na->initialized_size;
    base = f->na->data_flags & ATTR_COMPRESSION_MASK ? VSS_EXTENT_COMPRESSED
                                                     : 0;
    rl = f->na->rl;
    for (i = 0; rl && rl[i].length; i++) {
        uint64_t foff, len, voff, end, cut;
        if (i >= MAX_RUNS || rl[i].vcn < 0 || rl[i].length < 0) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: '%s' (MFT record %llu): runlist element %zu "
                          "invalid",
                          f->path, (unsigned long long)f->ni->mft_no, i);
            goto out;
        }
        if (__builtin_mul_overflow((uint64_t)rl[i].vcn, cs, &foff) ||
            __builtin_mul_overflow((uint64_t)rl[i].length, cs, &len) ||
            __builtin_add_overflow(foff, len, &end)) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: '%s' (MFT record %llu): runlist element %zu "
                          "overflows",
                          f->path, (unsigned long long)f->ni->mft_no, i);
            goto out;
        }
        if (foff >= f->size)
            break;
        if (end > f->size)
            len = f->size - foff;
        if (rl[i].lcn == LCN_HOLE) {
            rc = extent_add(&el, foff, VSS_FS_NO_OFFSET, len,
                            base | VSS_EXTENT_SPARSE);
        } else if (rl[i].lcn < 0 ||
                   __builtin_mul_overflow((uint64_t)rl[i].lcn, cs, &voff)) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: '%s' (MFT record %llu): runlist element %zu "
                          "has no cluster (LCN %lld)",
                          f->path, (unsigned long long)f->ni->mft_no, i,
                          (long long)rl[i].lcn);
            goto out;
        } else {
            /* Bytes past the initialized size read as zeros whatever the
             * clusters hold: mark them so callers don't blame the disk. */
            cut = init > foff ? (init - foff < len ? init - foff : len) : 0;
            rc = extent_add(&el, foff, voff, cut, base);
            if (!rc)
                rc = extent_add(&el, foff + cut, voff + cut, len - cut,
                                base | VSS_EXTENT_UNINIT);
        }
        if (rc) {
            rc = vss_fail(err, VSS_ENOMEM, "out of memory");
            goto out;
        }
    }
    /* The runlist must cover the whole size. */
    {
        uint64_t covered = el.n ? el.v[el.n - 1].file_offset +
                                      el.v[el.n - 1].length
                                : 0;
        if (covered < f->size)
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: '%s' (MFT record %llu): runlist covers %llu "
                          "of %llu bytes",
                          f->path, (unsigned long long)f->ni->mft_no,
                          (unsigned long long)covered,
                          (unsigned long long)f->size);
    }
out:
    fs_unlock(fs);
    if (rc) {
        free(el.v);
        return rc;
    }
    *extents = el.v;
    *count = el.n;
    return VSS_OK;
}

void vss_fs_extents_free(vss_fs_extent *extents)
{
    free(extents);
}
