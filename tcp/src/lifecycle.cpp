// SPDX-License-Identifier: MIT
// Where connections come from and go: the engine's pools (sized once, at
// construction), the tables, the listeners' queues, and the one way out
// (end_conn), which releases everything a connection holds in the reverse
// order it was taken.
#include <cerrno>
#include <new>

#include "internal.h"

namespace zcrx::tcp {

Engine::Impl::Impl(const Config& c, Host& h) : cfg(c), host(h) {
  if (cfg.max_conns == 0) cfg.max_conns = 1;
  if (cfg.max_listeners == 0) cfg.max_listeners = 1;
  if (cfg.wscale > 14) cfg.wscale = 14;
  if (cfg.mss < 64) cfg.mss = 64;
  if (cfg.rto_min_us == 0) cfg.rto_min_us = 1;
  if (cfg.rto_max_us < cfg.rto_min_us) cfg.rto_max_us = cfg.rto_min_us;
  if (cfg.initial_cwnd_segments == 0) cfg.initial_cwnd_segments = 1;
  key[0] = cfg.isn_key[0];
  key[1] = cfg.isn_key[1];

  conns = std::make_unique<Conn::Impl[]>(cfg.max_conns);
  for (uint32_t i = cfg.max_conns; i-- > 0;) {
    conns[i].index = i;
    conns[i].free_next = conn_free;
    conn_free = i;
  }
  listeners = std::make_unique<Listener::Impl[]>(cfg.max_listeners);
  for (uint32_t i = cfg.max_listeners; i-- > 0;) {
    listeners[i].index = i;
    listeners[i].free_next = listener_free;
    listener_free = i;
  }
  const uint64_t n_nodes = uint64_t{cfg.max_ooo_segments} + cfg.max_pending_segments;
  const uint32_t nodes_n = n_nodes > UINT32_MAX - 1 ? UINT32_MAX - 1 : static_cast<uint32_t>(n_nodes);
  nodes = std::make_unique<SegNode[]>(nodes_n);
  for (uint32_t i = nodes_n; i-- > 0;) {
    nodes[i].next = node_free;
    node_free = i;
  }
  conn_table.init(cfg.max_conns, key);
  listener_table.init(cfg.max_listeners, key);
  timers.init(cfg.max_conns);
}

Engine::Impl::~Impl() {
  // The host outlives us: hand back every piece still held.
  for (uint32_t i = 0; i < cfg.max_conns; i++) {
    Conn::Impl& c = conns[i];
    if (!c.live) continue;
    release_queue(*this, c.pending, false);
    release_queue(*this, c.ooo, true);
  }
}

Conn::Impl* alloc_conn(Engine::Impl& e, const FourTuple& t) {
  if (e.conn_free == kNone) {
    e.stats.conns_refused_pool++;
    return nullptr;
  }
  const uint32_t i = e.conn_free;
  Conn::Impl& c = e.conns[i];
  e.conn_free = c.free_next;
  c.~Impl();
  new (&c) Conn::Impl();
  c.index = i;
  c.live = true;
  c.tuple = t;
  c.rto_us = e.cfg.rto_initial_us;
  c.quickack_left = e.cfg.quickack_segments;
  e.conn_table.insert(t, i);
  e.stats.conns_live++;
  return &c;
}

Listener::Impl* find_listener(Engine::Impl& e, const Endpoint& local) {
  // Exact local address first, then the any-address listener.
  uint32_t i = e.listener_table.find(local);
  if (i == kNone && local.addr != 0) i = e.listener_table.find(Endpoint{0, local.port});
  return i == kNone ? nullptr : &e.listeners[i];
}

// ---- listener queues ------------------------------------------------------------------
// A child of a listener is in exactly one list: the SYN queue (SYN-RECEIVED,
// unordered) or the accept queue (established, FIFO), linked through
// lnext/lprev.

void listener_unlink_child(Engine::Impl& e, Conn::Impl& c) {
  if (c.listener == kNone) return;
  Listener::Impl& l = e.listeners[c.listener];
  const bool queued = c.state != State::syn_received;
  uint32_t& head = queued ? l.acceptq_head : l.synq_head;
  if (c.lprev != kNone)
    e.conns[c.lprev].lnext = c.lnext;
  else
    head = c.lnext;
  if (c.lnext != kNone)
    e.conns[c.lnext].lprev = c.lprev;
  else if (queued)
    l.acceptq_tail = c.lprev;
  if (queued)
    l.acceptq_len--;
  else
    l.synq_len--;
  c.listener = kNone;
  c.lnext = c.lprev = kNone;
}

bool child_established(Engine::Impl& e, Conn::Impl& c) {
  Listener::Impl& l = e.listeners[c.listener];
  if (l.acceptq_len >= l.backlog) {
    e.stats.accept_overflows++;
    return false;
  }
  const uint32_t li = c.listener;
  listener_unlink_child(e, c);  // from the SYN queue (state is still syn_received)
  c.listener = li;
  c.lprev = l.acceptq_tail;
  c.lnext = kNone;
  if (l.acceptq_tail != kNone)
    e.conns[l.acceptq_tail].lnext = c.index;
  else
    l.acceptq_head = c.index;
  l.acceptq_tail = c.index;
  l.acceptq_len++;
  c.visible = true;
  return true;
}

// ---- the end ------------------------------------------------------------------------------

void end_conn(Engine::Impl& e, Conn::Impl& c, EndReason why, int result) {
  c.end_reason = why;
  listener_unlink_child(e, c);  // by its state: before it becomes CLOSED
  // A clean end with in-order payload the host has not taken yet (the peer
  // closed, the stream is whole): the connection leaves the wire now, and
  // Host::ended waits until the host took the rest, as Linux keeps a
  // socket's receive queue readable after its TIME-WAIT was handed off.
  const bool drain = result == 0 && c.visible && c.pending.count && !c.user_closed;
  c.state = State::closed;
  if (!drain) release_queue(e, c.pending, false);
  release_queue(e, c.ooo, true);
  cancel_timers(c);
  e.timers.remove(c.index);
  e.conn_table.erase(c.tuple);
  if (drain) {
    c.draining = true;
    return;
  }
  free_conn(e, c, result);
}

void free_conn(Engine::Impl& e, Conn::Impl& c, int result) {
  if (c.visible) {
    e.stats.conns_ended++;
    e.host.ended(c.handle, result);
  }
  c.live = false;
  c.visible = false;
  c.draining = false;
  c.user = nullptr;
  c.free_next = e.conn_free;
  e.conn_free = c.index;
  e.stats.conns_live--;
}

void fail_connect(Engine::Impl& e, Conn::Impl& c, EndReason why, int result) {
  if (c.visible && !c.passive) e.host.connected(c.handle, result);
  end_conn(e, c, why, result);
}

void enter_time_wait(Engine::Impl& e, Conn::Impl& c) {
  // RFC 9293 3.10.7.4: TIME-WAIT for 2 MSL; here Config::time_wait_us.
  c.state = State::time_wait;
  release_queue(e, c.ooo, true);
  c.rtx_mode = RtxMode::none;
  c.t_rtx = kNever;
  c.t_delack = kNever;
  arm_timer(e, c, c.t_wait, e.now + e.cfg.time_wait_us);
}

}  // namespace zcrx::tcp
