// SPDX-License-Identifier: MIT
#include "eventfd_signal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

namespace zcrxd {

namespace {

// Two SQEs: the NOP of this signal, and room for the next one should a
// completion still be unreaped (it never is: signal() reaps at once).
constexpr unsigned kEntries = 2;

bool is_eventfd(int fd) {
  char path[32], link[32];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, link, sizeof(link) - 1);
  if (n < 0) return false;
  link[n] = 0;
  return std::strcmp(link, "anon_inode:[eventfd]") == 0;
}

}  // namespace

int EventfdSignal::open(int efd, std::unique_ptr<EventfdSignal>* out) {
  if (efd < 0) return -EBADF;
  if (!is_eventfd(efd)) return -EINVAL;
  std::unique_ptr<EventfdSignal> s(new EventfdSignal);
  int rc = io_uring_queue_init(kEntries, &s->ring_, 0);
  if (rc < 0) return rc;
  rc = io_uring_register_eventfd(&s->ring_, efd);
  if (rc < 0) {
    io_uring_queue_exit(&s->ring_);
    return rc;
  }
  *out = std::move(s);
  return 0;
}

EventfdSignal::~EventfdSignal() { io_uring_queue_exit(&ring_); }

void EventfdSignal::signal() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe) {
    io_uring_prep_nop(sqe);
    // The NOP completes inline; posting its CQE signals the eventfd.
    (void)io_uring_submit(&ring_);
  }
  // Reap in userspace (no syscall) so the CQ never fills.
  unsigned head, seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) seen++;
  io_uring_cq_advance(&ring_, seen);
}

}  // namespace zcrxd
