/*
 * container_split.c — raw images split into segments (split -b, FTK
 * "raw (dd)" output): NAME.001 NAME.002 ... (or .000 ...), NAME.aa
 * NAME.ab ... (any suffix length, also without the dot: xaa xab ...).
 * Given the first segment, the rest are found by name; the image is split
 * only if the second segment exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "io/container.h"

#define SPLIT_MAX_SEGMENTS 100000u

typedef struct split_seg {
    vss_source *src;
    uint64_t start, size;
} split_seg;

typedef struct split_ct {
    vss_container base;
    split_seg *seg;
    size_t n;
    char **names;
} split_ct;

/* The name of segment `index` (0 = the first) or -1 past the last name the
 * scheme allows. */
typedef struct split_scheme {
    char *prefix;    /* path up to the suffix */
    int width;       /* suffix length */
    int numeric;     /* digits, else letters */
    unsigned first;  /* numeric: 0 or 1 */
    char a;          /* letters: 'a' or 'A' */
} split_scheme;

static int split_name(const split_scheme *s, size_t index, char *out,
                      size_t outsz)
{
    char suffix[16];
    int i;
    if (s->numeric) {
        uint64_t v = s->first + (uint64_t)index, lim = 1;
        for (i = 0; i < s->width; i++)
            lim *= 10;
        if (v >= lim)
            return -1;
        snprintf(suffix, sizeof suffix, "%0*llu", s->width,
                 (unsigned long long)v);
    } else {
        uint64_t v = index;
        for (i = s->width - 1; i >= 0; i--) {
            suffix[i] = (char)(s->a + (int)(v % 26));
            v /= 26;
        }
        suffix[s->width] = '\0';
        if (v)
            return -1;
    }
    if ((size_t)snprintf(out, outsz, "%s%s", s->prefix, suffix) >= outsz)
        return -1;
    return 0;
}

/* Does the path end in a first-segment suffix? */
static int split_scheme_of(const char *path, split_scheme *s)
{
    size_t len = strlen(path), i = len;
    const char *base = strrchr(path, '/');
    size_t base_at = base ? (size_t)(base - path) + 1 : 0;

    memset(s, 0, sizeof *s);
    /* digits after a dot: .000 / .001 */
    while (i > base_at && path[i - 1] >= '0' && path[i - 1] <= '9')
        i--;
    if (len - i >= 2 && len - i <= 6 && i > base_at && path[i - 1] == '.') {
        unsigned v = (unsigned)strtoul(path + i, NULL, 10);
        if (v > 1)
            return 0;
        s->numeric = 1;
        s->first = v;
        s->width = (int)(len - i);
    } else {
        char a;
        i = len;
        if (len == 0)
            return 0;
        a = path[len - 1];
        if (a != 'a' && a != 'A')
            return 0;
        while (i > base_at && path[i - 1] == a)
            i--;
        if (len - i < 2 || len - i > 6)
            return 0;
        s->a = a;
        s->width = (int)(len - i);
    }
    s->prefix = vss_malloc(i + 1);
    if (!s->prefix)
        return -1;
    memcpy(s->prefix, path, i);
    s->prefix[i] = '\0';
    return 1;
}

static int64_t split_read(vss_container *c, void *buf, size_t len,
                          uint64_t off)
{
    split_ct *s = (split_ct *)c;
    size_t lo = 0, hi = s->n, done = 0;

    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s->seg[mid].start <= off)
            lo = mid;
        else
            hi = mid;
    }
    while (done < len && lo < s->n) {
        split_seg *g = &s->seg[lo];
        uint64_t in = off + done - g->start;
        size_t take = len - done;
        vss_error e = {0};
        int rc;
        if (in >= g->size) {
            lo++;
            continue;
        }
        if (take > g->size - in)
            take = (size_t)(g->size - in);
        rc = ct_read(g->src, (uint8_t *)buf + done, take, in,
                     "split raw segment", &e);
        if (rc)
            return ct_fail(c, rc, "split raw segment %zu (%s): %s", lo + 1,
                           s->names[lo], e.message);
        done += take;
        lo++;
    }
    if (done < len)
        return ct_fail(c, VSS_EIO, "split raw: offset %llu is past the last "
                       "segment", (unsigned long long)(off + done));
    return (int64_t)len;
}

