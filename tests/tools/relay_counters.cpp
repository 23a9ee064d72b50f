// SPDX-License-Identifier: MIT
#include "relay_counters.h"

#include <cinttypes>
#include <cstdio>

namespace zcrx::tools {

std::string counters_json(const DirectionCounters& c, const ScheduleCounters& s,
                          uint64_t queued) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "{\"rx\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"forwarded\":%" PRIu64
                ",\"forwarded_bytes\":%" PRIu64 ",\"dropped\":%" PRIu64
                ",\"reordered\":%" PRIu64 ",\"reorder_timeouts\":%" PRIu64
                ",\"reorder_skipped\":%" PRIu64 ",\"duplicated\":%" PRIu64
                ",\"spared\":%" PRIu64 ",\"oversize\":%" PRIu64 ",\"queue_full\":%" PRIu64
                ",\"tx_errors\":%" PRIu64 ",\"ring_drops\":%" PRIu64
                ",\"csum_completed\":%" PRIu64 ",\"outgoing_skipped\":%" PRIu64
                ",\"queued\":%" PRIu64 "}",
                c.rx, c.rx_bytes, c.forwarded, c.forwarded_bytes, c.dropped, s.reordered,
                s.reorder_timeouts, s.reorder_skipped, c.duplicated, c.spared, c.oversize,
                c.queue_full, c.tx_errors, c.ring_drops, c.csum_completed, c.outgoing_skipped,
                queued);
  return buf;
}

}  // namespace zcrx::tools
