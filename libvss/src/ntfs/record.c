/*
 * ntfs/record.c — vss_fs_record_path: the path of an MFT record, found by
 * climbing its $FILE_NAME parents to the root, as fls/ffind do. The
 * history (audit/history.c) follows one file (record and sequence) through
 * renames with it, and `vssinfo --history @RECORD` starts from it.
 *
 * Every parent must be an in-use directory whose sequence number is the
 * one the child's $FILE_NAME names; otherwise the record is an orphan
 * (its directory was deleted or reused) and has no path. The climb is
 * bounded by MAX_PATH_DEPTH, so a hostile cycle of parents ends.
 */
#include <inttypes.h>

#include "ntfs/ntfs_int.h"

/* The record's first Win32/POSIX name (its DOS 8.3 alias only when it has
 * nothing else): malloc'ed UTF-8 in *name, the parent reference in
 * *parent. VSS_ENOTFOUND when the record has no readable $FILE_NAME. */
static int record_name(ntfs_inode *ni, char **name, u64 *parent)
{
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
    const FILE_NAME_ATTR *best = NULL, *fn;
    int rc = VSS_ENOTFOUND;

    *name = NULL;
    if (!ctx)
        return VSS_ENOMEM;
    while ((fn = next_file_name(ctx))) {
        if (!best || (best->file_name_type == FILE_NAME_DOS &&
                      fn->file_name_type != FILE_NAME_DOS))
            best = fn;
        if (best->file_name_type != FILE_NAME_DOS)
            break;
    }
    if (best) {
        *parent = le64_to_cpu(best->parent_directory);
        *name = name_to_utf8(
            (const ntfschar *)((const u8 *)best +
                               offsetof(FILE_NAME_ATTR, file_name)),
            best->file_name_length);
        rc = *name ? VSS_OK : VSS_ENOMEM;
    }
    ntfs_attr_put_search_ctx(ctx);
    return rc;
}

/* Prepend "name/" (or "name" at the end) to the path built so far. */
static char *prepend(char *path, const char *name)
{
    size_t n = strlen(name), l = path ? strlen(path) : 0;
    char *p = vss_malloc(n + l + 2);
    if (!p) {
        free(path);
        return NULL;
    }
    memcpy(p, name, n);
    if (path) {
        p[n] = '/';
        memcpy(p + n + 1, path, l + 1);
    } else {
        p[n] = '\0';
    }
    free(path);
    return p;
}

int vss_fs_record_path(vss_fs *fs, uint64_t record, char **path,
                       vss_fs_stat *st, vss_error *err)
{
    ntfs_inode *ni, *cur;
    char *built = NULL;
    int rc = VSS_OK, depth = 0;
    uint64_t recno = record;

    if (!fs || !path)
        return vss_fail(err, VSS_EINVAL, "vss_fs_record_path: NULL argument");
    *path = NULL;
    if (record >= ((uint64_t)1 << 48))
        return vss_fail(err, VSS_EINVAL,
                        "MFT record %" PRIu64 ": not a record number",
                        record);
    fs_lock(fs);
    ni = ntfs_inode_open(fs->vol, (MFT_REF)record);
    if (!ni) {
        rc = fs_fail(fs, err, errno, "MFT record %" PRIu64, record);
        fs_unlock(fs);
        return rc;
    }
    if (!(ni->mrec->flags & MFT_RECORD_IN_USE)) {
        ntfs_inode_close(ni);
        fs_unlock(fs);
        return vss_fail(err, VSS_ENOTFOUND,
                        "MFT record %" PRIu64 " is not in use", record);
    }
    if (st && (rc = fill_stat(fs, ni, NULL, st, err)) != VSS_OK) {
        ntfs_inode_close(ni);
        fs_unlock(fs);
        return rc;
    }
    cur = ni;
    while (cur->mft_no != FILE_root) {
        char *name;
        u64 parent;
        ntfs_inode *up;
        uint64_t child = cur->mft_no;

        rc = record_name(cur, &name, &parent);
        if (cur != ni)
            ntfs_inode_close(cur);
        cur = NULL;
        if (rc == VSS_ENOMEM) {
            vss_fail(err, rc, "out of memory");
            break;
        }
        if (rc) {
            vss_fail(err, rc,
                     "MFT record %" PRIu64 ": record %" PRIu64
                     " on its path has no $FILE_NAME",
                     recno, child);
            break;
        }
        built = prepend(built, name);
        free(name);
        if (!built) {
            rc = vss_fail(err, VSS_ENOMEM, "out of memory");
            break;
        }
        if (++depth > MAX_PATH_DEPTH || MREF(parent) == child) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "MFT record %" PRIu64 ": its parents loop or "
                          "nest deeper than %d (at record %" PRIu64 ")",
                          recno, MAX_PATH_DEPTH, child);
            break;
        }
        /* With its sequence number: a parent record since reused is
         * another directory, and the file an orphan. */
        up = ntfs_inode_open(fs->vol, (MFT_REF)parent);
        if (!up || !(up->mrec->flags & MFT_RECORD_IN_USE) ||
            !(up->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
            if (up)
                ntfs_inode_close(up);
            rc = vss_fail(err, VSS_ENOTFOUND,
                          "MFT record %" PRIu64 " is an orphan: its "
                          "directory (record %llu, sequence %u) is gone",
                          recno, (unsigned long long)MREF(parent),
                          (unsigned)MSEQNO(parent));
            break;
        }
        cur = up;
    }
    if (cur && cur != ni)
        ntfs_inode_close(cur);
    ntfs_inode_close(ni);
    fs_unlock(fs);
    if (rc) {
        free(built);
        return rc;
    }
    *path = built ? built : strdup("");
    return *path ? VSS_OK : vss_fail(err, VSS_ENOMEM, "out of memory");
}
