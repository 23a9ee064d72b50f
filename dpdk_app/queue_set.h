// SPDX-License-Identifier: MIT
// The served queues of one zcrxd: per queue its datapath, its counters and
// the engine provider that binds areas to it, and the one QueueBinder and
// BufferSink the engine sees, which hand each call to the provider of the
// queue it concerns (open_queue: by if_rxq; refills: by the area's pool;
// scrub: by the queue the area was bound to).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "datapath.h"
#include "options.h"
#include "provider.h"
#include "stats.h"
#include "zcrx/core/engine.h"

namespace zcrxd {

class Device;
class Port;

/// One served RX queue: the datapath that polls it and its counters.
struct ServedQueue {
  ServedQueue(Port& p, const DatapathConfig& cfg) : port(p), dp(cfg, stats) {}
  Port& port;
  DpStats stats;  // before dp: dp keeps a reference
  Datapath dp;
};

class QueueSet final : public zcrx::core::QueueBinder, public zcrx::core::BufferSink {
 public:
  /// `republish(k)` rebuilds and publishes queue k's snapshot.
  QueueSet(Device& dev, const std::vector<ServedQueue*>& queues,
           std::function<void(uint32_t k)> republish);

  uint32_t size() const { return static_cast<uint32_t>(queues_.size()); }
  ServedQueue& queue(uint32_t k) { return *queues_[k]; }
  Provider& provider(uint32_t k) { return *providers_[k]; }
  /// Position of RX queue `rxq` among the served ones, or -1.
  int index_of(int32_t rxq) const;

  // QueueBinder [control]
  /// -ENODEV: another port; -ERANGE: a queue zcrxd does not serve (the
  /// kernel's answer for an rx queue index out of range); then the
  /// provider's (-EEXIST: already bound, -ENOMEM, -EOPNOTSUPP).
  int open_queue(zcrx::core::Ifq& ifq, uint32_t port, uint32_t rxq) override;
  void close_queue(zcrx::core::Ifq& ifq) override;
  /// Waits for every datapath: `real` may already be closed, and a
  /// quiescent point of the others costs a few loop iterations.
  void synchronize(zcrx::core::Ifq& real) override;

  // BufferSink
  /// [datapath] To the provider of the queue the area is bound to.
  void return_niovs(zcrx::core::Area& area, const uint32_t* idx, uint32_t n) override;
  /// [control] To the provider of the queue the area was last bound to.
  void reclaim_niovs(zcrx::core::Area& area, const uint32_t* idx, uint32_t n) override;

 private:
  uint32_t queue_of_area(const zcrx::core::Area& area) const;

  Device& dev_;
  std::vector<ServedQueue*> queues_;
  std::vector<std::unique_ptr<Provider>> providers_;
  // Area pool bound to queue k, for the datapaths' refills: written by
  // control (release) before the ifq is published, cleared after it closed.
  std::atomic<const void*> bound_[kMaxQueues] = {};
  // Control only: queue an area pool was last bound to (scrub after close).
  std::map<const void*, uint32_t> last_queue_;
};

}  // namespace zcrxd
