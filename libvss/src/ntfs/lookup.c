/*
 * ntfs/lookup.c — names inside a snapshot's NTFS: path lookup (with a
 * PATH:STREAM suffix), stat, and directory listings in the volume's own
 * collation order. Every entry point takes fs->lock (ntfs_int.h).
 */

#include "ntfs/ntfs_int.h"

/* ---- names and paths ---------------------------------------------------- */

/* UTF-16LE name → malloc'ed UTF-8. Names that are not valid UTF-16 (lone
 * surrogates are legal in NTFS) get U+FFFD for the bad units rather than
 * being dropped, so the entry still shows. */
char *name_to_utf8(const ntfschar *name, int len)
{
    char *out = NULL, *p;
    int i;

    if (len < 0)
        return NULL;
    if (ntfs_ucstombs(name, len, &out, 0) >= 0 && out)
        return out;
    free(out);
    out = vss_malloc((size_t)len * 3 + 1);
    if (!out)
        return NULL;
    p = out;
    for (i = 0; i < len; i++) {
        unsigned c = le16_to_cpu(name[i]);
        if (c >= 0xd800 && c <= 0xdfff)
            c = 0xfffd;
        if (c < 0x80) {
            *p++ = (char)c;
        } else if (c < 0x800) {
            *p++ = (char)(0xc0 | c >> 6);
            *p++ = (char)(0x80 | (c & 0x3f));
        } else {
            *p++ = (char)(0xe0 | c >> 12);
            *p++ = (char)(0x80 | (c >> 6 & 0x3f));
            *p++ = (char)(0x80 | (c & 0x3f));
        }
    }
    *p = '\0';
    return out;
}

/* Split "dir/file:stream[:$DATA]" into a malloc'ed path and stream name
 * ("" = unnamed). Only the last component may carry a stream. */
static int split_stream(const char *path, char **file, char **stream)
{
    const char *last = strrchr(path, '/');
    const char *colon = strchr(last ? last + 1 : path, ':');
    size_t flen, slen;

    *file = *stream = NULL;
    if (!colon) {
        *file = strdup(path);
        *stream = strdup("");
    } else {
        flen = (size_t)(colon - path);
        *file = strndup(path, flen);
        *stream = strdup(colon + 1);
        if (*stream) {
            /* "name:$DATA" is the type suffix; strip it. */
            slen = strlen(*stream);
            if (slen >= 6 && strcmp(*stream + slen - 6, ":$DATA") == 0)
                (*stream)[slen - 6] = '\0';
            else if (strcmp(*stream, "$DATA") == 0)
                (*stream)[0] = '\0';
        }
    }
    if (!*file || !*stream) {
        free(*file);
        free(*stream);
        *file = *stream = NULL;
        return VSS_ENOMEM;
    }
    return VSS_OK;
}

/* Walk path from the root; returns the open inode (caller closes). Called
 * with the lock held. */
