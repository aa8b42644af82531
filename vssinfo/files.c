/*
 * files.c — vssinfo --ls / --bodyfile / --file: the files inside snapshot N
 * (or the live volume), through the library's vss_fs API.
 *
 * --ls -r walks with vss_fs_walk. --file also asks the library where each
 * recovered byte comes from (vss_fs_file_provenance) and warns when some
 * of them were not preserved by the shadow copy (class zero or stale):
 * those bytes are not evidence of the snapshot, and an examiner must know
 * which ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "files.h"
#include "json.h"
#include "vssinfo.h"

#define warn cli_warn

/* ---- "N[:PATH]" / "live[:PATH]" ---------------------------------------- */

typedef struct target {
    int index;            /* snapshot, 0 = live volume */
    const char *path;     /* inside the volume ("" = root) */
    char label[16];       /* "snapshot 3" / "live" for messages */
} target;

/* "snapshot": N, or "live" for the current volume (index 0). */
static void json_snapshot(json *j, int index)
{
    json_key(j, "snapshot");
    if (index)
        json_i64(j, index);
    else
        json_string(j, "live");
}

static int parse_spec(const char *spec, target *t)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    char num[16];
    char *end;
    unsigned long v;

    memset(t, 0, sizeof *t);
    t->path = colon ? colon + 1 : "";
    if (n == 4 && strncmp(spec, "live", 4) == 0) {
        snprintf(t->label, sizeof t->label, "live");
        return 0;
    }
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, spec, n);
    num[n] = '\0';
    errno = 0;
    v = strtoul(num, &end, 10);
    if (errno || *end || num[0] == '-' || v < 1 || v > 100000)
        return -1;
    t->index = (int)v;
    snprintf(t->label, sizeof t->label, "snapshot %d", t->index);
    return 0;
}

/* The volume the target names, mounted. *snap is set for snapshots. */
static int open_target(found_volume *fv, const target *t, vss_fill fill,
                       vss_snapshot **snap, vss_fs **fs)
{
    vss_error e = {0};
    vss_source *src = NULL;

    *snap = NULL;
    *fs = NULL;
    if (t->index == 0) {
        if (!fv->src)
            return warn("%s", fv->open_error[0] ? fv->open_error
                                                : "volume not readable");
        src = fv->src;
        vss_source_retain(src);
    } else {
        if (!fv->vol)
            return warn("%s", fv->open_error);
        if (fv->open_rc && !vss_volume_storage_ready(fv->vol))
            return warn("%s", fv->open_error);
        if (vss_snapshot_open(fv->vol, t->index, fill, snap, &e) ||
            vss_snapshot_source(*snap, &src, &e)) {
            vss_snapshot_close(*snap);
            *snap = NULL;
            return warn("%s", e.message);
        }
    }
    if (vss_fs_open(src, fs, &e)) {
        vss_source_release(src);
        vss_snapshot_close(*snap);
        *snap = NULL;
        return warn("%s: %s", t->label, e.message);
    }
    vss_source_release(src);  /* the vss_fs holds its own reference */
    return 0;
}

/* ---- --ls and --bodyfile ------------------------------------------------ */

/* FILETIME -> Unix seconds for body files, as The Sleuth Kit writes them:
 * whole seconds, 0 for "never" and for anything before 1970, modulo 2^32. */
static uint32_t body_time(uint64_t ft)
{
    const uint64_t epoch = UINT64_C(116444736000000000); /* 1970 - 1601 */
    if (ft < epoch)
        return 0;
    return (uint32_t)((ft - epoch) / 10000000u);
}

/* --unique: the lines already printed, without their source prefix. */
typedef struct line_set {
    char **slot;             /* open addressing; NULL = free */
    size_t cap, n;
} line_set;

typedef struct ls_ctx {
    vss_fs *fs;
    const files_options *o;
    const target *t;
    json *j;
    int errors;
    FILE *out;               /* stdout, or a memory stream for --unique */
    const char *prefix;      /* "vss3", "live" when several sources are
                                listed (each path is prefixed "vss3/"), or
                                "" */
    line_set *seen;          /* --unique */
    char *mbuf;              /* the memory stream's buffer */
    size_t msize;
} ls_ctx;

static uint64_t line_hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
    return h;
}

