// SPDX-License-Identifier: MIT
#include "server.h"

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

constexpr unsigned kMaxFailedArms = 3;               // arms in a row that got nothing
constexpr uint32_t kListenSlot = UINT32_MAX >> 16;   // the listener's tag slot

// True for the errors that end a connection (the kernel's RECV_ZC ends
// with these and re-arming cannot help); anything else without F_MORE
// (a full CQ, no buffers, ...) is worth arming again.
bool ends_connection(int res) {
  return res == -ECONNRESET || res == -ETIMEDOUT || res == -EPIPE || res == -ENOTCONN ||
         res == -ECONNABORTED || res == -EBADF;
}

struct Conn {
  bool used = false;
  int sock = -1;
  uint32_t peer_ip = 0;
  uint16_t peer_port = 0;
  uint64_t bytes = 0;
  uint64_t bad = 0;
  uint64_t stream = UINT64_MAX;  // unknown until its first 8 bytes came
  uint8_t head[TCP_PATTERN_HEADER_BYTES] = {};
  unsigned head_len = 0;
  bool recv_armed = false;
  bool data_since_arm = false;
  unsigned failed_arms = 0;
  bool closing = false;  // CLOSE submitted: the slot frees at its CQE
  bool paused_once = false;
  int error = 0;
  std::string problem;
};

class Server {
 public:
  Server(zcrx::Ring& ring, zcrx::Ifq& ifq, const Options& o, Totals& t)
      : ring_(ring), ifq_(ifq), o_(o), t_(t), bufs_(ifq, t), progress_(o.quiet),
        conns_(o.max_conns) {
    free_.reserve(o.max_conns);
    for (uint32_t i = o.max_conns; i-- > 0;) free_.push_back(i);
    if (o.connections) seen_.assign(o.connections, false);
  }

  int setup();
  void run();

 private:
  bool arm_accept();
  bool arm_recv(uint32_t slot);
  void on_cqe(const io_uring_cqe32& c);
  void on_accept(const io_uring_cqe32& c);
  void on_recv(const io_uring_cqe32& c);
  void on_data(Conn& k, const io_uring_cqe32& c);
  void check(Conn& k, const uint8_t* p, size_t len);
  void end(uint32_t slot, int error);
  void on_close(uint32_t slot);
  void maybe_pause(Conn& k);
  void maybe_resume(double now);
  bool done() const { return o_.connections && t_.ended + t_.refused >= o_.connections; }
  void shut_down();

  zcrx::Ring& ring_;
  zcrx::Ifq& ifq_;
  const Options& o_;
  Totals& t_;
  Buffers bufs_;
  Progress progress_;
  std::vector<Conn> conns_;
  std::vector<uint32_t> free_;
  std::vector<bool> seen_;  // stream indices seen (with --connections)
  int listener_ = -1;
  bool accept_armed_ = false;
  unsigned accept_failed_arms_ = 0;
  bool accepting_ = true;
  uint64_t live_ = 0;
  double pause_end_ = 0;
  double pause_start_ = 0;
};

int Server::setup() {
  listener_ = ring_.socket();
  if (listener_ < 0) return listener_;
  if (int r = ring_.bind(listener_, o_.ip, o_.tcp_port)) return r;
  if (int r = ring_.listen(listener_, 1024)) return r;
  zcrx::Ring::SockName n;
  if (ring_.sockname(listener_, &n) == 0 && !o_.quiet)
    std::fprintf(stderr, "zcrx_tcp: listening on %u.%u.%u.%u:%u (zcrx id %u)\n",
                 n.local_ip >> 24, (n.local_ip >> 16) & 255, (n.local_ip >> 8) & 255,
                 n.local_ip & 255, n.local_port, ifq_.id());
  // A test waits for this line before it starts the peer.
  std::printf("LISTENING %u\n", n.local_port ? n.local_port : o_.tcp_port);
  std::fflush(stdout);
  return 0;
}

bool Server::arm_accept() {
  auto* sqe = get_sqe(ring_);
  if (!sqe) return false;
  zcrx::prep_accept(sqe, listener_, true, tag(Kind::accept, kListenSlot));
  accept_armed_ = true;
  return true;
}

bool Server::arm_recv(uint32_t slot) {
  auto* sqe = get_sqe(ring_);
  if (!sqe) return false;
  Conn& k = conns_[slot];
  zcrx::prep_recv_zc(sqe, k.sock, ifq_.id(), 0, true, tag(Kind::recv, slot));
  k.recv_armed = true;
  k.data_since_arm = false;
  return true;
}

void Server::on_cqe(const io_uring_cqe32& c) {
  switch (kind_of(c.cqe.user_data)) {
    case Kind::recv: on_recv(c); return;
    case Kind::accept: on_accept(c); return;
    case Kind::close: on_close(slot_of(c.cqe.user_data)); return;
    case Kind::cancel: return;  // the cancelled request's own CQE tells
    default:
      t_.errors++;  // nothing else was submitted
      return;
  }
}

