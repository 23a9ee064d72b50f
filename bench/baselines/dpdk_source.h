// SPDX-License-Identifier: MIT
// Packet sources of the DPDK baselines: an ethdev port (a --vdev such as
// net_null0,size=N, or any port the EAL probed) set up with one RX queue, or
// a net_ring port fed by an in-process generator on a worker lcore.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <cstdio>

namespace zcrx::bench {

/// What init_eal() returns when it printed the usage text for --help / -h.
inline constexpr int kEalHelpShown = -2;

/// The start of every baseline's main(): --help or -h anywhere prints
/// `usage` to stdout (before the EAL, which would reject the option) and
/// returns kEalHelpShown; otherwise rte_eal_init, returning how many
/// arguments it consumed, or -1 after printing "`tag`: rte_eal_init: ...".
int init_eal(int argc, char** argv, const char* tag, void (*usage)(FILE*));

/// Creates the packet mempool: `nb_mbufs` mbufs with `data_room` bytes of
/// data each (plus RTE_PKTMBUF_HEADROOM). nullptr with rte_errno on failure.
rte_mempool* create_pool(const char* name, unsigned nb_mbufs, unsigned data_room);

/// Configures `port` with one RX and one TX queue over `pool` and starts it
/// (promiscuous). Returns 0 or a negative errno from ethdev.
int start_port(uint16_t port, rte_mempool* pool, uint16_t nb_rxd);

/// A net_ring port whose RX ring a generator thread fills with mbufs of
/// `pkt_size` bytes (chained segments when pkt_size exceeds the data room).
struct RingGenerator {
  static constexpr unsigned kMaxSegs = 8;  // segments per generated packet

  rte_ring* rx_ring = nullptr;
  rte_ring* tx_ring = nullptr;
  rte_mempool* pool = nullptr;
  uint32_t pkt_size = 64;
  unsigned burst = 32;
  std::atomic<bool> stop{false};
  uint64_t generated = 0;  // written by the generator, read after it joined
  uint64_t seq = 0;

  /// Creates the rings and the port; returns the port id, or -EINVAL when a
  /// packet would need more than kMaxSegs segments, or another -errno.
  int create(const char* name, rte_mempool* pool, uint32_t pkt_size);
  /// Generator loop, for rte_eal_remote_launch (arg = RingGenerator*).
  static int run(void* arg);
};

/// Sum of the first and the last payload byte of a (possibly chained) mbuf:
/// what every baseline consumer reads so that the payload is really touched.
inline unsigned touch_first_last(const rte_mbuf* m) {
  const rte_mbuf* last = m;
  while (last->next) last = last->next;
  if (m->data_len == 0 || last->data_len == 0) return 0;
  const auto* first = rte_pktmbuf_mtod(m, const uint8_t*);
  const auto* tail = rte_pktmbuf_mtod(last, const uint8_t*);
  return first[0] + tail[last->data_len - 1];
}

}  // namespace zcrx::bench