/* Add the n bytes at s: 1 if they are new, 0 if seen before, -1 out of
 * memory. */
static int line_set_add(line_set *ls, const char *s, size_t n)
{
    size_t i;
    if (2 * (ls->n + 1) > ls->cap) {
        size_t nc = ls->cap ? 2 * ls->cap : 1024;
        char **ns = calloc(nc, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t k = 0; k < ls->cap; k++)
            if (ls->slot[k]) {
                i = line_hash(ls->slot[k], strlen(ls->slot[k])) & (nc - 1);
                while (ns[i])
                    i = (i + 1) & (nc - 1);
                ns[i] = ls->slot[k];
            }
        free(ls->slot);
        ls->slot = ns;
        ls->cap = nc;
    }
    for (i = line_hash(s, n) & (ls->cap - 1); ls->slot[i];
         i = (i + 1) & (ls->cap - 1))
        if (strlen(ls->slot[i]) == n && memcmp(ls->slot[i], s, n) == 0)
            return 0;
    if (!(ls->slot[i] = strndup(s, n)))
        return -1;
    ls->n++;
    return 1;
}

static void line_set_free(line_set *ls)
{
    for (size_t k = 0; k < ls->cap; k++)
        free(ls->slot[k]);
    free(ls->slot);
}

/* --unique: the lines of the entry just listed (in the memory stream) go
 * to stdout unless a line equal but for its source prefix was printed
 * before, from an older source. */
static int unique_flush(ls_ctx *c)
{
    const char *p, *end, *nl;
    char pre[24];
    size_t pl;
    int rc = 0;

    if (fflush(c->out))
        return -1;
    snprintf(pre, sizeof pre, "%s/", c->prefix);
    pl = *c->prefix ? strlen(pre) : 0;
    for (p = c->mbuf, end = c->mbuf + c->msize; p < end; p = nl + 1) {
        char *key;
        const char *at;
        size_t n;
        int added;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end - 1;
        n = (size_t)(nl - p) + 1;
        /* the key: the line without its source ("0|vss3/x" -> "0|/x") */
        key = malloc(n + 1);
        if (!key)
            return -1;
        memcpy(key, p, n);
        key[n] = '\0';
        if (pl && (at = strstr(key, pre)) != NULL)
            memmove((char *)at, at + pl, strlen(at + pl) + 1);
        added = line_set_add(c->seen, key, strlen(key));
        free(key);
        if (added < 0)
            return -1;
        if (added && fwrite(p, 1, n, stdout) != n)
            rc = -1;
    }
    fseeko(c->out, 0, SEEK_SET);
    return rc;
}


static void print_times_text(FILE *f, const vss_fs_stat *st)
{
    char c[32], m[32], x[32], a[32];
    vss_filetime_format(st->creation_time, c);
    vss_filetime_format(st->modification_time, m);
    vss_filetime_format(st->mft_change_time, x);
    vss_filetime_format(st->access_time, a);
    fprintf(f, "%s %s %s %s", c, m, x, a);
}

/* One body file line (TSK 3 format, as fls -m writes it):
 * MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime. name is
 * /PATH, then ":STREAM" or " ($FILE_NAME)"; inode is RECORD-TYPE-ID, the
 * attribute's type and instance number (The Sleuth Kit's address, which
 * icat/istat take), or RECORD alone for a record without data or index
 * attribute. Control characters in names become '^', as fls prints them. */
static void body_line(ls_ctx *c, const char *path, const char *stream,
                      const char *suffix, const vss_fs_stat *st,
                      const vss_fs_attr *attr, uint64_t size, uint64_t atime,
                      uint64_t mtime, uint64_t ctime, uint64_t crtime)
{
    /* Mode as TSK derives it from $STANDARD_INFORMATION: execute always,
     * read unless read-only (0x1), write unless hidden (0x2). */
    char t = st->is_directory ? 'd' : 'r';
    const char *r = st->attributes & 0x1 ? "-" : "r";
    const char *w = st->attributes & 0x2 ? "-" : "w";
    const char *p;
    FILE *f = c->out;

    /* fls -m PREFIX writes PREFIX/path: here the source, "vss3/..." */
    fprintf(f, "0|%s/", c->prefix);
    for (p = path; *p; p++)
        putc((unsigned char)*p < 0x20 ? '^' : *p, f);
    if (stream) {
        putc(':', f);
        for (p = stream; *p; p++)
            putc((unsigned char)*p < 0x20 ? '^' : *p, f);
    }
    fputs(suffix, f);
    fprintf(f, "|%" PRIu64, st->mft_record);
    if (attr)
        fprintf(f, "-%" PRIu32 "-%u", attr->type, (unsigned)attr->id);
    fprintf(f, "|%c/%c%s%sx%s%sx%s%sx|%" PRIu32 "|0|%" PRIu64 "|%" PRIu32
           "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "\n",
           t, t, r, w, r, w, r, w, st->owner_id, size, body_time(atime),
           body_time(mtime), body_time(ctime), body_time(crtime));
}

