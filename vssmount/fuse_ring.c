/*
 * FUSE over io_uring (vssmount --io-uring).
 *
 * Why: through /dev/fuse, whichever vssmount thread reads a request answers
 * it, and the kernel copies the reply into the reader's buffer on that
 * thread's CPU, mostly the other one than the reader's: the copy then
 * crosses CPU caches and the reader is woken from afar
 * (docs/performance.md, "How vssmount reads"). The kernel's io_uring
 * transport for FUSE (Linux 6.14 on, fs/fuse/dev_uring.c; off unless root
 * sets the fuse module's enable_uring) keeps one queue per possible CPU and
 * puts each request on the queue of the CPU its caller runs on. A thread
 * pinned to that CPU answers it, so copy and wake-up stay on one CPU.
 *
 * libfuse 3.14 does not speak this protocol; this file does, around it:
 *  - INIT: a custom I/O hook (fuse_session_custom_io) sees the kernel's
 *    INIT request, which offers FUSE_OVER_IO_URING when the transport is
 *    on, and adds that flag to libfuse's reply.
 *  - Then one thread per possible CPU registers RING_DEPTH entries (a
 *    288-byte header and a payload buffer as large as the largest request
 *    or reply) with IORING_OP_URING_CMD / FUSE_IO_URING_CMD_REGISTER. The
 *    kernel holds new requests until every queue has an entry, then
 *    completes an entry's command when it has put a request in it: the
 *    fuse_in_header in the header's in_out, the opcode's fixed argument in
 *    op_in, the rest in the payload.
 *  - READ is answered here, read straight into the payload (the reader
 *    callback). Every other request is rebuilt in /dev/fuse's layout and
 *    given to libfuse (fuse_session_process_buf); the writev hook catches
 *    libfuse's reply into the entry. FUSE_IO_URING_CMD_COMMIT_AND_FETCH
 *    then hands the reply over and waits for the next request.
 * FORGET and INTERRUPT still come through /dev/fuse (the kernel's rule),
 * so vssmount's /dev/fuse workers keep running beside the rings.
 *
 * The protocol's structures are in the kernel's include/uapi/linux/fuse.h
 * from protocol 7.42; the headers this builds with are older, so the few
 * needed are declared below, named as there.
 */
#include "fuse_ring.h"
#include "cli.h"  /* the tools' messages: "vssmount: ..." */

#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- the kernel's ABI (protocol 7.42) ------------------------------------ */

#define FUSE_OVER_IO_URING_FLAGS2 (1u << (41 - 32)) /* in init flags2 */
#define FUSE_IO_URING_CMD_REGISTER 1u
#define FUSE_IO_URING_CMD_COMMIT_AND_FETCH 2u
#define ENABLE_URING_PARAM "/sys/module/fuse/parameters/enable_uring"

struct fuse_uring_ent_in_out {
    uint64_t flags;
    uint64_t commit_id;   /* the request's unique: echoed in the commit */
    uint32_t payload_sz;  /* bytes used in the payload, either way */
    uint32_t padding;
    uint64_t reserved;
};

struct fuse_uring_req_header {
    unsigned char in_out[128]; /* fuse_in_header; on commit fuse_out_header */
    unsigned char op_in[128];  /* the opcode's fixed argument */
    struct fuse_uring_ent_in_out ring_ent_in_out;
};

struct fuse_uring_cmd_req {   /* in the SQE's 80-byte command area */
    uint64_t flags;
    uint64_t commit_id;
    uint16_t qid;
    uint8_t padding[6];
};

_Static_assert(sizeof(struct fuse_uring_req_header) == 288,
               "fuse_uring_req_header is 288 bytes in the kernel's ABI");
_Static_assert(sizeof(struct fuse_uring_cmd_req) <= 80,
               "the command fits an SQE128's command area");

/* ---- sizes and limits ---------------------------------------------------- */

#define RING_DEPTH 4          /* entries per CPU: requests in flight there */
#define SQE_SIZE 128          /* IORING_SETUP_SQE128 */
#define STOP_TAG UINT64_MAX   /* user_data of the poll on the stop eventfd */
#define MAX_QUEUES 4096       /* possible CPUs beyond this: refuse */
/* A non-READ request's payload (a name, an xattr name) rebuilt for libfuse:
 * NAME_MAX and XATTR_NAME_MAX are 255; more is refused with EIO. */
