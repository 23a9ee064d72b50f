// SPDX-License-Identifier: MIT
// The extbuf area pool under a real EAL (--no-huge, net_null): every mbuf
// is attached to exactly one niov of the memfd area, the niov <-> mbuf
// maps agree, and a PMD bound to the pool receives into the area; the
// device binds several served queues without losing the others.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "area_pool.h"
#include "eal_doctest_main.h"
#include "memfd_area.h"
#include "port.h"

using namespace zcrxd;

namespace {

using Area = zcrxd::testing::MemfdArea;

/// Two 4 MiB areas, each with its pool (ids `id` and `id + 1`): the areas
/// of a device's two served queues.
struct TwoPools {
  Area a0{4u << 20}, a1{4u << 20};
  std::unique_ptr<AreaPool> p0, p1;
  explicit TwoPools(uint32_t id) {
    int err = 0;
    p0 = AreaPool::create(a0.base, a0.len, 4096, id, 0, -1, &err);
    p1 = AreaPool::create(a1.base, a1.len, 4096, id + 1, 0, -1, &err);
  }
  bool ok() const { return p0 && p1; }
};

/// Receives one burst on `q` and checks every mbuf is a niov of `pool`.
void expect_rx_into(uint16_t port, uint16_t q, const AreaPool& pool) {
  rte_mbuf* pkts[32];
  uint16_t n = 0;
  for (int i = 0; i < 100 && n == 0; i++) n = rte_eth_rx_burst(port, q, pkts, 32);
  REQUIRE(n > 0);
  for (uint16_t i = 0; i < n; i++) CHECK(pool.niov_of(pkts[i]) != UINT32_MAX);
  rte_pktmbuf_free_bulk(pkts, n);
}

/// A device over net_null port `port` serving queues 0 and 1.
PortConfig two_queue_config(uint16_t port) {
  PortConfig cfg;
  cfg.port = port;
  cfg.queues = {0, 1};
  cfg.rx_desc = 256;
  return cfg;
}

}  // namespace

TEST_CASE("every mbuf of the pool is one niov of the area, and back") {
  Area a(4u << 20);
  REQUIRE(a.base);
  int err = 0;
  auto pool = AreaPool::create(a.base, a.len, 4096, 900, 0, -1, &err);
  REQUIRE(pool);
  CHECK(err == 0);
  CHECK(pool->num_niovs() == 1024);
  CHECK(pool->niov_shift() == 12);
  CHECK(pool->full());
  std::set<uintptr_t> bufs;
  for (uint32_t i = 0; i < pool->num_niovs(); i++) {
    rte_mbuf* m = pool->mbuf(i);
    CHECK(pool->niov_of(m) == i);
    CHECK(reinterpret_cast<uintptr_t>(m->buf_addr) ==
          reinterpret_cast<uintptr_t>(a.base) + (uintptr_t{i} << 12));
    bufs.insert(reinterpret_cast<uintptr_t>(m->buf_addr));
  }
  CHECK(bufs.size() == 1024);
  // Allocation hands out exactly those mbufs; freeing brings them back.
  std::vector<rte_mbuf*> all(1024);
  REQUIRE(rte_pktmbuf_alloc_bulk(pool->pool(), all.data(), 1024) == 0);
  CHECK(pool->available() == 0);
  for (rte_mbuf* m : all) CHECK(pool->niov_of(m) != UINT32_MAX);
  rte_pktmbuf_free_bulk(all.data(), 1024);
  CHECK(pool->full());
  // A foreign mbuf maps to no niov.
  rte_mempool* other = rte_pktmbuf_pool_create("test_other", 64, 0, 0, 2048, 0);
  REQUIRE(other);
  rte_mbuf* f = rte_pktmbuf_alloc(other);
  CHECK(pool->niov_of(f) == UINT32_MAX);
  rte_pktmbuf_free(f);
  rte_mempool_free(other);
}

TEST_CASE("bad geometry is refused") {
  Area a(1u << 20);
  int err = 0;
  CHECK_FALSE(AreaPool::create(a.base, a.len, 3000, 901, 0, -1, &err));
  CHECK(err == -EINVAL);
  CHECK_FALSE(AreaPool::create(a.base, a.len - 100, 4096, 902, 0, -1, &err));
  CHECK(err == -EINVAL);
  CHECK_FALSE(AreaPool::create(static_cast<char*>(a.base) + 8, 4096, 4096, 903, 0, -1, &err));
  CHECK(err == -EINVAL);
}