/* The body file lines of one entry, the attributes fls -m prints in the
 * order of the record: each $DATA stream and each index root ($I30 as the
 * path itself, others such as $Secure:$SDH or $Extend/$Quota:$Q as
 * PATH:NAME), and the $FILE_NAME whose times vss_fs_stat took (the last
 * non-DOS name) as "PATH ($FILE_NAME)" with that attribute's size. A record
 * with neither data nor index gets one line without an attribute. */
static void body_entry(ls_ctx *c, const char *full, const vss_fs_stat *st)
{
    vss_fs_attr *a = NULL;
    vss_error e = {0};
    size_t n = 0, i, fn = SIZE_MAX;
    int printed = 0;

    if (vss_fs_attrs(c->fs, full, &a, &n, &e)) {
        c->errors++;
        warn("%s: %s", c->t->label, e.message);
        return;
    }
    for (i = 0; i < n; i++)
        if (a[i].type == VSS_FS_ATTR_FILE_NAME && a[i].name_space <= 3 &&
            a[i].name_space != 2)
            fn = i;
    for (i = 0; i < n; i++) {
        if (a[i].type == VSS_FS_ATTR_DATA ||
            a[i].type == VSS_FS_ATTR_INDEX_ROOT) {
            int named = a[i].type == VSS_FS_ATTR_DATA
                            ? a[i].name[0] != '\0'
                            : strcmp(a[i].name, "$I30") != 0;
            printed = 1;
            body_line(c, full, named ? a[i].name : NULL, "", st, &a[i],
                      a[i].size, st->access_time, st->modification_time,
                      st->mft_change_time, st->creation_time);
        } else if (i == fn) {
            body_line(c, full, NULL, " ($FILE_NAME)", st, &a[i], a[i].size,
                      st->fn_access_time, st->fn_modification_time,
                      st->fn_mft_change_time, st->fn_creation_time);
        }
    }
    if (!printed)
        body_line(c, full, NULL, "", st, NULL, st->size, st->access_time,
                  st->modification_time, st->mft_change_time,
                  st->creation_time);
    vss_fs_attrs_free(a, n);
}

static void print_entry(ls_ctx *c, const char *shown, const char *full,
                        const vss_fs_stat *st, const char *stream,
                        uint64_t size)
{
    char type = stream ? 's' : st->is_directory ? 'd' : '-';
    if (c->o->bodyfile) {
        if (!stream)
            body_entry(c, full, st);
        return;
    }
    if (c->j) {
        json *j = c->j;
        json_object(j);
        json_key(j, "path");
        if (stream) {
            char *p = malloc(strlen(full) + strlen(stream) + 2);
            if (p) {
                sprintf(p, "%s:%s", full, stream);
                json_string(j, p);
                free(p);
            } else {
                json_null(j);
            }
        } else {
            json_string(j, full);
        }
        json_key_string(j, "type", stream              ? "stream"
                                   : st->is_directory ? "directory"
                                                      : "file");
        json_key_u64(j, "record", st->mft_record);
        json_key_u64(j, "sequence", st->sequence);
        json_key_u64(j, "size", size);
        json_key_bool(j, "has_data", stream ? 1 : st->has_data);
        json_key_u64(j, "attributes", st->attributes);
        json_key_u64(j, "links", st->link_count);
        json_key_times(j, st->creation_time, st->modification_time,
                       st->mft_change_time, st->access_time);
        if (!stream && st->has_file_name) {
            json_key(j, "file_name_times");
            json_object(j);
            json_key_times(j, st->fn_creation_time,
                           st->fn_modification_time, st->fn_mft_change_time,
                           st->fn_access_time);
            json_end_object(j);
        }
        json_end_object(j);
        return;
    }
    fprintf(c->out, "%c %10" PRIu64 " %5u %14" PRIu64 " ", type,
            st->mft_record, (unsigned)st->sequence, size);
    print_times_text(c->out, st);
    fprintf(c->out, " %s%s%s%s%s\n", c->prefix, *c->prefix ? "/" : "",
            shown, stream ? ":" : "", stream ? stream : "");
}

