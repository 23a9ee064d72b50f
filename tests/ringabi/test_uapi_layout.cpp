// Our uapi structs against the build machine's <linux/io_uring.h>, for the
// structs and constants that header has (it may be older than zcrx).
#include <linux/types.h>

#include <cstddef>
#include <linux/io_uring.h>

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
