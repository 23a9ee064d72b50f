// SPDX-License-Identifier: MIT
// Who keeps what alive: the master ctx (seed 000), unregister_user with
// its close-and-scrub at the last user, the ifq and ctx reference counts,
// and ring termination (io_terminate_zcrx + io_shutdown_zcrx_ifqs, seed
// 003). Runs on the control thread only.
#include <cstdio>

#include "internal.h"

namespace zcrx::core {

// zcrx_set_ring_ctx: set once, null -> ctx, taking a ctx reference.
bool Engine::Impl::set_ring_ctx(Ifq* real, Ctx* ctx) {
  Ctx* expected = nullptr;
  // acq_rel: release publishes the ctx to the datapath (report_no_buffers
  // loads it with acquire); the control thread is the only writer, so the
  // CAS is what makes "set once" explicit rather than what serialises.
  if (!real->impl()->master.compare_exchange_strong(expected, ctx,
                                                    std::memory_order_acq_rel))
    return false;
  get_ctx(ctx);
  return true;
}

// zcrx_unregister_user: the master is cleared only by its own ctx; the
// last user closes the queue and scrubs.
void Engine::Impl::unregister_user(Ifq* real, Ctx* ctx) {
  Ifq::Impl& r = *real->impl();
  Ctx* expected = ctx;
  // seq_cst: the clearing must precede synchronize()'s epoch read in the
  // total order (see QuiescentEpoch); the compare makes "only the master
  // clears it" a single step.
  if (ctx != nullptr &&
      r.master.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst)) {
    // The datapath may have loaded the master just before: let it pass a
    // quiescent point before the ctx can go away.
    binder.synchronize(*real);
    put_ctx(ctx);
  }
  // relaxed: the counts are changed on the control thread only.
  const uint32_t users = r.user_refs.load(std::memory_order_relaxed);
  r.user_refs.store(users - 1, std::memory_order_relaxed);
  if (users == 1) {
    close_queue(real);
    scrub(real);
  }
}

// zcrx_unregister: a user and a reference.
void Engine::Impl::unregister(Ifq* real, Ctx* ctx) {
  unregister_user(real, ctx);
  put_ifq(real);
}

void Engine::Impl::put_ifq(Ifq* real) {
  Ifq::Impl& r = *real->impl();
  // relaxed: control-thread-only count.
  const uint32_t refs = r.refs.load(std::memory_order_relaxed);
  r.refs.store(refs - 1, std::memory_order_relaxed);
  if (refs == 1) free_ifq(real);
}

// io_zcrx_ifq_free.
void Engine::Impl::free_ifq(Ifq* real) {
  Ifq::Impl& r = *real->impl();
  // relaxed: control-thread-only from here on (the queue is closed).
  if (r.master.load(std::memory_order_relaxed) != nullptr) {
    // The kernel's WARN_ON_ONCE: never in a legal sequence. Like the
    // kernel, leave the object rather than free what the master may use.
    free_with_master_set.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "zcrx_core: BUG: freeing ifq (port %u) with its master ctx set\n",
                 r.port);
    return;
  }
  close_queue(real);
  scrub(real);  // nothing left in any legal sequence; never leak a niov
  reals.erase(real);
  delete real;
}

