/*
 * scenario.c - reader of the declarative scenario format (*.scn).
 *
 * One statement a line; '#' starts a comment.  Settings come first
 * ("name win7", "volume_size 64M", ...), then operations ("create /a
 * size=10K", "snapshot", ...).  "repeat N" ... "end" repeats the lines in
 * between; "{i}" in them becomes the iteration number (1..N).  The full
 * grammar is in docs/testimages.md.
 */
#include "vssgen.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOK 32

typedef struct { const char *file; int line; } where;

static void fail(where w, const char *msg, const char *arg)
{
    die("%s:%d: %s%s%s", w.file, w.line, msg, arg ? " " : "", arg ? arg : "");
}

uint64_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    uint64_t m = 1;
    if (end == s)
        die("bad size '%s'", s);
    switch (toupper((unsigned char)*end)) {
    case 0: break;
    case 'K': m = 1024ull; end++; break;
    case 'M': m = 1024ull * 1024; end++; break;
    case 'G': m = 1024ull * 1024 * 1024; end++; break;
    default: die("bad size '%s'", s);
    }
    if (*end && !(toupper((unsigned char)*end) == 'B' && !end[1]) && !(toupper((unsigned char)*end) == 'I'))
        die("bad size '%s'", s);
    if (v > UINT64_MAX / m)
        die("size overflow '%s'", s);
    return (uint64_t)v * m;
}

/* Split a line into tokens; "..." groups (no escapes needed in practice). */
static int tokenize(char *line, char **tok, where w)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#')
            break;
        if (n == MAX_TOK)
            fail(w, "too many words", NULL);
        char *out = p;
        tok[n++] = out;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            if (*p == '"') {
                p++;
                while (*p && *p != '"')
                    *out++ = *p++;
                if (*p != '"')
                    fail(w, "unterminated quote", NULL);
                p++;
            } else {
                *out++ = *p++;
            }
        }
        char c = *p;
        *out = 0;
        if (!c)
            break;
        p++;
    }
    return n;
}

static pattern parse_pattern(const char *v, where w, uint64_t seed)
{
    pattern pt = { PAT_RANDOM, 0, NULL, seed };
    if (!strcmp(v, "random"))
        return pt;
    if (!strcmp(v, "zero")) { pt.kind = PAT_ZERO; return pt; }
    if (!strncmp(v, "byte:", 5)) {
        char *end;
        unsigned long b = strtoul(v + 5, &end, 0);
        if (*end || b > 255)
            fail(w, "bad byte pattern", v);
        pt.kind = PAT_BYTE;
        pt.byte = (uint8_t)b;
        return pt;
    }
    if (!strncmp(v, "text:", 5)) { pt.kind = PAT_TEXT; pt.text = xstrdup(v + 5); return pt; }
    if (!strncmp(v, "random:", 7)) { pt.seed ^= strtoull(v + 7, NULL, 0) * 0x9e3779b97f4a7c15ull; return pt; }
    fail(w, "unknown data pattern (random, random:N, zero, byte:0xNN, text:...)", v);
    return pt;
}

static uint32_t parse_u32(const char *v, where w)
{
    char *end;
    unsigned long long x = strtoull(v, &end, 0);
    if (*end || x > 0xffffffffull)
        fail(w, "bad number", v);
    return (uint32_t)x;
}

