/* SPDX-License-Identifier: MIT */
/*
 * The io_uring uapi as a kernel-zcrx program sees it, for libzcrx's
 * liburing-compatible API (zcrx/compat/liburing.h). Names, values and
 * layouts are the kernel's (include/uapi/linux/io_uring.h and
 * io_uring/zcrx.h, Linux 7.x) so that a program written for kernel zcrx
 * compiles unchanged; tests/uring_compat/test_compat_layout.cpp pins each
 * struct against zcrx/uapi.h.
 *
 * Coexistence with the system's headers: this file uses the kernel's own
 * include guard, LINUX_IO_URING_H (liburing's bundled copy uses it too), so
 * a <linux/io_uring.h> included after it is a no-op. A <linux/io_uring.h>
 * included *before* it wins; when that one already knows zcrx (it defines
 * IORING_ZCRX_AREA_SHIFT) everything below is its; an older one (Debian
 * 12's, Linux 6.1) lacks the SQE's zcrx_ifq_idx, so that order is refused
 * with an #error naming the fix (include <liburing.h> first).
 */
#ifndef LINUX_IO_URING_H
#define LINUX_IO_URING_H
#define ZCRX_COMPAT_OWNS_IO_URING_UAPI 1

#include <linux/time_types.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Submission queue entry (64 bytes). Only the union members programs of
 * the supported opcodes name are spelt out; the rest is the same space. */
struct io_uring_sqe {
  __u8 opcode;
  __u8 flags;
  __u16 ioprio;
  __s32 fd;
  union {
    __u64 off;
    __u64 addr2;
    struct {
      __u32 cmd_op;
      __u32 __pad1;
    };
  };
  union {
    __u64 addr;
    __u64 splice_off_in;
    struct {
      __u32 level;
      __u32 optname;
    };
  };
  __u32 len;
  union {
    __u32 rw_flags;
    __u32 fsync_flags;
    __u16 poll_events;
    __u32 poll32_events;
    __u32 sync_range_flags;
    __u32 msg_flags;
    __u32 timeout_flags;
    __u32 accept_flags;
    __u32 cancel_flags;
    __u32 open_flags;
    __u32 statx_flags;
    __u32 fadvise_advice;
    __u32 splice_flags;
    __u32 rename_flags;
    __u32 unlink_flags;
    __u32 hardlink_flags;
    __u32 xattr_flags;
    __u32 msg_ring_flags;
    __u32 uring_cmd_flags;
    __u32 waitid_flags;
    __u32 futex_flags;
    __u32 install_fd_flags;
    __u32 nop_flags;
    __u32 pipe_flags;
  };
  __u64 user_data;
  union {
    __u16 buf_index;
    __u16 buf_group;
  } __attribute__((packed));
  __u16 personality;
  union {
    __s32 splice_fd_in;
    __u32 file_index;
    __u32 zcrx_ifq_idx;
    __u32 optlen;
    struct {
      __u16 addr_len;
      __u16 __pad3[1];
    };
  };
  union {
    struct {
      __u64 addr3;
      __u64 __pad2[1];
    };
    __u64 optval;
    __u8 cmd[0];
  };
};

/* sqe->flags */
#define IOSQE_FIXED_FILE (1U << 0)
#define IOSQE_IO_DRAIN (1U << 1)
#define IOSQE_IO_LINK (1U << 2)
#define IOSQE_IO_HARDLINK (1U << 3)
#define IOSQE_ASYNC (1U << 4)
#define IOSQE_BUFFER_SELECT (1U << 5)
#define IOSQE_CQE_SKIP_SUCCESS (1U << 6)

/* io_uring_setup() flags */
#define IORING_SETUP_IOPOLL (1U << 0)
#define IORING_SETUP_SQPOLL (1U << 1)
#define IORING_SETUP_SQ_AFF (1U << 2)
#define IORING_SETUP_CQSIZE (1U << 3)
#define IORING_SETUP_CLAMP (1U << 4)
#define IORING_SETUP_ATTACH_WQ (1U << 5)
#define IORING_SETUP_R_DISABLED (1U << 6)
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#define IORING_SETUP_SQE128 (1U << 10)
#define IORING_SETUP_CQE32 (1U << 11)
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#define IORING_SETUP_NO_MMAP (1U << 14)
#define IORING_SETUP_REGISTERED_FD_ONLY (1U << 15)
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#define IORING_SETUP_HYBRID_IOPOLL (1U << 17)
#define IORING_SETUP_CQE_MIXED (1U << 18)

