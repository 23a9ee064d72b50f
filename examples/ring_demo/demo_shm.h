// SPDX-License-Identifier: MIT
// The shared memory of the ring demo: one memfd holding, at page-aligned
// offsets, a ring region (CQ of CQE32), a refill-queue region and an area
// of equal-sized buffers. Both processes map it; each validates the
// layout before building its views, as zcrxd and a consumer would.
#pragma once

#include <cstddef>
#include <cstdint>

#include "zcrx/ring_layout.h"

namespace ring_demo {

struct Options {
  uint64_t entries = 4'000'000;  // payloads to move
  uint32_t cq_entries = 1024;
  uint32_t rq_entries = 1024;
  uint32_t buffers = 512;     // area buffers; the RQ must hold them all
  uint32_t buf_size = 256;    // bytes per buffer, power of two
  uint32_t batch = 32;        // CQEs posted per step
  uint64_t inject_errors = 0; // payloads the producer damages on purpose
};

/// Offsets of the three parts inside the memfd.
struct ShmLayout {
  zcrx::RingRegionLayout ring;
  zcrx::RqRegionLayout rq;
  size_t rq_at = 0;
  size_t area_at = 0;
  size_t area_size = 0;
  size_t size = 0;
};

ShmLayout shm_layout(const Options& o);

/// The views and area of one mapping of the memfd.
struct ShmViews {
  void* base = nullptr;
  zcrx::CqProducer cq_prod;
  zcrx::CqConsumer cq_cons;
  zcrx::RqProducer rq_prod;
  zcrx::RqConsumer rq_cons;
  uint8_t* area = nullptr;
};

/// Maps `fd` and builds the views; false (with a message) when the mapping
/// fails or a region does not validate.
bool map_shm(int fd, const ShmLayout& l, ShmViews& v);

/// Area id of the demo's single area (as in area_reg.rq_area_token).
inline constexpr uint32_t kAreaId = 0;

}  // namespace ring_demo
