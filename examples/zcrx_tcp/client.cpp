// SPDX-License-Identifier: MIT
#include "client.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "buffers.h"
#include "event_loop.h"
#include "tcp_pattern.h"
#include "zcrx/socket.h"

namespace zcrx_tcp {
namespace {

using zcrx::uapi::io_uring_cqe32;


enum class Phase { connecting, sending, shutting, draining, closing, closed };

struct Conn {
  int sock = -1;
  Phase phase = Phase::connecting;
  uint64_t sent = 0;       // bytes whose SEND completed
  uint32_t in_flight = 0;  // bytes of the SEND under way
  uint8_t* slot = nullptr; // its piece of the TX region
  bool recv_armed = false;
  bool peer_closed = false;
  int error = 0;
};

class Client {
 public:
  Client(zcrx::Ring& ring, zcrx::Ifq& ifq, const Options& o, Totals& t)
      : ring_(ring), ifq_(ifq), o_(o), t_(t), bufs_(ifq, t), progress_(o.quiet),
        chunk_(o.chunk_kb * 1024u), conns_(o.connections) {}

  int setup();
  void run();

 private:
  void on_cqe(const io_uring_cqe32& c);
  void send_next(uint32_t i);
  void on_recv(uint32_t i, const io_uring_cqe32& c);
  void end(uint32_t i, int error, const char* problem = nullptr);
  void shut_down();
  bool all_closed() const { return closed_ == conns_.size(); }

