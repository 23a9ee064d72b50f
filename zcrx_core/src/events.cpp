// SPDX-License-Identifier: MIT
// zcrx events (Linux 7.2): the registration's descriptor, the fire-once
// rule on the datapath, re-arming from the control thread, and the shared
// copy-fallback counters in the RQ region.
#include <atomic>
#include <cerrno>
#include <cstring>

#include "internal.h"
#include "zcrx/proto.h"

namespace zcrx::core {
namespace {

constexpr size_t kStatsAlign = alignof(uapi::zcrx_stats);

// relaxed 64-bit stores into shared memory: the consumer reads the
// counters as statistics; nothing is published through them.
void stats_add(uint64_t& word, uint64_t n) {
  std::atomic_ref<uint64_t> w(word);
  w.store(w.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// zcrx_send_notif: allowed? master set? already fired? Then the master's
// sink posts the CQE. Only the datapath serving the queue calls it.
void raise_event(Ifq& real, uint32_t type) {
  Ifq::Impl& r = *real.impl();
  const uint32_t bit = 1u << type;
  if ((r.event_mask & bit) == 0) return;
  // relaxed: a cheap early exit while the type waits for its re-arm; the
  // fetch_or below is what decides.
  if (r.events_fired.load(std::memory_order_relaxed) & bit) return;
  // seq_cst: a datapath snapshot load (see QuiescentEpoch), ordered after
  // a clearing that synchronize() waited for; also an acquire pairing with
  // the CAS in set_ring_ctx, so the ctx and its sink are visible. The ctx
  // stays valid until the next quiescent point: unregister_user
  // synchronizes before dropping the master's reference.
  Ctx* master = r.master.load(std::memory_order_seq_cst);
  if (master == nullptr || master->events() == nullptr) return;
  // acq_rel: the control thread's ARM (fetch_and) and this bit-set are
  // ordered on the one word; whoever sets the bit first posts.
  if (r.events_fired.fetch_or(bit, std::memory_order_acq_rel) & bit) return;
  if (master->events()->on_event(real, r.event_user_data, type)) {
    r.events_posted.add();
    return;
  }
  // Not posted (CQ full): leave the type armed, as the kernel does when
  // it cannot allocate the request. relaxed: nothing is published with
  // the clear; an ARM racing with it finds the bit set or clear and
  // answers 0 or -EINVAL, both true at that moment.
  r.events_fired.fetch_and(~bit, std::memory_order_relaxed);
  r.events_lost.add();
}

}  // namespace

int check_event_desc(const uapi::io_uring_zcrx_ifq_reg& reg, const uapi::zcrx_event_desc* ev) {
  if (reg.event_desc == 0) return 0;
  if (ev == nullptr) return -EFAULT;  // copy_from_user failed
  if (ev->type_mask & ~uapi::kZcrxEventTypeMask) return -EINVAL;
  if (ev->flags & ~uapi::kZcrxEventDescFlagStats) return -EINVAL;
  if (!(ev->flags & uapi::kZcrxEventDescFlagStats) && ev->stats_offset != 0) return -EINVAL;
  for (uint64_t w : ev->__resv2)
    if (w != 0) return -EINVAL;
  return 0;
}

int place_stats_block(Ifq* real, const uapi::zcrx_event_desc& ev, size_t region_size) {
  if (!(ev.flags & uapi::kZcrxEventDescFlagStats)) return 0;
  Ifq::Impl& r = *real->impl();
  const RqRegionLayout& l = r.rq.layout;
  const uint64_t off = ev.stats_offset;
  if (off % kStatsAlign != 0) return -EINVAL;
  const uint64_t rq_end = uint64_t{l.off.rqes} + sizeof(uapi::io_uring_zcrx_rqe) * l.rq_entries;
  // The head and tail words sit before the RQEs in every layout we accept.
  if (off < rq_end) return -ERANGE;
  if (off > region_size || region_size - off < sizeof(uapi::zcrx_stats)) return -ERANGE;
  auto* block = reinterpret_cast<uapi::zcrx_stats*>(static_cast<char*>(r.rq.base) + off);
  std::memset(block, 0, sizeof(*block));
  r.stats_block = block;
  return 0;
}

int arm_event(Ifq* real, const uapi::zcrx_ctrl_arm_event& arm) {
  if (arm.event_type >= uapi::__ZCRX_EVENT_TYPE_LAST) return -EINVAL;
  for (uint32_t w : arm.__resv)
    if (w != 0) return -EINVAL;
  const uint32_t bit = 1u << arm.event_type;
  // acq_rel: see raise_event; clearing a bit that is not set changes
  // nothing, so the test on the old value is the kernel's "not fired".
  const uint32_t old = real->impl()->events_fired.fetch_and(~bit, std::memory_order_acq_rel);
  return (old & bit) ? 0 : -EINVAL;
}

uint64_t Engine::stats_offset(const RqRegionLayout& l) { return proto::stats_offset(l); }

void Ifq::report_no_buffers() {
  Ifq* real = impl_->real;
  if (real == nullptr) return;  // a proxy that dropped its refs
  real->impl_->no_buffers.add();
  raise_event(*real, uapi::ZCRX_EVENT_ALLOC_FAIL);
}

void Ifq::report_starved() {
  Ifq* real = impl_->real;
  if (real == nullptr) return;
  raise_event(*real, uapi::ZCRX_EVENT_ALLOC_FAIL);
}

void Ifq::report_copy(uint32_t bytes) {
  Ifq* real = impl_->real;
  if (real == nullptr) return;
  Impl& r = *real->impl_;
  r.copies.add();
  r.copy_bytes.add(bytes);
  if (r.stats_block != nullptr) {
    stats_add(r.stats_block->copy_count, 1);
    stats_add(r.stats_block->copy_bytes, bytes);
  }
  raise_event(*real, uapi::ZCRX_EVENT_COPY);
}

uint32_t Ifq::event_mask() const { return impl_->real ? impl_->real->impl_->event_mask : 0; }

uint64_t Ifq::event_user_data() const {
  return impl_->real ? impl_->real->impl_->event_user_data : 0;
}

uint32_t Ifq::events_fired() const {
  // relaxed: a report.
  return impl_->real ? impl_->real->impl_->events_fired.load(std::memory_order_relaxed) : 0;
}

uapi::zcrx_stats* Ifq::stats_block() const {
  return impl_->real ? impl_->real->impl_->stats_block : nullptr;
}

}  // namespace zcrx::core
