// SPDX-License-Identifier: MIT
// Signals a consumer's eventfd the way the kernel does (eventfd_signal):
// the count goes up by one, saturating, and the caller never blocks.
//
// Why not write(2): the eventfd's file description is shared with the
// consumer, which can clear O_NONBLOCK on it and raise the count to
// 0xfffffffffffffffe; the next write(2) of 1 would then block the datapath
// for as long as the consumer likes. A private kernel io_uring with the
// eventfd registered (IORING_REGISTER_EVENTFD) signals it from inside the
// kernel when a CQE is posted: submitting one NOP is one io_uring_enter()
// that cannot block, whatever the consumer did to its descriptor.
#pragma once

#include <liburing.h>

#include <memory>

namespace zcrxd {

class EventfdSignal {
 public:
  /// Registers `efd` (not taken over: the caller keeps and closes it) with
  /// a new private io_uring. Returns 0, -EINVAL when `efd` is not an
  /// eventfd, or the errno of io_uring_queue_init (e.g. -EPERM when
  /// io_uring is disabled, -EMFILE, -ENOMEM). [control]
  static int open(int efd, std::unique_ptr<EventfdSignal>* out);
  ~EventfdSignal();
  EventfdSignal(const EventfdSignal&) = delete;
  EventfdSignal& operator=(const EventfdSignal&) = delete;

  /// Adds one to the eventfd's count (saturating) and wakes its waiters.
  /// One syscall; never blocks. [the one datapath serving the ring]
  void signal();

 private:
  EventfdSignal() = default;
  io_uring ring_{};
};

}  // namespace zcrxd
