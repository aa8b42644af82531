/*
 * error.c — error codes, messages and the allocation hooks tests use.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"

const char *vss_strerror(int code)
{
    switch (code) {
    case VSS_OK: return "ok";
    case VSS_EINVAL: return "invalid argument";
    case VSS_EIO: return "I/O error";
    case VSS_ECORRUPT: return "corrupt metadata";
    case VSS_ENOMEM: return "out of memory";
    case VSS_ENOTFOUND: return "not found";
    case VSS_EUNSUPPORTED: return "unsupported";
    case VSS_ENOSTORAGE: return "storage volume not attached";
    default: return "unknown error";
    }
}

int vss_fail(vss_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Allocation failure injection (SQLite's DO_OS_MALLOC_TEST, in small). The
 * counters are process-wide and only meant for single-threaded tests. */
static long alloc_countdown;

void vss_test_fail_alloc_after(long n)
{
    alloc_countdown = n;
}

static int alloc_should_fail(void)
{
    if (alloc_countdown <= 0)
        return 0;
    if (--alloc_countdown == 0) {
        alloc_countdown = -1; /* fail every allocation from now on */
        return 1;
    }
    return 0;
}

static int alloc_failing(void)
{
    return alloc_countdown < 0 || alloc_should_fail();
}

void *vss_malloc(size_t n)
{
    return alloc_failing() ? NULL : malloc(n ? n : 1);
}

void *vss_calloc(size_t n, size_t size)
{
    return alloc_failing() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *vss_realloc(void *p, size_t n)
{
    return alloc_failing() ? NULL : realloc(p, n ? n : 1);
}