enum io_uring_op {
  IORING_OP_NOP,
  IORING_OP_READV,
  IORING_OP_WRITEV,
  IORING_OP_FSYNC,
  IORING_OP_READ_FIXED,
  IORING_OP_WRITE_FIXED,
  IORING_OP_POLL_ADD,
  IORING_OP_POLL_REMOVE,
  IORING_OP_SYNC_FILE_RANGE,
  IORING_OP_SENDMSG,
  IORING_OP_RECVMSG,
  IORING_OP_TIMEOUT,
  IORING_OP_TIMEOUT_REMOVE,
  IORING_OP_ACCEPT,
  IORING_OP_ASYNC_CANCEL,
  IORING_OP_LINK_TIMEOUT,
  IORING_OP_CONNECT,
  IORING_OP_FALLOCATE,
  IORING_OP_OPENAT,
  IORING_OP_CLOSE,
  IORING_OP_FILES_UPDATE,
  IORING_OP_STATX,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IORING_OP_FADVISE,
  IORING_OP_MADVISE,
  IORING_OP_SEND,
  IORING_OP_RECV,
  IORING_OP_OPENAT2,
  IORING_OP_EPOLL_CTL,
  IORING_OP_SPLICE,
  IORING_OP_PROVIDE_BUFFERS,
  IORING_OP_REMOVE_BUFFERS,
  IORING_OP_TEE,
  IORING_OP_SHUTDOWN,
  IORING_OP_RENAMEAT,
  IORING_OP_UNLINKAT,
  IORING_OP_MKDIRAT,
  IORING_OP_SYMLINKAT,
  IORING_OP_LINKAT,
  IORING_OP_MSG_RING,
  IORING_OP_FSETXATTR,
  IORING_OP_SETXATTR,
  IORING_OP_FGETXATTR,
  IORING_OP_GETXATTR,
  IORING_OP_SOCKET,
  IORING_OP_URING_CMD,
  IORING_OP_SEND_ZC,
  IORING_OP_SENDMSG_ZC,
  IORING_OP_READ_MULTISHOT,
  IORING_OP_WAITID,
  IORING_OP_FUTEX_WAIT,
  IORING_OP_FUTEX_WAKE,
  IORING_OP_FUTEX_WAITV,
  IORING_OP_FIXED_FD_INSTALL,
  IORING_OP_FTRUNCATE,
  IORING_OP_BIND,
  IORING_OP_LISTEN,
  IORING_OP_RECV_ZC,
  IORING_OP_LAST,
};

/* sqe->ioprio of send/recv and accept */
#define IORING_RECVSEND_POLL_FIRST (1U << 0)
#define IORING_RECV_MULTISHOT (1U << 1)
#define IORING_ACCEPT_MULTISHOT (1U << 0)
/* sqe->cancel_flags */
#define IORING_ASYNC_CANCEL_ALL (1U << 0)
#define IORING_ASYNC_CANCEL_FD (1U << 1)
#define IORING_ASYNC_CANCEL_ANY (1U << 2)

/* Completion queue entry; a CQE32 ring's slot is two of these, the second
 * being struct io_uring_zcrx_cqe for RECV_ZC. */
struct io_uring_cqe {
  __u64 user_data;
  __s32 res;
  __u32 flags;
  __u64 big_cqe[];
};

#define IORING_CQE_F_BUFFER (1U << 0)
#define IORING_CQE_F_MORE (1U << 1)
#define IORING_CQE_F_SOCK_NONEMPTY (1U << 2)
#define IORING_CQE_F_NOTIF (1U << 3)
#define IORING_CQE_F_BUF_MORE (1U << 4)
#define IORING_CQE_BUFFER_SHIFT 16

struct io_sqring_offsets {
  __u32 head;
  __u32 tail;
  __u32 ring_mask;
  __u32 ring_entries;
  __u32 flags;
  __u32 dropped;
  __u32 array;
  __u32 resv1;
  __u64 user_addr;
};

#define IORING_SQ_NEED_WAKEUP (1U << 0)
#define IORING_SQ_CQ_OVERFLOW (1U << 1)
#define IORING_SQ_TASKRUN (1U << 2)

struct io_cqring_offsets {
  __u32 head;
  __u32 tail;
  __u32 ring_mask;
  __u32 ring_entries;
  __u32 overflow;
  __u32 cqes;
  __u32 flags;
  __u32 resv1;
  __u64 user_addr;
};

struct io_uring_params {
  __u32 sq_entries;
  __u32 cq_entries;
  __u32 flags;
  __u32 sq_thread_cpu;
  __u32 sq_thread_idle;
  __u32 features;
  __u32 wq_fd;
  __u32 resv[3];
  struct io_sqring_offsets sq_off;
  struct io_cqring_offsets cq_off;
};

#define IORING_FEAT_SINGLE_MMAP (1U << 0)
#define IORING_FEAT_NODROP (1U << 1)
#define IORING_FEAT_SUBMIT_STABLE (1U << 2)
#define IORING_FEAT_EXT_ARG (1U << 8)

#define IORING_ENTER_GETEVENTS (1U << 0)

/* ---- zcrx ---------------------------------------------------------------- */