static void parse_op(scenario *sc, char **tok, int n, where w, int iter)
{
    static const struct { const char *name; opkind k; } verbs[] = {
        { "mkdir", OP_MKDIR }, { "create", OP_CREATE }, { "overwrite", OP_OVERWRITE },
        { "append", OP_APPEND }, { "truncate", OP_TRUNCATE }, { "delete", OP_DELETE },
        { "sdelete", OP_SDELETE }, { "move", OP_MOVE }, { "scatter", OP_SCATTER },
        { "snapshot", OP_SNAPSHOT }, { "recover", OP_RECOVER }, { "advance", OP_ADVANCE },
        { "rename", OP_RENAME }, { "delete_snapshots", OP_DELETE_SNAPSHOTS },
    };
    op o;
    memset(&o, 0, sizeof o);
    o.line = w.line;
    size_t v;
    for (v = 0; v < sizeof verbs / sizeof *verbs; v++)
        if (!strcmp(tok[0], verbs[v].name))
            break;
    if (v == sizeof verbs / sizeof *verbs)
        fail(w, "unknown statement", tok[0]);
    o.kind = verbs[v].k;
    int i = 1;
    if (o.kind == OP_ADVANCE) {
        if (n != 2)
            fail(w, "usage: advance SECONDS", NULL);
        o.seconds = strtoull(tok[1], NULL, 0);
        goto add;
    }
    /* "{i}" -> iteration number, in every word */
    static char subst[MAX_TOK][512];
    for (int t = 1; t < n; t++) {
        const char *src = tok[t];
        size_t bl = 0;
        while (*src && bl + 24 < sizeof subst[t]) {
            if (!strncmp(src, "{i}", 3)) { bl += (size_t)snprintf(subst[t] + bl, sizeof subst[t] - bl, "%d", iter); src += 3; }
            else subst[t][bl++] = *src++;
        }
        subst[t][bl] = 0;
        tok[t] = subst[t];
    }
    if (o.kind != OP_SNAPSHOT && o.kind != OP_DELETE_SNAPSHOTS) {
        if (n < 2 || tok[1][0] != '/')
            fail(w, "expected an absolute path after", tok[0]);
        o.path = xstrdup(tok[1]);
        i = 2;
    }
    /* content seed: scenario seed, line and iteration, so each write differs */
    prng r = prng_derive(sc->seed, "data", (uint64_t)w.line * 1000003u + (uint64_t)iter);
    o.data = parse_pattern("random", w, prng_next(&r));
    for (; i < n; i++) {
        char *eq = strchr(tok[i], '=');
        if (!eq)
            fail(w, "expected key=value, got", tok[i]);
        *eq = 0;
        const char *k = tok[i], *val = eq + 1;
        if (!strcmp(k, "size")) { o.size = parse_size(val); o.has_size = 1; }
        else if (!strcmp(k, "offset")) { o.offset = parse_size(val); o.has_offset = 1; }
        else if (!strcmp(k, "count")) o.count = parse_size(val);
        else if (!strcmp(k, "data")) o.data = parse_pattern(val, w, o.data.seed);
        else if (!strcmp(k, "fragments")) o.fragments = (int)parse_u32(val, w);
        else if (!strcmp(k, "align")) o.align = (int)parse_u32(val, w);
        else if (!strcmp(k, "attr")) { o.attr = parse_u32(val, w); o.has_attr = 1; }
        else if (!strcmp(k, "context")) { o.context = parse_u32(val, w); o.has_context = 1; }
        else if (!strcmp(k, "to") && val[0] == '/') o.to = xstrdup(val);
        else if (!strcmp(k, "keep")) o.keep = (int)parse_u32(val, w);
        else if (!strcmp(k, "in_store")) o.in_store = (int)parse_u32(val, w);
        else if (!strcmp(k, "store_offset")) o.store_offset = parse_size(val);
        else fail(w, "unknown option", k);
    }
    if ((o.kind == OP_CREATE || o.kind == OP_APPEND || o.kind == OP_TRUNCATE) && !o.has_size &&
        o.data.kind != PAT_TEXT)
        fail(w, "size= is required for", tok[0]);
    if ((o.kind == OP_OVERWRITE || o.kind == OP_RECOVER) && (!o.has_size))
        fail(w, "size= is required for", tok[0]);
    if (o.kind == OP_RENAME && !o.to)
        fail(w, "rename needs to=/NEW/PATH", NULL);
    if (o.in_store && o.kind != OP_CREATE)
        fail(w, "in_store= is for create", NULL);
    if (o.keep && o.kind != OP_DELETE_SNAPSHOTS)
        fail(w, "keep= is for delete_snapshots", NULL);
    if (o.kind == OP_SCATTER && (!o.count || !o.has_size))
        fail(w, "scatter needs count= and size=", NULL);
add:
    sc->ops = xrealloc(sc->ops, (size_t)sc->nops + 1, sizeof *sc->ops);
    sc->ops[sc->nops++] = o;
}

static int parse_bool(const char *v, where w)
{
    if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes")) return 1;
    if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no")) return 0;
    fail(w, "expected on/off, got", v);
    return 0;
}

