// SPDX-License-Identifier: MIT
// The fault loop's healthy master, in a process of its own: it registers
// queue 0 with a large area, receives one UDP port without pause, checks
// every payload byte, its size and that each sequence number comes once,
// and refills every buffer at once. The test talks to it over a socket:
// export its ifq (for importers), drain (wait until every sequence number
// sent so far arrived) and quit. Clones use its ring fd (ring_fd()).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace itest::fault {

/// What the master saw since it started (cumulative).
struct MasterReport {
  uint64_t packets = 0;       // data CQEs
  uint64_t bytes = 0;
  uint64_t distinct = 0;      // distinct sequence numbers
  uint64_t duplicates = 0;    // a sequence number seen again
  uint64_t bad_payloads = 0;  // a byte off the pattern
  uint64_t bad_sizes = 0;     // not the size the sender sends
  uint64_t bad_offsets = 0;   // a CQE outside the area
  uint64_t error_cqes = 0;    // res < 0, or a CQE without F_MORE
  int32_t last_error = 0;
  uint64_t refills_refused = 0;  // a full refill queue that did not drain in 2 s
  uint64_t max_seq = 0;       // highest sequence number seen
  uint64_t cq_overflow = 0;   // the CQ's overflow counter
  uint64_t missing = 0;       // drain: sequence numbers 1..last not seen
  uint64_t first_missing[4] = {0, 0, 0, 0};  // the lowest of them
  uint8_t ok = 0;             // the reply arrived (the process answered)
};

class Master {
 public:
  /// Forks the master; it registers queue 0 (`area_mb` MiB) and arms UDP
  /// `port`, every payload `size` bytes.
  Master(const std::string& socket, uint16_t port, uint32_t size, size_t area_mb);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  /// The zcrx id (>= 0) or the -errno of its setup.
  int id() const { return id_; }
  pid_t pid() const { return pid_; }
  /// Its ring fd, for clones (held here; a ring fd keeps no session alive).
  int ring_fd() const { return ring_fd_; }
  /// A new export fd of its ifq (the caller closes it), or -errno.
  int export_fd();
  /// Waits (up to `timeout_ms`) until every sequence number 1..last
  /// arrived and was refilled; the report says what is missing.
  MasterReport drain(uint64_t last, int timeout_ms);
  /// Closes its ring and ends; the final report.
  MasterReport quit();

 private:
  pid_t pid_ = -1;
  int cmd_ = -1;
  int ring_fd_ = -1;
  int id_ = -1;
};

}  // namespace itest::fault
