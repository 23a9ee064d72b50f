// SPDX-License-Identifier: MIT
// impair_relay's counters for one direction and their JSON line. When the
// relay is idle they balance:
//   forwarded + tx_errors + queued
//     == rx - dropped - oversize - queue_full + duplicated
#pragma once

#include <cstdint>
#include <string>

#include "relay_schedule.h"

namespace zcrx::tools {

struct DirectionCounters {
  uint64_t rx = 0;                // frames received (outgoing ones excluded)
  uint64_t rx_bytes = 0;
  uint64_t forwarded = 0;         // frames sent, duplicates included
  uint64_t forwarded_bytes = 0;
  uint64_t dropped = 0;           // by --loss
  uint64_t duplicated = 0;        // extra copies queued by --dup
  uint64_t spared = 0;            // ARP frames that passed unimpaired
  uint64_t oversize = 0;          // truncated in the ring, or larger than a slot
  uint64_t queue_full = 0;        // no slot or no room in the delay line
  uint64_t tx_errors = 0;         // sendmmsg refused the frame
  uint64_t ring_drops = 0;        // the kernel found the receive ring full
  uint64_t csum_completed = 0;    // arrived with checksum left to offload; completed
  uint64_t outgoing_skipped = 0;  // PACKET_OUTGOING frames seen (kernel without IGNORE_OUTGOING)
};

/// `{"rx":...,"forwarded":...,...}` for one direction; `queued` is what
/// its schedule holds now.
std::string counters_json(const DirectionCounters& c, const ScheduleCounters& s, uint64_t queued);

}  // namespace zcrx::tools
