// SPDX-License-Identifier: MIT
// liburing compatibility: SEND from the program's own buffer. The kernel
// copies a SEND's bytes when it issues it; zcrxd reads no program memory,
// only the ring's TX region. io_uring_submit therefore copies the bytes
// into the TX region (a bounce) and points the SQE there. Bounces are
// handed out in FIFO order and come back when the program consumes the
// SEND's completion (io_uring_cq_advance, which io_uring_cqe_seen calls):
// zcrxd completes a SEND once it has copied all its bytes.
#include <cstdlib>
#include <cstring>

#include "uring_compat.h"

namespace zcrx::compat {

namespace {

using Sqe = zcrx::uapi::io_uring_sqe;

constexpr size_t kDefaultTxBytes = size_t{1} << 20;

size_t tx_region_bytes() {
  const char* v = std::getenv("ZCRX_URING_TX_BYTES");
  if (v == nullptr || *v == '\0') return kDefaultTxBytes;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 0);
  if (end == v || *end != '\0' || n == 0) return kDefaultTxBytes;
  return static_cast<size_t>(n);
}

// Where the next bounce of up to `want` bytes goes: *start and the bytes
// that fit (0: no room until a completion is consumed). The region is
// used as a FIFO ring; a bounce never wraps, so zcrxd reads it in one run.
uint32_t place_bounce(const zcrx_uring& u, uint32_t want, uint32_t* start) {
  const auto cap = static_cast<uint32_t>(u.ring.tx_region_len());
  if (u.bounce_count == 0) {
    *start = 0;
    return want < cap ? want : cap;
  }
  const BounceRecord& front = u.bounces[u.bounce_head];
  const BounceRecord& back =
      u.bounces[(u.bounce_head + u.bounce_count - 1) % u.bounces.size()];
  const uint32_t head = front.start;
  const uint32_t tail = back.start + back.len;
  uint32_t room;
  if (tail > head) {  // in use: [head, tail); free: [tail, cap) and [0, head)
    const uint32_t at_end = cap - tail;
    if (at_end >= want || at_end >= head) {
      *start = tail;
      room = at_end;
    } else {
      *start = 0;
      room = head;
    }
  } else {  // wrapped: in use [head, cap) and [0, tail); free: [tail, head)
    *start = tail;
    room = head - tail;
  }
  return want < room ? want : room;
}

}  // namespace

void bounce_send(zcrx_uring* u, Sqe* sqe) {
  if (sqe->len == 0) return;
  const uint8_t* base = u->ring.tx_region();
  const uint64_t addr = sqe->addr;
  if (base != nullptr) {
    const auto b = reinterpret_cast<uintptr_t>(base);
    if (addr >= b && addr - b < u->ring.tx_region_len()) return;  // the region's own bytes
  }
  if (u->bounce_count == u->bounces.size()) {  // no record free: as with no room
    sqe->addr = reinterpret_cast<uintptr_t>(base);
    sqe->len = 0;
    return;
  }
  if (base == nullptr) {
    // First bounce of this ring: one control call, not per SEND.
    if (u->ring.register_tx_region(tx_region_bytes()) < 0) return;  // zcrxd gives -EFAULT
    base = u->ring.tx_region();
  }
  uint32_t start = 0;
  const uint32_t n = place_bounce(*u, sqe->len, &start);
  if (n == 0) {  // no room until a completion is consumed: a zero-byte send
    sqe->addr = reinterpret_cast<uintptr_t>(base);
    sqe->len = 0;
    return;
  }
  std::memcpy(u->ring.tx_region() + start,
              reinterpret_cast<const void*>(static_cast<uintptr_t>(addr)), n);
  sqe->addr = reinterpret_cast<uintptr_t>(base + start);
  sqe->len = n;  // a short send, as a stream socket with less room gives
  const size_t slot = (u->bounce_head + u->bounce_count) % u->bounces.size();
  u->bounces[slot] = BounceRecord{sqe->user_data, start, n, false};
  u->bounce_count++;
}

void bounces_completed(zcrx_uring* u, const io_uring* ring, unsigned nr) {
  if (u->bounce_count == 0) return;
  const unsigned head = *ring->cq.khead;
  const size_t cap = u->bounces.size();
  for (unsigned i = 0; i < nr; i++) {
    const io_uring_cqe* cqe =
        &ring->cq.cqes[io_uring_cqe_index(ring, head + i, ring->cq.ring_mask)];
    if (cqe->flags & IORING_CQE_F_MORE) continue;  // a SEND completes once
    for (size_t k = 0; k < u->bounce_count; k++) {
      BounceRecord& b = u->bounces[(u->bounce_head + k) % cap];
      if (!b.done && b.user_data == cqe->user_data) {
        b.done = true;
        break;
      }
    }
  }
  while (u->bounce_count > 0 && u->bounces[u->bounce_head].done) {
    u->bounce_head = (u->bounce_head + 1) % cap;
    u->bounce_count--;
  }
}

}  // namespace zcrx::compat
