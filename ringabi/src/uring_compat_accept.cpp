// SPDX-License-Identifier: MIT
// liburing compatibility: ACCEPT's peer address written through the
// program's addr/addrlen, and the CQ tail the program is shown.
//
// zcrxd writes no program memory: it gives the peer in the ACCEPT CQE
// (zcrx::accept_peer). The kernel writes addr before it posts the CQE, so
// the layer must write it before the program can read that CQE. On a
// DEFER_TASKRUN ring (every zcrx ring: the kernel requires it) the program
// is shown a tail of ours, moved only at library calls after the CQEs up
// to it were scanned, as the kernel posts such a ring's CQEs only when the
// program enters it. Other rings read zcrxd's tail: the scan at each
// library call covers every CQE read after one, not a CQE read inline
// (io_uring_for_each_cqe, io_uring_cq_ready) before any call saw it.
#include <netinet/in.h>

#include <cstring>

#include "uring_compat.h"
#include "zcrx/socket.h"

namespace zcrx::compat {
namespace {

// As the kernel's move_addr_to_user: min(*addrlen, full size) bytes of the
// address, *addrlen = the full size.
void write_peer(const AcceptRecord& a, uint32_t ip, uint16_t port) {
  sockaddr_storage ss;
  const socklen_t full = make_sockaddr(&ss, a.v6, ip, port);
  socklen_t room = full;
  if (a.addrlen != nullptr) {
    std::memcpy(&room, a.addrlen, sizeof(room));
    if (room > full) room = full;
    std::memcpy(a.addrlen, &full, sizeof(full));
  }
  std::memcpy(a.addr, &ss, room);
}

// The ACCEPT record of `user_data`, or nullptr.
AcceptRecord* find(zcrx_uring* u, uint64_t user_data) {
  for (size_t i = 0; i < u->accept_count; i++)
    if (u->accepts[i].user_data == user_data) return &u->accepts[i];
  return nullptr;
}

void drop(zcrx_uring* u, AcceptRecord* a) {
  *a = u->accepts[--u->accept_count];  // order does not matter
}

}  // namespace

void record_accept(zcrx_uring* u, const zcrx::uapi::io_uring_sqe& sqe, bool v6) {
  if (sqe.addr == 0) return;
  // Bounded by the table sized at setup; an ACCEPT beyond it gets no
  // address written (CQ-size ACCEPTs in flight at once, none real).
  if (u->accept_count == u->accepts.size()) return;
  AcceptRecord& a = u->accepts[u->accept_count++];
  a.user_data = sqe.user_data;
  a.addr = reinterpret_cast<sockaddr*>(static_cast<uintptr_t>(sqe.addr));
  a.addrlen = reinterpret_cast<socklen_t*>(static_cast<uintptr_t>(sqe.addr2));
  a.v6 = v6;
}

void refresh_cq(zcrx_uring* u, const io_uring* ring) {
  const unsigned* real_tail = u->cq_tail;
  // acquire: the CQEs up to the tail zcrxd published are written.
  const unsigned tail = __atomic_load_n(real_tail, __ATOMIC_ACQUIRE);
  unsigned from = u->cq_scanned;
  const unsigned head = *ring->cq.khead;  // the program's own store
  // What the program consumed needs no scan (its slots may be reused),
  // and no scan is longer than the ring, whatever the tail says.
  if (static_cast<int>(head - from) > 0) from = head;
  if (tail - from > ring->cq.ring_entries) from = tail - ring->cq.ring_entries;
  for (unsigned i = from; u->accept_count > 0 && i != tail; i++) {
    const auto* c = reinterpret_cast<const zcrx::uapi::io_uring_cqe32*>(
        &ring->cq.cqes[io_uring_cqe_index(ring, i, ring->cq.ring_mask)]);
    AcceptRecord* a = find(u, c->cqe.user_data);
    if (a == nullptr) continue;
    uint32_t ip;
    uint16_t port;
    if (zcrx::accept_peer(*c, &ip, &port)) write_peer(*a, ip, port);
    if (!(c->cqe.flags & IORING_CQE_F_MORE)) drop(u, a);
  }
  u->cq_scanned = tail;
  // release: the addresses written above before the program sees the CQEs
  // (same thread in practice; a reader thread pairs with the acquire of
  // io_uring_for_each_cqe and io_uring_cq_ready).
  if (real_tail != &u->shown_tail) __atomic_store_n(&u->shown_tail, tail, __ATOMIC_RELEASE);
}

}  // namespace zcrx::compat