TEST_CASE("in-area pool: object, mbuf and buffer of niov i all lie in niov i") {
  Area a(4u << 20);
  REQUIRE(a.base);
  int err = 0;
  auto pool = AreaPool::create_in_area(a.base, a.len, 4096, 910, 0, -1, &err);
  REQUIRE(pool);
  CHECK(err == 0);
  CHECK(pool->in_area());
  CHECK(pool->num_niovs() == 1024);
  CHECK(pool->niov_shift() == 12);
  // 64 B object header + 128 B mbuf before the buffer.
  CHECK(pool->payload_bias() == 192);
  CHECK(pool->buf_room() == 4096 - 192);
  // What net_af_xdp turns into its UMEM: one chunk, frames of one niov.
  CHECK(pool->pool()->nb_mem_chunks == 1);
  CHECK(rte_mempool_calc_obj_size(pool->pool()->elt_size, pool->pool()->flags, nullptr) ==
        4096);
  const auto base = reinterpret_cast<uintptr_t>(a.base);
  for (uint32_t i = 0; i < pool->num_niovs(); i++) {
    rte_mbuf* m = pool->mbuf(i);
    const uintptr_t niov = base + (uintptr_t{i} << 12);
    CHECK(reinterpret_cast<uintptr_t>(m) == niov + 64);
    CHECK(reinterpret_cast<uintptr_t>(m->buf_addr) == niov + 192);
    CHECK(pool->buf_of(i) == m->buf_addr);
    CHECK(uint32_t{m->buf_len} == pool->buf_room());
    CHECK(pool->niov_of(m) == i);
  }
  // Taken back after a "close": what was held comes back, once.
  std::vector<rte_mbuf*> held(100);
  REQUIRE(rte_pktmbuf_alloc_bulk(pool->pool(), held.data(), 100) == 0);
  CHECK(pool->take_back_after_close() == 100);
  CHECK(pool->full());
  CHECK(pool->take_back_after_close() == 0);
  // Not a power of two, or larger than 64 KiB: refused.
  CHECK_FALSE(AreaPool::create_in_area(a.base, a.len, 3000, 911, 0, -1, &err));
  CHECK(err == -EINVAL);
  CHECK_FALSE(AreaPool::create_in_area(a.base, a.len, 1u << 17, 912, 0, -1, &err));
  CHECK(err == -EINVAL);
}

TEST_CASE("a PMD bound to the area pool receives into the area") {
  Area a(8u << 20);
  int err = 0;
  auto pool = AreaPool::create(a.base, a.len, 4096, 904, 0, -1, &err);
  REQUIRE(pool);
  Device dev;
  PortConfig cfg;
  cfg.rx_desc = 256;
  REQUIRE(dev.open(cfg) == 0);
  Port& port = dev.queue(0);
  CHECK_FALSE(port.started());  // nothing to receive into yet
  REQUIRE(port.bind_pool(pool->pool()) == 0);
  CHECK(port.started());
  expect_rx_into(0, 0, *pool);
  port.unbind();
  CHECK_FALSE(port.started());
  CHECK_FALSE(dev.uses_pool(pool->pool()));
  dev.close();
  CHECK(pool->full());
}

TEST_CASE("two served queues: binding the second restarts the port with both paused; "
          "unbinding one leaves the other running") {
  TwoPools pools(905);
  REQUIRE(pools.ok());
  AreaPool &p0 = *pools.p0, &p1 = *pools.p1;
  Device dev;
  // Each test closes its port: a port of its own.
  REQUIRE(dev.open(two_queue_config(1)) == 0);
  REQUIRE(dev.num_queues() == 2);
  CHECK(dev.index_of(1) == 1);
  CHECK(dev.index_of(2) == -1);
  CHECK_FALSE(dev.runtime_queue_setup());  // net_null: stop, set up, start
  std::vector<bool> hook;
  dev.set_pause_hook([&](bool pause) {
    hook.push_back(pause);
    // While paused no queue may be polled.
    if (pause) CHECK_FALSE(dev.queue(0).started());
  });
  REQUIRE(dev.queue(0).bind_pool(p0.pool()) == 0);
  CHECK(dev.queue(0).started());
  CHECK_FALSE(dev.queue(1).started());
  CHECK(hook.empty());  // the first bind starts the port: nothing to pause
  REQUIRE(dev.queue(1).bind_pool(p1.pool()) == 0);
  CHECK(hook == std::vector<bool>{true, false});
  CHECK(dev.queue(0).started());
  CHECK(dev.queue(1).started());
  expect_rx_into(1, 0, p0);
  expect_rx_into(1, 1, p1);
  // Queue 0 leaves: the port keeps running for queue 1, which is not paused.
  dev.queue(0).unbind();
  CHECK(hook.size() == 2);
  CHECK_FALSE(dev.queue(0).started());
  CHECK(dev.queue(1).started());
  CHECK(dev.uses_pool(p0.pool()));  // left set up until the next restart
  expect_rx_into(1, 1, p1);
  // The last one leaves: the port stops and both go back to the fallback.
  dev.queue(1).unbind();
  CHECK_FALSE(dev.queue(1).started());
  CHECK_FALSE(dev.uses_pool(p0.pool()));
  CHECK_FALSE(dev.uses_pool(p1.pool()));
  dev.close();
  CHECK(p0.full());
  CHECK(p1.full());
}

TEST_CASE("start_when_all_bound: the port starts once every served queue has a pool") {
  TwoPools pools(907);
  REQUIRE(pools.ok());
  AreaPool &p0 = *pools.p0, &p1 = *pools.p1;
  Device dev;
  PortConfig cfg = two_queue_config(2);
  cfg.start_when_all_bound = true;
  REQUIRE(dev.open(cfg) == 0);
  int resumed = 0, paused = 0;
  dev.set_pause_hook([&](bool pause) { (pause ? paused : resumed)++; });
  REQUIRE(dev.queue(1).bind_pool(p1.pool()) == 0);
  CHECK_FALSE(dev.queue(1).started());  // waits for queue 0
  REQUIRE(dev.queue(0).bind_pool(p0.pool()) == 0);
  CHECK(dev.queue(0).started());
  CHECK(dev.queue(1).started());
  CHECK(paused == 0);   // no restart
  CHECK(resumed == 1);  // queue 1 is told it may poll now
  expect_rx_into(2, 1, p1);
  dev.close();
  CHECK(p0.full());
  CHECK(p1.full());
}

int main(int argc, char** argv) {
  return zcrxd::testing::run_doctest_under_eal(argc, argv, "zcrxd_unit_", "128",
                                               {"net_null0", "net_null1", "net_null2"});
}
