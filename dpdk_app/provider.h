// SPDX-License-Identifier: MIT
// zcrxd's implementation of the engine's QueueBinder and BufferSink over
// DPDK: binding an ifq's area pool to the served queue (restarting the
// queue, as the kernel restarts an RX queue when it binds a memory
// provider), quiescing the datapath, and returning niovs to the mempool.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "stats.h"
#include "zcrx/core/engine.h"

namespace zcrxd {

class AreaPool;
class Datapath;
class Port;

class Provider final : public zcrx::core::QueueBinder,
                       public zcrx::core::BufferSink {
 public:
  /// `republish` rebuilds and publishes the datapath snapshot from the
  /// control thread's state and this binding (bound(), pool(), rx()).
  Provider(Port& port, Datapath& dp, DpStats& stats, std::function<void()> republish);

  /// [control] The pool open_queue() will bind for the area at `base`
  /// (the engine creates its Area inside register_ifq, then binds it).
  void stage(AreaPool* pool) { staged_ = pool; }
  /// [control] Takes back a staged pool open_queue() did not use.
  AreaPool* unstage() {
    AreaPool* p = staged_;
    staged_ = nullptr;
    return p;
  }
  /// [control] Pools released by close_queue(), for the caller to free once
  /// every buffer is back. Cleared by the call.
  AreaPool* take_closed() {
    AreaPool* p = closed_;
    closed_ = nullptr;
    return p;
  }

  zcrx::core::Ifq* bound() const { return bound_; }
  AreaPool* pool() const { return bound_pool_; }
  bool rx() const { return rx_; }
  /// The bound queue receives into its private pool (copy mode).
  bool copy_mode() const { return copy_; }

  // QueueBinder [control]
  /// Binds the staged area pool to the queue, or (see the file comment)
  /// the queue's copy pool. 0; -ENODEV: not this queue; -EEXIST: already
  /// bound; -ENOMEM: no staged pool for the area, or no copy pool; else
  /// the PMD's refusal (-EOPNOTSUPP for -ENOTSUP; with --copy-mode off,
  /// -EINVAL and -EOPNOTSUPP too); -EBUSY: the queue is pinned to an
  /// earlier area's in-area pool (net_af_xdp, port.h).
  int open_queue(zcrx::core::Ifq& ifq, uint32_t port, uint32_t rxq) override;
  void close_queue(zcrx::core::Ifq& ifq) override;
  void synchronize(zcrx::core::Ifq& real) override;

  // BufferSink: mbufs back to the pool. rte_pktmbuf_free_bulk is safe from
  // the datapath lcore (through its cache) and from the control thread (a
  // non-EAL thread goes straight to the pool's MP/MC ring).
  void return_niovs(zcrx::core::Area& area, const uint32_t* idx, uint32_t n) override;
  void reclaim_niovs(zcrx::core::Area& area, const uint32_t* idx, uint32_t n) override;

 private:
  void free_niovs(zcrx::core::Area& area, const uint32_t* idx, uint32_t n);

  Port& port_;
  Datapath& dp_;
  DpStats& st_;
  std::function<void()> republish_;
  AreaPool* staged_ = nullptr;
  AreaPool* closed_ = nullptr;
  zcrx::core::Ifq* bound_ = nullptr;
  AreaPool* bound_pool_ = nullptr;
  bool rx_ = false;  // the port runs: the datapath may poll
  bool copy_ = false;  // the bound queue is in copy mode
  bool refused_ = false;  // the PMD refused an area pool (--copy-mode auto)
};

}  // namespace zcrxd
