// SPDX-License-Identifier: MIT
#include "buffers.h"

namespace zcrx_tcp {

void Buffers::give_back_slow(uint64_t off) {
  // The RQ is full only while zcrxd is behind draining it: publish what is
  // queued and let it catch up (bounded, so a stalled zcrxd cannot hang us;
  // a buffer given up on stays counted as outstanding).
  const double give_up = now_s() + 1.0;
  while (!ifq_.refill(off, ifq_.rx_buf_len())) {
    flush();
    if (ifq_.rq_state() != zcrx::RingState::ok || now_s() > give_up) return;
  }
}

void Buffers::release() {
  holding_ = false;
  for (uint64_t off : held_) give_back_slow(off);
  held_.clear();
  flush();
}

}  // namespace zcrx_tcp
