/*
 * FUSE over io_uring for vssmount (--io-uring): requests answered on the
 * CPU of the process that asked (fuse_ring.c says how and why).
 */
#ifndef VSSMOUNT_FUSE_RING_H
#define VSSMOUNT_FUSE_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fuse_session;

/* Reads size bytes at off of the open file fh (the value the open callback
 * gave the kernel) into dst: the count read, or -errno. */
typedef ssize_t (*fuse_ring_reader)(uint64_t fh, char *dst, size_t size,
                                    uint64_t off);

/* Whether this kernel lets vssmount use the ring now: 0, or -1 with the
 * reason (and what to do about it) in why. Call before mounting. */
int fuse_ring_check(char *why, size_t len);

/* Take over the session's traffic: from the INIT reply on, requests come
 * through per-CPU rings; READs go to reader, the rest to libfuse. Call
 * after mounting and before serving; 0 or -1 (errno set). debug: report
 * the rings on stderr. */
int fuse_ring_attach(struct fuse_session *se, fuse_ring_reader reader,
                     int debug);

/* After the session ended (unmounted): stop the ring threads and free
 * their buffers. */
void fuse_ring_stop(void);

#endif
