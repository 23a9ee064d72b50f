// SPDX-License-Identifier: MIT
#include "demo_shm.h"

#include <sys/mman.h>

#include <cstdio>

namespace ring_demo {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t page_up(size_t v) { return (v + kPage - 1) & ~(kPage - 1); }

}  // namespace

ShmLayout shm_layout(const Options& o) {
  ShmLayout l;
  l.ring = zcrx::ring_region_layout(1, o.cq_entries);
  l.rq = zcrx::rq_region_layout(o.rq_entries);
  l.rq_at = page_up(l.ring.size);
  l.area_at = l.rq_at + page_up(l.rq.size);
  l.area_size = size_t{o.buffers} * o.buf_size;
  l.size = l.area_at + page_up(l.area_size);
  return l;
}

bool map_shm(int fd, const ShmLayout& l, ShmViews& v) {
  if (zcrx::validate_ring_region(l.ring, l.ring.size) != 0 ||
      zcrx::validate_rq_region(l.rq.off, l.rq.rq_entries, l.rq.size) != 0) {
    std::fprintf(stderr, "ring_demo: region layout does not validate\n");
    return false;
  }
  void* base = mmap(nullptr, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    std::perror("ring_demo: mmap");
    return false;
  }
  auto* bytes = static_cast<uint8_t*>(base);
  v.base = base;
  v.cq_prod = zcrx::cq_producer(bytes, l.ring);
  v.cq_cons = zcrx::cq_consumer(bytes, l.ring);
  v.rq_prod = zcrx::rq_producer(bytes + l.rq_at, l.rq.off, l.rq.rq_entries);
  v.rq_cons = zcrx::rq_consumer(bytes + l.rq_at, l.rq.off, l.rq.rq_entries);
  v.area = bytes + l.area_at;
  return true;
}

}  // namespace ring_demo
