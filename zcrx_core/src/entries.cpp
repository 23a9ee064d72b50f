// SPDX-License-Identifier: MIT
// Entries of a real ifq: creation, their refill queues, publication in the
// datapath snapshot and teardown with reclaim of the niovs they hold.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "internal.h"

namespace zcrx::core {

Ifq* Engine::Impl::new_real(Ctx* ctx, uint32_t port, uint32_t rq_entries) {
  auto im = std::make_unique<Ifq::Impl>();
  im->kind = IfqKind::real;
  im->engine = this;
  im->ctx = ctx;
  im->port = port;
  im->rq_entries = rq_entries;
  // relaxed: the object is not shared yet.
  im->refs.store(1, std::memory_order_relaxed);
  im->user_refs.store(1, std::memory_order_relaxed);
  Ifq* ifq = new Ifq(std::move(im));
  ifq->impl()->real = ifq;
  reals.insert(ifq);
  return ifq;
}

Ifq* Engine::Impl::new_entry(IfqKind kind, Ctx* ctx, Ifq* real) {
  auto im = std::make_unique<Ifq::Impl>();
  im->kind = kind;
  im->engine = this;
  im->ctx = ctx;
  im->real = real;
  return new Ifq(std::move(im));
}

void Engine::Impl::get_user(Ifq* real) {
  Ifq::Impl& r = *real->impl();
  // relaxed: control-thread-only counts.
  r.refs.store(r.refs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  r.user_refs.store(r.user_refs.load(std::memory_order_relaxed) + 1,
                    std::memory_order_relaxed);
}

int Engine::Impl::attach_entry(IfqKind kind, Ctx* ctx, Ifq* real, Mapping rq_mem,
                               Attached* out) {
  const int id = alloc_id(ctx);
  if (id < 0) return id;
  const int slot = alloc_slot(real);
  if (slot < 0) return slot;
  const RqRegionLayout layout = rq_region_layout(real->impl()->rq_entries);
  Ifq* entry = new_entry(kind, ctx, real);
  if (int err = setup_rq(entry, layout, rq_mem)) {
    delete entry;
    return err;
  }
  *out = {entry, static_cast<uint32_t>(id), static_cast<uint32_t>(slot), layout};
  return 0;
}

void Engine::Impl::publish_entry(const Attached& a, uapi::io_uring_zcrx_ifq_reg& reg) {
  entries.insert(a.entry);
  publish(a.entry, a.slot, a.id);
  reg.zcrx_id = a.id;
  reg.offsets = a.layout.off;
  reg.rq_entries = a.layout.rq_entries;
}

int Engine::Impl::alloc_id(const Ctx* ctx) const {
  for (uint32_t id = 0; id < kMaxZcrxPerCtx; id++) {
    // relaxed: the table is written by this (control) thread only.
    if (ctx->impl()->table[id].load(std::memory_order_relaxed) == nullptr)
      return static_cast<int>(id);
  }
  return -EBUSY;  // xa_alloc: no free id within the limit
}

int Engine::Impl::alloc_slot(const Ifq* real) const {
  for (uint32_t s = 0; s < kMaxEntriesPerIfq; s++)
    if (!real->impl()->slot_used[s]) return static_cast<int>(s);
  return -EBUSY;
}

int Engine::Impl::setup_rq(Ifq* entry, const RqRegionLayout& layout, Mapping mem) {
  RqRegion& rq = entry->impl()->rq;
  if (mem.base == nullptr && mem.len == 0) {
    // Engine-allocated region (tests): page aligned and zeroed.
    void* p = std::aligned_alloc(4096, layout.size);
    if (p == nullptr) return -ENOMEM;
    std::memset(p, 0, layout.size);
    rq.owned = p;
    mem = {p, layout.size};
  } else if (mem.base == nullptr || mem.len < layout.size) {
    return -EINVAL;
  }
  rq.layout = layout;
  rq.base = mem.base;
  // A fresh ring: both indices start at 0 whatever the memory held.
  auto* base = static_cast<char*>(mem.base);
  std::memset(base + layout.off.head, 0, sizeof(uint32_t));
  std::memset(base + layout.off.tail, 0, sizeof(uint32_t));
  rq.ring.rqes = reinterpret_cast<const uapi::io_uring_zcrx_rqe*>(base + layout.off.rqes);
  rq.ring.head = reinterpret_cast<uint32_t*>(base + layout.off.head);
  rq.ring.tail = reinterpret_cast<uint32_t*>(base + layout.off.tail);
  rq.ring.entries = layout.rq_entries;
  rq.ring.mask = layout.rq_entries - 1;
  rq.ring.cached_head = 0;
  return 0;
}

void Engine::Impl::publish(Ifq* entry, uint32_t slot, uint32_t zcrx_id) {
  Ifq::Impl& e = *entry->impl();
  Ifq::Impl& r = *e.real->impl();
  e.slot = slot;
  e.zcrx_id = zcrx_id;
  IfqAccess::set_datapath(*entry, *r.area, slot);
  r.slot_used[slot] = true;
  // release (all three): the entry, its RQ view and its slot are written
  // before the datapath can find it through the snapshot or the table.
  e.live.store(true, std::memory_order_release);
  r.entries[slot].store(entry, std::memory_order_release);
  if (slot + 1 > r.entry_slots.load(std::memory_order_relaxed))
    r.entry_slots.store(slot + 1, std::memory_order_release);
  r.generation.fetch_add(1, std::memory_order_release);
  e.ctx->impl()->table[zcrx_id].store(entry, std::memory_order_release);
}

void Engine::Impl::reclaim_owned(Ifq* real, uint32_t slot, Counter& counter,
                                 Counter& total) {
  Area* area = real->impl()->area.get();
  if (area == nullptr) return;
  Area::Impl& a = *area->impl();
  uint32_t batch[64];
  uint32_t k = 0;
  for (uint32_t i = 0; i < a.num_niovs; i++) {
    // relaxed: the datapath no longer writes words owned by `slot` (it
    // passed a quiescent point after the entry left the snapshot, or the
    // queue is closed); see internal.h.
    const uint32_t s = a.state[i].load(std::memory_order_relaxed);
    if (niov_refs(s) == 0) continue;
    if (slot != kMaxEntriesPerIfq && niov_owner(s) != slot) continue;
    a.state[i].store(niov_word(niov_owner(s), 0), std::memory_order_relaxed);
    batch[k++] = i;
    if (k == std::size(batch)) {
      sink.reclaim_niovs(*area, batch, k);
      counter.add(k);
      total.add(k);
      k = 0;
    }
  }
  if (k != 0) {
    sink.reclaim_niovs(*area, batch, k);
    counter.add(k);
    total.add(k);
  }
}

void Engine::Impl::retire(Ifq* entry) {
  Ifq::Impl& e = *entry->impl();
  // relaxed: control-owned flag, read back by the control thread.
  if (!e.live.load(std::memory_order_relaxed)) return;
  Ifq* real = e.real;
  Ifq::Impl& r = *real->impl();
  const uint32_t slot = e.slot;
  // seq_cst: ordered before the epoch read inside synchronize(), so a
  // datapath iteration that starts after that epoch cannot see the entry
  // (QuiescentEpoch pairs this with a seq_cst fence).
  e.live.store(false, std::memory_order_seq_cst);
  r.entries[slot].store(nullptr, std::memory_order_seq_cst);
  r.generation.fetch_add(1, std::memory_order_seq_cst);
  binder.synchronize(*real);
  // The datapath holds no pointer to the entry any more: take back every
  // niov still attributed to it.
  reclaim_owned(real, slot, e.reclaimed, niovs_reclaimed);
  r.slot_used[slot] = false;
  uint32_t top = r.entry_slots.load(std::memory_order_relaxed);
  while (top > 0 && !r.slot_used[top - 1]) top--;
  // release: a shrunk bound is published after the slot was cleared.
  r.entry_slots.store(top, std::memory_order_release);
  e.slot = kMaxEntriesPerIfq;
}

}  // namespace zcrx::core
