// SPDX-License-Identifier: MIT
// Ctx: a consumer ring's zcrx table.
#include "internal.h"

namespace zcrx::core {

Ctx::Ctx(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }
Ctx::~Ctx() = default;

uint32_t Ctx::refs() const {
  // relaxed: changed on the control thread only; a report.
  return impl_->refs.load(std::memory_order_relaxed);
}

Ifq* Ctx::lookup(uint32_t zcrx_id) const {
  if (zcrx_id >= kMaxZcrxPerCtx) return nullptr;
  // acquire: pairs with publish's release, so the entry is initialised.
  return impl_->table[zcrx_id].load(std::memory_order_acquire);
}

Ifq* Ctx::resolve(uint32_t zcrx_id) const {
  Ifq* e = lookup(zcrx_id);
  if (e == nullptr) return nullptr;
  if (e->kind() == IfqKind::real) return e;
  return e->proxy();  // nullptr once a proxy dropped its refs
}

bool Ctx::terminated() const {
  // acquire: pairs with terminate_ctx's release (a report for others).
  return impl_->terminated.load(std::memory_order_acquire);
}

CtxEvents* Ctx::events() const { return impl_->events; }

}  // namespace zcrx::core