static void split_destroy(vss_container *c)
{
    split_ct *s = (split_ct *)c;
    size_t i;
    for (i = 0; i < s->n; i++) {
        vss_source_release(s->seg[i].src);
        free(s->names[i]);
    }
    free(s->seg);
    free(s->names);
    ct_fini(c);
    free(s);
}

int ct_split_open(vss_source *file, const char *path, vss_container **out,
                  vss_error *err)
{
    split_scheme sch;
    split_ct *s = NULL;
    size_t cap = 0, i;
    char name[4096];
    struct stat st;
    int rc;

    *out = NULL;
    rc = split_scheme_of(path, &sch);
    if (rc < 0)
        return vss_fail(err, VSS_ENOMEM, "split raw: out of memory");
    if (rc == 0)
        return 0;
    /* Split only when the second segment is there. Any file of that
     * name counts: a FIFO or directory there is refused when opened
     * (vss_source_open_file), not skipped into a silently shorter image. */
    if (split_name(&sch, 1, name, sizeof name) != 0 || stat(name, &st) != 0) {
        free(sch.prefix);
        return 0;
    }
    s = vss_calloc(1, sizeof *s);
    if (!s) {
        free(sch.prefix);
        return vss_fail(err, VSS_ENOMEM, "split raw: out of memory");
    }
    ct_init(&s->base, VSS_CONTAINER_SPLIT, path);
    s->base.read = split_read;
    s->base.destroy = split_destroy;
    for (i = 0;; i++) {
        vss_source *src = NULL;
        uint64_t end;
        if (split_name(&sch, i, name, sizeof name) != 0)
            break;
        if (i > 0 && stat(name, &st) != 0)
            break;
        if (i >= SPLIT_MAX_SEGMENTS) {
            rc = vss_fail(err, VSS_EUNSUPPORTED,
                          "split raw %s: more than %u segments", path,
                          SPLIT_MAX_SEGMENTS);
            goto fail;
        }
        if (i == 0) {
            vss_source_retain(file);
            src = file;
        } else {
            rc = vss_source_open_file(name, &src, err);
            if (rc)
                goto fail;
        }
        if (s->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            split_seg *ns = vss_realloc(s->seg, ncap * sizeof *ns);
            char **nn;
            if (ns)
                s->seg = ns;
            nn = ns ? vss_realloc(s->names, ncap * sizeof *nn) : NULL;
            if (!ns || !nn) {
                vss_source_release(src);
                rc = vss_fail(err, VSS_ENOMEM, "split raw: out of memory");
                goto fail;
            }
            s->names = nn;
            cap = ncap;
        }
        s->names[s->n] = strdup(name);
        s->seg[s->n].src = src;
        s->seg[s->n].start = s->base.size;
        s->seg[s->n].size = vss_source_size(src);
        s->n++;
        if (!s->names[s->n - 1]) {
            rc = vss_fail(err, VSS_ENOMEM, "split raw: out of memory");
            goto fail;
        }
        if (add_overflows(s->base.size, vss_source_size(src), &end)) {
            rc = vss_fail(err, VSS_ECORRUPT, "split raw %s: total size "
                          "overflows", path);
            goto fail;
        }
        if (vss_source_size(src) == 0 && i > 0) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "split raw segment %zu (%s) is empty", i + 1, name);
            goto fail;
        }
        s->base.size = end;
    }
    free(sch.prefix);
    s->base.info.segments = (uint32_t)s->n;
    s->base.info.media_size = s->base.size;
    s->base.info.stored_size = s->base.size;
    snprintf(s->base.info.format, sizeof s->base.info.format,
             "split raw (%zu segments)", s->n);
    *out = &s->base;
    return 1;
fail:
    free(sch.prefix);
    split_destroy(&s->base);
    return rc;
}
