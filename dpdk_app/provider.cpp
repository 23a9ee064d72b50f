// SPDX-License-Identifier: MIT
#include "provider.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "area_pool.h"
#include "datapath.h"
#include "log.h"
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
  // A PMD that refused an extbuf area pool once refuses the next one too
  // (it is the kind of pool, not the area): later binds go straight to
  // copy mode. An in-area pool is another kind (net_af_xdp takes it).
  bool copy = port_.copy_mode() == CopyMode::kAlways || (refused_ && !pool->in_area());
  // A pool the PMD would refuse for its size is refused here, before the
  // PMD sees it (pmd_needs.h): the area's pool, or in copy mode the
  // queue's own.
  const uint32_t need = port_.min_pool_buffers();
  if (need) {
    rte_mempool* cp = copy ? port_.copy_pool() : nullptr;
    const uint32_t have = copy ? (cp ? cp->size : 0) : pool->num_niovs();
    if (have < need) {
      std::fprintf(stderr,
                   "zcrxd: queue %u: %s needs a pool of at least %u buffers, the %s has %u "
                   "(EINVAL)\n",
                   port_.queue(), port_.driver(), need, copy ? "copy pool" : "area", have);
      return -EINVAL;
    }
  }
  area->set_provider_data(pool);
  // Stop polling, rebind the queue to the area's pool, resume.
  rx_ = false;
  republish_();
  int rc = 0;
  bool fell_back = false;  // this bind tried zero-copy first and was refused
  int zc_rc = 0;
  if (!copy) {
    // A device that cannot reach the area would take its pool and then
    // receive nothing: refused as a PMD refuses a pool it cannot use.
    rc = port_.reaches_external_memory() ? port_.bind_pool(pool->pool()) : -EOPNOTSUPP;
    if (refused(rc) && port_.copy_mode() == CopyMode::kAuto) {
      zc_rc = rc;
      copy = fell_back = true;
    }
  }
  if (copy) {
    rte_mempool* cp = port_.copy_pool();
    rc = cp ? port_.bind_pool(cp) : -ENOMEM;
  }
  if (fell_back) {
    if (rc == 0) {
      // The PMD takes a regular pool but not one over the area: the kind
      // of pool is what it refuses, so later binds go straight to copy
      // mode. When the copy pool is refused too, the refusal was about
      // something else (net_pcap with infinite_rx wants a pool holding the
      // whole file): nothing is remembered and the area's errno is returned,
      // so a later registration (a larger area) can still bind zero-copy.
      ZLOG(datapath, NOTICE, "queue %u: %s refused the area pool (%s): copy mode\n",
           port_.queue(), port_.driver(), errno_name(-zc_rc));
      refused_ = refused_ || !pool->in_area();
    } else {
      std::fprintf(stderr,
                   "zcrxd: queue %u: %s refused the area pool (%s) and the copy pool (%s)\n",
                   port_.queue(), port_.driver(), errno_name(-zc_rc), errno_name(-rc));
      rc = zc_rc;
    }
  }
  copy_ = copy && rc == 0;
  if (copy_ && port_.copy_mode() == CopyMode::kAlways) {
    ZLOG(datapath, NOTICE, "queue %u: mode=copy (--copy-mode always)\n", port_.queue());
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
  // The loop no longer receives: fragments reassembly holds (buffers of
  // the area, or of the copy pool) go back before the pool is released.
  dp_.flush_fragments();
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
