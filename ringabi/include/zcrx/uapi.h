// SPDX-License-Identifier: MIT
// Kernel-identical definitions of everything that crosses the zcrxd <->
// consumer boundary. Field names, sizes and offsets follow the Linux uapi
// (include/uapi/linux/io_uring.h and include/uapi/linux/io_uring/zcrx.h);
// every one is pinned by a static_assert below so a layout drift is a build
// error, not a silent ABI break. The structs live in namespace zcrx::uapi so
// this header can be included beside <linux/io_uring.h> or liburing; the
// constants use C++ names because the kernel's are preprocessor macros.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zcrx::uapi {

// ---- SQE -----------------------------------------------------------------

/// 64-byte submission queue entry. Only the unions' members RECV_ZC, NOP and
/// ASYNC_CANCEL use are named; the rest is reserved space of the same size.
struct io_uring_sqe {
  uint8_t opcode;    // 0
  uint8_t flags;     // 1: IOSQE_*
  uint16_t ioprio;   // 2: RECV_ZC: IORING_RECV_MULTISHOT
  int32_t fd;        // 4: RECV_ZC: flow handle
  union {            // 8
    uint64_t off;
    uint64_t addr2;
  };
  union {            // 16
    uint64_t addr;   // ASYNC_CANCEL: user_data to cancel
    uint64_t splice_off_in;
  };
  uint32_t len;      // 24: RECV_ZC: byte limit, 0 = unlimited
  union {            // 28
    uint32_t rw_flags;
    uint32_t msg_flags;
    uint32_t cancel_flags;
  };
  uint64_t user_data;  // 32
  union {              // 40
    uint16_t buf_index;
    uint16_t buf_group;
  } __attribute__((packed));
  uint16_t personality;  // 42
  union {                // 44
    int32_t splice_fd_in;
    uint32_t file_index;
    uint32_t zcrx_ifq_idx;  // RECV_ZC: zcrx id within the ring
  };
  union {  // 48
    struct {
      uint64_t addr3;
      uint64_t __pad2[1];
    };
    uint8_t cmd[16];
  };
};

// ---- CQE -----------------------------------------------------------------

/// 16-byte completion queue entry.
struct io_uring_cqe {
  uint64_t user_data;
  int32_t res;
  uint32_t flags;
};

/// Extra 16 bytes of a RECV_ZC completion (the big_cqe half of a CQE32).
struct io_uring_zcrx_cqe {
  uint64_t off;  // area token | byte offset of the data inside the area
  uint64_t __pad;
};

/// One slot of a CQ created with IORING_SETUP_CQE32.
struct io_uring_cqe32 {
  io_uring_cqe cqe;
  io_uring_zcrx_cqe zcqe;
};

// ---- ring offsets ----------------------------------------------------------

struct io_sqring_offsets {
  uint32_t head;
  uint32_t tail;
  uint32_t ring_mask;
  uint32_t ring_entries;
  uint32_t flags;
  uint32_t dropped;
  uint32_t array;
  uint32_t resv1;
  uint64_t user_addr;
};

struct io_cqring_offsets {
  uint32_t head;
  uint32_t tail;
  uint32_t ring_mask;
  uint32_t ring_entries;
  uint32_t overflow;
  uint32_t cqes;
  uint32_t flags;
  uint32_t resv1;
  uint64_t user_addr;
};

// ---- zcrx ------------------------------------------------------------------

/// Refill queue entry: a buffer handed back by the consumer.
struct io_uring_zcrx_rqe {
  uint64_t off;  // area token | byte offset, as received in the CQE
  uint32_t len;  // advisory
  uint32_t __pad;
};

struct io_uring_zcrx_offsets {
  uint32_t head;
  uint32_t tail;
  uint32_t rqes;
  uint32_t __resv2;
  uint64_t __resv[2];
};

struct io_uring_zcrx_area_reg {
  uint64_t addr;
  uint64_t len;
  uint64_t rq_area_token;  // out: area id << IORING_ZCRX_AREA_SHIFT
  uint32_t flags;
  uint32_t dmabuf_fd;
  uint64_t __resv2[2];
};

struct io_uring_region_desc {
  uint64_t user_addr;
  uint64_t size;
  uint32_t flags;
  uint32_t id;
  uint64_t mmap_offset;
  uint64_t __resv[4];
};

