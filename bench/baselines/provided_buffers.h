// SPDX-License-Identifier: MIT
// The io_uring baselines' provided buffers: a buffer ring registered as one
// group, backed by a page-aligned pool, every buffer offered at the start.
#pragma once

#include <liburing.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

struct ProvidedBuffers {
  io_uring_buf_ring* ring = nullptr;
  uint8_t* pool = nullptr;  // buffer `bid` at pool + bid * size
  int mask = 0;             // io_uring_buf_ring_mask(count)
};

/// Maps `count` buffers of `size` bytes and their ring, registers the ring
/// as group `bgid` on `uring` and offers every buffer. False (the reason
/// printed, prefixed with `who`) when a mapping or the registration fails.
inline bool setup_provided_buffers(io_uring* uring, unsigned count, unsigned size, int bgid,
                                   const char* who, ProvidedBuffers* out) {
  void* ring_mem = mmap(nullptr, count * sizeof(io_uring_buf), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* pool = mmap(nullptr, static_cast<size_t>(count) * size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring_mem == MAP_FAILED || pool == MAP_FAILED) {
    fprintf(stderr, "%s: mmap: %s\n", who, strerror(errno));
    return false;
  }
  out->ring = static_cast<io_uring_buf_ring*>(ring_mem);
  out->pool = static_cast<uint8_t*>(pool);
  io_uring_buf_ring_init(out->ring);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(out->ring);
  reg.ring_entries = count;
  reg.bgid = static_cast<uint16_t>(bgid);
  const int ret = io_uring_register_buf_ring(uring, &reg, 0);
  if (ret < 0) {
    fprintf(stderr, "%s: io_uring_register_buf_ring: %s\n", who, strerror(-ret));
    return false;
  }
  out->mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; i++)
    io_uring_buf_ring_add(out->ring, out->pool + static_cast<size_t>(i) * size, size,
                          static_cast<unsigned short>(i), out->mask, static_cast<int>(i));
  io_uring_buf_ring_advance(out->ring, static_cast<int>(count));
  return true;
}
