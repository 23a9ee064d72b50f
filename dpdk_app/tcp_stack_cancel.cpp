// SPDX-License-Identifier: MIT
// TcpStack: ASYNC_CANCEL on socket requests (RingDp::cancel asks after
// the ring's flow requests), with the kernel's results.
#include <cerrno>

#include "tcp_stack.h"

namespace zcrxd {

int32_t TcpStack::cancel_requests(RingDp& ring, SocketTable& t, const CancelMatch& m,
                                  int32_t found) {
  const int32_t before = found;
  // Room for the request's CQE and, once one was ended, the cancel's own
  // (poll_sq reserved both for the first).
  auto take = [&](uint64_t ud, int64_t fd) {
    if (!m.matches(ud, fd)) return false;
    if (found && !ring.reserve(2)) return false;
    return true;
  };
  auto done = [&]() { return !m.all && found > before; };
  for (TcpSocket& s : t.socks) {
    if (s.state == SockState::free) continue;
    const int64_t fd = s.handle();
    if (s.recv.armed && take(s.recv.user_data, fd)) {
      ring.post(s.recv.user_data, -ECANCELED, 0, 0, 0);
      s.recv.armed = false;
      found++;
      if (done()) break;
    }
    if (s.accept_armed && take(s.accept_ud, fd)) {
      // Connections that completed meanwhile stay queued for the next ACCEPT.
      ring.post(s.accept_ud, -ECANCELED, 0, 0, 0);
      s.accept_armed = false;
      found++;
      if (done()) break;
    }
    if (s.connect_armed && take(s.connect_ud, fd)) {
      // As in Linux the handshake goes on: a later CONNECT sees -EALREADY
      // or -EISCONN, SEND waits for it or fails with its error.
      ring.post(s.connect_ud, -ECANCELED, 0, 0, 0);
      s.connect_armed = false;
      found++;
      if (done()) break;
    }
    // Waiting SENDs, oldest first; the FIFO closes up over the cancelled.
    uint32_t kept = 0;
    const uint32_t n = s.send_n;
    for (uint32_t i = 0; i < n; i++) {
      PendingSend p = s.sends[(s.send_head + i) % kMaxPendingSends];
      if (!done() && take(p.user_data, fd)) {
        // Bytes already copied are in the stream: the kernel completes a
        // partly done send with that count.
        ring.post(p.user_data, p.done ? static_cast<int32_t>(p.done) : -ECANCELED, 0, 0, 0);
        found++;
        continue;
      }
      s.sends[(s.send_head + kept++) % kMaxPendingSends] = p;
    }
    s.send_n = kept;
    if (done()) break;
  }
  return found - before;
}

}  // namespace zcrxd
