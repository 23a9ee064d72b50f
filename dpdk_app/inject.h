// SPDX-License-Identifier: MIT
// --inject: a traffic source for loopback ports such as net_ring (what is
// transmitted comes back on the RX queue). A thread of its own copies the
// frames of a pcap into mbufs of a private pool and rte_eth_tx_burst()s
// them to one TX queue of the port, `loops` times (0: until stopped).
//
// It sends no faster than the frames are taken: when the pool is empty
// (the frames sent are still in the ring or the datapath) or the TX ring
// is full, it waits and retries the same frames; a frame is never dropped
// by the injector. It transmits only between go() and pause(), which
// control calls as it publishes the datapaths' snapshots: the injector
// runs while some served queue is polled and is parked (no TX burst in
// flight) before the port stops for a rebind or the last queue closes.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "pcap_file.h"

struct rte_mempool;

namespace zcrxd {

struct InjectConfig {
  uint16_t port = 0;
  uint16_t tx_queue = 0;
  std::string path;
  uint32_t loops = 1;  // 0: forever
  int socket = 0;
};

class Injector {
 public:
  Injector() = default;
  ~Injector();
  Injector(const Injector&) = delete;
  Injector& operator=(const Injector&) = delete;

  /// Reads the pcap and creates the private pool (frames up to the pool's
  /// data room; larger ones are refused here). 0, or -errno after printing
  /// the reason (read_pcap's errors; -ENOMEM: no pool).
  int open(const InjectConfig& cfg);
  /// Starts the thread; it waits for go() or stop().
  void start();
  /// [control] Begins or resumes transmitting (idempotent).
  void go() { go_.store(true, std::memory_order_seq_cst); }  // seq_cst: see pause()
  /// [control] Stops transmitting and returns once the thread is parked
  /// (or has ended): no rte_eth_tx_burst() runs until the next go().
  void pause();
  /// Ends the thread and returns once it has; safe to call twice.
  void stop();

  /// Frames the port accepted so far.
  uint64_t injected() const { return injected_.load(std::memory_order_relaxed); }
  /// Waits for a free mbuf or TX descriptor (back-pressure, not loss).
  uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }
  /// Complete passes through the file.
  uint64_t loops_done() const { return loops_done_.load(std::memory_order_relaxed); }
  /// Frames in the file.
  size_t frames() const { return pcap_.size(); }
  bool active() const { return thread_.joinable(); }

 private:
  void run();
  /// One pass through the file; false when stopped.
  bool pass();
  /// Sends frames [first, first + n) of the file; false when stopped.
  bool send(size_t first, size_t n);
  /// Parks while paused; false when stopped.
  bool wait_for_go();

  InjectConfig cfg_;
  PcapFrames pcap_;
  rte_mempool* pool_ = nullptr;
  std::thread thread_;
  std::atomic<bool> go_{false};
  std::atomic<bool> stop_{false};
  // True while the thread is parked outside any TX burst (or has ended).
  std::atomic<bool> parked_{true};
  // Written by the injector thread, read for reports: relaxed.
  std::atomic<uint64_t> injected_{0};
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> loops_done_{0};
};

}  // namespace zcrxd