void Server::on_accept(const io_uring_cqe32& c) {
  const bool more = c.cqe.flags & zcrx::uapi::kCqeFMore;
  if (!more) accept_armed_ = false;
  if (c.cqe.res >= 0) {
    accept_failed_arms_ = 0;
    if (t_.first_s == 0) t_.first_s = now_s();
    const int sock = c.cqe.res;
    if (free_.empty() || !accepting_) {
      // No room (or stopping): close it at once; the peer sees a reset or FIN.
      t_.refused++;
      if (auto* sqe = get_sqe(ring_)) zcrx::prep_close(sqe, sock, tag(Kind::close, kListenSlot));
    } else {
      const uint32_t slot = free_.back();
      free_.pop_back();
      Conn& k = conns_[slot];
      k = Conn{};
      k.used = true;
      k.sock = sock;
      zcrx::accept_peer(c, &k.peer_ip, &k.peer_port);
      live_++;
      if (!arm_recv(slot)) t_.fatal = -EBUSY;
    }
  } else if (c.cqe.res != -ECANCELED) {
    t_.errors++;
    accept_failed_arms_++;
  }
  if (!more && accepting_ && !done()) {
    if (accept_failed_arms_ >= kMaxFailedArms) {
      t_.fatal = c.cqe.res < 0 ? c.cqe.res : -EIO;
      return;
    }
    t_.rearms++;
    if (!arm_accept()) t_.fatal = -EBUSY;
  }
}

inline void Server::check(Conn& k, const uint8_t* p, size_t len) {
  size_t i = 0;
  if (k.stream == UINT64_MAX) {
    // The stream's first 8 bytes name it; they may come in pieces.
    while (i < len && k.head_len < TCP_PATTERN_HEADER_BYTES) k.head[k.head_len++] = p[i++];
    if (k.head_len < TCP_PATTERN_HEADER_BYTES) return;
    k.stream = tcp_pattern_conn_of(k.head);
    if (o_.connections) {
      if (k.stream >= seen_.size()) {
        k.problem = "stream index out of range";
      } else if (seen_[k.stream]) {
        k.problem = "stream index seen twice";
      } else {
        seen_[k.stream] = true;
      }
    }
  }
  if (i < len) k.bad += tcp_pattern_count_mismatches(p + i, len - i, k.stream, k.bytes + i);
}

inline void Server::on_data(Conn& k, const io_uring_cqe32& c) {
  const uint8_t* p = ifq_.data(c);
  if (!p) [[unlikely]] {
    t_.bad_offsets++;  // not ours to refill
    return;
  }
  const size_t len = static_cast<size_t>(c.cqe.res);
  t_.received++;
  check(k, p, len);
  k.bytes += len;
  t_.bytes += len;
  k.data_since_arm = true;
  if (bufs_.holding()) t_.paused_bytes += len;
  bufs_.give_back(c);
  maybe_pause(k);
}

void Server::on_recv(const io_uring_cqe32& c) {
  const uint32_t slot = slot_of(c.cqe.user_data);
  if (slot >= conns_.size() || !conns_[slot].used) {
    t_.errors++;
    return;
  }
  Conn& k = conns_[slot];
  const bool more = c.cqe.flags & zcrx::uapi::kCqeFMore;
  if (c.cqe.res > 0) [[likely]] {
    on_data(k, c);
    if (more) [[likely]]
      return;
  }
  if (more) {  // res <= 0 with F_MORE: not in the contract
    t_.errors++;
    return;
  }
  k.recv_armed = false;
  if (k.closing) return;
  if (c.cqe.res == 0) {
    end(slot, 0);  // EOF
    return;
  }
  if (c.cqe.res < 0 && (ends_connection(c.cqe.res) || c.cqe.res == -ECANCELED)) {
    end(slot, c.cqe.res);  // ECANCELED: we stopped before the peer finished
    return;
  }
  // Ended for another reason (the CQ was full, zcrxd ran out of buffers,
  // data without F_MORE): the kernel needs the request armed again.
  k.failed_arms = k.data_since_arm ? 0 : k.failed_arms + 1;
  if (k.failed_arms >= kMaxFailedArms) {
    end(slot, c.cqe.res < 0 ? c.cqe.res : -EIO);
    return;
  }
  t_.rearms++;
  if (!arm_recv(slot)) t_.fatal = -EBUSY;
}