/* Memory regions (IORING_MEM_REGION_TYPE_USER: the program's memory). */
enum {
  IORING_MEM_REGION_TYPE_USER = 1,
};

struct io_uring_region_desc {
  __u64 user_addr;
  __u64 size;
  __u32 flags;
  __u32 id;
  __u64 mmap_offset;
  __u64 __resv[4];
};

#define IORING_OFF_ZCRX_SHIFT 16
#define IORING_ZCRX_AREA_SHIFT 48
#define IORING_ZCRX_AREA_MASK (~(((__u64)1 << IORING_ZCRX_AREA_SHIFT) - 1))

struct io_uring_zcrx_rqe {
  __u64 off;
  __u32 len;
  __u32 __pad;
};

struct io_uring_zcrx_cqe {
  __u64 off;
  __u64 __pad;
};

struct io_uring_zcrx_offsets {
  __u32 head;
  __u32 tail;
  __u32 rqes;
  __u32 __resv2;
  __u64 __resv[2];
};

enum io_uring_zcrx_area_flags {
  IORING_ZCRX_AREA_DMABUF = 1,
};

struct io_uring_zcrx_area_reg {
  __u64 addr;
  __u64 len;
  __u64 rq_area_token;
  __u32 flags;
  __u32 dmabuf_fd;
  __u64 __resv2[2];
};

enum zcrx_reg_flags {
  ZCRX_REG_IMPORT = 1,
  ZCRX_REG_NODEV = 2,
};

enum zcrx_features {
  ZCRX_FEATURE_RX_PAGE_SIZE = 1 << 0,
  ZCRX_FEATURE_EVENT = 1 << 1,
};

/* Argument of IORING_REGISTER_ZCRX_IFQ (io_uring_register_ifq). */
struct io_uring_zcrx_ifq_reg {
  __u32 if_idx;
  __u32 if_rxq;
  __u32 rq_entries;
  __u32 flags;
  __u64 area_ptr;   /* struct io_uring_zcrx_area_reg * */
  __u64 region_ptr; /* struct io_uring_region_desc * */
  struct io_uring_zcrx_offsets offsets;
  __u32 zcrx_id;
  __u32 rx_buf_len;
  __u64 event_desc; /* struct zcrx_event_desc *, 0: none */
  __u64 __resv[2];
};

/* zcrx events (Linux 7.2): event_desc of the registration. The names are
 * upstream's since "io_uring/zcrx: rename notif to event" (the first
 * series said notif/notification; no released liburing carried those). */
enum zcrx_event_type {
  ZCRX_EVENT_ALLOC_FAIL = 0,
  ZCRX_EVENT_COPY = 1,
  __ZCRX_EVENT_TYPE_LAST,
};

enum zcrx_event_desc_flags {
  ZCRX_EVENT_DESC_FLAG_STATS = 1 << 0, /* stats_offset names a struct zcrx_stats */
};

struct zcrx_event_desc {
  __u64 user_data;
  __u32 type_mask;
  __u32 flags;
  __u64 stats_offset;
  __u64 __resv2[9];
};

struct zcrx_stats {
  __u64 copy_count;
  __u64 copy_bytes;
};

enum zcrx_ctrl_op {
  ZCRX_CTRL_FLUSH_RQ,
  ZCRX_CTRL_EXPORT,
  ZCRX_CTRL_ARM_EVENT,
  ZCRX_CTRL_ADD_AREA,
  __ZCRX_CTRL_LAST,
};

struct zcrx_ctrl_flush_rq {
  __u64 __resv[6];
};

struct zcrx_ctrl_export {
  __u32 zcrx_fd;
  __u32 __resv1[11];
};

struct zcrx_ctrl_arm_event {
  __u32 event_type;
  __u32 __resv[11];
};

struct zcrx_ctrl_add_area {
  __u64 area_ptr; /* struct io_uring_zcrx_area_reg * */
  __u64 __resv[5];
};

/* Argument of IORING_REGISTER_ZCRX_CTRL (io_uring_register_zcrx_ctrl). */
struct zcrx_ctrl {
  __u32 zcrx_id;
  __u32 op; /* enum zcrx_ctrl_op */
  __u64 __resv[2];
  union {
    struct zcrx_ctrl_export zc_export;
    struct zcrx_ctrl_flush_rq zc_flush;
    struct zcrx_ctrl_arm_event zc_arm_event;
    struct zcrx_ctrl_add_area zc_area;
  };
};

#ifdef __cplusplus
}
#endif

#endif /* LINUX_IO_URING_H */

/* A kernel header came first: it is usable only when it knows zcrx. */
#if !defined(ZCRX_COMPAT_OWNS_IO_URING_UAPI) && !defined(IORING_ZCRX_AREA_SHIFT)
#error "<linux/io_uring.h> without zcrx was included before libzcrx's <liburing.h>: include <liburing.h> first"
#endif