static void print_bad_entry(ls_ctx *c, const char *full,
                            const vss_fs_stat *st, int rc)
{
    c->errors++;
    warn("%s: '%s' (MFT record %" PRIu64 "): %s", c->t->label, full,
         st->mft_record, vss_strerror(rc));
    if (c->j) {
        json_object(c->j);
        json_key_string(c->j, "path", full);
        json_key_u64(c->j, "record", st->mft_record);
        json_key_string(c->j, "error", vss_strerror(rc));
        json_end_object(c->j);
    } else if (!c->o->bodyfile) {
        fprintf(c->out, "? %10" PRIu64 " %5u %14s %s%s%s\n", st->mft_record,
                (unsigned)st->sequence, "?", c->prefix,
                *c->prefix ? "/" : "", full);
    }
}

/* One event of the library's walk (vss_fs_walk). Its paths start with
 * '/'; vssinfo prints them without. */
static int ls_entry(const vss_walk_entry *w, void *user)
{
    ls_ctx *c = user;
    const char *full = w->path + 1;

    switch (w->event) {
    case VSS_WALK_ENTRY:
        print_entry(c, w->relative, full, w->st, NULL, w->st->size);
        break;
    case VSS_WALK_STREAM:
        if (w->stream[0])
            print_entry(c, w->relative, full, w->st, w->stream,
                        w->stream_size);
        break;
    case VSS_WALK_BAD_ENTRY:
        print_bad_entry(c, full, w->st, w->error);
        break;
    case VSS_WALK_LOOP:
    case VSS_WALK_TOO_DEEP:
        c->errors++;
        warn("%s: '%s' (MFT record %" PRIu64 "): %s, not listed again",
             c->t->label, full, w->st->mft_record,
             w->event == VSS_WALK_LOOP
                 ? "directory already listed (linked twice)"
                 : "too deep");
        break;
    default: /* a directory or the streams of a file could not be read */
        c->errors++;
        warn("%s: %s", c->t->label, w->message);
        break;
    }
    if (c->seen && unique_flush(c))
        return warn("--unique: out of memory or write failed");
    return 0;
}

/* The sources an --ls SPEC names: "N", "live", or a list of "N", "N-M",
 * "live" and "all" (every snapshot and the live volume), separated by
 * ','; then ":PATH". idx[] gets them in order (snapshots ascending, then
 * live = 0), each once. Returns the count, or -1. */
static int parse_sources(const char *spec, int nsnap, int *idx, int max,
                         const char **path)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    char *list = strndup(spec, n), *tok, *save = NULL;
    char *want = calloc((size_t)nsnap + 2, 1); /* [0] live, [k] snap k */
    int count = 0, live = 0;

    *path = colon ? colon + 1 : "";
    if (!list || !want || !n) {
        free(list);
        free(want);
        return -1;
    }
    for (tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned long a, b;
        char *end;
        if (strcmp(tok, "live") == 0) {
            live = 1;
            continue;
        }
        if (strcmp(tok, "all") == 0) {
            memset(want + 1, 1, (size_t)nsnap);
            live = 1;
            continue;
        }
        errno = 0;
        a = strtoul(tok, &end, 10);
        b = a;
        if (*end == '-' && end[1] != '-')
            b = strtoul(end + 1, &end, 10);
        if (errno || *end || tok[0] == '-' || a < 1 || b < a ||
            b > (unsigned long)nsnap) {
            free(list);
            free(want);
            return -1;
        }
        for (unsigned long k = a; k <= b; k++)
            want[k] = 1;
    }
    for (int k = 1; k <= nsnap && count < max; k++)
        if (want[k])
            idx[count++] = k;
    if (live && count < max)
        idx[count++] = 0;
    free(list);
    free(want);
    return count;
}

