// SPDX-License-Identifier: MIT
#include "tcp_peer_run.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "tcp_pattern.h"

namespace zcrx::tools {

namespace {

// Error lines printed before the rest are only counted.
constexpr uint64_t kMaxErrorLines = 20;
// Reads per readiness event before other connections get their turn.
constexpr int kReadsPerEvent = 16;
// --rate's bucket holds at most this much of the rate (and 64 KiB at
// least): enough to ride out the oversleeps of epoll_wait on a loaded
// two-core machine (with 2 ms a 1 Gbit/s sender reached only 0.73), small
// enough that the offered load stays smooth at the receiver's time scale.
constexpr double kBurstSeconds = 0.010;
// A paced sender wakes for at least this much credit (or the burst).
constexpr uint64_t kPacedChunk = 64 * 1024;

const char* mode_name(PeerMode m) {
  return m == PeerMode::kSend ? "send" : m == PeerMode::kRecv ? "recv" : "sink";
}

int tcp_socket(int mss) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0 && mss > 0) setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
  return fd;
}

}  // namespace

struct PeerRun::Conn {
  enum class Phase { kConnecting, kTransfer, kClosing };
  int fd = -1;
  Phase phase = Phase::kConnecting;
  bool sender = false;
  uint64_t index = UINT64_MAX;  // receivers learn it from the stream
  uint64_t off = 0;             // stream bytes sent or received
  uint8_t header[TCP_PATTERN_HEADER_BYTES] = {};
  unsigned header_n = 0;
  bool failed = false;
  bool paused = false;          // sender out of --rate credit, not armed
};

PeerRun::PeerRun(const PeerOptions& o)
    : o_(o), buf_(static_cast<size_t>(o.io_kb) * 1024) {
  if (o_.mode == PeerMode::kRecv) index_seen_.assign(o_.total(), false);
  if (o_.rate_gbit > 0) {
    const double bytes_per_s = o_.rate_gbit * 1e9 / 8;
    const auto burst = static_cast<uint64_t>(std::max(bytes_per_s * kBurstSeconds, 65536.0));
    pacer_ = Pacer(bytes_per_s, burst, now_us());
  }
}

PeerRun::~PeerRun() {
  for (auto& c : conns_)
    if (c->fd >= 0) close(c->fd);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epfd_ >= 0) close(epfd_);
}

uint64_t PeerRun::now_us() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void PeerRun::note_error(const std::string& what) {
  totals_.errors++;
  if (error_lines_++ < kMaxErrorLines) std::fprintf(stderr, "tcp_peer: %s\n", what.c_str());
}

void PeerRun::arm(Conn& c, uint32_t events, bool add) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  epoll_ctl(epfd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
}

bool PeerRun::open_listener() {
  listen_fd_ = tcp_socket(o_.mss);
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_fd_, reinterpret_cast<const sockaddr*>(&o_.addr), sizeof o_.addr) < 0 ||
      listen(listen_fd_, 4096) < 0) {
    std::fprintf(stderr, "tcp_peer: listen: %s\n", std::strerror(errno));
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the listener
  epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  char addr[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &o_.addr.sin_addr, addr, sizeof addr);
  // Scripts wait for this line before starting the other side.
  std::printf("LISTENING %s:%u\n", addr, ntohs(o_.addr.sin_port));
  std::fflush(stdout);
  return true;
}

PeerRun::Conn& PeerRun::new_conn() {
  Conn* c;
  if (free_.empty()) {
    conns_.push_back(std::make_unique<Conn>());
    c = conns_.back().get();
  } else {
    c = free_.back();
    free_.pop_back();
  }
  *c = Conn{};
  c->sender = o_.mode == PeerMode::kSend;
  if (c->sender) c->index = next_index_++;
  totals_.started++;
  active_++;
  return *c;
}

