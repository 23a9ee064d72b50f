// SPDX-License-Identifier: MIT
// TcpStack: its two intrusive socket lists. The work list ("kicked"
// sockets, drained after each engine call returns: a Host callback must
// not call back into the engine) and the list of sockets whose work
// stopped for want of CQ or socket-table room, kicked again at the end of
// each iteration while it is not empty.

#include "tcp_stack.h"

namespace zcrxd {

void TcpStack::kick(TcpSocket& s) {
  if (s.kicked) return;
  s.kicked = true;
  s.kick_prev = nullptr;
  s.kick_next = kicks_;
  if (kicks_) kicks_->kick_prev = &s;
  kicks_ = &s;
}

void TcpStack::unkick(TcpSocket& s) {
  if (!s.kicked) return;
  if (s.kick_prev) s.kick_prev->kick_next = s.kick_next;
  else kicks_ = s.kick_next;
  if (s.kick_next) s.kick_next->kick_prev = s.kick_prev;
  s.kick_prev = s.kick_next = nullptr;
  s.kicked = false;
}

void TcpStack::wait_room(TcpSocket& s) {
  if (s.waits_room) return;
  s.waits_room = true;
  s.room_prev = nullptr;
  s.room_next = room_waiters_;
  if (room_waiters_) room_waiters_->room_prev = &s;
  room_waiters_ = &s;
}

void TcpStack::unwait_room(TcpSocket& s) {
  if (!s.waits_room) return;
  if (s.room_prev) s.room_prev->room_next = s.room_next;
  else room_waiters_ = s.room_next;
  if (s.room_next) s.room_next->room_prev = s.room_prev;
  s.room_prev = s.room_next = nullptr;
  s.waits_room = false;
}

void TcpStack::retry_room_waiters() {
  // Each goes back to the work list; its service puts it back here if the
  // room is still missing (one CQ head read, a compare).
  while (room_waiters_) {
    TcpSocket* s = room_waiters_;
    unwait_room(*s);
    kick(*s);
  }
}

void TcpStack::drain_kicks() {
  // Bounded: a socket that cannot progress (full CQ) is not kicked again
  // by its own service.
  for (uint32_t guard = 0; kicks_ && guard < 4 * kMaxSocketsPerRing; guard++) {
    TcpSocket* s = kicks_;
    unkick(*s);
    service(*s);
  }
}

}  // namespace zcrxd
