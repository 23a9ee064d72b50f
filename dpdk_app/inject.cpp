// SPDX-License-Identifier: MIT
#include "inject.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace zcrxd {

namespace {
constexpr uint32_t kBurst = 32;
constexpr unsigned kPoolMbufs = 4095;  // a power of two minus one suits rte_mempool
constexpr auto kBackoff = std::chrono::microseconds(50);
}  // namespace

Injector::~Injector() {
  stop();
  // After the port closed (main's order): nothing refers to the pool now.
  if (pool_) rte_mempool_free(pool_);
}

int Injector::open(const InjectConfig& cfg) {
  cfg_ = cfg;
  if (int rc = read_pcap(cfg.path, &pcap_, stderr)) return rc;
  uint32_t room = std::max<uint32_t>(RTE_MBUF_DEFAULT_BUF_SIZE,
                                     pcap_.max_len + RTE_PKTMBUF_HEADROOM);
  if (room > UINT16_MAX) room = UINT16_MAX;
  char name[RTE_MEMPOOL_NAMESIZE];
  std::snprintf(name, sizeof(name), "zcrxd_inject%u", cfg.port);
  // No per-lcore cache: the injector is not an EAL thread, and the
  // datapath that frees the mbufs should not keep them from it.
  pool_ = rte_pktmbuf_pool_create(name, kPoolMbufs, 0, 0, static_cast<uint16_t>(room),
                                  cfg.socket);
  if (!pool_) {
    std::fprintf(stderr, "zcrxd: inject pool: %s\n", rte_strerror(rte_errno));
    return -ENOMEM;
  }
  return 0;
}

void Injector::start() {
  if (!pool_ || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Injector::stop() {
  stop_.store(true, std::memory_order_release);  // release: pairs with run()'s acquire
  if (thread_.joinable()) thread_.join();
}

void Injector::pause() {
  // seq_cst store, then seq_cst loads of parked_: with the thread's
  // seq_cst "parked_ = false, then load go_" (wait_for_go) one side sees
  // the other, so this returns only when no burst can be in flight.
  go_.store(false, std::memory_order_seq_cst);
  if (!thread_.joinable()) return;
  while (!parked_.load(std::memory_order_seq_cst))
    std::this_thread::sleep_for(std::chrono::microseconds(20));
}

bool Injector::wait_for_go() {
  for (;;) {
    // acquire: pairs with stop()'s release.
    if (stop_.load(std::memory_order_acquire)) return false;
    if (go_.load(std::memory_order_seq_cst)) {
      parked_.store(false, std::memory_order_seq_cst);
      // Re-check after announcing we run: a pause() that read the old
      // parked_ == true must not see us transmit.
      if (go_.load(std::memory_order_seq_cst)) return true;
    }
    parked_.store(true, std::memory_order_seq_cst);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool Injector::send(size_t first, size_t n) {
  // Park here too, not only before a TX burst: while paused the datapath
  // does not poll, the pool stays empty and pass() would retry forever.
  if (!wait_for_go()) return false;
  rte_mbuf* pkts[kBurst];
  if (rte_pktmbuf_alloc_bulk(pool_, pkts, static_cast<unsigned>(n)) != 0) {
    waits_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return false;  // the pool is empty: the last frames are still on their way
  }
  for (size_t i = 0; i < n; i++) {
    const uint32_t len = pcap_.lengths[first + i];
    std::memcpy(rte_pktmbuf_mtod(pkts[i], void*), pcap_.frame(first + i), len);
    pkts[i]->data_len = static_cast<uint16_t>(len);
    pkts[i]->pkt_len = len;
  }
  // Retry what the TX ring did not take: the injector never drops.
  uint16_t sent = 0;
  while (sent < n) {
    if (!wait_for_go()) {  // stopped while paused: give the frames back
      rte_pktmbuf_free_bulk(pkts + sent, static_cast<unsigned>(n - sent));
      break;
    }
    sent += rte_eth_tx_burst(cfg_.port, cfg_.tx_queue, pkts + sent,
                             static_cast<uint16_t>(n - sent));
    if (sent == n) break;
    waits_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    // acquire: pairs with stop()'s release.
    if (stop_.load(std::memory_order_acquire)) {
      rte_pktmbuf_free_bulk(pkts + sent, static_cast<unsigned>(n - sent));
      break;
    }
    std::this_thread::sleep_for(kBackoff);
  }
  // relaxed: a statistic.
  injected_.fetch_add(sent, std::memory_order_relaxed);
  return true;
}

bool Injector::pass() {
  size_t at = 0;
  while (at < pcap_.size()) {
    if (stop_.load(std::memory_order_acquire)) return false;  // acquire: pairs with stop()
    size_t n = std::min<size_t>(kBurst, pcap_.size() - at);
    if (send(at, n)) at += n;
    else std::this_thread::sleep_for(kBackoff);
  }
  return true;
}

void Injector::run() {
  // A thread registered with the EAL may use rte_* calls that want an
  // lcore id; failing to register only loses that.
  bool registered = rte_thread_register() == 0;
  for (uint64_t loop = 0; cfg_.loops == 0 || loop < cfg_.loops; loop++) {
    if (!pass()) break;
    loops_done_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  }
  parked_.store(true, std::memory_order_seq_cst);  // ended: pause() need not wait
  if (registered) rte_thread_unregister();
}

}  // namespace zcrxd
