// SPDX-License-Identifier: MIT
// Refill: drain an entry's RQ, validating every RQE as the kernel's
// io_parse_rqe does, plus the entry-ownership rule.
#include "internal.h"

namespace zcrx::core {
namespace {
constexpr uint32_t kReturnBatch = 32;
}  // namespace

uint32_t Ifq::refill(uint32_t budget) {
  Impl& im = *impl_;
  // seq_cst: a snapshot load (see QuiescentEpoch); a retired entry is not
  // refilled again.
  if (!im.live.load(std::memory_order_seq_cst)) return 0;
  Ifq::Impl& real = *im.real->impl_;
  Area& area = *real.area;
  Area::Impl& a = *area.impl();
  RqConsumer& rq = im.rq.consumer;

  // Re-read the consumer's tail on every call (one shared line per burst),
  // so a corrupt tail stops the RQ at once rather than after the entries
  // cached from an earlier look.
  const uint32_t ready = rq.available(~uint32_t{0});
  const uint32_t n = ready < budget ? ready : budget;
  if (rq.state() != RingState::ok) {
    if (!im.rq_corrupt_seen) {
      im.rq_corrupt_seen = true;
      im.rq_corrupt.add();
    }
    return 0;
  }

  uint32_t batch[kReturnBatch];
  uint32_t k = 0;
  uint32_t returned = 0;
  for (uint32_t i = 0; i < n; i++) {
    // One copy of the entry: the consumer may rewrite it while we look.
    const uapi::io_uring_zcrx_rqe rqe = rq.load(i);
    if ((rqe.off & uapi::kZcrxAreaMask) != a.token || rqe.__pad != 0) {
      im.rqe_bad_token.add();
      continue;
    }
    const uint64_t idx64 = uapi::area_offset_of(rqe.off) >> a.niov_shift;
    if (idx64 >= a.num_niovs) {
      im.rqe_bad_index.add();
      continue;
    }
    const uint32_t idx = static_cast<uint32_t>(idx64);
    std::atomic<uint32_t>& st = a.state[idx];
    // relaxed: see the niov state word comment in internal.h.
    const uint32_t s = st.load(std::memory_order_relaxed);
    if (niov_refs(s) == 0) {
      im.rqe_no_ref.add();
      continue;
    }
    if (niov_owner(s) != im.slot) {
      im.rqe_wrong_owner.add();
      continue;
    }
    st.store(s - 1, std::memory_order_relaxed);
    if (niov_refs(s) == 1) {
      batch[k++] = idx;
      if (k == kReturnBatch) {
        im.engine->sink.return_niovs(area, batch, k);
        returned += k;
        k = 0;
      }
    }
  }
  rq.advance(n);
  if (k != 0) {
    im.engine->sink.return_niovs(area, batch, k);
    returned += k;
  }
  im.refilled.add(returned);
  return returned;
}

}  // namespace zcrx::core
