// SPDX-License-Identifier: MIT
#include "port.h"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace zcrxd {

namespace {
constexpr uint16_t kTxDesc = 256;
}

int Port::setup_rx(uint16_t q, rte_mempool* pool) {
  rte_eth_rxconf rxconf{};
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(cfg_.port, &info) == 0) rxconf = info.default_rxconf;
  return rte_eth_rx_queue_setup(cfg_.port, q, static_cast<uint16_t>(cfg_.rx_desc),
                                static_cast<unsigned>(socket_), &rxconf, pool);
}

int Port::open(const PortConfig& cfg) {
  cfg_ = cfg;
  if (!rte_eth_dev_is_valid_port(cfg.port)) {
    std::fprintf(stderr, "zcrxd: no port %u (%u ports available)\n", cfg.port,
                 rte_eth_dev_count_avail());
    return -ENODEV;
  }
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(cfg.port, &info);
  if (rc) return rc;
  driver_ = info.driver_name ? info.driver_name : "";
  if (cfg.queue >= info.max_rx_queues) {
    std::fprintf(stderr, "zcrxd: port %u has %u RX queues, queue %u asked\n",
                 cfg.port, info.max_rx_queues, cfg.queue);
    return -ENODEV;
  }
  const rte_bus* bus = info.device ? rte_bus_find_by_device(info.device) : nullptr;
  virtual_ = bus && std::strcmp(rte_bus_name(bus), "vdev") == 0;
  socket_ = rte_eth_dev_socket_id(cfg.port);
  if (socket_ < 0) socket_ = 0;
  if (cfg_.rx_desc > info.rx_desc_lim.nb_max && info.rx_desc_lim.nb_max)
    cfg_.rx_desc = info.rx_desc_lim.nb_max;

  // Queues no area is bound to still need a pool; packets there are
  // dropped (counted as no-flow).
  unsigned n = 2 * cfg_.rx_desc + 512;
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

  uint16_t nb_rx = static_cast<uint16_t>(cfg.queue + 1);
  uint16_t nb_tx = info.max_tx_queues ? 1 : 0;
  rte_eth_conf conf{};
  rc = rte_eth_dev_configure(cfg.port, nb_rx, nb_tx, &conf);
  if (rc) {
    std::fprintf(stderr, "zcrxd: configure port %u: %s\n", cfg.port, rte_strerror(-rc));
    return rc;
  }
  for (uint16_t q = 0; q < cfg.queue; q++) {
    rc = setup_rx(q, fallback_);
    if (rc) {
      std::fprintf(stderr, "zcrxd: rx queue %u setup: %s\n", q, rte_strerror(-rc));
      return rc;
    }
  }
  if (nb_tx) {
    rc = rte_eth_tx_queue_setup(cfg.port, 0, kTxDesc, static_cast<unsigned>(socket_),
                                nullptr);
    if (rc) {
      std::fprintf(stderr, "zcrxd: tx queue setup: %s\n", rte_strerror(-rc));
      return rc;
    }
  }
  rte_eth_promiscuous_enable(cfg.port);  // not every PMD has it; harmless
  return 0;
}

int Port::bind_pool(rte_mempool* pool) {
  if (started_) {
    int rc = rte_eth_dev_stop(cfg_.port);
    if (rc) return rc;
    started_ = false;
  }
  int rc = setup_rx(cfg_.queue, pool);
  if (rc) {
    std::fprintf(stderr, "zcrxd: rx queue setup on the area pool: %s\n", rte_strerror(-rc));
    return rc;
  }
  rc = rte_eth_dev_start(cfg_.port);
  if (rc) {
    std::fprintf(stderr, "zcrxd: start port %u: %s\n", cfg_.port, rte_strerror(-rc));
    return rc;
  }
  started_ = true;
  return 0;
}

void Port::unbind() {
  if (started_) rte_eth_dev_stop(cfg_.port);
  started_ = false;
  // Releases the queue and with it whatever buffers the PMD held. A PMD
  // that cannot set the queue up again (net_pcap infinite_rx) fails here;
  // the queue then stays released until the next bind.
  setup_rx(cfg_.queue, fallback_);
}

void Port::close() {
  if (closed_) return;
  closed_ = true;
  if (started_) rte_eth_dev_stop(cfg_.port);
  started_ = false;
  rte_eth_dev_close(cfg_.port);
  if (fallback_) rte_mempool_free(fallback_);
  fallback_ = nullptr;
}

}  // namespace zcrxd