void PeerRun::start_connection() {
  Conn& c = new_conn();
  c.fd = tcp_socket(o_.mss);
  if (c.fd < 0) return fail(c, std::string("socket: ") + std::strerror(errno));
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&o_.addr), sizeof o_.addr) < 0 &&
      errno != EINPROGRESS)
    return fail(c, std::string("connect: ") + std::strerror(errno));
  arm(c, EPOLLOUT, true);
}

void PeerRun::start_more() {
  if (o_.role != PeerRole::kConnect) return;
  while (totals_.started < o_.total() && active_ < o_.conns) start_connection();
}

void PeerRun::accept_ready() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        note_error(std::string("accept: ") + std::strerror(errno));
      return;
    }
    Conn& c = new_conn();
    c.fd = fd;
    on_connected(c);
    arm(c, c.sender ? EPOLLOUT | EPOLLIN : EPOLLIN, true);
    if (totals_.started == o_.total()) {
      // Every connection asked for is here: later ones are refused.
      epoll_ctl(epfd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
      close(listen_fd_);
      listen_fd_ = -1;
      return;
    }
  }
}

void PeerRun::on_connected(Conn& c) {
  c.phase = Conn::Phase::kTransfer;
  if (totals_.first_up_us == 0) totals_.first_up_us = now_us();
}

void PeerRun::fail(Conn& c, const std::string& why) {
  char idx[32] = "?";
  if (c.index != UINT64_MAX) std::snprintf(idx, sizeof idx, "%" PRIu64, c.index);
  note_error("connection " + std::string(idx) + " at byte " + std::to_string(c.off) + ": " + why);
  finish(c, true);
}

void PeerRun::finish(Conn& c, bool failed) {
  if (c.fd >= 0) {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (getsockopt(c.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
      totals_.retransmits += ti.tcpi_total_retrans;
      if (len >= offsetof(tcp_info, tcpi_reord_seen) + sizeof ti.tcpi_reord_seen) {
        totals_.reord_seen += ti.tcpi_reord_seen;
        totals_.dsack_dups += ti.tcpi_dsack_dups;
      }
    }
    close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
  }
  if (!failed && !c.failed) totals_.completed++;
  // Bytes of the stream moved; what a receiver got beyond --bytes is an
  // error, not throughput.
  const bool bounded = o_.mode != PeerMode::kSink || o_.bytes_given;
  totals_.bytes += bounded ? std::min(c.off, o_.bytes) : c.off;
  totals_.last_done_us = now_us();
  active_--;
  free_.push_back(&c);
}

void PeerRun::pause(Conn& c) {
  // Not armed while out of credit: a writable socket would otherwise wake
  // epoll_wait in a loop. resume_paused() arms it again.
  c.paused = true;
  arm(c, 0, false);
  paused_.push_back(&c);
}

void PeerRun::resume_paused() {
  if (paused_.empty() || pacer_.allowance(now_us()) == 0) return;
  // In the order they ran out, so connections take turns at the credit.
  for (Conn* c : paused_) {
    if (c->fd < 0 || !c->paused) continue;  // ended (or reused) meanwhile
    c->paused = false;
    arm(*c, EPOLLOUT | EPOLLIN, false);
  }
  paused_.clear();
}

int PeerRun::pacing_timeout_ms() {
  if (paused_.empty()) return 1000;
  const uint64_t us = pacer_.wait_us(kPacedChunk, now_us());
  return static_cast<int>(std::clamp<uint64_t>((us + 999) / 1000, 1, 1000));
}

void PeerRun::on_event(Conn& c, uint32_t events) {
  if (c.paused) {
    // Only an error or hang-up is reported for an unarmed socket.
    if (events & (EPOLLERR | EPOLLHUP)) fail(c, "connection closed while paced");
    return;
  }
  if (c.phase == Conn::Phase::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return fail(c, std::string("connect: ") + std::strerror(err));
    if (!(events & EPOLLOUT)) return;
    on_connected(c);
    arm(c, c.sender ? EPOLLOUT | EPOLLIN : EPOLLIN, false);
  }
  if (c.sender && c.phase == Conn::Phase::kTransfer) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) send_ready(c);
    return;
  }
  if (c.sender && c.phase == Conn::Phase::kClosing) return await_close(c);
  receive_ready(c);
}

