// SPDX-License-Identifier: MIT
// Per-connection timers and poll(): each connection has three deadlines
// (retransmission/persist/handshake, delayed ACK, TIME-WAIT/FIN-WAIT-2)
// and sits in the timer heap at (no later than) the earliest one.
#include "internal.h"

namespace zcrx::tcp {

void arm_timer(Engine::Impl& e, Conn::Impl& c, uint64_t& field, uint64_t at) {
  field = at;
  e.timers.schedule(c.index, at);
}

void cancel_timers(Conn::Impl& c) {
  c.rtx_mode = RtxMode::none;
  c.t_rtx = kNever;
  c.t_delack = kNever;
  c.t_wait = kNever;
}

namespace {

uint64_t earliest(const Conn::Impl& c) {
  uint64_t t = c.t_rtx;
  if (c.t_delack < t) t = c.t_delack;
  if (c.t_wait < t) t = c.t_wait;
  return t;
}

// The timers of `c` that are due; false when `c` ended.
bool fire(Engine::Impl& e, Conn::Impl& c) {
  const uint64_t now = e.now;
  if (c.t_wait <= now) {
    // TIME-WAIT done (RFC 9293 3.10.8), or FIN-WAIT-2 given up on after
    // close() (Linux's tcp_fin_timeout): nothing more will come.
    c.t_wait = kNever;
    end_conn(e, c, EndReason::closed, 0);
    return false;
  }
  if (c.t_rtx <= now) {
    c.t_rtx = kNever;
    on_rtx_timer(e, c);
    if (!c.live) return false;
  }
  if (c.t_delack <= now) {
    c.t_delack = kNever;
    c.ack_now = true;
    output(e, c);
  }
  return true;
}

}  // namespace

void run_timers(Engine::Impl& e, uint64_t now) {
  e.now = now;
  while (e.timers.size() && e.timers.top_key() <= now) {
    const uint32_t id = e.timers.top_id();
    e.timers.remove(id);
    Conn::Impl& c = e.conns[id];
    if (!fire(e, c)) continue;
    // Re-file at the real earliest deadline (arming inside fire() may have
    // filed it already, possibly at a later key than one left untouched).
    const uint64_t next = earliest(c);
    if (next != kNever) e.timers.schedule(id, next);
  }
}

}  // namespace zcrx::tcp
