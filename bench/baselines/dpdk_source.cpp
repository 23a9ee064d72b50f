// SPDX-License-Identifier: MIT
#include "dpdk_source.h"

#include <rte_eal.h>
#include <rte_errno.h>
#if BENCH_HAVE_NET_RING
#include <rte_eth_ring.h>
#endif
#include <rte_lcore.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "zcrx/pattern.h"

namespace zcrx::bench {

int init_eal(int argc, char** argv, const char* tag, void (*usage)(FILE*)) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return kEalHelpShown;
    }
  int eal = rte_eal_init(argc, argv);
  if (eal < 0) {
    fprintf(stderr, "%s: rte_eal_init: %s\n", tag, rte_strerror(rte_errno));
    return -1;
  }
  return eal;
}

rte_mempool* create_pool(const char* name, unsigned nb_mbufs, unsigned data_room) {
  return rte_pktmbuf_pool_create(name, nb_mbufs, 256, 0,
                                 static_cast<uint16_t>(data_room + RTE_PKTMBUF_HEADROOM),
                                 static_cast<int>(rte_socket_id()));
}

int start_port(uint16_t port, rte_mempool* pool, uint16_t nb_rxd) {
  rte_eth_conf conf{};
  int ret = rte_eth_dev_configure(port, 1, 1, &conf);
  if (ret < 0) return ret;
  uint16_t nb_txd = 512;
  ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
  if (ret < 0) return ret;
  int socket = rte_eth_dev_socket_id(port);
  if (socket < 0) socket = 0;
  ret = rte_eth_rx_queue_setup(port, 0, nb_rxd, static_cast<unsigned>(socket), nullptr, pool);
  if (ret < 0) return ret;
  ret = rte_eth_tx_queue_setup(port, 0, nb_txd, static_cast<unsigned>(socket), nullptr);
  if (ret < 0) return ret;
  ret = rte_eth_dev_start(port);
  if (ret < 0) return ret;
  rte_eth_promiscuous_enable(port);  // not every PMD supports it; ignore
  return 0;
}

int RingGenerator::create(const char* name, rte_mempool* mp, uint32_t size) {
  pool = mp;
  pkt_size = size;
  // The generator builds at most kMaxSegs segments per packet.
  const uint32_t room = rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;
  if (room == 0 || (size + room - 1) / room > kMaxSegs) return -EINVAL;
  char rx_name[RTE_RING_NAMESIZE], tx_name[RTE_RING_NAMESIZE];
  snprintf(rx_name, sizeof rx_name, "%s_rx", name);
  snprintf(tx_name, sizeof tx_name, "%s_tx", name);
  // Single producer (the generator), single consumer (the RX loop).
  rx_ring = rte_ring_create(rx_name, 4096, static_cast<int>(rte_socket_id()),
                            RING_F_SP_ENQ | RING_F_SC_DEQ);
  tx_ring = rte_ring_create(tx_name, 64, static_cast<int>(rte_socket_id()),
                            RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (!rx_ring || !tx_ring) return -rte_errno;
#if BENCH_HAVE_NET_RING
  int port = rte_eth_from_rings(name, &rx_ring, 1, &tx_ring, 1, rte_socket_id());
  return port < 0 ? -rte_errno : port;
#else
  return -ENOTSUP;  // built without the net_ring PMD library
#endif
}

int RingGenerator::run(void* arg) {
  auto* g = static_cast<RingGenerator*>(arg);
  const uint32_t room = rte_pktmbuf_data_room_size(g->pool) - RTE_PKTMBUF_HEADROOM;
  const unsigned segs = (g->pkt_size + room - 1) / room;
  constexpr unsigned kMax = 64 * kMaxSegs;
  rte_mbuf* heads[64];
  rte_mbuf* all[kMax];
  const unsigned burst = g->burst > 64 ? 64 : g->burst;
  const unsigned per_burst = burst * segs <= kMax ? burst : kMax / segs;
  while (!g->stop.load(std::memory_order_relaxed)) {  // relaxed: one-way flag
    if (rte_pktmbuf_alloc_bulk(g->pool, all, per_burst * segs) != 0) continue;
    for (unsigned i = 0; i < per_burst; i++) {
      rte_mbuf* head = all[i * segs];
      uint32_t left = g->pkt_size;
      rte_mbuf* prev = nullptr;
      for (unsigned s = 0; s < segs; s++) {
        rte_mbuf* m = all[i * segs + s];
        uint16_t len = static_cast<uint16_t>(left < room ? left : room);
        m->data_len = len;
        left -= len;
        if (prev) prev->next = m;
        prev = m;
      }
      head->nb_segs = static_cast<uint16_t>(segs);
      head->pkt_len = g->pkt_size;
      if (head->data_len >= 8) {
        uint64_t seq = g->seq++;
        memcpy(rte_pktmbuf_mtod(head, uint8_t*), &seq, 8);  // pattern header, LE
      }
      heads[i] = head;
    }
    unsigned done = rte_ring_sp_enqueue_burst(g->rx_ring, reinterpret_cast<void**>(heads),
                                              per_burst, nullptr);
    g->generated += done;
    for (unsigned i = done; i < per_burst; i++) rte_pktmbuf_free(heads[i]);
  }
  return 0;
}

}  // namespace zcrx::bench
