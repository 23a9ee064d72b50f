// SPDX-License-Identifier: MIT
#include "provider.h"

#include <rte_mbuf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "area_pool.h"
#include "datapath.h"
#include "port.h"

namespace zcrxd {

namespace {

// The errors with which a PMD says it cannot receive into this pool (as
// opposed to a lack of memory or a device fault): copy mode's triggers.
bool refused(int rc) { return rc == -EINVAL || rc == -ENOTSUP || rc == -EOPNOTSUPP; }

const char* errno_name(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : "?";
}

}  // namespace

using zcrx::core::Area;
using zcrx::core::Ifq;

Provider::Provider(Port& port, Datapath& dp, DpStats& stats,
                   std::function<void()> republish)
    : port_(port), dp_(dp), st_(stats), republish_(std::move(republish)) {
  rx_ = port_.started();
}

int Provider::open_queue(Ifq& ifq, uint32_t port, uint32_t rxq) {
  if (port != port_.id() || rxq != port_.queue()) return -ENODEV;
  if (bound_) return -EEXIST;
  AreaPool* pool = staged_;
  Area* area = ifq.area();
  if (!pool || !area || pool->base() != area->base() ||
      pool->num_niovs() != area->num_niovs())
    return -ENOMEM;
  area->set_provider_data(pool);
  // Stop polling, rebind the queue to the area's pool, resume.
  rx_ = false;
  republish_();
  // A PMD that refused an area pool once refuses the next one too (it is
  // the kind of pool, not the area): later binds go straight to copy mode.
  bool copy = port_.copy_mode() == CopyMode::kAlways || refused_;
  int rc = 0;
  if (!copy) {
    rc = port_.bind_pool(pool->pool());
    if (refused(rc) && port_.copy_mode() == CopyMode::kAuto) {
      std::printf("zcrxd: queue %u: %s refused the area pool (%s): copy mode\n",
                  port_.queue(), port_.driver(), errno_name(-rc));
      std::fflush(stdout);
      copy = refused_ = true;
    }
  }
  if (copy) {
    rte_mempool* cp = port_.copy_pool();
    rc = cp ? port_.bind_pool(cp) : -ENOMEM;
  }
  copy_ = copy && rc == 0;
  if (copy_ && port_.copy_mode() == CopyMode::kAlways) {
    std::printf("zcrxd: queue %u: mode=copy (--copy-mode always)\n", port_.queue());
    std::fflush(stdout);
  }
  rx_ = port_.started();
  if (rc) {
    port_.unbind();  // give back whatever the failed setup took
    rx_ = false;
    republish_();
    return rc == -ENOMEM ? -ENOMEM : (rc == -ENOTSUP ? -EOPNOTSUPP : rc);
  }
  staged_ = nullptr;
  bound_ = &ifq;
  bound_pool_ = pool;
  republish_();
  return 0;
}

void Provider::close_queue(Ifq& ifq) {
  if (bound_ != &ifq) return;
  // Unpublish first: once republish returns the datapath no longer
  // delivers into nor refills from the ifq.
  bound_ = nullptr;
  AreaPool* pool = bound_pool_;
  bound_pool_ = nullptr;
  rx_ = false;
  copy_ = false;
  republish_();
  // The PMD gives back what it holds of the area when the queue is set up
  // again on the fallback pool; the port stays stopped until the next bind.
  port_.unbind();
  rx_ = false;
  republish_();
  closed_ = pool;
}

void Provider::synchronize(Ifq&) { dp_.synchronize(); }

void Provider::free_niovs(Area& area, const uint32_t* idx, uint32_t n) {
  auto* pool = static_cast<AreaPool*>(area.provider_data());
  if (pool) pool->free_niovs(idx, n);
}

void Provider::return_niovs(Area& area, const uint32_t* idx, uint32_t n) {
  free_niovs(area, idx, n);
  st_.returned.add(n);
}

void Provider::reclaim_niovs(Area& area, const uint32_t* idx, uint32_t n) {
  free_niovs(area, idx, n);
  // relaxed: a statistic; only the control thread adds.
  st_.reclaimed.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace zcrxd