int fs_lookup(vss_fs *fs, const char *path, ntfs_inode **out,
              vss_error *err)
{
    ntfs_inode *ni;
    char *copy, *comp, *save = NULL;
    int depth = 0;

    *out = NULL;
    ni = ntfs_inode_open(fs->vol, FILE_root);
    if (!ni)
        return fs_fail(fs, err, errno, "root directory (MFT record 5)");
    copy = strdup(path ? path : "");
    if (!copy) {
        ntfs_inode_close(ni);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    for (comp = strtok_r(copy, "/", &save); comp;
         comp = strtok_r(NULL, "/", &save)) {
        u64 mref;
        u64 dirno = ni->mft_no;
        ntfs_inode *next;

        if (strcmp(comp, ".") == 0)
            continue;
        if (++depth > MAX_PATH_DEPTH || strcmp(comp, "..") == 0) {
            ntfs_inode_close(ni);
            free(copy);
            return vss_fail(err, VSS_EINVAL, "NTFS: path '%s': %s", path,
                            depth > MAX_PATH_DEPTH ? "too deep"
                                                   : "'..' is not supported");
        }
        if (!(ni->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
            ntfs_inode_close(ni);
            free(copy);
            return vss_fail(err, VSS_ENOTFOUND,
                            "NTFS: path '%s': MFT record %llu is not a "
                            "directory",
                            path, (unsigned long long)dirno);
        }
        /* Not ntfs_inode_lookup_by_mbsname: without a lookup cache it
         * converts a NULL name on case-sensitive mounts (EINVAL). */
        {
            ntfschar *uname = NULL;
            int ulen = ntfs_mbstoucs(comp, &uname);
            errno = 0;
            if (ulen < 0 || ulen > NTFS_MAX_NAME_LEN) {
                free(uname);
                ntfs_inode_close(ni);
                vss_fail(err, VSS_EINVAL,
                         "NTFS: path '%s': bad name '%s' (not UTF-8, or "
                         "longer than 255 UTF-16 units)",
                         path, comp);
                free(copy);
                return VSS_EINVAL;
            }
            mref = ntfs_inode_lookup_by_name(ni, uname, ulen);
            free(uname);
        }
        if (mref == (u64)-1) {
            int eo = errno ? errno : ENOENT;
            ntfs_inode_close(ni);
            if (eo == ENOENT) {
                vss_fail(err, VSS_ENOTFOUND,
                         "NTFS: '%s' not found in directory (MFT record "
                         "%llu) of path '%s'",
                         comp, (unsigned long long)dirno, path);
                free(copy);
                return VSS_ENOTFOUND;
            }
            int rc = fs_fail(fs, err, eo,
                             "index of directory (MFT record %llu) looking "
                             "up '%s'",
                             (unsigned long long)dirno, comp);
            free(copy);
            return rc;
        }
        ntfs_inode_close(ni);
        next = ntfs_inode_open(fs->vol, mref);
        if (!next) {
            int rc = fs_fail(fs, err, errno,
                             "MFT record %llu ('%s' in path '%s')",
                             (unsigned long long)MREF(mref), comp, path);
            free(copy);
            return rc;
        }
        ni = next;
    }
    free(copy);
    *out = ni;
    return VSS_OK;
}

/* Volume byte offset of byte `byte` of MFT record `recno`, through the
 * $MFT runlist; VSS_FS_NO_OFFSET if not mapped. Lock held. */
uint64_t mft_volume_offset(vss_fs *fs, uint64_t recno, uint32_t byte)
{
    ntfs_volume *vol = fs->vol;
    uint64_t pos;
    LCN lcn;

    if (recno > (UINT64_MAX >> vol->mft_record_size_bits) ||
        byte >= vol->mft_record_size)
        return VSS_FS_NO_OFFSET;
    pos = (recno << vol->mft_record_size_bits) + byte;
    if (pos > (uint64_t)INT64_MAX)
        return VSS_FS_NO_OFFSET;
    lcn = ntfs_attr_vcn_to_lcn(vol->mft_na,
                               (VCN)(pos >> vol->cluster_size_bits));
    if (lcn < 0 || (uint64_t)lcn > (UINT64_MAX >> vol->cluster_size_bits) -
                                       1)
        return VSS_FS_NO_OFFSET;
    return ((uint64_t)lcn << vol->cluster_size_bits) +
           (pos & (vol->cluster_size - 1));
}

/* st's $FILE_NAME times: the record's last Win32/POSIX name (the one The
 * Sleuth Kit takes, so body files agree with fls -m), else its first DOS
 * name. A value outside its attribute's bounds (corrupt) is passed over
 * (next_file_name). Lock held. */
static void file_name_times(ntfs_inode *ni, vss_fs_stat *st)
{
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
    const FILE_NAME_ATTR *fn;
    if (!ctx)
        return;
    while ((fn = next_file_name(ctx))) {
        if (st->has_file_name && fn->file_name_type == FILE_NAME_DOS)
            continue;
        st->has_file_name = 1;
        st->fn_creation_time = sle64_to_cpu(fn->creation_time);
        st->fn_modification_time = sle64_to_cpu(fn->last_data_change_time);
        st->fn_mft_change_time = sle64_to_cpu(fn->last_mft_change_time);
        st->fn_access_time = sle64_to_cpu(fn->last_access_time);
    }
    ntfs_attr_put_search_ctx(ctx);
}

const FILE_NAME_ATTR *next_file_name(ntfs_attr_search_ctx *ctx)
{
    while (!ntfs_attr_lookup(AT_FILE_NAME, AT_UNNAMED, 0, CASE_SENSITIVE, 0,
                             NULL, 0, ctx)) {
        const ATTR_RECORD *a = ctx->attr;
        const FILE_NAME_ATTR *fn;
        uint32_t len, alen = le32_to_cpu(a->length);
        uint16_t off;
        if (a->non_resident)
            continue;
        len = le32_to_cpu(a->value_length);
        off = le16_to_cpu(a->value_offset);
        if (len < offsetof(FILE_NAME_ATTR, file_name) || off > alen ||
            alen - off < len)
            continue;
        fn = (const FILE_NAME_ATTR *)((const u8 *)a + off);
        if (len < offsetof(FILE_NAME_ATTR, file_name) +
                      2u * fn->file_name_length)
            continue;
        return fn;
    }
    return NULL;
}

/* Fill st from an open inode; `stream` NULL = unnamed $DATA. Lock held. */
int fill_stat(vss_fs *fs, ntfs_inode *ni, const char *stream,
              vss_fs_stat *st, vss_error *err)
{
    stream_list sl = {0};
    size_t i;
    int rc;

    memset(st, 0, sizeof *st);
    st->mft_record = ni->mft_no;
    st->sequence = le16_to_cpu(ni->mrec->sequence_number);
    st->link_count = le16_to_cpu(ni->mrec->link_count);
    st->is_directory = !!(ni->mrec->flags & MFT_RECORD_IS_DIRECTORY);
    st->attributes = le32_to_cpu(ni->flags);
    st->creation_time = sle64_to_cpu(ni->creation_time);
    st->modification_time = sle64_to_cpu(ni->last_data_change_time);
    st->mft_change_time = sle64_to_cpu(ni->last_mft_change_time);
    st->access_time = sle64_to_cpu(ni->last_access_time);
    st->owner_id = le32_to_cpu(ni->owner_id);
    st->record_offset = mft_volume_offset(fs, ni->mft_no, 0);
    file_name_times(ni, st);

    rc = collect_streams(fs, ni, &sl, err);
    if (rc)
        return rc;
    for (i = 0; i < sl.n; i++) {
        if (sl.v[i].name[0])
            st->stream_count++;
        if (stream ? strcmp(sl.v[i].name, stream) == 0 : !sl.v[i].name[0]) {
            st->size = sl.v[i].size;
            st->allocated_size = sl.v[i].allocated_size;
            st->has_data = 1;
        }
    }
    vss_fs_streams_free(sl.v, sl.n);
    if (stream && stream[0])
        st->is_stream = 1;
    if (st->is_directory && !st->is_stream)
        st->size = st->allocated_size = 0;
    return VSS_OK;
}

/* Convert a stream name to UTF-16 for ntfs_attr_open ("" → AT_UNNAMED). */
int stream_name_ucs(const char *stream, ntfschar **uname, int *ulen)
{
    *uname = AT_UNNAMED;
    *ulen = 0;
    if (!stream || !stream[0])
        return 0;
    *uname = NULL;
    *ulen = ntfs_mbstoucs(stream, uname);
    if (*ulen < 0 || !*uname) {
        *uname = NULL;
        return -1;
    }
    return 0;
}

/* Does the named stream exist on ni? Lock held. Returns VSS_OK or
 * VSS_ENOTFOUND / another code. */
static int stream_exists(vss_fs *fs, ntfs_inode *ni, const char *stream,
                         const char *path, vss_error *err)
{
    ntfschar *uname;
    int ulen;
    ntfs_attr *na;

    if (stream_name_ucs(stream, &uname, &ulen))
        return vss_fail(err, VSS_EINVAL, "NTFS: bad stream name in '%s'",
                        path);
    na = ntfs_attr_open(ni, AT_DATA, uname, (u32)ulen);
    if (uname != AT_UNNAMED)
        free(uname);
    if (!na) {
        if (errno == ENOENT)
            return vss_fail(err, VSS_ENOTFOUND,
                            "NTFS: '%s': no $DATA stream '%s' in MFT record "
                            "%llu",
                            path, stream, (unsigned long long)ni->mft_no);
        return fs_fail(fs, err, errno, "'%s' (MFT record %llu) $DATA",
                       path, (unsigned long long)ni->mft_no);
    }
    ntfs_attr_close(na);
    return VSS_OK;
}

/* Resolve PATH or PATH:STREAM. A last component containing ':' is first
 * tried as a whole name (POSIX-namespace names may contain ':'). */
int fs_resolve(vss_fs *fs, const char *path, ntfs_inode **ni,
               char **stream, vss_error *err)
{
    char *file = NULL;
    int rc;

    *ni = NULL;
    *stream = NULL;
    if (split_stream(path, &file, stream))
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    if (strcmp(file, path) != 0) {
        vss_error tmp;
        if (fs_lookup(fs, path, ni, &tmp) == VSS_OK) {
            free(file);
            free(*stream);
            *stream = strdup("");
            if (!*stream) {
                ntfs_inode_close(*ni);
                *ni = NULL;
                return vss_fail(err, VSS_ENOMEM, "out of memory");
            }
            return VSS_OK;
        }
    }
    rc = fs_lookup(fs, file, ni, err);
    free(file);
    if (rc) {
        free(*stream);
        *stream = NULL;
    }
    return rc;
}

int vss_fs_stat_path(vss_fs *fs, const char *path, vss_fs_stat *st,
                     vss_error *err)
{
    ntfs_inode *ni;
    char *stream;
    int rc;

    if (!fs || !path || !st)
        return vss_fail(err, VSS_EINVAL, "vss_fs_stat_path: NULL argument");
    fs_lock(fs);
    rc = fs_resolve(fs, path, &ni, &stream, err);
    if (rc == VSS_OK) {
        if (stream[0])
            rc = stream_exists(fs, ni, stream, path, err);
        if (rc == VSS_OK)
            rc = fill_stat(fs, ni, stream, st, err);
        ntfs_inode_close(ni);
        free(stream);
    }
    fs_unlock(fs);
    return rc;
}

/* ---- directories -------------------------------------------------------- */

/* An entry's name as the index collates it: len upper-cased UTF-16 units
 * (the volume's $UpCase) followed by the len units as they are. */
typedef struct dir_key {
    ntfschar *units;
    u32 len;
} dir_key;

typedef struct dir_collect {
    ntfs_volume *vol;
    vss_fs_entry *v;
    dir_key *k;        /* parallel to v */
    size_t n, cap;
    int rc;            /* VSS_ENOMEM / VSS_ECORRUPT to stop */
} dir_collect;

static void dir_keys_free(dir_key *k, size_t n)
{
    size_t i;
    for (i = 0; k && i < n; i++)
        free(k[i].units);
    free(k);
}

static int units_cmp(const ntfschar *a, u32 alen, const ntfschar *b, u32 blen)
{
    u32 i;
    for (i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return le16_to_cpu(a[i]) < le16_to_cpu(b[i]) ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

typedef struct dir_item {
    dir_key k;
    vss_fs_entry e;
} dir_item;

/* NTFS file name collation (COLLATION_FILE_NAME): case-insensitively,
 * then case-sensitively. */
static int dir_item_cmp(const void *pa, const void *pb)
{
    const dir_item *a = pa, *b = pb;
    int c = units_cmp(a->k.units, a->k.len, b->k.units, b->k.len);
    return c ? c
             : units_cmp(a->k.units + a->k.len, a->k.len,
                         b->k.units + b->k.len, b->k.len);
}

/* Put dc's entries in collation order: the in-order walk of the directory's
 * B+tree, as Windows lists it. ntfs_readdir (like fls) gives the entries
 * node by node, an order that depends on the tree's shape. */
static int dir_sort(dir_collect *dc)
{
    dir_item *it;
    size_t i;
    if (dc->n < 2)
        return VSS_OK;
    it = vss_calloc(dc->n, sizeof *it);
    if (!it)
        return VSS_ENOMEM;
    for (i = 0; i < dc->n; i++) {
        it[i].k = dc->k[i];
        it[i].e = dc->v[i];
    }
    qsort(it, dc->n, sizeof *it, dir_item_cmp);
    for (i = 0; i < dc->n; i++) {
        dc->k[i] = it[i].k;
        dc->v[i] = it[i].e;
    }
    free(it);
    return VSS_OK;
}

static int collect_entry(void *user, const ntfschar *name, const int name_len,
                         const int name_type, const s64 pos,
                         const MFT_REF mref, const unsigned dt_type)
{
    dir_collect *dc = user;
    char *n;

    /* DOS 8.3 aliases repeat a long name; ntfs-3g also makes up "." and
     * "..", which are not entries of the directory. */
    if (name_type == FILE_NAME_DOS)
        return 0;
    if ((name_len == 1 && le16_to_cpu(name[0]) == '.') ||
        (name_len == 2 && le16_to_cpu(name[0]) == '.' &&
         le16_to_cpu(name[1]) == '.'))
        return 0;
    if (dc->n >= MAX_DIR_ENTRIES) {
        dc->rc = VSS_ECORRUPT;
        return -1;
    }
    if (dc->n == dc->cap) {
        size_t ncap = dc->cap ? dc->cap * 2 : 32;
        vss_fs_entry *nv = vss_realloc(dc->v, ncap * sizeof *nv);
        dir_key *nk;
        if (!nv) {
            dc->rc = VSS_ENOMEM;
            return -1;
        }
        dc->v = nv;
        nk = vss_realloc(dc->k, ncap * sizeof *nk);
        if (!nk) {
            dc->rc = VSS_ENOMEM;
            return -1;
        }
        dc->k = nk;
        dc->cap = ncap;
    }
    n = name_to_utf8(name, name_len);
    if (!n || name_len < 0) {
        free(n);
        dc->rc = VSS_ENOMEM;
        return -1;
    }
    dc->k[dc->n].len = (u32)name_len;
    dc->k[dc->n].units = vss_malloc(((size_t)name_len * 2 + 1) *
                                    sizeof(ntfschar));
    if (!dc->k[dc->n].units) {
        free(n);
        dc->rc = VSS_ENOMEM;
        return -1;
    }
    memcpy(dc->k[dc->n].units, name, (size_t)name_len * sizeof(ntfschar));
    memcpy(dc->k[dc->n].units + name_len, name,
           (size_t)name_len * sizeof(ntfschar));
    ntfs_name_upcase(dc->k[dc->n].units, (u32)name_len, dc->vol->upcase,
                     dc->vol->upcase_len);
    memset(&dc->v[dc->n], 0, sizeof dc->v[dc->n]);
    dc->v[dc->n].name = n;
    dc->v[dc->n].st.mft_record = MREF(mref);
    dc->v[dc->n].st.sequence = (uint16_t)MSEQNO(mref);
    dc->v[dc->n].st.record_offset = VSS_FS_NO_OFFSET;
    dc->n++;
    return 0;
}

void vss_fs_entries_free(vss_fs_entry *entries, size_t count)
{
    size_t i;
    if (!entries)
        return;
    for (i = 0; i < count; i++)
        free(entries[i].name);
    free(entries);
}

int vss_fs_list(vss_fs *fs, const char *path, vss_fs_entry **entries,
                size_t *count, vss_error *err)
{
    ntfs_inode *dir;
    dir_collect dc = {0};
    s64 pos = 0;
    size_t i;
    int rc;

    if (!fs || !path || !entries || !count)
        return vss_fail(err, VSS_EINVAL, "vss_fs_list: NULL argument");
    *entries = NULL;
    *count = 0;
    fs_lock(fs);
    rc = fs_lookup(fs, path, &dir, err);
    if (rc) {
        fs_unlock(fs);
        return rc;
    }
    if (!(dir->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
        rc = vss_fail(err, VSS_EINVAL,
                      "NTFS: '%s' (MFT record %llu) is not a directory", path,
                      (unsigned long long)dir->mft_no);
        ntfs_inode_close(dir);
        fs_unlock(fs);
        return rc;
    }
    /* Collect names first and open the records afterwards: ntfs_readdir
     * holds index state of dir while it calls back. */
    dc.vol = fs->vol;
    if (ntfs_readdir(dir, &pos, &dc, collect_entry) || dc.rc ||
        (dc.rc = dir_sort(&dc)) != VSS_OK) {
        if (dc.rc == VSS_ENOMEM)
            rc = vss_fail(err, VSS_ENOMEM, "out of memory");
        else if (dc.rc)
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: directory '%s' (MFT record %llu) has more "
                          "than %u entries",
                          path, (unsigned long long)dir->mft_no,
                          MAX_DIR_ENTRIES);
        else
            rc = fs_fail(fs, err, errno,
                         "index of directory '%s' (MFT record %llu)", path,
                         (unsigned long long)dir->mft_no);
        ntfs_inode_close(dir);
        fs_unlock(fs);
        vss_fs_entries_free(dc.v, dc.n);
        dir_keys_free(dc.k, dc.n);
        return rc;
    }
    dir_keys_free(dc.k, dc.n);
    ntfs_inode_close(dir);
    for (i = 0; i < dc.n; i++) {
        vss_fs_entry *e = &dc.v[i];
        ntfs_inode *ni;
        vss_error tmp;
        MFT_REF mref = MK_MREF(e->st.mft_record, e->st.sequence);

        fs->dev_ctx.last_rc = 0;
        ni = ntfs_inode_open(fs->vol, mref);
        if (!ni) {
            e->stat_rc = fs->dev_ctx.last_rc ? fs->dev_ctx.last_rc
                                             : VSS_ECORRUPT;
            continue;
        }
        e->stat_rc = fill_stat(fs, ni, NULL, &e->st, &tmp);
        if (e->stat_rc) {
            e->st.mft_record = ni->mft_no;
            e->st.sequence = (uint16_t)MSEQNO(mref);
        }
        ntfs_inode_close(ni);
    }
    fs_unlock(fs);
    *entries = dc.v;
    *count = dc.n;
    return VSS_OK;
}
