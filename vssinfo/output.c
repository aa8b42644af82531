/*
 * output.c — how vssinfo creates the files it writes (--output, --html):
 * never over an existing regular file unless --force, and atomically so:
 * O_EXCL makes main()'s early check (which gives the usage message before
 * any work) hold until the file is ours, so a file created meanwhile is
 * refused, not replaced. What exists and is not a regular file (a device,
 * /dev/null, a pipe) is written to as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "vssinfo.h"

int output_create(const char *path, int force)
{
    struct stat st;
    int fd = open(path,
                  O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL),
                  0644);
    if (fd < 0 && errno == EEXIST) {
        /* a name that exists: a device or a pipe is written to; anything
         * else (a regular file, a dangling symbolic link) is refused */
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return open(path, O_WRONLY | O_CLOEXEC);
        errno = EEXIST;
    }
    return fd;
}

int output_refused(const char *option, const char *path)
{
    if (errno == EEXIST)
        return cli_usage("%s %s exists; --force replaces it", option, path);
    return cli_die(1, "cannot create %s: %s", path, strerror(errno));
}

int output_is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
