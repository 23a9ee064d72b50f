// SPDX-License-Identifier: MIT
// The compat uapi (zcrx/compat/liburing/io_uring.h) is the kernel's: every
// struct has the size and field offsets of zcrx/uapi.h (itself pinned to
// the kernel's values), the constants the kernel's values. And the
// system's <linux/io_uring.h> included after it is a no-op, not a clash.
#include <doctest/doctest.h>

#include <liburing.h>
#include <linux/io_uring.h>  // after the compat header: its guard makes this empty

#include <cstddef>

#include "zcrx/uapi.h"

namespace u = zcrx::uapi;

#define SAME_SIZE(T) static_assert(sizeof(::T) == sizeof(u::T), #T)
#define SAME_OFF(T, f) static_assert(offsetof(::T, f) == offsetof(u::T, f), #T "." #f)

SAME_SIZE(io_uring_sqe);
SAME_OFF(io_uring_sqe, ioprio);
SAME_OFF(io_uring_sqe, fd);
SAME_OFF(io_uring_sqe, off);
SAME_OFF(io_uring_sqe, addr);
SAME_OFF(io_uring_sqe, len);
SAME_OFF(io_uring_sqe, msg_flags);
SAME_OFF(io_uring_sqe, user_data);
SAME_OFF(io_uring_sqe, personality);
SAME_OFF(io_uring_sqe, zcrx_ifq_idx);
SAME_OFF(io_uring_sqe, addr3);
SAME_SIZE(io_uring_cqe);
SAME_SIZE(io_uring_zcrx_cqe);
SAME_SIZE(io_uring_zcrx_rqe);
SAME_SIZE(io_sqring_offsets);
SAME_SIZE(io_cqring_offsets);
SAME_OFF(io_cqring_offsets, cqes);
SAME_SIZE(io_uring_zcrx_offsets);
SAME_OFF(io_uring_zcrx_offsets, rqes);
SAME_SIZE(io_uring_zcrx_area_reg);
SAME_OFF(io_uring_zcrx_area_reg, rq_area_token);
SAME_OFF(io_uring_zcrx_area_reg, dmabuf_fd);
SAME_SIZE(io_uring_region_desc);
SAME_OFF(io_uring_region_desc, mmap_offset);
SAME_SIZE(io_uring_zcrx_ifq_reg);
SAME_OFF(io_uring_zcrx_ifq_reg, area_ptr);
SAME_OFF(io_uring_zcrx_ifq_reg, region_ptr);
SAME_OFF(io_uring_zcrx_ifq_reg, offsets);
SAME_OFF(io_uring_zcrx_ifq_reg, zcrx_id);
SAME_OFF(io_uring_zcrx_ifq_reg, rx_buf_len);
SAME_OFF(io_uring_zcrx_ifq_reg, event_desc);
SAME_SIZE(zcrx_event_desc);
SAME_OFF(zcrx_event_desc, stats_offset);
SAME_SIZE(zcrx_ctrl);
SAME_OFF(zcrx_ctrl, zc_export);
static_assert(sizeof(io_uring_params) == 120);  // the kernel's
static_assert(offsetof(io_uring_params, sq_off) == 40);

static_assert(IORING_OP_NOP == u::kOpNop && IORING_OP_ACCEPT == u::kOpAccept &&
              IORING_OP_ASYNC_CANCEL == u::kOpAsyncCancel &&
              IORING_OP_CONNECT == u::kOpConnect && IORING_OP_CLOSE == u::kOpClose &&
              IORING_OP_SEND == u::kOpSend && IORING_OP_SHUTDOWN == u::kOpShutdown &&
              IORING_OP_RECV_ZC == u::kOpRecvZc);
static_assert(IORING_RECV_MULTISHOT == u::kRecvMultishot &&
              IORING_ACCEPT_MULTISHOT == u::kAcceptMultishot &&
              IORING_CQE_F_MORE == u::kCqeFMore && IORING_SETUP_CQE32 == u::kSetupCqe32 &&
              IORING_SETUP_NO_SQARRAY == u::kSetupNoSqArray);
static_assert(IORING_ZCRX_AREA_SHIFT == u::kZcrxAreaShift &&
              IORING_ZCRX_AREA_MASK == u::kZcrxAreaMask &&
              IORING_ZCRX_AREA_DMABUF == u::kZcrxAreaDmabuf && ZCRX_REG_IMPORT == u::kZcrxRegImport &&
              ZCRX_REG_NODEV == u::kZcrxRegNodev &&
              IORING_MEM_REGION_TYPE_USER == u::kMemRegionTypeUser &&
              unsigned{ZCRX_CTRL_ARM_EVENT} == unsigned{u::ZCRX_CTRL_ARM_EVENT} &&
              unsigned{ZCRX_CTRL_ADD_AREA} == unsigned{u::ZCRX_CTRL_ADD_AREA} &&
              unsigned{ZCRX_EVENT_DESC_FLAG_STATS} == u::kZcrxEventDescFlagStats);
// Upstream's event names and ADD_AREA's argument (include/uapi/linux/
// io_uring/zcrx.h after "rename notif to event"): programs name them.
static_assert(sizeof(zcrx_ctrl_add_area) == 48 && offsetof(zcrx_ctrl, zc_area) == 24 &&
              offsetof(zcrx_ctrl, zc_arm_event.event_type) == 24 &&
              offsetof(io_uring_zcrx_ifq_reg, event_desc) == 72 &&
              unsigned{ZCRX_EVENT_ALLOC_FAIL} == 0 && unsigned{ZCRX_EVENT_COPY} == 1 &&
              unsigned{ZCRX_FEATURE_EVENT} == 2 && sizeof(zcrx_event_desc) == 96 &&
              sizeof(zcrx_stats) == 16);

TEST_CASE("uring compat layout: the compat header is the one found, and its liburing guard is liburing's") {
#ifdef ZCRX_URING_COMPAT
  CHECK(true);
#else
  FAIL("the system's <liburing.h> was found first");
#endif
#ifdef ZCRX_COMPAT_OWNS_IO_URING_UAPI
  CHECK(true);
#else
  FAIL("the system's <linux/io_uring.h> won over the compat uapi");
#endif
}
