// SPDX-License-Identifier: MIT
#include "control_call.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace zcrxd {

ControlCall::ControlCall() : efd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ControlCall::~ControlCall() {
  if (efd_ >= 0) close(efd_);
}

void ControlCall::attach() {
  std::lock_guard<std::mutex> lk(mu_);
  serving_ = efd_ >= 0;
}

void ControlCall::detach() {
  std::lock_guard<std::mutex> lk(mu_);
  serving_ = false;
  if (pending_) {
    pending_ = nullptr;
    result_ = -ENOTCONN;
    done_ = true;
    done_cv_.notify_all();
  }
}

void ControlCall::serve() {
  uint64_t n;
  // Non-blocking: a stale wakeup (the caller timed out) reads nothing new.
  (void)!read(efd_, &n, sizeof(n));
  std::lock_guard<std::mutex> lk(mu_);
  if (!pending_ || !serving_) return;
  result_ = (*pending_)();
  pending_ = nullptr;
  done_ = true;
  done_cv_.notify_all();
}

int ControlCall::call(const std::function<int()>& fn, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lk(mu_);
  if (!turn_cv_.wait_until(lk, deadline, [this] { return !busy_; })) return -ETIMEDOUT;
  if (!serving_) return -ENOTCONN;
  busy_ = true;
  pending_ = &fn;
  done_ = false;
  const uint64_t one = 1;
  (void)!write(efd_, &one, sizeof(one));
  int rc;
  if (done_cv_.wait_until(lk, deadline, [this] { return done_; })) {
    rc = result_;
  } else {
    // Under mu_: serve() either finished (done_) or has not started, and
    // will find nothing to run.
    pending_ = nullptr;
    rc = -ETIMEDOUT;
  }
  busy_ = false;
  turn_cv_.notify_one();
  return rc;
}

}  // namespace zcrxd
