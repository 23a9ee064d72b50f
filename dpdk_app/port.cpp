// SPDX-License-Identifier: MIT
#include "port.h"

#include "pmd_needs.h"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace zcrxd {

namespace {
constexpr uint16_t kTxDesc = 256;
}

// ---- Port: one served queue ---------------------------------------------------

int Port::bind_pool(rte_mempool* pool) { return dev_.bind(index_, pool); }
void Port::unbind() { dev_.unbind(index_); }
bool Port::started() const { return dev_.running(index_); }
uint16_t Port::id() const { return dev_.id(); }
uint16_t Port::queue() const { return dev_.cfg_.queues[index_]; }
int Port::socket() const { return dev_.socket(); }
bool Port::is_virtual() const { return dev_.is_virtual(); }
bool Port::needs_dma_map() const { return dev_.needs_dma_map(); }
bool Port::reaches_external_memory() const { return dev_.reaches_external_memory(); }
rte_mempool* Port::fallback_pool() const { return dev_.fallback_pool(); }
rte_mempool* Port::copy_pool() { return dev_.copy_pool(index_); }
uint32_t Port::min_pool_buffers() const { return dev_.st_[index_].min_buffers; }
CopyMode Port::copy_mode() const { return dev_.copy_mode(); }
const char* Port::driver() const { return dev_.driver(); }

// ---- Device --------------------------------------------------------------------

namespace {

int setup_queue(uint16_t port, uint16_t q, uint32_t desc, int socket, rte_mempool* pool,
                bool deferred) {
  rte_eth_rxconf rxconf{};
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) == 0) rxconf = info.default_rxconf;
  rxconf.rx_deferred_start = deferred ? 1 : 0;
  return rte_eth_rx_queue_setup(port, q, static_cast<uint16_t>(desc),
                                static_cast<unsigned>(socket), &rxconf, pool);
}

}  // namespace

int Device::setup_rx(uint32_t k, rte_mempool* pool) {
  // With runtime setup a served queue on the fallback pool is not started
  // with the port: it starts when an area is bound to it.
  bool deferred = runtime_setup_ && pool == fallback_;
  int rc = setup_queue(cfg_.port, cfg_.queues[k], cfg_.rx_desc, socket_, pool, deferred);
  if (rc == 0) st_[k].pool = pool;
  return rc;
}

rte_mempool* Device::copy_pool(uint32_t k) {
  if (st_[k].copy) return st_[k].copy;
  // What the PMD may hold at once: a full descriptor ring (twice: some PMDs
  // such as net_af_xdp keep a fill ring besides the RX ring), the burst
  // being copied and the per-lcore caches. The standard data room: a PMD
  // that sizes its frames by the mempool element (net_af_xdp: at most a
  // page) accepts it; larger frames arrive as chains, which the copy
  // handles like any other.
  constexpr unsigned kCache = 64;
  const unsigned n = 2 * cfg_.rx_desc + 4 * cfg_.burst + 4 * kCache;
  char name[RTE_MEMPOOL_NAMESIZE];
  std::snprintf(name, sizeof(name), "zcrxd_copy%u_%u", cfg_.port, cfg_.queues[k]);
  st_[k].copy = rte_pktmbuf_pool_create(name, n, kCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                        socket_);
  if (!st_[k].copy)
    std::fprintf(stderr, "zcrxd: rx queue %u copy pool: %s\n", cfg_.queues[k],
                 rte_strerror(rte_errno));
  return st_[k].copy;
}

int Device::index_of(uint32_t rxq) const {
  for (size_t k = 0; k < cfg_.queues.size(); k++)
    if (cfg_.queues[k] == rxq) return static_cast<int>(k);
  return -1;
}

bool Device::uses_pool(const rte_mempool* pool) const {
  if (closed_) return false;
  for (const QueueState& s : st_)
    if (s.pool == pool) return true;
  return false;
}

bool Device::all_bound() const {
  return std::all_of(st_.begin(), st_.end(), [](const QueueState& s) { return s.bound; });
}

void Device::pause(bool on) {
  paused_ = on;
  if (pause_hook_) pause_hook_(on);
}

