/* SPDX-License-Identifier: MIT */
/*
 * libzcrx's liburing-compatible API: a program written against liburing for
 * kernel zcrx compiles against this header (put its directory first on the
 * include path: `pkg-config --cflags libzcrx-uring` gives
 * -I<includedir>/zcrx/compat) and runs on zcrxd. Names, signatures and
 * semantics are liburing's; README.md "Running a kernel zcrx program on
 * zcrxd" lists what differs. Every int-returning call gives 0/positive or
 * a negative errno, the kernel's.
 *
 * The ring is a zcrxd session (zcrx/client.h): io_uring_queue_init
 * connects to $ZCRX_URING_SOCKET (else zcrxd's default socket) and creates
 * a ring of the sizes asked; the CQ always has 32-byte slots (CQE32), so
 * io_uring_cqe_shift() is always 1. io_uring_submit makes no syscall
 * (zcrxd polls the SQ); waits spin, then sleep on an eventfd.
 *
 * io_uring_register_ifq takes the kernel's struct io_uring_zcrx_ifq_reg
 * with a user-memory region (IORING_MEM_REGION_TYPE_USER) and a user area,
 * and replaces both ranges in place with shared mappings of zcrxd's
 * memory (the area read-only), so the program's own pointers work.
 *
 * Header coexistence: guarded with liburing's LIB_URING_H (a later
 * <liburing.h> is a no-op) and the uapi with LINUX_IO_URING_H
 * (compat/liburing/io_uring.h says how).
 */
#ifndef LIB_URING_H
#define LIB_URING_H
#define ZCRX_URING_COMPAT 1

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>

#include "liburing/io_uring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* liburing's barriers, on the compiler's atomics. */
#define io_uring_smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define io_uring_smp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

struct io_uring_sq {
  unsigned *khead;
  unsigned *ktail;
  unsigned *kring_mask;
  unsigned *kring_entries;
  unsigned *kflags;
  unsigned *kdropped;
  unsigned *array; /* NULL: the SQ has no index array (NO_SQARRAY) */
  struct io_uring_sqe *sqes;
  unsigned sqe_head;
  unsigned sqe_tail;
  size_t ring_sz;
  void *ring_ptr;
  unsigned ring_mask;
  unsigned ring_entries;
  unsigned pad[2];
};

struct io_uring_cq {
  unsigned *khead;
  unsigned *ktail;
  unsigned *kring_mask;
  unsigned *kring_entries;
  unsigned *kflags;
  unsigned *koverflow;
  struct io_uring_cqe *cqes;
  size_t ring_sz;
  void *ring_ptr;
  unsigned ring_mask;
  unsigned ring_entries;
  unsigned pad[2];
};

struct zcrx_uring;

struct io_uring {
  struct io_uring_sq sq;
  struct io_uring_cq cq;
  unsigned flags; /* the IORING_SETUP_* asked for */
  int ring_fd;    /* the ring region's memfd (not an io_uring fd) */
  unsigned features;
  int enter_ring_fd;
  __u8 int_flags;
  __u8 pad[3];
  unsigned pad2;
  struct zcrx_uring *zcrx; /* libzcrx's state of this ring */
};

/* liburing's view of a zcrx refill queue (the program fills it from
 * reg.offsets and its region pointer). */
struct io_uring_zcrx_rq {
  __u32 *khead;
  __u32 *ktail;
  __u32 rq_tail;
  unsigned ring_entries;
  struct io_uring_zcrx_rqe *rqes;
  void *ring_ptr;
};

/* ---- setup ---------------------------------------------------------------- */

/* Setup flags served: CQSIZE, CLAMP, SUBMIT_ALL, COOP_TASKRUN, TASKRUN_FLAG,
 * CQE32, SINGLE_ISSUER, DEFER_TASKRUN, NO_SQARRAY (all but the sizes are
 * accepted and need nothing here); any other flag -EINVAL, as a kernel
 * that lacks it. The kernel's rules: entries 0 or above 32768 (65536 for
 * the CQ) without CLAMP -EINVAL, a CQ smaller than the SQ -EINVAL,
 * DEFER_TASKRUN without SINGLE_ISSUER -EINVAL, TASKRUN_FLAG without
 * COOP_TASKRUN or DEFER_TASKRUN -EINVAL, non-zero resv -EINVAL. Then
 * zcrxd's errors (-ECONNREFUSED, -ENOENT: no zcrxd at the socket). */
int io_uring_queue_init_params(unsigned entries, struct io_uring *ring,
                               struct io_uring_params *p);
int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags);
/* Ends the session: zcrxd closes the ring's sockets and takes its buffers
 * back. The program's area and region ranges stay mapped (its to unmap). */
