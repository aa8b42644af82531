/*
 * cli.h — what vssinfo and vssmount share on the command line: messages
 * to stderr prefixed with the tool's name, and strict number parsing.
 */
#ifndef VSS_CLI_H
#define VSS_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses of both tools (EXIT STATUS in docs/vssinfo.1 and
 * docs/vssmount.1). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,      /* an image cannot be opened or read, is
                                  refused (not a regular file or block
                                  device), or its metadata is corrupt */
    CLI_EXIT_USAGE = 2,        /* bad usage, or an output refused */
    CLI_EXIT_NO_SNAPSHOTS = 3  /* read, but no volume with shadow copies
                                  (there, or at the offset -o names) */
};

/* The name messages start with ("vssinfo", "vssmount"). */
void cli_set_name(const char *name);
/* Print "NAME: message" to stderr; return code (for `return cli_die(..)`). */
int cli_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: "NAME: message (see NAME --help)"; returns
 * CLI_EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, returning 1. */
int cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A whole decimal or 0x number, no sign, no trailing text: 0, or -1. */
int cli_parse_u64(const char *s, uint64_t *out);
/* All n bytes to fd (retrying short writes and EINTR): 0, or -1 with errno. */
int cli_write_all(int fd, const uint8_t *p, size_t n);

#endif