  zcrx::Ring& ring_;
  zcrx::Ifq& ifq_;
  const Options& o_;
  Totals& t_;
  Buffers bufs_;
  Progress progress_;
  const uint32_t chunk_;
  std::vector<Conn> conns_;
  size_t closed_ = 0;
  uint64_t live_ = 0;
};

int Client::setup() {
  for (uint32_t i = 0; i < conns_.size(); i++) {
    Conn& k = conns_[i];
    k.sock = ring_.socket();
    if (k.sock < 0) return k.sock;
    k.slot = ring_.tx_region() + size_t{i} * chunk_;
  }
  return 0;
}

void Client::send_next(uint32_t i) {
  Conn& k = conns_[i];
  const uint64_t left = o_.bytes - k.sent;
  auto* sqe = get_sqe(ring_);
  if (!sqe) {
    t_.fatal = -EBUSY;
    return;
  }
  if (left == 0) {
    // All of it is in zcrxd's send buffer: our FIN goes after it.
    k.phase = Phase::shutting;
    zcrx::prep_shutdown(sqe, k.sock, SHUT_WR, tag(Kind::shutdown, i));
    return;
  }
  k.in_flight = left < chunk_ ? static_cast<uint32_t>(left) : chunk_;
  tcp_pattern_fill(k.slot, k.in_flight, i, k.sent);
  zcrx::prep_send(sqe, k.sock, k.slot, k.in_flight, tag(Kind::send, i));
}

void Client::on_recv(uint32_t i, const io_uring_cqe32& c) {
  Conn& k = conns_[i];
  const bool more = c.cqe.flags & zcrx::uapi::kCqeFMore;
  if (c.cqe.res > 0) {
    // The peer sends nothing in this test; count it and give it back.
    if (ifq_.data(c)) {
      t_.received++;
      bufs_.give_back(c);
    } else {
      t_.bad_offsets++;
    }
    t_.unexpected_bytes += static_cast<uint64_t>(c.cqe.res);
  }
  if (more) return;
  k.recv_armed = false;
  if (k.phase != Phase::draining) return;
  if (c.cqe.res == 0) {
    k.peer_closed = true;  // the peer read everything and closed
    end(i, 0);
  } else if (c.cqe.res < 0 && c.cqe.res != -ENOBUFS && c.cqe.res != -EOVERFLOW) {
    end(i, c.cqe.res);
  } else if (auto* sqe = get_sqe(ring_)) {
    t_.rearms++;
    zcrx::prep_recv_zc(sqe, k.sock, ifq_.id(), 0, true, tag(Kind::recv, i));
    k.recv_armed = true;
  } else {
    t_.fatal = -EBUSY;
  }
}

void Client::on_cqe(const io_uring_cqe32& c) {
  const uint32_t i = slot_of(c.cqe.user_data);
  if (kind_of(c.cqe.user_data) == Kind::cancel) return;
  if (i >= conns_.size()) {
    t_.errors++;
    return;
  }
  Conn& k = conns_[i];
  const int res = c.cqe.res;
  switch (kind_of(c.cqe.user_data)) {
    case Kind::connect:
      if (k.phase != Phase::connecting) break;
      if (res < 0) {
        end(i, res);
        break;
      }
      k.phase = Phase::sending;
      live_++;
      send_next(i);
      break;
    case Kind::send:
      if (k.phase != Phase::sending) break;
      if (res < 0) {
        end(i, res);
      } else if (static_cast<uint32_t>(res) != k.in_flight) {
        end(i, -EIO, "a SEND completed short");
      } else {
        k.sent += k.in_flight;
        t_.bytes += k.in_flight;
        k.in_flight = 0;
        send_next(i);
      }
      break;
    case Kind::shutdown:
      if (k.phase != Phase::shutting) break;
      if (res < 0) {
        end(i, res);
        break;
      }
      if (auto* sqe = get_sqe(ring_)) {
        k.phase = Phase::draining;
        zcrx::prep_recv_zc(sqe, k.sock, ifq_.id(), 0, true, tag(Kind::recv, i));
        k.recv_armed = true;
      } else {
        t_.fatal = -EBUSY;
      }
      break;
    case Kind::recv: on_recv(i, c); break;
    case Kind::close:
      if (k.phase == Phase::closing) {
        k.phase = Phase::closed;
        closed_++;
      }
      break;
    default: t_.errors++; break;
  }
}

void Client::end(uint32_t i, int error, const char* problem) {
  Conn& k = conns_[i];
  if (k.phase == Phase::closing || k.phase == Phase::closed) return;
  if (k.phase != Phase::connecting) live_--;
  ConnEnd e;
  e.slot = i;
  e.stream = i;
  e.peer_ip = o_.ip;
  e.peer_port = o_.tcp_port;
  e.bytes = k.sent;
  e.error = error;
  if (problem) e.problem = problem;
  else if (error) e.problem = std::strerror(-error);
  else if (k.sent != o_.bytes) e.problem = "sent " + std::to_string(k.sent) + " bytes";
  else if (!k.peer_closed) e.problem = "the peer did not close";
  record_end(t_, e, o_.conn_lines);
  k.phase = Phase::closing;
  auto* sqe = get_sqe(ring_);
  if (!sqe) {
    t_.fatal = -EBUSY;
    return;
  }
  zcrx::prep_close(sqe, k.sock, tag(Kind::close, i));
}

void Client::shut_down() {
  if (!ring_.session_alive()) return;
  for (uint32_t i = 0; i < conns_.size(); i++) {
    Conn& k = conns_[i];
    if (k.recv_armed)
      if (auto* sqe = get_sqe(ring_)) zcrx::prep_cancel(sqe, tag(Kind::recv, i), tag(Kind::cancel, i));
    // CLOSE ends whatever is under way on it (CONNECT, SEND).
    if (k.phase != Phase::closing && k.phase != Phase::closed) end(i, -ECANCELED);
  }
  ring_.submit();
  const double give_up = now_s() + 2.0;
  while (!all_closed() && now_s() < give_up) {
    int r = ring_.wait_cqe(1, wait_mode(o_), kWaitSliceNs / 10);
    if (r < 0 && r != -ETIME) break;
    ring_.for_each_cqe(ifq_, [&](const io_uring_cqe32& c) { on_cqe(c); });
    bufs_.flush();
    ring_.submit();
  }
}

void Client::run() {
  const double start = now_s();
  progress_.start(start);
  t_.first_s = start;
  for (uint32_t i = 0; i < conns_.size(); i++) {
    auto* sqe = get_sqe(ring_);
    if (!sqe) {
      t_.fatal = -EBUSY;
      return;
    }
    zcrx::prep_connect(sqe, conns_[i].sock, o_.ip, o_.tcp_port, tag(Kind::connect, i));
  }
  ring_.submit();
  run_completions(ring_, ifq_, bufs_, o_, t_, progress_, live_, start,
                  [&](double) { return all_closed(); },
                  [&](const io_uring_cqe32& c) { on_cqe(c); });
  shut_down();
}

}  // namespace

int run_client(zcrx::Ring& ring, zcrx::Ifq& ifq, const Options& o, Totals& t) {
  t.expected = o.connections;
  Client c(ring, ifq, o, t);
  if (int r = c.setup()) return r;
  c.run();
  return 0;
}

}  // namespace zcrx_tcp