/// Argument of IORING_REGISTER_ZCRX_IFQ.
struct io_uring_zcrx_ifq_reg {
  uint32_t if_idx;  // register: port; import: zcrx fd; clone: source ring fd
  uint32_t if_rxq;  // register: queue; clone: source zcrx id
  uint32_t rq_entries;
  uint32_t flags;  // ZCRX_REG_IMPORT / IORING_ZCRX_IFQ_REG_CLONE / ZCRX_REG_NODEV
  uint64_t area_ptr;    // struct io_uring_zcrx_area_reg *
  uint64_t region_ptr;  // struct io_uring_region_desc *
  io_uring_zcrx_offsets offsets;  // out
  uint32_t zcrx_id;               // out
  uint32_t rx_buf_len;            // 0 = default (4096)
  uint64_t event_desc;  // struct zcrx_event_desc *, 0 = no events
  uint64_t __resv[2];
};

// ---- zcrx events (Linux 7.2) ---------------------------------------------------
// Every registration makes the registering ring the ifq's master ctx
// (seed 000; Linux 7.2 does so only when type_mask is non-zero), and
// events are posted only for the types in type_mask. When an allowed
// event fires,
// one CQE is posted on the master's CQ with cqe.user_data =
// desc.user_data and cqe.res = the zcrx_event_type (not a mask); the same
// type fires again only after the ring re-arms it with ZCRX_CTRL_ARM_EVENT.

/// Event types; bit (1 << type) of zcrx_event_desc.type_mask allows one.
enum zcrx_event_type : uint32_t {
  ZCRX_EVENT_ALLOC_FAIL = 0,  // the queue found no free buffer in the area
  ZCRX_EVENT_COPY = 1,        // data was copied instead of received in place
  __ZCRX_EVENT_TYPE_LAST,
};

/// zcrx_event_desc.flags: stats_offset names a zcrx_stats in the RQ region.
inline constexpr uint32_t kZcrxEventDescFlagStats = 1u << 0;  // ZCRX_EVENT_DESC_FLAG_STATS

/// Pointed to by io_uring_zcrx_ifq_reg.event_desc.
struct zcrx_event_desc {
  uint64_t user_data;     // cqe.user_data of every event CQE
  uint32_t type_mask;     // 1 << zcrx_event_type for each type wanted
  uint32_t flags;         // kZcrxEventDescFlagStats
  uint64_t stats_offset;  // from the start of the RQ region, 8-aligned,
                          // after the RQE array (with the flag only)
  uint64_t __resv2[9];
};

/// Shared-memory counters at stats_offset of the RQ region. Written by the
/// producer of the data (the kernel, here zcrxd), read by the consumer.
struct zcrx_stats {
  uint64_t copy_count;  // receives that fell back to a copy
  uint64_t copy_bytes;  // bytes those copies carried
};

struct zcrx_ctrl_flush_rq {
  uint64_t __resv[6];
};

struct zcrx_ctrl_export {
  uint32_t zcrx_fd;  // out
  uint32_t __resv1[11];
};

/// ZCRX_CTRL_ARM_EVENT: the ring handled the last event of this type and
/// wants the next one.
struct zcrx_ctrl_arm_event {
  uint32_t event_type;  // zcrx_event_type
  uint32_t __resv[11];
};

/// Argument of IORING_REGISTER_ZCRX_CTRL.
struct zcrx_ctrl {
  uint32_t zcrx_id;
  uint32_t op;  // zcrx_ctrl_op
  uint64_t __resv[2];
  union {
    zcrx_ctrl_export zc_export;
    zcrx_ctrl_flush_rq zc_flush;
    zcrx_ctrl_arm_event zc_arm_event;
  };
};

// ---- constants ---------------------------------------------------------------