#define REBUILD_MAX 4096

/* ---- a minimal io_uring (raw system calls: no liburing dependency) ------ */

typedef struct uring {
    int fd;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_cqe *cqes;
    unsigned char *sqes;
    unsigned sq_entries;
    unsigned tail;         /* our next SQ tail, published by ur_enter */
    void *sq_map, *cq_map, *sqe_map;
    size_t sq_len, cq_len, sqe_len;
} uring;

static int ur_setup(uring *r, unsigned entries)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    memset(r, 0, sizeof *r);
    r->sq_map = r->cq_map = r->sqe_map = MAP_FAILED;
    p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 2;
    r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
    if (r->fd < 0)
        return -1;
    r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) {
        if (r->cq_len > r->sq_len)
            r->sq_len = r->cq_len;
        r->cq_len = 0;
    }
    r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    if (r->sq_map == MAP_FAILED)
        return -1;
    if (r->cq_len) {
        r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
        if (r->cq_map == MAP_FAILED)
            return -1;
    }
    r->sqe_len = (size_t)p.sq_entries * SQE_SIZE;
    r->sqe_map = mmap(NULL, r->sqe_len, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (r->sqe_map == MAP_FAILED)
        return -1;
    unsigned char *sq = r->sq_map;
    unsigned char *cq = r->cq_len ? r->cq_map : r->sq_map;
    r->sq_head = (unsigned *)(sq + p.sq_off.head);
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    r->sqes = r->sqe_map;
    r->sq_entries = p.sq_entries;
    r->tail = *r->sq_tail;
    return 0;
}

