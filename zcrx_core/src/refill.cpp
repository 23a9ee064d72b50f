// SPDX-License-Identifier: MIT
// Refill: drain an entry's RQ as the kernel's io_zcrx_ring_refill does
// (at most the ring's size per call whatever the consumer's tail says),
// validating every RQE as io_parse_rqe does, plus the entry-ownership rule.
#include "internal.h"

namespace zcrx::core {
namespace {
// niovs handed to BufferSink::return_niovs per call by refill().
constexpr uint32_t kReturnBatch = 32;
}  // namespace

namespace {

// What the RQE scan needs, in locals (registers): the niov state stores
// may alias any memory as far as the compiler knows, which would reload
// fields of the entry for every RQE.
struct RqeScan {
  const uapi::io_uring_zcrx_rqe* entries;  // the RQE array
  uint32_t mask;                           // entries - 1
  uint64_t token;                          // the area's token
  uint64_t limit;                          // num_niovs << niov_shift
  uint32_t shift;                          // niov_shift
  uint32_t held_lo;                        // niov_word(this entry's slot, 1)
  std::atomic<uint32_t>* state;            // the area's niov state words
};

// Counts a skipped RQE by its reason, from what the scan saw: `rel` (off
// ^ token), `pad`, and, when the index was in range, the state word.
[[gnu::noinline, gnu::cold]] void count_bad_rqe(Ifq::Impl& im, uint64_t rel, uint32_t pad) {
  if ((rel & uapi::kZcrxAreaMask) != 0 || pad != 0)
    im.rqe_bad_token.add();
  else
    im.rqe_bad_index.add();
}
[[gnu::noinline, gnu::cold]] void count_bad_owner(Ifq::Impl& im, uint32_t s) {
  if (niov_refs(s) == 0)
    im.rqe_no_ref.add();
  else
    im.rqe_wrong_owner.add();
}

// Skipped RQEs are counted on the spot by the cold functions above: rare,
// and out of the loop's way (no per-call tallies to set up and add).

// Validates the `n` RQEs at ring positions pos.., drops one user reference
// of each valid one and writes the niovs that reached zero to `out`;
// returns how many it wrote. No call inside, so the loop keeps its state
// in registers.
inline uint32_t scan_rqes(const RqeScan& c, uint32_t pos, uint32_t n, uint32_t* out,
                          Ifq::Impl& im) {
  const RqeScan sc = c;
  uint32_t k = 0;
  const uint32_t end = pos + n;
  for (uint32_t p = pos; p != end; p++) {
    // The consumer may rewrite the slot while we look: each field we use
    // is read once into a local and only the local is validated. Two
    // field-sized loads, not one 16-byte copy: the producer writes the
    // fields one by one, and a wider load would not be forwarded from
    // those stores when it runs on this core.
    const uapi::io_uring_zcrx_rqe* const e = &sc.entries[p & sc.mask];
    uint64_t off;
    uint32_t pad;
    __builtin_memcpy(&off, &e->off, sizeof off);
    __builtin_memcpy(&pad, &e->__pad, sizeof pad);
    // off ^ token is the byte offset when the token matches; a wrong token
    // sets bits at or above kZcrxAreaShift, so one compare against the
    // area's length rejects both a wrong token and an index out of range
    // (the cold path tells them apart). register caps an area at 1 GiB,
    // far below 1 << kZcrxAreaShift.
    const uint64_t rel = off ^ sc.token;
    if (rel >= sc.limit || pad != 0) [[unlikely]] {
      count_bad_rqe(im, rel, pad);
      continue;
    }
    const uint32_t idx = static_cast<uint32_t>(rel >> sc.shift);
    // relaxed: see the niov state word comment in internal.h.
    const uint32_t s = sc.state[idx].load(std::memory_order_relaxed);
    // One compare for "owned by this entry and at least one reference":
    // s lies in [niov_word(slot, 1), niov_word(slot, 0xffff)].
    if (s - sc.held_lo >= kNiovRefMask) [[unlikely]] {
      count_bad_owner(im, s);
      continue;
    }
    sc.state[idx].store(s - 1, std::memory_order_relaxed);
    // Branch-free: always write, keep it when that was the last reference.
    out[k] = idx;
    k += s == sc.held_lo ? 1 : 0;
  }
  return k;
}

// io_zcrx_rqring_entries: what the consumer published since our head,
// clamped to the ring's size. A tail further ahead (or behind: the
// difference wraps) breaks the ring protocol; the kernel clamps rather
// than stops, and every RQE read is validated anyway, so we do the same
// and count it.
inline uint32_t rq_ready(RqRing& rq, Counter& clamped) {
  // acquire: pairs with the consumer's release of tail, so the RQEs it
  // wrote before it are visible before we read them.
  const uint32_t tail = detail::shared_index(rq.tail).load(std::memory_order_acquire);
  const uint32_t ready = tail - rq.cached_head;
  if (ready > rq.entries) [[unlikely]] {
    clamped.add();
    return rq.entries;
  }
  return ready;
}

}  // namespace

// inline: only this file calls it, and refill_burst() is then one call.
inline uint32_t Ifq::drain(uint32_t budget, uint32_t* out, BufferSink* sink) {
  Impl& im = *impl_;
  // seq_cst: a snapshot load (see QuiescentEpoch); a retired entry is not
  // refilled again. It is also an acquire pairing with publish's release,
  // so the dp_* fields and the RQ view below are initialised.
  if (!im.live.load(std::memory_order_seq_cst)) return 0;
  RqRing& rq = im.rq.ring;

  // Re-read the consumer's tail on every call (one shared line per burst).
  const uint32_t ready = rq_ready(rq, im.rq_clamped);
  const uint32_t n = ready < budget ? ready : budget;
  if (n == 0) return 0;

  // The dp_* copies spare the walk entry -> real -> area -> state.
  const uint32_t head = rq.cached_head;
  const RqeScan scan{rq.rqes,
                     rq.mask,
                     dp_token_,
                     uint64_t{dp_num_niovs_} << dp_niov_shift_,
                     dp_niov_shift_,
                     niov_word(dp_slot_, 1),
                     dp_niov_state_};
  uint32_t returned = 0;
  if (sink == nullptr) {
    returned = scan_rqes(scan, head, n, out, im);
  } else {
    for (uint32_t done = 0; done < n;) {
      const uint32_t chunk = n - done < kReturnBatch ? n - done : kReturnBatch;
      const uint32_t k = scan_rqes(scan, head + done, chunk, out, im);
      if (k != 0) sink->return_niovs(*dp_area_, out, k);
      returned += k;
      done += chunk;
    }
  }
  rq.cached_head = head + n;
  // release: our reads of the n slots complete before the producer may
  // reuse them.
  detail::shared_index(rq.head).store(rq.cached_head, std::memory_order_release);
  im.refilled.add(returned);
  return returned;
}

uint32_t Ifq::refill(uint32_t budget) {
  uint32_t batch[kReturnBatch];
  return drain(budget, batch, &impl_->engine->sink);
}

uint32_t Ifq::refill_burst(uint32_t budget, uint32_t* out) {
  return drain(budget, out, nullptr);
}

}  // namespace zcrx::core