inline constexpr uint8_t kOpNop = 0;                  // IORING_OP_NOP
inline constexpr uint8_t kOpAccept = 13;              // IORING_OP_ACCEPT
inline constexpr uint8_t kOpAsyncCancel = 14;         // IORING_OP_ASYNC_CANCEL
inline constexpr uint8_t kOpConnect = 16;             // IORING_OP_CONNECT
inline constexpr uint8_t kOpClose = 19;               // IORING_OP_CLOSE
inline constexpr uint8_t kOpSend = 26;                // IORING_OP_SEND
inline constexpr uint8_t kOpShutdown = 34;            // IORING_OP_SHUTDOWN
inline constexpr uint16_t kAcceptMultishot = 1u << 0; // IORING_ACCEPT_MULTISHOT
inline constexpr uint8_t kOpRecvZc = 58;              // IORING_OP_RECV_ZC
inline constexpr uint16_t kRecvMultishot = 1u << 1;   // IORING_RECV_MULTISHOT
inline constexpr uint32_t kCqeFBuffer = 1u << 0;      // IORING_CQE_F_BUFFER
inline constexpr uint32_t kCqeFMore = 1u << 1;        // IORING_CQE_F_MORE
inline constexpr uint32_t kSqNeedWakeup = 1u << 0;    // IORING_SQ_NEED_WAKEUP
inline constexpr uint32_t kCqeFSockNonempty = 1u << 2; // IORING_CQE_F_SOCK_NONEMPTY
inline constexpr uint32_t kCqeFNotif = 1u << 3;       // IORING_CQE_F_NOTIF
inline constexpr uint32_t kCqeFBufMore = 1u << 4;     // IORING_CQE_F_BUF_MORE
inline constexpr uint32_t kCqeFSkip = 1u << 5;        // IORING_CQE_F_SKIP
inline constexpr uint32_t kCqeF32 = 1u << 15;         // IORING_CQE_F_32
/// IORING_CQE_BUFFER_SHIFT: with IORING_CQE_F_BUFFER, the upper 16 bits of
/// `flags` are a buffer id; the kernel's own flags stay in the lower 16.
inline constexpr unsigned kCqeBufferShift = 16;
inline constexpr uint32_t kSetupCqe32 = 1u << 11;     // IORING_SETUP_CQE32
inline constexpr uint32_t kSetupNoSqArray = 1u << 16; // IORING_SETUP_NO_SQARRAY
inline constexpr uint32_t kAsyncCancelAll = 1u << 0;  // IORING_ASYNC_CANCEL_ALL
inline constexpr uint32_t kAsyncCancelFd = 1u << 1;   // IORING_ASYNC_CANCEL_FD
inline constexpr uint32_t kAsyncCancelAny = 1u << 2;  // IORING_ASYNC_CANCEL_ANY

inline constexpr unsigned kZcrxAreaShift = 48;  // IORING_ZCRX_AREA_SHIFT
inline constexpr uint64_t kZcrxAreaMask =       // IORING_ZCRX_AREA_MASK
    ~((uint64_t{1} << kZcrxAreaShift) - 1);
inline constexpr uint32_t kZcrxAreaDmabuf = 1;        // IORING_ZCRX_AREA_DMABUF
inline constexpr uint32_t kZcrxRegImport = 1;         // ZCRX_REG_IMPORT
inline constexpr uint32_t kZcrxRegNodev = 2;          // ZCRX_REG_NODEV
inline constexpr uint32_t kZcrxIfqRegClone = 1;       // IORING_ZCRX_IFQ_REG_CLONE
inline constexpr uint32_t kMemRegionTypeUser = 1;     // IORING_MEM_REGION_TYPE_USER
inline constexpr uint32_t kZcrxFeatureRxPageSize = 1; // ZCRX_FEATURE_RX_PAGE_SIZE
inline constexpr uint32_t kZcrxFeatureEvent = 1u << 1; // ZCRX_FEATURE_EVENT
/// Every zcrx_event_type a descriptor may allow.
inline constexpr uint32_t kZcrxEventTypeMask =
    (1u << ZCRX_EVENT_ALLOC_FAIL) | (1u << ZCRX_EVENT_COPY);

enum zcrx_ctrl_op : uint32_t {
  ZCRX_CTRL_FLUSH_RQ = 0,
  ZCRX_CTRL_EXPORT = 1,
  ZCRX_CTRL_ARM_EVENT = 2,
  ZCRX_CTRL_ADD_AREA = 3,  // upstream's; not served here (-EOPNOTSUPP)
  __ZCRX_CTRL_LAST,
};

// ---- layout pins (values from the kernel's uapi) -------------------------------

static_assert(sizeof(io_uring_sqe) == 64);
static_assert(offsetof(io_uring_sqe, opcode) == 0);
static_assert(offsetof(io_uring_sqe, flags) == 1);
static_assert(offsetof(io_uring_sqe, ioprio) == 2);
static_assert(offsetof(io_uring_sqe, fd) == 4);
static_assert(offsetof(io_uring_sqe, off) == 8);
static_assert(offsetof(io_uring_sqe, addr) == 16);
static_assert(offsetof(io_uring_sqe, len) == 24);
static_assert(offsetof(io_uring_sqe, msg_flags) == 28);
static_assert(offsetof(io_uring_sqe, user_data) == 32);
static_assert(offsetof(io_uring_sqe, buf_index) == 40);
static_assert(offsetof(io_uring_sqe, personality) == 42);
static_assert(offsetof(io_uring_sqe, zcrx_ifq_idx) == 44);
static_assert(offsetof(io_uring_sqe, addr3) == 48);

