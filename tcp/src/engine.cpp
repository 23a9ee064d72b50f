// SPDX-License-Identifier: MIT
// The public calls of Engine, Conn and Listener: argument checks, then the
// work in the file of its concern. Every call records the time it is given
// (Engine::Impl::now) before doing anything.
#include <cerrno>

#include "internal.h"

namespace zcrx::tcp {

const char* state_name(State s) {
  switch (s) {
    case State::closed: return "CLOSED";
    case State::listen: return "LISTEN";
    case State::syn_sent: return "SYN-SENT";
    case State::syn_received: return "SYN-RECEIVED";
    case State::established: return "ESTABLISHED";
    case State::fin_wait_1: return "FIN-WAIT-1";
    case State::fin_wait_2: return "FIN-WAIT-2";
    case State::close_wait: return "CLOSE-WAIT";
    case State::closing: return "CLOSING";
    case State::last_ack: return "LAST-ACK";
    case State::time_wait: return "TIME-WAIT";
  }
  return "?";
}

Engine::Engine(const Config& cfg, Host& host) : impl_(std::make_unique<Impl>(cfg, host)) {}
Engine::~Engine() = default;

Engine::Impl& Engine::Impl::of(Engine& e) { return *e.impl_; }


// ---- listeners -----------------------------------------------------------------------------

int Engine::listen(const Endpoint& local, uint32_t backlog, void* user, Listener** out) {
  Impl& e = *impl_;
  if (local.port == 0 || backlog == 0 || !out) return -EINVAL;
  if (backlog > 1024) backlog = 1024;
  if (e.listener_table.find(local) != kNone) return -EADDRINUSE;
  if (e.listener_free == kNone) return -ENOBUFS;
  const uint32_t i = e.listener_free;
  Listener::Impl& l = e.listeners[i];
  e.listener_free = l.free_next;
  l.live = true;
  l.local = local;
  l.user = user;
  l.backlog = backlog;
  l.synq_len = l.acceptq_len = 0;
  l.synq_head = l.acceptq_head = l.acceptq_tail = kNone;
  e.listener_table.insert(local, i);
  e.stats.listeners_live++;
  *out = &l.handle;
  return 0;
}

void Engine::close_listener(Listener* lh) {
  Impl& e = *impl_;
  if (!lh) return;
  Listener::Impl& l = *lh->impl_;
  if (!l.live) return;
  // Children not accepted are reset (Linux's inet_csk_listen_stop).
  while (l.acceptq_head != kNone) {
    Conn::Impl& c = e.conns[l.acceptq_head];
    send_rst(e, c);
    end_conn(e, c, EndReason::aborted, -ECONNABORTED);
  }
  while (l.synq_head != kNone) {
    Conn::Impl& c = e.conns[l.synq_head];
    send_rst(e, c);
    end_conn(e, c, EndReason::aborted, -ECONNABORTED);
  }
  e.listener_table.erase(l.local);
  l.live = false;
  l.user = nullptr;
  l.free_next = e.listener_free;
  e.listener_free = l.index;
  e.stats.listeners_live--;
}

Conn* Engine::accept(Listener* lh) {
  Impl& e = *impl_;
  if (!lh) return nullptr;
  Listener::Impl& l = *lh->impl_;
  if (!l.live || l.acceptq_head == kNone) return nullptr;
  Conn::Impl& c = e.conns[l.acceptq_head];
  listener_unlink_child(e, c);
  return &c.handle;
}

// ---- connections -----------------------------------------------------------------------------

int Engine::connect(const FourTuple& t0, void* user, Conn** out, uint64_t now_us) {
  Impl& e = *impl_;
  e.now = now_us;
  if (!out || t0.local.addr == 0 || t0.remote.addr == 0 || t0.remote.port == 0) return -EINVAL;
  FourTuple t = t0;
  if (t.local.port == 0) {
    t.local.port = pick_ephemeral_port(e, t);
    if (t.local.port == 0) return -EADDRNOTAVAIL;
  } else if (e.conn_table.find(t) != kNone) {
    return -EADDRINUSE;
  }
  Conn::Impl* cp = alloc_conn(e, t);
  if (!cp) return -ENOBUFS;
  Conn::Impl& c = *cp;
  c.user = user;
  c.visible = true;
  c.state = State::syn_sent;
  c.iss = isn_for(e, t);
  c.ts_offset = ts_offset_for(e, t);
  c.mss = static_cast<uint16_t>(e.cfg.mss);
  *out = &c.handle;
  send_syn(e, c, false);
  return 0;
}

int Engine::send(Conn* ch, uint32_t len, uint64_t now_us) {
  Impl& e = *impl_;
  e.now = now_us;
  Conn::Impl* c = ch ? ch->impl_ : nullptr;
  if (!c || !c->live) return -EINVAL;
  if (c->state == State::syn_sent || c->state == State::syn_received) return -EAGAIN;
  if (c->wr_shut || (c->state != State::established && c->state != State::close_wait)) return -EPIPE;
  if (len > send_space(ch)) return -ENOBUFS;
  c->snd_end += len;
  output(e, *c);
  return 0;
}

uint32_t Engine::send_space(const Conn* ch) const {
  const Conn::Impl* c = ch ? ch->impl_ : nullptr;
  if (!c) return 0;
  const uint64_t acked = c->snd_una > 1 ? c->snd_una - 1 : 0;
  const uint64_t queued = c->snd_end - 1 - (acked < c->snd_end - 1 ? acked : c->snd_end - 1);
  return queued >= impl_->cfg.sndbuf ? 0 : static_cast<uint32_t>(impl_->cfg.sndbuf - queued);
}

int Engine::shutdown_write(Conn* ch, uint64_t now_us) {
  Impl& e = *impl_;
  e.now = now_us;
  Conn::Impl* c = ch ? ch->impl_ : nullptr;
  if (!c || !c->live) return -EINVAL;
  if (c->wr_shut) return 0;
  switch (c->state) {
    case State::established:
      c->state = State::fin_wait_1;
      break;
    case State::close_wait:
      c->state = State::last_ack;
      break;
    case State::syn_received:
      break;  // the FIN follows the handshake (RFC 9293 3.10.4)
    default:
      return -ENOTCONN;
  }
  c->wr_shut = true;
  output(e, *c);
  return 0;
}

void Engine::close(Conn* ch, uint64_t now_us) {
  Impl& e = *impl_;
  e.now = now_us;
  Conn::Impl* c = ch ? ch->impl_ : nullptr;
  if (!c || !c->live || c->user_closed) return;
  if (c->draining) {
    abort(ch, now_us);
    return;
  }
  c->user_closed = true;
  if (c->state == State::syn_sent) {
    // RFC 9293 3.10.4: delete the TCB (nothing was synchronized).
    end_conn(e, *c, EndReason::closed, 0);
    return;
  }
  if (c->pending.count) {
    // Linux (tcp_close): unread data means a reset, not a FIN.
    abort(ch, now_us);
    return;
  }
  release_queue(e, c->ooo, true);
  if (!c->wr_shut) {
    if (c->state == State::established) c->state = State::fin_wait_1;
    else if (c->state == State::close_wait) c->state = State::last_ack;
    c->wr_shut = true;
    output(e, *c);
  } else if (c->state == State::fin_wait_2) {
    arm_timer(e, *c, c->t_wait, e.now + e.cfg.fin_wait_2_us);
  }
}

void Engine::abort(Conn* ch, uint64_t now_us) {
  Impl& e = *impl_;
  e.now = now_us;
  Conn::Impl* c = ch ? ch->impl_ : nullptr;
  if (!c || !c->live) return;
  if (c->draining) {  // already off the wire: only what it holds goes
    release_queue(e, c->pending, false);
    c->end_reason = EndReason::aborted;
    free_conn(e, *c, -ECONNABORTED);
    return;
  }
  // RFC 9293 3.10.5: RST in the synchronized states that have one to send.
  if (c->state != State::syn_sent && c->state != State::time_wait) send_rst(e, *c);
  end_conn(e, *c, EndReason::aborted, -ECONNABORTED);
}

void Engine::input(const RxSegment& s, uint64_t now_us) {
  impl_->now = now_us;
  input_segment(*impl_, s);
}

void Engine::poll(uint64_t now_us) { run_timers(*impl_, now_us); }

uint64_t Engine::next_deadline() const { return impl_->timers.top_key(); }

void Engine::rx_capacity_changed(Conn* ch, uint64_t now_us) {
  Impl& e = *impl_;
  e.now = now_us;
  Conn::Impl* c = ch ? ch->impl_ : nullptr;
  if (!c || !c->live || c->state == State::syn_sent) return;
  if (c->pending.count && !c->user_closed && !offer_pending(e, *c)) return;
  if (c->state == State::syn_received || c->state == State::closed || c->fin_rcvd)
    return;  // no window to open
  if (window_update_due(e, *c)) {
    c->stats.window_updates++;
    send_ack(e, *c);
  }
}

EngineStats Engine::stats() const {
  EngineStats s = impl_->stats;
  s.ooo_held = 0;
  for (uint32_t i = 0; i < impl_->cfg.max_conns; i++)
    if (impl_->conns[i].live) s.ooo_held += impl_->conns[i].ooo.pieces;
  return s;
}

// ---- accessors ----------------------------------------------------------------------------

State Conn::state() const { return impl_->state; }
const FourTuple& Conn::tuple() const { return impl_->tuple; }
void* Conn::user() const { return impl_->user; }
void Conn::set_user(void* u) { impl_->user = u; }
const ConnStats& Conn::stats() const { return impl_->stats; }
uint32_t Conn::pending_pieces() const { return impl_->pending.pieces; }
uint32_t Conn::ooo_pieces() const { return impl_->ooo.pieces; }
uint32_t Conn::pending_bytes() const { return impl_->pending.bytes; }
uint32_t Conn::ooo_bytes() const { return impl_->ooo.bytes; }
EndReason Conn::end_reason() const { return impl_->end_reason; }
uint32_t Conn::cwnd() const { return impl_->cwnd; }
uint32_t Conn::ssthresh() const { return impl_->ssthresh; }
uint32_t Conn::srtt_us() const { return impl_->srtt_us; }
uint32_t Conn::rto_us() const { return impl_->rto_us; }
uint32_t Conn::snd_wnd() const { return impl_->snd_wnd; }
uint32_t Conn::rcv_wnd() const {
  return seq_gt(impl_->rcv_adv, impl_->rcv_nxt) ? impl_->rcv_adv - impl_->rcv_nxt : 0;
}

const Endpoint& Listener::local() const { return impl_->local; }
void* Listener::user() const { return impl_->user; }
uint32_t Listener::backlog() const { return impl_->backlog; }
uint32_t Listener::queued() const { return impl_->acceptq_len; }

}  // namespace zcrx::tcp