void io_uring_queue_exit(struct io_uring *ring);

/* ---- SQ -------------------------------------------------------------------- */

/* A zeroed SQE, or NULL when the SQ is full. */
struct io_uring_sqe *io_uring_get_sqe(struct io_uring *ring);
/* Publishes the SQEs taken since the last submit; returns how many. On
 * the way, fds of sockets the socket shim made (compat/sockets.h) become
 * zcrxd's socket handles, and CONNECT's sockaddr goes inline (zcrxd reads
 * no program memory). */
int io_uring_submit(struct io_uring *ring);
/* Submits, then waits until wait_nr completions are ready. */
int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);

/* ---- CQ -------------------------------------------------------------------- */

/* Waits for wait_nr completions (forever) and points *cqe_ptr at the
 * first, in the CQ itself. 0 or -errno. */
int io_uring_wait_cqe_nr(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
                         unsigned wait_nr);
/* Waits for wait_nr completions (0: 1), at most *ts (NULL: forever), and
 * points *cqe_ptr at the first: -ETIME when fewer arrived in time (the
 * kernel's semantics; zcrxd wakes a sleeper once wait_nr are ready).
 * sigmask must be NULL (-EINVAL): zcrxd's waits install no signal mask. */
int io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned wait_nr,
                       struct __kernel_timespec *ts, sigset_t *sigmask);
/* As io_uring_wait_cqe, at most *ts (NULL: forever): -ETIME on timeout. */
int io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
                              struct __kernel_timespec *ts);
/* Consumes nr completions. */
void io_uring_cq_advance(struct io_uring *ring, unsigned nr);

static inline int io_uring_cqe_shift(const struct io_uring *ring) {
  (void)ring;
  return 1; /* zcrxd's CQ slots are always CQE32 */
}

#define io_uring_cqe_index(ring, ptr, mask) (((ptr) & (mask)) << io_uring_cqe_shift(ring))

/* for (each ready completion) { ... } without consuming; then
 * io_uring_cq_advance(ring, count). */
#define io_uring_for_each_cqe(ring, head, cqe)                                                 \
  for (head = *(ring)->cq.khead;                                                               \
       (cqe = (head != io_uring_smp_load_acquire((ring)->cq.ktail)                             \
                   ? &(ring)->cq.cqes[io_uring_cqe_index(ring, head, (ring)->cq.ring_mask)]    \
                   : NULL));                                                                   \
       head++)

static inline unsigned io_uring_cq_ready(const struct io_uring *ring) {
  return io_uring_smp_load_acquire(ring->cq.ktail) - *ring->cq.khead;
}

static inline int io_uring_wait_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr) {
  return io_uring_wait_cqe_nr(ring, cqe_ptr, 1);
}

/* The first ready completion without waiting, or -EAGAIN. A function, not
 * inline: like every call that waits or submits, it first writes the peer
 * addresses of ACCEPTs that completed and shows their CQEs. */
int io_uring_peek_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr);

static inline void io_uring_cqe_seen(struct io_uring *ring, struct io_uring_cqe *cqe) {
  if (cqe) io_uring_cq_advance(ring, 1);
}

/* ---- zcrx ------------------------------------------------------------------ */

/* IORING_REGISTER_ZCRX_IFQ. reg->if_idx: an interface of this network
 * namespace (else -ENODEV); when $ZCRX_URING_IFNAME is set, only that one
 * (zcrxd's port $ZCRX_URING_PORT, default 0) is zcrxd's, any other
 * -ENODEV. The region must be IORING_MEM_REGION_TYPE_USER. Errors as
 * io_uring/zcrx.c gives them (README lists them); out: reg->offsets,
 * reg->rq_entries, reg->zcrx_id, area->rq_area_token, as the kernel. */
int io_uring_register_ifq(struct io_uring *ring, struct io_uring_zcrx_ifq_reg *reg);
/* libzcrx's own (no liburing name): the refill queue region of zcrx
 * `zcrx_id` of this ring, reg.offsets applying to it; NULL for no such id.
 * A kernel importer (ZCRX_REG_IMPORT) refills through the exporter's
 * region, which it shares; zcrxd gives each importer a refill queue of
 * its own, and this is where it is: an importing program takes its RQ
 * pointer from here instead of the exporter's (the one line it changes).
 * For a registered ifq it is the program's own region's memory. */
void *zcrx_uring_rq_region(struct io_uring *ring, unsigned zcrx_id);
/* IORING_REGISTER_ZCRX_CTRL: ZCRX_CTRL_FLUSH_RQ, ZCRX_CTRL_EXPORT
 * (ctrl->zc_export.zcrx_fd out: an fd the caller closes) and
 * ZCRX_CTRL_ARM_EVENT; ADD_AREA and unknown ops -EOPNOTSUPP, non-zero
 * ctrl->__resv -EFAULT, a payload word that must be 0 -EINVAL. */
