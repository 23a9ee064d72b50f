// SPDX-License-Identifier: MIT
// Internals of the liburing compatibility layer (zcrx/compat/liburing.h):
// the state behind a struct io_uring, and the socket table the shim fills.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "zcrx/client.h"
#include "zcrx/compat/liburing.h"

namespace zcrx::compat {
// Bytes of the TX region lent to one SEND until its completion is consumed.
struct BounceRecord {
  uint64_t user_data = 0;
  uint32_t start = 0;
  uint32_t len = 0;
  bool done = false;
};
// An ACCEPT whose peer goes to the program's addr/addrlen at its CQE.
struct AcceptRecord {
  uint64_t user_data = 0;
  sockaddr* addr = nullptr;
  socklen_t* addrlen = nullptr;  // may be null: then the whole address
  bool v6 = false;               // an AF_INET6 listener: v4-mapped sockaddr_in6
};
}  // namespace zcrx::compat

struct zcrx_uring {
  zcrx::Ring ring;
  unsigned setup_flags = 0;
  // SQEs taken since the last submit: io_uring_submit rewrites their fds
  // and CONNECT addresses before zcrxd may see them. Reserved to the SQ's
  // size at setup, so the datapath never allocates.
  std::vector<zcrx::uapi::io_uring_sqe*> taken;
  // SEND bounces in the TX region, oldest first: a ring of CQ-size records
  // (sized at setup), bounce_count of them from bounce_head in use.
  std::vector<zcrx::compat::BounceRecord> bounces;
  size_t bounce_head = 0;
  size_t bounce_count = 0;
  // ACCEPTs with an address to write: CQ-size table (sized at setup),
  // accept_count in use, unordered.
  std::vector<zcrx::compat::AcceptRecord> accepts;
  size_t accept_count = 0;
  // zcrxd's CQ tail, the index scanned up to, and the tail a DEFER_TASKRUN
  // program is shown (its cq.ktail points here; uring_compat_accept.cpp).
  const unsigned* cq_tail = nullptr;
  unsigned cq_scanned = 0;
  unsigned shown_tail = 0;
};

namespace zcrx::compat {

/// The ring sockets are created on: the first ring set up and not yet
/// exited. Creates in zcrxd the sockets adopted before it (socket, bind,
/// listen as recorded); errors go to stderr and leave the fd unusable.
void sockets_attach_ring(zcrx_uring* u);
/// The ring goes away: its sockets' handles are void.
void sockets_detach_ring(zcrx_uring* u);
/// zcrxd's handle for the placeholder `fd`, or `fd` itself when it is not
/// one (a handle from ACCEPT, a flow). Lock-free: one relaxed check and an
/// acquire load per SQE.
int32_t socket_handle_for_sqe(int32_t fd);

/// A SEND naming the program's own memory: copies up to sqe->len bytes
/// into the ring's TX region (registered on first use, $ZCRX_URING_TX_BYTES
/// bytes, default 1 MiB) and points the SQE there. With less room the send
/// is short; with none it sends 0 bytes (completes with res 0).
void bounce_send(zcrx_uring* u, zcrx::uapi::io_uring_sqe* sqe);
/// The program consumes the `nr` CQEs from the CQ head: the bounces their
/// SENDs used (matched by user_data, oldest first) come back.
void bounces_completed(zcrx_uring* u, const io_uring* ring, unsigned nr);

/// An ACCEPT SQE naming addr (and addr2 = addrlen): its CQEs write the
/// peer there (sockaddr_in, or v4-mapped sockaddr_in6 when `v6`).
void record_accept(zcrx_uring* u, const zcrx::uapi::io_uring_sqe& sqe, bool v6);
/// Every library call the program makes before it reads CQEs: writes the
/// peers of recorded ACCEPTs in CQEs posted since the last call (at most
/// the CQ's size of them), then shows the program the new tail.
void refresh_cq(zcrx_uring* u, const io_uring* ring);
/// True when placeholder `fd` is an AF_INET6 socket.
bool socket_is_v6(int32_t fd);
/// `ip`:`port` (host order) as a socket of the family `v6` names gives it:
/// a sockaddr_in, or a sockaddr_in6 with the address v4-mapped (0, the
/// any address, stays ::). Returns the address's full size.
socklen_t make_sockaddr(sockaddr_storage* ss, bool v6, uint32_t ip, uint16_t port);

}  // namespace zcrx::compat
