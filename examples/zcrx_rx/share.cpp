// SPDX-License-Identifier: MIT
#include "share.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zcrx/proto.h"

namespace zcrx_rx {
namespace {

int make_addr(const std::string& path, sockaddr_un* sa) {
  *sa = sockaddr_un{};
  sa->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa->sun_path)) return -ENAMETOOLONG;
  std::memcpy(sa->sun_path, path.c_str(), path.size() + 1);
  return 0;
}

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int ShareOffer::start(const std::string& path, int ring_fd, int export_fd, uint32_t zcrx_id) {
  sockaddr_un sa;
  if (int r = make_addr(path, &sa)) return r;
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  unlink(path.c_str());
  if (bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0 || listen(s, 16) < 0) {
    int e = errno;
    close(s);
    return -e;
  }
  listen_fd_ = s;
  path_ = path;
  msg_ = ShareMsg{kShareMagic, zcrx_id, 0, 0};
  unsigned n = 0;
  if (ring_fd >= 0) {
    fds_[n++] = ring_fd;
    msg_.fd_mask |= kShareRing;
  }
  if (export_fd >= 0) {
    fds_[n++] = export_fd;
    msg_.fd_mask |= kShareExport;
  }
  thread_ = std::thread([this] { serve(); });
  return 0;
}

void ShareOffer::serve() {
  const unsigned nfds = __builtin_popcount(msg_.fd_mask);
  // relaxed: a plain stop request; nothing else is published through it.
  while (!stop_.load(std::memory_order_relaxed)) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    if (zcrx::proto::send_msg(c, &msg_, sizeof(msg_), fds_, nfds) == 0)
      served_.fetch_add(1, std::memory_order_relaxed);
    close(c);
  }
}

void ShareOffer::stop() {
  if (listen_fd_ < 0) return;
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  listen_fd_ = -1;
  unlink(path_.c_str());
}

int take_share(const std::string& path, double timeout_s, Shared* out) {
  sockaddr_un sa;
  if (int r = make_addr(path, &sa)) return r;
  const double deadline = now_s() + timeout_s;
  int s = -1;
  for (;;) {
    s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    if (connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) break;
    int e = errno;
    close(s);
    // Not there yet (no file, or a file nobody listens on): retry.
    if ((e != ENOENT && e != ECONNREFUSED) || now_s() >= deadline) return -e;
    usleep(20000);
  }
  ShareMsg m{};
  zcrx::proto::RecvdMsg rm;
  int r = zcrx::proto::recv_msg(s, &m, sizeof(m), rm, 2);
  close(s);
  if (r < 0) return r;
  const unsigned want = __builtin_popcount(m.fd_mask);
  if (rm.len != sizeof(m) || rm.truncated || rm.ctrunc || m.magic != kShareMagic ||
      m.resv != 0 || (m.fd_mask & ~(kShareRing | kShareExport)) != 0 || rm.nfds != want) {
    zcrx::proto::close_fds(rm);
    return -EPROTO;
  }
  unsigned i = 0;
  out->ring_fd = (m.fd_mask & kShareRing) ? rm.fds[i++] : -1;
  out->export_fd = (m.fd_mask & kShareExport) ? rm.fds[i++] : -1;
  out->zcrx_id = m.zcrx_id;
  return 0;
}

}  // namespace zcrx_rx