static int parse_setting(scenario *sc, char **tok, int n, where w)
{
    const char *k = tok[0];
    static const char *const keys[] = { "name", "windows", "seed", "volume_size", "storage_size",
        "store_size", "layout", "storage", "scope_snapshots", "in_scope", "machine",
        "service_machine", "time", "block_list", "volume_hashes", "selfcheck", "file_hashes" };
    size_t i;
    for (i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strcmp(k, keys[i]))
            break;
    if (i == sizeof keys / sizeof *keys)
        return 0;
    if (n != 2)
        fail(w, "expected one value for", k);
    const char *v = tok[1];
    if (!strcmp(k, "name")) sc->name = xstrdup(v);
    else if (!strcmp(k, "windows")) {
        sc->windows = (int)parse_u32(v, w);
        if (sc->windows != 7 && sc->windows != 10)
            fail(w, "windows must be 7 or 10, got", v);
    }
    else if (!strcmp(k, "seed")) sc->seed = strtoull(v, NULL, 0);
    else if (!strcmp(k, "volume_size")) sc->volume_size = parse_size(v);
    else if (!strcmp(k, "storage_size")) sc->storage_size = parse_size(v);
    else if (!strcmp(k, "store_size")) sc->store_size = parse_size(v);
    else if (!strcmp(k, "layout")) {
        if (!strcmp(v, "none")) sc->layout = LAYOUT_NONE;
        else if (!strcmp(v, "mbr")) sc->layout = LAYOUT_MBR;
        else if (!strcmp(v, "gpt")) sc->layout = LAYOUT_GPT;
        else fail(w, "layout must be none, mbr or gpt, got", v);
    }
    else if (!strcmp(k, "storage")) {
        if (!strcmp(v, "local")) sc->storage = STOR_LOCAL;
        else if (!strcmp(v, "partition")) sc->storage = STOR_PARTITION;
        else if (!strcmp(v, "image")) sc->storage = STOR_IMAGE;
        else fail(w, "storage must be local, partition or image, got", v);
    }
    else if (!strcmp(k, "scope_snapshots")) sc->scope = parse_bool(v, w);
    else if (!strcmp(k, "in_scope")) {
        sc->in_scope = xrealloc(sc->in_scope, (size_t)sc->nin_scope + 1, sizeof *sc->in_scope);
        sc->in_scope[sc->nin_scope++] = xstrdup(v);
    }
    else if (!strcmp(k, "machine")) sc->machine = xstrdup(v);
    else if (!strcmp(k, "service_machine")) sc->service_machine = xstrdup(v);
    else if (!strcmp(k, "time")) sc->start_time = filetime_parse(v);
    else if (!strcmp(k, "block_list")) sc->block_list_out = parse_bool(v, w);
    else if (!strcmp(k, "volume_hashes")) sc->volume_hashes = parse_bool(v, w);
    else if (!strcmp(k, "selfcheck")) sc->selfcheck = parse_bool(v, w);
    else if (!strcmp(k, "file_hashes")) sc->file_hashes = parse_bool(v, w);
    return 1;
}

scenario *scenario_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open scenario %s", path);
    scenario *sc = xcalloc(1, sizeof *sc);
    sc->windows = 7;
    sc->seed = 1;
    sc->volume_size = 64ull << 20;
    sc->storage_size = 64ull << 20;
    sc->store_size = 8ull << 20;
    sc->start_time = filetime_parse("2020-01-01T00:00:00.0000000Z");
    sc->block_list_out = 1;
    sc->volume_hashes = 1;
    sc->selfcheck = 1;
    sc->file_hashes = 1;

    /* read all lines so that repeat blocks can be replayed */
    char **lines = NULL;
    int nlines = 0;
    char buf[4096];
    while (fgets(buf, sizeof buf, f)) {
        lines = xrealloc(lines, (size_t)nlines + 1, sizeof *lines);
        lines[nlines++] = xstrdup(buf);
    }
    if (ferror(f))
        die("read error on %s", path);
    fclose(f);

    int ops_started = 0;
    for (int ln = 0; ln < nlines; ln++) {
        char tmp[4096], *tok[MAX_TOK];
        where w = { path, ln + 1 };
        snprintf(tmp, sizeof tmp, "%s", lines[ln]);
        int n = tokenize(tmp, tok, w);
        if (!n)
            continue;
        if (!strcmp(tok[0], "repeat")) {
            if (n != 2)
                fail(w, "usage: repeat N", NULL);
            int times = (int)parse_u32(tok[1], w);
            int end = ln + 1;
            while (end < nlines) {
                char t2[4096], *k2[MAX_TOK];
                snprintf(t2, sizeof t2, "%s", lines[end]);
                int m = tokenize(t2, k2, w);
                if (m && !strcmp(k2[0], "end"))
                    break;
                if (m && !strcmp(k2[0], "repeat"))
                    fail(w, "nested repeat is not supported", NULL);
                end++;
            }
            if (end == nlines)
                fail(w, "repeat without end", NULL);
            for (int it = 1; it <= times; it++)
                for (int j = ln + 1; j < end; j++) {
                    char t3[4096], *k3[MAX_TOK];
                    where w3 = { path, j + 1 };
                    snprintf(t3, sizeof t3, "%s", lines[j]);
                    int m = tokenize(t3, k3, w3);
                    if (m)
                        parse_op(sc, k3, m, w3, it);
                }
            ops_started = 1;
            ln = end;
            continue;
        }
        if (!ops_started && parse_setting(sc, tok, n, w))
            continue;
        ops_started = 1;
        parse_op(sc, tok, n, w, 0);
    }
    for (int i = 0; i < nlines; i++)
        free(lines[i]);
    free(lines);
    if (!sc->name)
        die("%s: missing 'name'", path);
    if (!sc->machine)
        sc->machine = xstrdup("WIN-VSSGEN");
    if (!sc->service_machine)
        sc->service_machine = xstrdup(sc->machine);
    if (sc->volume_size % VSS_BLOCK || sc->volume_size < (8ull << 20))
        die("%s: volume_size must be a multiple of 16 KiB and at least 8M", path);
    if (sc->storage_size % VSS_BLOCK || sc->store_size % VSS_BLOCK)
        die("%s: storage_size and store_size must be multiples of 16 KiB", path);
    return sc;
}
