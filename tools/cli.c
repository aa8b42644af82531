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
#include <unistd.h>

static const char *tool_name = "vssinfo";

void cli_set_name(const char *name)
{
    tool_name = name;
}

/* The format attribute (no arguments to check here: 0) lets the
 * compiler accept the non-literal format, which cli.h's attributes on
 * cli_die and cli_warn check at every call site. */
static void vmessage(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
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

int cli_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}
