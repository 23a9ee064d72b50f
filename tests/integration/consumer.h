// SPDX-License-Identifier: MIT
// A verifying consumer for the integration tests, on libzcrx: receives on
// one RECV_ZC, checks every payload byte against zcrx/pattern.h, records
// each sequence number and refills every buffer.
#pragma once

#include <cstdint>
#include <vector>

#include "zcrx/client.h"

namespace itest {

struct RxResult {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t bad_payloads = 0;  // a byte off the pattern
  uint64_t bad_offsets = 0;   // a CQE whose off/res lies outside the area
  uint64_t errors = 0;        // CQEs with res < 0 (last one in last_error)
  int32_t last_error = 0;
  bool ended = false;         // a CQE without F_MORE arrived
  int32_t end_res = 0;
  std::vector<uint64_t> seqs;
  std::vector<int32_t> sizes;
};

/// Receives completions of request `user_data` until `want` packets, the
/// request ends, or `timeout_ms` passes. With `refill` every buffer goes
/// back at once; without, buffers stay held (as a stuck consumer's).
RxResult receive(zcrx::Ring& ring, zcrx::Ifq* ifq, uint64_t user_data, uint64_t want,
                 int timeout_ms, bool refill = true);

/// Connects, creates a ring (sq 64, cq `cq`), registers an ifq on port 0
/// queue 0 with an area of `area_mb` MiB. Returns the zcrx id or -errno.
int setup_master(zcrx::Ring& ring, const char* socket, zcrx::Ifq** ifq,
                 uint32_t cq = 4096, size_t area_mb = 16);

/// Opens a UDP port flow and arms a multishot RECV_ZC (len 0 = unlimited)
/// with `user_data`. Returns the flow handle or -errno.
int arm_udp(zcrx::Ring& ring, uint32_t zcrx_id, uint16_t port, uint64_t user_data,
            uint32_t len = 0);

}  // namespace itest
