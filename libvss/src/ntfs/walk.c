/*
 * walk.c — vss_fs_walk: one directory walk of a vss_fs for every tool
 * (vssinfo --ls -r, the audit's index, vssmount), with the guards a hostile
 * file system needs. Written against the public vss_fs API.
 *
 * Guards: every directory record is walked once (vss_chain: a directory
 * linked twice, or from below itself, is reported as VSS_WALK_LOOP), no
 * deeper than max_depth (VSS_WALK_TOO_DEEP), and at most max_entries
 * entries. Errors of one directory or record go to the callback; the walk
 * goes on with the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"

/* Record number of the root directory: its "." entry lists it again. */
#define ROOT_RECORD 5
/* Suffix of the shadow copy store files in System Volume Information. */
#define STORE_SUFFIX "{3808876b-c176-4e48-b7ae-04046e6cc752}"

typedef struct walker {
    vss_fs *fs;
    unsigned flags;
    int max_depth;
    uint64_t max_entries, entries;
    size_t start_len;      /* of the start path, to make `relative` */
    vss_chain seen;        /* directory records walked */
    vss_walk_cb cb;
    void *user;
    vss_error *err;
} walker;

/* "/dir" + "name" -> "/dir/name" ("/" + "name" -> "/name"). */
static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = vss_malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    if (!a || dir[a - 1] != '/')
        p[a++] = '/';
    memcpy(p + a, name, b + 1);
    return p;
}

static const char *relative_of(const walker *w, const char *path)
{
    const char *r = path + w->start_len;
    while (*r == '/')
        r++;
    return r;
}

/* An event about the entry `path` (name, st, depth), the rest zero. */
static void event_init(const walker *w, vss_walk_entry *e,
                       vss_walk_event ev, const char *path, const char *name,
                       const vss_fs_stat *st, int depth)
{
    memset(e, 0, sizeof *e);
    e->event = ev;
    e->path = path;
    e->relative = relative_of(w, path);
    e->name = name;
    e->st = st;
    e->depth = depth;
}

static int report(walker *w, vss_walk_event ev, const char *path,
                  const char *name, const vss_fs_stat *st, int depth,
                  int error, const char *message)
{
    vss_walk_entry e;
    event_init(w, &e, ev, path, name, st, depth);
    e.error = error;
    e.message = message;
    return w->cb(&e, w->user);
}

/* Left out by the caller's VSS_WALK_SKIP_* flags: NTFS metadata files in
 * the root, and the shadow copy files themselves (their snapshot content is
 * by design not the snapshot's: they read as zeros). */
static int skipped(const walker *w, const char *dir, const char *name)
{
    size_t n = strlen(name), s = strlen(STORE_SUFFIX);
    if ((w->flags & VSS_WALK_SKIP_METADATA) && strcmp(dir, "/") == 0 &&
        name[0] == '$')
        return 1;
    return (w->flags & VSS_WALK_SKIP_SHADOW_FILES) &&
           strcasecmp(dir, "/System Volume Information") == 0 && n >= s &&
           strcasecmp(name + n - s, STORE_SUFFIX) == 0;
}

/* An entry and, with VSS_WALK_STREAMS, its $DATA streams. */
static int entry(walker *w, const char *path, const char *name,
                 const vss_fs_stat *st, int depth)
{
    vss_fs_stream *ss = NULL;
    vss_error e = {0};
    size_t ns = 0, k;
    int rc = report(w, VSS_WALK_ENTRY, path, name, st, depth, 0, NULL);

    /* A file's unnamed $DATA is a stream too (reported as ""); an entry
     * with neither it nor named streams (a directory without any, a
     * metadata file with index attributes only) has nothing to list. */
    if (rc || !(w->flags & VSS_WALK_STREAMS) ||
        (!st->stream_count && (st->is_directory || !st->has_data)))
        return rc;
    if (vss_fs_streams(w->fs, path, &ss, &ns, &e))
        return report(w, VSS_WALK_BAD_STREAMS, path, name, NULL, depth,
                      e.code, e.message);
    for (k = 0; k < ns && !rc; k++) {
        vss_walk_entry x;
        event_init(w, &x, VSS_WALK_STREAM, path, name, st, depth);
        x.stream = ss[k].name;
        x.stream_size = ss[k].size;
        x.stream_resident = ss[k].resident;
        rc = w->cb(&x, w->user);
    }
    vss_fs_streams_free(ss, ns);
    return rc;
}

