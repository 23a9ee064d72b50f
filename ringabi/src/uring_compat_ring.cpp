// SPDX-License-Identifier: MIT
// liburing compatibility: ring setup and teardown, the SQ and the CQ
// (zcrx/compat/liburing.h). A struct io_uring is a zcrxd session whose
// ring region the program reads through the kernel's own fields (khead,
// ktail, cqes, masks), as liburing's inline helpers and macros do.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>

#include "uring_compat.h"

namespace {

// libzcrx's SQE type (the same 64 bytes as the program's io_uring_sqe).
using Sqe = zcrx::uapi::io_uring_sqe;

constexpr unsigned kMaxSq = zcrx::kMaxSqEntries;  // IORING_MAX_ENTRIES
constexpr unsigned kMaxCq = zcrx::kMaxCqEntries;  // IORING_MAX_CQ_ENTRIES

// Flags a zcrx program passes that need nothing from us (zcrxd completes
// in its own thread: task-run modes, single issuer and SUBMIT_ALL hold by
// construction), and the two that size the rings.
constexpr unsigned kServedFlags =
    IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL |
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQE32 |
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_NO_SQARRAY;

unsigned round_pow2(unsigned v) {
  unsigned r = 1;
  while (r < v) r <<= 1;
  return r;
}

// io_uring_setup's checks (io_uring_create / io_uring_fill_params), in
// its order. Sizes are rounded and clamped into *sq and *cq.
int check_setup(unsigned entries, const io_uring_params& p, unsigned* sq, unsigned* cq) {
  for (unsigned r : p.resv)
    if (r != 0) return -EINVAL;
  if (p.flags & ~kServedFlags) return -EINVAL;
  if (entries == 0) return -EINVAL;
  if (entries > kMaxSq) {
    if (!(p.flags & IORING_SETUP_CLAMP)) return -EINVAL;
    entries = kMaxSq;
  }
  if ((p.flags & IORING_SETUP_DEFER_TASKRUN) && !(p.flags & IORING_SETUP_SINGLE_ISSUER))
    return -EINVAL;
  if ((p.flags & IORING_SETUP_TASKRUN_FLAG) &&
      !(p.flags & (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_DEFER_TASKRUN)))
    return -EINVAL;
  *sq = round_pow2(entries);
  if (p.flags & IORING_SETUP_CQSIZE) {
    if (p.cq_entries == 0) return -EINVAL;
    unsigned c = p.cq_entries;
    if (c > kMaxCq) {
      if (!(p.flags & IORING_SETUP_CLAMP)) return -EINVAL;
      c = kMaxCq;
    }
    *cq = round_pow2(c);
    if (*cq < *sq) return -EINVAL;
  } else {
    *cq = 2 * *sq;
  }
  return 0;
}

// Points the program-visible fields of `ring` at the mapped region.
void fill_ring_fields(io_uring* ring, zcrx_uring* u, io_uring_params* p) {
  const zcrx::RingRegionLayout& l = u->ring.layout();
  auto* base = static_cast<char*>(u->ring.ring_base());
  auto word = [base](uint32_t off) { return reinterpret_cast<unsigned*>(base + off); };
  io_uring_sq& sq = ring->sq;
  sq.khead = word(l.sq_off.head);
  sq.ktail = word(l.sq_off.tail);
  sq.kring_mask = word(l.sq_off.ring_mask);
  sq.kring_entries = word(l.sq_off.ring_entries);
  sq.kflags = word(l.sq_off.flags);
  sq.kdropped = word(l.sq_off.dropped);
  sq.array = nullptr;
  sq.sqes = reinterpret_cast<struct io_uring_sqe*>(base + l.sqes_off);
  sq.ring_sz = l.size;
  sq.ring_ptr = base;
  sq.ring_mask = l.sq_entries - 1;
  sq.ring_entries = l.sq_entries;
  io_uring_cq& cq = ring->cq;
  cq.khead = word(l.cq_off.head);
  u->cq_tail = word(l.cq_off.tail);
  // A DEFER_TASKRUN program sees completions only at library calls, as
  // from the kernel (uring_compat_accept.cpp says why).
  cq.ktail = (u->setup_flags & IORING_SETUP_DEFER_TASKRUN) ? &u->shown_tail : word(l.cq_off.tail);
  cq.kring_mask = word(l.cq_off.ring_mask);
  cq.kring_entries = word(l.cq_off.ring_entries);
  cq.kflags = word(l.cq_off.flags);
  cq.koverflow = word(l.cq_off.overflow);
  cq.cqes = reinterpret_cast<struct io_uring_cqe*>(base + l.cq_off.cqes);
  cq.ring_sz = l.size;
  cq.ring_ptr = base;
  cq.ring_mask = l.cq_entries - 1;
  cq.ring_entries = l.cq_entries;
  ring->ring_fd = u->ring.ring_fd();
  ring->enter_ring_fd = -1;
  ring->features = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_SUBMIT_STABLE | IORING_FEAT_EXT_ARG;
  p->sq_entries = l.sq_entries;
  p->cq_entries = l.cq_entries;
  p->features = ring->features;
  std::memcpy(&p->sq_off, &l.sq_off, sizeof(p->sq_off));
  std::memcpy(&p->cq_off, &l.cq_off, sizeof(p->cq_off));
  p->cq_off.resv1 = 0;  // zcrxd's wake target word: the kernel leaves it 0
}

// CONNECT with the kernel's sockaddr pointer: zcrxd reads no program
// memory, so the IPv4 peer goes inline (proto.h: addr3 = address in
// network order | port in host order << 32). Anything else is left for
// zcrxd to refuse.
void inline_connect_address(Sqe* sqe) {
  if (sqe->addr == 0) return;
  const auto* sa = reinterpret_cast<const sockaddr*>(static_cast<uintptr_t>(sqe->addr));
  const uint64_t len = sqe->off;
  uint32_t ip_be = 0;
  uint16_t port = 0;
  bool ok = false;
  if (len >= sizeof(sockaddr_in) && sa->sa_family == AF_INET) {
    sockaddr_in a;
    std::memcpy(&a, sa, sizeof(a));
    ip_be = a.sin_addr.s_addr;
    port = ntohs(a.sin_port);
    ok = true;
  } else if (len >= sizeof(sockaddr_in6) && sa->sa_family == AF_INET6) {
    sockaddr_in6 a;
    std::memcpy(&a, sa, sizeof(a));
    if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
      std::memcpy(&ip_be, &a.sin6_addr.s6_addr[12], 4);
      port = ntohs(a.sin6_port);
      ok = true;
    }
  }
  sqe->addr = 0;
  sqe->off = 0;
  sqe->addr3 = ok ? (uint64_t{ip_be} | (uint64_t{port} << 32)) : 0;
}

