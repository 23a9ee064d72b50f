// SPDX-License-Identifier: MIT
// What zcrx_tcp's server and client share: user_data tags, the clock, the
// wait mode, getting an SQE when the SQ is momentarily full, the totals
// and how they are reported.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>

#include "options.h"
#include "zcrx/client.h"

namespace zcrx_tcp {

/// user_data = kind << 48 | connection slot: a completion names its
/// request and its connection without any lookup.
enum class Kind : uint64_t { accept = 1, recv, connect, send, shutdown, close, cancel };

inline uint64_t tag(Kind k, uint32_t slot) { return (static_cast<uint64_t>(k) << 48) | slot; }
inline Kind kind_of(uint64_t user_data) { return static_cast<Kind>(user_data >> 48); }
inline uint32_t slot_of(uint64_t user_data) { return static_cast<uint32_t>(user_data); }

double now_s();

zcrx::WaitMode wait_mode(const Options& o);

/// A zeroed SQE, submitting what is queued and waiting (bounded: 1 s) for
/// zcrxd to make room when the SQ is full; nullptr if it never does.
zcrx::uapi::io_uring_sqe* get_sqe(zcrx::Ring& ring);

/// How one connection ended.
struct ConnEnd {
  uint32_t slot = 0;
  uint64_t stream = UINT64_MAX;  // index its first 8 bytes named (client: its own)
  uint32_t peer_ip = 0;
  uint16_t peer_port = 0;
  uint64_t bytes = 0;
  uint64_t bad_bytes = 0;
  int error = 0;                 // -errno that ended it, 0 for EOF / a clean close
  std::string problem;           // what was wrong, empty when nothing was
};

struct Totals {
  uint64_t expected = 0;        // connections to complete (0: any)
  uint64_t completed = 0;       // ended intact (every byte right, right count, no error)
  uint64_t ended = 0;           // ended in any way
  uint64_t bytes = 0;           // stream bytes moved
  uint64_t bad_bytes = 0;
  uint64_t errors = 0;          // connections that went wrong, plus failed requests
  uint64_t resets = 0;          // ended by -ECONNRESET
  uint64_t rearms = 0;          // RECV_ZC or ACCEPT armed again after ending
  uint64_t received = 0;        // buffers handed to us
  uint64_t refilled = 0;        // buffers handed back
  uint64_t refused = 0;         // server: accepted past --max-conns, closed at once
  uint64_t unexpected_bytes = 0;  // client: bytes the peer sent
  uint64_t bad_offsets = 0;     // CQE buffers outside our area (a zcrxd bug)
  double paused_ms = 0;
  uint64_t paused_bytes = 0;
  double first_s = 0, last_s = 0;  // first connection seen, last one ended
  int fatal = 0;                // -errno that stopped the run early
  bool timed_out = false;
  uint64_t outstanding() const { return received - refilled; }
  bool ok() const {
    return fatal == 0 && !timed_out && errors == 0 && bad_bytes == 0 && bad_offsets == 0 &&
           outstanding() == 0 && (expected == 0 || completed == expected);
  }
};

/// Records a connection's end in `t` and prints its CONN line when it went
/// wrong or `all` is set (at most 20 bad ones, then a count).
void record_end(Totals& t, const ConnEnd& e, bool all);

/// The progress line (stderr), at most once a second.
class Progress {
 public:
  explicit Progress(bool quiet) : quiet_(quiet) {}
  void start(double now) { start_ = last_ = now; }
  void tick(double now, const Totals& t, uint64_t live);

 private:
  bool quiet_;
  double start_ = 0, last_ = 0;
  uint64_t last_bytes_ = 0;
};

void print_result(const Options& o, const Totals& t);

/// Set by SIGINT/SIGTERM.
extern volatile sig_atomic_t g_stop;

}  // namespace zcrx_tcp
