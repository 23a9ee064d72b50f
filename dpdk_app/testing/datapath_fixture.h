// SPDX-License-Identifier: MIT
// Test and benchmark support: zcrxd's datapath in one process, from the
// port to one consumer ring. A port (a new in-process net_ring, or one the
// EAL already has, e.g. a net_null vdev), an area pool over a memfd bound
// to it through the engine by a provider that does what zcrxd's does, one
// consumer ring with a multishot RECV_ZC pushed on a UDP-port (or raw) flow, and
// the Datapath. Who drives the loop (a thread with run(), or poll_once()
// by hand) is the user's choice, as is what it asserts. Header-only; needs
// DPDK and the net_ring PMD's library.
#pragma once

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "area_pool.h"
#include "datapath.h"
#include "flow.h"
#include "memfd_area.h"
#include "ring_dp.h"
#include "zcrx/core/engine.h"
#include "zcrx/ring_layout.h"

namespace zcrxd::testing {

/// What a DatapathFixture is built with.
struct FixtureConfig {
  /// A port the EAL already has (kept open at the end), or -1: a new
  /// net_ring port over a ring named "w_<name>" (closed at the end).
  int port = -1;
  std::string name = "dp";
  uint32_t niovs = 1024;       // area size in niovs
  uint32_t niov_size = 4096;   // bytes per niov
  uint32_t pool_id = 700;      // AreaPool id: unique per process
  uint16_t rx_desc = 256;      // RX descriptors of the bound queue
  uint32_t rq_entries = 1024;  // refill queue entries
  uint32_t burst = 32;
  bool gate_on_free_buffers = true;
  uint16_t udp_port = 9000;    // destination port of the one flow
  uint8_t ip_version = 0;      // ... for IPv4 or IPv6 only (4, 6), or either (0)
  bool raw_flow = false;       // the one flow is raw (every frame) instead
  RxCsum rx_csum = RxCsum::kAuto;
  ReassemblyConfig reassembly;
  uint64_t user_data = 42;     // of the RECV_ZC
  uint32_t recv_len = 0;       // RECV_ZC len; 0: no limit
  /// Runs on the area before the port can receive into it.
  std::function<void(uint8_t*)> prepare;
};

/// The engine's provider for queue 0 of one port, as zcrxd's Provider
/// does it: binding sets the queue up on the staged area pool and starts
/// the port, unbinding stops it; each change republishes the datapath's
/// snapshot; buffers nobody holds go back to the pool in bulk.
struct FixtureProvider final : zcrx::core::QueueBinder, zcrx::core::BufferSink {
  uint16_t port = 0;
  uint16_t rx_desc = 256;
  Datapath* dp = nullptr;
  DpStats* st = nullptr;
  AreaPool* staged = nullptr;  // the pool the next open_queue binds
  zcrx::core::Ifq* bound = nullptr;
  AreaPool* bound_pool = nullptr;
  std::function<void()> republish;

  int open_queue(zcrx::core::Ifq& ifq, uint32_t p, uint32_t rxq) override {
    if (p != port || rxq != 0) return -ENODEV;
    if (!staged || ifq.area()->base() != staged->base()) return -ENOMEM;
    ifq.area()->set_provider_data(staged);
    int rc = rte_eth_rx_queue_setup(port, 0, rx_desc, 0, nullptr, staged->pool());
    if (rc == 0) rc = rte_eth_dev_start(port);
    if (rc) return rc;
    bound = &ifq;
    bound_pool = staged;
    staged = nullptr;
    republish();
    return 0;
  }
  void close_queue(zcrx::core::Ifq& ifq) override {
    if (bound != &ifq) return;
    bound = nullptr;
    bound_pool = nullptr;
    republish();
    dp->flush_fragments();
    rte_eth_dev_stop(port);
  }
  void synchronize(zcrx::core::Ifq&) override { dp->synchronize(); }
  void return_niovs(zcrx::core::Area& area, const uint32_t* idx, uint32_t n) override {
    static_cast<AreaPool*>(area.provider_data())->free_niovs(idx, n);
    st->returned.add(n);
  }
};

/// Everything from the NIC queue to the consumer ring. After construction
/// `failed` is nullptr, or names the step that failed. The RECV_ZC is in
/// the ring's SQ, not yet consumed: the datapath arms it on its first
/// iteration.
struct DatapathFixture {
  FixtureConfig cfg;
  MemfdArea area;
  rte_ring* wire = nullptr;  // what a net_ring port receives from
  uint16_t port = 0;
  DpStats st;
  std::unique_ptr<Datapath> dp;
  FixtureProvider prov;
  std::unique_ptr<zcrx::core::Engine> eng;
  std::unique_ptr<AreaPool> pool;
  zcrx::core::Ctx* ctx = nullptr;
  zcrx::core::Ifq* ifq = nullptr;
  uint32_t zcrx_id = 0;
  zcrx::RingRegionLayout ring_l{};
  void* ring_mem = nullptr;
  std::unique_ptr<RingDp> ring;
  zcrx::CqConsumer cq;
  zcrx::RqProducer rq;
  const char* failed = nullptr;

  explicit DatapathFixture(const FixtureConfig& c)
      : cfg(c), area(size_t{c.niovs} * c.niov_size) {
    failed = setup();
  }

