// SPDX-License-Identifier: MIT
#include "fault_master.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include "consumer.h"
#include "zcrx/client.h"
#include "zcrx/pattern.h"
#include "zcrx/proto.h"

namespace itest::fault {

namespace {

namespace proto = zcrx::proto;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kUserData = 7;
constexpr uint64_t kArmedNop = 8;
constexpr uint64_t kMaxSeq = uint64_t{1} << 28;  // a seen-bitmap of 256 MiB at most

struct Cmd {
  char op;  // 'X' export, 'D' drain, 'Q' quit
  uint64_t arg;
  int32_t timeout_ms;
};

class MasterLoop {
 public:
  MasterLoop(int cmd, uint32_t size) : cmd_(cmd), size_(size) {}
  int set_up(const std::string& socket, uint16_t port, size_t area_mb);
  [[noreturn]] void run();
  int ring_fd() const { return ring_.ring_fd(); }

 private:
  void reap();
  void take(const zcrx::uapi::io_uring_cqe32& c);
  void refill(const zcrx::uapi::io_uring_cqe32& c);
  // False when the test closed its end.
  bool serve();
  void finish_drain();

  int cmd_;
  uint32_t size_;
  zcrx::Ring ring_;
  zcrx::Ifq* ifq_ = nullptr;
  int id_ = -1;
  MasterReport rep_;
  std::vector<uint8_t> seen_;
  bool draining_ = false;
  uint64_t drain_last_ = 0;
  Clock::time_point drain_end_;
};

int MasterLoop::set_up(const std::string& socket, uint16_t port, size_t area_mb) {
  id_ = setup_master(ring_, socket.c_str(), &ifq_, 16384, area_mb, 0);
  if (id_ < 0) return id_;
  if (int rc = ring_.enable_eventfd()) return rc;
  if (int rc = arm_udp(ring_, static_cast<uint32_t>(id_), port, kUserData); rc < 0) return rc;
  // Armed before the sender starts: a datagram earlier would find no
  // request, and be dropped.
  if (int rc = wait_sq_taken(ring_, kArmedNop, 10000,
                             [&](const zcrx::uapi::io_uring_cqe32& c) { take(c); }))
    return rc;
  return id_;
}

void MasterLoop::refill(const zcrx::uapi::io_uring_cqe32& c) {
  // A full refill queue drains as zcrxd polls it: publish and retry.
  const auto give_up = Clock::now() + std::chrono::seconds(2);
  while (!ifq_->refill(c)) {
    ifq_->flush_refills();
    if (Clock::now() > give_up) {
      rep_.refills_refused++;  // the buffer stays out
      return;
    }
  }
}

void MasterLoop::take(const zcrx::uapi::io_uring_cqe32& c) {
  if (c.cqe.user_data != kUserData) return;
  if (c.cqe.res < 0 || !(c.cqe.flags & zcrx::uapi::kCqeFMore)) {
    rep_.error_cqes++;
    rep_.last_error = c.cqe.res;
  }
  if (c.cqe.res <= 0) return;
  const uint8_t* p = ifq_->data(c);
  if (!p) {
    rep_.bad_offsets++;
    return;
  }
  const size_t len = static_cast<size_t>(c.cqe.res);
  rep_.packets++;
  rep_.bytes += len;
  if (len != size_) rep_.bad_sizes++;
  if (zcrx::pattern::first_mismatch(p, len) != len) rep_.bad_payloads++;
  const uint64_t seq = zcrx::pattern::seq_of(p, len);
  if (seq > rep_.max_seq) rep_.max_seq = seq;
  if (seq > 0 && seq < kMaxSeq) {
    if (seq >= seen_.size()) seen_.resize(seq + seq / 2 + 4096, 0);
    if (seen_[seq]) rep_.duplicates++;
    else rep_.distinct++;
    seen_[seq] = 1;
  }
  refill(c);
}

void MasterLoop::reap() {
  ring_.wait_cqe(1, zcrx::WaitMode::adaptive, 1'000'000);
  unsigned n = 0;
  ring_.for_each_cqe(*ifq_, [&](const zcrx::uapi::io_uring_cqe32& c) {
    take(c);
    if (++n % 256 == 0) ifq_->flush_refills();
  });
  ifq_->flush_refills();
}

void MasterLoop::finish_drain() {
  if (!draining_) return;
  const bool all = rep_.distinct >= drain_last_;
  if (!all && Clock::now() < drain_end_) return;
  rep_.missing = rep_.distinct >= drain_last_ ? 0 : drain_last_ - rep_.distinct;
  size_t k = 0;
  for (uint64_t s = 1; s <= drain_last_ && k < 4; s++)
    if (s >= seen_.size() || !seen_[s]) rep_.first_missing[k++] = s;
  rep_.cq_overflow = ring_.cq_overflow();
  rep_.ok = 1;
  proto::send_msg(cmd_, &rep_, sizeof(rep_), nullptr, 0);
  draining_ = false;
}

bool MasterLoop::serve() {
  Cmd c{};
  proto::RecvdMsg m;
  int rc = proto::recv_msg(cmd_, &c, sizeof(c), m, 0, MSG_DONTWAIT);
  if (rc == -EAGAIN) return true;
  if (rc < 0 || m.len == 0) return false;
  if (c.op == 'X') {
    int32_t exp = ring_.export_ifq(static_cast<uint32_t>(id_));
    int fd = exp;
    proto::send_msg(cmd_, &exp, sizeof(exp), &fd, exp >= 0 ? 1 : 0);
    if (exp >= 0) close(exp);
  } else if (c.op == 'D') {
    draining_ = true;
    drain_last_ = c.arg;
    drain_end_ = Clock::now() + std::chrono::milliseconds(c.timeout_ms);
  } else if (c.op == 'Q') {
    rep_.cq_overflow = ring_.cq_overflow();
    rep_.ok = 1;
    proto::send_msg(cmd_, &rep_, sizeof(rep_), nullptr, 0);
    return false;
  }
  return true;
}

void MasterLoop::run() {
  while (serve()) {
    reap();
    finish_drain();
  }
  _exit(0);  // the ring closes with the process
}

// Waits up to `ms` for a message on `fd`; 0 or -errno (-ETIME).
int recv_within(int fd, void* buf, size_t len, proto::RecvdMsg& m, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, ms) != 1) return -ETIME;
  int rc = proto::recv_msg(fd, buf, len, m);
  if (rc == 0 && m.len != len) {
    proto::close_fds(m);
    return -EPROTO;
  }
  return rc;
}

}  // namespace