void PeerRun::send_ready(Conn& c) {
  while (c.off < o_.bytes) {
    // buf_ holds stream bytes [gen_off_, gen_off_ + gen_len_) of gen_index_:
    // a partial write resumes inside it without generating again.
    if (gen_index_ != c.index || c.off < gen_off_ || c.off >= gen_off_ + gen_len_) {
      gen_len_ = static_cast<size_t>(std::min<uint64_t>(buf_.size(), o_.bytes - c.off));
      gen_off_ = c.off;
      gen_index_ = c.index;
      tcp_pattern_fill(buf_.data(), gen_len_, c.index, gen_off_);
      if (c.index == 0 && o_.corrupt_at >= gen_off_ && o_.corrupt_at < gen_off_ + gen_len_)
        buf_[o_.corrupt_at - gen_off_] ^= 0x5a;
    }
    const size_t at = static_cast<size_t>(c.off - gen_off_);
    const uint64_t allowed = pacer_.allowance(now_us());
    if (allowed == 0) return pause(c);
    const size_t len = static_cast<size_t>(std::min<uint64_t>(gen_len_ - at, allowed));
    const ssize_t n = send(c.fd, buf_.data() + at, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail(c, std::string("send: ") + std::strerror(errno));
    }
    pacer_.spend(static_cast<uint64_t>(n));
    c.off += static_cast<uint64_t>(n);
  }
  // Everything written: half-close, then wait for the receiver's close,
  // which says it read it all (and TCP_INFO then counts every retransmit).
  shutdown(c.fd, SHUT_WR);
  c.phase = Conn::Phase::kClosing;
  arm(c, EPOLLIN, false);
}

void PeerRun::await_close(Conn& c) {
  uint8_t scratch[4096];
  for (;;) {
    const ssize_t n = recv(c.fd, scratch, sizeof scratch, 0);
    if (n == 0) return finish(c, false);
    if (n > 0) {
      if (!c.failed) note_error("connection " + std::to_string(c.index) + ": the receiver sent data");
      c.failed = true;
      continue;
    }
    if (errno == EAGAIN || errno == EINTR) return;
    return fail(c, std::string("waiting for the receiver's close: ") + std::strerror(errno));
  }
}

void PeerRun::learn_index(Conn& c) {
  c.index = tcp_pattern_conn_of(c.header);
  if (c.index >= o_.total()) {
    note_error("a stream names connection " + std::to_string(c.index) + ", beyond " +
               std::to_string(o_.total()));
    c.failed = true;
  } else if (index_seen_[c.index]) {
    note_error("two streams name connection " + std::to_string(c.index));
    c.failed = true;
  } else {
    index_seen_[c.index] = true;
  }
}

void PeerRun::consume(Conn& c, const uint8_t* p, size_t n) {
  if (o_.mode == PeerMode::kSink) {
    c.off += n;
    return;
  }
  // Past --bytes: counted as an error at EOF, not checked.
  const uint64_t room = c.off < o_.bytes ? o_.bytes - c.off : 0;
  size_t check = static_cast<size_t>(std::min<uint64_t>(n, room));
  while (c.header_n < TCP_PATTERN_HEADER_BYTES && check > 0) {
    c.header[c.header_n++] = *p++;
    c.off++;
    check--;
    n--;
    if (c.header_n == TCP_PATTERN_HEADER_BYTES) learn_index(c);
  }
  if (check > 0) totals_.bad_bytes += tcp_pattern_count_mismatches(p, check, c.index, c.off);
  c.off += n;
}

