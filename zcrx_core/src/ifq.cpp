// SPDX-License-Identifier: MIT
// Ifq entries: accessors, delivery and the datapath
// snapshot of a real ifq's live entries.
#include <cstdlib>

#include "internal.h"

namespace zcrx::core {

RqRegion::~RqRegion() { std::free(owned); }

Ifq::Ifq(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }
Ifq::~Ifq() = default;

IfqKind Ifq::kind() const { return impl_->kind; }
Ctx* Ifq::ctx() const { return impl_->ctx; }
uint32_t Ifq::zcrx_id() const { return impl_->zcrx_id; }
uint32_t Ifq::slot() const { return impl_->slot; }

bool Ifq::live() const {
  // seq_cst: a datapath snapshot load (see QuiescentEpoch in
  // free_list.cpp); it is also an acquire pairing with publish's release,
  // so the entry's RQ view is initialised before it is used.
  return impl_->live.load(std::memory_order_seq_cst);
}

int32_t Ifq::if_rxq() const {
  const Impl& im = *impl_;
  // relaxed: if_rxq is a report here; delivery is stopped by close_queue
  // (which quiesces the datapath), not by this value.
  if (im.kind == IfqKind::import)
    return im.real ? im.real->impl_->if_rxq.load(std::memory_order_relaxed) : -1;
  return im.if_rxq.load(std::memory_order_relaxed);
}

bool Ifq::nodev() const { return impl_->real != nullptr && impl_->real->impl_->nodev; }

uint32_t Ifq::port() const { return impl_->real ? impl_->real->impl_->port : 0; }

uint32_t Ifq::refs() const {
  // relaxed: counts change on the control thread only; this is a report.
  return impl_->real ? impl_->real->impl_->refs.load(std::memory_order_relaxed) : 0;
}

uint32_t Ifq::user_refs() const {
  // relaxed: as refs().
  return impl_->real ? impl_->real->impl_->user_refs.load(std::memory_order_relaxed) : 0;
}

Ctx* Ifq::master_ctx() const {
  // acquire: pairs with the CAS in set_ring_ctx (a report here).
  return impl_->real ? impl_->real->impl_->master.load(std::memory_order_acquire) : nullptr;
}

Ifq* Ifq::proxy() const {
  return impl_->kind == IfqKind::real ? nullptr : impl_->real;
}

Ifq& Ifq::target() { return impl_->real ? *impl_->real : *this; }
const Ifq& Ifq::target() const { return impl_->real ? *impl_->real : *this; }

Area* Ifq::area() const { return impl_->real ? impl_->real->impl_->area.get() : nullptr; }
const RqRegionLayout& Ifq::rq_layout() const { return impl_->rq.layout; }
void* Ifq::rq_base() const { return impl_->rq.base; }

IfqStats Ifq::stats() const {
  const Impl& im = *impl_;
  IfqStats s;
  s.delivered = IfqAccess::delivered(*this);
  s.refilled = im.refilled.get();
  s.scrubbed = im.scrubbed.get();
  s.rqe_bad_token = im.rqe_bad_token.get();
  s.rqe_bad_index = im.rqe_bad_index.get();
  s.rqe_no_ref = im.rqe_no_ref.get();
  s.rq_clamped = im.rq_clamped.get();
  s.no_buffers = im.no_buffers.get();
  s.rqe_wrong_owner = im.rqe_wrong_owner.get();
  s.reclaimed = im.reclaimed.get();
  s.copies = im.copies.get();
  s.copy_bytes = im.copy_bytes.get();
  s.events_posted = im.events_posted.get();
  s.events_lost = im.events_lost.get();
  return s;
}

Ifq* Ifq::entry_at(uint32_t slot) const {
  if (slot >= kMaxEntriesPerIfq) return nullptr;
  // seq_cst: a datapath snapshot load (see QuiescentEpoch); also an
  // acquire pairing with publish's release, so the entry is initialised.
  return impl_->entries[slot].load(std::memory_order_seq_cst);
}

uint32_t Ifq::entry_slots() const {
  // seq_cst: as entry_at (publish raises it after storing the entry).
  return impl_->entry_slots.load(std::memory_order_seq_cst);
}

uint32_t Ifq::entries_generation() const {
  // acquire: a changed generation means the table changed before it.
  return impl_->generation.load(std::memory_order_acquire);
}

}  // namespace zcrx::core
