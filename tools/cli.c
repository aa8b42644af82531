/*
 * cli.c — command-line helpers shared by vssinfo and vssmount (see cli.h);
 * compiled into both tools, not part of the library.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tool_name = "vssinfo";

void cli_set_name(const char *name)
{
    tool_name = name;
}

static void vmessage(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", tool_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return code;
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", tool_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", tool_name);
    return CLI_EXIT_USAGE;
}

int cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return 1;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    *out = strtoull(s, &end, 0);
    return errno || *end ? -1 : 0;
}

int cli_seen_add(cli_seen *s, uint64_t rec)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        if (s->v[i] == rec)
            return 1;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        uint64_t *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = rec;
    return 0;
}

void cli_seen_free(cli_seen *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