static void ur_close(uring *r)
{
    if (r->sqe_map != MAP_FAILED && r->sqe_map)
        munmap(r->sqe_map, r->sqe_len);
    if (r->cq_map != MAP_FAILED && r->cq_map)
        munmap(r->cq_map, r->cq_len);
    if (r->sq_map != MAP_FAILED && r->sq_map)
        munmap(r->sq_map, r->sq_len);
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

/* A zeroed SQE slot, or NULL when the queue is full (never: each entry
 * has at most one command in flight and the ring has room for all). */
static struct io_uring_sqe *ur_sqe(uring *r)
{
    unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
    unsigned idx;
    unsigned char *sqe;
    if (r->tail - head >= r->sq_entries)
        return NULL;
    idx = r->tail & *r->sq_mask;
    sqe = r->sqes + (size_t)idx * SQE_SIZE;
    memset(sqe, 0, SQE_SIZE);
    r->sq_array[idx] = idx;
    r->tail++;
    return (struct io_uring_sqe *)sqe;
}

/* Submit what was queued and wait for at least one completion. */
static int ur_enter(uring *r)
{
    for (;;) {
        unsigned head, pending;
        __atomic_store_n(r->sq_tail, r->tail, __ATOMIC_RELEASE);
        head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
        pending = r->tail - head;
        if (syscall(__NR_io_uring_enter, r->fd, pending, 1,
                    IORING_ENTER_GETEVENTS, NULL, 0) >= 0)
            return 0;
        if (errno != EINTR && errno != EAGAIN && errno != EBUSY)
            return -1;
    }
}

/* ---- the rings ----------------------------------------------------------- */

typedef struct queue queue;

typedef struct entry {
    struct fuse_uring_req_header *hdr;
    unsigned char *payload;
    struct iovec iov[2];     /* what REGISTER hands the kernel */
    unsigned cmd;            /* the command in flight */
} entry;

struct queue {
    int qid;
    uring r;
    int stop_fd;             /* eventfd: fuse_ring_stop wakes the thread */
    pthread_t tid;
    int started;
    entry ent[RING_DEPTH];
    unsigned char *rebuilt;  /* a request in /dev/fuse's layout */
    unsigned long answered, reads;
    char failure[160];
};

static struct {
    struct fuse_session *se;
    fuse_ring_reader reader;
    int debug;
    int fd;                  /* /dev/fuse */
    int init_seen;           /* INIT was read: init_unique, offered */
    uint64_t init_unique;
    int offered;             /* the kernel offered FUSE_OVER_IO_URING */
    int init_answered;
    size_t payload_size;     /* the kernel's largest request or reply */
    size_t nq;
    queue *q;
} R = {.fd = -1};

/* The entry whose reply the writev hook catches (set around
 * fuse_session_process_buf on a ring thread), and whether it came. */
static __thread entry *catching;
static __thread int caught;

/* The number of possible CPUs: the kernel makes that many queues
 * (num_possible_cpus(), the CPUs in /sys/devices/system/cpu/possible, a
 * list of ranges such as "0-1" or "0-3,8-11") and refuses a larger qid. */
static size_t possible_cpus(void)
{
    char text[1024];
    size_t count = 0;
    FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
    if (f) {
        if (fgets(text, sizeof text, f)) {
            char *p = text, *end;
            for (;;) {
                long lo = strtol(p, &end, 10), hi;
                if (end == p || lo < 0)
                    break;
                hi = lo;
                if (*end == '-') {
                    p = end + 1;
                    hi = strtol(p, &end, 10);
                    if (end == p || hi < lo)
                        break;
                }
                count += (size_t)(hi - lo) + 1;
                if (count > MAX_QUEUES || *end != ',')
                    break;
                p = end + 1;
            }
        }
        fclose(f);
    }
    if (count == 0) {
        long n = sysconf(_SC_NPROCESSORS_CONF);
        count = n > 0 ? (size_t)n : 1;
    }
    return count;
}

static void set_reply(entry *e, uint64_t unique, int error, size_t bytes)
{
    struct fuse_out_header oh;
    oh.len = (uint32_t)(sizeof oh + bytes);
    oh.error = error;
    oh.unique = unique;
    memcpy(e->hdr->in_out, &oh, sizeof oh);
    e->hdr->ring_ent_in_out.payload_sz = (uint32_t)bytes;
}

/* The size of opcode's fixed argument (the kernel's in_args[0], which it
 * puts in op_in), -1 for opcodes a read-only vssmount does not expect
 * (answered ENOSYS). Names follow in the payload. */
static int fixed_arg_size(uint32_t opcode)
{
    switch (opcode) {
    case FUSE_LOOKUP: case FUSE_READLINK: case FUSE_STATFS:
    case FUSE_DESTROY: case FUSE_REMOVEXATTR: case FUSE_UNLINK:
    case FUSE_RMDIR:
        return 0;
    case FUSE_GETATTR: return sizeof(struct fuse_getattr_in);
    case FUSE_OPEN: case FUSE_OPENDIR: return sizeof(struct fuse_open_in);
    case FUSE_READ: case FUSE_READDIR: case FUSE_READDIRPLUS:
        return sizeof(struct fuse_read_in);
    case FUSE_RELEASE: case FUSE_RELEASEDIR:
        return sizeof(struct fuse_release_in);
    case FUSE_FSYNC: case FUSE_FSYNCDIR: return sizeof(struct fuse_fsync_in);
    case FUSE_GETXATTR: case FUSE_LISTXATTR:
        return sizeof(struct fuse_getxattr_in);
    case FUSE_FLUSH: return sizeof(struct fuse_flush_in);
    case FUSE_ACCESS: return sizeof(struct fuse_access_in);
    case FUSE_LSEEK: return sizeof(struct fuse_lseek_in);
    case FUSE_POLL: return sizeof(struct fuse_poll_in);
    case FUSE_IOCTL: return sizeof(struct fuse_ioctl_in);
    case FUSE_GETLK: case FUSE_SETLK: case FUSE_SETLKW:
        return sizeof(struct fuse_lk_in);
    case FUSE_SYNCFS: return sizeof(struct fuse_syncfs_in);
    default: return -1;
    }
}

/* A READ: the bytes straight into the entry's payload. */
static void answer_read(queue *q, entry *e, const struct fuse_in_header *in)
{
    struct fuse_read_in rd;
    size_t size;
    ssize_t n;
    memcpy(&rd, e->hdr->op_in, sizeof rd);
    size = rd.size < R.payload_size ? rd.size : R.payload_size;
    n = R.reader(rd.fh, (char *)e->payload, size, rd.offset);
    if (n < 0)
        set_reply(e, in->unique, (int)n, 0);
    else
        set_reply(e, in->unique, 0, (size_t)n > size ? size : (size_t)n);
    q->reads++;
}

/* Any other request: rebuilt as /dev/fuse would have delivered it and
 * handed to libfuse, whose reply the writev hook puts in the entry. */
static void answer_other(queue *q, entry *e, const struct fuse_in_header *in)
{
    int fixed = fixed_arg_size(in->opcode);
    uint32_t extra = e->hdr->ring_ent_in_out.payload_sz;
    struct fuse_in_header h = *in;
    struct fuse_buf fb;
    if (fixed < 0) {
        set_reply(e, in->unique, -ENOSYS, 0);
        return;
    }
    if (extra > REBUILD_MAX) {
        set_reply(e, in->unique, -EIO, 0);
        return;
    }
    h.len = (uint32_t)(sizeof h + (size_t)fixed + extra);
    memcpy(q->rebuilt, &h, sizeof h);
    memcpy(q->rebuilt + sizeof h, e->hdr->op_in, (size_t)fixed);
    memcpy(q->rebuilt + sizeof h + (size_t)fixed, e->payload, extra);
    memset(&fb, 0, sizeof fb);
    fb.mem = q->rebuilt;
    fb.size = h.len;
    catching = e;
    caught = 0;
    fuse_session_process_buf(R.se, &fb);
    catching = NULL;
    if (!caught)  /* libfuse answered nothing: never leave the caller hanging */
        set_reply(e, in->unique, -EIO, 0);
}

/* Queue e's next command: REGISTER (its buffers) or COMMIT_AND_FETCH (its
 * reply, identified by the request's commit id). */
static int queue_command(queue *q, size_t i, unsigned cmd)
{
    entry *e = &q->ent[i];
    struct io_uring_sqe *sqe = ur_sqe(&q->r);
    struct fuse_uring_cmd_req req;
    if (!sqe)
        return -1;
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = R.fd;
    sqe->cmd_op = cmd;
    sqe->user_data = i;
    memset(&req, 0, sizeof req);
    req.qid = (uint16_t)q->qid;
    if (cmd == FUSE_IO_URING_CMD_REGISTER) {
        sqe->addr = (uint64_t)(uintptr_t)e->iov;
        sqe->len = 2;
    } else {
        req.commit_id = e->hdr->ring_ent_in_out.commit_id;
    }
    memcpy(sqe->cmd, &req, sizeof req);
    e->cmd = cmd;
    return 0;
}

static int queue_setup(queue *q)
{
    size_t i;
    if (ur_setup(&q->r, RING_DEPTH + 1) != 0) {
        snprintf(q->failure, sizeof q->failure, "io_uring_setup: %s",
                 strerror(errno));
        return -1;
    }
    q->rebuilt = malloc(sizeof(struct fuse_in_header) +
                        sizeof(((struct fuse_uring_req_header *)0)->op_in) +
                        REBUILD_MAX);
    if (!q->rebuilt)
        goto nomem;
    for (i = 0; i < RING_DEPTH; i++) {
        entry *e = &q->ent[i];
        /* page-aligned buffers, backed as the kernel fills them */
        e->hdr = mmap(NULL, sizeof *e->hdr, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        e->payload = mmap(NULL, R.payload_size, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (e->hdr == MAP_FAILED || e->payload == MAP_FAILED) {
            if (e->hdr == MAP_FAILED)
                e->hdr = NULL;
            if (e->payload == MAP_FAILED)
                e->payload = NULL;
            goto nomem;
        }
        e->iov[0].iov_base = e->hdr;
        e->iov[0].iov_len = sizeof *e->hdr;
        e->iov[1].iov_base = e->payload;
        e->iov[1].iov_len = R.payload_size;
        if (queue_command(q, i, FUSE_IO_URING_CMD_REGISTER) != 0)
            goto nomem;
    }
    struct io_uring_sqe *sqe = ur_sqe(&q->r);
    if (!sqe)
        goto nomem;
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = q->stop_fd;
    sqe->poll32_events = POLLIN;
    sqe->user_data = STOP_TAG;
    return 0;
nomem:
    snprintf(q->failure, sizeof q->failure, "ring buffers: %s",
             strerror(ENOMEM));
    return -1;
}

/* One completion: a request to answer (then commit it), a command to
 * repeat, or the end. 1: go on; 0: stop (stop_fd, or the connection
 * ended); -1: a failure (q->failure says). */
static int complete(queue *q, const struct io_uring_cqe *cqe)
{
    entry *e;
    size_t i;
    if (cqe->user_data == STOP_TAG)
        return 0;
    if (cqe->user_data >= RING_DEPTH) {
        snprintf(q->failure, sizeof q->failure,
                 "completion for unknown entry %llu",
                 (unsigned long long)cqe->user_data);
        return -1;
    }
    i = (size_t)cqe->user_data;
    e = &q->ent[i];
    if (cqe->res == -EAGAIN || cqe->res == -EINTR)
        return queue_command(q, i, e->cmd) == 0 ? 1 : -1;
    if (cqe->res == -ENOTCONN || cqe->res == -ECONNABORTED ||
        cqe->res == -ECANCELED || cqe->res == -ENODEV)
        return 0;  /* unmounted: the kernel tore the queues down */
    if (cqe->res < 0) {
        snprintf(q->failure, sizeof q->failure, "%s: %s",
                 e->cmd == FUSE_IO_URING_CMD_REGISTER ? "REGISTER"
                                                       : "COMMIT_AND_FETCH",
                 strerror(-cqe->res));
        return -1;
    }
    struct fuse_in_header in;
    memcpy(&in, e->hdr->in_out, sizeof in);
    if (in.opcode == FUSE_READ)
        answer_read(q, e, &in);
    else
        answer_other(q, e, &in);
    q->answered++;
    return queue_command(q, i, FUSE_IO_URING_CMD_COMMIT_AND_FETCH) == 0 ? 1
                                                                        : -1;
}

/* A queue that cannot serve: the kernel holds requests until every queue
 * is registered and routes some to each, so the mount would hang. End the
 * session; the main thread (signalled out of its wait) unmounts. */
static void end_session(void)
{
    fuse_session_exit(R.se);
    kill(getpid(), SIGTERM);
}

static void *queue_thread(void *arg)
{
    queue *q = arg;
    cpu_set_t one;
    int go = 1;
    /* On its CPU, so the kernel's copy and wake-up stay there; a CPU this
     * process may not use leaves the thread free (still correct). */
    CPU_ZERO(&one);
    CPU_SET((size_t)q->qid, &one);
    (void)sched_setaffinity(0, sizeof one, &one);
    /* SCHED_IDLE: the scheduler then counts this CPU as idle when it
     * wakes the reader this thread has just answered, and keeps the reader
     * here instead of moving it to the other CPU, whose cache holds
     * none of its data (sequential reads measured 1.8-2.7 GB/s with the
     * reader moving, 3.8-4.6 with it staying, docs/performance.md). The
     * thread still runs whenever its CPU has nothing else to do, and the
     * process that waits for it is usually what ran there: with a CPU hog
     * on each CPU, reads still ran faster than through /dev/fuse. */
    struct sched_param idle;
    memset(&idle, 0, sizeof idle);
    (void)sched_setscheduler(0, SCHED_IDLE, &idle);
    if (queue_setup(q) != 0)
        go = -1;
    while (go > 0) {
        unsigned head, tail;
        if (ur_enter(&q->r) != 0) {
            snprintf(q->failure, sizeof q->failure, "io_uring_enter: %s",
                     strerror(errno));
            go = -1;
            break;
        }
        head = *q->r.cq_head;
        tail = __atomic_load_n(q->r.cq_tail, __ATOMIC_ACQUIRE);
        while (go > 0 && head != tail) {
            go = complete(q, &q->r.cqes[head & *q->r.cq_mask]);
            head++;
        }
        __atomic_store_n(q->r.cq_head, head, __ATOMIC_RELEASE);
    }
    if (go < 0 && !fuse_session_exited(R.se)) {
        cli_warn("--io-uring: queue %d: %s; unmounting", q->qid, q->failure);
        end_session();
    }
    return NULL;
}

/* The INIT reply: FUSE_OVER_IO_URING added when the kernel offered it,
 * then the ring threads started (registering needs the connection
 * initialised, which this reply does). */
static ssize_t answer_init(int fd, struct iovec *iov, int count)
{
    const struct fuse_out_header *oh = iov[0].iov_base;
    struct fuse_init_out out;
    struct iovec v[2];
    ssize_t n;
    size_t max_pages, page = (size_t)sysconf(_SC_PAGESIZE), i;
    __atomic_store_n(&R.init_answered, 1, __ATOMIC_RELEASE);
    if (oh->error != 0 || count != 2 ||
        iov[1].iov_len < offsetof(struct fuse_init_out, unused) ||
        iov[1].iov_len > sizeof out)
        return writev(fd, iov, count);
    if (!R.offered) {
        cli_warn("--io-uring: the kernel did not offer FUSE over io_uring; "
                 "requests go through /dev/fuse");
        return writev(fd, iov, count);
    }
    memset(&out, 0, sizeof out);
    memcpy(&out, iov[1].iov_base, iov[1].iov_len);
    out.flags |= FUSE_INIT_EXT;
    out.flags2 |= FUSE_OVER_IO_URING_FLAGS2;
    /* The kernel's largest payload: max(FUSE_MIN_READ_BUFFER, max_write,
     * max_pages pages); it may lower max_pages, never raise it. */
    max_pages = (out.flags & FUSE_MAX_PAGES) ? out.max_pages : 32;
    R.payload_size = FUSE_MIN_READ_BUFFER;
    if (out.max_write > R.payload_size)
        R.payload_size = out.max_write;
    if (max_pages * page > R.payload_size)
        R.payload_size = max_pages * page;
    v[0] = iov[0];
    v[1].iov_base = &out;
    v[1].iov_len = iov[1].iov_len;
    n = writev(fd, v, 2);
    if (n != (ssize_t)(iov[0].iov_len + iov[1].iov_len))
        return n;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (i = 0; i < R.nq; i++)
        R.q[i].started =
            pthread_create(&R.q[i].tid, NULL, queue_thread, &R.q[i]) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (i = 0; i < R.nq; i++)
        if (!R.q[i].started) {
            cli_warn("--io-uring: cannot start the thread of queue %zu; "
                     "unmounting", i);
            end_session();
            break;
        }
    if (R.debug)
        cli_warn("--io-uring: %zu queues of %d entries, %zu-byte payloads",
                 R.nq, RING_DEPTH, R.payload_size);
    return n;
}

/* A reply libfuse writes on a ring thread goes into the entry. */
static ssize_t catch_reply(entry *e, const struct iovec *iov, int count)
{
    struct fuse_out_header oh;
    size_t total = 0, used = 0;
    int k;
    for (k = 0; k < count; k++)
        total += iov[k].iov_len;
    if (count < 1 || iov[0].iov_len != sizeof oh) {
        errno = EINVAL;  /* not a reply: answer_other answers EIO */
        return -1;
    }
    memcpy(&oh, iov[0].iov_base, sizeof oh);
    for (k = 1; k < count; k++) {
        if (iov[k].iov_len > R.payload_size - used) {
            set_reply(e, oh.unique, -EIO, 0);
            caught = 1;
            return (ssize_t)total;
        }
        memcpy(e->payload + used, iov[k].iov_base, iov[k].iov_len);
        used += iov[k].iov_len;
    }
    set_reply(e, oh.unique, oh.error, used);
    caught = 1;
    return (ssize_t)total;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *user)
{
    (void)user;
    if (catching)
        return catch_reply(catching, iov, count);
    if (__atomic_load_n(&R.init_seen, __ATOMIC_ACQUIRE) &&
        !__atomic_load_n(&R.init_answered, __ATOMIC_ACQUIRE) &&
        count >= 1 && iov[0].iov_len == sizeof(struct fuse_out_header) &&
        ((const struct fuse_out_header *)iov[0].iov_base)->unique ==
            R.init_unique)
        return answer_init(fd, iov, count);
    return writev(fd, iov, count);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *user)
{
    ssize_t n = read(fd, buf, len);
    const struct fuse_in_header *in = buf;
    (void)user;
    if (n >= (ssize_t)sizeof *in && in->opcode == FUSE_INIT &&
        !__atomic_load_n(&R.init_seen, __ATOMIC_ACQUIRE)) {
        struct fuse_init_in ii;
        memset(&ii, 0, sizeof ii);
        memcpy(&ii, in + 1,
               (size_t)n - sizeof *in < sizeof ii ? (size_t)n - sizeof *in
                                                  : sizeof ii);
        R.init_unique = in->unique;
        R.offered = (ii.flags & FUSE_INIT_EXT) &&
                    (ii.flags2 & FUSE_OVER_IO_URING_FLAGS2);
        __atomic_store_n(&R.init_seen, 1, __ATOMIC_RELEASE);
    }
    return n;
}

/* /dev/fuse traffic that stays there (FORGET, INTERRUPT) keeps splicing
 * as without the hooks: one function for both directions. */
static ssize_t io_splice(int fdin, off_t *offin, int fdout, off_t *offout,
                         size_t len, unsigned flags, void *user)
{
    (void)user;
    return splice(fdin, offin, fdout, offout, len, flags);
}

int fuse_ring_check(char *why, size_t len)
{
    char v = 0;
    uring probe;
    int fd = open(ENABLE_URING_PARAM, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, len, "this kernel has no FUSE over io_uring (%s: %s; "
                           "it needs Linux 6.14 or later built with "
                           "CONFIG_FUSE_IO_URING)",
                 ENABLE_URING_PARAM, strerror(errno));
        return -1;
    }
    if (read(fd, &v, 1) != 1)
        v = 0;
    close(fd);
    if (v != 'Y' && v != '1') {
        snprintf(why, len, "FUSE over io_uring is switched off (%s is %c); "
                           "as root: echo Y > %s",
                 ENABLE_URING_PARAM, v ? v : '?', ENABLE_URING_PARAM);
        return -1;
    }
    if (possible_cpus() > MAX_QUEUES) {
        snprintf(why, len, "more than %d possible CPUs", MAX_QUEUES);
        return -1;
    }
    if (ur_setup(&probe, 2) != 0) {
        snprintf(why, len, "io_uring with 128-byte entries is not available "
                           "(%s; see /proc/sys/kernel/io_uring_disabled)",
                 strerror(errno));
        ur_close(&probe);
        return -1;
    }
    ur_close(&probe);
    return 0;
}

int fuse_ring_attach(struct fuse_session *se, fuse_ring_reader reader,
                     int debug)
{
    static const struct fuse_custom_io io = {
        .writev = io_writev,
        .read = io_read,
        .splice_receive = io_splice,
        .splice_send = io_splice,
    };
    size_t i;
    R.se = se;
    R.reader = reader;
    R.debug = debug;
    R.fd = fuse_session_fd(se);
    R.nq = possible_cpus();
    if (R.nq > MAX_QUEUES) {
        errno = EINVAL;
        return -1;
    }
    R.q = calloc(R.nq, sizeof *R.q);
    if (!R.q)
        return -1;
    for (i = 0; i < R.nq; i++) {
        R.q[i].qid = (int)i;
        R.q[i].r.fd = -1;
        R.q[i].stop_fd = eventfd(0, EFD_CLOEXEC);
        if (R.q[i].stop_fd < 0)
            return -1;
    }
    if (fuse_session_custom_io(se, &io, R.fd) != 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

void fuse_ring_stop(void)
{
    size_t i, k;
    uint64_t one = 1;
    for (i = 0; i < R.nq; i++) {
        queue *q = &R.q[i];
        if (q->started) {
            if (write(q->stop_fd, &one, sizeof one) != sizeof one)
                pthread_cancel(q->tid);
            pthread_join(q->tid, NULL);
            if (R.debug)
                cli_warn("--io-uring: queue %d answered %lu requests, %lu of "
                         "them reads", q->qid, q->answered, q->reads);
        }
        ur_close(&q->r);
        if (q->stop_fd >= 0)
            close(q->stop_fd);
        for (k = 0; k < RING_DEPTH; k++) {
            if (q->ent[k].hdr)
                munmap(q->ent[k].hdr, sizeof *q->ent[k].hdr);
            if (q->ent[k].payload)
                munmap(q->ent[k].payload, R.payload_size);
        }
        free(q->rebuilt);
    }
    free(R.q);
    R.q = NULL;
    R.nq = 0;
}
