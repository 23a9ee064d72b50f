// SPDX-License-Identifier: MIT
// Area: registered memory cut into niovs, with a state word per niov.
#include "internal.h"

namespace zcrx::core {

Area::Area(uint32_t id, void* base, size_t len, uint32_t niov_shift)
    : impl_(std::make_unique<Impl>()) {
  impl_->id = id;
  impl_->token = uapi::area_token(id);
  impl_->base = base;
  impl_->len = len;
  impl_->niov_shift = niov_shift;
  impl_->num_niovs = static_cast<uint32_t>(len >> niov_shift);
  // Value-initialised: every niov starts with no user reference, owner 0.
  impl_->state = std::make_unique<std::atomic<uint32_t>[]>(impl_->num_niovs);
}

Area::~Area() = default;

uint32_t Area::id() const { return impl_->id; }
uint64_t Area::token() const { return impl_->token; }
void* Area::base() const { return impl_->base; }
size_t Area::len() const { return impl_->len; }
uint32_t Area::niov_shift() const { return impl_->niov_shift; }
uint32_t Area::num_niovs() const { return impl_->num_niovs; }

uint32_t Area::user_refs(uint32_t idx) const {
  if (idx >= impl_->num_niovs) return 0;
  // relaxed: a report; see the niov state word comment in internal.h.
  return niov_refs(impl_->state[idx].load(std::memory_order_relaxed));
}

uint32_t Area::owner_slot(uint32_t idx) const {
  if (idx >= impl_->num_niovs) return kMaxEntriesPerIfq;
  // relaxed: a report.
  return niov_owner(impl_->state[idx].load(std::memory_order_relaxed));
}

uint64_t Area::held_by_users() const {
  uint64_t held = 0;
  for (uint32_t i = 0; i < impl_->num_niovs; i++) {
    // relaxed: a report.
    if (niov_refs(impl_->state[i].load(std::memory_order_relaxed)) != 0) held++;
  }
  return held;
}

void Area::set_provider_data(void* p) {
  // release: whatever `p` points to is initialised before the datapath,
  // which loads it with acquire, can see the pointer.
  impl_->provider.store(p, std::memory_order_release);
}

void* Area::provider_data() const {
  // acquire: pairs with set_provider_data.
  return impl_->provider.load(std::memory_order_acquire);
}

}  // namespace zcrx::core
