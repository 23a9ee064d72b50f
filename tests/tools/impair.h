// SPDX-License-Identifier: MIT
// What impair_relay does to each frame of one direction: a pure, seeded
// decision (drop, duplicate, hold back for reordering, delay), so a seed
// and a frame sequence give the same impairments on every run and host.
#pragma once

#include <cstdint>

#include "prng.h"

namespace zcrx::tools {

/// Impairments of one direction. Probabilities are in [0, 1].
struct ImpairConfig {
  double loss = 0;          // drop the frame
  double duplicate = 0;     // send it twice, back to back
  double reorder = 0;       // hold it back (see reorder_frames/us)
  uint32_t reorder_frames = 3;   // ...until this many later frames went out (0: no limit)
  uint32_t reorder_us = 10000;   // ...or this long passed (0: no limit)
  uint32_t delay_us = 0;    // every frame waits this long...
  uint32_t jitter_us = 0;   // ...plus or minus up to this (never below 0)

  /// Whether any impairment is configured.
  bool any() const {
    return loss > 0 || duplicate > 0 || reorder > 0 || delay_us > 0 || jitter_us > 0;
  }
};

/// The decision for one frame.
struct Verdict {
  bool drop = false;
  bool duplicate = false;
  bool reorder = false;
  uint32_t delay_us = 0;
};

/// Decides frame after frame for one direction. Draws from the generator
/// only for impairments that are configured, in a fixed order (loss, then
/// for a frame not dropped duplicate, reorder, jitter): the verdicts are a
/// function of (config, seed, stream, frame number) alone.
class Impairer {
 public:
  /// `stream` separates the directions: the same seed gives each its own
  /// sequence.
  Impairer(const ImpairConfig& cfg, uint64_t seed, uint64_t stream);

  Verdict decide();

  const ImpairConfig& config() const { return cfg_; }

 private:
  ImpairConfig cfg_;
  Prng prng_;
};

/// A frame's verdict when impairments are spared (ARP): the direction's
/// fixed delay only, so it keeps its place among the frames around it.
inline Verdict spared_verdict(const ImpairConfig& cfg) {
  Verdict v;
  v.delay_us = cfg.delay_us;
  return v;
}

}  // namespace zcrx::tools