void PeerRun::receive_ready(Conn& c) {
  for (int i = 0; i < kReadsPerEvent; i++) {
    const ssize_t n = recv(c.fd, buf_.data(), buf_.size(), 0);
    if (n > 0) {
      const uint64_t bad_before = totals_.bad_bytes;
      consume(c, buf_.data(), static_cast<size_t>(n));
      if (totals_.bad_bytes != bad_before && !c.failed) {
        note_error("connection " + std::to_string(c.index) + ": bad bytes near stream offset " +
                   std::to_string(c.off - static_cast<uint64_t>(n)));
        c.failed = true;
      }
      continue;
    }
    if (n == 0) {
      const bool count_checked = o_.mode == PeerMode::kRecv || o_.bytes_given;
      if (count_checked && c.off != o_.bytes)
        return fail(c, "stream ended after " + std::to_string(c.off) + " bytes, expected " +
                           std::to_string(o_.bytes));
      return finish(c, false);
    }
    if (errno == EAGAIN || errno == EINTR) return;
    return fail(c, std::string("recv: ") + std::strerror(errno));
  }
}

void PeerRun::expire() {
  for (auto& c : conns_)
    if (c->fd >= 0) fail(*c, "timed out");
  const uint64_t missing = o_.total() - std::min(o_.total(), totals_.started);
  if (missing) {
    note_error(std::to_string(missing) + " connections never started (timed out)");
    totals_.errors += missing - 1;  // one error per connection
  }
}

int PeerRun::run() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (o_.role == PeerRole::kListen) {
    if (!open_listener()) return 1;
  } else {
    start_more();
  }
  const uint64_t deadline = now_us() + static_cast<uint64_t>(o_.timeout_s * 1e6);
  epoll_event evs[64];
  while (totals_.started < o_.total() || active_ > 0) {
    const uint64_t now = now_us();
    if (now >= deadline) {
      expire();
      break;
    }
    const int timeout_ms = static_cast<int>(
        std::min<uint64_t>((deadline - now) / 1000 + 1, static_cast<uint64_t>(pacing_timeout_ms())));
    const int n = epoll_wait(epfd_, evs, 64, timeout_ms);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == nullptr) {
        accept_ready();
        continue;
      }
      Conn& c = *static_cast<Conn*>(evs[i].data.ptr);
      if (c.fd >= 0) on_event(c, evs[i].events);
    }
    resume_paused();
    start_more();
  }
  std::printf("RESULT %s\n", result_json().c_str());
  std::fflush(stdout);
  const bool ok = totals_.errors == 0 && totals_.bad_bytes == 0 &&
                  totals_.completed == o_.total();
  return ok ? 0 : 1;
}

std::string PeerRun::result_json() const {
  const double elapsed =
      totals_.first_up_us && totals_.last_done_us > totals_.first_up_us
          ? static_cast<double>(totals_.last_done_us - totals_.first_up_us) / 1e6
          : 0.0;
  const double gbit = elapsed > 0 ? static_cast<double>(totals_.bytes) * 8 / elapsed / 1e9 : 0.0;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec * 1e-6; };
  char out[896];
  std::snprintf(out, sizeof out,
                "{\"role\":\"%s\",\"mode\":\"%s\",\"connections\":%" PRIu64
                ",\"expected\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"errors\":%" PRIu64
                ",\"bad_bytes\":%" PRIu64 ",\"elapsed_s\":%.3f,\"gbit_s\":%.3f"
                ",\"retransmits\":%" PRIu64 ",\"reord_seen\":%" PRIu64
                ",\"dsack_dups\":%" PRIu64 ",\"rate_gbit\":%.3f,\"cpu_user_s\":%.3f"
                ",\"cpu_sys_s\":%.3f}",
                o_.role == PeerRole::kListen ? "listen" : "connect", mode_name(o_.mode),
                totals_.completed, o_.total(), totals_.bytes, totals_.errors, totals_.bad_bytes,
                elapsed, gbit, totals_.retransmits, totals_.reord_seen, totals_.dsack_dups,
                o_.rate_gbit, secs(ru.ru_utime), secs(ru.ru_stime));
  return out;
}

}  // namespace zcrx::tools
