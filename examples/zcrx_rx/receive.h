// SPDX-License-Identifier: MIT
// zcrx_rx's receive loop: one multishot RECV_ZC, every payload verified
// (a datagram that arrives in several CQEs piece by piece, up to the CQE
// that says it ends), every buffer refilled.
#pragma once

#include <csignal>
#include <cstdint>

#include "latency.h"
#include "options.h"
#include "zcrx/client.h"

namespace zcrx_rx {

/// user_data of zcrx event CQEs (--events); the RECV_ZC request and its
/// cancel use 1 and 2.
inline constexpr uint64_t kEventTag = 3;

struct Totals {
  uint64_t packets = 0;       // data CQEs with a valid buffer
  uint64_t datagrams = 0;     // CQEs that end a datagram (frame, raw flow)
  uint64_t bytes = 0;
  uint64_t bad_payloads = 0;  // datagrams with a byte off the pattern
  uint64_t bad_lengths = 0;   // --datagram-size: datagrams of another length
  uint64_t unchecked = 0;     // raw flow: a CQE that is not a whole UDP datagram
  uint64_t partial = 0;       // CQEs of a datagram whose end never came
  uint64_t cqe_errors = 0;    // res < 0 (other than our own cancel)
  uint64_t bad_offsets = 0;   // off outside our area: zcrxd bug, never refilled
  uint64_t received = 0;      // buffers handed to us
  uint64_t refilled = 0;      // buffers handed back (published RQEs)
  uint64_t rearms = 0;        // the request ended and was armed again
  uint64_t touched = 0;       // --touch: xor of every first and last byte read
  // --events
  uint64_t alloc_fail_events = 0;  // ZCRX_EVENT_ALLOC_FAIL CQEs
  uint64_t copy_events = 0;        // ZCRX_EVENT_COPY CQEs
  uint64_t event_arm_errors = 0;   // ZCRX_CTRL_ARM_EVENT that failed
  double elapsed_s = 0;
  bool finished = false;      // len-limited request ended with its final CQE
  int fatal = 0;              // -errno that stopped the loop early, or 0
  uint64_t outstanding() const { return received - refilled; }
};

/// Receives on `flow` through `ifq` until `stop` is set, --count datagrams,
/// --duration seconds or (with --len) the final CQE; then cancels the
/// request, drains, and refills everything it holds.
void receive(zcrx::Ring& ring, zcrx::Ifq& ifq, int flow, const Options& o,
             const volatile sig_atomic_t& stop, Latency* lat, Totals& t);

}  // namespace zcrx_rx