int Device::open(const PortConfig& cfg) {
  cfg_ = cfg;
  if (cfg_.queues.empty()) cfg_.queues = {0};
  if (!rte_eth_dev_is_valid_port(cfg.port)) {
    std::fprintf(stderr, "zcrxd: no port %u (%u ports available)\n", cfg.port,
                 rte_eth_dev_count_avail());
    return -ENODEV;
  }
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(cfg.port, &info);
  if (rc) return rc;
  driver_ = info.driver_name ? info.driver_name : "";
  const uint16_t top = *std::max_element(cfg_.queues.begin(), cfg_.queues.end());
  if (top >= info.max_rx_queues) {
    std::fprintf(stderr, "zcrxd: port %u has %u RX queues, queue %u asked\n",
                 cfg.port, info.max_rx_queues, top);
    return -ENODEV;
  }
  const rte_bus* bus = info.device ? rte_bus_find_by_device(info.device) : nullptr;
  virtual_ = bus && std::strcmp(rte_bus_name(bus), "vdev") == 0;
  reaches_external_ = pmd_reaches_external_memory(cfg.port);
  runtime_setup_ = (info.dev_capa & RTE_ETH_DEV_CAPA_RUNTIME_RX_QUEUE_SETUP) != 0;
  socket_ = rte_eth_dev_socket_id(cfg.port);
  if (socket_ < 0) socket_ = 0;
  if (cfg_.rx_desc > info.rx_desc_lim.nb_max && info.rx_desc_lim.nb_max)
    cfg_.rx_desc = info.rx_desc_lim.nb_max;

  // Queues no area is bound to still need a pool; packets there are
  // dropped. One pool serves them all: only unserved queues (never
  // polled) and served queues between areas use it.
  // Capped: a device configured with hundreds of queues (a high --queue)
  // would otherwise ask for gigabytes; a PMD that fills every queue at
  // start then fails to start and says so.
  unsigned n = std::min((top + 2u) * cfg_.rx_desc + 512, 32768u);
  char name[RTE_MEMPOOL_NAMESIZE];
  std::snprintf(name, sizeof(name), "zcrxd_fallback%u", cfg.port);
  uint32_t room = cfg_.buf_len > RTE_MBUF_DEFAULT_BUF_SIZE ? cfg_.buf_len
                                                           : RTE_MBUF_DEFAULT_BUF_SIZE;
  if (room > UINT16_MAX) room = UINT16_MAX;  // the data room is 16 bits
  fallback_ = rte_pktmbuf_pool_create(name, n, 256, 0, static_cast<uint16_t>(room),
                                      socket_);
  if (!fallback_) {
    std::fprintf(stderr, "zcrxd: fallback pool: %s\n", rte_strerror(rte_errno));
    return -rte_errno;
  }
  closed_ = false;

  uint16_t nb_rx = static_cast<uint16_t>(top + 1);
  uint16_t nb_tx = info.max_tx_queues ? 1 : 0;
  if (cfg_.tcp) {
    nb_tx = std::min<uint16_t>(nb_rx, info.max_tx_queues);
    if (nb_tx < nb_rx) {
      std::fprintf(stderr, "zcrxd: port %u has %u TX queues; TCP needs one per RX queue up to "
                   "%u\n", cfg.port, info.max_tx_queues, top);
      return -ENODEV;
    }
  }
  rte_eth_conf conf{};
  // Several queues serving TCP: RSS on IPv4/TCP where the PMD hashes it,
  // so connections spread over the queues and CONNECT can steer its own
  // (rss_steer.h). The PMD's default key; both read back below.
  const bool want_rss = cfg_.tcp && nb_rx > 1 &&
                        (info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP);
  if (want_rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        info.flow_type_rss_offloads & (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP);
  }
  if (cfg_.rx_csum_offload)
    conf.rxmode.offloads = info.rx_offload_capa &
                           (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
                            (cfg_.tcp ? RTE_ETH_RX_OFFLOAD_TCP_CKSUM : 0));
  if (cfg_.tcp)
    conf.txmode.offloads = info.tx_offload_capa &
                           (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM);
  tx_offloads_ = conf.txmode.offloads;
  rc = rte_eth_dev_configure(cfg.port, nb_rx, nb_tx, &conf);
  if (rc) {
    std::fprintf(stderr, "zcrxd: configure port %u: %s\n", cfg.port, rte_strerror(-rc));
    return rc;
  }
  rss_ = std::make_unique<RssSteering>();
  if (cfg_.tcp && nb_rx > 1) read_rss(info, want_rss);
  st_.assign(cfg_.queues.size(), QueueState{});
  for (uint32_t k = 0; k < cfg_.queues.size(); k++)
    st_[k].min_buffers = pmd_min_pool_buffers(cfg.port, cfg_.queues[k]);
  queues_.clear();
  for (uint32_t k = 0; k < cfg_.queues.size(); k++)
    queues_.push_back(std::make_unique<Port>(*this, k));
  for (uint16_t q = 0; q < nb_rx; q++) {
    // Served queues are set up when their area is bound, or on the
    // fallback pool when the port starts without them: a PMD such as
    // net_pcap with infinite_rx fills its cache from the first pool a
    // queue is set up on.
    if (index_of(q) >= 0) continue;
    rc = setup_queue(cfg.port, q, cfg_.rx_desc, socket_, fallback_, false);
    if (rc) {
      std::fprintf(stderr, "zcrxd: rx queue %u setup: %s\n", q, rte_strerror(-rc));
      return rc;
    }
  }
  for (uint16_t q = 0; q < nb_tx; q++) {
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    rc = rte_eth_tx_queue_setup(cfg.port, q, kTxDesc, static_cast<unsigned>(socket_), &txconf);
    if (rc) {
      std::fprintf(stderr, "zcrxd: tx queue %u setup: %s\n", q, rte_strerror(-rc));
      return rc;
    }
    has_tx_ = true;
  }
  nb_tx_ = nb_tx;
  rte_eth_promiscuous_enable(cfg.port);  // not every PMD has it; harmless
  return 0;
}

