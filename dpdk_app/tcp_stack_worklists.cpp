// SPDX-License-Identifier: MIT
// TcpStack: its two intrusive socket lists. The work list ("kicked"
// sockets, drained after each engine call returns: a Host callback must
// not call back into the engine) and the list of sockets whose work
// stopped for want of CQ or socket-table room, kicked again at the end of
// each iteration while it is not empty.

#include "tcp_stack.h"

namespace zcrxd {

void TcpStack::kick(TcpSocket& s) { kicks_.push_front(s); }
void TcpStack::unkick(TcpSocket& s) { kicks_.remove(s); }
void TcpStack::wait_room(TcpSocket& s) { room_waiters_.push_front(s); }
void TcpStack::unwait_room(TcpSocket& s) { room_waiters_.remove(s); }

void TcpStack::retry_room_waiters() {
  // Each goes back to the work list; its service puts it back here if the
  // room is still missing (one CQ head read, a compare).
  while (!room_waiters_.empty()) {
    TcpSocket* s = room_waiters_.front();
    unwait_room(*s);
    kick(*s);
  }
}

void TcpStack::drain_kicks() {
  // Bounded: a socket that cannot progress (full CQ) is not kicked again
  // by its own service.
  for (uint32_t guard = 0; !kicks_.empty() && guard < 4 * kMaxSocketsPerRing; guard++) {
    TcpSocket* s = kicks_.front();
    unkick(*s);
    service(*s);
  }
}

}  // namespace zcrxd