void Server::end(uint32_t slot, int error) {
  Conn& k = conns_[slot];
  ConnEnd e;
  e.slot = slot;
  e.stream = k.stream;
  e.peer_ip = k.peer_ip;
  e.peer_port = k.peer_port;
  e.bytes = k.bytes;
  e.bad_bytes = k.bad;
  e.error = error;
  e.problem = k.problem;
  if (e.problem.empty() && error == 0) {
    if (o_.bytes_given && k.bytes != o_.bytes)
      e.problem = "got " + std::to_string(k.bytes) + " bytes, expected " + std::to_string(o_.bytes);
    else if (k.bytes > 0 && k.stream == UINT64_MAX)
      e.problem = "stream shorter than its 8-byte header";
  }
  if (error != 0 && e.problem.empty()) e.problem = std::strerror(-error);
  record_end(t_, e, o_.conn_lines);
  k.closing = true;
  auto* sqe = get_sqe(ring_);
  if (!sqe) {
    t_.fatal = -EBUSY;
    return;
  }
  zcrx::prep_close(sqe, k.sock, tag(Kind::close, slot));
}

void Server::on_close(uint32_t slot) {
  if (slot == kListenSlot) return;  // a refused connection
  if (slot >= conns_.size() || !conns_[slot].used) return;
  conns_[slot].used = false;
  free_.push_back(slot);
  live_--;
}

void Server::maybe_pause(Conn& k) {
  if (o_.pause_ms == 0 || k.paused_once || k.bytes < o_.pause_after) return;
  k.paused_once = true;
  if (bufs_.holding()) return;
  bufs_.hold();
  pause_start_ = now_s();
  pause_end_ = pause_start_ + o_.pause_ms / 1000.0;
  if (!o_.quiet)
    std::fprintf(stderr, "zcrx_tcp: no refills for %u ms (a connection reached %llu bytes)\n",
                 o_.pause_ms, static_cast<unsigned long long>(k.bytes));
}

void Server::maybe_resume(double now) {
  if (!bufs_.holding() || now < pause_end_) return;
  t_.paused_ms += (now - pause_start_) * 1000;
  bufs_.release();
  if (!o_.quiet)
    std::fprintf(stderr, "zcrx_tcp: refilling again (%llu bytes came while paused)\n",
                 static_cast<unsigned long long>(t_.paused_bytes));
}

void Server::shut_down() {
  // Cancel what is armed, close every socket, and collect the CQEs that
  // say so (bounded), refilling every buffer they still bring.
  accepting_ = false;
  if (bufs_.holding()) maybe_resume(pause_end_);
  if (ring_.session_alive()) {
    if (accept_armed_)
      if (auto* sqe = get_sqe(ring_))
        zcrx::prep_cancel(sqe, tag(Kind::accept, kListenSlot), tag(Kind::cancel, 0));
    for (uint32_t i = 0; i < conns_.size(); i++) {
      Conn& k = conns_[i];
      if (!k.used || k.closing) continue;
      if (k.recv_armed)
        if (auto* sqe = get_sqe(ring_)) zcrx::prep_cancel(sqe, tag(Kind::recv, i), tag(Kind::cancel, i));
    }
    ring_.submit();
    const double give_up = now_s() + 2.0;
    while (now_s() < give_up) {
      ring_.for_each_cqe(ifq_, [&](const io_uring_cqe32& c) { on_cqe(c); });
      bufs_.flush();
      bool busy = accept_armed_;
      for (uint32_t i = 0; i < conns_.size(); i++) {
        const Conn& k = conns_[i];
        if (!k.used) continue;
        if (!k.recv_armed && !k.closing) end(i, -ECANCELED);  // submits its CLOSE
        busy = true;  // until the CLOSE completes
      }
      ring_.submit();
      if (!busy) break;
      int r = ring_.wait_cqe(1, wait_mode(o_), kWaitSliceNs / 10);
      if (r < 0 && r != -ETIME) break;
    }
    if (auto* sqe = get_sqe(ring_)) zcrx::prep_close(sqe, listener_, tag(Kind::close, kListenSlot));
    ring_.submit();
  }
  ring_.for_each_cqe(ifq_, [&](const io_uring_cqe32& c) { on_cqe(c); });
  bufs_.flush();
}

void Server::run() {
  const double start = now_s();
  progress_.start(start);
  if (!arm_accept()) {
    t_.fatal = -EBUSY;
    return;
  }
  ring_.submit();
  run_completions(ring_, ifq_, bufs_, o_, t_, progress_, live_, start,
                  [&](double now) {
                    maybe_resume(now);
                    return done();
                  },
                  [&](const io_uring_cqe32& c) { on_cqe(c); });
  shut_down();
}

}  // namespace

int run_server(zcrx::Ring& ring, zcrx::Ifq& ifq, const Options& o, Totals& t) {
  t.expected = o.connections;
  Server s(ring, ifq, o, t);
  if (int r = s.setup()) return r;
  s.run();
  return 0;
}

}  // namespace zcrx_tcp