void Engine::Impl::get_ctx(Ctx* ctx) {
  std::atomic<uint32_t>& refs = ctx->impl()->refs;
  // relaxed: control-thread-only count.
  refs.store(refs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void Engine::Impl::put_ctx(Ctx* ctx) {
  std::atomic<uint32_t>& refs = ctx->impl()->refs;
  // relaxed: control-thread-only count.
  const uint32_t n = refs.load(std::memory_order_relaxed);
  refs.store(n - 1, std::memory_order_relaxed);
  if (n == 1) free_ctx(ctx);
}

// io_unregister_zcrx_ifqs + freeing the ring: each table entry puts its
// reference on its real ifq. Proxies dropped theirs at shutdown.
void Engine::Impl::free_ctx(Ctx* ctx) {
  Ctx::Impl& c = *ctx->impl();
  for (uint32_t id = 0; id < kMaxZcrxPerCtx; id++) {
    // relaxed: control-owned table; nobody else may look at a freed ring.
    Ifq* e = c.table[id].load(std::memory_order_relaxed);
    if (e == nullptr) continue;
    c.table[id].store(nullptr, std::memory_order_relaxed);
    switch (e->kind()) {
      case IfqKind::real:
        // The ifq may outlive its ring (imports, boxes): it must not keep
        // pointing at it. Clones pin this ring, so none is left here.
        e->impl()->ctx = nullptr;
        put_ifq(e);
        break;
      case IfqKind::import: {
        Ifq* real = e->impl()->real;
        entries.erase(e);
        delete e;
        put_ifq(real);
        break;
      }
      case IfqKind::proxy:
        drop_proxy(e);  // no-op unless shutdown was skipped
        entries.erase(e);
        delete e;
        break;
    }
  }
  ctxs.erase(ctx);
  delete ctx;
}

// io_close_queue: nothing to do once closed; a device-less ifq has no
// queue to close, only its state to record.
void Engine::Impl::close_queue(Ifq* real) {
  Ifq::Impl& r = *real->impl();
  if (r.closed) return;
  r.closed = true;
  if (r.nodev) return;
  binder.close_queue(*real);
  // relaxed: control writes if_rxq; the datapath stops because close_queue
  // quiesces it, not because it reads this value.
  r.if_rxq.store(-1, std::memory_order_relaxed);
}

// io_zcrx_scrub: every niov any user still holds goes back, once. Callers
// closed the queue first, so the datapath touches none of them.
void Engine::Impl::scrub(Ifq* real) {
  reclaim_owned(real, kMaxEntriesPerIfq, real->impl()->scrubbed, niovs_scrubbed);
}

// A proxy goes away: out of the snapshot (its niovs reclaimed), its user
// and its references on the real ifq and the source ctx dropped.
void Engine::Impl::drop_proxy(Ifq* proxy) {
  Ifq::Impl& p = *proxy->impl();
  Ifq* real = p.real;
  if (real == nullptr) return;
  Ctx* src = p.src_ctx;
  unregister_user(real, p.ctx);
  retire(proxy);
  // relaxed: a report; the entry left the snapshot already.
  p.if_rxq.store(-1, std::memory_order_relaxed);
  p.real = nullptr;
  p.src_ctx = nullptr;
  // Real ifq first: the owning ctx's own entry keeps it alive until that
  // ctx is freed, so neither outlives a reference to it.
  put_ifq(real);
  if (src != nullptr) put_ctx(src);
}

// io_terminate_zcrx: every real or import entry unregisters its user with
// this ctx, then goes away.
void Engine::Impl::terminate(Ctx* ctx) {
  Ctx::Impl& c = *ctx->impl();
  for (uint32_t id = 0; id < kMaxZcrxPerCtx; id++) {
    // relaxed: control-owned table.
    Ifq* e = c.table[id].load(std::memory_order_relaxed);
    if (e == nullptr || e->kind() == IfqKind::proxy) continue;
    unregister_user(e->impl()->real, ctx);
    retire(e);
  }
}

// io_shutdown_zcrx_ifqs (seed 003).
void Engine::Impl::shutdown(Ctx* ctx) {
  Ctx::Impl& c = *ctx->impl();
  for (uint32_t id = 0; id < kMaxZcrxPerCtx; id++) {
    // relaxed: control-owned table.
    Ifq* e = c.table[id].load(std::memory_order_relaxed);
    if (e == nullptr) continue;
    if (e->kind() == IfqKind::proxy) {
      drop_proxy(e);  // nothing once its refs are dropped
      continue;
    }
    // A real ifq (or an import of one), unless already closed (the seed's
    // if_rxq == -1, which a device-less ifq always has): others still
    // reference it.
    Ifq* real = e->impl()->real;
    if (real->impl()->closed) continue;
    if (real->impl()->refs.load(std::memory_order_relaxed) > 1) continue;
    close_queue(real);
    scrub(real);
  }
}

}  // namespace zcrx::core
