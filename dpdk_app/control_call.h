// SPDX-License-Identifier: MIT
// A call into the control thread from another thread (DPDK's telemetry
// threads): the caller posts a function and waits, with a timeout, for the
// control loop to run it between two of its own steps.
//
// Why not read the control state from the caller's thread: sessions, ifq
// entries and areas belong to the control thread, which changes them
// without locks; running the reader on that thread needs none either. The
// datapath is not involved at all (what the function reads of it are its
// relaxed counters). While the function runs it holds the call's mutex, and
// the caller waits on it, so whatever the function fills in for the caller
// (an rte_tel_data) is never written after the caller gave up on it.
//
// DPDK-free, so the unit and TSan builds test it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace zcrxd {

class ControlCall {
 public:
  /// Creates the eventfd the control loop polls. fd() < 0 when that
  /// failed (every call() then returns -ENOTCONN).
  ControlCall();
  ~ControlCall();
  ControlCall(const ControlCall&) = delete;
  ControlCall& operator=(const ControlCall&) = delete;

  /// [control] Readable (POLLIN) when a call waits to be served.
  int fd() const { return efd_; }

  /// [control] From now on calls are served (by serve()).
  void attach();
  /// [control] Calls are refused from now on (-ENOTCONN), including one
  /// posted and not yet served, whose caller returns at once.
  void detach();
  /// [control] Runs the waiting call, if any, and wakes its caller.
  void serve();

  /// [any thread but the control thread] Runs `fn` on the control thread
  /// and returns its result; -ETIMEDOUT when it did not run within
  /// `timeout` (including the wait for an earlier caller), -ENOTCONN when
  /// no control loop serves calls.
  int call(const std::function<int()>& fn, std::chrono::milliseconds timeout);

 private:
  int efd_ = -1;
  std::mutex mu_;  // guards everything below
  // Callers one at a time: each waits for its turn up to its timeout. (Not
  // a std::timed_mutex: its clocked lock escapes TSan's interception.)
  std::condition_variable turn_cv_;
  bool busy_ = false;
  std::condition_variable done_cv_;
  bool serving_ = false;
  const std::function<int()>* pending_ = nullptr;
  bool done_ = false;
  int result_ = 0;
};

}  // namespace zcrxd
