// Our uapi against the kernel's. The build machine's <linux/io_uring.h>
// (Debian 12: Linux 6.1 headers) predates zcrx, so every zcrx struct size,
// field offset and constant is also pinned below with the numbers of the
// upstream uapi, written out as literals.
#include <linux/types.h>

#include <cstddef>
#include <linux/io_uring.h>
#if __has_include(<linux/io_uring/zcrx.h>)
#include <linux/io_uring/zcrx.h>  // zcrx uapi moved here in newer kernels
#endif
#include <type_traits>

#include <doctest/doctest.h>

#include "zcrx/uapi.h"

namespace u = zcrx::uapi;

#define SAME_FIELD(T, f)                                                   \
  static_assert(offsetof(u::T, f) == offsetof(::T, f), #T "." #f);          \
  static_assert(sizeof(u::T::f) == sizeof(::T::f), #T "." #f " size")

static_assert(sizeof(u::io_uring_sqe) == sizeof(::io_uring_sqe));
SAME_FIELD(io_uring_sqe, opcode);
SAME_FIELD(io_uring_sqe, flags);
SAME_FIELD(io_uring_sqe, ioprio);
SAME_FIELD(io_uring_sqe, fd);
SAME_FIELD(io_uring_sqe, off);
SAME_FIELD(io_uring_sqe, addr);
SAME_FIELD(io_uring_sqe, len);
SAME_FIELD(io_uring_sqe, user_data);
SAME_FIELD(io_uring_sqe, personality);
SAME_FIELD(io_uring_sqe, splice_fd_in);
SAME_FIELD(io_uring_sqe, addr3);
static_assert(sizeof(u::io_uring_cqe) == sizeof(::io_uring_cqe));
SAME_FIELD(io_uring_cqe, user_data);
SAME_FIELD(io_uring_cqe, res);
SAME_FIELD(io_uring_cqe, flags);
static_assert(sizeof(u::io_sqring_offsets) == sizeof(::io_sqring_offsets));
SAME_FIELD(io_sqring_offsets, head);
SAME_FIELD(io_sqring_offsets, tail);
SAME_FIELD(io_sqring_offsets, ring_mask);
SAME_FIELD(io_sqring_offsets, ring_entries);
SAME_FIELD(io_sqring_offsets, flags);
SAME_FIELD(io_sqring_offsets, dropped);
SAME_FIELD(io_sqring_offsets, array);
static_assert(sizeof(u::io_cqring_offsets) == sizeof(::io_cqring_offsets));
SAME_FIELD(io_cqring_offsets, head);
SAME_FIELD(io_cqring_offsets, tail);
SAME_FIELD(io_cqring_offsets, ring_mask);
SAME_FIELD(io_cqring_offsets, ring_entries);
SAME_FIELD(io_cqring_offsets, overflow);
SAME_FIELD(io_cqring_offsets, cqes);
SAME_FIELD(io_cqring_offsets, flags);

TEST_CASE("uapi constants equal the build machine's kernel header") {
  CHECK(u::kOpNop == IORING_OP_NOP);
  CHECK(u::kOpAsyncCancel == IORING_OP_ASYNC_CANCEL);
  CHECK(u::kRecvMultishot == IORING_RECV_MULTISHOT);
  CHECK(u::kCqeFBuffer == IORING_CQE_F_BUFFER);
  CHECK(u::kCqeFMore == IORING_CQE_F_MORE);
  CHECK(u::kSetupCqe32 == IORING_SETUP_CQE32);
  CHECK(u::kAsyncCancelAll == IORING_ASYNC_CANCEL_ALL);
}

TEST_CASE("area token round trip: id << 48 | offset") {
  uint64_t off = u::area_token(3) | 0x1234;
  CHECK(u::area_id_of(off) == 3);
  CHECK(u::area_offset_of(off) == 0x1234);
  CHECK((off & u::kZcrxAreaMask) == u::area_token(3));
}

// zcrx events (Linux 7.2) are newer than this machine's header. Declared
// here so the names exist either way; compared only when the header made
// them complete types (a header of 7.2 or later).
struct zcrx_event_desc;
struct zcrx_stats;
struct zcrx_ctrl_arm_event;

namespace {

template <class K, class = void>
struct complete : std::false_type {};
template <class K>
struct complete<K, std::void_t<decltype(sizeof(K))>> : std::true_type {};

// The detector itself: a defined struct is complete, a declared one not.
struct declared_only;
static_assert(complete<u::zcrx_stats>::value);
static_assert(!complete<declared_only>::value);

template <class Desc, class Stats, class Arm>
bool compare_event_uapi() {
  if constexpr (complete<Desc>::value && complete<Stats>::value && complete<Arm>::value) {
    CHECK(sizeof(Desc) == sizeof(u::zcrx_event_desc));
    CHECK(offsetof(Desc, user_data) == offsetof(u::zcrx_event_desc, user_data));
    CHECK(offsetof(Desc, type_mask) == offsetof(u::zcrx_event_desc, type_mask));
    CHECK(offsetof(Desc, flags) == offsetof(u::zcrx_event_desc, flags));
    CHECK(offsetof(Desc, stats_offset) == offsetof(u::zcrx_event_desc, stats_offset));
    CHECK(sizeof(Stats) == sizeof(u::zcrx_stats));
    CHECK(offsetof(Stats, copy_bytes) == offsetof(u::zcrx_stats, copy_bytes));
    CHECK(sizeof(Arm) == sizeof(u::zcrx_ctrl_arm_event));
    CHECK(offsetof(Arm, event_type) == offsetof(u::zcrx_ctrl_arm_event, event_type));
    return true;
  } else {
    return false;
  }
}

}  // namespace

TEST_CASE("zcrx event structs equal the kernel header's, where it has them") {
  if (!compare_event_uapi<::zcrx_event_desc, ::zcrx_stats, ::zcrx_ctrl_arm_event>())
    MESSAGE("the build machine's kernel header predates zcrx events: layout pinned by "
            "static_asserts in zcrx/uapi.h only");
  // Our own values, as the merged uapi defines them.
  CHECK(u::ZCRX_EVENT_ALLOC_FAIL == 0);
  CHECK(u::ZCRX_EVENT_COPY == 1);
  CHECK(u::kZcrxEventTypeMask == 3u);
  CHECK(u::kZcrxEventDescFlagStats == 1u);
  CHECK(u::kZcrxFeatureEvent == 2u);
  CHECK(u::ZCRX_CTRL_ARM_EVENT == 2u);
  CHECK(offsetof(u::io_uring_zcrx_ifq_reg, event_desc) == 72);
}

// ---- upstream zcrx uapi, pinned --------------------------------------------
// Expected values computed by hand from the struct definitions in the
// kernel's include/uapi/linux/io_uring/zcrx.h and include/uapi/linux/io_uring.h
// as of the Linux 7.2 merge (zcrx events named zcrx_event_desc, zcrx_stats,
// ZCRX_EVENT_*, ZCRX_CTRL_ARM_EVENT; ZCRX_REG_NODEV and ZCRX_CTRL_ADD_AREA
// present): every field is a __u32 or __u64 laid out in order with no
// padding, so each offset is the sum of the sizes before it.

#define PIN_SIZE(T, n) CHECK(sizeof(u::T) == (n))
#define PIN_OFF(T, f, n) CHECK(offsetof(u::T, f) == (n))

TEST_CASE("zcrx structs have upstream's sizes and field offsets") {
  // struct io_uring_zcrx_rqe { __u64 off; __u32 len; __u32 __pad; };
  PIN_SIZE(io_uring_zcrx_rqe, 16);
  PIN_OFF(io_uring_zcrx_rqe, off, 0);
  PIN_OFF(io_uring_zcrx_rqe, len, 8);
  PIN_OFF(io_uring_zcrx_rqe, __pad, 12);
  // struct io_uring_zcrx_cqe { __u64 off; __u64 __pad; };
  PIN_SIZE(io_uring_zcrx_cqe, 16);
  PIN_OFF(io_uring_zcrx_cqe, off, 0);
  PIN_OFF(io_uring_zcrx_cqe, __pad, 8);
  // A CQE32 is a 16-byte io_uring_cqe followed by the big-CQE half.
  PIN_SIZE(io_uring_cqe32, 32);
  PIN_OFF(io_uring_cqe32, zcqe, 16);
  // struct io_uring_zcrx_offsets { __u32 head, tail, rqes, __resv2; __u64 __resv[2]; };
  PIN_SIZE(io_uring_zcrx_offsets, 32);
  PIN_OFF(io_uring_zcrx_offsets, head, 0);
  PIN_OFF(io_uring_zcrx_offsets, tail, 4);
  PIN_OFF(io_uring_zcrx_offsets, rqes, 8);
  PIN_OFF(io_uring_zcrx_offsets, __resv2, 12);
  PIN_OFF(io_uring_zcrx_offsets, __resv, 16);
  // struct io_uring_zcrx_area_reg { __u64 addr, len, rq_area_token;
  //   __u32 flags, dmabuf_fd; __u64 __resv2[2]; };
  PIN_SIZE(io_uring_zcrx_area_reg, 48);
  PIN_OFF(io_uring_zcrx_area_reg, addr, 0);
  PIN_OFF(io_uring_zcrx_area_reg, len, 8);
  PIN_OFF(io_uring_zcrx_area_reg, rq_area_token, 16);
  PIN_OFF(io_uring_zcrx_area_reg, flags, 24);
  PIN_OFF(io_uring_zcrx_area_reg, dmabuf_fd, 28);
  PIN_OFF(io_uring_zcrx_area_reg, __resv2, 32);
  // struct io_uring_region_desc { __u64 user_addr, size; __u32 flags, id;
  //   __u64 mmap_offset; __u64 __resv[4]; };
  PIN_SIZE(io_uring_region_desc, 64);
  PIN_OFF(io_uring_region_desc, user_addr, 0);
  PIN_OFF(io_uring_region_desc, size, 8);
  PIN_OFF(io_uring_region_desc, flags, 16);
  PIN_OFF(io_uring_region_desc, id, 20);
  PIN_OFF(io_uring_region_desc, mmap_offset, 24);
  PIN_OFF(io_uring_region_desc, __resv, 32);
  // struct io_uring_zcrx_ifq_reg { __u32 if_idx, if_rxq, rq_entries, flags;
  //   __u64 area_ptr, region_ptr; struct io_uring_zcrx_offsets offsets;
  //   __u32 zcrx_id, rx_buf_len; __u64 event_desc; __u64 __resv[2]; };
  PIN_SIZE(io_uring_zcrx_ifq_reg, 96);
  PIN_OFF(io_uring_zcrx_ifq_reg, if_idx, 0);
  PIN_OFF(io_uring_zcrx_ifq_reg, if_rxq, 4);
  PIN_OFF(io_uring_zcrx_ifq_reg, rq_entries, 8);
  PIN_OFF(io_uring_zcrx_ifq_reg, flags, 12);
  PIN_OFF(io_uring_zcrx_ifq_reg, area_ptr, 16);
  PIN_OFF(io_uring_zcrx_ifq_reg, region_ptr, 24);
  PIN_OFF(io_uring_zcrx_ifq_reg, offsets, 32);
  PIN_OFF(io_uring_zcrx_ifq_reg, zcrx_id, 64);
  PIN_OFF(io_uring_zcrx_ifq_reg, rx_buf_len, 68);
  PIN_OFF(io_uring_zcrx_ifq_reg, event_desc, 72);
  PIN_OFF(io_uring_zcrx_ifq_reg, __resv, 80);
  // struct zcrx_event_desc { __u64 user_data; __u32 type_mask, flags;
  //   __u64 stats_offset; __u64 __resv2[9]; };  (zcrx_notification_desc in
  //   the series before the rename)
  PIN_SIZE(zcrx_event_desc, 96);
  PIN_OFF(zcrx_event_desc, user_data, 0);
  PIN_OFF(zcrx_event_desc, type_mask, 8);
  PIN_OFF(zcrx_event_desc, flags, 12);
  PIN_OFF(zcrx_event_desc, stats_offset, 16);
  PIN_OFF(zcrx_event_desc, __resv2, 24);
  // struct zcrx_stats { __u64 copy_count, copy_bytes; };
  PIN_SIZE(zcrx_stats, 16);
  PIN_OFF(zcrx_stats, copy_count, 0);
  PIN_OFF(zcrx_stats, copy_bytes, 8);
  // The zcrx_ctrl payloads: 48 bytes each.
  // struct zcrx_ctrl_flush_rq { __u64 __resv[6]; };
  PIN_SIZE(zcrx_ctrl_flush_rq, 48);
  // struct zcrx_ctrl_export { __u32 zcrx_fd; __u32 __resv1[11]; };
  PIN_SIZE(zcrx_ctrl_export, 48);
  PIN_OFF(zcrx_ctrl_export, zcrx_fd, 0);
  PIN_OFF(zcrx_ctrl_export, __resv1, 4);
  // struct zcrx_ctrl_arm_event { __u32 event_type; __u32 __resv[11]; };
  PIN_SIZE(zcrx_ctrl_arm_event, 48);
  PIN_OFF(zcrx_ctrl_arm_event, event_type, 0);
  PIN_OFF(zcrx_ctrl_arm_event, __resv, 4);
  // struct zcrx_ctrl { __u32 zcrx_id, op; __u64 __resv[2]; union { ... }; };
  PIN_SIZE(zcrx_ctrl, 72);
  PIN_OFF(zcrx_ctrl, zcrx_id, 0);
  PIN_OFF(zcrx_ctrl, op, 4);
  PIN_OFF(zcrx_ctrl, __resv, 8);
  PIN_OFF(zcrx_ctrl, zc_export, 24);
  PIN_OFF(zcrx_ctrl, zc_flush, 24);
  PIN_OFF(zcrx_ctrl, zc_arm_event, 24);
  // The SQE fields RECV_ZC uses (struct io_uring_sqe).
  PIN_SIZE(io_uring_sqe, 64);
  PIN_OFF(io_uring_sqe, opcode, 0);
  PIN_OFF(io_uring_sqe, ioprio, 2);
  PIN_OFF(io_uring_sqe, fd, 4);
  PIN_OFF(io_uring_sqe, len, 24);
  PIN_OFF(io_uring_sqe, msg_flags, 28);
  PIN_OFF(io_uring_sqe, user_data, 32);
  PIN_OFF(io_uring_sqe, zcrx_ifq_idx, 44);
}

TEST_CASE("zcrx constants have upstream's values") {
  CHECK(u::kZcrxAreaShift == 48);                        // IORING_ZCRX_AREA_SHIFT
  CHECK(u::kZcrxAreaMask == 0xffff000000000000ull);      // IORING_ZCRX_AREA_MASK
  CHECK(u::kZcrxAreaDmabuf == 1);                        // IORING_ZCRX_AREA_DMABUF
  CHECK(u::kZcrxRegImport == 1);                         // ZCRX_REG_IMPORT
  CHECK(u::kZcrxRegNodev == 2);                          // ZCRX_REG_NODEV
  CHECK(u::kZcrxIfqRegClone == 1);                       // IORING_ZCRX_IFQ_REG_CLONE (seed 003)
  CHECK(u::kZcrxFeatureRxPageSize == 1);                 // ZCRX_FEATURE_RX_PAGE_SIZE
  CHECK(u::kZcrxFeatureEvent == 2);                      // ZCRX_FEATURE_EVENT
  CHECK(u::ZCRX_EVENT_ALLOC_FAIL == 0);
  CHECK(u::ZCRX_EVENT_COPY == 1);
  CHECK(u::__ZCRX_EVENT_TYPE_LAST == 2);
  CHECK(u::kZcrxEventDescFlagStats == 1);                // ZCRX_EVENT_DESC_FLAG_STATS
  CHECK(u::ZCRX_CTRL_FLUSH_RQ == 0);
  CHECK(u::ZCRX_CTRL_EXPORT == 1);
  CHECK(u::ZCRX_CTRL_ARM_EVENT == 2);
  CHECK(u::ZCRX_CTRL_ADD_AREA == 3);
  CHECK(u::__ZCRX_CTRL_LAST == 4);
  CHECK(u::kMemRegionTypeUser == 1);                     // IORING_MEM_REGION_TYPE_USER
  CHECK(u::kOpNop == 0);                                 // IORING_OP_NOP
  CHECK(u::kOpAsyncCancel == 14);                        // IORING_OP_ASYNC_CANCEL
  CHECK(u::kOpRecvZc == 58);                             // IORING_OP_RECV_ZC
  CHECK(u::kRecvMultishot == 2);                         // IORING_RECV_MULTISHOT (1U << 1)
  CHECK(u::kCqeFBuffer == 1);                            // IORING_CQE_F_BUFFER
  CHECK(u::kCqeFMore == 2);                              // IORING_CQE_F_MORE
  CHECK(u::kSetupCqe32 == 2048);                         // IORING_SETUP_CQE32 (1U << 11)
  CHECK(u::kSetupNoSqArray == 65536);                    // IORING_SETUP_NO_SQARRAY (1U << 16)
  CHECK(u::kAsyncCancelAll == 1);                        // IORING_ASYNC_CANCEL_ALL
}