/* List one source; c has o, j, out, prefix and seen set. */
static int ls_one(found_volume *fv, const files_options *o, target *t,
                  ls_ctx *c)
{
    vss_snapshot *snap;
    vss_fs *fs;
    vss_fs_stat st;
    vss_error e = {0};
    json *j = c->j;
    char *dir;
    size_t l;

    if (open_target(fv, t, o->fill, &snap, &fs))
        return 1;
    /* Normalise: no leading or trailing '/'. */
    while (*t->path == '/')
        t->path++;
    dir = strdup(t->path);
    if (!dir) {
        vss_fs_close(fs);
        vss_snapshot_close(snap);
        return warn("out of memory");
    }
    for (l = strlen(dir); l && dir[l - 1] == '/'; l--)
        dir[l - 1] = '\0';
    if (vss_fs_stat_path(fs, dir, &st, &e)) {
        warn("%s: %s", t->label, e.message);
        free(dir);
        vss_fs_close(fs);
        vss_snapshot_close(snap);
        return 1;
    }
    c->fs = fs;
    c->t = t;
    c->errors = 0;
    if (j) {
        json_object(j);
        json_snapshot(j, t->index);
        json_key_string(j, "path", dir);
        json_key(j, "entries");
        json_array(j);
    }
    if (!st.is_directory) {
        /* --ls of a file lists that file, like ls(1). */
        const char *base = strrchr(dir, '/');
        print_entry(c, base ? base + 1 : dir, dir, &st, NULL, st.size);
        if (c->seen && unique_flush(c))
            c->errors += warn("--unique: out of memory or write failed");
    } else {
        vss_fs_walk_options wo = {0};
        wo.flags = (o->recursive ? VSS_WALK_RECURSIVE : 0) |
                   (o->bodyfile ? 0 : VSS_WALK_STREAMS);
        if (vss_fs_walk(fs, dir, &wo, ls_entry, c, &e)) {
            c->errors++;
            warn("%s: %s", t->label, e.message);
        }
    }
    if (j) {
        json_end_array(j);
        json_key_i64(j, "errors", c->errors);
        json_end_object(j);
    }
    free(dir);
    vss_fs_close(fs);
    vss_snapshot_close(snap);
    return c->errors ? 1 : 0;
}

static int do_ls(found_volume *fv, const files_options *o)
{
    int nsnap = fv->vol ? vss_volume_snapshot_count(fv->vol) : 0;
    int *idx = calloc((size_t)nsnap + 1, sizeof *idx);
    int n, rc = 0;
    const char *path;
    line_set seen = {0};
    ls_ctx c;
    json j;

    if (!idx)
        return warn("out of memory");
    n = parse_sources(o->ls, nsnap, idx, nsnap + 1, &path);
    if (n <= 0) {
        free(idx);
        return warn("--ls: expected N, N-M, live, all or a list of them "
                    "(snapshots 1-%d), then [:PATH]; got '%s'",
                    nsnap, o->ls) * 2;
    }
    if (o->unique && o->json && !o->bodyfile) {
        free(idx);
        return warn("--unique goes with the text listing or --bodyfile, "
                    "not --json") * 2;
    }
    memset(&c, 0, sizeof c);
    c.o = o;
    c.out = stdout;
    c.prefix = "";
    if (o->unique) {
        c.seen = &seen;
        c.out = open_memstream(&c.mbuf, &c.msize);
        if (!c.out) {
            free(idx);
            return warn("out of memory");
        }
    }
    if (o->json && !o->bodyfile) {
        json_begin(&j, stdout);
        c.j = &j;
        if (n > 1) {
            json_object(&j);
            json_key(&j, "listings");
            json_array(&j);
        }
    }
    for (int i = 0; i < n; i++) {
        target t;
        char name[16], prefix[16];
        memset(&t, 0, sizeof t);
        t.index = idx[i];
        t.path = path;
        if (t.index)
            snprintf(t.label, sizeof t.label, "snapshot %d", t.index);
        else
            snprintf(t.label, sizeof t.label, "live");
        /* several sources: each path says where it comes from */
        snprintf(prefix, sizeof prefix, "%s", "");
        if (n > 1) {
            if (t.index)
                snprintf(name, sizeof name, "vss%d", t.index);
            else
                snprintf(name, sizeof name, "live");
            snprintf(prefix, sizeof prefix, "%s", name);
        }
        c.prefix = prefix;
        if (ls_one(fv, o, &t, &c))
            rc = 1;
    }
    if (c.j) {
        if (n > 1) {
            json_end_array(&j);
            json_end_object(&j);
        }
        json_finish(&j);
    }
    if (o->unique) {
        fclose(c.out);
        free(c.mbuf);
        line_set_free(&seen);
    }
    free(idx);
    if (fflush(stdout) || ferror(stdout))
        return warn("write failed");
    return rc;
}

