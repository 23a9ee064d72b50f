// SPDX-License-Identifier: MIT
// impair_relay's forwarding loop: two PacketRings, and per direction an
// Impairer, a DirectionSchedule, a SlotPool and counters. One thread: it
// drains both rings, sends what is due in bursts (sendmmsg), and sleeps in
// ppoll until a frame arrives or the next one is due.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "impair.h"
#include "packet_ring.h"
#include "relay_counters.h"
#include "relay_options.h"
#include "relay_schedule.h"
#include "slot_pool.h"

namespace zcrx::tools {

class Relay {
 public:
  static constexpr unsigned kBurst = 64;

  /// Opens both interfaces; nullptr (and *err) when one cannot be used.
  static std::unique_ptr<Relay> open(const RelayOptions& o, std::string* err);

  /// Forwards until `stop` is set (from a signal handler), printing
  /// STATS lines every --stats seconds; then prints FINAL.
  void run(const std::atomic<bool>& stop);

  /// Whether the kernel leaves outgoing frames out of the rings (else the
  /// relay skips them itself).
  bool kernel_ignores_outgoing() const {
    return ring_a_->ignores_outgoing() && ring_b_->ignores_outgoing();
  }

  /// `{"elapsed_s":...,"ab":{...},"ba":{...}}`.
  std::string counters_line(uint64_t now_us);

 private:
  struct Path {
    Path(const RelayOptions& o, unsigned dir, uint32_t slot_size);
    PacketRing* in = nullptr;
    PacketRing* out = nullptr;
    Impairer impairer;
    DirectionSchedule schedule;
    SlotPool pool;
    DirectionCounters counters;
    std::array<uint32_t, kBurst> pending{};  // popped, not yet sent
    unsigned pending_n = 0;
    std::array<mmsghdr, kBurst> msgs{};
    std::array<iovec, kBurst> iov{};
  };

  Relay(const RelayOptions& o, uint32_t slot_size);
  bool receive(Path& p, uint64_t now_us);
  void accept_frame(Path& p, const RxFrame& f, uint64_t now_us);
  std::optional<uint32_t> copy_in(Path& p, const RxFrame& f);
  bool transmit(Path& p, uint64_t now_us, bool* blocked);
  uint64_t next_wakeup_us(uint64_t now_us, bool blocked) const;

  RelayOptions opts_;
  std::unique_ptr<PacketRing> ring_a_;
  std::unique_ptr<PacketRing> ring_b_;
  std::array<std::unique_ptr<Path>, 2> paths_;
  uint64_t start_us_ = 0;
  uint64_t next_stats_us_ = UINT64_MAX;
};

/// CLOCK_MONOTONIC in microseconds.
uint64_t monotonic_us();

}  // namespace zcrx::tools
