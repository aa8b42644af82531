/*
 * io/io.h — the read-at layer (base < io): exact reads with messages that
 * name what and where, the evidence containers' lookup of their state
 * behind a vss_source, the read fault hook, and what partition.c exports.
 * io/container.h adds what the container backends share among themselves.
 */
#ifndef VSS_IO_H
#define VSS_IO_H

#include "base/base.h"

/* ---- sources ------------------------------------------------------------- */

/* Read exactly len bytes or fail: VSS_EIO naming what/offset when short. */
VSS_HIDDEN int vss_read_exact(vss_source *src, void *buf, size_t len,
                              uint64_t offset, const char *what,
                              vss_error *err);

/* The ctx of src when it was made with exactly these ops, else NULL (how
 * the evidence containers find their state behind a vss_source). */
VSS_HIDDEN void *vss_source_ctx_if(vss_source *src, const vss_source_ops *ops);

/* The first offset >= off of src that may hold data: off itself unless
 * the layers below can tell that [off, result) reads as zeros without
 * storing anything (a sparse file's hole, listed with SEEK_DATA /
 * SEEK_HOLE; ranges and raw images pass the question down; other
 * containers cannot tell yet). The size when nothing follows. For a
 * reader that skips holes (the carver's scan). */
VSS_HIDDEN uint64_t vss_source_next_data(vss_source *src, uint64_t off);
/* container.c: the same for a container source (off when it cannot tell
 * or src is no container). */
VSS_HIDDEN uint64_t ct_source_next_data(vss_source *src, uint64_t off);

/* Fail the Nth read through vss_source_read_at from now on (0 = never):
 * a test hook, hidden like vss_test_fail_alloc_after. */
VSS_HIDDEN void vss_test_fail_read_after(long n);

/* ---- partitions (partition.c) --------------------------------------------- */

VSS_HIDDEN int vss_is_ntfs_boot_sector(const uint8_t *p, size_t len);

#endif
