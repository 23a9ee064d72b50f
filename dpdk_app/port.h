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
};

class Port {
 public:
  /// Configures `cfg.port` with queues 0..cfg.queue, every RX queue on a
  /// private fallback pool, and starts it. Returns 0 or -errno (-ENODEV:
  /// no such port or queue), after printing the reason to stderr.
  int open(const PortConfig& cfg);
  /// Stops and closes the port.
  void close();

  /// Sets the served queue up on `pool` (nullptr: the fallback pool).
  /// Uses runtime queue setup where the PMD supports it, otherwise stops
  /// the port, sets the queue up and starts it again. The caller
  /// guarantees no thread polls the queue meanwhile. 0 or -errno.
  int bind_pool(rte_mempool* pool);

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
  bool runtime_setup_ = false;
  bool started_ = false;
  const char* driver_ = "";
  rte_mempool* fallback_ = nullptr;
};

}  // namespace zcrxd
