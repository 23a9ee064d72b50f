// SPDX-License-Identifier: MIT
#include "relay_schedule.h"

#include <algorithm>

namespace zcrx::tools {

DirectionSchedule::DirectionSchedule(uint32_t capacity, uint32_t hold_capacity,
                                     uint32_t reorder_frames, uint32_t reorder_us)
    : line_(capacity), hold_(hold_capacity), reorder_frames_(reorder_frames),
      reorder_us_(reorder_us) {}

bool DirectionSchedule::push(uint32_t slot, uint64_t now_us, const Verdict& v) {
  // The line is FIFO: a frame whose jitter drew a shorter delay than the
  // one ahead of it waits behind that one, so only an explicit reorder
  // changes the order.
  return line_.push(Timed{slot, v.reorder, now_us + v.delay_us});
}

bool DirectionSchedule::hold_ready(uint64_t now_us) const {
  if (hold_.empty()) return false;
  const Held& h = hold_.front();
  return sent_ >= h.release_seq || now_us >= h.deadline_us;
}

std::optional<uint32_t> DirectionSchedule::pop_due(uint64_t now_us) {
  for (;;) {
    if (hold_ready(now_us)) {
      const Held h = hold_.front();
      hold_.pop();
      if (sent_ < h.release_seq) counters_.reorder_timeouts++;
      sent_++;
      return h.slot;
    }
    if (line_.empty() || line_.front().due_us > now_us) return std::nullopt;
    const Timed t = line_.front();
    line_.pop();
    if (t.reorder) {
      const Held h{t.slot,
                   reorder_frames_ ? sent_ + reorder_frames_ : UINT64_MAX,
                   reorder_us_ ? now_us + reorder_us_ : UINT64_MAX};
      if (hold_.push(h)) {
        counters_.reordered++;
        continue;  // the frames behind it go first
      }
      counters_.reorder_skipped++;
    }
    sent_++;
    return t.slot;
  }
}

uint64_t DirectionSchedule::next_event_us() const {
  uint64_t next = UINT64_MAX;
  if (!line_.empty()) next = line_.front().due_us;
  if (!hold_.empty()) {
    const Held& h = hold_.front();
    // Released by count only through pops, which need a due line frame.
    if (sent_ >= h.release_seq) return 0;
    next = std::min(next, h.deadline_us);
  }
  return next;
}

}  // namespace zcrx::tools