zcrx_uring* state(io_uring* ring) { return ring ? ring->zcrx : nullptr; }

}  // namespace

extern "C" int io_uring_queue_init_params(unsigned entries, struct io_uring* ring,
                                          struct io_uring_params* p) {
  if (ring == nullptr || p == nullptr) return -EFAULT;
  unsigned sq, cq;
  if (int r = check_setup(entries, *p, &sq, &cq)) return r;
  std::memset(ring, 0, sizeof(*ring));
  auto* u = new (std::nothrow) zcrx_uring;
  if (u == nullptr) return -ENOMEM;
  const char* path = std::getenv("ZCRX_URING_SOCKET");
  int r = u->ring.connect(path && *path ? path : nullptr);
  if (r == 0) r = u->ring.create(sq, cq);
  if (r == 0) {
    try {
      u->taken.reserve(u->ring.layout().sq_entries);
      u->bounces.resize(u->ring.layout().cq_entries);
      u->accepts.resize(u->ring.layout().cq_entries);
    } catch (const std::bad_alloc&) {
      r = -ENOMEM;
    }
  }
  if (r < 0) {
    delete u;
    return r;
  }
  // Sleeping waits need the eventfd; without one they spin (still correct).
  (void)u->ring.enable_eventfd();
  u->setup_flags = p->flags;
  ring->zcrx = u;
  ring->flags = p->flags;
  fill_ring_fields(ring, u, p);
  zcrx::compat::sockets_attach_ring(u);
  return 0;
}

extern "C" int io_uring_queue_init(unsigned entries, struct io_uring* ring, unsigned flags) {
  io_uring_params p;
  std::memset(&p, 0, sizeof(p));
  p.flags = flags;
  return io_uring_queue_init_params(entries, ring, &p);
}

extern "C" void io_uring_queue_exit(struct io_uring* ring) {
  zcrx_uring* u = state(ring);
  if (u == nullptr) return;
  zcrx::compat::sockets_detach_ring(u);
  delete u;
  std::memset(ring, 0, sizeof(*ring));
}

extern "C" struct io_uring_sqe* io_uring_get_sqe(struct io_uring* ring) {
  zcrx_uring* u = state(ring);
  if (u == nullptr || u->taken.size() == u->taken.capacity()) return nullptr;
  Sqe* sqe = u->ring.get_sqe();
  if (sqe == nullptr) return nullptr;
  u->taken.push_back(sqe);  // within the capacity reserved at setup
  return reinterpret_cast<struct io_uring_sqe*>(sqe);
}