static_assert(sizeof(io_uring_cqe) == 16);
static_assert(offsetof(io_uring_cqe, res) == 8);
static_assert(offsetof(io_uring_cqe, flags) == 12);
static_assert(sizeof(io_uring_zcrx_cqe) == 16);
static_assert(sizeof(io_uring_cqe32) == 32);
static_assert(offsetof(io_uring_cqe32, zcqe) == 16);

static_assert(sizeof(io_sqring_offsets) == 40);
static_assert(offsetof(io_sqring_offsets, array) == 24);
static_assert(offsetof(io_sqring_offsets, user_addr) == 32);
static_assert(sizeof(io_cqring_offsets) == 40);
static_assert(offsetof(io_cqring_offsets, cqes) == 20);
static_assert(offsetof(io_cqring_offsets, user_addr) == 32);

static_assert(sizeof(io_uring_zcrx_rqe) == 16);
static_assert(offsetof(io_uring_zcrx_rqe, len) == 8);
static_assert(sizeof(io_uring_zcrx_offsets) == 32);
static_assert(offsetof(io_uring_zcrx_offsets, rqes) == 8);
static_assert(sizeof(io_uring_zcrx_area_reg) == 48);
static_assert(offsetof(io_uring_zcrx_area_reg, rq_area_token) == 16);
static_assert(offsetof(io_uring_zcrx_area_reg, flags) == 24);
static_assert(offsetof(io_uring_zcrx_area_reg, dmabuf_fd) == 28);
static_assert(sizeof(io_uring_region_desc) == 64);
static_assert(offsetof(io_uring_region_desc, flags) == 16);
static_assert(offsetof(io_uring_region_desc, mmap_offset) == 24);
static_assert(sizeof(io_uring_zcrx_ifq_reg) == 96);
static_assert(offsetof(io_uring_zcrx_ifq_reg, area_ptr) == 16);
static_assert(offsetof(io_uring_zcrx_ifq_reg, region_ptr) == 24);
static_assert(offsetof(io_uring_zcrx_ifq_reg, offsets) == 32);
static_assert(offsetof(io_uring_zcrx_ifq_reg, zcrx_id) == 64);
static_assert(offsetof(io_uring_zcrx_ifq_reg, rx_buf_len) == 68);
static_assert(offsetof(io_uring_zcrx_ifq_reg, event_desc) == 72);
static_assert(offsetof(io_uring_zcrx_ifq_reg, __resv) == 80);
static_assert(sizeof(zcrx_event_desc) == 96);
static_assert(offsetof(zcrx_event_desc, type_mask) == 8);
static_assert(offsetof(zcrx_event_desc, flags) == 12);
static_assert(offsetof(zcrx_event_desc, stats_offset) == 16);
static_assert(offsetof(zcrx_event_desc, __resv2) == 24);
static_assert(sizeof(zcrx_stats) == 16);
static_assert(offsetof(zcrx_stats, copy_bytes) == 8);
static_assert(ZCRX_EVENT_ALLOC_FAIL == 0 && ZCRX_EVENT_COPY == 1 && __ZCRX_EVENT_TYPE_LAST == 2);
static_assert(ZCRX_CTRL_ARM_EVENT == 2);
static_assert(sizeof(zcrx_ctrl_export) == 48);
static_assert(sizeof(zcrx_ctrl_flush_rq) == 48);
static_assert(sizeof(zcrx_ctrl_arm_event) == 48);
static_assert(sizeof(zcrx_ctrl) == 72);
static_assert(offsetof(zcrx_ctrl, zc_export) == 24);
static_assert(offsetof(zcrx_ctrl, zc_arm_event) == 24);

// ---- area token helpers ---------------------------------------------------

/// Token for area `id`: what the kernel writes to area_reg.rq_area_token.
constexpr uint64_t area_token(uint32_t id) {
  return uint64_t{id} << kZcrxAreaShift;
}
/// Area id encoded in a CQE/RQE `off`.
constexpr uint32_t area_id_of(uint64_t off) {
  return static_cast<uint32_t>(off >> kZcrxAreaShift);
}
/// Byte offset inside the area encoded in a CQE/RQE `off`.
constexpr uint64_t area_offset_of(uint64_t off) { return off & ~kZcrxAreaMask; }

}  // namespace zcrx::uapi
