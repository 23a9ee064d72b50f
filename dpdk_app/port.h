// SPDX-License-Identifier: MIT
// The served ethdev port: configuration, a private fallback pool for queues
// no area is bound to, and rebinding the served RX queue to another pool.
#pragma once

#include <cstdint>

struct rte_mempool;

namespace zcrxd {

struct PortConfig {
  uint16_t port = 0;
  uint16_t queue = 0;
  uint32_t rx_desc = 1024;
  /// Buffer size of the fallback pool's mbufs (headroom included), the
  /// same as an area's niov: a PMD that sizes its frames by the first pool
  /// it sees (net_af_packet checks framesz against it) then accepts frames
  /// as large as the area can take.
  uint32_t buf_len = 4096;
};

class Port {
 public:
  /// Configures `cfg.port` with queues 0..cfg.queue; the queues zcrxd does
  /// not serve get a private fallback pool. The port starts only when an
  /// area is bound to the served queue (bind_pool): with no consumer there
  /// is nowhere to put packets, and a PMD such as net_pcap with
  /// infinite_rx fills its cache from the first pool it is given.
  /// Returns 0 or -errno (-ENODEV: no such port or queue), after printing
  /// the reason to stderr.
  int open(const PortConfig& cfg);
  /// Stops and closes the port.
  void close();

  /// Sets the served queue up on `pool` and (re)starts the port: the
  /// kernel likewise restarts an RX queue when it binds a memory provider.
  /// The caller guarantees no thread polls the queue meanwhile. 0 or
  /// -errno; on failure the port is left stopped.
  int bind_pool(rte_mempool* pool);
  /// Stops the port and sets the served queue up on the fallback pool, so
  /// the PMD gives back every buffer of the area it held.
  void unbind();
  bool started() const { return started_; }

  uint16_t id() const { return cfg_.port; }
  uint16_t queue() const { return cfg_.queue; }
  int socket() const { return socket_; }
  /// True for a device on the vdev bus: it holds no mbufs between bursts
  /// (it allocates while receiving), so free buffers can gate polling.
  bool is_virtual() const { return virtual_; }
  /// Whether the device needs IOVA DMA mappings of external memory.
  bool needs_dma_map() const { return !virtual_; }
  rte_mempool* fallback_pool() const { return fallback_; }
  const char* driver() const { return driver_; }

 private:
  int setup_rx(uint16_t q, rte_mempool* pool);

  PortConfig cfg_{};
  int socket_ = 0;
  bool virtual_ = false;
  bool started_ = false;
  bool closed_ = false;
  const char* driver_ = "";
  rte_mempool* fallback_ = nullptr;
};

}  // namespace zcrxd
