// SPDX-License-Identifier: MIT
#include "queue_set.h"

#include <cerrno>

#include "port.h"

namespace zcrxd {

using zcrx::core::Area;
using zcrx::core::Ifq;

QueueSet::QueueSet(Device& dev, const std::vector<ServedQueue*>& queues,
                   std::function<void(uint32_t k)> republish)
    : dev_(dev), queues_(queues) {
  for (uint32_t k = 0; k < queues_.size(); k++) {
    ServedQueue& q = *queues_[k];
    providers_.push_back(
        std::make_unique<Provider>(q.port, q.dp, q.stats, [republish, k] { republish(k); }));
  }
}

int QueueSet::index_of(int32_t rxq) const {
  return rxq < 0 ? -1 : dev_.index_of(static_cast<uint32_t>(rxq));
}

int QueueSet::open_queue(Ifq& ifq, uint32_t port, uint32_t rxq) {
  if (port != dev_.id()) return -ENODEV;
  int k = dev_.index_of(rxq);
  if (k < 0 || static_cast<uint32_t>(k) >= size()) return -ERANGE;
  int rc = providers_[k]->open_queue(ifq, port, rxq);
  if (rc) return rc;
  const void* pool = ifq.area() ? ifq.area()->provider_data() : nullptr;
  last_queue_[pool] = static_cast<uint32_t>(k);
  // release: the datapath's acquire load in return_niovs sees it; the
  // engine publishes the ifq (so refills start) only after we return.
  bound_[k].store(pool, std::memory_order_release);
  return 0;
}

void QueueSet::close_queue(Ifq& ifq) {
  for (uint32_t k = 0; k < size(); k++) {
    if (providers_[k]->bound() != &ifq) continue;
    providers_[k]->close_queue(ifq);  // returns once datapath k quiesced
    bound_[k].store(nullptr, std::memory_order_release);  // release: as in open_queue
    return;
  }
}

void QueueSet::synchronize(Ifq&) {
  for (ServedQueue* q : queues_) q->dp.synchronize();
}

uint32_t QueueSet::queue_of_area(const Area& area) const {
  const void* pool = area.provider_data();
  for (uint32_t k = 0; k < size(); k++)
    // acquire: pairs with the release store in open_queue.
    if (bound_[k].load(std::memory_order_acquire) == pool) return k;
  return 0;  // not reached while the engine keeps its contract
}

void QueueSet::return_niovs(Area& area, const uint32_t* idx, uint32_t n) {
  providers_[queue_of_area(area)]->return_niovs(area, idx, n);
}

void QueueSet::reclaim_niovs(Area& area, const uint32_t* idx, uint32_t n) {
  auto it = last_queue_.find(area.provider_data());
  uint32_t k = it != last_queue_.end() ? it->second : queue_of_area(area);
  providers_[k]->reclaim_niovs(area, idx, n);
}

}  // namespace zcrxd
