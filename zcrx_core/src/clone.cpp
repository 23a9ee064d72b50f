// SPDX-License-Identifier: MIT
// IORING_ZCRX_IFQ_REG_CLONE (seed 003): a proxy entry in this ring for a
// real ifq of another ring, holding a reference on the ring that owns the
// real ifq and on the real ifq (and, here, a user reference: see engine.h).
//
// A clone of a clone (or of an import) stands for the real ifq, not for
// the entry it was cloned from. The seed stores the source entry as the
// proxy and pins the source ring, which for a source that is itself a
// proxy leaves the new proxy relying on an intermediate ring whose own
// proxy lets go of the real ifq at its shutdown (and RECV_ZC follows one
// level of proxy only). Resolving to the real ifq and pinning the ring
// that owns it keeps the seed's guarantee, "the source ifq and its ring
// ctx remain valid while there are proxies", whatever order rings die in.
#include <cerrno>

#include "internal.h"

namespace zcrx::core {
namespace {

// The seed's checks in its order, minus what the caller's fd lookup did.
// On success *real_out is the real ifq the clone will stand for.
int find_clone_source(const Ctx* ctx, const Ctx* src, uint32_t src_id, Ifq** real_out) {
  if (ctx == nullptr || ctx->terminated()) return -EBADF;
  if (src == nullptr || src->terminated()) return -EBADF;
  if (src == ctx) return -EBADFD;
  Ifq* se = src->lookup(src_id);
  if (se == nullptr) return -EINVAL;
  Ifq* real = se->impl()->real;  // a clone of a clone or of an import
  // A proxy shut down, or a queue closed (for a device-less ifq if_rxq is
  // always -1, so `closed` is what says it).
  if (real == nullptr || real->impl()->closed) return -EINVAL;
  *real_out = real;
  return 0;
}

}  // namespace

int Engine::clone_rq_layout(const Ctx* ctx, const Ctx* src, uint32_t src_id,
                            RqRegionLayout* out) const {
  Ifq* real = nullptr;
  if (int err = find_clone_source(ctx, src, src_id, &real)) return err;
  *out = rq_region_layout(real->impl()->rq_entries);
  return 0;
}

int Engine::clone_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg, Ctx* src,
                      Mapping rq_mem) {
  Impl& en = *impl_;
  if (ctx == nullptr || ctx->terminated()) return -EBADF;
  if (int err = check_shared_reg(reg)) return err;
  Ifq* real = nullptr;
  if (int err = find_clone_source(ctx, src, reg.if_rxq, &real)) return err;

  // The ring that owns the real ifq, not `src` (which may hold only a
  // proxy or an import of it); nullptr when that ring is gone already.
  Ctx* owner = real->impl()->ctx;
  if (owner != nullptr) en.get_ctx(owner);
  Impl::get_user(real);
  Impl::Attached a;
  if (int err = en.attach_entry(IfqKind::proxy, ctx, real, rq_mem, &a)) {
    // Undo exactly what was taken, in reverse order (the seed leaks both
    // references on this path). No ctx: a clone never touches the master,
    // even when `ctx` happens to be the real ifq's master.
    en.unregister(real, nullptr);
    if (owner != nullptr) en.put_ctx(owner);
    return err;
  }
  Ifq::Impl& p = *a.entry->impl();
  p.src_ctx = owner;
  // relaxed: a report (Ifq::if_rxq); publish() releases the entry.
  p.if_rxq.store(real->impl()->if_rxq.load(std::memory_order_relaxed), std::memory_order_relaxed);
  en.publish_entry(a, reg);
  return 0;
}

}  // namespace zcrx::core