  bool ok() const { return failed == nullptr; }

  /// Publishes what the provider has bound: the ring and its flow once
  /// both the queue is bound and the ring exists.
  void republish() {
    auto s = std::make_unique<Snapshot>();
    s->real = prov.bound;
    s->pool = prov.bound_pool;
    s->rx = prov.bound != nullptr;
    if (ring && s->real) {
      s->rings.push_back(ring.get());
      FlowKey key{};
      key.kind = cfg.raw_flow ? FlowKind::raw : FlowKind::udp_port;
      key.dst_port = cfg.udp_port;
      key.ip_version = cfg.raw_flow ? 0 : cfg.ip_version;
      normalize(&key);
      s->flows = FlowTable({{key, 0}});
      s->groups.push_back(FlowGroupDp{{{ring.get(), 0}}});
    }
    dp->publish(std::move(s));
  }

  /// The area byte a CQE's offset names.
  const uint8_t* at(uint64_t off) const {
    return area.bytes() + zcrx::uapi::area_offset_of(off);
  }

  /// Ends the ctx (the engine takes back what the ring still holds), then
  /// the port if it is ours, then the pool. A loop running on another
  /// thread must have stopped before.
  ~DatapathFixture() {
    if (ctx) eng->terminate_ctx(ctx);
    eng.reset();
    ring.reset();
    std::free(ring_mem);
    if (wire) rte_eth_dev_close(port);
    dp.reset();
    pool.reset();
    if (wire) rte_ring_free(wire);
  }

  DatapathFixture(const DatapathFixture&) = delete;
  DatapathFixture& operator=(const DatapathFixture&) = delete;

 private:
  const char* setup() {
    if (!area.base) return "memfd area";
    if (cfg.prepare) cfg.prepare(area.bytes());
    int id = cfg.port;
    if (id < 0) {
      wire = rte_ring_create(("w_" + cfg.name).c_str(), 1024, 0,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!wire) return "rte_ring_create";
      id = rte_eth_from_ring(wire);
      if (id < 0) return "rte_eth_from_ring";
    }
    port = static_cast<uint16_t>(id);
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0) return "rte_eth_dev_configure";
    if (rte_eth_tx_queue_setup(port, 0, 256, 0, nullptr) != 0) return "rte_eth_tx_queue_setup";

    DatapathConfig dcfg;
    dcfg.port = port;
    dcfg.queue = 0;
    dcfg.burst = cfg.burst;
    dcfg.gate_on_free_buffers = cfg.gate_on_free_buffers;
    dcfg.rx_csum = cfg.rx_csum;
    dcfg.reassembly = cfg.reassembly;
    dp = std::make_unique<Datapath>(dcfg, st);
    prov.port = port;
    prov.rx_desc = cfg.rx_desc;
    prov.dp = dp.get();
    prov.st = &st;
    prov.republish = [this] { republish(); };
    eng = std::make_unique<zcrx::core::Engine>(prov, prov);

    int err = 0;
    pool = AreaPool::create(area.base, area.len, cfg.niov_size, cfg.pool_id, 0, -1, &err);
    if (!pool) return "AreaPool::create";
    ctx = eng->create_ctx(nullptr);
    zcrx::uapi::io_uring_zcrx_ifq_reg reg{};
    zcrx::uapi::io_uring_zcrx_area_reg areg{};
    reg.if_idx = port;
    reg.if_rxq = 0;
    reg.rq_entries = cfg.rq_entries;
    areg.addr = reinterpret_cast<uint64_t>(area.base);
    areg.len = area.len;
    prov.staged = pool.get();
    if (eng->register_ifq(ctx, reg, areg, {area.base, area.len}, {}) != 0) return "register_ifq";
    zcrx_id = reg.zcrx_id;
    ifq = ctx->lookup(zcrx_id);
    if (!ifq) return "ifq lookup";
    if (prov.bound != ifq) return "queue bound to the registered ifq";
    rq = zcrx::rq_producer(ifq->rq_base(), ifq->rq_layout().off, ifq->rq_layout().rq_entries);

    ring_l = zcrx::ring_region_layout(64, 4096);
    ring_mem = std::aligned_alloc(4096, ring_l.size);
    if (!ring_mem) return "ring memory";
    zcrx::init_ring_region(ring_mem, ring_l);
    ring = std::make_unique<RingDp>(ring_mem, ring_l);
    cq = zcrx::cq_consumer(ring_mem, ring_l);
    ring->set_entry(zcrx_id, ifq, ifq);
    ring->set_flow(0, ifq);
    republish();

    zcrx::uapi::io_uring_sqe sqe{};
    sqe.opcode = zcrx::uapi::kOpRecvZc;
    sqe.ioprio = zcrx::uapi::kRecvMultishot;
    sqe.fd = 0;
    sqe.zcrx_ifq_idx = zcrx_id;
    sqe.user_data = cfg.user_data;
    sqe.len = cfg.recv_len;
    zcrx::SqProducer sq = zcrx::sq_producer(ring_mem, ring_l);
    if (!sq.push(sqe)) return "RECV_ZC push";
    return nullptr;
  }
};

}  // namespace zcrxd::testing
