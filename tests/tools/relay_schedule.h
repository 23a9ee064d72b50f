// SPDX-License-Identifier: MIT
// The order in which one direction of impair_relay sends frames: a delay
// line (every frame waits its verdict's delay, and never overtakes one
// received before it) and a hold for frames picked for reordering (they
// leave the line when due and go out once `reorder_frames` later frames
// went out, or `reorder_us` passed, whichever comes first). Pure: frames
// are slot numbers, time is what the caller passes (microseconds).
#pragma once

#include <cstdint>
#include <optional>

#include "fixed_fifo.h"
#include "impair.h"

namespace zcrx::tools {

/// What the schedule did, for the relay's counters.
struct ScheduleCounters {
  uint64_t reordered = 0;          // frames held back
  uint64_t reorder_timeouts = 0;   // of which released by reorder_us, not by frames
  uint64_t reorder_skipped = 0;    // picked, but the hold was full: sent in order
};

class DirectionSchedule {
 public:
  /// `capacity`: frames in the delay line; `hold_capacity`: frames held at
  /// once. reorder_frames/reorder_us: 0 means no such limit (not both).
  DirectionSchedule(uint32_t capacity, uint32_t hold_capacity, uint32_t reorder_frames,
                    uint32_t reorder_us);

  /// Queues `slot`, received at `now_us`, with its verdict (drop is the
  /// caller's business). False when the line is full.
  bool push(uint32_t slot, uint64_t now_us, const Verdict& v);

  /// The next frame to send at `now_us`, if any is due.
  std::optional<uint32_t> pop_due(uint64_t now_us);

  /// The earliest time at which pop_due may return a frame without another
  /// push (UINT64_MAX when nothing is queued; <= now when one is due).
  uint64_t next_event_us() const;

  /// Frames in the line and the hold.
  size_t queued() const { return line_.size() + hold_.size(); }

  const ScheduleCounters& counters() const { return counters_; }

 private:
  struct Timed {
    uint32_t slot;
    bool reorder;
    uint64_t due_us;
  };
  struct Held {
    uint32_t slot;
    uint64_t release_seq;   // sent_ at which it goes
    uint64_t deadline_us;
  };

  bool hold_ready(uint64_t now_us) const;

  FixedFifo<Timed> line_;
  FixedFifo<Held> hold_;
  uint32_t reorder_frames_;
  uint32_t reorder_us_;
  uint64_t sent_ = 0;          // frames pop_due returned
  ScheduleCounters counters_;
};

}  // namespace zcrx::tools
