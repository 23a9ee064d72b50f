// Our uapi structs against the build machine's <linux/io_uring.h>, for the
// structs and constants that header has (it may be older than zcrx).
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