/* ---- --file ------------------------------------------------------------- */

static void json_damage(json *j, const vss_lost_range *v, size_t n)
{
    size_t i;
    json_array(j);
    for (i = 0; i < n; i++) {
        json_object(j);
        json_key_u64(j, "offset", v[i].offset);
        json_key_u64(j, "length", v[i].length);
        json_key_string(j, "class", vss_class_name(v[i].cls));
        json_key_string(j, "reason", vss_reason_name(v[i].reason));
        json_end_object(j);
    }
    json_end_array(j);
}

/* PATH names the unnamed $DATA stream. A file without one (metadata files
 * such as $Secure) has empty content and size 0, as --ls and vssmount show
 * it: say so, and name the streams the examiner may have meant. */
static void note_no_unnamed_data(vss_fs *fs, const target *t,
                                 const vss_fs_stat *st)
{
    vss_fs_stream *ss = NULL;
    vss_error e = {0};
    size_t ns = 0, k;
    char spec[16];

    if (t->index)
        snprintf(spec, sizeof spec, "%d", t->index);
    else
        snprintf(spec, sizeof spec, "live");
    if (vss_fs_streams(fs, t->path, &ss, &ns, &e)) {
        warn("%s: %s", t->label, e.message);
        return;
    }
    warn("note: %s: '%s' (MFT record %" PRIu64 ") has no unnamed $DATA "
         "stream: its content is empty (size 0, as --ls shows)%s",
         t->label, t->path, st->mft_record,
         ns ? "; its named streams:" : "; it has no $DATA stream at all");
    for (k = 0; k < ns; k++)
        if (ss[k].name[0])
            fprintf(stderr, "vssinfo:   --file '%s:%s:%s' (%" PRIu64
                    " bytes)\n",
                    spec, t->path, ss[k].name, ss[k].size);
    vss_fs_streams_free(ss, ns);
}