extern "C" int io_uring_submit(struct io_uring* ring) {
  zcrx_uring* u = state(ring);
  if (u == nullptr) return -EBADF;
  for (Sqe* sqe : u->taken) {
    if (sqe->opcode == IORING_OP_ACCEPT)
      zcrx::compat::record_accept(u, *sqe, zcrx::compat::socket_is_v6(sqe->fd));
    sqe->fd = zcrx::compat::socket_handle_for_sqe(sqe->fd);
    if (sqe->opcode == IORING_OP_CONNECT) inline_connect_address(sqe);
    if (sqe->opcode == IORING_OP_SEND) zcrx::compat::bounce_send(u, sqe);
  }
  u->taken.clear();
  const int n = static_cast<int>(u->ring.submit());
  zcrx::compat::refresh_cq(u, ring);
  return n;
}

extern "C" int io_uring_submit_and_wait(struct io_uring* ring, unsigned wait_nr) {
  int n = io_uring_submit(ring);
  if (n < 0 || wait_nr == 0) return n;
  struct io_uring_cqe* cqe;
  int r = io_uring_wait_cqe_nr(ring, &cqe, wait_nr);
  return r < 0 ? r : n;
}

namespace {

int wait_cqes(io_uring* ring, io_uring_cqe** cqe_ptr, unsigned wait_nr, int64_t timeout_ns) {
  zcrx_uring* u = state(ring);
  if (u == nullptr || cqe_ptr == nullptr) return -EFAULT;
  *cqe_ptr = nullptr;
  const unsigned need = wait_nr == 0 ? 1 : wait_nr;
  if (need > ring->cq.ring_entries) return -EINVAL;
  zcrx::compat::refresh_cq(u, ring);
  if (io_uring_cq_ready(ring) < need) {
    const auto mode = u->ring.event_fd() >= 0 ? zcrx::WaitMode::adaptive
                                              : zcrx::WaitMode::busy_poll;
    int r = u->ring.wait_cqe(need, mode, timeout_ns);
    if (r < 0) return r;
  }
  return io_uring_peek_cqe(ring, cqe_ptr);
}

}  // namespace

extern "C" int io_uring_wait_cqe_nr(struct io_uring* ring, struct io_uring_cqe** cqe_ptr,
                                    unsigned wait_nr) {
  return wait_cqes(ring, cqe_ptr, wait_nr, -1);
}

namespace {

// *ts as nanoseconds (NULL: -1, forever), or -EINVAL.
int64_t timeout_of(const struct __kernel_timespec* ts) {
  if (ts == nullptr) return -1;
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000) return -EINVAL;
  return ts->tv_sec > INT64_MAX / 1000000000 - 1 ? INT64_MAX
                                                 : ts->tv_sec * 1000000000 + ts->tv_nsec;
}

}  // namespace

extern "C" int io_uring_wait_cqe_timeout(struct io_uring* ring, struct io_uring_cqe** cqe_ptr,
                                         struct __kernel_timespec* ts) {
  const int64_t ns = timeout_of(ts);
  if (ts != nullptr && ns < 0) return -EINVAL;
  return wait_cqes(ring, cqe_ptr, 1, ns);
}

extern "C" int io_uring_wait_cqes(struct io_uring* ring, struct io_uring_cqe** cqe_ptr,
                                  unsigned wait_nr, struct __kernel_timespec* ts, sigset_t* sigmask) {
  if (sigmask != nullptr) return -EINVAL;
  const int64_t ns = timeout_of(ts);
  if (ts != nullptr && ns < 0) return -EINVAL;
  return wait_cqes(ring, cqe_ptr, wait_nr, ns);
}

extern "C" int io_uring_peek_cqe(struct io_uring* ring, struct io_uring_cqe** cqe_ptr) {
  zcrx_uring* u = state(ring);
  if (u == nullptr || cqe_ptr == nullptr) return -EFAULT;
  zcrx::compat::refresh_cq(u, ring);
  const unsigned head = *ring->cq.khead;
  if (head == io_uring_smp_load_acquire(ring->cq.ktail)) {
    *cqe_ptr = nullptr;
    return -EAGAIN;
  }
  *cqe_ptr = &ring->cq.cqes[io_uring_cqe_index(ring, head, ring->cq.ring_mask)];
  return 0;
}

extern "C" void io_uring_cq_advance(struct io_uring* ring, unsigned nr) {
  zcrx_uring* u = state(ring);
  if (u == nullptr || nr == 0) return;
  // The program read the tail itself (for_each_cqe, peek): the view learns
  // it here, as it hands back no slot it has not seen produced.
  const unsigned ready = u->ring.cq_ready();
  zcrx::compat::bounces_completed(u, ring, nr < ready ? nr : ready);
  // Every CQE consumed was scanned: the program saw it through our tail or
  // (another ring) after a call that scanned, or it read one inline.
  zcrx::compat::refresh_cq(u, ring);
  u->ring.cq_advance(nr);
}
