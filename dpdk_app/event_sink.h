// SPDX-License-Identifier: MIT
// The engine's CtxEvents for one consumer ring: a zcrx event becomes one
// CQE32 on that ring's CQ, posted through the ring's RingDp so that it has
// the same single producer (the datapath serving the ring) and the same
// pending/commit discipline as the RECV_ZC completions.
//
// Why this is safe on the datapath thread: only the master ring of an ifq
// receives its events, the engine calls on_event() from the datapath of
// the ifq's queue, and a ring with an entry on a queue is served by that
// queue's datapath alone (Control::check_ring_queue), so the caller is
// always the thread that owns the ring's CQ. The sink exists from
// create_ctx on, before the ring has a queue: until the ring registers an
// ifq it is nobody's master and the engine never calls it.
#pragma once

#include <cstdint>

#include "ring_dp.h"
#include "zcrx/core/engine.h"

namespace zcrxd {

class RingEvents final : public zcrx::core::CtxEvents {
 public:
  /// `ring` must outlive every call (the engine stops calling once the
  /// ring's ctx is terminated, after a datapath quiescent point).
  explicit RingEvents(RingDp& ring) : ring_(ring) {}

  /// [datapath] Queues the event CQE (user_data, res = type, flags 0,
  /// io_uring_zcrx_cqe zero); the iteration's flush publishes it and
  /// wakes the ring as for a RECV_ZC completion. False when the CQ is full
  /// (the engine then leaves the type armed).
  bool on_event(zcrx::core::Ifq& ifq, uint64_t user_data, uint32_t type) override;

 private:
  RingDp& ring_;
};

}  // namespace zcrxd