void Device::read_rss(const rte_eth_dev_info& info, bool configured) {
  const char* why = nullptr;
  rte_eth_rss_conf rc{};
  uint8_t key[kMaxRssKeyLen] = {};
  if (!configured) {
    why = "the PMD has no IPv4/TCP RSS";
  } else if (!info.hash_key_size || info.hash_key_size > kMaxRssKeyLen || !info.reta_size ||
             info.reta_size > kMaxRssReta || info.reta_size % RTE_ETH_RETA_GROUP_SIZE) {
    why = "the PMD reports no usable RSS key size or redirection table";
  } else {
    rc.rss_key = key;
    rc.rss_key_len = info.hash_key_size;
    if (rte_eth_dev_rss_hash_conf_get(cfg_.port, &rc) != 0 ||
        !(rc.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP))
      why = "the PMD does not report its RSS key";
  }
  rte_eth_rss_reta_entry64 reta[kMaxRssReta / RTE_ETH_RETA_GROUP_SIZE] = {};
  if (!why) {
    for (uint32_t g = 0; g < info.reta_size / RTE_ETH_RETA_GROUP_SIZE; g++)
      reta[g].mask = ~uint64_t{0};
    if (rte_eth_dev_rss_reta_query(cfg_.port, reta, info.reta_size) != 0)
      why = "the PMD does not report its redirection table";
  }
  if (why) {
    std::fprintf(stderr, "zcrxd: port %u: %s: CONNECT cannot steer its connections to the "
                 "ring's queue (their segments may arrive on another queue)\n", cfg_.port, why);
    return;
  }
  RssSteering& r = *rss_;
  r.key_len = rc.rss_key_len ? rc.rss_key_len : info.hash_key_size;
  std::memcpy(r.key, key, r.key_len);
  r.reta_size = info.reta_size;
  for (uint32_t i = 0; i < info.reta_size; i++)
    r.reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
  r.steers = true;
  std::fprintf(stderr, "zcrxd: port %u: RSS on IPv4/TCP (key %u bytes, table %u entries): "
               "CONNECT picks source ports that land on the ring's queue\n", cfg_.port,
               r.key_len, r.reta_size);
}

void Device::release_stale() {
  for (uint32_t j = 0; j < st_.size(); j++)
    if (st_[j].stale && setup_rx(j, fallback_) == 0) st_[j].stale = false;
}

int Device::start_port() {
  // A queue left unpolled still points at an area's pool: back to the
  // fallback pool before the PMD may touch it again.
  release_stale();
  for (uint32_t j = 0; j < st_.size(); j++) {
    // A served queue still without an area: the port needs it set up.
    if (!st_[j].pool) {
      int rc = setup_rx(j, fallback_);
      if (rc) {
        std::fprintf(stderr, "zcrxd: rx queue %u setup: %s\n", cfg_.queues[j],
                     rte_strerror(-rc));
        return rc;
      }
    }
  }
  int rc = rte_eth_dev_start(cfg_.port);
  if (rc) {
    std::fprintf(stderr, "zcrxd: start port %u: %s\n", cfg_.port, rte_strerror(-rc));
    return rc;
  }
  started_ = true;
  return 0;
}

int Device::restart_port(uint32_t k, rte_mempool* pool) {
  // The PMD cannot set a queue up while running: every datapath stops
  // polling, the port stops, the queue is set up, the port starts again.
  pause(true);
  int rc = rte_eth_dev_stop(cfg_.port);
  if (rc) {
    pause(false);
    return rc;
  }
  started_ = false;
  rc = setup_rx(k, pool);
  if (rc) {
    std::fprintf(stderr, "zcrxd: rx queue %u setup on pool %s: %s\n", cfg_.queues[k],
                 pool->name, rte_strerror(-rc));
    setup_rx(k, fallback_);  // the other queues keep running
  } else {
    st_[k].bound = true;
  }
  int src = start_port();
  pause(false);
  return rc ? rc : src;
}

