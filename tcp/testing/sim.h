// SPDX-License-Identifier: MIT
// Two TCP engines connected through a simulated wire (one listens, the
// other opens Params::conns connections to it at once), each behind a host
// that plays zcrxd's part for every connection: a send buffer whose content is generated from
// a seed (the bytes a consumer sent), a consumer that takes delivered
// pieces into a bounded number of completion slots and reaps them now and
// then (sometimes not for a long while: zero-window stalls), and fresh
// buffers for every received segment. The wire loses, duplicates,
// reorders and delays segments from a seeded generator, and carries the
// options through their wire format (write_options / parse_options).
//
// Checked on the way: every byte a consumer sees is the sender's byte at
// that stream offset, in order, once; every buffer comes back exactly
// once (delivered or released) within its original bytes; transmit asks
// only for bytes the host still holds; send_acked never goes back.
// Used by tests/tcp/test_random.cpp and bench/tcp. With verify_bytes off
// no payload byte is generated or copied (the benchmark measures the
// engines, not the simulation).
#pragma once

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "zcrx/tcp/engine.h"

namespace zcrx::tcp::sim {

struct Params {
  uint64_t seed = 1;
  Config tcp;                  // both engines
  double loss = 0;             // per segment
  double dup = 0;
  double reorder = 0;          // extra delay of 1..4 x delay
  uint32_t delay_us = 1000;    // one way
  uint32_t jitter_us = 0;
  uint32_t conns = 1;          // connections in parallel
  /// Stream sizes of connection 0: side 0 (listener), side 1 (connector);
  /// connection i sends bytes[side] >> i.
  uint64_t bytes[2] = {100000, 100000};
  uint32_t consumer_bytes = 256 * 1024;  // what a connection's consumer holds unreaped
  uint32_t cq_slots = 64;                 // pieces it takes unreaped
  uint32_t reap_every_us = 2000;
  double stall = 0;            // probability a reap starts a stall instead
  uint32_t stall_us = 5000000;
  bool verify_bytes = true;    // compare every byte (the benchmark skips it)
  uint64_t time_limit_us = 3600ull * 1000000;
  bool trace = false;          // print every segment and consumer event
};

struct Result {
  bool ok = false;
  std::string error;            // the first rule broken
  uint64_t sim_us = 0;          // simulated time to both ends
  uint64_t eof_us = 0;          // simulated time when the last EOF was seen
  uint64_t received[2] = {0, 0};  // by each side, all connections
  int ended[2] = {1, 1};        // Host::ended: 0 when every connection ended with 0
  uint64_t segments = 0, lost = 0, duplicated = 0, reordered = 0;
  uint64_t retransmits = 0, rto = 0, fast_rtx = 0, probes = 0, ooo = 0;
  uint64_t stalls = 0, refused_deliveries = 0;
  uint64_t rx_no_slot = 0, ooo_dropped = 0;  // both engines
};

/// Runs one connection both ways to its clean close.
Result run(const Params& p);

/// A seed's parameters as the randomized test draws them.
Params draw_params(uint64_t seed, bool long_mode);

/// The byte at `off` of stream `s` (generated content).
uint8_t stream_byte(uint64_t s, uint64_t off);
/// Bytes connection `conn` sends from `side` under `p`.
inline uint64_t stream_size(const Params& p, uint32_t conn, int side) {
  return p.bytes[side] >> conn;
}

}  // namespace zcrx::tcp::sim
