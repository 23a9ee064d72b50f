// SPDX-License-Identifier: MIT
// Engine: rings, termination, zcrx_ctrl and the invariant counters.
#include <cerrno>
#include <cstdio>
#include <vector>

#include "internal.h"

namespace zcrx::core {

Engine::Engine(QueueBinder& binder, BufferSink& sink)
    : impl_(std::make_unique<Impl>(binder, sink)) {}

Engine::~Engine() {
  Impl& en = *impl_;
  // Rings first (their masters and proxies), then the boxes nobody closed.
  std::vector<Ctx*> live;
  for (Ctx* c : en.ctxs)
    if (!c->terminated()) live.push_back(c);
  for (Ctx* c : live) terminate_ctx(c);
  std::vector<ExportBox*> boxes(en.boxes.begin(), en.boxes.end());
  for (ExportBox* b : boxes) release_box(b);
  if (!en.ctxs.empty() || !en.reals.empty() || !en.entries.empty())
    std::fprintf(stderr, "zcrx_core: BUG: %zu ctx, %zu ifq, %zu entries left at exit\n",
                 en.ctxs.size(), en.reals.size(), en.entries.size());
}

Ctx* Engine::create_ctx(CtxEvents* events) {
  auto im = std::make_unique<Ctx::Impl>();
  im->engine = impl_.get();
  im->events = events;
  // relaxed: not shared yet. The ring's own reference.
  im->refs.store(1, std::memory_order_relaxed);
  Ctx* ctx = new Ctx(std::move(im));
  impl_->ctxs.insert(ctx);
  return ctx;
}

void Engine::terminate_ctx(Ctx* ctx) {
  Impl& en = *impl_;
  if (ctx == nullptr || en.ctxs.count(ctx) == 0 || ctx->terminated()) return;
  // release: others reading terminated() see the ring's state before it.
  ctx->impl()->terminated.store(true, std::memory_order_release);
  en.terminate(ctx);
  en.shutdown(ctx);
  en.put_ctx(ctx);
}

int Engine::ctrl(Ctx* ctx, const uapi::zcrx_ctrl& c) {
  if (ctx == nullptr || ctx->terminated()) return -EBADF;
  if (c.__resv[0] != 0 || c.__resv[1] != 0) return -EFAULT;
  Ifq* entry = ctx->lookup(c.zcrx_id);
  if (entry == nullptr) return -ENXIO;
  switch (c.op) {
    case uapi::ZCRX_CTRL_FLUSH_RQ:
      for (uint64_t w : c.zc_flush.__resv)
        if (w != 0) return -EINVAL;
      // The datapath drains every live entry's RQ each loop iteration.
      return 0;
    case uapi::ZCRX_CTRL_EXPORT:
      return -EINVAL;  // needs a box: export_ifq()
    case uapi::ZCRX_CTRL_ARM_EVENT:
      // A clone that dropped its refs at shutdown stands for nothing.
      if (entry->impl()->real == nullptr) return -ENXIO;
      return arm_event(entry->impl()->real, c.zc_arm_event);
    default:
      return -EOPNOTSUPP;
  }
}

bool Engine::set_master_ctx(Ifq* ifq, Ctx* ctx) {
  if (ifq == nullptr || ctx == nullptr || ifq->impl()->real == nullptr) return false;
  return impl_->set_ring_ctx(ifq->impl()->real, ctx);
}

EngineStats Engine::stats() const {
  const Impl& en = *impl_;
  EngineStats s;
  // relaxed: a counter report.
  s.free_with_master_set = en.free_with_master_set.load(std::memory_order_relaxed);
  s.ifqs_live = en.reals.size();
  s.ctxs_live = en.ctxs.size();
  s.entries_live = en.entries.size();
  s.boxes_live = en.boxes.size();
  s.niovs_scrubbed = en.niovs_scrubbed.get();
  s.niovs_reclaimed = en.niovs_reclaimed.get();
  return s;
}

}  // namespace zcrx::core