int Device::bind(uint32_t k, rte_mempool* pool) {
  if (st_[k].pinned && pool != st_[k].pool) {
    std::fprintf(stderr,
                 "zcrxd: rx queue %u: %s cannot set the queue up again while its first area's "
                 "pool is its UMEM (EBUSY); restart zcrxd to bind another area\n",
                 cfg_.queues[k], driver_);
    return -EBUSY;
  }
  st_[k].stale = false;
  // Back on the copy pool it kept (see unbind): no new setup. net_af_xdp
  // cannot set a queue up twice (the first XDP socket stays bound to the
  // interface's queue until the port closes).
  const bool keep = pool == st_[k].copy && st_[k].pool == pool;
  if (keep && started_ && !runtime_setup_) {
    st_[k].bound = true;  // left set up and running, only unpolled
    return 0;
  }
  if (started_ && runtime_setup_) {
    rte_eth_dev_rx_queue_stop(cfg_.port, cfg_.queues[k]);  // -EINVAL if not running
    int rc = keep ? 0
                  : setup_queue(cfg_.port, cfg_.queues[k], cfg_.rx_desc, socket_, pool, false);
    if (rc == 0) rc = rte_eth_dev_rx_queue_start(cfg_.port, cfg_.queues[k]);
    if (rc) {
      std::fprintf(stderr, "zcrxd: rx queue %u runtime setup: %s\n", cfg_.queues[k],
                   rte_strerror(-rc));
      return rc;
    }
    st_[k].pool = pool;
    st_[k].bound = true;
    return 0;
  }
  if (started_) return restart_port(k, pool);
  int rc = keep ? 0 : setup_rx(k, pool);
  if (rc) {
    std::fprintf(stderr, "zcrxd: rx queue %u setup on pool %s: %s\n", cfg_.queues[k],
                 pool->name, rte_strerror(-rc));
    return rc;
  }
  st_[k].bound = true;
  if (cfg_.start_when_all_bound && !runtime_setup_ && !all_bound()) return 0;
  rc = start_port();
  if (rc) {
    st_[k].bound = false;
    return rc;
  }
  // Queues bound earlier waited for this start: they may poll now.
  bool waited = false;
  for (uint32_t j = 0; j < st_.size(); j++) waited |= j != k && st_[j].bound;
  if (waited) pause(false);
  return 0;
}

void Device::unbind(uint32_t k) {
  st_[k].bound = false;
  // A queue in copy mode holds no area memory: it stays set up on its
  // copy pool (what it received meanwhile is delivered after the next
  // bind) until it is bound to an area pool or the port closes.
  const bool on_copy = st_[k].pool && st_[k].pool == st_[k].copy;
  if (started_ && runtime_setup_) {
    rte_eth_dev_rx_queue_stop(cfg_.port, cfg_.queues[k]);
    if (!on_copy) setup_rx(k, fallback_);
    return;
  }
  bool others = std::any_of(st_.begin(), st_.end(), [](const QueueState& s) { return s.bound; });
  if (started_ && others) {
    // Stopping the port would stop the queues still receiving (and make
    // net_pcap replay their files): leave this one unpolled instead. A
    // virtual PMD holds no buffers between bursts; one that does gives
    // them back when the queue is next set up or the port closes.
    st_[k].stale = !on_copy;
    return;
  }
  if (started_) rte_eth_dev_stop(cfg_.port);
  started_ = false;
  // Releases the queue and with it whatever buffers the PMD held. A PMD
  // that cannot set the queue up again (net_pcap infinite_rx) fails here;
  // the queue then stays released until the next bind. net_af_xdp keeps
  // its first XDP socket, and with it the UMEM over the pool, until the
  // port closes: the queue is pinned to that pool (port.h).
  if (!on_copy && setup_rx(k, fallback_) != 0 && st_[k].pool && st_[k].pool != fallback_)
    st_[k].pinned = true;
  release_stale();
}

void Device::close() {
  if (closed_) return;
  closed_ = true;
  if (started_) rte_eth_dev_stop(cfg_.port);
  started_ = false;
  rte_eth_dev_close(cfg_.port);
  // The PMD gave its buffers back when it closed; the datapaths freed
  // theirs at the end of each burst.
  for (QueueState& s : st_) {
    if (s.copy) rte_mempool_free(s.copy);
    s = QueueState{};
  }
  if (fallback_) rte_mempool_free(fallback_);
  fallback_ = nullptr;
}

}  // namespace zcrxd
