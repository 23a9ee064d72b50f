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

  // Hoisted: the niov state stores below may alias any memory as far as
  // the compiler knows, which would reload these for every RQE.
  const uint64_t token = a.token;
  const uint32_t shift = a.niov_shift;
  const uint32_t num_niovs = a.num_niovs;
  const uint32_t slot = im.slot;
  std::atomic<uint32_t>* const state = a.state.get();
  BufferSink& sink = im.engine->sink;

  uint32_t batch[kReturnBatch];
  uint32_t k = 0;
  uint32_t returned = 0;
  uint32_t bad_token = 0, bad_index = 0, no_ref = 0, wrong_owner = 0;
  uint32_t left = n;
  while (left != 0) {
    // Copies of the entries: the consumer may rewrite the ring while we
    // look, so each is read once and the copy validated.
    uapi::io_uring_zcrx_rqe rqes[kReturnBatch];
    const uint32_t chunk = rq.pop_burst(rqes, left < kReturnBatch ? left : kReturnBatch);
    if (chunk == 0) break;
    left -= chunk;
    for (uint32_t i = 0; i < chunk; i++) {
      const uapi::io_uring_zcrx_rqe& rqe = rqes[i];
      if ((rqe.off & uapi::kZcrxAreaMask) != token || rqe.__pad != 0) {
        bad_token++;
        continue;
      }
      const uint64_t idx64 = uapi::area_offset_of(rqe.off) >> shift;
      if (idx64 >= num_niovs) {
        bad_index++;
        continue;
      }
      const uint32_t idx = static_cast<uint32_t>(idx64);
      // relaxed: see the niov state word comment in internal.h.
      const uint32_t s = state[idx].load(std::memory_order_relaxed);
      if (niov_refs(s) == 0) {
        no_ref++;
        continue;
      }
      if (niov_owner(s) != slot) {
        wrong_owner++;
        continue;
      }
      state[idx].store(s - 1, std::memory_order_relaxed);
      if (niov_refs(s) == 1) {
        batch[k++] = idx;
        if (k == kReturnBatch) {
          sink.return_niovs(area, batch, k);
          returned += k;
          k = 0;
        }
      }
    }
  }
  if (k != 0) {
    sink.return_niovs(area, batch, k);
    returned += k;
  }
  if (bad_token | bad_index | no_ref | wrong_owner) {
    im.rqe_bad_token.add(bad_token);
    im.rqe_bad_index.add(bad_index);
    im.rqe_no_ref.add(no_ref);
    im.rqe_wrong_owner.add(wrong_owner);
  }
  im.refilled.add(returned);
  return returned;
}

}  // namespace zcrx::core