static int walk_dir(walker *w, const char *dir, int depth)
{
    vss_fs_entry *ents = NULL;
    vss_error e = {0};
    size_t n = 0, i;
    int rc = 0;

    if (vss_fs_list(w->fs, dir, &ents, &n, &e))
        return report(w, VSS_WALK_BAD_DIR, dir, "", NULL, depth, e.code,
                      e.message);
    for (i = 0; i < n && !rc; i++) {
        vss_fs_entry *x = &ents[i];
        char *full;

        if (w->max_entries && ++w->entries > w->max_entries) {
            rc = vss_fail(w->err, VSS_ECORRUPT,
                          "directory '%s': more than %llu entries in the "
                          "walk", dir, (unsigned long long)w->max_entries);
            break;
        }
        full = join(dir, x->name);
        if (!full) {
            rc = vss_fail(w->err, VSS_ENOMEM, "out of memory");
            break;
        }
        if (x->stat_rc) {
            /* vss_fs_list gives the code only; a stat of the path gives
             * the library's message naming the structure and offset. */
            vss_fs_stat st;
            vss_error se = {0};
            if (vss_fs_stat_path(w->fs, full, &st, &se) == 0)
                snprintf(se.message, sizeof se.message, "%s",
                         vss_strerror(x->stat_rc));
            rc = report(w, VSS_WALK_BAD_ENTRY, full, x->name, &x->st, depth,
                        x->stat_rc, se.message);
        } else if (skipped(w, dir, x->name)) {
            rc = report(w, VSS_WALK_SKIPPED, full, x->name, &x->st, depth, 0,
                        NULL);
        } else {
            rc = entry(w, full, x->name, &x->st, depth);
            if (!rc && (w->flags & VSS_WALK_RECURSIVE) &&
                x->st.is_directory && x->st.mft_record != ROOT_RECORD) {
                vss_error ce = {0};
                int s = vss_chain_visit(&w->seen, x->st.mft_record, &ce);
                if (s == VSS_ENOMEM)
                    rc = vss_fail(w->err, VSS_ENOMEM, "out of memory");
                else if (s)
                    rc = report(w, VSS_WALK_LOOP, full, x->name, &x->st,
                                depth, VSS_ECORRUPT, ce.message);
                else if (depth >= w->max_depth)
                    rc = report(w, VSS_WALK_TOO_DEEP, full, x->name, &x->st,
                                depth, VSS_ECORRUPT, "too deep");
                else
                    rc = walk_dir(w, full, depth + 1);
            }
        }
        free(full);
    }
    vss_fs_entries_free(ents, n);
    return rc;
}

int vss_fs_walk(vss_fs *fs, const char *start, const vss_fs_walk_options *opts,
                vss_walk_cb cb, void *user, vss_error *err)
{
    walker w;
    vss_fs_stat st;
    char *root;
    size_t l;
    int rc;

    if (!fs || !cb)
        return vss_fail(err, VSS_EINVAL, "vss_fs_walk: no file system or "
                                         "callback");
    memset(&w, 0, sizeof w);
    w.fs = fs;
    w.flags = opts ? opts->flags : VSS_WALK_RECURSIVE;
    w.max_depth = opts && opts->max_depth > 0 ? opts->max_depth
                                              : VSS_WALK_DEFAULT_DEPTH;
    w.max_entries = opts ? opts->max_entries : 0;
    w.cb = cb;
    w.user = user;
    w.err = err;
    w.seen.max = SIZE_MAX;
    w.seen.what = "directory MFT record";
    /* One spelling of the start: "/dir/sub" ("/" for the root). */
    while (start && *start == '/')
        start++;
    root = join("", start ? start : "");
    if (!root)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    for (l = strlen(root); l > 1 && root[l - 1] == '/'; l--)
        root[l - 1] = '\0';
    w.start_len = strlen(root);
    if ((rc = vss_fs_stat_path(fs, root, &st, err)) != 0) {
        free(root);
        return rc;
    }
    if (!st.is_directory) {
        const char *base = strrchr(root, '/');
        rc = entry(&w, root, base + 1, &st, 0);
    } else if ((rc = vss_chain_visit(&w.seen, st.mft_record, err)) == 0) {
        rc = walk_dir(&w, root, 0);
    }
    vss_chain_free(&w.seen);
    free(root);
    return rc;
}