Master::Master(const std::string& socket, uint16_t port, uint32_t size, size_t area_mb) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) return;
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(sv[0]);
    MasterLoop loop(sv[1], size);
    const int32_t id = loop.set_up(socket, port, area_mb);
    const int fd = loop.ring_fd();
    proto::send_msg(sv[1], &id, sizeof(id), &fd, id >= 0 ? 1 : 0);
    if (id < 0) _exit(1);
    loop.run();
  }
  close(sv[1]);
  if (pid_ < 0) {
    close(sv[0]);
    return;
  }
  cmd_ = sv[0];
  int32_t id = -ETIME;
  proto::RecvdMsg m;
  if (recv_within(cmd_, &id, sizeof(id), m, 60000) == 0) {
    id_ = id;
    if (m.nfds == 1) ring_fd_ = m.fds[0];
  }
  if (id_ >= 0 && ring_fd_ < 0) id_ = -EPROTO;
}

Master::~Master() {
  if (ring_fd_ >= 0) close(ring_fd_);
  if (pid_ <= 0) return;
  close(cmd_);  // EOF: the master ends
  int st = 0;
  waitpid(pid_, &st, 0);
}

int Master::export_fd() {
  Cmd c{'X', 0, 0};
  if (proto::send_msg(cmd_, &c, sizeof(c), nullptr, 0)) return -EPIPE;
  int32_t rc = -ETIME;
  proto::RecvdMsg m;
  if (int e = recv_within(cmd_, &rc, sizeof(rc), m, 10000)) return e;
  if (rc >= 0 && m.nfds != 1) rc = -EPROTO;
  if (rc < 0) {
    proto::close_fds(m);
    return rc;
  }
  return m.fds[0];
}

MasterReport Master::drain(uint64_t last, int timeout_ms) {
  MasterReport r;
  Cmd c{'D', last, timeout_ms};
  if (proto::send_msg(cmd_, &c, sizeof(c), nullptr, 0)) return r;
  proto::RecvdMsg m;
  if (recv_within(cmd_, &r, sizeof(r), m, timeout_ms + 10000)) r.ok = 0;
  return r;
}

MasterReport Master::quit() {
  MasterReport r;
  Cmd c{'Q', 0, 0};
  proto::RecvdMsg m;
  if (proto::send_msg(cmd_, &c, sizeof(c), nullptr, 0) ||
      recv_within(cmd_, &r, sizeof(r), m, 10000))
    r.ok = 0;
  close(cmd_);
  int st = 0;
  waitpid(pid_, &st, 0);
  pid_ = -1;
  return r;
}

}  // namespace itest::fault
