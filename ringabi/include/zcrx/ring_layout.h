// SPDX-License-Identifier: MIT
// Where the rings live inside their shared regions.
//
// A consumer ring (the io_uring ctx) is one region holding the SQ and CQ
// indices, the CQE32 array and the SQE array, described to the consumer with
// the kernel's io_sqring_offsets / io_cqring_offsets (plus the SQE array
// offset, which the kernel hands out as the IORING_OFF_SQES mmap offset).
// The SQ has no index array, as with IORING_SETUP_NO_SQARRAY.
//
// A refill queue is one region described by io_uring_zcrx_offsets.
// Every shared index sits alone in its own pair of cache lines (x86 fetches
// adjacent lines in pairs), so the producer's and the consumer's stores
// never touch a line, or a line pair, the other side writes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "zcrx/ring.h"
#include "zcrx/uapi.h"

namespace zcrx {

inline constexpr uint32_t kCacheLine = 64;
/// Distance between shared index words in the layouts we produce.
inline constexpr uint32_t kIndexSpacing = 2 * kCacheLine;
inline constexpr uint32_t kMaxSqEntries = 32768;   // IORING_MAX_ENTRIES
inline constexpr uint32_t kMaxCqEntries = 65536;   // IORING_MAX_CQ_ENTRIES
inline constexpr uint32_t kMaxRqEntries = 32768;   // IO_RQ_MAX_ENTRIES

/// Geometry of a ring region (SQ + CQ).
struct RingRegionLayout {
  uapi::io_sqring_offsets sq_off{};
  uapi::io_cqring_offsets cq_off{};
  uint32_t sqes_off = 0;  // byte offset of the SQE array
  uint32_t sq_entries = 0;
  uint32_t cq_entries = 0;
  size_t size = 0;  // bytes, multiple of the page size
};

/// Geometry of a refill-queue region.
struct RqRegionLayout {
  uapi::io_uring_zcrx_offsets off{};
  uint32_t rq_entries = 0;
  size_t size = 0;  // bytes, multiple of the page size
};

/// Rounds `v` up to a power of two the way io_uring_setup does with
/// IORING_SETUP_CLAMP: a `v` above `cap` is first clamped to `cap`.
/// Returns 0 when `v` is 0 or when the power of two would exceed `cap`
/// (possible only when `cap` is not itself a power of two).
uint32_t round_ring_entries(uint32_t v, uint32_t cap);

/// Layout for `sq_entries` SQEs and `cq_entries` CQE32s (both powers of two).
RingRegionLayout ring_region_layout(uint32_t sq_entries, uint32_t cq_entries);

/// Layout for a refill queue of `rq_entries` (power of two).
RqRegionLayout rq_region_layout(uint32_t rq_entries);

/// Checks offsets received from the peer against a region of `size` bytes:
/// entry counts must be powers of two within the kernel's limits, every
/// index word must be 4-byte aligned, inside and distinct from the others,
/// both arrays 8-byte aligned, inside and overlapping neither each other
/// nor any index word. cq_off.resv1, when not 0, is the wake target word
/// (proto.h kCqWakeTarget) and is checked like an index word. Returns 0
/// or -EINVAL.
int validate_ring_region(const RingRegionLayout& l, size_t size);
/// Checks a refill-queue region of `size` bytes holding `rq_entries` RQEs
/// at offsets `off` (what a consumer supplies with a user region): the
/// count must be a power of two <= kMaxRqEntries, head and tail distinct
/// aligned words inside, the RQE array 8-byte aligned, inside and clear of
/// both. Returns 0 or -EINVAL.
int validate_rq_region(const uapi::io_uring_zcrx_offsets& off,
                       uint32_t rq_entries, size_t size);

/// Zeroes `l.size` bytes at `base` and writes the static fields (masks,
/// entry counts) of a fresh ring region.
void init_ring_region(void* base, const RingRegionLayout& l);
/// The same for memory known to be zero already (a new memfd or anonymous
/// mapping): only the index and static words are written, so the CQE and
/// SQE arrays stay untouched and use no memory until the ring is used.
void init_zeroed_ring_region(void* base, const RingRegionLayout& l);

// Typed views over a mapped region. `base` must be the start of a mapping
// of at least `l.size` bytes whose layout was validated.
using SqProducer = RingProducer<uapi::io_uring_sqe>;
using SqConsumer = RingConsumer<uapi::io_uring_sqe>;
using CqProducer = RingProducer<uapi::io_uring_cqe32>;
using CqConsumer = RingConsumer<uapi::io_uring_cqe32>;
using RqProducer = RingProducer<uapi::io_uring_zcrx_rqe>;
using RqConsumer = RingConsumer<uapi::io_uring_zcrx_rqe>;

SqProducer sq_producer(void* base, const RingRegionLayout& l);
SqConsumer sq_consumer(void* base, const RingRegionLayout& l);
CqProducer cq_producer(void* base, const RingRegionLayout& l);
CqConsumer cq_consumer(void* base, const RingRegionLayout& l);
RqProducer rq_producer(void* base, const uapi::io_uring_zcrx_offsets& off,
                       uint32_t rq_entries);
RqConsumer rq_consumer(void* base, const uapi::io_uring_zcrx_offsets& off,
                       uint32_t rq_entries);

}  // namespace zcrx