int io_uring_register_zcrx_ctrl(struct io_uring *ring, struct zcrx_ctrl *ctrl);

/* ---- SQE preparation (liburing's) ------------------------------------------------ */

static inline void io_uring_sqe_set_data(struct io_uring_sqe *sqe, void *data) {
  sqe->user_data = (unsigned long)data;
}
static inline void *io_uring_cqe_get_data(const struct io_uring_cqe *cqe) {
  return (void *)(uintptr_t)cqe->user_data;
}
static inline void io_uring_sqe_set_data64(struct io_uring_sqe *sqe, __u64 data) {
  sqe->user_data = data;
}
static inline __u64 io_uring_cqe_get_data64(const struct io_uring_cqe *cqe) {
  return cqe->user_data;
}
static inline void io_uring_sqe_set_flags(struct io_uring_sqe *sqe, unsigned flags) {
  sqe->flags = (__u8)flags;
}

static inline void io_uring_prep_rw(int op, struct io_uring_sqe *sqe, int fd, const void *addr,
                                    unsigned len, __u64 offset) {
  sqe->opcode = (__u8)op;
  sqe->flags = 0;
  sqe->ioprio = 0;
  sqe->fd = fd;
  sqe->off = offset;
  sqe->addr = (unsigned long)addr;
  sqe->len = len;
  sqe->rw_flags = 0;
  sqe->buf_index = 0;
  sqe->personality = 0;
  sqe->file_index = 0;
  sqe->addr3 = 0;
  sqe->__pad2[0] = 0;
}

static inline void io_uring_prep_nop(struct io_uring_sqe *sqe) {
  io_uring_prep_rw(IORING_OP_NOP, sqe, -1, NULL, 0, 0);
}

/* The peer address is written through addr/addrlen as the kernel does
 * (min(*addrlen, its size) bytes, *addrlen = its size) before the program
 * can see the CQE: by the library call that shows it (io_uring_submit,
 * _submit_and_wait, _wait_cqe*, _peek_cqe, _cq_advance). A ring without
 * IORING_SETUP_DEFER_TASKRUN sees zcrxd's CQ tail directly: a CQE read
 * inline (io_uring_for_each_cqe) before any such call saw it has no
 * address yet. */
static inline void io_uring_prep_accept(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr,
                                        socklen_t *addrlen, int flags) {
  io_uring_prep_rw(IORING_OP_ACCEPT, sqe, fd, addr, 0, (__u64)(uintptr_t)addrlen);
  sqe->accept_flags = (__u32)flags;
}

static inline void io_uring_prep_multishot_accept(struct io_uring_sqe *sqe, int fd,
                                                  struct sockaddr *addr, socklen_t *addrlen,
                                                  int flags) {
  io_uring_prep_accept(sqe, fd, addr, addrlen, flags);
  sqe->ioprio |= IORING_ACCEPT_MULTISHOT;
}

static inline void io_uring_prep_connect(struct io_uring_sqe *sqe, int fd,
                                         const struct sockaddr *addr, socklen_t addrlen) {
  io_uring_prep_rw(IORING_OP_CONNECT, sqe, fd, addr, 0, addrlen);
}

static inline void io_uring_prep_send(struct io_uring_sqe *sqe, int sockfd, const void *buf,
                                      size_t len, int flags) {
  io_uring_prep_rw(IORING_OP_SEND, sqe, sockfd, buf, (__u32)len, 0);
  sqe->msg_flags = (__u32)flags;
}

static inline void io_uring_prep_shutdown(struct io_uring_sqe *sqe, int fd, int how) {
  io_uring_prep_rw(IORING_OP_SHUTDOWN, sqe, fd, NULL, (unsigned)how, 0);
}

static inline void io_uring_prep_close(struct io_uring_sqe *sqe, int fd) {
  io_uring_prep_rw(IORING_OP_CLOSE, sqe, fd, NULL, 0, 0);
}

static inline void io_uring_prep_cancel64(struct io_uring_sqe *sqe, __u64 user_data, int flags) {
  io_uring_prep_rw(IORING_OP_ASYNC_CANCEL, sqe, -1, NULL, 0, 0);
  sqe->addr = user_data;
  sqe->cancel_flags = (__u32)flags;
}

static inline void io_uring_prep_cancel(struct io_uring_sqe *sqe, void *user_data, int flags) {
  io_uring_prep_cancel64(sqe, (__u64)(uintptr_t)user_data, flags);
}

#ifdef __cplusplus
}
#endif

#endif /* LIB_URING_H */
