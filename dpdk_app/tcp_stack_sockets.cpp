// SPDX-License-Identifier: MIT
// TcpStack: sockets. The SQEs on socket handles, control's socket ops, the
// engine's socket events, and the work they defer (a Host callback must
// not call back into the engine: accepting, sending and EOF happen in
// drain_kicks, after the engine call returned). The lists that work runs
// from are in tcp_stack_worklists.cpp, ASYNC_CANCEL in tcp_stack_cancel.cpp,
// local ports in tcp_stack_ports.cpp.
#include <rte_mbuf.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "tcp_stack.h"

namespace zcrxd {

namespace tcp = zcrx::tcp;
namespace uapi = zcrx::uapi;
using uapi::io_uring_sqe;

namespace {
constexpr uint32_t kSbRoom = 2048;  // as tcp_stack.cpp
// Sockets of every ring of every queue (-ENFILE past it).
constexpr uint32_t kMaxSocketsTotal = 65536;
// relaxed: a count compared against a limit; no data is published by it.
std::atomic<uint32_t> g_sockets{0};

bool take_global_socket() {
  if (g_sockets.fetch_add(1, std::memory_order_relaxed) >= kMaxSocketsTotal) {
    g_sockets.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}
void put_global_socket() { g_sockets.fetch_sub(1, std::memory_order_relaxed); }
}  // namespace

// ---- connection states ---------------------------------------------------------

TcpConnState* TcpStack::alloc_cs(tcp::Conn* c, TcpSocket* s) {
  TcpConnState* cs = cs_free_;
  if (!cs) return nullptr;
  cs_free_ = cs->next;
  rte_mbuf** sb = cs->sb;
  *cs = TcpConnState{};
  cs->sb = sb;
  cs->conn = c;
  cs->sock = s;
  cs->in_use = true;
  cs_live_++;
  return cs;
}

void TcpStack::free_cs(TcpConnState& cs) {
  unstarve(cs);
  for (uint64_t k = cs.acked / kSbRoom; k * kSbRoom < cs.written; k++) {
    rte_mbuf*& m = cs.sb[k % sb_slots_];
    if (m) rte_pktmbuf_free(m);
    m = nullptr;
  }
  if (cs.sock && cs.sock->send_n) sb_waiters_ = true;
  cs.in_use = false;
  cs.conn = nullptr;
  cs.sock = nullptr;
  cs.next = cs_free_;
  cs_free_ = &cs;
  cs_live_--;
}

void TcpStack::starve(TcpConnState& cs) { starved_.push_front(cs); }
void TcpStack::unstarve(TcpConnState& cs) { starved_.remove(cs); }

void TcpStack::refresh_starved() {
  // Taken off the list first: the engine calls rx_capacity() again and a
  // connection still short puts itself back; one that ends meanwhile is
  // skipped (in_use).
  uint32_t n = 0;
  while (!starved_.empty() && n < cfg_.tcp.max_conns) {
    TcpConnState* cs = starved_.front();
    unstarve(*cs);
    scratch_[n++] = cs;
  }
  for (uint32_t i = 0; i < n; i++)
    if (scratch_[i]->in_use && scratch_[i]->conn)
      engine_->rx_capacity_changed(scratch_[i]->conn, now_us_);
}

uint32_t TcpStack::append_send(TcpConnState& cs, const uint8_t* src, uint32_t len) {
  const uint32_t space = engine_->send_space(cs.conn);
  if (len > space) len = space;
  uint32_t done = 0;
  while (done < len) {
    const uint32_t in = static_cast<uint32_t>(cs.written % kSbRoom);
    rte_mbuf*& m = cs.sb[(cs.written / kSbRoom) % sb_slots_];
    if (in == 0) {
      m = rte_pktmbuf_alloc(sb_pool_);
      if (!m) {
        sb_waiters_ = true;
        break;
      }
    }
    const uint32_t k = kSbRoom - in < len - done ? kSbRoom - in : len - done;
    std::memcpy(rte_pktmbuf_mtod_offset(m, uint8_t*, in), src + done, k);
    cs.written += k;
    done += k;
  }
  return done;
}

// ---- deferred work -------------------------------------------------------------------

void TcpStack::service(TcpSocket& s) {
  if (s.state == SockState::listening) {
    service_accepts(s);
    return;
  }
  if (s.cs && s.state == SockState::connected) {
    service_sends(s);
    maybe_eof(s);
  }
}

void TcpStack::post_final(TcpSocket& s, uint64_t ud, int32_t res, uint64_t off) {
  if (s.ring->reserve(1)) s.ring->post(ud, res, 0, off, 0);
  else s.ring->count_overflow();
}

void TcpStack::service_accepts(TcpSocket& s) {
  SocketTable* t = s.ring->sockets();
  while (s.accept_armed && s.listener && t) {
    // A full CQ or table leaves the connection in the engine's accept
    // queue until there is room (retried each iteration, not per packet).
    if (s.listener->queued() == 0) return;
    if (!s.ring->reserve(1) || t->open == kMaxSocketsPerRing || !take_global_socket()) {
      wait_room(s);
      return;
    }
    tcp::Conn* c = engine_->accept(s.listener);
    if (!c) {
      put_global_socket();
      return;
    }
    TcpSocket* ns = t->alloc(s.ring);
    TcpConnState* cs = alloc_cs(c, ns);  // as many states as the engine has connections
    ns->state = SockState::connected;
    ns->cs = cs;
    ns->bound = true;
    ns->bound_addr = c->tuple().local.addr;
    ns->bound_port = c->tuple().local.port;
    c->set_user(cs);
    if (!s.accept_multishot) s.accept_armed = false;
    s.ring->post(s.accept_ud, static_cast<int32_t>(ns->handle()),
                 s.accept_armed ? uapi::kCqeFMore : 0,
                 accept_peer_off(c->tuple().remote.addr, c->tuple().remote.port), 0);
  }
}

void TcpStack::service_sends(TcpSocket& s) {
  TcpConnState* cs = s.cs;
  SocketTable* t = s.ring->sockets();
  if (!cs || !cs->conn || !t) return;
  const tcp::State st = cs->conn->state();
  const bool can_send = st == tcp::State::established || st == tcp::State::close_wait;
  while (s.send_n) {
    PendingSend& p = s.sends[s.send_head];
    int32_t res = static_cast<int32_t>(p.len);
    if (!can_send || s.shut_wr) {
      res = -EPIPE;
    } else if (p.done < p.len) {
      const uint32_t n = append_send(*cs, t->tx + p.off + p.done, p.len - p.done);
      if (n) {
        const int rc = engine_->send(cs->conn, n, now_us_);
        if (rc < 0) res = rc;  // the engine refused what fit its own space: not expected
        p.done += n;
        st_.send_bytes.add(n);
      }
      if (res >= 0 && p.done < p.len) {
        st_.send_waits.add(1);
        return;  // send_acked kicks it again
      }
    }
    if (!s.ring->reserve(1)) {  // completes once the CQ has room
      wait_room(s);
      return;
    }
    s.ring->post(p.user_data, res, 0, 0, 0);
    s.send_head = (s.send_head + 1) % kMaxPendingSends;
    s.send_n--;
  }
}

void TcpStack::maybe_eof(TcpSocket& s) {
  if (!s.peer_fin || s.eof_posted || !s.recv.armed || !s.cs || !s.cs->conn) return;
  if (s.cs->conn->pending_bytes() != 0) return;
  if (!s.ring->reserve(1)) {
    wait_room(s);
    return;
  }
  s.ring->post(s.recv.user_data, 0, 0, 0, 0);
  s.recv.armed = false;
  s.eof_posted = true;
}

void TcpStack::end_requests(TcpSocket& s, int32_t res) {
  if (s.recv.armed) {
    post_final(s, s.recv.user_data, res);
    s.recv.armed = false;
  }
  if (s.accept_armed) {
    post_final(s, s.accept_ud, res);
    s.accept_armed = false;
  }
  if (s.connect_armed) {
    post_final(s, s.connect_ud, res);
    s.connect_armed = false;
  }
  while (s.send_n) {
    post_final(s, s.sends[s.send_head].user_data, res);
    s.send_head = (s.send_head + 1) % kMaxPendingSends;
    s.send_n--;
  }
}

// ---- engine host: socket events ---------------------------------------------------------

void TcpStack::accept_ready(tcp::Listener& l) {
  if (auto* s = static_cast<TcpSocket*>(l.user())) kick(*s);
}

void TcpStack::connected(tcp::Conn& c, int result) {
  auto* cs = static_cast<TcpConnState*>(c.user());
  TcpSocket* s = cs ? cs->sock : nullptr;
  if (!s) return;
  if (s->connect_armed) {
    post_final(*s, s->connect_ud, result);
    s->connect_armed = false;
  }
  if (result == 0) {
    s->state = SockState::connected;
    kick(*s);  // SENDs queued during the handshake
  }
}

void TcpStack::peer_closed(tcp::Conn& c) {
  auto* cs = static_cast<TcpConnState*>(c.user());
  if (cs && cs->sock) {
    cs->sock->peer_fin = true;
    kick(*cs->sock);
  }
}

void TcpStack::ended(tcp::Conn& c, int result) {
  auto* cs = static_cast<TcpConnState*>(c.user());
  if (!cs) return;  // never accepted: nobody knew it
  if (TcpSocket* s = cs->sock) {
    s->cs = nullptr;
    s->state = SockState::done;
    s->error = result;
    if (s->recv.armed) {
      // A clean end is EOF (what the peer sent was all taken first).
      post_final(*s, s->recv.user_data, result);
      s->recv.armed = false;
      s->eof_posted = result == 0;
      s->error = 0;  // reported: later receives see EOF, as after Linux's sk_err
    }
    end_requests(*s, result < 0 ? result : -EPIPE);
  }
  c.set_user(nullptr);
  free_cs(*cs);
}

// ---- SQEs ------------------------------------------------------------------------------

void TcpStack::socket_sqe(RingDp& ring, SocketTable& t, const io_uring_sqe& sqe) {
  switch (sqe.opcode) {
    case uapi::kOpAccept: sqe_accept(ring, t, sqe); break;
    case uapi::kOpConnect: sqe_connect(ring, t, sqe); break;
    case uapi::kOpSend: sqe_send(ring, t, sqe); break;
    case uapi::kOpShutdown: sqe_shutdown(ring, t, sqe); break;
    case uapi::kOpClose: sqe_close(ring, t, sqe); break;
    case uapi::kOpRecvZc: sqe_recv_zc(ring, t, sqe); break;
    default: ring.post(sqe.user_data, -EINVAL, 0, 0, 0); break;
  }
  drain_kicks();
}

void TcpStack::sqe_accept(RingDp& ring, SocketTable& t, const io_uring_sqe& sqe) {
  int rc = check_accept_sqe(sqe);
  TcpSocket* s = rc ? nullptr : t.get(sqe.fd);
  if (!rc && !s) rc = -EBADF;
  if (!rc && s->state != SockState::listening) rc = -EINVAL;
  if (!rc && s->accept_armed) rc = -EBUSY;
  if (rc) {
    ring.post(sqe.user_data, rc, 0, 0, 0);
    return;
  }
  s->accept_ud = sqe.user_data;
  s->accept_multishot = sqe.ioprio & uapi::kAcceptMultishot;
  s->accept_armed = true;
  kick(*s);
}

void TcpStack::sqe_connect(RingDp& ring, SocketTable& t, const io_uring_sqe& sqe) {
  uint32_t ip = 0;
  uint16_t port = 0;
  int rc = check_connect_sqe(sqe, &ip, &port);
  TcpSocket* s = rc ? nullptr : t.get(sqe.fd);
  if (!rc && !s) rc = -EBADF;
  if (!rc) {
    switch (s->state) {
      case SockState::connected:
      case SockState::listening: rc = -EISCONN; break;
      case SockState::connecting: rc = -EALREADY; break;
      default: break;
    }
  }
  NextHop h;
  if (!rc) rc = cfg_.net.next_hop(ip, &h);
  if (!rc && s->bound && s->bound_addr && s->bound_addr != h.src) {
    // Bound to one of our addresses: the route's source is only a default.
    h.src = s->bound_addr;
  }
  TcpConnState* cs = nullptr;
  if (!rc) {
    cs = alloc_cs(nullptr, s);
    if (!cs) rc = -ENOBUFS;
  }
  tcp::Conn* c = nullptr;
  if (!rc) {
    tcp::FourTuple tu;
    tu.local = {h.src, s->bound ? s->bound_port : uint16_t{0}};
    tu.remote = {ip, port};
    rc = tu.local.port ? engine_->connect(tu, cs, &c, now_us_) : connect_steered(tu, cs, &c);
    if (rc) free_cs(*cs);
  }
  if (rc) {
    ring.post(sqe.user_data, rc, 0, 0, 0);
    return;
  }
  cs->conn = c;
  s->cs = cs;
  s->state = SockState::connecting;
  s->peer_fin = s->eof_posted = s->shut_rd = s->shut_wr = false;
  s->error = 0;
  s->bound = true;
  s->bound_addr = c->tuple().local.addr;
  s->bound_port = c->tuple().local.port;
  s->connect_ud = sqe.user_data;
  s->connect_armed = true;
}

void TcpStack::sqe_send(RingDp& ring, SocketTable& t, const io_uring_sqe& sqe) {
  int rc = check_send_sqe(sqe);
  TcpSocket* s = rc ? nullptr : t.get(sqe.fd);
  if (!rc && !s) rc = -EBADF;
  if (!rc) {
    switch (s->state) {
      case SockState::done: rc = s->error < 0 && s->error != -ECONNABORTED ? s->error : -EPIPE;
        s->error = s->error < 0 ? 0 : s->error;  // reported once, then EPIPE
        break;
      case SockState::fresh:
      case SockState::listening: rc = -ENOTCONN; break;
      default: if (s->shut_wr) rc = -EPIPE; break;
    }
  }
  uint64_t off = 0;
  if (!rc) rc = tx_region_offset(t.tx_base, t.tx_len, sqe.addr, sqe.len, &off);
  if (!rc && s->send_n == kMaxPendingSends) rc = -ENOBUFS;
  if (rc || sqe.len == 0) {
    ring.post(sqe.user_data, rc, 0, 0, 0);
    return;
  }
  PendingSend& p = s->sends[(s->send_head + s->send_n) % kMaxPendingSends];
  p = {sqe.user_data, off, sqe.len, 0};
  s->send_n++;
  kick(*s);
}

void TcpStack::sqe_shutdown(RingDp& ring, SocketTable& t, const io_uring_sqe& sqe) {
  int rc = check_shutdown_sqe(sqe);
  TcpSocket* s = rc ? nullptr : t.get(sqe.fd);
  if (!rc && !s) rc = -EBADF;
  if (rc) {
    ring.post(sqe.user_data, rc, 0, 0, 0);
    return;
  }
  const uint32_t how = sqe.len;
  if (s->state == SockState::listening) {
    // Linux: SHUT_RD on a listener stops it (a pending accept fails).
    if (how != SHUT_WR) {
      engine_->close_listener(s->listener);
      s->listener = nullptr;
      s->state = SockState::fresh;
      if (s->accept_armed) {
        ring.post(s->accept_ud, -EINVAL, 0, 0, 0);
        s->accept_armed = false;
      }
    }
    ring.post(sqe.user_data, 0, 0, 0, 0);
    return;
  }
  if (s->state != SockState::connected || !s->cs) {
    ring.post(sqe.user_data, -ENOTCONN, 0, 0, 0);
    return;
  }
  if (how != SHUT_RD) {
    rc = engine_->shutdown_write(s->cs->conn, now_us_);
    s->shut_wr = true;
    // SENDs still waiting could never complete now.
    while (s->send_n && s->sends[s->send_head].done == 0) {
      post_final(*s, s->sends[s->send_head].user_data, -EPIPE);
      s->send_head = (s->send_head + 1) % kMaxPendingSends;
      s->send_n--;
    }
  }
  if (how != SHUT_WR && !s->shut_rd) {
    s->shut_rd = true;
    if (s->recv.armed) {
      post_final(*s, s->recv.user_data, 0);
      s->recv.armed = false;
    }
    if (s->cs && s->cs->conn) engine_->rx_capacity_changed(s->cs->conn, now_us_);
  }
  ring.post(sqe.user_data, rc, 0, 0, 0);
}

void TcpStack::sqe_close(RingDp& ring, SocketTable& t, const io_uring_sqe& sqe) {
  int rc = check_close_sqe(sqe);
  TcpSocket* s = rc ? nullptr : t.get(sqe.fd);
  if (!rc && !s) rc = -EBADF;
  if (rc) {
    ring.post(sqe.user_data, rc, 0, 0, 0);
    return;
  }
  close_socket(t, *s);
  ring.post(sqe.user_data, 0, 0, 0, 0);
}

int TcpStack::op_close(SocketTable& t, uint32_t handle) {
  TcpSocket* s = t.get(handle);
  if (!s) return -EBADF;
  close_socket(t, *s);
  return 0;
}

void TcpStack::close_socket(SocketTable& t, TcpSocket& s) {
  end_requests(s, -ECANCELED);
  // Connections the listener had not handed out are reset (the engine's).
  if (s.listener) engine_->close_listener(s.listener);
  if (TcpConnState* cs = s.cs) {
    // The connection closes in the background (FIN after what was queued);
    // its state lives on, without a socket, until the engine ends it.
    cs->sock = nullptr;
    s.cs = nullptr;
    if (cs->conn) engine_->close(cs->conn, now_us_);
  }
  unkick(s);
  unwait_room(s);
  t.release(s);
  put_global_socket();
}

void TcpStack::sqe_recv_zc(RingDp& ring, SocketTable& t, const io_uring_sqe& sqe) {
  int rc = check_recv_zc_sqe(sqe);
  zcrx::core::Ifq* entry = nullptr;
  zcrx::core::Ifq* real = nullptr;
  // The kernel's rule: the ifq must be the one of the socket's queue.
  if (!rc && (!ring.entry_of(sqe.zcrx_ifq_idx, &entry, &real) || real != real_)) rc = -EINVAL;
  TcpSocket* s = rc ? nullptr : t.get(sqe.fd);
  if (!rc && !s) rc = -EBADF;
  if (!rc && s->recv.armed) rc = -EBUSY;
  if (!rc && (s->state == SockState::fresh || s->state == SockState::listening)) rc = -ENOTCONN;
  if (!rc && s->state == SockState::done) {
    // Ended: its error once, then EOF.
    rc = s->error;
    s->error = 0;
  }
  if (!rc && (s->eof_posted || s->shut_rd)) rc = 0;
  if (rc || s->state == SockState::done || s->eof_posted || s->shut_rd) {
    ring.post(sqe.user_data, rc, 0, 0, 0);
    return;
  }
  RecvRequest& r = s->recv;
  r.user_data = sqe.user_data;
  r.entry = entry;
  r.limited = sqe.len != 0;
  r.remaining = sqe.len;
  r.armed = true;
  // Payload that waited for a request (it may have come with the third ACK).
  if (s->cs && s->cs->conn) engine_->rx_capacity_changed(s->cs->conn, now_us_);
  kick(*s);
}

// ---- control ops ------------------------------------------------------------------------

int TcpStack::op_socket(RingDp& ring, SocketTable& t) {
  bool known = false;
  for (uint32_t i = 0; i < n_tables_; i++) known |= tables_[i] == &t;
  if (!known) {
    if (n_tables_ == kMaxTables) return -ENFILE;
    tables_[n_tables_++] = &t;
  }
  if (t.open == kMaxSocketsPerRing) return -EMFILE;
  if (!take_global_socket()) return -ENFILE;
  TcpSocket* s = t.alloc(&ring);
  return static_cast<int>(s->handle());
}

int TcpStack::op_bind(SocketTable& t, uint32_t handle, uint32_t addr, uint16_t port) {
  TcpSocket* s = t.get(handle);
  if (!s) return -EBADF;
  if (s->bound || s->state != SockState::fresh) return -EINVAL;
  if (addr && !cfg_.net.is_local(addr)) return -EADDRNOTAVAIL;
  if (port == 0) {
    port = pick_port(addr);
    if (!port) return -EADDRINUSE;
  } else if (port_in_use(addr, port)) {
    return -EADDRINUSE;
  }
  s->bound = true;
  s->bound_addr = addr;
  s->bound_port = port;
  return 0;
}

int TcpStack::op_listen(SocketTable& t, uint32_t handle, uint32_t backlog) {
  TcpSocket* s = t.get(handle);
  if (!s) return -EBADF;
  if (s->state == SockState::listening) return 0;  // Linux: only the backlog changes
  if (s->state != SockState::fresh) return -EINVAL;
  if (!s->bound) {
    if (int rc = op_bind(t, handle, 0, 0)) return rc;
  }
  if (backlog == 0) backlog = 1;
  if (backlog > cfg_.tcp.backlog_max) backlog = cfg_.tcp.backlog_max;
  tcp::Listener* l = nullptr;
  const int rc = engine_->listen({s->bound_addr, s->bound_port}, backlog, s, &l);
  if (rc) return rc == -ENOBUFS ? -ENOBUFS : rc;
  s->listener = l;
  s->state = SockState::listening;
  return 0;
}

int TcpStack::op_sockname(SocketTable& t, uint32_t handle, zcrx::proto::SockNameReply* out) {
  TcpSocket* s = t.get(handle);
  if (!s) return -EBADF;
  *out = {};
  out->local_addr = __builtin_bswap32(s->bound_addr);
  out->local_port = s->bound_port;
  if (s->cs && s->cs->conn) {
    const tcp::FourTuple& tu = s->cs->conn->tuple();
    out->local_addr = __builtin_bswap32(tu.local.addr);
    out->local_port = tu.local.port;
    out->remote_addr = __builtin_bswap32(tu.remote.addr);
    out->remote_port = tu.remote.port;
    out->state = static_cast<uint8_t>(s->cs->conn->state());
  } else if (s->state == SockState::listening) {
    out->state = static_cast<uint8_t>(tcp::State::listen);
  }
  return 0;
}

void TcpStack::drop_ring(SocketTable& t) {
  for (TcpSocket& s : t.socks) {
    if (s.state == SockState::free) continue;
    unkick(s);
    unwait_room(s);
    if (s.listener) engine_->close_listener(s.listener);
    if (TcpConnState* cs = s.cs) {
      // As a process's exit closes its sockets in Linux: close(), not an
      // abort. A connection whose payload was all taken ends with a FIN
      // (a consumer that read to EOF, submitted CLOSE and exited before
      // zcrxd saw the SQE must not reset its peer); unread payload, or
      // payload arriving afterwards (a consumer killed mid-stream), turns
      // it into a RST in the engine. After close() the engine holds no
      // piece of the area for it.
      cs->sock = nullptr;
      s.cs = nullptr;
      if (cs->conn) engine_->close(cs->conn, now_us_);
    }
    t.release(s);
    put_global_socket();
  }
  for (uint32_t i = 0; i < n_tables_; i++)
    if (tables_[i] == &t) {
      tables_[i] = tables_[--n_tables_];
      break;
    }
  drain_kicks();
}

}  // namespace zcrxd