static int do_file(found_volume *fv, const files_options *o)
{
    target t;
    vss_snapshot *snap;
    vss_fs *fs;
    vss_fs_file *f = NULL;
    vss_fs_stat st;
    vss_provenance prov = {0};  /* stays empty for the live volume */
    const vss_fs_extent *ext;
    size_t next, i;
    vss_error e = {0};
    uint8_t *buf = NULL;
    size_t bufsz = 1u << 20;
    uint64_t off = 0, size;
    int fd = STDOUT_FILENO, rc = 0;

    if (parse_spec(o->file, &t) || !*t.path)
        return warn("--file: expected N:PATH or live:PATH, got '%s'",
                    o->file) * 2;
    if (o->json && !o->output)
        return warn("--file --json writes the report to stdout: give "
                    "--output FILE for the data") * 2;
    if (open_target(fv, &t, o->fill, &snap, &fs))
        return 1;
    if (vss_fs_file_open(fs, t.path, &f, &e) ||
        vss_fs_file_stat(f, &st, &e)) {
        rc = warn("%s: %s", t.label, e.message);
        goto out;
    }
    size = vss_fs_file_size(f);
    if (!st.has_data && !st.is_stream)
        note_no_unnamed_data(fs, &t, &st);
    /* Which bytes of the file (and of its MFT record) the snapshot did
     * not preserve. */
    if (snap && vss_fs_file_provenance(snap, fs, f, NULL, &prov, &e)) {
        rc = warn("%s: %s", t.label, e.message);
        goto out;
    }
    ext = prov.extents;
    next = prov.extent_count;
    if (o->output) {
        fd = output_create(o->output, o->force);
        if (fd < 0) {
            rc = output_refused("--output", o->output);
            goto out;
        }
    }
    buf = malloc(bufsz);
    if (!buf) {
        rc = warn("out of memory");
        goto out;
    }
    while (off < size) {
        size_t want = size - off < bufsz ? (size_t)(size - off) : bufsz;
        int64_t n = vss_fs_file_read_at(f, buf, want, off, &e);
        if (n <= 0) {
            rc = warn("%s: %s", t.label,
                      n < 0 ? e.message : "unexpected end of data");
            goto out;
        }
        if (cli_write_all(fd, buf, (size_t)n)) {
            rc = warn("write: %s", strerror(errno));
            goto out;
        }
        off += (uint64_t)n;
    }
    if (prov.record_lost_count)
        warn("warning: %s: the MFT record of '%s' (record %" PRIu64
             ", volume offset %" PRIu64 ") was not fully preserved: its "
             "metadata may not be the snapshot's",
             t.label, t.path, st.mft_record, st.record_offset);
    if (prov.lost_count) {
        uint64_t total = prov.lost_zero + prov.lost_stale;
        warn("warning: %s: %" PRIu64 " of the %" PRIu64 " bytes of '%s' "
             "were not preserved by the shadow copy and are not evidence "
             "of it (zero: read as zeros; stale: today's live data); file "
             "byte ranges START-END, END exclusive:",
             t.label, total, size, t.path);
        for (i = 0; i < prov.lost_count; i++) {
            const vss_lost_range *d = &prov.lost[i];
            fprintf(stderr,
                    "vssinfo:   file bytes %" PRIu64 "-%" PRIu64
                    " (%" PRIu64 " bytes): %s (%s)\n",
                    d->offset, d->offset + d->length, d->length,
                    vss_class_name(d->cls), vss_reason_name(d->reason));
        }
    }
    if (o->json) {
        json j;
        json_begin(&j, stdout);
        json_object(&j);
        json_snapshot(&j, t.index);
        json_key_string(&j, "path", t.path);
        json_key_string(&j, "output", o->output);
        json_key_u64(&j, "record", st.mft_record);
        json_key_u64(&j, "sequence", st.sequence);
        json_key_u64(&j, "size", size);
        json_key_bool(&j, "has_data", st.has_data || st.is_stream);
        json_key(&j, "record_offset");
        if (st.record_offset == VSS_FS_NO_OFFSET)
            json_null(&j);
        else
            json_u64(&j, st.record_offset);
        json_key(&j, "extents");
        json_array(&j);
        for (i = 0; i < next; i++) {
            json_object(&j);
            json_key_u64(&j, "file_offset", ext[i].file_offset);
            json_key(&j, "volume_offset");
            if (ext[i].volume_offset == VSS_FS_NO_OFFSET)
                json_null(&j);
            else
                json_u64(&j, ext[i].volume_offset);
            json_key_u64(&j, "length", ext[i].length);
            json_key_bool(&j, "sparse", !!(ext[i].flags & VSS_EXTENT_SPARSE));
            json_key_bool(&j, "resident",
                          !!(ext[i].flags & VSS_EXTENT_RESIDENT));
            json_key_bool(&j, "uninitialized",
                          !!(ext[i].flags & VSS_EXTENT_UNINIT));
            json_key_bool(&j, "compressed",
                          !!(ext[i].flags & VSS_EXTENT_COMPRESSED));
            json_end_object(&j);
        }
        json_end_array(&j);
        json_key(&j, "damaged");
        json_damage(&j, prov.lost, prov.lost_count);
        json_key(&j, "record_damaged");
        json_damage(&j, prov.record_lost, prov.record_lost_count);
        json_end_object(&j);
        json_finish(&j);
    }
out:
    free(buf);
    if (o->output && fd >= 0 && close(fd) != 0 && !rc)
        rc = warn("closing %s: %s", o->output, strerror(errno));
    vss_provenance_free(&prov);
    vss_fs_file_close(f);
    vss_fs_close(fs);
    vss_snapshot_close(snap);
    return rc;
}

int files_run(found_volume *fv, const files_options *o)
{
    if (o->ls)
        return do_ls(fv, o);
    return do_file(fv, o);
}
