// SPDX-License-Identifier: MIT
// Giving RECV_ZC buffers back to zcrxd: refill each one, or hold them all
// while paused (--pause-after: zcrxd then runs out of buffers and must
// close the window) and refill them at resume.
#pragma once

#include <cstdint>
#include <vector>

#include "common.h"
#include "zcrx/client.h"

namespace zcrx_tcp {

class Buffers {
 public:
  Buffers(zcrx::Ifq& ifq, Totals& t) : ifq_(ifq), t_(t) {
    // Never more held than the area has buffers: no allocation later.
    held_.reserve(ifq.area_len() / ifq.rx_buf_len() + 1);
  }

  /// A data CQE's buffer (already bounds-checked by Ifq::data).
  void give_back(const zcrx::uapi::io_uring_cqe32& c) {
    if (holding_) [[unlikely]] {
      held_.push_back(c.zcqe.off);
      return;
    }
    if (!ifq_.refill(c.zcqe.off, static_cast<uint32_t>(c.cqe.res))) [[unlikely]]
      give_back_slow(c.zcqe.off);
  }
  void flush() {
    t_.refilled += ifq_.refills_queued();
    ifq_.flush_refills();
  }
  bool holding() const { return holding_; }
  void hold() { holding_ = true; }
  /// Refills everything held and stops holding.
  void release();

 private:
  void give_back_slow(uint64_t off);

  zcrx::Ifq& ifq_;
  Totals& t_;
  bool holding_ = false;
  std::vector<uint64_t> held_;
};

}  // namespace zcrx_tcp
